/* curve_perf: libzmq's side of the CURVE comparison (scripts/curve_bench.sh).
 *
 *   curve_perf local_thr|remote_thr|local_lat|remote_lat ENDPOINT SIZE COUNT
 *
 * The same roles, output lines and keys as libsock's perf tools with <enable_curve> = 1
 * (benches/src/perf.rs), linked against a libzmq built with libsodium (Debian's libzmq5).
 * Written for this comparison; build: cc -O2 -o curve_perf curve_perf.c -lzmq */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static const char *server_public = "DX4nh=yUn{-9ugra0X3Src4SU-4xTgqxcYY.+<SH";
static const char *server_secret = "{X}#>t#jRGaQ}gMhv=30r(Mw+87YGs+5%kh=i@f8";
static const char *client_public = "<n^oA}I:66W+*ds3tAmi1+KJzv-}k&fC2aA5Bj0K";
static const char *client_secret = "9R9bV}[6z6DC-%$!jTVTKvWc=LEL{4i4gzUe$@Zx";

static void check (int rc, const char *what)
{
    if (rc == -1) {
        fprintf (stderr, "error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
        exit (1);
    }
}

static double now_us (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void *open_socket (void *ctx, int type, int server, const char *ep)
{
    void *s = zmq_socket (ctx, type);
    int one = 1;
    if (server) {
        check (zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, server_secret, 40), "secret");
        check (zmq_setsockopt (s, ZMQ_CURVE_SERVER, &one, sizeof one), "server");
        check (zmq_bind (s, ep), "bind");
    } else {
        check (zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, client_secret, 40), "secret");
        check (zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, client_public, 40), "public");
        check (zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, server_public, 40), "serverkey");
        check (zmq_connect (s, ep), "connect");
    }
    return s;
}

int main (int argc, char **argv)
{
    if (argc != 5) {
        fprintf (stderr, "usage: curve_perf local_thr|remote_thr|local_lat|remote_lat ep size count\n");
        return 2;
    }
    const char *mode = argv[1], *ep = argv[2];
    size_t size = (size_t) atol (argv[3]);
    long count = atol (argv[4]);
    if (!zmq_has ("curve")) {
        fprintf (stderr, "this libzmq has no CURVE\n");
        return 1;
    }
    void *ctx = zmq_ctx_new ();
    char *buf = calloc (1, size + 1);
    zmq_msg_t msg;
    if (!strcmp (mode, "local_thr")) {
        void *s = open_socket (ctx, ZMQ_PULL, 1, ep);
        check (zmq_recv (s, buf, size, 0), "recv");
        double start = now_us ();
        for (long i = 1; i < count; i++)
            check (zmq_recv (s, buf, size, 0), "recv");
        double us = now_us () - start;
        double thr = (double) count / us * 1e6;
        printf ("message size: %zu [B]\nmessage count: %ld\nmean throughput: %d [msg/s]\n"
                "mean throughput: %.3f [Mb/s]\n", size, count, (int) thr, thr * size * 8 / 1e6);
        zmq_close (s);
    } else if (!strcmp (mode, "remote_thr")) {
        void *s = open_socket (ctx, ZMQ_PUSH, 0, ep);
        for (long i = 0; i < count; i++) {
            zmq_msg_init_size (&msg, size);
            check (zmq_msg_send (&msg, s, 0), "send");
        }
        zmq_close (s);
    } else if (!strcmp (mode, "local_lat")) {
        void *s = open_socket (ctx, ZMQ_REP, 1, ep);
        for (long i = 0; i < count; i++) {
            zmq_msg_init (&msg);
            check (zmq_msg_recv (&msg, s, 0), "recv");
            check (zmq_msg_send (&msg, s, 0), "send");
        }
        sleep (1);
        zmq_close (s);
    } else {
        void *s = open_socket (ctx, ZMQ_REQ, 0, ep);
        double start = now_us ();
        for (long i = 0; i < count; i++) {
            check (zmq_send (s, buf, size, 0), "send");
            check (zmq_recv (s, buf, size, 0), "recv");
        }
        double us = now_us () - start;
        printf ("message size: %zu [B]\nroundtrip count: %ld\naverage latency: %.3f [us]\n", size,
                count, us / (count * 2));
        zmq_close (s);
    }
    zmq_ctx_term (ctx);
    free (buf);
    return 0;
}
