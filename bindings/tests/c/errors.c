/* Error paths, with the errno values zmq's man pages document. */
#include "testutil.h"
#include <pthread.h>
#include <unistd.h>

static void *blocked_poll (void *sock)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    FAILS (zmq_poll (&item, 1, -1), ETERM);
    OK (zmq_close (sock));
    return NULL;
}

static void *blocked_recv (void *sock)
{
    char buf[8];
    int rc = zmq_recv (sock, buf, sizeof buf, 0);
    int err = zmq_errno ();
    CHECK (rc == -1 && err == ETERM);
    /* Later calls fail the same way; closing still works. */
    FAILS (zmq_send (sock, "x", 1, 0), ETERM);
    OK (zmq_close (sock));
    return NULL;
}

int main (void)
{
    /* EFAULT: a NULL or stale context. */
    CHECK (zmq_socket (NULL, ZMQ_PAIR) == NULL && zmq_errno () == EFAULT);
    FAILS (zmq_ctx_term (NULL), EFAULT);
    FAILS (zmq_ctx_set (NULL, ZMQ_IO_THREADS, 1), EFAULT);

    void *ctx = zmq_ctx_new ();
    CHECK (ctx);

    /* EINVAL: unknown socket type, option, context option. */
    CHECK (zmq_socket (ctx, 99) == NULL && zmq_errno () == EINVAL);
    FAILS (zmq_ctx_set (ctx, 12345, 1), EINVAL);
    FAILS (zmq_ctx_get (ctx, 12345), EINVAL);

    void *s = zmq_socket (ctx, ZMQ_REQ);
    CHECK (s);
    int v = 1;
    FAILS (zmq_setsockopt (s, 9999, &v, sizeof v), EINVAL);
    FAILS (zmq_setsockopt (s, ZMQ_SNDHWM, &v, 1), EINVAL); /* wrong size */
    v = -5;
    FAILS (zmq_setsockopt (s, ZMQ_SNDHWM, &v, sizeof v), EINVAL); /* out of range */
    size_t len = sizeof v;
    FAILS (zmq_getsockopt (s, 9999, &v, &len), EINVAL);
    len = 1;
    FAILS (zmq_getsockopt (s, ZMQ_SNDHWM, &v, &len), EINVAL); /* buffer too small */
    FAILS (zmq_bind (s, NULL), EINVAL);
    FAILS (zmq_bind (s, "tcp://no-port"), EINVAL);

    /* Endpoints as libzmq 4.3 checks them: tcp names resolve when dialing (an IPv6 peer
       with IPV6 off, a source address), ipc names must fit sun_path, a wildcard bind is
       unbound by its resolved address only. */
    OK (zmq_connect (s, "tcp://[::1]:1234"));
    OK (zmq_connect (s, "tcp://127.0.0.1:0;localhost:1234"));
    OK (zmq_connect (s, "tcp://lo:5555;localhost:1235"));
    FAILS (zmq_connect (s, "tcp://in val id:1234"), EINVAL);
    char long_ipc[128] = "ipc://";
    memset (long_ipc + 6, 'a', 108);
    long_ipc[114] = 0;
    FAILS (zmq_bind (s, long_ipc), ENAMETOOLONG);
    FAILS (zmq_bind (s, "ipc://@"), EINVAL);
    OK (zmq_bind (s, "tcp://127.0.0.1:*"));
    FAILS (zmq_unbind (s, "tcp://127.0.0.1:*"), ENOENT);
    /* SOCKS_PROXY: (NULL, 0) clears it, a non-NULL empty value is EINVAL. */
    OK (zmq_setsockopt (s, ZMQ_SOCKS_PROXY, NULL, 0));
    FAILS (zmq_setsockopt (s, ZMQ_SOCKS_PROXY, "", 0), EINVAL);

    /* EPROTONOSUPPORT, ENOENT. */
    FAILS (zmq_connect (s, "bogus://x"), EPROTONOSUPPORT);
    FAILS (zmq_unbind (s, "tcp://127.0.0.1:1"), ENOENT);

    /* EFSM: REQ must send first. EAGAIN: nothing to receive. */
    char buf[8];
    FAILS (zmq_recv (s, buf, sizeof buf, ZMQ_DONTWAIT), EFSM);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    FAILS (zmq_recv (pull, buf, sizeof buf, ZMQ_DONTWAIT), EAGAIN);
    int timeout = 10;
    OK (zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
    FAILS (zmq_recv (pull, buf, sizeof buf, 0), EAGAIN);
    zmq_msg_t msg;
    OK (zmq_msg_init (&msg));
    FAILS (zmq_msg_recv (&msg, pull, ZMQ_DONTWAIT), EAGAIN);
    /* As libzmq: the old content is released first, so a failed receive leaves the
       message empty (an inline body and a pooled one). */
    size_t sizes[] = {3, 100, 100};
    for (int i = 0; i < 3; i++) {
        OK (zmq_msg_close (&msg));
        OK (zmq_msg_init_size (&msg, sizes[i]));
        memset (zmq_msg_data (&msg), 'x', sizes[i]);
        zmq_msg_t copy;
        if (i == 2) {  /* shared with a copy */
            OK (zmq_msg_init (&copy));
            OK (zmq_msg_copy (&copy, &msg));
            CHECK (zmq_msg_get (&msg, ZMQ_SHARED) == 1);
        }
        FAILS (zmq_msg_recv (&msg, pull, ZMQ_DONTWAIT), EAGAIN);
        CHECK (zmq_msg_size (&msg) == 0 && !zmq_msg_more (&msg));
        if (i == 2) {
            CHECK (zmq_msg_get (&msg, ZMQ_SHARED) == 0);
            CHECK (zmq_msg_size (&copy) == 100 && ((char *) zmq_msg_data (&copy))[99] == 'x');
            OK (zmq_msg_close (&copy));
        }
    }
    OK (zmq_msg_close (&msg));

    /* ENOTSUP: PULL cannot send; the message stays intact after a failed send. */
    OK (zmq_msg_init_size (&msg, 3));
    memcpy (zmq_msg_data (&msg), "abc", 3);
    FAILS (zmq_msg_send (&msg, pull, 0), ENOTSUP);
    CHECK (zmq_msg_size (&msg) == 3 && memcmp (zmq_msg_data (&msg), "abc", 3) == 0);
    OK (zmq_msg_close (&msg));

    /* ENOTSOCK: NULL, a context, a closed socket. EFAULT: a closed message. */
    FAILS (zmq_send (NULL, "x", 1, 0), ENOTSOCK);
    FAILS (zmq_send (ctx, "x", 1, 0), ENOTSOCK);
    FAILS (zmq_close (NULL), ENOTSOCK);
    OK (zmq_close (s));
    FAILS (zmq_send (s, "x", 1, 0), ENOTSOCK);
    FAILS (zmq_close (s), ENOTSOCK);
    FAILS (zmq_msg_send (&msg, pull, 0), EFAULT);
    CHECK (zmq_msg_data (&msg) == NULL && zmq_errno () == EFAULT);
    FAILS (zmq_msg_init (NULL), EFAULT);

    /* ETERM: zmq_ctx_term wakes a thread blocked in recv, then waits for it to close. */
    timeout = -1;
    OK (zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
    void *sub = zmq_socket (ctx, ZMQ_SUB);
    pthread_t t, t2;
    CHECK (pthread_create (&t, NULL, blocked_recv, pull) == 0);
    CHECK (pthread_create (&t2, NULL, blocked_poll, sub) == 0);
    usleep (50 * 1000);
    OK (zmq_ctx_term (ctx));
    CHECK (pthread_join (t, NULL) == 0);
    CHECK (pthread_join (t2, NULL) == 0);
    FAILS (zmq_ctx_term (ctx), EFAULT);

    /* zmq_ctx_shutdown: sockets fail with ETERM; new ones cannot be made. */
    ctx = zmq_ctx_new ();
    s = zmq_socket (ctx, ZMQ_PULL);
    OK (zmq_ctx_shutdown (ctx));
    FAILS (zmq_recv (s, buf, sizeof buf, 0), ETERM);
    CHECK (zmq_socket (ctx, ZMQ_PUSH) == NULL && zmq_errno () == ETERM);
    OK (zmq_close (s));
    OK (zmq_ctx_term (ctx));

    /* Error strings. */
    CHECK (strcmp (zmq_strerror (ETERM), "Context was terminated") == 0);
    CHECK (strlen (zmq_strerror (EFSM)) > 0 && strlen (zmq_strerror (EINVAL)) > 0);
    printf ("errors ok\n");
    return 0;
}
