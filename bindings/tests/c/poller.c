/* The draft poller (zmq_poller_*) with ZMQ_BUILD_DRAFT_API: libzmq's error values, sockets
 * (classic and thread-safe) and descriptors in one poller, registration order and user data,
 * timeouts, POLLPRI, zmq_poller_fd in an outside poll(2) loop, a waiter woken by another thread, and
 * ETERM when the context shuts down under a waiter. */
#define ZMQ_BUILD_DRAFT_API
#include "testutil.h"
#include <poll.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fd_readable (int fd, int timeout)
{
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll (&p, 1, timeout);
    CHECK (n >= 0);
    return n == 1;
}

static void errors (void *ctx)
{
    void *null_poller = NULL;
    zmq_poller_event_t ev;
    int fd;
    FAILS (zmq_poller_destroy (NULL), EFAULT);
    FAILS (zmq_poller_destroy (&null_poller), EFAULT);
    FAILS (zmq_poller_size (NULL), EFAULT);
    FAILS (zmq_poller_wait (NULL, &ev, 0), EFAULT);
    FAILS (zmq_poller_fd (NULL, &fd), EFAULT);
    /* A context or socket handle is not a poller. */
    FAILS (zmq_poller_size (ctx), EFAULT);

    void *poller = zmq_poller_new ();
    CHECK (poller);
    void *pair = zmq_socket (ctx, ZMQ_PAIR);
    void *closed = zmq_socket (ctx, ZMQ_PAIR);
    OK (zmq_close (closed));
    FAILS (zmq_poller_add (poller, NULL, NULL, ZMQ_POLLIN), ENOTSOCK);
    FAILS (zmq_poller_add (poller, closed, NULL, ZMQ_POLLIN), ENOTSOCK);
    FAILS (zmq_poller_add (poller, ctx, NULL, ZMQ_POLLIN), ENOTSOCK);
    FAILS (zmq_poller_modify (poller, NULL, ZMQ_POLLIN), ENOTSOCK);
    FAILS (zmq_poller_remove (poller, NULL), ENOTSOCK);
    FAILS (zmq_poller_add_fd (poller, -1, NULL, ZMQ_POLLIN), EBADF);
    FAILS (zmq_poller_modify_fd (poller, -1, ZMQ_POLLIN), EBADF);
    FAILS (zmq_poller_remove_fd (poller, -1), EBADF);

    /* Nothing registered: no wait can succeed. */
    FAILS (zmq_poller_wait (poller, &ev, 0), EAGAIN);
    CHECK (ev.socket == NULL && ev.fd == -1 && ev.user_data == NULL && ev.events == 0);
    FAILS (zmq_poller_wait (poller, &ev, -1), EFAULT);
    FAILS (zmq_poller_wait (poller, NULL, 0), EFAULT);
    FAILS (zmq_poller_wait_all (poller, &ev, -1, 0), EINVAL);
    FAILS (zmq_poller_wait_all (poller, NULL, 1, 0), EFAULT);
    long start = now_ms ();
    FAILS (zmq_poller_wait (poller, &ev, 100), EAGAIN);
    CHECK (now_ms () - start >= 90);

    /* Events outside IN|OUT|ERR|PRI, duplicates, unknown items. */
    FAILS (zmq_poller_add (poller, pair, NULL, 0x7fff), EINVAL);
    FAILS (zmq_poller_modify (poller, pair, ZMQ_POLLIN), EINVAL);
    FAILS (zmq_poller_remove (poller, pair), EINVAL);
    OK (zmq_poller_add (poller, pair, NULL, 0));
    FAILS (zmq_poller_add (poller, pair, NULL, ZMQ_POLLIN), EINVAL);
    FAILS (zmq_poller_modify (poller, pair, 0x7fff), EINVAL);
    /* Registered with no events: never waited on, so waiting forever is refused too. */
    FAILS (zmq_poller_wait (poller, &ev, 0), EAGAIN);
    FAILS (zmq_poller_wait (poller, &ev, -1), EFAULT);
    int fds[2];
    OK (socketpair (AF_UNIX, SOCK_STREAM, 0, fds));
    FAILS (zmq_poller_modify_fd (poller, fds[0], ZMQ_POLLIN), EINVAL);
    FAILS (zmq_poller_remove_fd (poller, fds[0]), EINVAL);
    FAILS (zmq_poller_add_fd (poller, fds[0], NULL, 0x7fff), EINVAL);
    OK (zmq_poller_add_fd (poller, fds[0], NULL, ZMQ_POLLIN));
    FAILS (zmq_poller_add_fd (poller, fds[0], NULL, ZMQ_POLLIN), EINVAL);
    CHECK (zmq_poller_size (poller) == 2);
    /* zmq_poller_fd needs a thread-safe socket. */
    FAILS (zmq_poller_fd (poller, &fd), EINVAL);
    OK (zmq_poller_remove (poller, pair));
    OK (zmq_poller_remove_fd (poller, fds[0]));
    CHECK (zmq_poller_size (poller) == 0);

    OK (zmq_poller_destroy (&poller));
    CHECK (poller == NULL);
    close (fds[0]);
    close (fds[1]);
    OK (zmq_close (pair));
}

/* A PULL over tcp, a SERVER over tcp and one end of a socketpair in one poller. */
static void mixed (void *ctx)
{
    char ep[256], ep2[256];
    void *pull = zmq_socket (ctx, ZMQ_PULL), *push = zmq_socket (ctx, ZMQ_PUSH);
    void *server = zmq_socket (ctx, ZMQ_SERVER), *client = zmq_socket (ctx, ZMQ_CLIENT);
    CHECK (pull && push && server && client);
    bind_tcp (pull, ep, sizeof ep);
    OK (zmq_connect (push, ep));
    bind_tcp (server, ep2, sizeof ep2);
    OK (zmq_connect (client, ep2));
    int fds[2];
    OK (socketpair (AF_UNIX, SOCK_STREAM, 0, fds));

    void *poller = zmq_poller_new ();
    int tag_pull, tag_server, tag_fd;
    OK (zmq_poller_add (poller, pull, &tag_pull, ZMQ_POLLIN));
    OK (zmq_poller_add (poller, server, &tag_server, ZMQ_POLLIN));
    OK (zmq_poller_add_fd (poller, fds[0], &tag_fd, ZMQ_POLLIN));
    CHECK (zmq_poller_size (poller) == 3);

    zmq_poller_event_t ev[4];
    FAILS (zmq_poller_wait_all (poller, ev, 4, 0), EAGAIN);

    /* One ready: the descriptor. */
    CHECK (write (fds[1], "x", 1) == 1);
    CHECK (zmq_poller_wait_all (poller, ev, 4, 2000) == 1);
    CHECK (ev[0].socket == NULL && ev[0].fd == fds[0] && ev[0].user_data == &tag_fd);
    CHECK (ev[0].events == ZMQ_POLLIN);
    /* The rest is cleared. */
    CHECK (ev[1].socket == NULL && ev[1].fd == -1 && ev[1].user_data == NULL && ev[1].events == 0);

    /* All three ready, reported in registration order. */
    send_str (push, "to pull", 0);
    send_str (client, "to server", 0);
    long deadline = now_ms () + 5000;
    int n = 0;
    while (n < 3 && now_ms () < deadline)
        n = zmq_poller_wait_all (poller, ev, 4, 100);
    CHECK (n == 3);
    CHECK (ev[0].socket == pull && ev[0].fd == -1 && ev[0].user_data == &tag_pull);
    CHECK (ev[1].socket == server && ev[1].user_data == &tag_server);
    CHECK (ev[2].socket == NULL && ev[2].fd == fds[0] && ev[2].user_data == &tag_fd);
    CHECK (ev[0].events == ZMQ_POLLIN && ev[1].events == ZMQ_POLLIN && ev[2].events == ZMQ_POLLIN);
    /* Fewer slots than ready items: the first ones. */
    CHECK (zmq_poller_wait_all (poller, ev, 2, 0) == 2);
    CHECK (ev[0].socket == pull && ev[1].socket == server);
    OK (zmq_poller_wait (poller, &ev[0], 0));
    CHECK (ev[0].socket == pull);

    /* Level-triggered: ready until read. */
    recv_str (pull, "to pull");
    recv_str (server, "to server");
    char c;
    CHECK (read (fds[0], &c, 1) == 1);
    FAILS (zmq_poller_wait_all (poller, ev, 4, 0), EAGAIN);

    /* Modify: POLLOUT on the SERVER (it has a peer), then no events at all. */
    OK (zmq_poller_modify (poller, server, ZMQ_POLLIN | ZMQ_POLLOUT));
    OK (zmq_poller_wait (poller, &ev[0], 0));
    CHECK (ev[0].socket == server && ev[0].events == ZMQ_POLLOUT);
    OK (zmq_poller_modify (poller, server, 0));
    OK (zmq_poller_modify_fd (poller, fds[0], ZMQ_POLLOUT));
    OK (zmq_poller_wait (poller, &ev[0], 0));
    CHECK (ev[0].fd == fds[0] && ev[0].events == ZMQ_POLLOUT);
    /* A peer that hung up reads as POLLIN (as poll(2)'s POLLHUP with zmq_poll). */
    OK (zmq_poller_modify_fd (poller, fds[0], ZMQ_POLLIN));
    close (fds[1]);
    OK (zmq_poller_wait (poller, &ev[0], 1000));
    CHECK (ev[0].fd == fds[0] && (ev[0].events & ZMQ_POLLIN));
    OK (zmq_poller_remove_fd (poller, fds[0]));
    close (fds[0]);

    OK (zmq_poller_destroy (&poller));
    no_linger (push);
    no_linger (client);
    OK (zmq_close (pull));
    OK (zmq_close (push));
    OK (zmq_close (server));
    OK (zmq_close (client));
}

/* ZMQ_POLLPRI on a descriptor: TCP urgent data over loopback. */
static void urgent_data (void)
{
    int lst = socket (AF_INET, SOCK_STREAM, 0), out = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    OK (bind (lst, (struct sockaddr *) &a, sizeof a));
    OK (listen (lst, 1));
    OK (getsockname (lst, (struct sockaddr *) &a, &len));
    OK (connect (out, (struct sockaddr *) &a, sizeof a));
    int in = accept (lst, NULL, NULL);
    CHECK (in >= 0);

    void *poller = zmq_poller_new ();
    OK (zmq_poller_add_fd (poller, in, NULL, ZMQ_POLLPRI));
    zmq_poller_event_t ev;
    FAILS (zmq_poller_wait (poller, &ev, 0), EAGAIN);
    CHECK (send (out, "!", 1, MSG_OOB) == 1);
    OK (zmq_poller_wait (poller, &ev, 2000));
    CHECK (ev.fd == in && ev.events == ZMQ_POLLPRI);
    /* zmq_poll reports it too. */
    zmq_pollitem_t item = {NULL, in, ZMQ_POLLPRI, 0};
    CHECK (zmq_poll (&item, 1, 0) == 1 && item.revents == ZMQ_POLLPRI);
    OK (zmq_poller_destroy (&poller));
    close (in);
    close (out);
    close (lst);
}

/* zmq_poller_fd in an outside poll(2) loop: readable after a change, then look with
 * zmq_poller_wait (timeout 0), which clears it. */
static void poller_fd (void *ctx)
{
    void *server = zmq_socket (ctx, ZMQ_SERVER), *client = zmq_socket (ctx, ZMQ_CLIENT);
    void *dish = zmq_socket (ctx, ZMQ_DISH);
    OK (zmq_bind (server, "inproc://poller-fd"));
    OK (zmq_connect (client, "inproc://poller-fd"));
    void *poller = zmq_poller_new ();
    OK (zmq_poller_add (poller, server, NULL, ZMQ_POLLIN));
    OK (zmq_poller_add (poller, dish, NULL, ZMQ_POLLIN));
    int fd = -1;
    OK (zmq_poller_fd (poller, &fd));
    CHECK (fd >= 0);
    zmq_poller_event_t ev;
    /* Nothing to read: after looking, the descriptor settles to not readable. */
    int settled = 0;
    for (int i = 0; i < 5 && !settled; i++) {
        FAILS (zmq_poller_wait (poller, &ev, 0), EAGAIN);
        settled = !fd_readable (fd, 0);
    }
    CHECK (settled);

    for (int round = 0; round < 3; round++) {
        send_str (client, "ping", 0);
        CHECK (fd_readable (fd, 5000));
        int got = 0;
        for (int i = 0; i < 100 && !got; i++) {
            got = zmq_poller_wait (poller, &ev, 0) == 0;
            if (!got)
                usleep (10 * 1000);
        }
        CHECK (got && ev.socket == server && ev.events == ZMQ_POLLIN);
        recv_str (server, "ping");
        /* Edge-triggered, as ZMQ_FD: wait on the descriptor again only after a look that
         * found nothing (libzmq's rule too). */
        FAILS (zmq_poller_wait (poller, &ev, 0), EAGAIN);
    }
    /* Removing the thread-safe socket keeps the descriptor (as libzmq's signaler). */
    OK (zmq_poller_remove (poller, server));
    OK (zmq_poller_remove (poller, dish));
    OK (zmq_poller_fd (poller, &fd));
    send_str (client, "unwatched", 0);
    FAILS (zmq_poller_wait (poller, &ev, 50), EAGAIN);
    recv_str (server, "unwatched");
    OK (zmq_poller_destroy (&poller));
    OK (zmq_close (dish));
    OK (zmq_close (server));
    OK (zmq_close (client));
}

struct waiter
{
    void *poller;
    int rc, err;
    zmq_poller_event_t ev;
};

static void *wait_forever (void *arg)
{
    struct waiter *w = arg;
    w->rc = zmq_poller_wait (w->poller, &w->ev, -1);
    w->err = zmq_errno ();
    return NULL;
}

/* A thread waits forever; another thread's send wakes it; a context shutdown ends a wait
 * with ETERM. */
static void threads (void)
{
    void *ctx = zmq_ctx_new ();
    void *server = zmq_socket (ctx, ZMQ_SERVER), *client = zmq_socket (ctx, ZMQ_CLIENT);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    OK (zmq_bind (server, "inproc://poller-threads"));
    OK (zmq_connect (client, "inproc://poller-threads"));
    OK (zmq_bind (pull, "inproc://poller-threads-pull"));

    struct waiter w = {zmq_poller_new (), 0, 0, {0}};
    OK (zmq_poller_add (w.poller, server, server, ZMQ_POLLIN));
    pthread_t t;
    CHECK (pthread_create (&t, NULL, wait_forever, &w) == 0);
    usleep (100 * 1000);
    send_str (client, "wake", 0);
    CHECK (pthread_join (t, NULL) == 0);
    CHECK (w.rc == 0 && w.ev.socket == server && w.ev.user_data == server);
    recv_str (server, "wake");
    OK (zmq_poller_destroy (&w.poller));

    /* Shutdown under a waiter on a classic socket. */
    w.poller = zmq_poller_new ();
    OK (zmq_poller_add (w.poller, pull, NULL, ZMQ_POLLIN));
    CHECK (pthread_create (&t, NULL, wait_forever, &w) == 0);
    usleep (100 * 1000);
    OK (zmq_ctx_shutdown (ctx));
    CHECK (pthread_join (t, NULL) == 0);
    CHECK (w.rc == -1 && w.err == ETERM);
    OK (zmq_poller_destroy (&w.poller));
    OK (zmq_close (pull));
    OK (zmq_close (server));
    OK (zmq_close (client));
    OK (zmq_ctx_term (ctx));
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    errors (ctx);
    mixed (ctx);
    urgent_data ();
    poller_fd (ctx);
    OK (zmq_ctx_term (ctx));
    threads ();
    printf ("poller: ok\n");
    return 0;
}
