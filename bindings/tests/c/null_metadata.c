/* NULL connections through zmq.h: zmq_msg_gets reads Peer-Address and the peer's properties,
 * zmq_msg_get (ZMQ_SRCFD) the descriptor the message came in on (-1 for one made locally),
 * and a ZAP_DOMAIN sends NULL peers to the ZAP handler, whose User-Id they then carry. */
#include "testutil.h"

/* Answers one NULL ZAP request on `rep`: admitted as "guest". */
static void zap_once (void *rep)
{
    char frames[6][256];
    int len[6];
    for (int i = 0; i < 6; i++) {
        len[i] = zmq_recv (rep, frames[i], sizeof frames[i] - 1, 0);
        CHECK (len[i] >= 0);
        frames[i][len[i]] = 0;
        int more;
        size_t sz = sizeof more;
        OK (zmq_getsockopt (rep, ZMQ_RCVMORE, &more, &sz));
        CHECK (more == (i < 5)); /* NULL: no credential frames */
    }
    CHECK (strcmp (frames[2], "guests") == 0 && strcmp (frames[5], "NULL") == 0);
    send_str (rep, "1.0", ZMQ_SNDMORE);
    CHECK (zmq_send (rep, frames[1], len[1], ZMQ_SNDMORE) == len[1]);
    send_str (rep, "200", ZMQ_SNDMORE);
    send_str (rep, "OK", ZMQ_SNDMORE);
    send_str (rep, "guest", ZMQ_SNDMORE);
    CHECK (zmq_send (rep, "", 0, 0) == 0);
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *zap = zmq_socket (ctx, ZMQ_REP);
    OK (zmq_bind (zap, "inproc://zeromq.zap.01"));

    void *pull = zmq_socket (ctx, ZMQ_PULL);
    OK (zmq_setsockopt (pull, ZMQ_ZAP_DOMAIN, "guests", 6));
    char ep[256];
    bind_tcp (pull, ep, sizeof ep);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    OK (zmq_connect (push, ep));
    send_str (push, "hello", 0);
    zap_once (zap);

    zmq_msg_t msg;
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_recv (&msg, pull, 0) == 5);
    const char *addr = zmq_msg_gets (&msg, "Peer-Address");
    CHECK (addr && strcmp (addr, "127.0.0.1") == 0);
    const char *type = zmq_msg_gets (&msg, "Socket-Type");
    CHECK (type && strcmp (type, "PUSH") == 0);
    const char *user = zmq_msg_gets (&msg, "User-Id");
    CHECK (user && strcmp (user, "guest") == 0);
    CHECK (zmq_msg_gets (&msg, "No-Such-Property") == NULL);
    int fd = zmq_msg_get (&msg, ZMQ_SRCFD);
    CHECK (fd >= 0);
    OK (zmq_msg_close (&msg));

    /* A message made locally has no source. */
    OK (zmq_msg_init_size (&msg, 3));
    CHECK (zmq_msg_get (&msg, ZMQ_SRCFD) == -1);
    CHECK (zmq_msg_gets (&msg, "Peer-Address") == NULL);
    OK (zmq_msg_close (&msg));

    int linger = 0;
    OK (zmq_setsockopt (push, ZMQ_LINGER, &linger, sizeof linger));
    OK (zmq_close (push));
    OK (zmq_close (pull));
    OK (zmq_close (zap));
    OK (zmq_ctx_term (ctx));
    return 0;
}
