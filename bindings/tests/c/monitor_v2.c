/* zmq_socket_monitor_versioned (draft): version 2 events over tcp, read through PAIR, SUB
 * and PULL monitor sockets, with their values and both endpoints; then
 * zmq_socket_monitor_pipes_stats: the messages queued per pipe. Checked as libzmq's
 * tests/test_monitor.cpp checks them. */
#define ZMQ_BUILD_DRAFT_API
#include "testutil.h"
#include <stdint.h>
#include <unistd.h>

typedef struct
{
    uint64_t event;
    uint64_t count;
    uint64_t values[4];
    char local[256];
    char remote[256];
} event_t;

static void copy_text (zmq_msg_t *msg, char *out)
{
    size_t n = zmq_msg_size (msg) < 255 ? zmq_msg_size (msg) : 255;
    memcpy (out, zmq_msg_data (msg), n);
    out[n] = 0;
}

/* Receives one version 2 event: every frame has its size and MORE flag checked. Returns 0
 * when none came within the monitor's RCVTIMEO. */
static int next_event (void *mon, event_t *e)
{
    zmq_msg_t msg;
    OK (zmq_msg_init (&msg));
    if (zmq_msg_recv (&msg, mon, 0) == -1) {
        CHECK (zmq_errno () == EAGAIN);
        return 0;
    }
    CHECK (zmq_msg_size (&msg) == 8 && zmq_msg_more (&msg));
    memcpy (&e->event, zmq_msg_data (&msg), 8);
    CHECK (zmq_msg_recv (&msg, mon, 0) == 8 && zmq_msg_more (&msg));
    memcpy (&e->count, zmq_msg_data (&msg), 8);
    CHECK (e->count >= 1 && e->count <= 4);
    for (uint64_t i = 0; i < e->count; i++) {
        CHECK (zmq_msg_recv (&msg, mon, 0) == 8 && zmq_msg_more (&msg));
        memcpy (&e->values[i], zmq_msg_data (&msg), 8);
    }
    OK (zmq_msg_recv (&msg, mon, 0));
    CHECK (zmq_msg_more (&msg));
    copy_text (&msg, e->local);
    OK (zmq_msg_recv (&msg, mon, 0));
    CHECK (!zmq_msg_more (&msg));
    copy_text (&msg, e->remote);
    OK (zmq_msg_close (&msg));
    return 1;
}

static void expect (void *mon, uint64_t want, event_t *e)
{
    CHECK (next_event (mon, e));
    if (e->event != want) {
        fprintf (stderr, "expected event 0x%llx, got 0x%llx (%s, %s)\n", (unsigned long long) want,
                 (unsigned long long) e->event, e->local, e->remote);
        exit (1);
    }
}

static void *monitor_reader (void *ctx, int type, const char *ep)
{
    int reader_type = type == ZMQ_PUB ? ZMQ_SUB : type == ZMQ_PUSH ? ZMQ_PULL : ZMQ_PAIR;
    void *mon = zmq_socket (ctx, reader_type);
    if (type == ZMQ_PUB)
        OK (zmq_setsockopt (mon, ZMQ_SUBSCRIBE, "", 0));
    int timeout = 5000;
    OK (zmq_setsockopt (mon, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
    OK (zmq_connect (mon, ep));
    return mon;
}

/* A DEALER pair over tcp, both monitored in version 2 through `type` sockets. */
static void basic (void *ctx, int type)
{
    char cmon_ep[64], smon_ep[64];
    snprintf (cmon_ep, sizeof cmon_ep, "inproc://v2-client-%d", type);
    snprintf (smon_ep, sizeof smon_ep, "inproc://v2-server-%d", type);
    void *client = zmq_socket (ctx, ZMQ_DEALER);
    void *server = zmq_socket (ctx, ZMQ_DEALER);
    OK (zmq_socket_monitor_versioned (client, cmon_ep, ZMQ_EVENT_ALL_V2, 2, type));
    OK (zmq_socket_monitor_versioned (server, smon_ep, ZMQ_EVENT_ALL_V2, 2, type));
    void *cmon = monitor_reader (ctx, type, cmon_ep);
    void *smon = monitor_reader (ctx, type, smon_ep);

    char ep[256];
    bind_tcp (server, ep, sizeof ep);
    OK (zmq_connect (client, ep));
    send_str (client, "ping", 0);
    recv_str (server, "ping");
    send_str (server, "pong", 0);
    recv_str (client, "pong");

    event_t e;
    /* The client: maybe CONNECT_DELAYED (nothing local yet), then CONNECTED from a local
     * tcp address of its own to the server's endpoint, with the descriptor as value. */
    CHECK (next_event (cmon, &e));
    if (e.event == ZMQ_EVENT_CONNECT_DELAYED) {
        CHECK (strcmp (e.local, "") == 0 && strcmp (e.remote, ep) == 0);
        CHECK (next_event (cmon, &e));
    }
    CHECK (e.event == ZMQ_EVENT_CONNECTED && e.count == 1 && e.values[0] > 2);
    CHECK (strcmp (e.remote, ep) == 0);
    CHECK (strncmp (e.local, "tcp://127.0.0.1:", 16) == 0 && strcmp (e.local, ep) != 0);
    char client_local[256];
    strcpy (client_local, e.local);
    expect (cmon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, &e);
    CHECK (e.count == 1 && e.values[0] == 0);
    CHECK (strcmp (e.local, client_local) == 0 && strcmp (e.remote, ep) == 0);

    /* The server: LISTENING names only the local end; ACCEPTED and HANDSHAKE_SUCCEEDED the
     * client's address as remote. */
    expect (smon, ZMQ_EVENT_LISTENING, &e);
    CHECK (e.count == 1 && e.values[0] > 2);
    CHECK (strcmp (e.local, ep) == 0 && strcmp (e.remote, "") == 0);
    expect (smon, ZMQ_EVENT_ACCEPTED, &e);
    CHECK (e.count == 1 && e.values[0] > 2);
    CHECK (strcmp (e.local, ep) == 0 && strcmp (e.remote, client_local) == 0);
    expect (smon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, &e);
    CHECK (strcmp (e.local, ep) == 0 && strcmp (e.remote, client_local) == 0);

    /* The server goes: the client sees DISCONNECTED (its local end still named), then
     * CONNECT_RETRIED with the interval and no local end. */
    int linger = 0;
    OK (zmq_setsockopt (server, ZMQ_LINGER, &linger, sizeof linger));
    OK (zmq_close (server));
    expect (cmon, ZMQ_EVENT_DISCONNECTED, &e);
    CHECK (strcmp (e.local, client_local) == 0 && strcmp (e.remote, ep) == 0);
    expect (cmon, ZMQ_EVENT_CONNECT_RETRIED, &e);
    CHECK (e.count == 1 && e.values[0] > 0 && strcmp (e.local, "") == 0 && strcmp (e.remote, ep) == 0);

    /* The server's monitor ends with MONITOR_STOPPED, naming nothing. */
    do {
        CHECK (next_event (smon, &e));
    } while (e.event != ZMQ_EVENT_MONITOR_STOPPED);
    CHECK (strcmp (e.local, "") == 0 && strcmp (e.remote, "") == 0);

    OK (zmq_setsockopt (client, ZMQ_LINGER, &linger, sizeof linger));
    OK (zmq_close (client));
    OK (zmq_close (cmon));
    OK (zmq_close (smon));
}

/* A PUSH bound over tcp to two PULLs: one is drained, the other not. The stats give the
 * undrained pipe a full SNDHWM queued outbound, the drained one none. */
static void pipes_stats (void *ctx)
{
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    OK (zmq_socket_monitor_versioned (push, "inproc://v2-stats", ZMQ_EVENT_PIPES_STATS, 2, ZMQ_PAIR));
    FAILS (zmq_socket_monitor_pipes_stats (push), EAGAIN);
    void *mon = monitor_reader (ctx, ZMQ_PAIR, "inproc://v2-stats");
    int hwm = 100, kernel_buffer = 4096;
    OK (zmq_setsockopt (push, ZMQ_SNDHWM, &hwm, sizeof hwm));
    OK (zmq_setsockopt (push, ZMQ_SNDBUF, &kernel_buffer, sizeof kernel_buffer));
    char ep[256];
    bind_tcp (push, ep, sizeof ep);
    void *pulls[2];
    for (int i = 0; i < 2; i++) {
        pulls[i] = zmq_socket (ctx, ZMQ_PULL);
        OK (zmq_setsockopt (pulls[i], ZMQ_RCVHWM, &hwm, sizeof hwm));
        OK (zmq_setsockopt (pulls[i], ZMQ_RCVBUF, &kernel_buffer, sizeof kernel_buffer));
        int timeout = 100;
        OK (zmq_setsockopt (pulls[i], ZMQ_RCVTIMEO, &timeout, sizeof timeout));
        OK (zmq_connect (pulls[i], ep));
    }
    /* Until pull 1 got one, so both pipes are up before the flood. */
    char buf[16];
    do
        send_str (push, "hello", 0);
    while (zmq_recv (pulls[1], buf, sizeof buf, 0) != 5);
    /* Fill both pipes: messages until the PUSH would block, again and again until the
     * receivers have stopped reading, so each sending pipe is at its high water mark. Small
     * kernel buffers (as libzmq's test) make that quick. */
    static char data[8 * 1024];
    int sent = 0, more;
    do {
        more = 0;
        while (zmq_send (push, data, sizeof data, ZMQ_DONTWAIT) == (int) sizeof data)
            more++;
        CHECK (zmq_errno () == EAGAIN);
        sent += more;
        usleep (100 * 1000);
    } while (more > 0);
    CHECK (sent >= 2 * hwm);
    /* Drain pull 0 completely: until nothing came for a second (a loaded machine may
     * pause the flow from the PUSH's queue for longer than the 100 ms above). */
    int drain_timeout = 1000;
    OK (zmq_setsockopt (pulls[0], ZMQ_RCVTIMEO, &drain_timeout, sizeof drain_timeout));
    while (zmq_recv (pulls[0], data, sizeof data, 0) >= 0)
        ;
    usleep (100 * 1000);
    size_t dummy_size = sizeof (int);
    int dummy;
    OK (zmq_getsockopt (push, ZMQ_EVENTS, &dummy, &dummy_size));
    OK (zmq_socket_monitor_pipes_stats (push));

    int drained = 0, full = 0;
    for (int i = 0; i < 2; i++) {
        event_t e;
        expect (mon, ZMQ_EVENT_PIPES_STATS, &e);
        CHECK (e.count == 2);
        CHECK (strcmp (e.local, ep) == 0);
        CHECK (strncmp (e.remote, "tcp://127.0.0.1:", 16) == 0 && strcmp (e.remote, ep) != 0);
        CHECK (e.values[1] == 0); /* a PUSH receives nothing */
        /* As the high water mark counts them (libzmq's rule): the full pipe's reader is
         * stuck, so it shows exactly the HWM; the drained one none. */
        if (e.values[0] == 0)
            drained++;
        else if (e.values[0] == (uint64_t) hwm)
            full++;
        else
            fprintf (stderr, "pipe to %s: outbound %llu\n", e.remote, (unsigned long long) e.values[0]);
    }
    CHECK (drained == 1 && full == 1);

    /* Inbound: a PULL that has not read what its peer sent shows it all queued. */
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    OK (zmq_socket_monitor_versioned (pull, "inproc://v2-stats-in", ZMQ_EVENT_ALL_V2, 2, ZMQ_PUSH));
    void *pull_mon = monitor_reader (ctx, ZMQ_PUSH, "inproc://v2-stats-in");
    char pull_ep[256];
    bind_tcp (pull, pull_ep, sizeof pull_ep);
    void *pusher = zmq_socket (ctx, ZMQ_PUSH);
    OK (zmq_connect (pusher, pull_ep));
    for (int i = 0; i < 30; i++)
        send_str (pusher, "queued", 0);
    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    CHECK (zmq_poll (&item, 1, 5000) == 1);
    usleep (100 * 1000);
    OK (zmq_socket_monitor_pipes_stats (pull));
    event_t e;
    do
        CHECK (next_event (pull_mon, &e));
    while (e.event != ZMQ_EVENT_PIPES_STATS);
    CHECK (e.count == 2 && e.values[0] == 0 && e.values[1] == 30);
    CHECK (strcmp (e.local, pull_ep) == 0 && strncmp (e.remote, "tcp://127.0.0.1:", 16) == 0);

    int linger = 0;
    OK (zmq_close (pusher));
    OK (zmq_setsockopt (pull, ZMQ_LINGER, &linger, sizeof linger));
    OK (zmq_close (pull));
    OK (zmq_close (pull_mon));
    for (int i = 0; i < 2; i++) {
        OK (zmq_setsockopt (pulls[i], ZMQ_LINGER, &linger, sizeof linger));
        OK (zmq_close (pulls[i]));
    }
    OK (zmq_setsockopt (push, ZMQ_LINGER, &linger, sizeof linger));
    OK (zmq_close (push));
    OK (zmq_close (mon));
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *s = zmq_socket (ctx, ZMQ_DEALER);
    /* libzmq's errors: a type that cannot send events, events beyond 16 bits in version 1,
     * a transport other than inproc; stats without a monitor taking them. */
    FAILS (zmq_socket_monitor_versioned (s, "inproc://bad", 0, 2, ZMQ_DEALER), EINVAL);
    FAILS (zmq_socket_monitor_versioned (s, "inproc://bad", ZMQ_EVENT_ALL_V2, 1, ZMQ_PAIR), EINVAL);
    FAILS (zmq_socket_monitor_versioned (s, "tcp://127.0.0.1:*", ZMQ_EVENT_ALL, 2, ZMQ_PAIR), EPROTONOSUPPORT);
    FAILS (zmq_socket_monitor_pipes_stats (NULL), ENOTSOCK);
    FAILS (zmq_socket_monitor_pipes_stats (s), EINVAL);
    OK (zmq_socket_monitor_versioned (s, "inproc://v1", ZMQ_EVENT_ALL, 2, ZMQ_PAIR));
    FAILS (zmq_socket_monitor_pipes_stats (s), EINVAL);
    OK (zmq_socket_monitor_versioned (s, NULL, 0, 2, ZMQ_PAIR));
    OK (zmq_close (s));

    basic (ctx, ZMQ_PAIR);
    basic (ctx, ZMQ_PUB);
    basic (ctx, ZMQ_PUSH);
    pipes_stats (ctx);
    OK (zmq_ctx_term (ctx));
    printf ("monitor_v2: ok\n");
    return 0;
}
