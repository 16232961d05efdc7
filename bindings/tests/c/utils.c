/* Version, capabilities, context options, Z85, CURVE key helpers, atomic counters,
 * stopwatch, threads, timers. */
#include "testutil.h"
#include <stdint.h>

static void thread_fn (void *arg)
{
    zmq_atomic_counter_inc (arg);
}

static int fired;
static void on_timer (int id, void *arg)
{
    (void) id;
    fired += *(int *) arg;
}

int main (void)
{
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    CHECK (ZMQ_MAKE_VERSION (major, minor, patch) == ZMQ_VERSION);
    CHECK (zmq_has ("ipc") == 1);
    CHECK (zmq_has ("curve") == 1 && zmq_has ("pgm") == 0);
    /* 1 when libsock.so was built with its draft API (the test runner says which). */
    CHECK (zmq_has ("draft") == LIBSOCK_TEST_DRAFT);

    void *ctx = zmq_ctx_new ();
    CHECK (zmq_ctx_get (ctx, ZMQ_IO_THREADS) == ZMQ_IO_THREADS_DFLT);
    CHECK (zmq_ctx_get (ctx, ZMQ_MAX_SOCKETS) == ZMQ_MAX_SOCKETS_DFLT);
    CHECK (zmq_ctx_get (ctx, ZMQ_MSG_T_SIZE) == (int) sizeof (zmq_msg_t));
    CHECK (zmq_ctx_get (ctx, ZMQ_BLOCKY) == 1);
    OK (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 2));
    CHECK (zmq_ctx_get (ctx, ZMQ_IO_THREADS) == 2);
    OK (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 1));
    OK (zmq_ctx_set (ctx, ZMQ_IPV6, 1));
    OK (zmq_ctx_set (ctx, ZMQ_BLOCKY, 0));
    void *s = zmq_socket (ctx, ZMQ_PUB);
    CHECK (s);
    CHECK (zmq_socket (ctx, ZMQ_PUB) == NULL && zmq_errno () == EMFILE);
    int v;
    size_t len = sizeof v;
    OK (zmq_getsockopt (s, ZMQ_IPV6, &v, &len));
    CHECK (v == 1);
    OK (zmq_getsockopt (s, ZMQ_IPV4ONLY, &v, &len));
    CHECK (v == 0);
    OK (zmq_getsockopt (s, ZMQ_LINGER, &v, &len));
    CHECK (v == 0); /* not blocky */
    OK (zmq_getsockopt (s, ZMQ_TYPE, &v, &len));
    CHECK (v == ZMQ_PUB);
    int64_t big = 1 << 20;
    OK (zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &big, sizeof big));
    big = 0;
    len = sizeof big;
    OK (zmq_getsockopt (s, ZMQ_MAXMSGSIZE, &big, &len));
    CHECK (big == 1 << 20 && len == sizeof big);
    OK (zmq_setsockopt (s, ZMQ_ROUTING_ID, "abc", 3));
    char id[255];
    len = sizeof id;
    OK (zmq_getsockopt (s, ZMQ_ROUTING_ID, id, &len));
    CHECK (len == 3 && memcmp (id, "abc", 3) == 0);
    OK (zmq_close (s));
    OK (zmq_ctx_term (ctx));
    ctx = zmq_init (1);
    CHECK (ctx);
    OK (zmq_term (ctx));
    ctx = zmq_ctx_new ();
    OK (zmq_ctx_destroy (ctx));

    /* Z85: the RFC 32 test vector. */
    uint8_t data[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char text[11];
    CHECK (zmq_z85_encode (text, data, 8) == text);
    CHECK (strcmp (text, "HelloWorld") == 0);
    uint8_t back[8];
    CHECK (zmq_z85_decode (back, "HelloWorld") == back);
    CHECK (memcmp (back, data, 8) == 0);
    CHECK (zmq_z85_encode (text, data, 7) == NULL && zmq_errno () == EINVAL);
    CHECK (zmq_z85_decode (back, "Hello Wor") == NULL);

    char pub[41], sec[41];
    char derived[41];
    OK (zmq_curve_keypair (pub, sec));
    OK (zmq_curve_public (derived, sec));
    CHECK (strcmp (pub, derived) == 0);

    void *counter = zmq_atomic_counter_new ();
    zmq_atomic_counter_set (counter, 5);
    CHECK (zmq_atomic_counter_inc (counter) == 5);
    CHECK (zmq_atomic_counter_value (counter) == 6);
    CHECK (zmq_atomic_counter_dec (counter) == 1);
    zmq_atomic_counter_set (counter, 1);
    CHECK (zmq_atomic_counter_dec (counter) == 0);

    void *threads[4];
    for (int i = 0; i < 4; i++)
        threads[i] = zmq_threadstart (thread_fn, counter);
    for (int i = 0; i < 4; i++)
        zmq_threadclose (threads[i]);
    CHECK (zmq_atomic_counter_value (counter) == 4);
    zmq_atomic_counter_destroy (&counter);
    CHECK (counter == NULL);

    void *watch = zmq_stopwatch_start ();
    zmq_sleep (0);
    unsigned long mid = zmq_stopwatch_intermediate (watch);
    CHECK (zmq_stopwatch_stop (watch) >= mid);

    void *timers = zmq_timers_new ();
    int three = 3, five = 5;
    int a = zmq_timers_add (timers, 0, on_timer, &three);
    int b = zmq_timers_add (timers, 3600 * 1000, on_timer, &five);
    CHECK (a > 0 && b > 0 && a != b);
    CHECK (zmq_timers_timeout (timers) == 0);
    OK (zmq_timers_execute (timers));
    CHECK (fired == 3);
    OK (zmq_timers_cancel (timers, a));
    FAILS (zmq_timers_cancel (timers, a), EINVAL);
    CHECK (zmq_timers_timeout (timers) > 1000);
    OK (zmq_timers_set_interval (timers, b, 0));
    OK (zmq_timers_execute (timers));
    CHECK (fired == 8);
    OK (zmq_timers_reset (timers, b));
    OK (zmq_timers_destroy (&timers));
    CHECK (timers == NULL);
    printf ("utils ok\n");
    return 0;
}
