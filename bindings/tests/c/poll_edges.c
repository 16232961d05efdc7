/* zmq_poll(3) at its edges: no items, NULL items, an item with neither socket nor a valid
 * descriptor, items asking for nothing or for POLLPRI/POLLERR, revents left over from a
 * previous call, a socket and a descriptor in one call, the same socket twice, and every
 * classic type's POLLIN/POLLOUT with a message waiting or not, and short timeouts waited out
 * whole. One line per call, written to the file named by the first argument. Built and run
 * on libsock and on the system's libzmq; c_api.rs compares the two outputs line by line. */
#include "testutil.h"
#include <errno.h>
#include <time.h>
#include <unistd.h>

static FILE *out;

static double now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void report (const char *what, int rc, zmq_pollitem_t *items, int n)
{
    fprintf (out, "%s -> %d %d", what, rc, rc == -1 ? zmq_errno () : 0);
    for (int i = 0; i < n; i++)
        fprintf (out, " [%d]=%d", i, items[i].revents);
    fprintf (out, "\n");
}

int main (int argc, char **argv)
{
    CHECK (argc == 2);
    out = fopen (argv[1], "w");
    CHECK (out != NULL);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    void *pull = zmq_socket (ctx, ZMQ_PULL), *push = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (pull && push);
    OK (zmq_bind (pull, "inproc://poll-edges"));
    OK (zmq_connect (push, "inproc://poll-edges"));
    int fds[2];
    CHECK (pipe (fds) == 0);

    report ("no items, timeout 0", zmq_poll (NULL, 0, 0), NULL, 0);
    report ("no items, timeout 10", zmq_poll (NULL, 0, 10), NULL, 0);
    report ("NULL items, one", zmq_poll (NULL, 1, 0), NULL, 0);
    zmq_pollitem_t nothing[1] = {{NULL, -1, ZMQ_POLLIN, 0}};
    report ("no socket, fd -1", zmq_poll (nothing, 1, 0), nothing, 1);
    zmq_pollitem_t stale[1] = {{pull, 0, ZMQ_POLLIN, 77}};
    report ("revents left over", zmq_poll (stale, 1, 0), stale, 1);
    zmq_pollitem_t none[1] = {{push, 0, 0, 0}};
    report ("asking for nothing", zmq_poll (none, 1, 0), none, 1);
    zmq_pollitem_t odd[1] = {{push, 0, ZMQ_POLLOUT | ZMQ_POLLERR | ZMQ_POLLPRI, 0}};
    report ("POLLOUT|POLLERR|POLLPRI on a socket", zmq_poll (odd, 1, 0), odd, 1);
    zmq_pollitem_t fd_odd[1] = {{NULL, fds[1], ZMQ_POLLOUT | ZMQ_POLLERR | ZMQ_POLLPRI, 0}};
    report ("POLLOUT|POLLERR|POLLPRI on a fd", zmq_poll (fd_odd, 1, 0), fd_odd, 1);
    OK (zmq_send (push, "x", 1, 0));
    zmq_pollitem_t twice[3] = {{pull, 0, ZMQ_POLLIN, 0},
                               {pull, 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0},
                               {NULL, fds[0], ZMQ_POLLIN, 0}};
    report ("the same socket twice and an empty pipe", zmq_poll (twice, 3, 0), twice, 3);
    CHECK (write (fds[1], "y", 1) == 1);
    report ("with the pipe readable", zmq_poll (twice, 3, 0), twice, 3);
    twice[0].socket = push;
    report ("a PUSH asked for POLLIN", zmq_poll (twice, 1, 0), twice, 1);
    /* A closed descriptor: POLLNVAL is no zmq event. */
    zmq_pollitem_t closed[1] = {{NULL, 1000, ZMQ_POLLIN, 0}};
    report ("a descriptor that is not open", zmq_poll (closed, 1, 0), closed, 1);

    for (int type = ZMQ_PAIR; type <= ZMQ_XSUB; type++) {
        void *s = zmq_socket (ctx, type);
        CHECK (s);
        zmq_pollitem_t item[1] = {{s, 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0}};
        char what[64];
        snprintf (what, sizeof what, "type %d alone", type);
        report (what, zmq_poll (item, 1, 0), item, 1);
        OK (zmq_close (s));
    }
    char buf[4];
    CHECK (zmq_recv (pull, buf, sizeof buf, 0) == 1);
    /* A short timeout is waited out whole, with a socket and without items: a caller's
     * "while (!zmq_poll (.., 1))" loop sleeps rather than spins. */
    for (int timeout = 1; timeout <= 3; timeout++) {
        zmq_pollitem_t item[1] = {{pull, 0, ZMQ_POLLIN, 0}};
        int whole = 1;
        for (int i = 0; i < 5; i++) {
            double start = now_ms ();
            CHECK (zmq_poll (item, 1, timeout) == 0);
            whole &= now_ms () - start >= timeout;
            start = now_ms ();
            CHECK (zmq_poll (NULL, 0, timeout) == 0);
            whole &= now_ms () - start >= timeout;
        }
        fprintf (out, "zmq_poll (.., %d) waits %d ms: %s\n", timeout, timeout, whole ? "yes" : "no");
    }
    int zero = 0;
    OK (zmq_setsockopt (push, ZMQ_LINGER, &zero, sizeof zero));
    OK (zmq_close (pull));
    OK (zmq_close (push));
    OK (zmq_ctx_term (ctx));
    close (fds[0]);
    close (fds[1]);
    fclose (out);
    printf ("poll edges done\n");
    return 0;
}
