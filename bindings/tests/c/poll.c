/* zmq_poll over sockets and a plain file descriptor; ZMQ_FD and ZMQ_EVENTS. */
#include "testutil.h"
#include <poll.h>
#include <unistd.h>

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    char ep[256];
    bind_tcp (pull, ep, sizeof ep);
    OK (zmq_connect (push, ep));
    int fds[2];
    CHECK (pipe (fds) == 0);

    zmq_pollitem_t items[] = {
      {pull, 0, ZMQ_POLLIN, 0},
      {NULL, fds[0], ZMQ_POLLIN, 0},
      {push, 0, ZMQ_POLLOUT, 0},
    };
    /* Nothing to read yet; PUSH can queue. */
    CHECK (zmq_poll (items, 2, 0) == 0);
    CHECK (items[0].revents == 0 && items[1].revents == 0);
    CHECK (zmq_poll (items + 2, 1, 1000) == 1);
    CHECK (items[2].revents == ZMQ_POLLOUT);

    send_str (push, "ping", 0);
    CHECK (zmq_poll (items, 2, 5000) == 1);
    CHECK (items[0].revents == ZMQ_POLLIN && items[1].revents == 0);
    recv_str (pull, "ping");

    CHECK (write (fds[1], "x", 1) == 1);
    CHECK (zmq_poll (items, 2, 5000) == 1);
    CHECK (items[0].revents == 0 && items[1].revents == ZMQ_POLLIN);

    /* ZMQ_FD becomes readable when ZMQ_EVENTS may have changed. */
    int fd;
    size_t len = sizeof fd;
    OK (zmq_getsockopt (pull, ZMQ_FD, &fd, &len));
    CHECK (fd >= 0 && len == sizeof (int));
    int events;
    len = sizeof events;
    OK (zmq_getsockopt (pull, ZMQ_EVENTS, &events, &len));
    CHECK ((events & ZMQ_POLLIN) == 0);
    send_str (push, "edge", 0);
    struct pollfd pfd = {fd, POLLIN, 0};
    for (int i = 0; i < 100; i++) {
        CHECK (poll (&pfd, 1, 5000) == 1);
        OK (zmq_getsockopt (pull, ZMQ_EVENTS, &events, &len));
        if (events & ZMQ_POLLIN)
            break;
    }
    CHECK (events & ZMQ_POLLIN);
    recv_str (pull, "edge");

    /* Timeout with nothing ready; no items is a sleep. */
    CHECK (zmq_poll (items, 1, 10) == 0);
    CHECK (zmq_poll (NULL, 0, 1) == 0);
    FAILS (zmq_poll (NULL, 1, 0), EFAULT);

    close (fds[0]);
    close (fds[1]);
    OK (zmq_close (push));
    OK (zmq_close (pull));
    OK (zmq_ctx_term (ctx));
    printf ("poll ok\n");
    return 0;
}
