/* zmq_msg_send's contract (zmq_msg_send(3)): on success the message is emptied, on failure it
 * is left unchanged. libsock moves the body into the socket without copying it and gets it
 * back from a failed send (PUSH, DEALER, PAIR: EAGAIN, timeouts, ETERM), or shares it first
 * for the types that can refuse a message for good (REQ out of turn, ROUTER_MANDATORY). Every
 * body kind is checked: inline (<= 38 bytes), buffers from zmq_msg_init_size, received
 * messages, and caller buffers from zmq_msg_init_data. */
#include "testutil.h"

static int freed;

static void count_free (void *data, void *hint)
{
    (void) hint;
    freed++;
    free (data);
}

/* A message of `size` bytes `fill`, `fill`+1, ... */
static void make (zmq_msg_t *msg, size_t size, int fill)
{
    OK (zmq_msg_init_size (msg, size));
    for (size_t i = 0; i < size; i++)
        ((unsigned char *) zmq_msg_data (msg))[i] = (unsigned char) (fill + i);
}

static int holds (zmq_msg_t *msg, size_t size, int fill)
{
    if (zmq_msg_size (msg) != size)
        return 0;
    for (size_t i = 0; i < size; i++)
        if (((unsigned char *) zmq_msg_data (msg))[i] != (unsigned char) (fill + i))
            return 0;
    return 1;
}

/* `msg` fails to send on `s` with `err` and is unchanged, data pointer included, but for
 * its MORE flag: that of `flags`, which libzmq sets before the socket takes or refuses it
 * (not for ETERM, found before). */
static void fails_intact (zmq_msg_t *msg, void *s, int flags, int err, size_t size, int fill)
{
    void *data = zmq_msg_data (msg);
    FAILS (zmq_msg_send (msg, s, flags), err);
    CHECK (holds (msg, size, fill));
    CHECK (zmq_msg_data (msg) == data);
    if (err != ETERM)
        CHECK (zmq_msg_more (msg) == ((flags & ZMQ_SNDMORE) != 0));
}

static void recv_check (void *s, size_t size, int fill)
{
    zmq_msg_t in;
    OK (zmq_msg_init (&in));
    CHECK (zmq_msg_recv (&in, s, 0) == (int) size);
    CHECK (holds (&in, size, fill));
    OK (zmq_msg_close (&in));
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    const size_t sizes[] = {0, 1, 38, 39, 64, 1000, 100000};
    const int nsizes = (int) (sizeof sizes / sizeof sizes[0]);

    /* PUSH with no peer: EAGAIN (DONTWAIT and SNDTIMEO), then the same message goes out. */
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    no_linger (push);
    int timeout = 20;
    OK (zmq_setsockopt (push, ZMQ_SNDTIMEO, &timeout, sizeof timeout));
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    no_linger (pull);
    zmq_msg_t msg;
    for (int i = 0; i < nsizes; i++) {
        make (&msg, sizes[i], i);
        fails_intact (&msg, push, ZMQ_DONTWAIT, EAGAIN, sizes[i], i);
        fails_intact (&msg, push, 0, EAGAIN, sizes[i], i);
        OK (zmq_msg_close (&msg));
    }

    /* A received message forwarded on a blocked socket stays intact, then is delivered. */
    void *src = zmq_socket (ctx, ZMQ_PAIR);
    void *dst = zmq_socket (ctx, ZMQ_PAIR);
    no_linger (src);
    no_linger (dst);
    OK (zmq_bind (dst, "inproc://msg-send-failure-src"));
    OK (zmq_connect (src, "inproc://msg-send-failure-src"));
    for (int i = 0; i < nsizes; i++) {
        make (&msg, sizes[i], 7 * i);
        CHECK (zmq_msg_send (&msg, src, 0) == (int) sizes[i]);
        CHECK (zmq_msg_size (&msg) == 0);
        OK (zmq_msg_close (&msg));
        zmq_msg_t got;
        OK (zmq_msg_init (&got));
        CHECK (zmq_msg_recv (&got, dst, 0) == (int) sizes[i]);
        fails_intact (&got, push, ZMQ_DONTWAIT, EAGAIN, sizes[i], 7 * i);
        OK (zmq_msg_close (&got));
    }

    /* A caller's buffer: intact after EAGAIN, its free function called once after close. */
    char *buf = malloc (100);
    for (int i = 0; i < 100; i++)
        buf[i] = (char) (3 + i);
    OK (zmq_msg_init_data (&msg, buf, 100, count_free, NULL));
    fails_intact (&msg, push, ZMQ_DONTWAIT, EAGAIN, 100, 3);
    CHECK (zmq_msg_data (&msg) == buf);
    OK (zmq_msg_close (&msg));
    CHECK (freed == 1);

    /* zmq_msg_init's empty message: size 0, a non-NULL data pointer, intact after a failed
     * send; a copy of it is empty and not shared. */
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_size (&msg) == 0 && zmq_msg_data (&msg) != NULL && zmq_msg_more (&msg) == 0);
    fails_intact (&msg, push, ZMQ_DONTWAIT, EAGAIN, 0, 0);
    zmq_msg_t copy;
    OK (zmq_msg_init_size (&copy, 5));
    OK (zmq_msg_copy (&copy, &msg));
    CHECK (zmq_msg_size (&copy) == 0 && zmq_msg_get (&copy, ZMQ_SHARED) == 0);
    OK (zmq_msg_close (&copy));
    OK (zmq_msg_close (&msg));

    /* Once a peer is there, messages go out whole and the sent one is emptied. */
    OK (zmq_bind (pull, "inproc://msg-send-failure"));
    OK (zmq_connect (push, "inproc://msg-send-failure"));
    for (int i = 0; i < nsizes; i++) {
        make (&msg, sizes[i], 11 * i);
        CHECK (zmq_msg_send (&msg, push, 0) == (int) sizes[i]);
        CHECK (zmq_msg_size (&msg) == 0);
        OK (zmq_msg_close (&msg));
        recv_check (pull, sizes[i], 11 * i);
    }
    /* An empty message goes out too; a sent message is empty, and takes a receive. */
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_send (&msg, push, 0) == 0);
    make (&msg, 3, 1);
    CHECK (zmq_msg_send (&msg, push, 0) == 3);
    CHECK (zmq_msg_size (&msg) == 0 && zmq_msg_data (&msg) != NULL);
    CHECK (zmq_msg_recv (&msg, pull, 0) == 0);
    CHECK (zmq_msg_recv (&msg, pull, 0) == 3 && holds (&msg, 3, 1));
    OK (zmq_msg_close (&msg));

    /* REQ out of turn (EFSM) and ROUTER_MANDATORY to an unknown peer (EHOSTUNREACH) refuse
     * the message for good: it is still intact. */
    void *req = zmq_socket (ctx, ZMQ_REQ);
    no_linger (req);
    OK (zmq_bind (req, "inproc://msg-send-failure-req"));
    void *rep = zmq_socket (ctx, ZMQ_REP);
    no_linger (rep);
    OK (zmq_connect (rep, "inproc://msg-send-failure-req"));
    send_str (req, "first", 0);
    void *router = zmq_socket (ctx, ZMQ_ROUTER);
    no_linger (router);
    int one = 1;
    OK (zmq_setsockopt (router, ZMQ_ROUTER_MANDATORY, &one, sizeof one));
    for (int i = 0; i < nsizes; i++) {
        make (&msg, sizes[i], 5 * i);
        fails_intact (&msg, req, 0, EFSM, sizes[i], 5 * i);
        OK (zmq_msg_close (&msg));
        make (&msg, sizes[i] + 1, 5 * i);
        fails_intact (&msg, router, ZMQ_SNDMORE, EHOSTUNREACH, sizes[i] + 1, 5 * i);
        OK (zmq_msg_close (&msg));
    }

    /* A receive the socket refuses (a PUSH's: ENOTSUP) leaves the message as it was; one
     * that finds no frame (EAGAIN) leaves it empty, as libzmq's fair queue does. */
    void *lonely = zmq_socket (ctx, ZMQ_PULL);
    CHECK (lonely != NULL);
    for (int i = 0; i < nsizes; i++) {
        make (&msg, sizes[i], 3 * i);
        void *data = zmq_msg_data (&msg);
        FAILS (zmq_msg_recv (&msg, push, ZMQ_DONTWAIT), ENOTSUP);
        CHECK (holds (&msg, sizes[i], 3 * i));
        CHECK (zmq_msg_data (&msg) == data);
        FAILS (zmq_msg_recv (&msg, lonely, ZMQ_DONTWAIT), EAGAIN);
        CHECK (zmq_msg_size (&msg) == 0 && zmq_msg_more (&msg) == 0);
        OK (zmq_msg_close (&msg));
    }
    char *buffer = malloc (100);
    CHECK (buffer != NULL);
    memset (buffer, 1, 100);
    OK (zmq_msg_init_data (&msg, buffer, 100, count_free, NULL));
    int freed_before = freed;
    FAILS (zmq_msg_recv (&msg, push, ZMQ_DONTWAIT), ENOTSUP);
    CHECK (zmq_msg_size (&msg) == 100 && zmq_msg_data (&msg) == buffer && freed == freed_before);
    FAILS (zmq_msg_recv (&msg, lonely, ZMQ_DONTWAIT), EAGAIN);
    CHECK (zmq_msg_size (&msg) == 0 && freed == freed_before + 1);
    OK (zmq_msg_close (&msg));
    OK (zmq_close (lonely));

    /* ETERM after zmq_ctx_shutdown leaves the message intact too. */
    make (&msg, 1000, 9);
    OK (zmq_ctx_shutdown (ctx));
    fails_intact (&msg, push, 0, ETERM, 1000, 9);
    OK (zmq_msg_close (&msg));

    void *all[] = {push, pull, src, dst, req, rep, router};
    for (int i = 0; i < (int) (sizeof all / sizeof all[0]); i++)
        OK (zmq_close (all[i]));
    OK (zmq_ctx_term (ctx));
    printf ("ok\n");
    return 0;
}
