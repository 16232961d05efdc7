/* zmq_socket_monitor: events arrive on a PAIR socket in libzmq's two-frame format
 * (16-bit event, 32-bit value; then the endpoint). */
#include "testutil.h"
#include <stdint.h>

static int next_event (void *mon, char *endpoint, size_t len)
{
    zmq_msg_t msg;
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_recv (&msg, mon, 0) == 6);
    CHECK (zmq_msg_more (&msg));
    uint16_t event;
    memcpy (&event, zmq_msg_data (&msg), 2);
    OK (zmq_msg_recv (&msg, mon, 0));
    CHECK (!zmq_msg_more (&msg));
    size_t n = zmq_msg_size (&msg) < len - 1 ? zmq_msg_size (&msg) : len - 1;
    memcpy (endpoint, zmq_msg_data (&msg), n);
    endpoint[n] = 0;
    OK (zmq_msg_close (&msg));
    return event;
}

static void expect_event (void *mon, int want, const char *ep)
{
    char got_ep[256];
    int timeout = 5000;
    OK (zmq_setsockopt (mon, ZMQ_RCVTIMEO, &timeout, sizeof timeout));
    for (;;) {
        int e = next_event (mon, got_ep, sizeof got_ep);
        if (e == want) {
            CHECK (ep == NULL || strcmp (got_ep, ep) == 0);
            return;
        }
        /* Other events (e.g. CONNECT_DELAYED, HANDSHAKE_SUCCEEDED) may come between. */
    }
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *server = zmq_socket (ctx, ZMQ_REP);
    void *client = zmq_socket (ctx, ZMQ_REQ);
    OK (zmq_socket_monitor (server, "inproc://mon-server", ZMQ_EVENT_ALL));
    OK (zmq_socket_monitor (client, "inproc://mon-client", ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED));
    FAILS (zmq_socket_monitor (client, "tcp://127.0.0.1:*", ZMQ_EVENT_ALL), EPROTONOSUPPORT);
    OK (zmq_socket_monitor (client, "inproc://mon-client", ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED));
    void *smon = zmq_socket (ctx, ZMQ_PAIR);
    void *cmon = zmq_socket (ctx, ZMQ_PAIR);
    OK (zmq_connect (smon, "inproc://mon-server"));
    OK (zmq_connect (cmon, "inproc://mon-client"));

    char ep[256];
    bind_tcp (server, ep, sizeof ep);
    expect_event (smon, ZMQ_EVENT_LISTENING, ep);
    OK (zmq_connect (client, ep));
    expect_event (cmon, ZMQ_EVENT_CONNECTED, ep);
    expect_event (smon, ZMQ_EVENT_ACCEPTED, ep);
    send_str (client, "hi", 0);
    recv_str (server, "hi");

    OK (zmq_close (client));
    expect_event (smon, ZMQ_EVENT_DISCONNECTED, ep);
    OK (zmq_socket_monitor (server, NULL, 0));
    expect_event (smon, ZMQ_EVENT_MONITOR_STOPPED, NULL);

    OK (zmq_close (server));
    OK (zmq_close (smon));
    OK (zmq_close (cmon));
    OK (zmq_ctx_term (ctx));
    printf ("monitor ok\n");
    return 0;
}
