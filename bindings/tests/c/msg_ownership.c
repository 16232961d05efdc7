/* zmq_msg_init_data: the free function runs exactly once, when the library no longer needs
 * the buffer, from whichever thread; zmq_msg_copy shares; zmq_msg_move moves. */
#include "testutil.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int freed;
static atomic_int hint_ok;

static void count_free (void *data, void *hint)
{
    atomic_fetch_add (&freed, 1);
    if (hint == (void *) 0x1234)
        atomic_fetch_add (&hint_ok, 1);
    free (data);
}

static zmq_msg_t make (size_t size, char fill)
{
    zmq_msg_t msg;
    char *buf = malloc (size);
    memset (buf, fill, size);
    OK (zmq_msg_init_data (&msg, buf, size, count_free, (void *) 0x1234));
    CHECK (zmq_msg_data (&msg) == buf); /* no copy */
    CHECK (zmq_msg_size (&msg) == size);
    return msg;
}

static void send_and_receive (void *ctx, const char *transport, size_t size)
{
    int before = atomic_load (&freed);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    char ep[256];
    size_t len = sizeof ep;
    OK (zmq_bind (pull, transport));
    OK (zmq_getsockopt (pull, ZMQ_LAST_ENDPOINT, ep, &len));
    OK (zmq_connect (push, ep));
    zmq_msg_t msg = make (size, 'z');
    CHECK (zmq_msg_send (&msg, push, 0) == (int) size);
    OK (zmq_msg_close (&msg)); /* closing a sent message is allowed and frees nothing twice */
    zmq_msg_t in;
    OK (zmq_msg_init (&in));
    CHECK (zmq_msg_recv (&in, pull, 0) == (int) size);
    CHECK (((char *) zmq_msg_data (&in))[size - 1] == 'z');
    OK (zmq_msg_close (&in));
    OK (zmq_close (push));
    OK (zmq_close (pull));
    /* The buffer may be freed later by an I/O thread, but by the time the receiver holds
     * the message over inproc, or the context is gone, it must have been freed once. */
    (void) before;
}

/* A sent message keeps the caller's buffer, however small, while it is queued: the free
 * function runs when the message leaves the library (pyzmq's MessageTracker waits for it). */
static void held_while_queued (void *ctx, const char *endpoint, size_t size)
{
    int before = atomic_load (&freed);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    OK (zmq_connect (push, endpoint)); /* nobody bound yet: the message waits */
    zmq_msg_t msg = make (size, 'q');
    CHECK (zmq_msg_send (&msg, push, 0) == (int) size);
    OK (zmq_msg_close (&msg));
    usleep (50 * 1000);
    CHECK (atomic_load (&freed) == before);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    OK (zmq_bind (pull, endpoint));
    zmq_msg_t in;
    OK (zmq_msg_init (&in));
    CHECK (zmq_msg_recv (&in, pull, 0) == (int) size);
    CHECK (((char *) zmq_msg_data (&in))[size - 1] == 'q');
    OK (zmq_msg_close (&in));
    CHECK (atomic_load (&freed) == before + 1); /* inproc: the receiver held the buffer */
    OK (zmq_close (push));
    OK (zmq_close (pull));
}

/* zmq_msg_init_size bodies (inline, recycled up to 64 KiB, allocated beyond): writable
 * through zmq_msg_data (the content before is unspecified, as in libzmq), intact after a
 * copy and a send, the next message's reused buffer never showing through. */
static void sized_bodies (void *ctx)
{
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    OK (zmq_bind (pull, "inproc://sized"));
    OK (zmq_connect (push, "inproc://sized"));
    const size_t sizes[] = {1, 38, 39, 64, 65, 100, 1024, 4097, 8192, 8193, 65536, 65537, 70000};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t size = sizes[i];
            zmq_msg_t msg, copy, got;
            OK (zmq_msg_init_size (&msg, size));
            unsigned char *data = zmq_msg_data (&msg);
            memset (data, 'a' + (int) i + round, size);
            OK (zmq_msg_init (&copy));
            OK (zmq_msg_copy (&copy, &msg));
            CHECK (zmq_msg_send (&msg, push, 0) == (int) size);
            OK (zmq_msg_close (&msg));
            OK (zmq_msg_init (&got));
            CHECK (zmq_msg_recv (&got, pull, 0) == (int) size);
            const unsigned char *g = zmq_msg_data (&got);
            const unsigned char *c = zmq_msg_data (&copy);
            for (size_t j = 0; j < size; j++)
                CHECK (g[j] == 'a' + i + round && c[j] == g[j]);
            OK (zmq_msg_close (&got));
            OK (zmq_msg_close (&copy));
        }
    }
    OK (zmq_close (push));
    OK (zmq_close (pull));
}

int main (void)
{
    void *ctx = zmq_ctx_new ();

    /* Closing an unsent message frees its buffer, once. */
    zmq_msg_t m = make (100, 'a');
    OK (zmq_msg_close (&m));
    CHECK (atomic_load (&freed) == 1);
    FAILS (zmq_msg_close (&m), EFAULT);
    CHECK (atomic_load (&freed) == 1);

    /* A copy shares the buffer: freed when the last of the two closes. */
    zmq_msg_t a = make (100, 'b'), b;
    OK (zmq_msg_init (&b));
    OK (zmq_msg_copy (&b, &a));
    CHECK (zmq_msg_data (&b) == zmq_msg_data (&a));
    CHECK (zmq_msg_get (&a, ZMQ_SHARED) == 1);
    OK (zmq_msg_close (&a));
    CHECK (atomic_load (&freed) == 1);
    OK (zmq_msg_close (&b));
    CHECK (atomic_load (&freed) == 2);

    /* Move: the source becomes empty, the buffer is freed once with the destination. */
    zmq_msg_t c = make (100, 'c'), d;
    OK (zmq_msg_init_size (&d, 10));
    OK (zmq_msg_move (&d, &c));
    CHECK (zmq_msg_size (&c) == 0 && zmq_msg_size (&d) == 100);
    OK (zmq_msg_close (&c));
    CHECK (atomic_load (&freed) == 2);
    OK (zmq_msg_close (&d));
    CHECK (atomic_load (&freed) == 3);

    sized_bodies (ctx);

    /* Sent messages, small and large, over inproc and tcp. */
    send_and_receive (ctx, "inproc://own", 10);
    send_and_receive (ctx, "inproc://own2", 100000);
    send_and_receive (ctx, "tcp://127.0.0.1:*", 10);
    send_and_receive (ctx, "tcp://127.0.0.1:*", 100000);
    held_while_queued (ctx, "inproc://held-small", 9);
    held_while_queued (ctx, "inproc://held-large", 100000);
    OK (zmq_ctx_term (ctx));
    CHECK (atomic_load (&freed) == 9);
    CHECK (atomic_load (&hint_ok) == 9);

    /* NULL free function: constant data, never freed. */
    static char constant[] = "constant data, larger than the inline size of a message";
    zmq_msg_t k;
    OK (zmq_msg_init_data (&k, constant, sizeof constant, NULL, NULL));
    OK (zmq_msg_close (&k));
    CHECK (atomic_load (&freed) == 9);
    printf ("msg_ownership ok\n");
    return 0;
}
