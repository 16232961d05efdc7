/* zmq_proxy_steerable: REQ -> ROUTER frontend -> DEALER backend -> REP, with a capture
 * socket and TERMINATE on the control socket; zmq_proxy and zmq_device end with ETERM when
 * the context is terminated. */
#include "testutil.h"
#include <pthread.h>
#include <unistd.h>

typedef struct {
    void *frontend, *backend, *capture, *control;
    int rc, err;
} proxy_args;

static void *run_steerable (void *p)
{
    proxy_args *a = p;
    a->rc = zmq_proxy_steerable (a->frontend, a->backend, a->capture, a->control);
    a->err = zmq_errno ();
    return NULL;
}

static void *run_proxy (void *p)
{
    proxy_args *a = p;
    a->rc = zmq_device (ZMQ_QUEUE, a->frontend, a->backend);
    a->err = zmq_errno ();
    OK (zmq_close (a->frontend));
    OK (zmq_close (a->backend));
    return NULL;
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    proxy_args a = {zmq_socket (ctx, ZMQ_ROUTER), zmq_socket (ctx, ZMQ_DEALER),
                    zmq_socket (ctx, ZMQ_PUSH), zmq_socket (ctx, ZMQ_PAIR), 0, 0};
    char front[256], back[256];
    bind_tcp (a.frontend, front, sizeof front);
    bind_tcp (a.backend, back, sizeof back);
    OK (zmq_bind (a.capture, "inproc://capture"));
    OK (zmq_bind (a.control, "inproc://control"));
    void *captured = zmq_socket (ctx, ZMQ_PULL);
    OK (zmq_connect (captured, "inproc://capture"));
    void *steer = zmq_socket (ctx, ZMQ_PAIR);
    OK (zmq_connect (steer, "inproc://control"));

    pthread_t t;
    CHECK (pthread_create (&t, NULL, run_steerable, &a) == 0);
    void *client = zmq_socket (ctx, ZMQ_REQ), *worker = zmq_socket (ctx, ZMQ_REP);
    OK (zmq_connect (client, front));
    OK (zmq_connect (worker, back));
    for (int i = 0; i < 5; i++) {
        send_str (client, "request", 0);
        recv_str (worker, "request");
        send_str (worker, "reply", 0);
        recv_str (client, "reply");
    }
    /* The capture socket saw every frame going through (routing id, delimiter, body). */
    char buf[256];
    int frames = 0;
    while (zmq_recv (captured, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        frames++;
    CHECK (frames > 0);

    send_str (steer, "TERMINATE", 0);
    CHECK (pthread_join (t, NULL) == 0);
    CHECK (a.rc == 0);

    /* zmq_device (= zmq_proxy) runs until zmq_ctx_term, then fails with ETERM. */
    void *ctx2 = zmq_ctx_new ();
    proxy_args b = {zmq_socket (ctx2, ZMQ_PULL), zmq_socket (ctx2, ZMQ_PUSH), NULL, NULL, 0, 0};
    OK (zmq_bind (b.frontend, "inproc://in"));
    OK (zmq_bind (b.backend, "inproc://out"));
    void *in = zmq_socket (ctx2, ZMQ_PUSH), *out = zmq_socket (ctx2, ZMQ_PULL);
    OK (zmq_connect (in, "inproc://in"));
    OK (zmq_connect (out, "inproc://out"));
    CHECK (pthread_create (&t, NULL, run_proxy, &b) == 0);
    send_str (in, "through", 0);
    recv_str (out, "through");
    OK (zmq_close (in));
    OK (zmq_close (out));
    OK (zmq_ctx_term (ctx2));
    CHECK (pthread_join (t, NULL) == 0);
    CHECK (b.rc == -1 && b.err == ETERM);

    /* Bad handles. */
    FAILS (zmq_proxy (NULL, a.backend, NULL), ENOTSOCK);

    void *all[] = {a.frontend, a.backend, a.capture, a.control, captured, steer, client, worker};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        no_linger (all[i]);
        OK (zmq_close (all[i]));
    }
    OK (zmq_ctx_term (ctx));
    printf ("proxy ok\n");
    return 0;
}
