/* Endpoint rules of zmq_bind(3), zmq_tcp(3) and zmq_unbind(3) as libzmq 4.3 applies them:
 * a tcp bind may name a network interface (`lo`: its IPv4 address), a name that is no
 * interface is ENODEV; unbind and disconnect parse the endpoint first (EINVAL when
 * malformed, EPROTONOSUPPORT for an unknown transport, ENOENT only for a well-formed one
 * the socket does not have). Built and run on libsock and on the system's libzmq. */
#include "testutil.h"
#include <errno.h>

int main (void)
{
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (pull && push);
    int zero = 0;
    OK (zmq_setsockopt (pull, ZMQ_LINGER, &zero, sizeof zero));
    OK (zmq_setsockopt (push, ZMQ_LINGER, &zero, sizeof zero));

    /* An interface name: bound on its address, and messages arrive there. */
    OK (zmq_bind (pull, "tcp://lo:*"));
    char ep[256];
    size_t len = sizeof ep;
    OK (zmq_getsockopt (pull, ZMQ_LAST_ENDPOINT, ep, &len));
    CHECK (strncmp (ep, "tcp://127.0.0.1:", 16) == 0);
    OK (zmq_connect (push, ep));
    send_str (push, "via lo", 0);
    recv_str (pull, "via lo");
    FAILS (zmq_bind (pull, "tcp://no-such-nic0:5555"), ENODEV);

    /* Unbind and disconnect parse before they look. */
    FAILS (zmq_unbind (pull, "bogus"), EINVAL);
    FAILS (zmq_disconnect (push, "bogus"), EINVAL);
    FAILS (zmq_unbind (pull, "foo://bar"), EPROTONOSUPPORT);
    FAILS (zmq_unbind (pull, "tcp://127.0.0.1:1"), ENOENT);
    FAILS (zmq_disconnect (push, "tcp://127.0.0.1:1"), ENOENT);
    OK (zmq_disconnect (push, ep));
    OK (zmq_unbind (pull, ep));

    OK (zmq_close (pull));
    OK (zmq_close (push));
    OK (zmq_ctx_term (ctx));
    printf ("endpoint rules ok\n");
    return 0;
}
