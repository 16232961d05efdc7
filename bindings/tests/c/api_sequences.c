/* Random sequences of message and socket calls, built and run on libsock and on the system's
 * libzmq: c_api.rs runs both with the same seeds and compares, line by line, what every
 * call returned (its value, errno, the message's size, flags and first bytes).
 *
 * Usage: api_sequences <output file> <first seed> <seeds> <calls per seed>
 *
 * Only calls whose outcome does not depend on timing: each seed's context has eight socket
 * pairs over inproc (PAIR-PAIR, PUSH-PULL, REQ-REP, DEALER-ROUTER, PUB-SUB, XPUB-XSUB,
 * DEALER-REP, REQ-ROUTER) and a second peer for four of them, used from one thread with
 * ZMQ_DONTWAIT (and a socket's commands taken before each send), so a message sent is the
 * peer's to receive at its next call, in both libraries. Four zmq_msg_t slots go through
 * init, init_size, init_data, copy, move, close, send and receive; a slot is never used
 * before its first init (undefined behaviour in libzmq), and a closed one only where
 * libzmq checks for it (close, copy, move, receive: EFAULT; libzmq's zmq_msg_send asserts). */
#include "testutil.h"
#include <inttypes.h>
#include <stdint.h>

static FILE *out;
static uint64_t rng;

/* xorshift64*: the same sequence on both builds. */
static unsigned pick (unsigned n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned) ((rng * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

enum { UNINIT, LIVE, CLOSED };
#define SLOTS 4
static zmq_msg_t msgs[SLOTS];
static int state[SLOTS];
/* The slot holds a frame received (or copied or moved from one): its ZMQ_SHARED is how the
 * sender made it in libzmq (a zmq_send_const frame arrives as a constant message, shared). */
static int received[SLOTS];
/* The slot holds a frame an XPUB received (or one copied or moved from it): not copied,
 * nor sent on the PUB that has two SUBs. libzmq 4.3.4's XPUB gives the message it makes
 * the flags of the one that came upstream, the internal "shared" one included, over a
 * reference count never set: a copy of it and a close free its bytes while the other
 * still points at them (valgrind; a crash at the next use), and so does a PUB that hands
 * it to two subscribers (`dist_t` adds references; valgrind: the second SUB's
 * `xsub_t::match` reads the bytes the first one's `fq_t::recvpipe` freed). */
static int from_xpub[SLOTS];

struct payload {
    const char *bytes;
    size_t len;
};
static const struct payload payloads[] = {
  {"", 0},      {"D1", 2},    {"R1", 2},      {"zz", 2},       {"a", 1},
  {"ab", 2},    {"hello", 5}, {"\x01", 1},    {"\x01" "a", 2}, {"\x00" "a", 2},
  {"0123456789012345678901234567890123456789", 40},
};
#define PAYLOADS (sizeof payloads / sizeof *payloads)
static const size_t sizes[] = {0, 1, 5, 33, 34, 38, 39, 64, 1000};

struct pair {
    int a, b;
    const char *a_id; /* routing id of a, where b is a ROUTER */
};
static const struct pair pairs[] = {
  {ZMQ_PAIR, ZMQ_PAIR, NULL},     {ZMQ_PUSH, ZMQ_PULL, NULL},  {ZMQ_REQ, ZMQ_REP, NULL},
  {ZMQ_DEALER, ZMQ_ROUTER, "D1"}, {ZMQ_PUB, ZMQ_SUB, NULL},    {ZMQ_XPUB, ZMQ_XSUB, NULL},
  {ZMQ_DEALER, ZMQ_REP, NULL},    {ZMQ_REQ, ZMQ_ROUTER, "R1"},
};
#define PAIRS (sizeof pairs / sizeof *pairs)
/* A second peer for some of them, so that round robin and fan-out take turns: it binds an
 * endpoint of its own, and the pair's socket connects to it after its pair (its pipes are
 * attached in that order in both libraries). Not for a socket that fair-queues what two
 * peers send: libzmq's fq_t reads the pipes in the order they last came back from empty,
 * libsock's in the order they were attached (README, "Checked against libzmq"). */
struct extra {
    int of;   /* index of the socket it joins */
    int type;
    const char *id; /* routing id, where `of` is a ROUTER */
};
static const struct extra extras[] = {
  {2, ZMQ_PULL, NULL},   /* a PUSH's second PULL */
  {4, ZMQ_REP, NULL},    /* a REQ's second REP */
  {8, ZMQ_SUB, NULL},    /* a PUB's second SUB, subscribed to everything */
};
#define EXTRAS (sizeof extras / sizeof *extras)
#define SOCKETS (2 * PAIRS + EXTRAS)
static void *sockets[SOCKETS];
static int types[SOCKETS];

static const char *type_name (int t)
{
    static const char *names[] = {"PAIR", "PUB",    "SUB",  "REQ",  "REP",  "DEALER",
                                  "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM"};
    return t >= 0 && t <= ZMQ_STREAM ? names[t] : "?";
}

/* " -> rc errno" of a call that returns an int. */
static void result (int rc)
{
    fprintf (out, " -> %d %d", rc, rc == -1 ? zmq_errno () : 0);
}

/* Size, MORE and the first bytes of a live slot. */
static void show (int slot)
{
    zmq_msg_t *m = &msgs[slot];
    size_t size = zmq_msg_size (m);
    const unsigned char *data = zmq_msg_data (m);
    fprintf (out, " [size %zu more %d", size, zmq_msg_more (m));
    if (size > 0) {
        fprintf (out, " ");
        for (size_t i = 0; i < size && i < 8; i++)
            fprintf (out, "%02x", data[i]);
    }
    fprintf (out, "]");
}

static int random_slot (void)
{
    return (int) pick (SLOTS);
}

static int open_slot (void)
{
    for (int tries = 0; tries < 8; tries++) {
        int s = random_slot ();
        if (state[s] != UNINIT)
            return s;
    }
    return -1;
}

static void msg_call (int op, int i)
{
    int slot = random_slot ();
    zmq_msg_t *m = &msgs[slot];
    switch (op) {
        case 0:
            if (state[slot] == LIVE)
                return;
            fprintf (out, "#%d init m%d", i, slot);
            result (zmq_msg_init (m));
            state[slot] = LIVE;
            received[slot] = 0;
            from_xpub[slot] = 0;
            break;
        case 1: {
            if (state[slot] == LIVE)
                return;
            size_t size = sizes[pick (sizeof sizes / sizeof *sizes)];
            fprintf (out, "#%d init_size m%d %zu", i, slot, size);
            int rc = zmq_msg_init_size (m, size);
            result (rc);
            if (rc == 0) {
                state[slot] = LIVE;
                received[slot] = 0;
                from_xpub[slot] = 0;
                unsigned char *data = zmq_msg_data (m);
                for (size_t k = 0; k < size; k++)
                    data[k] = (unsigned char) (k * 7 + (unsigned) i);
            }
            break;
        }
        case 2: {
            if (state[slot] == LIVE)
                return;
            const struct payload *p = &payloads[pick (PAYLOADS)];
            fprintf (out, "#%d init_data m%d %zu", i, slot, p->len);
            result (zmq_msg_init_data (m, (void *) p->bytes, p->len, NULL, NULL));
            state[slot] = LIVE;
            received[slot] = 0;
            from_xpub[slot] = 0;
            break;
        }
        case 3:
            if (state[slot] == UNINIT)
                return;
            fprintf (out, "#%d close m%d", i, slot);
            result (zmq_msg_close (m));
            state[slot] = CLOSED;
            break;
        case 4:
        case 5: {
            int src = open_slot ();
            if (state[slot] == UNINIT || src < 0 || src == slot || (op == 4 && from_xpub[src]))
                return;
            fprintf (out, "#%d %s m%d m%d", i, op == 4 ? "copy" : "move", slot, src);
            int rc = op == 4 ? zmq_msg_copy (m, &msgs[src]) : zmq_msg_move (m, &msgs[src]);
            result (rc);
            if (rc == 0) {
                state[slot] = LIVE;
                received[slot] = received[src];
                from_xpub[slot] = from_xpub[src];
                show (slot);
                fprintf (out, " src");
                show (src);
            }
            break;
        }
        case 7: {
            /* Z85 (zmq_z85_encode(3), zmq_z85_decode(3)): random bytes of any length (not
             * a multiple of 4: NULL), random text from Z85's alphabet and beyond. */
            uint8_t data[12], decoded[16];
            char text[32];
            size_t n = pick (13);
            for (size_t b = 0; b < n; b++)
                data[b] = (uint8_t) pick (256);
            char *enc = zmq_z85_encode (text, data, n);
            fprintf (out, "#%d z85 encode %zu -> %s", i, n, enc ? enc : "NULL");
            static const char alphabet[] = "0aZ.-:+=^!/*?&<>()[]{}@%$#\"~ ,;'`|_\x7f";
            size_t len = pick (4) ? 5 * pick (4) : pick (16);
            for (size_t c = 0; c < len; c++)
                text[c] = alphabet[pick (sizeof alphabet - 1)];
            text[len] = 0;
            uint8_t *dec = zmq_z85_decode (decoded, text);
            fprintf (out, " decode %zu", len);
            if (dec)
                for (size_t b = 0; b < len / 5 * 4; b++)
                    fprintf (out, "%s%02x", b ? "" : " ", decoded[b]);
            else
                fprintf (out, " NULL");
            break;
        }
        default: {
            if (state[slot] != LIVE)
                return;
            fprintf (out, "#%d query m%d", i, slot);
            show (slot);
            int shared = zmq_msg_get (m, ZMQ_SHARED);
            fprintf (out, " more %d", zmq_msg_get (m, ZMQ_MORE));
            /* libzmq keeps up to 33 bytes in the zmq_msg_t, libsock 38: a copy of 34-38
             * bytes is shared in libzmq, copied in libsock. */
            size_t size = zmq_msg_size (m);
            if (!received[slot] && (size <= 33 || size > 38))
                fprintf (out, " shared %d", shared);
            fprintf (out, " get99");
            result (zmq_msg_get (m, 99));
            fprintf (out, " set");
            result (zmq_msg_set (m, ZMQ_MORE, 1));
            const char *type = zmq_msg_gets (m, "Socket-Type");
            fprintf (out, " gets %s %d", type ? type : "NULL", type ? 0 : zmq_errno ());
            break;
        }
    }
    fprintf (out, "\n");
}

/* Has socket `s` take what its peers' calls sent it (attached pipes, subscriptions, room):
 * libzmq's zmq_send looks at its commands at most once a millisecond or so (by the CPU's
 * time stamp counter), so what a send does would depend on how fast the program runs;
 * ZMQ_EVENTS processes them all, in both libraries. Called before every send. */
static void settle (void *s)
{
    int events;
    size_t len = sizeof events;
    OK (zmq_getsockopt (s, ZMQ_EVENTS, &events, &len));
}

static void socket_call (int op, int i)
{
    int k = (int) pick (SOCKETS);
    void *s = sockets[k];
    if (op <= 3)
        settle (s);
    int dontwait = ZMQ_DONTWAIT;
    int more = pick (3) == 0 ? ZMQ_SNDMORE : 0;
    const struct payload *p = &payloads[pick (PAYLOADS)];
    switch (op) {
        case 0: {
            /* Live slots only: libzmq's zmq_msg_send reads the size first, and asserts. */
            int slot = open_slot ();
            if (slot < 0 || state[slot] != LIVE || (from_xpub[slot] && types[k] == ZMQ_PUB))
                return;
            fprintf (out, "#%d msg_send %s%d m%d more %d", i, type_name (types[k]), k, slot,
                     more != 0);
            result (zmq_msg_send (&msgs[slot], s, dontwait | more));
            if (state[slot] == LIVE)
                show (slot);
            break;
        }
        case 1: {
            int slot = open_slot ();
            if (slot < 0)
                return;
            fprintf (out, "#%d msg_recv %s%d m%d", i, type_name (types[k]), k, slot);
            int rc = zmq_msg_recv (&msgs[slot], s, dontwait);
            result (rc);
            if (rc >= 0) {
                received[slot] = 1;
                from_xpub[slot] = types[k] == ZMQ_XPUB;
            }
            if (state[slot] == LIVE)
                show (slot);
            break;
        }
        case 2:
        case 3:
            fprintf (out, "#%d %s %s%d %zu more %d", i, op == 2 ? "send" : "send_const",
                     type_name (types[k]), k, p->len, more != 0);
            result (op == 2 ? zmq_send (s, p->bytes, p->len, dontwait | more)
                            : zmq_send_const (s, p->bytes, p->len, dontwait | more));
            break;
        case 4: {
            static const size_t lens[] = {0, 1, 3, 64};
            size_t len = lens[pick (4)];
            unsigned char buf[64];
            fprintf (out, "#%d recv %s%d %zu", i, type_name (types[k]), k, len);
            int rc = zmq_recv (s, buf, len, dontwait);
            result (rc);
            for (int n = 0; n < rc && n < (int) len && n < 8; n++)
                fprintf (out, "%s%02x", n ? "" : " ", buf[n]);
            break;
        }
        case 5: {
            int rcvmore = 0, events = 0;
            size_t len = sizeof (int);
            fprintf (out, "#%d state %s%d", i, type_name (types[k]), k);
            result (zmq_getsockopt (s, ZMQ_RCVMORE, &rcvmore, &len));
            len = sizeof (int);
            result (zmq_getsockopt (s, ZMQ_EVENTS, &events, &len));
            fprintf (out, " rcvmore %d events %d", rcvmore, events);
            break;
        }
        case 6: {
            /* Mostly the SUB's; on the others EINVAL, but not on the XSUB (libsock takes
             * them there, libzmq not). */
            if (types[k] == ZMQ_XSUB || pick (4) != 0)
                k = 9, s = sockets[k];
            static const char *topics[] = {"", "a", "ab", "h", "\x01" "a"};
            int t = (int) pick (5);
            int option = pick (3) ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE;
            /* libzmq takes a SUB's UNSUBSCRIBE of a topic starting with 0x01 for a
             * subscription to the rest (README, "libzmq's bugs"). */
            if (option == ZMQ_UNSUBSCRIBE && t == 4)
                return;
            fprintf (out, "#%d %s %s%d topic%d", i,
                     option == ZMQ_SUBSCRIBE ? "subscribe" : "unsubscribe",
                     type_name (types[k]), k, t);
            result (zmq_setsockopt (s, option, topics[t], strlen (topics[t])));
            break;
        }
        case 7: {
            /* zmq_poll(3) without waiting over three sockets (this one and two more). */
            zmq_pollitem_t items[3];
            fprintf (out, "#%d poll", i);
            for (int n = 0; n < 3; n++) {
                int which = n == 0 ? k : (int) pick (SOCKETS);
                short events = (short) (pick (3) + 1); /* POLLIN, POLLOUT or both */
                items[n] = (zmq_pollitem_t){sockets[which], 0, events, 0};
                fprintf (out, " %s%d/%d", type_name (types[which]), which, events);
            }
            result (zmq_poll (items, 3, 0));
            for (int n = 0; n < 3; n++)
                fprintf (out, " %d", items[n].revents);
            break;
        }
        default: {
            /* Options that change how a socket routes, on the socket they apply to (and
             * not REQ_CORRELATE towards a ROUTER: its request id starts at random). */
            static const int options[] = {ZMQ_ROUTER_MANDATORY, ZMQ_REQ_RELAXED,
                                          ZMQ_REQ_CORRELATE,    ZMQ_XPUB_VERBOSE,
                                          ZMQ_XPUB_NODROP,      ZMQ_INVERT_MATCHING,
                                          ZMQ_XPUB_VERBOSER,    ZMQ_XPUB_MANUAL};
            int option = options[pick (sizeof options / sizeof *options)];
            int value = (int) pick (2);
            if (option == ZMQ_REQ_CORRELATE && k == 14)
                return;
            /* Nor REQ_RELAXED on the REQ with two REPs: a reply to an earlier request makes
             * libzmq's ZMQ_EVENTS say POLLIN, though the receive then drops it (EAGAIN). */
            if (option == ZMQ_REQ_RELAXED && k == 4)
                return;
            fprintf (out, "#%d option %s%d %d %d", i, type_name (types[k]), k, option, value);
            result (zmq_setsockopt (s, option, &value, sizeof value));
            break;
        }
    }
    fprintf (out, "\n");
}

/* ZMQ_ONLY_FIRST_SUBSCRIBE, a draft option (the system's libzmq, built with its draft API,
 * takes it; its stable zmq.h does not name it). */
#define ONLY_FIRST_SUBSCRIBE 108

static int is_pubsub (int type)
{
    return type == ZMQ_PUB || type == ZMQ_SUB || type == ZMQ_XPUB || type == ZMQ_XSUB;
}

static void run_seed (uint64_t seed, int calls)
{
    rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    fprintf (out, "seed %" PRIu64 "\n", seed);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL);
    for (size_t p = 0; p < PAIRS; p++) {
        char endpoint[32];
        snprintf (endpoint, sizeof endpoint, "inproc://p%zu", p);
        void *a = zmq_socket (ctx, pairs[p].a);
        void *b = zmq_socket (ctx, pairs[p].b);
        CHECK (a != NULL && b != NULL);
        if (pairs[p].a_id != NULL)
            OK (zmq_setsockopt (a, ZMQ_ROUTING_ID, pairs[p].a_id, strlen (pairs[p].a_id)));
        int all = pairs[p].b == ZMQ_SUB && pick (2);
        if (all)
            OK (zmq_setsockopt (b, ZMQ_SUBSCRIBE, "", 0));
        /* Options that act when the pipe is made, on either side, one time in four:
         * PROBE_ROUTER, IMMEDIATE, XPUB_WELCOME_MSG (the options a socket type does not
         * take fail alike, and are printed), and ONLY_FIRST_SUBSCRIBE on a pub/sub type. */
        int setup[2] = {(int) pick (4), (int) pick (4)};
        for (int side = 0; side < 2; side++) {
            void *s = side ? b : a;
            int one = 1, rc = 0;
            const char *what = "";
            if (setup[side] == 1) {
                what = "probe_router";
                rc = zmq_setsockopt (s, ZMQ_PROBE_ROUTER, &one, sizeof one);
            } else if (setup[side] == 2 && (side ? pairs[p].b : pairs[p].a) == ZMQ_XPUB) {
                what = "welcome";
                rc = zmq_setsockopt (s, ZMQ_XPUB_WELCOME_MSG, "hi", 2);
            } else if (setup[side] == 2) {
                what = "immediate";
                rc = zmq_setsockopt (s, ZMQ_IMMEDIATE, &one, sizeof one);
            } else if (setup[side] == 3 && is_pubsub (side ? pairs[p].b : pairs[p].a)) {
                what = "only_first_subscribe";
                rc = zmq_setsockopt (s, ONLY_FIRST_SUBSCRIBE, &one, sizeof one);
            }
            if (*what)
                fprintf (out, "pair %zu %c %s -> %d %d\n", p, side ? 'b' : 'a', what, rc,
                         rc ? zmq_errno () : 0);
        }
        /* Either side binds; the other connects to the bound endpoint. */
        int a_binds = (int) pick (2);
        OK (zmq_bind (a_binds ? a : b, endpoint));
        OK (zmq_connect (a_binds ? b : a, endpoint));
        fprintf (out, "pair %zu %s%s\n", p, a_binds ? "a binds" : "b binds",
                 all ? ", subscribed to all" : "");
        sockets[2 * p] = a;
        sockets[2 * p + 1] = b;
        types[2 * p] = pairs[p].a;
        types[2 * p + 1] = pairs[p].b;
    }
    for (size_t x = 0; x < EXTRAS; x++) {
        char endpoint[32];
        snprintf (endpoint, sizeof endpoint, "inproc://x%zu", x);
        void *s = zmq_socket (ctx, extras[x].type);
        CHECK (s != NULL);
        if (extras[x].id != NULL)
            OK (zmq_setsockopt (s, ZMQ_ROUTING_ID, extras[x].id, strlen (extras[x].id)));
        if (extras[x].type == ZMQ_SUB)
            OK (zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0));
        OK (zmq_bind (s, endpoint));
        OK (zmq_connect (sockets[extras[x].of], endpoint));
        sockets[2 * PAIRS + x] = s;
        types[2 * PAIRS + x] = extras[x].type;
    }
    /* Each socket takes its new pipe (libzmq's binder learns of a connect by a command);
     * a SUB's subscriptions then reach its PUB at the PUB's next settle(). */
    for (size_t k = 0; k < SOCKETS; k++)
        settle (sockets[k]);
    for (int s = 0; s < SLOTS; s++)
        state[s] = UNINIT;
    for (int i = 0; i < calls; i++) {
        if (pick (2))
            msg_call ((int) pick (8), i);
        else
            socket_call ((int) pick (9), i);
    }
    for (int s = 0; s < SLOTS; s++)
        if (state[s] == LIVE)
            OK (zmq_msg_close (&msgs[s]));
    int linger = 0;
    for (size_t k = 0; k < SOCKETS; k++) {
        OK (zmq_setsockopt (sockets[k], ZMQ_LINGER, &linger, sizeof linger));
        OK (zmq_close (sockets[k]));
    }
    OK (zmq_ctx_term (ctx));
}

int main (int argc, char **argv)
{
    CHECK (argc == 5);
    out = fopen (argv[1], "w");
    CHECK (out != NULL);
    /* Line by line: a call that aborts (an assertion in libzmq) leaves the lines before it. */
    setvbuf (out, NULL, _IOLBF, 0);
    uint64_t first = strtoull (argv[2], NULL, 10);
    uint64_t seeds = strtoull (argv[3], NULL, 10);
    int calls = atoi (argv[4]);
    for (uint64_t seed = first; seed < first + seeds; seed++)
        run_seed (seed, calls);
    CHECK (fclose (out) == 0);
    return 0;
}
