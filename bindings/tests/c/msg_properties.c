/* What zmq_msg_gets(3) and zmq_msg_get(3) say of a received message: for every pair of
 * socket types that talk, over tcp, ipc and inproc, a message each way, then each property
 * name (those libzmq sets, X-Foo that ZMQ_METADATA sets, other cases of them, unknown ones)
 * and ZMQ_MORE / ZMQ_SHARED / ZMQ_SRCFD (whether one, not which). One line per question,
 * written to the file named by the first argument. Built and run on libsock and on the system's libzmq; c_api.rs
 * compares the two outputs line by line. */
#include "testutil.h"
#include <errno.h>
#include <unistd.h>

static FILE *out;

/* ZMQ_METADATA, a draft option: the stable zmq.h does not name it. */
#define METADATA 95

struct pair
{
    int a, b;
    const char *a_id;
};

static const struct pair pairs[] = {
  {ZMQ_PAIR, ZMQ_PAIR, NULL},   {ZMQ_PUSH, ZMQ_PULL, NULL},     {ZMQ_REQ, ZMQ_REP, "req"},
  {ZMQ_DEALER, ZMQ_ROUTER, "d"}, {ZMQ_DEALER, ZMQ_DEALER, NULL}, {ZMQ_PUB, ZMQ_SUB, NULL},
  {ZMQ_XPUB, ZMQ_XSUB, NULL},    {ZMQ_DEALER, ZMQ_REP, "dr"},    {ZMQ_REQ, ZMQ_ROUTER, NULL},
};

static const char *const names[] = {
  "Socket-Type", "socket-type", "SOCKET-TYPE", "Identity", "Routing-Id", "Peer-Address",
  "User-Id",     "X-Foo",       "",            "Resource", "Socket-Type ", "Peer-address",
};

static void ask (zmq_msg_t *msg, const char *what)
{
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        errno = 0;
        const char *v = zmq_msg_gets (msg, names[i]);
        const char *pid = v ? strrchr (v, ':') : NULL;
        /* An ipc peer's address is localhost:uid:gid:pid: this process's pid varies. */
        if (v && strncmp (v, "localhost:", 10) == 0 && pid && atoi (pid + 1) == (int) getpid ())
            fprintf (out, "  %s gets '%s' = '%.*s:<pid>'\n", what, names[i], (int) (pid - v), v);
        else if (v)
            fprintf (out, "  %s gets '%s' = '%s'\n", what, names[i], v);
        else
            fprintf (out, "  %s gets '%s' -> NULL %d\n", what, names[i], zmq_errno ());
    }
    fprintf (out, "  %s more %d shared %d srcfd %s\n", what, zmq_msg_get (msg, ZMQ_MORE),
             zmq_msg_get (msg, ZMQ_SHARED), zmq_msg_get (msg, ZMQ_SRCFD) >= 0 ? "yes" : "no");
}

/* Receives every frame of one message on `s` and asks about each. */
static void receive (void *s, const char *who)
{
    int more = 1;
    for (int frame = 0; more; frame++) {
        zmq_msg_t msg;
        OK (zmq_msg_init (&msg));
        int n = zmq_msg_recv (&msg, s, 0);
        CHECK (n >= 0);
        fprintf (out, " %s frame %d: %d bytes\n", who, frame, n);
        char what[32];
        snprintf (what, sizeof what, "%s/%d", who, frame);
        ask (&msg, what);
        more = zmq_msg_more (&msg);
        OK (zmq_msg_close (&msg));
    }
}

static void run_pair (void *ctx, const struct pair *p, const char *transport, int n)
{
    void *a = zmq_socket (ctx, p->a), *b = zmq_socket (ctx, p->b);
    CHECK (a && b);
    int zero = 0;
    OK (zmq_setsockopt (a, ZMQ_LINGER, &zero, sizeof zero));
    OK (zmq_setsockopt (b, ZMQ_LINGER, &zero, sizeof zero));
    if (p->a_id)
        OK (zmq_setsockopt (a, ZMQ_ROUTING_ID, p->a_id, strlen (p->a_id)));
    /* Application metadata both ways (ZMQ_METADATA, a draft option both libraries take). */
    OK (zmq_setsockopt (a, METADATA, "X-Foo:from a", 12));
    OK (zmq_setsockopt (b, METADATA, "X-Foo:from b", 12));
    if (p->b == ZMQ_SUB)
        OK (zmq_setsockopt (b, ZMQ_SUBSCRIBE, "", 0));
    char ep[256];
    if (strcmp (transport, "tcp") == 0)
        snprintf (ep, sizeof ep, "tcp://127.0.0.1:*");
    else if (strcmp (transport, "ipc") == 0)
        snprintf (ep, sizeof ep, "ipc://@msg-properties-%d-%d", (int) getpid (), n);
    else
        snprintf (ep, sizeof ep, "inproc://msg-properties-%d", n);
    OK (zmq_bind (b, ep));
    size_t len = sizeof ep;
    OK (zmq_getsockopt (b, ZMQ_LAST_ENDPOINT, ep, &len));
    OK (zmq_connect (a, ep));
    fprintf (out, "pair %d/%d over %s\n", p->a, p->b, transport);
    if (p->a == ZMQ_XPUB) {
        /* The subscription reaches the XPUB first: the XSUB sends it once it has taken the
         * connection, which it does when it next looks at its commands (ZMQ_EVENTS). */
        OK (zmq_send (b, "\1", 1, 0));
        zmq_pollitem_t item = {a, 0, ZMQ_POLLIN, 0};
        while (zmq_poll (&item, 1, 20) == 0) {
            int events;
            size_t size = sizeof events;
            OK (zmq_getsockopt (b, ZMQ_EVENTS, &events, &size));
        }
        receive (a, "xpub");
    }
    if (p->a == ZMQ_PUB || p->a == ZMQ_XPUB) {
        /* Publish until the subscription has arrived. */
        while (1) {
            OK (zmq_send (a, "hello", 5, ZMQ_SNDMORE));
            OK (zmq_send (a, "world", 5, 0));
            zmq_pollitem_t item = {b, 0, ZMQ_POLLIN, 0};
            if (zmq_poll (&item, 1, 50) == 1)
                break;
        }
        receive (b, "b");
        OK (zmq_close (a));
        OK (zmq_close (b));
        return;
    }
    /* A DEALER talks to a REP through an envelope: its delimiter. */
    if (p->a == ZMQ_DEALER && p->b == ZMQ_REP)
        OK (zmq_send (a, "", 0, ZMQ_SNDMORE));
    OK (zmq_send (a, "hello", 5, ZMQ_SNDMORE));
    OK (zmq_send (a, "world", 5, 0));
    receive (b, "b");
    /* The reply, where the pattern has one without a routing envelope to write. */
    if (p->b != ZMQ_PULL && p->b != ZMQ_ROUTER) {
        OK (zmq_send (b, "back", 4, 0));
        receive (a, "a");
    }
    OK (zmq_close (a));
    OK (zmq_close (b));
}

int main (int argc, char **argv)
{
    CHECK (argc == 2);
    out = fopen (argv[1], "w");
    CHECK (out != NULL);
    setvbuf (out, NULL, _IOLBF, 0);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    const char *transports[] = {"tcp", "ipc", "inproc"};
    int n = 0;
    for (size_t t = 0; t < 3; t++)
        for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++)
            run_pair (ctx, &pairs[p], transports[t], n++);
    /* A message no socket made. */
    zmq_msg_t msg;
    OK (zmq_msg_init_size (&msg, 3));
    fprintf (out, "a message of zmq_msg_init_size\n");
    ask (&msg, "own");
    OK (zmq_msg_close (&msg));
    OK (zmq_ctx_term (ctx));
    fclose (out);
    printf ("msg properties done\n");
    return 0;
}
