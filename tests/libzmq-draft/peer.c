/* A libzmq peer for libsock's draft socket interop tests, built against libzmq 4.3 with
 * ZMQ_BUILD_DRAFT_API (see build.rs). Usage:
 *
 *   draft_peer server  ENDPOINT COUNT         binds; answers COUNT requests with "re:" + body
 *   draft_peer client  ENDPOINT COUNT         connects; sends "req-I", expects "re:req-I"
 *   draft_peer dish    ENDPOINT COUNT GROUP   connects; joins GROUP, prints COUNT "group body"
 *   draft_peer radio   ENDPOINT COUNT GROUP   binds; sends "GROUP-I" to GROUP and "noise" to
 *                                             group "other" every 20 ms until stdin closes
 *   draft_peer udp-radio ENDPOINT COUNT GROUP connects over udp; sends like radio
 *   draft_peer udp-dish ENDPOINT COUNT GROUP  binds over udp, prints "bound", then like dish
 *   draft_peer gather  ENDPOINT COUNT         binds; prints COUNT bodies
 *   draft_peer scatter ENDPOINT COUNT         connects; sends "part-I"
 *   draft_peer hello-server ENDPOINT COUNT    binds a SERVER with HELLO_MSG "W" and
 *                                             DISCONNECT_MSG "D"; prints COUNT
 *                                             "body routing-id" lines
 *   draft_peer hello-client ENDPOINT COUNT    connects a CLIENT with HELLO_MSG "H"; prints
 *                                             COUNT messages, sends "bye" and closes
 *   draft_peer peer-bind ENDPOINT COUNT       binds a PEER; answers COUNT messages with
 *                                             "re:" + body to the routing id they came from
 *   draft_peer peer-connect ENDPOINT COUNT    zmq_connect_peer from a PEER; sends "req-I" to
 *                                             the id it gave, expects "re:req-I" from it
 *   draft_peer channel-bind ENDPOINT COUNT    binds a CHANNEL; answers COUNT messages
 *   draft_peer channel-connect ENDPOINT COUNT connects a CHANNEL; sends "req-I", expects
 *                                             "re:req-I"
 *   draft_peer dgram-echo ENDPOINT COUNT      binds a DGRAM over udp, prints "bound", answers
 *                                             each message to the address it came from with
 *                                             "re:" + body until the body "stop"
 *   draft_peer dgram-ask ENDPOINT COUNT TARGET binds a DGRAM, sends "req-I" to TARGET
 *                                             ("ip:port"), expects "re:req-I" from TARGET
 *   draft_peer curve-rep ENDPOINT COUNT SECRET binds a REP as the CURVE server of the Z85
 *                                             key SECRET, pinging every millisecond; echoes
 *                                             COUNT requests
 *   draft_peer curve-req ENDPOINT COUNT SERVERKEY connects a REQ as a CURVE client of
 *                                             SERVERKEY, pinging every millisecond; sends
 *                                             COUNT numbered requests (see numbered()),
 *                                             expects each back as it went
 *   draft_peer curve-push ENDPOINT COUNT SERVERKEY connects a PUSH as a CURVE client,
 *                                             pinging every millisecond; sends COUNT
 *                                             numbered messages, then stays until stdin
 *                                             closes (closing, a libzmq PUSH with heartbeats
 *                                             drops what it still queues)
 *
 * A binding peer prints its resolved endpoint on the first line. Receives time out after
 * 10 s; any failure exits non-zero with a message on stderr.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static void die (const char *what)
{
    fprintf (stderr, "draft_peer: %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (2);
}

/* Sets the timeouts and LINGER, then binds (printing the endpoint) or connects. */
static void *attach_socket (void *s, const char *endpoint, int bind)
{
    int timeout = 10000, linger = 1000;
    zmq_setsockopt (s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (s, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
    if (bind) {
        if (zmq_bind (s, endpoint) != 0)
            die ("zmq_bind");
        char last[256];
        size_t len = sizeof last;
        zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, last, &len);
        printf ("%s\n", last);
        fflush (stdout);
    } else if (zmq_connect (s, endpoint) != 0)
        die ("zmq_connect");
    return s;
}

/* A socket of `type` with the draft option HELLO_MSG (and DISCONNECT_MSG) set first. */
static void *open_greeting (void *ctx, int type, const char *endpoint, int bind, const char *hello,
                            const char *disconnect)
{
    void *s = zmq_socket (ctx, type);
    if (!s)
        die ("zmq_socket");
    if (zmq_setsockopt (s, ZMQ_HELLO_MSG, hello, strlen (hello)) != 0)
        die ("ZMQ_HELLO_MSG");
    if (disconnect && zmq_setsockopt (s, ZMQ_DISCONNECT_MSG, disconnect, strlen (disconnect)) != 0)
        die ("ZMQ_DISCONNECT_MSG");
    return attach_socket (s, endpoint, bind);
}

static void *open_socket (void *ctx, int type, const char *endpoint, int bind)
{
    void *s = zmq_socket (ctx, type);
    if (!s)
        die ("zmq_socket");
    return attach_socket (s, endpoint, bind);
}

static int recv_text (void *s, zmq_msg_t *msg, char *buf, size_t cap)
{
    zmq_msg_init (msg);
    if (zmq_msg_recv (msg, s, 0) < 0)
        die ("zmq_msg_recv");
    size_t n = zmq_msg_size (msg);
    if (n >= cap)
        n = cap - 1;
    memcpy (buf, zmq_msg_data (msg), n);
    buf[n] = 0;
    return (int) n;
}

static void send_text (void *s, const char *text, uint32_t routing_id, const char *group)
{
    zmq_msg_t msg;
    zmq_msg_init_size (&msg, strlen (text));
    memcpy (zmq_msg_data (&msg), text, strlen (text));
    if (routing_id && zmq_msg_set_routing_id (&msg, routing_id) != 0)
        die ("zmq_msg_set_routing_id");
    if (group && zmq_msg_set_group (&msg, group) != 0)
        die ("zmq_msg_set_group");
    if (zmq_msg_send (&msg, s, 0) < 0)
        die ("zmq_msg_send");
}

/* Request I of the CURVE modes: "req-I", then padding up to a size that varies with I
 * (up to 9 KiB, across libsock's direct sides' limit). Returns its length. */
static size_t numbered (int i, char *buf, size_t cap)
{
    size_t n = (size_t) snprintf (buf, cap, "req-%d", i);
    size_t size = n + (size_t) (i * 131) % 9000;
    if (size >= cap)
        size = cap - 1;
    memset (buf + n, 'a' + i % 26, size - n);
    return size;
}

/* A socket of `type` for the CURVE modes: heartbeats every millisecond (answered within
 * 5 s), then bound or connected. */
static void *open_curve (void *ctx, int type, const char *endpoint, int server, const char *key)
{
    void *s = zmq_socket (ctx, type);
    if (!s)
        die ("zmq_socket");
    int ivl = 1, timeout = 5000;
    zmq_setsockopt (s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt (s, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    if (server) {
        if (zmq_setsockopt (s, ZMQ_CURVE_SERVER, &server, sizeof server) != 0
            || zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, key, 40) != 0)
            die ("CURVE server options");
    } else {
        char public[41], secret[41];
        if (zmq_curve_keypair (public, secret) != 0)
            die ("zmq_curve_keypair");
        if (zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, key, 40) != 0
            || zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, public, 40) != 0
            || zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, secret, 40) != 0)
            die ("CURVE client options");
    }
    return attach_socket (s, endpoint, server);
}

static int stdin_closed (int wait_ms)
{
    struct pollfd p = {0, POLLIN, 0};
    if (poll (&p, 1, wait_ms) <= 0)
        return 0;
    char c;
    return read (0, &c, 1) <= 0;
}

int main (int argc, char **argv)
{
    if (argc < 4) {
        fprintf (stderr, "usage: draft_peer MODE ENDPOINT COUNT [GROUP]\n");
        return 1;
    }
    const char *mode = argv[1], *endpoint = argv[2];
    int count = atoi (argv[3]);
    const char *group = argc > 4 ? argv[4] : "";
    void *ctx = zmq_ctx_new ();
    char buf[512], want[512];
    zmq_msg_t msg;

    if (!strcmp (mode, "server")) {
        void *s = open_socket (ctx, ZMQ_SERVER, endpoint, 1);
        for (int i = 0; i < count; i++) {
            recv_text (s, &msg, buf, sizeof buf);
            uint32_t id = zmq_msg_routing_id (&msg);
            zmq_msg_close (&msg);
            if (id == 0) {
                fprintf (stderr, "draft_peer: request without routing id\n");
                return 3;
            }
            snprintf (want, sizeof want, "re:%s", buf);
            send_text (s, want, id, NULL);
        }
        zmq_close (s);
    } else if (!strcmp (mode, "client")) {
        void *s = open_socket (ctx, ZMQ_CLIENT, endpoint, 0);
        for (int i = 0; i < count; i++) {
            snprintf (buf, sizeof buf, "req-%d", i);
            send_text (s, buf, 0, NULL);
            recv_text (s, &msg, buf, sizeof buf);
            zmq_msg_close (&msg);
            snprintf (want, sizeof want, "re:req-%d", i);
            if (strcmp (buf, want)) {
                fprintf (stderr, "draft_peer: got %s, want %s\n", buf, want);
                return 3;
            }
        }
        printf ("ok\n");
        zmq_close (s);
    } else if (!strcmp (mode, "dish")) {
        void *s = open_socket (ctx, ZMQ_DISH, endpoint, 0);
        if (zmq_join (s, group) != 0)
            die ("zmq_join");
        for (int i = 0; i < count; i++) {
            recv_text (s, &msg, buf, sizeof buf);
            printf ("%s %s\n", zmq_msg_group (&msg), buf);
            fflush (stdout);
            zmq_msg_close (&msg);
        }
        zmq_close (s);
    } else if (!strcmp (mode, "radio")) {
        void *s = open_socket (ctx, ZMQ_RADIO, endpoint, 1);
        for (int i = 0; !stdin_closed (20); i++) {
            snprintf (buf, sizeof buf, "%s-%d", group, i);
            send_text (s, buf, 0, group);
            send_text (s, "noise", 0, "other");
        }
        zmq_close (s);
    } else if (!strcmp (mode, "udp-radio")) {
        void *s = open_socket (ctx, ZMQ_RADIO, endpoint, 0);
        for (int i = 0; !stdin_closed (20); i++) {
            snprintf (buf, sizeof buf, "%s-%d", group, i);
            send_text (s, buf, 0, group);
            send_text (s, "noise", 0, "other");
        }
        zmq_close (s);
    } else if (!strcmp (mode, "udp-dish")) {
        void *s = zmq_socket (ctx, ZMQ_DISH);
        int timeout = 10000, linger = 0;
        zmq_setsockopt (s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_bind (s, endpoint) != 0)
            die ("zmq_bind");
        if (zmq_join (s, group) != 0)
            die ("zmq_join");
        printf ("bound\n");
        fflush (stdout);
        for (int i = 0; i < count; i++) {
            recv_text (s, &msg, buf, sizeof buf);
            printf ("%s %s\n", zmq_msg_group (&msg), buf);
            fflush (stdout);
            zmq_msg_close (&msg);
        }
        zmq_close (s);
    } else if (!strcmp (mode, "gather")) {
        void *s = open_socket (ctx, ZMQ_GATHER, endpoint, 1);
        for (int i = 0; i < count; i++) {
            recv_text (s, &msg, buf, sizeof buf);
            printf ("%s\n", buf);
            fflush (stdout);
            zmq_msg_close (&msg);
        }
        zmq_close (s);
    } else if (!strcmp (mode, "scatter")) {
        void *s = open_socket (ctx, ZMQ_SCATTER, endpoint, 0);
        for (int i = 0; i < count; i++) {
            snprintf (buf, sizeof buf, "part-%d", i);
            send_text (s, buf, 0, NULL);
        }
        zmq_close (s);
    } else if (!strcmp (mode, "hello-server")) {
        void *s = open_greeting (ctx, ZMQ_SERVER, endpoint, 1, "W", "D");
        for (int i = 0; i < count; i++) {
            recv_text (s, &msg, buf, sizeof buf);
            printf ("%s %u\n", buf, zmq_msg_routing_id (&msg));
            fflush (stdout);
            zmq_msg_close (&msg);
        }
        zmq_close (s);
    } else if (!strcmp (mode, "hello-client")) {
        void *s = open_greeting (ctx, ZMQ_CLIENT, endpoint, 0, "H", NULL);
        for (int i = 0; i < count; i++) {
            recv_text (s, &msg, buf, sizeof buf);
            printf ("%s\n", buf);
            fflush (stdout);
            zmq_msg_close (&msg);
        }
        send_text (s, "bye", 0, NULL);
        zmq_close (s);
    } else if (!strcmp (mode, "peer-bind") || !strcmp (mode, "channel-bind")) {
        int peer = !strcmp (mode, "peer-bind");
        void *s = open_socket (ctx, peer ? ZMQ_PEER : ZMQ_CHANNEL, endpoint, 1);
        for (int i = 0; i < count; i++) {
            recv_text (s, &msg, buf, sizeof buf);
            uint32_t id = zmq_msg_routing_id (&msg);
            zmq_msg_close (&msg);
            if (peer && id == 0) {
                fprintf (stderr, "draft_peer: message without routing id\n");
                return 3;
            }
            snprintf (want, sizeof want, "re:%s", buf);
            send_text (s, want, peer ? id : 0, NULL);
        }
        zmq_close (s);
    } else if (!strcmp (mode, "peer-connect") || !strcmp (mode, "channel-connect")) {
        int peer = !strcmp (mode, "peer-connect");
        void *s;
        uint32_t id = 0;
        if (peer) {
            s = zmq_socket (ctx, ZMQ_PEER);
            int timeout = 10000, linger = 1000;
            zmq_setsockopt (s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
            zmq_setsockopt (s, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
            zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
            id = zmq_connect_peer (s, endpoint);
            if (id == 0)
                die ("zmq_connect_peer");
        } else
            s = open_socket (ctx, ZMQ_CHANNEL, endpoint, 0);
        for (int i = 0; i < count; i++) {
            snprintf (buf, sizeof buf, "req-%d", i);
            send_text (s, buf, id, NULL);
            recv_text (s, &msg, buf, sizeof buf);
            uint32_t from = zmq_msg_routing_id (&msg);
            zmq_msg_close (&msg);
            snprintf (want, sizeof want, "re:req-%d", i);
            if (strcmp (buf, want) || from != id) {
                fprintf (stderr, "draft_peer: got %s from %u, want %s from %u\n", buf, from, want, id);
                return 3;
            }
        }
        zmq_close (s);
    } else if (!strcmp (mode, "dgram-echo")) {
        void *s = zmq_socket (ctx, ZMQ_DGRAM);
        int timeout = 10000, linger = 0;
        zmq_setsockopt (s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_bind (s, endpoint) != 0)
            die ("zmq_bind");
        printf ("bound\n");
        fflush (stdout);
        char from[128];
        for (;;) {
            /* The address frame is sent back as received (libzmq's ends with a NUL). */
            zmq_msg_init (&msg);
            if (zmq_msg_recv (&msg, s, 0) < 0)
                die ("zmq_msg_recv");
            size_t from_len = zmq_msg_size (&msg);
            if (from_len > sizeof from)
                from_len = sizeof from;
            memcpy (from, zmq_msg_data (&msg), from_len);
            zmq_msg_close (&msg);
            recv_text (s, &msg, buf, sizeof buf);
            zmq_msg_close (&msg);
            snprintf (want, sizeof want, "re:%s", buf);
            if (zmq_send (s, from, from_len, ZMQ_SNDMORE) < 0 || zmq_send (s, want, strlen (want), 0) < 0)
                die ("zmq_send");
            if (!strcmp (buf, "stop"))
                break;
        }
        zmq_close (s);
    } else if (!strcmp (mode, "dgram-ask")) {
        void *s = zmq_socket (ctx, ZMQ_DGRAM);
        int timeout = 10000, linger = 1000;
        zmq_setsockopt (s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_bind (s, endpoint) != 0)
            die ("zmq_bind");
        for (int i = 0; i < count; i++) {
            snprintf (buf, sizeof buf, "req-%d", i);
            if (zmq_send (s, group, strlen (group), ZMQ_SNDMORE) < 0 || zmq_send (s, buf, strlen (buf), 0) < 0)
                die ("zmq_send");
            char from[128];
            recv_text (s, &msg, from, sizeof from);
            zmq_msg_close (&msg);
            recv_text (s, &msg, buf, sizeof buf);
            zmq_msg_close (&msg);
            snprintf (want, sizeof want, "re:req-%d", i);
            if (strcmp (buf, want) || strcmp (from, group)) {
                fprintf (stderr, "draft_peer: got %s from %s, want %s from %s\n", buf, from, want, group);
                return 3;
            }
        }
        zmq_close (s);
    } else if (!strcmp (mode, "curve-rep")) {
        void *s = open_curve (ctx, ZMQ_REP, endpoint, 1, group);
        for (int i = 0; i < count; i++) {
            zmq_msg_init (&msg);
            if (zmq_msg_recv (&msg, s, 0) < 0)
                die ("zmq_msg_recv");
            if (zmq_msg_send (&msg, s, 0) < 0)
                die ("zmq_msg_send");
        }
        zmq_close (s);
    } else if (!strcmp (mode, "curve-push")) {
        void *s = open_curve (ctx, ZMQ_PUSH, endpoint, 0, group);
        static char body[10000];
        for (int i = 0; i < count; i++) {
            size_t n = numbered (i, body, sizeof body);
            if (zmq_send (s, body, n, 0) < 0)
                die ("zmq_send");
        }
        printf ("sent\n");
        fflush (stdout);
        while (!stdin_closed (100)) {
        }
        zmq_close (s);
    } else if (!strcmp (mode, "curve-req")) {
        void *s = open_curve (ctx, ZMQ_REQ, endpoint, 0, group);
        static char request[10000];
        for (int i = 0; i < count; i++) {
            size_t n = numbered (i, request, sizeof request);
            if (zmq_send (s, request, n, 0) < 0)
                die ("zmq_send");
            zmq_msg_init (&msg);
            if (zmq_msg_recv (&msg, s, 0) < 0)
                die ("zmq_msg_recv");
            if (zmq_msg_size (&msg) != n || memcmp (zmq_msg_data (&msg), request, n)) {
                fprintf (stderr, "draft_peer: reply %d is not the request\n", i);
                return 3;
            }
            zmq_msg_close (&msg);
        }
        printf ("ok\n");
        zmq_close (s);
    } else {
        fprintf (stderr, "draft_peer: unknown mode %s\n", mode);
        return 1;
    }
    zmq_ctx_term (ctx);
    return 0;
}
