/* What each classic socket type answers before it has a peer: ZMQ_EVENTS, a DONTWAIT send
 * of one frame and of a first frame with SNDMORE, a DONTWAIT receive, ZMQ_RCVMORE, on a
 * fresh socket, then bound, then with a connect to nobody (a pipe waiting for its
 * connection), then with IMMEDIATE and such a connect. One line per call, written to the
 * file named by the first argument. Built and run on libsock and on the system's libzmq;
 * c_api.rs compares the two outputs line by line. */
#include "testutil.h"
#include <errno.h>

static FILE *out;

static void line (const char *what, int rc)
{
    fprintf (out, "  %s -> %d %d\n", what, rc, rc == -1 ? zmq_errno () : 0);
}

static void probe (void *s, int type)
{
    int events = -1;
    size_t size = sizeof events;
    line ("events", zmq_getsockopt (s, ZMQ_EVENTS, &events, &size));
    fprintf (out, "  = %d\n", events);
    if (type == ZMQ_STREAM || type == ZMQ_ROUTER) {
        /* An envelope to a peer that does not exist. */
        line ("send id", zmq_send (s, "nobody", 6, ZMQ_SNDMORE | ZMQ_DONTWAIT));
        line ("send body", zmq_send (s, "x", 1, ZMQ_DONTWAIT));
    } else {
        line ("send", zmq_send (s, "x", 1, ZMQ_DONTWAIT));
        line ("send more", zmq_send (s, "y", 1, ZMQ_SNDMORE | ZMQ_DONTWAIT));
        line ("send last", zmq_send (s, "z", 1, ZMQ_DONTWAIT));
    }
    char buf[16];
    line ("recv", zmq_recv (s, buf, sizeof buf, ZMQ_DONTWAIT));
    int more = -1;
    size = sizeof more;
    line ("rcvmore", zmq_getsockopt (s, ZMQ_RCVMORE, &more, &size));
    fprintf (out, "  = %d\n", more);
    size = sizeof events;
    line ("events after", zmq_getsockopt (s, ZMQ_EVENTS, &events, &size));
    fprintf (out, "  = %d\n", events);
}

int main (int argc, char **argv)
{
    CHECK (argc == 2);
    out = fopen (argv[1], "w");
    CHECK (out != NULL);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    const int zero = 0, one = 1;
    for (int type = ZMQ_PAIR; type <= ZMQ_STREAM; type++) {
        for (int stage = 0; stage < 4; stage++) {
            void *s = zmq_socket (ctx, type);
            CHECK (s);
            OK (zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero));
            const char *what = "fresh";
            if (stage == 1) {
                what = "bound";
                OK (zmq_bind (s, "tcp://127.0.0.1:*"));
            } else if (stage >= 2) {
                what = stage == 2 ? "connected to nobody" : "immediate, connected to nobody";
                if (stage == 3)
                    OK (zmq_setsockopt (s, ZMQ_IMMEDIATE, &one, sizeof one));
                /* Port 1: nothing listens there. */
                OK (zmq_connect (s, "tcp://127.0.0.1:1"));
            }
            fprintf (out, "type %d %s\n", type, what);
            probe (s, type);
            OK (zmq_close (s));
        }
    }
    OK (zmq_ctx_term (ctx));
    fclose (out);
    printf ("socket states done\n");
    return 0;
}
