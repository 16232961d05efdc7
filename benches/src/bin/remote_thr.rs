//! `remote_thr <connect-to> <message-size> <message-count>`: libsock's build of libzmq's
//! `remote_thr`. PUSH, connects, sends a fresh message per send, prints nothing, and exits
//! once everything is delivered (LINGER is forever, as in libzmq). Each message is what
//! libzmq's `zmq_msg_init_size` makes, `Message::for_overwrite` (its content unspecified and
//! not written), so the two programs do the same work.

use benches::perf;

fn main() {
    let a = perf::args_or_usage(
        "usage: remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]",
        3,
        4,
    );
    let size = perf::positive(&a[1], "message size");
    let count = perf::positive(&a[2], "message count");
    let ctx = libsock::Context::new();
    let s = ctx.socket(libsock::PUSH).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    if perf::curve_requested(&a, 3) {
        perf::curve_client(&s);
    }
    perf::wss_connect(&s, &a[0]);
    s.connect(&a[0]).unwrap_or_else(|e| perf::fail("zmq_connect", e));
    for _ in 0..count {
        s.send(libsock::Message::for_overwrite(size), 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
    }
    drop(s);
    drop(ctx);
}
