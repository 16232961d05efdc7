/* Which values zmq_ctx_set(3) takes for every option number 0-80, and what zmq_ctx_get(3)
 * then reads: "o<option> <value> -> <rc> <errno> = <read back>", one line each, on a fresh
 * context. Built and run on libsock and on the system's libzmq; c_api.rs compares them. */
#include "testutil.h"

int main (void)
{
    const int values[] = {-100, -2, -1, 0, 1, 2, 3, 99, 100, 1023, 1024, 65536, 2147483647};
    for (int option = 0; option <= 80; option++) {
        for (size_t k = 0; k < sizeof values / sizeof *values; k++) {
            void *ctx = zmq_ctx_new ();
            CHECK (ctx != NULL);
            int rc = zmq_ctx_set (ctx, option, values[k]);
            int e = rc ? zmq_errno () : 0;
            printf ("o%d %d -> %d %d = %d\n", option, values[k], rc, e, zmq_ctx_get (ctx, option));
            CHECK (zmq_ctx_term (ctx) == 0);
        }
    }
    printf ("ctx values done\n");
    return 0;
}
