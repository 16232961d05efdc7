/* Which values zmq_setsockopt(3) takes for every option number 0-120 and each classic socket
 * type, and what zmq_getsockopt(3) then reads back: one line per (type, option, value),
 * "t<type> o<option> <kind> <value> -> <rc> <errno> [<read back>]", written to the file named
 * by the first argument (some 29 000 lines, more than a pipe holds). Built and run on libsock
 * and on the system's libzmq; c_api.rs compares the two outputs line by line. */
#include "testutil.h"
#include <stdint.h>

static FILE *out;

static void read_back (void *s, int option)
{
    int64_t l = 0;
    size_t len = sizeof l;
    int i = 0;
    if (zmq_getsockopt (s, option, &l, &len) == 0) {
        fprintf (out, " = %lld", (long long) l);
        return;
    }
    len = sizeof i;
    if (zmq_getsockopt (s, option, &i, &len) == 0)
        fprintf (out, " = %d", i);
}

int main (int argc, char **argv)
{
    CHECK (argc == 2);
    out = fopen (argv[1], "w");
    CHECK (out != NULL);
    const int ints[] = {-100, -2, -1, 0, 1, 2, 255, 256, 1000, 65536, 2147483647};
    const int64_t longs[] = {-2, -1, 0, 1, 1000, INT64_MAX};
    const char *strings[] = {"", "a", "abc", "127.0.0.1:1080",
                             "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"};
    for (int type = ZMQ_PAIR; type <= ZMQ_XSUB; type++) {
        /* A context per type and a socket per option: closed sockets are reaped in the
         * background, and a socket per value could reach the descriptor limit first. */
        void *ctx = zmq_ctx_new ();
        for (int option = 0; option <= 120; option++) {
            if (option == ZMQ_FD)
                continue;
            void *s = zmq_socket (ctx, type);
            CHECK (s != NULL);
            for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
                int rc = zmq_setsockopt (s, option, &ints[k], sizeof (int));
                fprintf (out, "t%d o%d int %d -> %d %d", type, option, ints[k], rc,
                        rc ? zmq_errno () : 0);
                if (rc == 0)
                    read_back (s, option);
                fprintf (out, "\n");
            }
            for (size_t k = 0; k < sizeof longs / sizeof *longs; k++) {
                int rc = zmq_setsockopt (s, option, &longs[k], sizeof (int64_t));
                fprintf (out, "t%d o%d i64 %lld -> %d %d", type, option, (long long) longs[k], rc,
                        rc ? zmq_errno () : 0);
                if (rc == 0)
                    read_back (s, option);
                fprintf (out, "\n");
            }
            for (size_t k = 0; k < sizeof strings / sizeof *strings; k++) {
                int rc = zmq_setsockopt (s, option, strings[k], strlen (strings[k]));
                fprintf (out, "t%d o%d str '%s' -> %d %d\n", type, option, strings[k], rc,
                        rc ? zmq_errno () : 0);
            }
            zmq_close (s);
        }
        zmq_ctx_term (ctx);
    }
    CHECK (fclose (out) == 0);
    printf ("option values done\n");
    return 0;
}
