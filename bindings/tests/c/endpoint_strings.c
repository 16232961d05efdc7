/* Endpoint strings as zmq_bind(3), zmq_connect(3), zmq_unbind(3) and zmq_disconnect(3) take
 * them: transports, separators, tcp hosts and ports, ipc paths and inproc names, each tried on
 * fresh sockets. One line per call, "<call> '<endpoint>' -> <rc> <errno>", and after a bind
 * the socket's ZMQ_LAST_ENDPOINT (a wildcard port or path written as * so that the two runs
 * agree) and the events its monitor had by then, written to the file named by the first
 * argument. Built and run on libsock and on
 * the system's libzmq; c_api.rs compares the two outputs line by line.
 *
 * Binds get port 0, a wildcard, or a port libsock refuses (libzmq reads some of those with
 * atoi: 99999 binds 34463, 5x binds 5), so that libsock's run takes no fixed port another
 * test might hold; connects get any port (nothing listens). */
#include "testutil.h"
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

static FILE *out;
static void *ctx;

static void result (const char *call, const char *ep, int rc)
{
    fprintf (out, "%s '%s' -> %d %d", call, ep, rc, rc == -1 ? zmq_errno () : 0);
}

/* ZMQ_LAST_ENDPOINT; after a bind (`bound`) with what varies between runs (an ephemeral
 * port, a generated ipc path) replaced by '*'. */
static void last_endpoint (void *s, const char *bound, char *ep, size_t size)
{
    size_t len = size;
    if (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &len) != 0) {
        fprintf (out, " last error %d", zmq_errno ());
        ep[0] = 0;
        return;
    }
    char shown[1024];
    snprintf (shown, sizeof shown, "%s", ep);
    if (bound == NULL)
        ;
    else if (strncmp (shown, "tcp://", 6) == 0) {
        char *colon = strrchr (shown, ':');
        if (colon && colon[1] != 0)
            strcpy (colon + 1, "*");
    } else if (strncmp (shown, "ws://", 5) == 0) {
        /* ws://host:port/path: the port only */
        char *colon = strrchr (shown, ':');
        char *slash = colon ? strchr (colon, '/') : NULL;
        if (colon && slash) {
            char path[512];
            snprintf (path, sizeof path, "%s", slash);
            snprintf (colon + 1, sizeof shown - (size_t) (colon + 1 - shown), "*%s", path);
        }
    } else if (strcmp (bound, "ipc://*") == 0)
        strcpy (shown + 6, "*");
    fprintf (out, " last '%s'", shown);
}

static void *fresh (int type)
{
    void *s = zmq_socket (ctx, type);
    CHECK (s);
    int zero = 0;
    OK (zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero));
    return s;
}

/* The events `monitor` holds now: " events" and each event's number, with the errno of a
 * BIND_FAILED and the endpoint it names (the others name an address that varies). */
static void events (void *monitor)
{
    fprintf (out, " events");
    zmq_msg_t frame;
    OK (zmq_msg_init (&frame));
    while (zmq_msg_recv (&frame, monitor, ZMQ_DONTWAIT) == 6) {
        uint16_t event;
        uint32_t value;
        memcpy (&event, zmq_msg_data (&frame), 2);
        memcpy (&value, (char *) zmq_msg_data (&frame) + 2, 4);
        int n = zmq_msg_recv (&frame, monitor, 0);
        CHECK (n >= 0);
        fprintf (out, " %d", event);
        if (event == ZMQ_EVENT_BIND_FAILED)
            fprintf (out, "(%u '%.*s')", value, n, (char *) zmq_msg_data (&frame));
    }
    OK (zmq_msg_close (&frame));
}

/* Binds a fresh PULL to `ep`; if that worked, unbinds it by the same string, then (when that
 * failed) by its last endpoint. Then (but after an ipc path was bound) binds another one,
 * watched by a monitor, and writes the events that bind made: a line of its own, as libzmq
 * 4.3.4 overwrites the errno of a bind that failed with EAGAIN when the socket has a
 * monitor. */
static void try_bind (const char *ep)
{
    int watch = 1;
    void *s = fresh (ZMQ_PULL);
    int rc = zmq_bind (s, ep);
    result ("bind", ep, rc);
    /* An ipc path that was bound may still be, as libzmq closes a listener in the
     * background. */
    if (rc == 0 && strncmp (ep, "ipc://", 6) == 0)
        watch = 0;
    if (rc == 0) {
        char last[512];
        last_endpoint (s, ep, last, sizeof last);
        fprintf (out, "\n");
        rc = zmq_unbind (s, ep);
        result ("  unbind", ep, rc);
        if (rc != 0 && last[0]) {
            fprintf (out, "; by last");
            rc = zmq_unbind (s, last);
            fprintf (out, " -> %d %d", rc, rc == -1 ? zmq_errno () : 0);
        }
        /* What ZMQ_LAST_ENDPOINT says once the endpoint is gone. */
        char after[512];
        last_endpoint (s, ep, after, sizeof after);
    } else {
        fprintf (out, "\n");
        rc = zmq_unbind (s, ep);
        result ("  unbind", ep, rc);
    }
    fprintf (out, "\n");
    OK (zmq_close (s));
    if (!watch)
        return;
    static int monitors;
    s = fresh (ZMQ_PULL);
    char monitor_ep[64];
    snprintf (monitor_ep, sizeof monitor_ep, "inproc://endpoint-strings-monitor-%d", monitors++);
    OK (zmq_socket_monitor (s, monitor_ep, ZMQ_EVENT_ALL));
    void *monitor = fresh (ZMQ_PAIR);
    OK (zmq_connect (monitor, monitor_ep));
    zmq_bind (s, ep);
    fprintf (out, "  bind's");
    events (monitor);
    fprintf (out, "\n");
    OK (zmq_socket_monitor (s, NULL, 0));
    OK (zmq_close (monitor));
    OK (zmq_close (s));
}

/* Connects a fresh PUSH to `ep` (and writes its last endpoint), then disconnects it by the
 * same string. */
static void try_connect (const char *ep)
{
    void *s = fresh (ZMQ_PUSH);
    int rc = zmq_connect (s, ep);
    result ("connect", ep, rc);
    if (rc == 0) {
        char last[1024];
        last_endpoint (s, NULL, last, sizeof last);
    }
    fprintf (out, "\n");
    rc = zmq_disconnect (s, ep);
    result ("  disconnect", ep, rc);
    fprintf (out, "\n");
    OK (zmq_close (s));
}

static void try_both (const char *ep)
{
    try_bind (ep);
    try_connect (ep);
}

/* Binds `prefix` followed by 127.0.0.1:*, connects it followed by 127.0.0.1:5555. */
static void try_behind (const char *prefix)
{
    char ep[256];
    snprintf (ep, sizeof ep, "%s127.0.0.1:*", prefix);
    try_bind (ep);
    snprintf (ep, sizeof ep, "%s127.0.0.1:5555", prefix);
    try_connect (ep);
}

static const char *const tcp_hosts[] = {
    "127.0.0.1", "*", "localhost", "lo", "0.0.0.0", "::1", "[::1]", "[::1", "::1]", "::",
    "[::]", "[*]", "256.0.0.1", "1.2.3", "1.2.3.4.5", "127.0.0.01", "2130706433", "",
    "a_b", "-host", "host name", "no-such-nic0", "[127.0.0.1]", "fe80::1%lo", "[fe80::1%lo]",
    "127.0.0.1;127.0.0.1", "127.0.0.1:0;127.0.0.1", ";127.0.0.1", "127.0.0.1;", "lo;127.0.0.1",
    "*;127.0.0.1", "ip6-localhost", "127.0.0.1/8", "#", "a..b",
};
static const char *const bind_ports[] = {"*", "0", "00", "65536", "99999", "-1", "abc", "", "5x",
                                         "-0", "0x10", "*1", "4294967297"};
static const char *const connect_ports[] = {"1", "65535", "+1", " 1", "01", "1 "};

static const char *const ipc_paths[] = {
    "", "*", "@", "relative-endpoint-strings.sock", "/nonexistent-dir/x.sock", "/tmp",
    "./", "a/", "@endpoint-strings-abstract",
};
static const char *const inproc_names[] = {"", "*", "endpoint-strings", "a/b:c", "inproc://x"};
static const char *const other_transports[] = {
    "udp", "pgm", "epgm", "norm", "tipc", "vmci", "ws", "wss", "TCP", "Tcp", "foo", "", "tcp ",
};
static const char *const prefixes[] = {"tcp:/", "tcp:", "tcp", "tcp//", "://", "tcp:///",
                                       "tcp:://", "tcp://:", "ipc:/", "inproc:", "tcp://tcp://"};

int main (int argc, char **argv)
{
    CHECK (argc == 2);
    out = fopen (argv[1], "w");
    CHECK (out != NULL);
    /* ipc paths relative to a directory of our own. */
    char dir[] = "/tmp/endpoint-strings-XXXXXX";
    CHECK (mkdtemp (dir) != NULL);
    CHECK (chdir (dir) == 0);
    ctx = zmq_ctx_new ();
    CHECK (ctx);
    char ep[1024];
    size_t hosts = sizeof tcp_hosts / sizeof *tcp_hosts;
    for (size_t h = 0; h < hosts; h++) {
        for (size_t p = 0; p < sizeof bind_ports / sizeof *bind_ports; p++) {
            snprintf (ep, sizeof ep, "tcp://%s:%s", tcp_hosts[h], bind_ports[p]);
            try_bind (ep);
            if (strcmp (bind_ports[p], "*") != 0 && strcmp (bind_ports[p], "0") != 0
                && strcmp (bind_ports[p], "00") != 0)
                try_connect (ep);
        }
        for (size_t p = 0; p < sizeof connect_ports / sizeof *connect_ports; p++) {
            snprintf (ep, sizeof ep, "tcp://%s:%s", tcp_hosts[h], connect_ports[p]);
            try_connect (ep);
        }
        /* No port at all. */
        snprintf (ep, sizeof ep, "tcp://%s", tcp_hosts[h]);
        try_both (ep);
    }
    for (size_t i = 0; i < sizeof ipc_paths / sizeof *ipc_paths; i++) {
        snprintf (ep, sizeof ep, "ipc://%s", ipc_paths[i]);
        try_both (ep);
    }
    /* A path longer than sun_path holds. */
    memset (ep, 0, sizeof ep);
    strcpy (ep, "ipc://");
    memset (ep + 6, 'p', 150);
    try_both (ep);
    for (size_t i = 0; i < sizeof inproc_names / sizeof *inproc_names; i++) {
        snprintf (ep, sizeof ep, "inproc://%s", inproc_names[i]);
        try_both (ep);
    }
    strcpy (ep, "inproc://");
    memset (ep + 9, 'n', 300);
    try_both (ep);
    for (size_t i = 0; i < sizeof other_transports / sizeof *other_transports; i++) {
        snprintf (ep, sizeof ep, "%s://", other_transports[i]);
        try_behind (ep);
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        try_behind (prefixes[i]);
    /* The same endpoint twice on one socket, and on two. */
    void *a = fresh (ZMQ_PULL), *b = fresh (ZMQ_PULL);
    const char *twice[] = {"inproc://twice", "ipc://twice.sock", "ipc://@endpoint-strings-twice"};
    for (size_t i = 0; i < sizeof twice / sizeof *twice; i++) {
        result ("bind", twice[i], zmq_bind (a, twice[i]));
        fprintf (out, "\n");
        result ("bind again", twice[i], zmq_bind (a, twice[i]));
        fprintf (out, "\n");
        result ("bind other", twice[i], zmq_bind (b, twice[i]));
        fprintf (out, "\n");
    }
    char last[512];
    size_t len = sizeof last;
    OK (zmq_bind (a, "tcp://127.0.0.1:*"));
    OK (zmq_getsockopt (a, ZMQ_LAST_ENDPOINT, last, &len));
    result ("bind taken port", "tcp://127.0.0.1:<a's>", zmq_bind (b, last));
    fprintf (out, "\n");
    result ("bind taken port again", "tcp://127.0.0.1:<a's>", zmq_bind (a, last));
    fprintf (out, "\n");
    OK (zmq_close (a));
    OK (zmq_close (b));
    OK (zmq_ctx_term (ctx));
    unlink ("relative-endpoint-strings.sock");
    unlink ("twice.sock");
    CHECK (chdir ("/") == 0);
    rmdir (dir);
    fclose (out);
    printf ("endpoint strings done\n");
    return 0;
}
