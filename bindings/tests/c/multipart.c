/* Multipart messages: ZMQ_SNDMORE, ZMQ_RCVMORE, zmq_msg_more, zmq_msg_get(ZMQ_MORE),
 * zmq_sendiov/zmq_recviov. */
#include "testutil.h"
#include <sys/uio.h>

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    char ep[256];
    bind_tcp (pull, ep, sizeof ep);
    OK (zmq_connect (push, ep));

    send_str (push, "one", ZMQ_SNDMORE);
    send_str (push, "", ZMQ_SNDMORE);
    send_str (push, "three", 0);

    int more;
    size_t len = sizeof more;
    recv_str (pull, "one");
    OK (zmq_getsockopt (pull, ZMQ_RCVMORE, &more, &len));
    CHECK (more == 1 && len == sizeof (int));
    recv_str (pull, "");
    OK (zmq_getsockopt (pull, ZMQ_RCVMORE, &more, &len));
    CHECK (more == 1);
    recv_str (pull, "three");
    OK (zmq_getsockopt (pull, ZMQ_RCVMORE, &more, &len));
    CHECK (more == 0);

    /* The same with messages. */
    zmq_msg_t part;
    for (int i = 0; i < 3; i++) {
        OK (zmq_msg_init_size (&part, 100));
        memset (zmq_msg_data (&part), 'a' + i, 100);
        CHECK (zmq_msg_send (&part, push, i < 2 ? ZMQ_SNDMORE : 0) == 100);
        OK (zmq_msg_close (&part));
    }
    OK (zmq_msg_init (&part));
    for (int i = 0; i < 3; i++) {
        CHECK (zmq_msg_recv (&part, pull, 0) == 100);
        CHECK (((char *) zmq_msg_data (&part))[0] == 'a' + i);
        CHECK (zmq_msg_more (&part) == (i < 2));
        CHECK (zmq_msg_get (&part, ZMQ_MORE) == (i < 2));
    }
    OK (zmq_msg_close (&part));

    /* iovecs */
    char a[] = "alpha", b[] = "beta";
    struct iovec out[2] = {{a, 5}, {b, 4}};
    CHECK (zmq_sendiov (push, out, 2, 0) >= 0);
    struct iovec in[4];
    size_t count = 4;
    CHECK (zmq_recviov (pull, in, &count, 0) == 2); /* frames, as libzmq */
    CHECK (count == 2);
    CHECK (in[0].iov_len == 5 && memcmp (in[0].iov_base, "alpha", 5) == 0);
    CHECK (in[1].iov_len == 4 && memcmp (in[1].iov_base, "beta", 4) == 0);
    free (in[0].iov_base);
    free (in[1].iov_base);

    OK (zmq_close (push));
    OK (zmq_close (pull));
    OK (zmq_ctx_term (ctx));
    printf ("multipart ok\n");
    return 0;
}
