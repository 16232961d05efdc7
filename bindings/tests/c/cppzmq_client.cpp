// cppzmq (Debian's cppzmq-dev zmq.hpp and zmq_addon.hpp) compiled against libsock's zmq.h:
// context, sockets, options, multipart, poll, monitor-free request/reply.
#include <zmq.hpp>
#include <zmq_addon.hpp>

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
    zmq::context_t ctx;
    zmq::socket_t rep (ctx, zmq::socket_type::rep);
    zmq::socket_t req (ctx, zmq::socket_type::req);
    rep.set (zmq::sockopt::linger, 0);
    req.set (zmq::sockopt::linger, 0);
    rep.bind ("tcp://127.0.0.1:*");
    std::string ep = rep.get (zmq::sockopt::last_endpoint);
    req.connect (ep);
    CHECK (rep.get (zmq::sockopt::type) == ZMQ_REP);

    req.send (zmq::str_buffer ("hello"), zmq::send_flags::none);
    zmq::message_t msg;
    auto got = rep.recv (msg, zmq::recv_flags::none);
    CHECK (got && *got == 5 && msg.to_string () == "hello");
    rep.send (zmq::buffer (std::string ("world")), zmq::send_flags::none);

    std::vector<zmq::pollitem_t> items = {{req.handle (), 0, ZMQ_POLLIN, 0}};
    CHECK (zmq::poll (items, std::chrono::milliseconds (5000)) == 1);
    got = req.recv (msg);
    CHECK (got && msg.to_string () == "world");

    // Multipart through zmq_addon.hpp.
    zmq::socket_t push (ctx, zmq::socket_type::push), pull (ctx, zmq::socket_type::pull);
    pull.bind ("inproc://cppzmq");
    push.connect ("inproc://cppzmq");
    std::vector<zmq::const_buffer> parts = {zmq::str_buffer ("a"), zmq::str_buffer ("bc")};
    CHECK (zmq::send_multipart (push, parts));
    std::vector<zmq::message_t> in;
    CHECK (zmq::recv_multipart (pull, std::back_inserter (in)) == 2);
    CHECK (in[0].to_string () == "a" && in[1].to_string () == "bc" && !in[1].more ());

    // Errors surface as zmq::error_t with libzmq's errno.
    try {
        req.connect ("bogus://x");
        return 1;
    }
    catch (const zmq::error_t &e) {
        CHECK (e.num () == EPROTONOSUPPORT);
    }
    std::printf ("cppzmq ok\n");
    return 0;
}
