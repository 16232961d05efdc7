/* Hello world from zmq_socket(3)/zmq_req: a REQ client and a REP server, over tcp, ipc and
 * inproc, with zmq_send/zmq_recv and with zmq_msg_*. */
#include "testutil.h"
#include <unistd.h>

static void hello (void *ctx, const char *bind_ep)
{
    void *rep = zmq_socket (ctx, ZMQ_REP);
    void *req = zmq_socket (ctx, ZMQ_REQ);
    CHECK (rep && req);
    char ep[256];
    size_t len = sizeof ep;
    OK (zmq_bind (rep, bind_ep));
    OK (zmq_getsockopt (rep, ZMQ_LAST_ENDPOINT, ep, &len));
    CHECK (len == strlen (ep) + 1);
    OK (zmq_connect (req, ep));

    for (int i = 0; i < 10; i++) {
        send_str (req, "Hello", 0);
        recv_str (rep, "Hello");
        send_str (rep, "World", 0);
        recv_str (req, "World");
    }

    /* The same with zmq_msg_t, a body larger than the inline size. */
    zmq_msg_t msg;
    OK (zmq_msg_init_size (&msg, 1000));
    memset (zmq_msg_data (&msg), 'x', 1000);
    CHECK (zmq_msg_send (&msg, req, 0) == 1000);
    CHECK (zmq_msg_size (&msg) == 0);
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_recv (&msg, rep, 0) == 1000);
    CHECK (((char *) zmq_msg_data (&msg))[999] == 'x');
    CHECK (zmq_msg_send (&msg, rep, 0) == 1000);
    CHECK (zmq_msg_recv (&msg, req, 0) == 1000);
    OK (zmq_msg_close (&msg));

    OK (zmq_close (req));
    OK (zmq_close (rep));
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    hello (ctx, "tcp://127.0.0.1:*");
    char ipc[128];
    snprintf (ipc, sizeof ipc, "ipc:///tmp/libsock-c-hello-%d", (int) getpid ());
    hello (ctx, ipc);
    hello (ctx, "inproc://hello");
    OK (zmq_ctx_term (ctx));
    printf ("hello_reqrep ok\n");
    return 0;
}
