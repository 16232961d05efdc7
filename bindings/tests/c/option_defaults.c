/* Every socket option's default as zmq_getsockopt(3) reads it, for each classic socket type,
 * one line each: "t<type> o<option> int <v>", "i64 <v>", "bytes <n>:<hex>" or "err <errno>".
 * Built and run on libsock and on the system's libzmq; c_api.rs compares the two outputs. */
#include "testutil.h"
#include <stdint.h>

int main (void)
{
    void *ctx = zmq_ctx_new ();
    for (int type = ZMQ_PAIR; type <= ZMQ_XSUB; type++) {
        void *s = zmq_socket (ctx, type);
        if (!s) {
            printf ("t%d socket err %d\n", type, zmq_errno ());
            continue;
        }
        for (int option = 0; option <= 100; option++) {
            if (option == ZMQ_FD)
                continue; /* a descriptor number */
            int i = 0;
            size_t len = sizeof i;
            if (zmq_getsockopt (s, option, &i, &len) == 0) {
                printf ("t%d o%d int %d\n", type, option, i);
                continue;
            }
            int64_t l = 0;
            len = sizeof l;
            if (zmq_getsockopt (s, option, &l, &len) == 0) {
                printf ("t%d o%d i64 %lld\n", type, option, (long long) l);
                continue;
            }
            unsigned char b[256];
            len = sizeof b;
            if (zmq_getsockopt (s, option, b, &len) == 0) {
                printf ("t%d o%d bytes %zu:", type, option, len);
                for (size_t k = 0; k < len; k++)
                    printf ("%02x", b[k]);
                printf ("\n");
                continue;
            }
            printf ("t%d o%d err %d\n", type, option, zmq_errno ());
        }
        zmq_close (s);
    }
    zmq_ctx_term (ctx);
    printf ("option defaults done\n");
    return 0;
}
