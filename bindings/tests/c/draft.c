/* The draft API through zmq.h with ZMQ_BUILD_DRAFT_API: CLIENT/SERVER with routing ids,
 * RADIO/DISH with groups and zmq_join/zmq_leave, SCATTER/GATHER, single-part rules,
 * zmq_msg_init_buffer, zmq_ctx_set_ext/get_ext. */
#define ZMQ_BUILD_DRAFT_API
#include "testutil.h"
#include <unistd.h>

static void client_server (void *ctx, const char *bind_ep)
{
    void *server = zmq_socket (ctx, ZMQ_SERVER);
    void *client = zmq_socket (ctx, ZMQ_CLIENT);
    CHECK (server && client);
    char ep[256];
    size_t len = sizeof ep;
    OK (zmq_bind (server, bind_ep));
    OK (zmq_getsockopt (server, ZMQ_LAST_ENDPOINT, ep, &len));
    OK (zmq_connect (client, ep));
    int type = 0, safe = -1;
    len = sizeof type;
    OK (zmq_getsockopt (server, ZMQ_TYPE, &type, &len));
    CHECK (type == ZMQ_SERVER);
    len = sizeof safe;
    OK (zmq_getsockopt (server, ZMQ_THREAD_SAFE, &safe, &len));
    CHECK (safe == 1);

    FAILS (zmq_send (client, "part", 4, ZMQ_SNDMORE), EINVAL);
    for (int i = 0; i < 5; i++) {
        zmq_msg_t msg;
        OK (zmq_msg_init_size (&msg, 5));
        memcpy (zmq_msg_data (&msg), "hello", 5);
        CHECK (zmq_msg_send (&msg, client, 0) == 5);

        OK (zmq_msg_init (&msg));
        CHECK (zmq_msg_recv (&msg, server, 0) == 5);
        uint32_t id = zmq_msg_routing_id (&msg);
        CHECK (id != 0);
        CHECK (memcmp (zmq_msg_data (&msg), "hello", 5) == 0);
        /* Echo: the received message keeps its routing id. */
        CHECK (zmq_msg_send (&msg, server, 0) == 5);
        recv_str (client, "hello");

        /* A fresh reply naming the client. */
        OK (zmq_msg_init_size (&msg, 5));
        memcpy (zmq_msg_data (&msg), "world", 5);
        FAILS (zmq_msg_set_routing_id (&msg, 0), EINVAL);
        OK (zmq_msg_set_routing_id (&msg, id));
        CHECK (zmq_msg_routing_id (&msg) == id);
        CHECK (zmq_msg_send (&msg, server, 0) == 5);
        recv_str (client, "world");

        /* No peer has this id. */
        OK (zmq_msg_init_size (&msg, 1));
        OK (zmq_msg_set_routing_id (&msg, id + 1));
        FAILS (zmq_msg_send (&msg, server, 0), EHOSTUNREACH);
        OK (zmq_msg_close (&msg));
    }
    OK (zmq_close (client));
    OK (zmq_close (server));
}

static void radio_dish (void *ctx, const char *bind_ep)
{
    void *radio = zmq_socket (ctx, ZMQ_RADIO);
    void *dish = zmq_socket (ctx, ZMQ_DISH);
    CHECK (radio && dish);
    char ep[256];
    size_t len = sizeof ep;
    OK (zmq_bind (radio, bind_ep));
    OK (zmq_getsockopt (radio, ZMQ_LAST_ENDPOINT, ep, &len));
    OK (zmq_join (dish, "movies"));
    FAILS (zmq_join (dish, "movies"), EINVAL);
    OK (zmq_connect (dish, ep));
    int timeout = 10;
    OK (zmq_setsockopt (dish, ZMQ_RCVTIMEO, &timeout, sizeof timeout));

    /* The join reaches the radio some time after the connection: send until it has. */
    zmq_msg_t msg;
    int got = 0;
    for (int i = 0; i < 2000 && !got; i++) {
        OK (zmq_msg_init_size (&msg, 4));
        memcpy (zmq_msg_data (&msg), "tv!!", 4);
        OK (zmq_msg_set_group (&msg, "tv"));
        CHECK (zmq_msg_send (&msg, radio, 0) == 4);
        OK (zmq_msg_init_size (&msg, 6));
        memcpy (zmq_msg_data (&msg), "cinema", 6);
        OK (zmq_msg_set_group (&msg, "movies"));
        CHECK (strcmp (zmq_msg_group (&msg), "movies") == 0);
        CHECK (zmq_msg_send (&msg, radio, 0) == 6);
        OK (zmq_msg_init (&msg));
        if (zmq_msg_recv (&msg, dish, 0) == 6) {
            CHECK (strcmp (zmq_msg_group (&msg), "movies") == 0);
            CHECK (memcmp (zmq_msg_data (&msg), "cinema", 6) == 0);
            got = 1;
        } else
            CHECK (zmq_errno () == EAGAIN);
        OK (zmq_msg_close (&msg));
    }
    CHECK (got);
    OK (zmq_leave (dish, "movies"));
    FAILS (zmq_leave (dish, "movies"), EINVAL);
    OK (zmq_msg_init (&msg));
    char long_group[300];
    memset (long_group, 'g', sizeof long_group - 1);
    long_group[sizeof long_group - 1] = 0;
    FAILS (zmq_msg_set_group (&msg, long_group), EINVAL);
    CHECK (strcmp (zmq_msg_group (&msg), "") == 0);
    OK (zmq_msg_close (&msg));
    FAILS (zmq_send (radio, "x", 1, ZMQ_SNDMORE), EINVAL);
    OK (zmq_close (dish));
    OK (zmq_close (radio));
}

static void scatter_gather (void *ctx)
{
    void *scatter = zmq_socket (ctx, ZMQ_SCATTER);
    void *gather = zmq_socket (ctx, ZMQ_GATHER);
    CHECK (scatter && gather);
    OK (zmq_bind (gather, "inproc://draft-scatter"));
    OK (zmq_connect (scatter, "inproc://draft-scatter"));
    for (int i = 0; i < 3; i++)
        send_str (scatter, "piece", 0);
    for (int i = 0; i < 3; i++)
        recv_str (gather, "piece");
    OK (zmq_close (scatter));
    OK (zmq_close (gather));
}

/* zmq_msg_init_buffer: a copy of the caller's bytes, small (inline) or large. */
static void msg_init_buffer (void)
{
    char big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char) i;
    size_t sizes[] = {0, 6, sizeof big};
    for (int i = 0; i < 3; i++) {
        zmq_msg_t msg;
        OK (zmq_msg_init_buffer (&msg, sizes[i] ? big : NULL, sizes[i]));
        CHECK (zmq_msg_size (&msg) == sizes[i]);
        if (sizes[i]) {
            CHECK (zmq_msg_data (&msg) != big);
            CHECK (memcmp (zmq_msg_data (&msg), big, sizes[i]) == 0);
        }
        OK (zmq_msg_close (&msg));
    }
    zmq_msg_t msg;
    FAILS (zmq_msg_init_buffer (&msg, NULL, 1), EFAULT);
    FAILS (zmq_msg_init_buffer (NULL, big, 1), EFAULT);
}

/* zmq_ctx_set_ext/get_ext: ints by pointer, the thread name prefix as text. */
static void ctx_ext (void)
{
    void *ctx = zmq_ctx_new ();
    int two = 2, v = 0;
    size_t len = sizeof v;
    OK (zmq_ctx_set_ext (ctx, ZMQ_IO_THREADS, &two, sizeof two));
    OK (zmq_ctx_get_ext (ctx, ZMQ_IO_THREADS, &v, &len));
    CHECK (v == 2 && zmq_ctx_get (ctx, ZMQ_IO_THREADS) == 2);
    const char prefix[] = "MyPrefix9012345"; /* 16 bytes with its NUL, libzmq's maximum */
    OK (zmq_ctx_set_ext (ctx, ZMQ_THREAD_NAME_PREFIX, prefix, sizeof prefix));
    char buf[16];
    len = sizeof buf;
    OK (zmq_ctx_get_ext (ctx, ZMQ_THREAD_NAME_PREFIX, buf, &len));
    CHECK (strcmp (buf, prefix) == 0);
    char small[8];
    len = sizeof small;
    FAILS (zmq_ctx_get_ext (ctx, ZMQ_THREAD_NAME_PREFIX, small, &len), EINVAL);
    FAILS (zmq_ctx_set_ext (ctx, ZMQ_THREAD_NAME_PREFIX, "0123456789abcdefX", 17), EINVAL);
    FAILS (zmq_ctx_set_ext (ctx, ZMQ_IO_THREADS, &two, 2), EINVAL);
    FAILS (zmq_ctx_set_ext (NULL, ZMQ_IO_THREADS, &two, sizeof two), EFAULT);
    /* The I/O threads start with the prefix: a socket works. */
    void *pair = zmq_socket (ctx, ZMQ_PAIR);
    OK (zmq_bind (pair, "tcp://127.0.0.1:*"));
    OK (zmq_close (pair));
    OK (zmq_ctx_term (ctx));
}

/* PEER: zmq_connect_peer's id names the peer at once; its errors are libzmq's. CHANNEL and
 * DGRAM numbers; DGRAM is not thread-safe. */
static void peer_channel_dgram (void *ctx)
{
    void *a = zmq_socket (ctx, ZMQ_PEER), *b = zmq_socket (ctx, ZMQ_PEER);
    CHECK (a && b);
    OK (zmq_bind (a, "tcp://127.0.0.1:*"));
    char ep[256];
    size_t len = sizeof ep;
    OK (zmq_getsockopt (a, ZMQ_LAST_ENDPOINT, ep, &len));
    uint32_t id = zmq_connect_peer (b, ep);
    CHECK (id != 0);
    zmq_msg_t msg;
    OK (zmq_msg_init_size (&msg, 2));
    memcpy (zmq_msg_data (&msg), "hi", 2);
    OK (zmq_msg_set_routing_id (&msg, id));
    CHECK (zmq_msg_send (&msg, b, 0) == 2);
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_recv (&msg, a, 0) == 2);
    CHECK (zmq_msg_routing_id (&msg) != 0);
    OK (zmq_msg_close (&msg));

    /* Errors: a NULL or closed handle, another type, IMMEDIATE set, a bad endpoint. */
    errno = 0;
    CHECK (zmq_connect_peer (NULL, ep) == 0 && errno == ENOTSOCK);
    void *server = zmq_socket (ctx, ZMQ_SERVER);
    CHECK (zmq_connect_peer (server, ep) == 0 && errno == ENOTSUP);
    int one = 1;
    void *c = zmq_socket (ctx, ZMQ_PEER);
    OK (zmq_setsockopt (c, ZMQ_IMMEDIATE, &one, sizeof one));
    CHECK (zmq_connect_peer (c, ep) == 0 && errno == EFAULT);
    CHECK (zmq_connect_peer (b, "bogus://x") == 0 && errno == EPROTONOSUPPORT);
    OK (zmq_close (c));
    OK (zmq_close (server));
    OK (zmq_close (a));
    OK (zmq_close (b));
    CHECK (zmq_connect_peer (b, ep) == 0 && errno == ENOTSOCK);

    int safe = -1;
    len = sizeof safe;
    void *channel = zmq_socket (ctx, ZMQ_CHANNEL), *dgram = zmq_socket (ctx, ZMQ_DGRAM);
    CHECK (channel && dgram);
    OK (zmq_getsockopt (channel, ZMQ_THREAD_SAFE, &safe, &len));
    CHECK (safe == 1);
    OK (zmq_getsockopt (dgram, ZMQ_THREAD_SAFE, &safe, &len));
    CHECK (safe == 0);
    FAILS (zmq_connect (dgram, "udp://127.0.0.1:5555"), ENOCOMPATPROTO);
    OK (zmq_close (channel));
    OK (zmq_close (dgram));
}

int main (void)
{
    CHECK (zmq_has ("draft") == 1);
    void *peer_ctx = zmq_ctx_new ();
    peer_channel_dgram (peer_ctx);
    OK (zmq_ctx_term (peer_ctx));
    msg_init_buffer ();
    ctx_ext ();
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    const char *eps[] = {"tcp://127.0.0.1:*", "ipc://*", "inproc://draft-c"};
    for (int i = 0; i < 3; i++) {
        client_server (ctx, eps[i]);
        radio_dish (ctx, eps[i]);
    }
    scatter_gather (ctx);
    OK (zmq_ctx_term (ctx));
    printf ("ok\n");
    return 0;
}
