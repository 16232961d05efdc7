/* Every valid socket pair exchanges messages over tcp and inproc, in both directions where
 * the pattern allows it. */
#include "testutil.h"
#include <unistd.h>

static void pair_up (void *ctx, int bind_type, int conn_type, const char *transport, void **b, void **c)
{
    *b = zmq_socket (ctx, bind_type);
    *c = zmq_socket (ctx, conn_type);
    CHECK (*b && *c);
    no_linger (*b);
    no_linger (*c);
    char ep[256];
    size_t len = sizeof ep;
    OK (zmq_bind (*b, transport));
    OK (zmq_getsockopt (*b, ZMQ_LAST_ENDPOINT, ep, &len));
    if (conn_type == ZMQ_SUB)
        OK (zmq_setsockopt (*c, ZMQ_SUBSCRIBE, "", 0));
    OK (zmq_connect (*c, ep));
}

static void close2 (void *a, void *b)
{
    OK (zmq_close (a));
    OK (zmq_close (b));
}

/* Publishers drop messages until the subscription arrives: retry until one gets through. */
static void pub_until_received (void *pub, void *sub, const char *text)
{
    int timeout = 50;
    OK (zmq_setsockopt (sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
    char buf[64];
    for (int i = 0; i < 200; i++) {
        send_str (pub, text, 0);
        int n = zmq_recv (sub, buf, sizeof buf, 0);
        if (n == (int) strlen (text) && memcmp (buf, text, n) == 0)
            return;
        CHECK (n == -1 && zmq_errno () == EAGAIN);
    }
    CHECK (!"subscriber never received");
}

static void run (void *ctx, const char *transport)
{
    void *a, *b;

    pair_up (ctx, ZMQ_PAIR, ZMQ_PAIR, transport, &a, &b);
    send_str (a, "ab", 0);
    recv_str (b, "ab");
    send_str (b, "ba", 0);
    recv_str (a, "ba");
    close2 (a, b);

    pair_up (ctx, ZMQ_PULL, ZMQ_PUSH, transport, &a, &b);
    send_str (b, "job", 0);
    recv_str (a, "job");
    close2 (a, b);

    pair_up (ctx, ZMQ_PUB, ZMQ_SUB, transport, &a, &b);
    pub_until_received (a, b, "news");
    close2 (a, b);

    pair_up (ctx, ZMQ_XPUB, ZMQ_SUB, transport, &a, &b);
    recv_str (a, "\x01"); /* the subscription message */
    send_str (a, "x", 0);
    recv_str (b, "x");
    close2 (a, b);

    pair_up (ctx, ZMQ_PUB, ZMQ_XSUB, transport, &a, &b);
    send_str (b, "\x01", 0); /* subscribe to everything */
    pub_until_received (a, b, "y");
    close2 (a, b);

    pair_up (ctx, ZMQ_REP, ZMQ_REQ, transport, &a, &b);
    send_str (b, "q", 0);
    recv_str (a, "q");
    send_str (a, "r", 0);
    recv_str (b, "r");
    close2 (a, b);

    /* ROUTER/DEALER, the dealer with a routing id (set before connecting). */
    a = zmq_socket (ctx, ZMQ_ROUTER);
    b = zmq_socket (ctx, ZMQ_DEALER);
    no_linger (a);
    no_linger (b);
    OK (zmq_setsockopt (b, ZMQ_ROUTING_ID, "dealer1", 7));
    char ep[256];
    size_t len = sizeof ep;
    OK (zmq_bind (a, transport));
    OK (zmq_getsockopt (a, ZMQ_LAST_ENDPOINT, ep, &len));
    OK (zmq_connect (b, ep));
    send_str (b, "to-router", 0);
    recv_str (a, "dealer1");
    recv_str (a, "to-router");
    send_str (a, "dealer1", ZMQ_SNDMORE);
    send_str (a, "to-dealer", 0);
    recv_str (b, "to-dealer");
    close2 (a, b);

    pair_up (ctx, ZMQ_ROUTER, ZMQ_REQ, transport, &a, &b);
    send_str (b, "req", 0);
    char id[256];
    int idlen = zmq_recv (a, id, sizeof id, 0);
    CHECK (idlen > 0);
    recv_str (a, "");
    recv_str (a, "req");
    OK (zmq_send (a, id, idlen, ZMQ_SNDMORE));
    send_str (a, "", ZMQ_SNDMORE);
    send_str (a, "rep", 0);
    recv_str (b, "rep");
    close2 (a, b);

    pair_up (ctx, ZMQ_REP, ZMQ_DEALER, transport, &a, &b);
    send_str (b, "", ZMQ_SNDMORE);
    send_str (b, "d", 0);
    recv_str (a, "d");
    send_str (a, "e", 0);
    recv_str (b, "");
    recv_str (b, "e");
    close2 (a, b);

    pair_up (ctx, ZMQ_DEALER, ZMQ_DEALER, transport, &a, &b);
    send_str (b, "dd", 0);
    recv_str (a, "dd");
    close2 (a, b);
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    run (ctx, "tcp://127.0.0.1:*");
    run (ctx, "inproc://pairs");
    OK (zmq_ctx_term (ctx));
    printf ("socket_pairs ok\n");
    return 0;
}
