/* Tiny assertion helpers for libsock's C tests. Each program exits 0 when every check held. */
#ifndef LIBSOCK_TESTUTIL_H
#define LIBSOCK_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Fails the program when `cond` is false. */
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf (stderr, "%s:%d: CHECK failed: %s (errno %d: %s)\n", __FILE__, __LINE__, \
                     #cond, zmq_errno (), zmq_strerror (zmq_errno ()));                      \
            exit (1);                                                                        \
        }                                                                                    \
    } while (0)

/* `call` returns 0 (or a non-negative count). */
#define OK(call) CHECK ((call) >= 0)

/* `call` fails with -1 and errno `err`. */
#define FAILS(call, err)                                                                    \
    do {                                                                                     \
        int rc_ = (call);                                                                    \
        if (rc_ != -1 || zmq_errno () != (err)) {                                            \
            fprintf (stderr, "%s:%d: expected %s to fail with %s (%d), got rc %d errno %d\n", \
                     __FILE__, __LINE__, #call, #err, (err), rc_, zmq_errno ());             \
            exit (1);                                                                        \
        }                                                                                    \
    } while (0)

/* Sends a string as one frame (with `flags`). */
static inline void send_str (void *s, const char *text, int flags)
{
    int n = zmq_send (s, text, strlen (text), flags);
    CHECK (n == (int) strlen (text));
}

/* Receives one frame and checks it equals `text`. */
static inline void recv_str (void *s, const char *text)
{
    char buf[256];
    int n = zmq_recv (s, buf, sizeof buf - 1, 0);
    CHECK (n >= 0);
    buf[n < (int) sizeof buf - 1 ? n : (int) sizeof buf - 1] = 0;
    if (strcmp (buf, text) != 0) {
        fprintf (stderr, "expected '%s', received '%s'\n", text, buf);
        exit (1);
    }
}

/* Binds `s` to a free loopback tcp port and returns the resolved endpoint in `ep`. */
static inline void bind_tcp (void *s, char *ep, size_t len)
{
    OK (zmq_bind (s, "tcp://127.0.0.1:*"));
    OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &len));
}

/* Sets LINGER 0 so closing never waits. */
static inline void no_linger (void *s)
{
    int zero = 0;
    OK (zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero));
}

#endif
