/* A signal handler that runs while a call blocks ends the call with EINTR, as zmq_recv(3),
 * zmq_msg_recv(3), zmq_send(3), zmq_poll(3) and zmq_proxy(3) say: the zguide's
 * s_interrupted idiom (Ctrl-C in a C program, in pyzmq). The signal is sent to the whole
 * process, so this also checks that the library's own threads block signals and leave
 * them to the application's. zmq_ctx_term(3) too: "It can be restarted". Built and run on libsock and on the system's libzmq; the
 * draft poller too on libsock's draft build. */
#define ZMQ_BUILD_DRAFT_API
#include "testutil.h"
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_signal (int sig)
{
    (void) sig;
    interrupted = 1;
}

/* Sends SIGINT to the process every 20 ms until told to stop: one may come before the
 * call under test blocks (its handler runs, the call does not return), a later one ends
 * the wait. This thread blocks SIGINT itself, so only the main thread can take it. */
static volatile int stop_nagging;
static pthread_t nagger;

static void *nag (void *arg)
{
    (void) arg;
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    while (!stop_nagging) {
        usleep (20 * 1000);
        if (!stop_nagging)
            kill (getpid (), SIGINT);
    }
    return NULL;
}

static void start_nagging (void)
{
    interrupted = 0;
    stop_nagging = 0;
    CHECK (pthread_create (&nagger, NULL, nag, NULL) == 0);
}

static void end_nagging (void)
{
    stop_nagging = 1;
    CHECK (pthread_join (nagger, NULL) == 0);
    CHECK (interrupted);
}

/* Reports into `blocked` whether SIGINT is blocked in the thread zmq_threadstart made. */
static void report_mask (void *blocked)
{
    sigset_t set;
    pthread_sigmask (SIG_BLOCK, NULL, &set);
    *(int *) blocked = sigismember (&set, SIGINT);
}

/* How many of the process's threads other than this one (all the library's, when no
 * nagger runs) do not block SIGINT, from /proc; `*others` counts them all. */
static int threads_taking_sigint (int *others)
{
    DIR *dir = opendir ("/proc/self/task");
    CHECK (dir);
    int taking = 0;
    *others = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        int tid = atoi (entry->d_name);
        if (tid <= 0 || tid == getpid ())
            continue;
        char path[64], line[128];
        snprintf (path, sizeof path, "/proc/self/task/%d/status", tid);
        FILE *status = fopen (path, "r");
        if (!status)
            continue; /* ended meanwhile */
        while (fgets (line, sizeof line, status))
            if (strncmp (line, "SigBlk:", 7) == 0) {
                unsigned long long mask = strtoull (line + 7, NULL, 16);
                taking += !(mask & (1ull << (SIGINT - 1)));
                ++*others;
            }
        fclose (status);
    }
    closedir (dir);
    return taking;
}

static void bind_and_connect (void *ctx, int type_in, int type_out, const char *ep,
                              void **in, void **out)
{
    *in = zmq_socket (ctx, type_in);
    *out = zmq_socket (ctx, type_out);
    CHECK (*in && *out);
    int zero = 0;
    OK (zmq_setsockopt (*in, ZMQ_LINGER, &zero, sizeof zero));
    OK (zmq_setsockopt (*out, ZMQ_LINGER, &zero, sizeof zero));
    OK (zmq_bind (*in, ep));
    char last[256];
    size_t len = sizeof last;
    OK (zmq_getsockopt (*in, ZMQ_LAST_ENDPOINT, last, &len));
    OK (zmq_connect (*out, last));
}

int main (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset (&action.sa_mask);
    OK (sigaction (SIGINT, &action, NULL));

    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    char buf[16];

    /* A receive from one tcp peer, then the same socket receives again. */
    void *pull, *push;
    bind_and_connect (ctx, ZMQ_PULL, ZMQ_PUSH, "tcp://127.0.0.1:*", &pull, &push);
    send_str (push, "warm", 0);
    CHECK (zmq_recv (pull, buf, sizeof buf, 0) == 4);
    start_nagging ();
    FAILS (zmq_recv (pull, buf, sizeof buf, 0), EINTR);
    end_nagging ();
    send_str (push, "after", 0);
    CHECK (zmq_recv (pull, buf, sizeof buf, 0) == 5 && memcmp (buf, "after", 5) == 0);

    /* zmq_msg_recv over inproc, with a receive timeout that has not expired. */
    void *ipull, *ipush;
    bind_and_connect (ctx, ZMQ_PULL, ZMQ_PUSH, "inproc://interrupt", &ipull, &ipush);
    int timeo = 30 * 1000;
    OK (zmq_setsockopt (ipull, ZMQ_RCVTIMEO, &timeo, sizeof timeo));
    zmq_msg_t msg;
    OK (zmq_msg_init (&msg));
    start_nagging ();
    FAILS (zmq_msg_recv (&msg, ipull, 0), EINTR);
    end_nagging ();
    OK (zmq_msg_close (&msg));

    /* A send blocked at the high water mark. */
    void *hpull, *hpush;
    int one = 1;
    hpull = zmq_socket (ctx, ZMQ_PULL);
    hpush = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (hpull && hpush);
    OK (zmq_setsockopt (hpull, ZMQ_RCVHWM, &one, sizeof one));
    OK (zmq_setsockopt (hpush, ZMQ_SNDHWM, &one, sizeof one));
    OK (zmq_bind (hpull, "inproc://interrupt-hwm"));
    OK (zmq_connect (hpush, "inproc://interrupt-hwm"));
    int sent = 0, rc;
    start_nagging ();
    while ((rc = zmq_send (hpush, "x", 1, 0)) == 1)
        sent++;
    CHECK (rc == -1 && zmq_errno () == EINTR);
    end_nagging ();
    CHECK (sent >= 1 && sent <= 4);

    /* zmq_poll over a socket and over a plain descriptor. */
    start_nagging ();
    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    FAILS (zmq_poll (&item, 1, -1), EINTR);
    end_nagging ();
    int fds[2];
    CHECK (pipe (fds) == 0);
    start_nagging ();
    zmq_pollitem_t fd_item = {NULL, fds[0], ZMQ_POLLIN, 0};
    FAILS (zmq_poll (&fd_item, 1, 10 * 1000), EINTR);
    end_nagging ();
    close (fds[0]);
    close (fds[1]);

#if LIBSOCK_TEST_DRAFT
    /* The draft poller's wait, as libzmq's socket_poller_t::wait. */
    void *poller = zmq_poller_new ();
    CHECK (poller);
    OK (zmq_poller_add (poller, pull, NULL, ZMQ_POLLIN));
    zmq_poller_event_t event;
    start_nagging ();
    FAILS (zmq_poller_wait (poller, &event, -1), EINTR);
    end_nagging ();
    OK (zmq_poller_destroy (&poller));
#endif

    /* zmq_proxy returns -1 with EINTR (its sockets stay usable). */
    void *frontend = zmq_socket (ctx, ZMQ_ROUTER);
    void *backend = zmq_socket (ctx, ZMQ_DEALER);
    CHECK (frontend && backend);
    OK (zmq_bind (frontend, "inproc://interrupt-front"));
    OK (zmq_bind (backend, "inproc://interrupt-back"));
    start_nagging ();
    FAILS (zmq_proxy (frontend, backend, NULL), EINTR);
    end_nagging ();

    /* The library's threads (I/O, reaper) block signals, so a signal sent to the process
     * always reaches an application thread. */
    int others;
    CHECK (threads_taking_sigint (&others) == 0);
    CHECK (others >= 1);

    /* Threads started through the API block signals too. */
    int blocked = -1;
    void *thread = zmq_threadstart (report_mask, &blocked);
    CHECK (thread);
    zmq_threadclose (thread);
    CHECK (blocked == 1);

    void *sockets[] = {pull, push, ipull, ipush, hpull, hpush, frontend, backend};
    for (size_t i = 0; i < sizeof sockets / sizeof sockets[0]; i++)
        OK (zmq_close (sockets[i]));
    OK (zmq_ctx_term (ctx));

    /* zmq_ctx_term waiting for a socket still open: EINTR, the socket then fails with
     * ETERM, and once it is closed a second zmq_ctx_term ends the context. */
    void *ctx2 = zmq_ctx_new ();
    CHECK (ctx2);
    void *open_one = zmq_socket (ctx2, ZMQ_PUSH);
    CHECK (open_one);
    start_nagging ();
    FAILS (zmq_ctx_term (ctx2), EINTR);
    end_nagging ();
    FAILS (zmq_send (open_one, "x", 1, ZMQ_DONTWAIT), ETERM);
    OK (zmq_close (open_one));
    OK (zmq_ctx_term (ctx2));

    /* zmq_ctx_term waiting for LINGER (forever by default) to deliver a message to a peer
     * that is not there yet: EINTR; when the peer comes, a second call returns. */
    /* An ipc path nobody listens on: a tcp port freed for the purpose could be taken
     * meanwhile by another program's listener, which would take the message. */
    void *peer_ctx = zmq_ctx_new ();
    CHECK (peer_ctx);
    char ep[256];
    snprintf (ep, sizeof ep, "ipc:///tmp/interrupt-linger-%d.ipc", (int) getpid ());
    unlink (ep + strlen ("ipc://"));
    void *ctx3 = zmq_ctx_new ();
    CHECK (ctx3);
    void *lingering = zmq_socket (ctx3, ZMQ_PUSH);
    CHECK (lingering);
    OK (zmq_connect (lingering, ep));
    send_str (lingering, "lingered", 0);
    OK (zmq_close (lingering));
    start_nagging ();
    FAILS (zmq_ctx_term (ctx3), EINTR);
    end_nagging ();
    void *late = zmq_socket (peer_ctx, ZMQ_PULL);
    CHECK (late);
    OK (zmq_bind (late, ep));
    OK (zmq_ctx_term (ctx3));
    CHECK (zmq_recv (late, buf, sizeof buf, 0) == 8 && memcmp (buf, "lingered", 8) == 0);
    OK (zmq_close (late));
    OK (zmq_ctx_term (peer_ctx));
    printf ("interrupt ok\n");
    return 0;
}
