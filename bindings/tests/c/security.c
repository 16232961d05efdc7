/* CURVE and PLAIN through zmq.h: keys from zmq_curve_keypair, CURVE options in their Z85
 * (40 and 41 bytes) and raw (32 bytes) forms, a CURVE REQ/REP pair, and zmq_msg_gets over a
 * PLAIN connection checked by a ZAP handler written in C. */
#include "testutil.h"

/* Receives one frame into `buf` as a C string; returns its size. */
static int recv_frame (void *s, char *buf, size_t size)
{
    int n = zmq_recv (s, buf, size - 1, 0);
    CHECK (n >= 0 && n < (int) size);
    buf[n] = 0;
    return n;
}

/* A ZAP handler (RFC 27) on a REP socket already bound at inproc://zeromq.zap.01 (bound by
 * the caller, so it exists before any handshake), answering one request: user "alice" with
 * password "pw" is admitted as User-Id "alice-id", anyone else is refused. */
static void zap_handler (void *rep)
{
    char version[64], id[64], domain[64], address[64], routing[256], mechanism[64], user[64],
      pass[64];
    recv_frame (rep, version, sizeof version);
    int id_len = recv_frame (rep, id, sizeof id);
    recv_frame (rep, domain, sizeof domain);
    recv_frame (rep, address, sizeof address);
    recv_frame (rep, routing, sizeof routing);
    recv_frame (rep, mechanism, sizeof mechanism);
    CHECK (strcmp (version, "1.0") == 0 && strcmp (mechanism, "PLAIN") == 0);
    CHECK (strcmp (domain, "test") == 0 && strcmp (address, "127.0.0.1") == 0);
    recv_frame (rep, user, sizeof user);
    recv_frame (rep, pass, sizeof pass);
    int ok = strcmp (user, "alice") == 0 && strcmp (pass, "pw") == 0;
    send_str (rep, "1.0", ZMQ_SNDMORE);
    CHECK (zmq_send (rep, id, id_len, ZMQ_SNDMORE) == id_len);
    send_str (rep, ok ? "200" : "400", ZMQ_SNDMORE);
    send_str (rep, ok ? "OK" : "denied", ZMQ_SNDMORE);
    send_str (rep, ok ? "alice-id" : "", ZMQ_SNDMORE);
    CHECK (zmq_send (rep, "", 0, 0) == 0);
    OK (zmq_close (rep));
}

static void keys (void)
{
    char pub[41], sec[41], derived[41];
    memset (pub, 'x', sizeof pub);
    OK (zmq_curve_keypair (pub, sec));
    CHECK (strlen (pub) == 40 && strlen (sec) == 40 && strcmp (pub, sec) != 0);
    OK (zmq_curve_public (derived, sec));
    CHECK (strcmp (derived, pub) == 0);
    char pub2[41], sec2[41];
    OK (zmq_curve_keypair (pub2, sec2));
    CHECK (strcmp (pub, pub2) != 0); /* fresh randomness each time */
    FAILS (zmq_curve_public (derived, "too short"), EINVAL);
    FAILS (zmq_curve_keypair (NULL, sec), EFAULT);
}

static void curve_req_rep (void *ctx)
{
    char server_pub[41], server_sec[41], client_pub[41], client_sec[41];
    OK (zmq_curve_keypair (server_pub, server_sec));
    OK (zmq_curve_keypair (client_pub, client_sec));

    void *rep = zmq_socket (ctx, ZMQ_REP);
    int one = 1, mech = -1;
    size_t len = sizeof mech;
    OK (zmq_setsockopt (rep, ZMQ_CURVE_SERVER, &one, sizeof one));
    OK (zmq_setsockopt (rep, ZMQ_CURVE_SECRETKEY, server_sec, 40)); /* Z85, no NUL */
    OK (zmq_getsockopt (rep, ZMQ_MECHANISM, &mech, &len));
    CHECK (mech == ZMQ_CURVE);
    char ep[256];
    bind_tcp (rep, ep, sizeof ep);

    void *req = zmq_socket (ctx, ZMQ_REQ);
    uint8_t raw_pub[32];
    CHECK (zmq_z85_decode (raw_pub, client_pub) == raw_pub);
    OK (zmq_setsockopt (req, ZMQ_CURVE_SERVERKEY, server_pub, 41)); /* Z85 with its NUL */
    OK (zmq_setsockopt (req, ZMQ_CURVE_PUBLICKEY, raw_pub, 32));    /* raw */
    OK (zmq_setsockopt (req, ZMQ_CURVE_SECRETKEY, client_sec, 40));
    FAILS (zmq_setsockopt (req, ZMQ_CURVE_PUBLICKEY, raw_pub, 31), EINVAL);

    /* Keys read back as Z85 into 41 bytes, raw into 32. */
    char text[41];
    uint8_t raw[32];
    len = sizeof text;
    OK (zmq_getsockopt (req, ZMQ_CURVE_SERVERKEY, text, &len));
    CHECK (len == 41 && strcmp (text, server_pub) == 0);
    len = sizeof raw;
    OK (zmq_getsockopt (req, ZMQ_CURVE_PUBLICKEY, raw, &len));
    CHECK (len == 32 && memcmp (raw, raw_pub, 32) == 0);

    OK (zmq_connect (req, ep));
    send_str (req, "secret request", 0);
    zmq_msg_t msg;
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_recv (&msg, rep, 0) == 14);
    CHECK (memcmp (zmq_msg_data (&msg), "secret request", 14) == 0);
    const char *type = zmq_msg_gets (&msg, "Socket-Type");
    CHECK (type && strcmp (type, "REQ") == 0);
    OK (zmq_msg_close (&msg));
    send_str (rep, "secret reply", 0);
    recv_str (req, "secret reply");
    OK (zmq_close (req));
    OK (zmq_close (rep));
}

static void plain_gets (void *ctx)
{
    void *zap = zmq_socket (ctx, ZMQ_REP);
    CHECK (zap);
    OK (zmq_bind (zap, "inproc://zeromq.zap.01"));
    void *handler = zmq_threadstart (zap_handler, zap);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    int one = 1, timeout = 10000;
    OK (zmq_setsockopt (pull, ZMQ_PLAIN_SERVER, &one, sizeof one));
    OK (zmq_setsockopt (pull, ZMQ_ZAP_DOMAIN, "test", 4));
    OK (zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
    char ep[256];
    bind_tcp (pull, ep, sizeof ep);

    void *push = zmq_socket (ctx, ZMQ_PUSH);
    /* libzmq's rule: an empty non-NULL name is EINVAL, (NULL, 0) returns to NULL. */
    int mechanism = -1;
    size_t mlen = sizeof mechanism;
    FAILS (zmq_setsockopt (push, ZMQ_PLAIN_USERNAME, "", 0), EINVAL);
    FAILS (zmq_setsockopt (push, ZMQ_PLAIN_PASSWORD, "", 0), EINVAL);
    OK (zmq_setsockopt (push, ZMQ_PLAIN_USERNAME, "bob", 3));
    OK (zmq_getsockopt (push, ZMQ_MECHANISM, &mechanism, &mlen));
    CHECK (mechanism == ZMQ_PLAIN);
    OK (zmq_setsockopt (push, ZMQ_PLAIN_USERNAME, NULL, 0));
    OK (zmq_getsockopt (push, ZMQ_MECHANISM, &mechanism, &mlen));
    CHECK (mechanism == ZMQ_NULL);
    OK (zmq_setsockopt (push, ZMQ_PLAIN_USERNAME, "alice", 5));
    OK (zmq_setsockopt (push, ZMQ_PLAIN_PASSWORD, "pw", 2));
    char user[16];
    size_t len = sizeof user;
    OK (zmq_getsockopt (push, ZMQ_PLAIN_USERNAME, user, &len));
    CHECK (len == 6 && strcmp (user, "alice") == 0);
    OK (zmq_connect (push, ep));
    send_str (push, "hello", 0);

    zmq_msg_t msg;
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_gets (&msg, "User-Id") == NULL && zmq_errno () == EINVAL); /* not received */
    CHECK (zmq_msg_recv (&msg, pull, 0) == 5);
    const char *uid = zmq_msg_gets (&msg, "User-Id");
    const char *peer = zmq_msg_gets (&msg, "Peer-Address");
    const char *type = zmq_msg_gets (&msg, "socket-type"); /* names are case-insensitive */
    CHECK (uid && strcmp (uid, "alice-id") == 0);
    CHECK (peer && strcmp (peer, "127.0.0.1") == 0);
    CHECK (type && strcmp (type, "PUSH") == 0);
    CHECK (zmq_msg_gets (&msg, "No-Such-Property") == NULL && zmq_errno () == EINVAL);
    CHECK (zmq_msg_gets (&msg, NULL) == NULL && zmq_errno () == EINVAL);
    /* A copy shares the metadata; the strings stay valid while either message lives. */
    zmq_msg_t copy;
    OK (zmq_msg_init (&copy));
    OK (zmq_msg_copy (&copy, &msg));
    OK (zmq_msg_close (&msg));
    CHECK (strcmp (zmq_msg_gets (&copy, "User-Id"), "alice-id") == 0);
    OK (zmq_msg_close (&copy));
    CHECK (zmq_msg_gets (&copy, "User-Id") == NULL && zmq_errno () == EFAULT); /* closed */

    zmq_threadclose (handler);
    OK (zmq_close (push));
    OK (zmq_close (pull));
}

int main (void)
{
    CHECK (zmq_has ("curve") == 1);
    keys ();
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    curve_req_rep (ctx);
    plain_gets (ctx);
    OK (zmq_ctx_term (ctx));
    return 0;
}
