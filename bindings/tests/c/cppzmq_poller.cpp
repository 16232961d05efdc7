// cppzmq's draft poller (zmq::poller_t, zmq::active_poller_t) compiled with
// ZMQ_BUILD_DRAFT_API against libsock's zmq.h, on libsock built with its `draft` feature:
// user data, registration order, modify/remove/size, timeouts as 0 events, handlers, and
// cppzmq's draft socket types and message routing ids.
#define ZMQ_BUILD_DRAFT_API
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            std::fprintf (stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            return 1;                                                                       \
        }                                                                                   \
    } while (0)

int main ()
{
    static_assert (LIBSOCK_ZMQ_H, "built against libsock's zmq.h");
    using std::chrono::milliseconds;
    zmq::context_t ctx;
    zmq::socket_t pull (ctx, zmq::socket_type::pull), push (ctx, zmq::socket_type::push);
    zmq::socket_t server (ctx, zmq::socket_type::server), client (ctx, zmq::socket_type::client);
    push.set (zmq::sockopt::linger, 0);
    client.set (zmq::sockopt::linger, 0);
    pull.bind ("tcp://127.0.0.1:*");
    push.connect (pull.get (zmq::sockopt::last_endpoint));
    server.bind ("tcp://127.0.0.1:*");
    client.connect (server.get (zmq::sockopt::last_endpoint));

    int pull_tag = 1, server_tag = 2;
    zmq::poller_t<int> poller;
    poller.add (pull, zmq::event_flags::pollin, &pull_tag);
    poller.add (server, zmq::event_flags::pollin, &server_tag);
    CHECK (poller.size () == 2);
    std::vector<zmq::poller_event<int>> events (2);
    CHECK (poller.wait_all (events, milliseconds (0)) == 0);

    push.send (zmq::str_buffer ("work"), zmq::send_flags::none);
    client.send (zmq::str_buffer ("request"), zmq::send_flags::none);
    // Until both are ready (a wait returns as soon as one is, and one stays ready).
    auto wait_for_two = [&] () {
        auto deadline = std::chrono::steady_clock::now () + std::chrono::seconds (5);
        size_t n = 0;
        while (n < 2 && std::chrono::steady_clock::now () < deadline)
            n = poller.wait_all (events, milliseconds (100));
        return n;
    };
    size_t n = wait_for_two ();
    CHECK (n == 2);
    CHECK (events[0].socket == pull && events[0].user_data == &pull_tag);
    CHECK (events[1].socket == server && *events[1].user_data == 2);
    CHECK (events[1].events == zmq::event_flags::pollin);

    zmq::message_t msg;
    CHECK (pull.recv (msg) && msg.to_string () == "work");
    CHECK (server.recv (msg) && msg.to_string () == "request");
    uint32_t client_id = msg.routing_id ();
    CHECK (client_id != 0);
    zmq::message_t reply (std::string ("reply"));
    reply.set_routing_id (client_id);
    CHECK (server.send (reply, zmq::send_flags::none));

    // Poll the client for its reply, and the server for room to send.
    poller.remove (pull);
    poller.add (client, zmq::event_flags::pollin);
    poller.modify (server, zmq::event_flags::pollout);
    CHECK (poller.size () == 2);
    n = wait_for_two ();
    CHECK (n == 2);
    CHECK (events[0].socket == server && events[0].events == zmq::event_flags::pollout);
    CHECK (events[1].socket == client && events[1].user_data == nullptr);
    CHECK (client.recv (msg) && msg.to_string () == "reply");

    // A socket added twice is EINVAL, thrown as zmq::error_t.
    bool threw = false;
    try {
        poller.add (client, zmq::event_flags::pollin);
    }
    catch (const zmq::error_t &e) {
        threw = e.num () == EINVAL;
    }
    CHECK (threw);

    // active_poller_t calls a handler per ready socket.
    zmq::active_poller_t active;
    int calls = 0;
    active.add (pull, zmq::event_flags::pollin, [&] (zmq::event_flags ev) {
        calls += ev == zmq::event_flags::pollin;
        zmq::message_t m;
        (void) pull.recv (m);
    });
    CHECK (active.wait (milliseconds (0)) == 0);
    push.send (zmq::str_buffer ("again"), zmq::send_flags::none);
    CHECK (active.wait (milliseconds (5000)) == 1);
    CHECK (calls == 1);
    CHECK (active.size () == 1);

    std::printf ("cppzmq poller ok\n");
    return 0;
}
