/* The libsock side of the libzmq interop test (tests/interop.rs drives libzmq).
 *   interop_peer req ENDPOINT   REQ client: 100 requests of growing size, checks echoes
 *   interop_peer router         ROUTER server: prints its endpoint, echoes 100 multipart
 *                               messages from one DEALER, then exits */
#include "testutil.h"

static void client (void *ctx, const char *ep)
{
    void *req = zmq_socket (ctx, ZMQ_REQ);
    OK (zmq_connect (req, ep));
    static char out[70000], in[70000];
    for (int i = 0; i < 100; i++) {
        size_t size = (size_t) i * 700;
        memset (out, 'a' + i % 26, size);
        CHECK (zmq_send (req, out, size, 0) == (int) size);
        CHECK (zmq_recv (req, in, sizeof in, 0) == (int) size);
        CHECK (memcmp (in, out, size) == 0);
    }
    OK (zmq_close (req));
}

static void server (void *ctx)
{
    void *router = zmq_socket (ctx, ZMQ_ROUTER);
    char ep[256];
    bind_tcp (router, ep, sizeof ep);
    printf ("%s\n", ep);
    fflush (stdout);
    zmq_msg_t part;
    OK (zmq_msg_init (&part));
    for (int i = 0; i < 100; i++) {
        int more;
        do {
            OK (zmq_msg_recv (&part, router, 0));
            more = zmq_msg_more (&part);
            OK (zmq_msg_send (&part, router, more ? ZMQ_SNDMORE : 0));
        } while (more);
    }
    OK (zmq_msg_close (&part));
    OK (zmq_close (router));
}

int main (int argc, char **argv)
{
    void *ctx = zmq_ctx_new ();
    if (argc == 3 && strcmp (argv[1], "req") == 0)
        client (ctx, argv[2]);
    else if (argc == 2 && strcmp (argv[1], "router") == 0)
        server (ctx);
    else
        return 2;
    OK (zmq_ctx_term (ctx));
    return 0;
}
