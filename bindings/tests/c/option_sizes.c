/* The buffer sizes zmq_getsockopt(3) and zmq_setsockopt(3) take, as libzmq 4.3 checks them:
 * an option of options_t is exactly an int or an int64_t (EINVAL for any other size, larger
 * too), the few socket_base_t answers itself (RCVMORE, FD, EVENTS, THREAD_SAFE) fit any
 * buffer of at least an int, a CURVE key reads into 32 or 41 bytes only, a string needs
 * room for its NUL; any negative MAXMSGSIZE is taken (no limit); ZMQ_SRCFD of a message
 * that came from no connection is EINVAL. Built and run on libsock and on the system's libzmq. */
#include "testutil.h"
#include <stdint.h>

static const size_t sizes[] = {2, 4, 8, 16, 40};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* One option read into buffers of each size in `sizes`: `want[i]` is the size
 * zmq_getsockopt reports on success, or 0 where it must fail with EINVAL. */
struct case_
{
    int option;
    const char *name;
    size_t want[NSIZES];
};

static void check_get (void *s, const struct case_ *c)
{
    for (size_t i = 0; i < NSIZES; i++) {
        unsigned char buf[64];
        memset (buf, 0xff, sizeof buf);
        size_t len = sizes[i];
        int rc = zmq_getsockopt (s, c->option, buf, &len);
        if (c->want[i] == 0 ? (rc != -1 || zmq_errno () != EINVAL)
                            : (rc != 0 || len != c->want[i])) {
            fprintf (stderr, "getsockopt %s into %zu bytes: rc %d errno %d len %zu, want %s %zu\n",
                     c->name, sizes[i], rc, zmq_errno (), len,
                     c->want[i] ? "size" : "EINVAL", c->want[i]);
            exit (1);
        }
        /* An int read into a larger buffer leaves no stale bytes above it. */
        if (rc == 0 && len == sizeof (int) && sizes[i] > len)
            for (size_t b = len; b < sizes[i]; b++)
                CHECK (buf[b] == 0);
    }
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    void *s = zmq_socket (ctx, ZMQ_DEALER);
    CHECK (s);
    OK (zmq_setsockopt (s, ZMQ_ROUTING_ID, "abc", 3));
    OK (zmq_setsockopt (s, ZMQ_ZAP_DOMAIN, "global", 6));

    const struct case_ cases[] = {
      /*                                2  4  8  16 40 */
      {ZMQ_SNDHWM, "SNDHWM", {0, 4, 0, 0, 0}},
      {ZMQ_LINGER, "LINGER", {0, 4, 0, 0, 0}},
      {ZMQ_TYPE, "TYPE", {0, 4, 0, 0, 0}},
      {ZMQ_IMMEDIATE, "IMMEDIATE", {0, 4, 0, 0, 0}},
      {ZMQ_RCVTIMEO, "RCVTIMEO", {0, 4, 0, 0, 0}},
      {ZMQ_MECHANISM, "MECHANISM", {0, 4, 0, 0, 0}},
      {ZMQ_MAXMSGSIZE, "MAXMSGSIZE", {0, 0, 8, 0, 0}},
      {ZMQ_AFFINITY, "AFFINITY", {0, 0, 8, 0, 0}},
      {ZMQ_RCVMORE, "RCVMORE", {0, 4, 4, 4, 4}},
      {ZMQ_EVENTS, "EVENTS", {0, 4, 4, 4, 4}},
      {ZMQ_FD, "FD", {0, 4, 4, 4, 4}},
      {ZMQ_THREAD_SAFE, "THREAD_SAFE", {0, 4, 4, 4, 4}},
      {ZMQ_ROUTING_ID, "ROUTING_ID", {0, 3, 3, 3, 3}},
      {ZMQ_ZAP_DOMAIN, "ZAP_DOMAIN", {0, 0, 7, 7, 7}},
      {ZMQ_CURVE_PUBLICKEY, "CURVE_PUBLICKEY", {0, 0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_get (s, &cases[i]);

    /* A CURVE key: 32 bytes, or 41 as Z85 text with its NUL. */
    unsigned char key[41];
    size_t len = 32;
    OK (zmq_getsockopt (s, ZMQ_CURVE_PUBLICKEY, key, &len));
    CHECK (len == 32);
    len = 41;
    OK (zmq_getsockopt (s, ZMQ_CURVE_PUBLICKEY, key, &len));
    CHECK (len == 41 && key[40] == 0 && strlen ((char *) key) == 40);

    /* Setting: exactly an int or an int64_t too. */
    int64_t wide = 1000;
    int narrow = 1000;
    FAILS (zmq_setsockopt (s, ZMQ_SNDHWM, &wide, sizeof wide), EINVAL);
    FAILS (zmq_setsockopt (s, ZMQ_SNDHWM, &narrow, 2), EINVAL);
    OK (zmq_setsockopt (s, ZMQ_SNDHWM, &narrow, sizeof narrow));
    FAILS (zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &narrow, sizeof narrow), EINVAL);
    OK (zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &wide, sizeof wide));
    unsigned char junk[40];
    memset (junk, 'x', sizeof junk);
    FAILS (zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, junk, 16), EINVAL);

    /* Any negative MAXMSGSIZE means no limit (libzmq stores the int64 as given). */
    int64_t unlimited = -5;
    OK (zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &unlimited, sizeof unlimited));
    len = sizeof wide;
    OK (zmq_getsockopt (s, ZMQ_MAXMSGSIZE, &wide, &len));
    CHECK (wide == -5);

    /* A message property with no value: ZMQ_SRCFD of a message made here. */
    zmq_msg_t msg;
    OK (zmq_msg_init_size (&msg, 3));
    FAILS (zmq_msg_get (&msg, ZMQ_SRCFD), EINVAL);
    OK (zmq_msg_close (&msg));

    OK (zmq_close (s));
    OK (zmq_ctx_term (ctx));
    printf ("option sizes ok\n");
    return 0;
}
