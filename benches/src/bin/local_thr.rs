//! `local_thr <bind-to> <message-size> <message-count>`: libsock's build of libzmq's
//! `local_thr`. PULL, binds, times from the first message, prints libzmq's four lines.

use benches::perf::{self, Stopwatch};

fn main() {
    let a = perf::args_or_usage(
        "usage: local_thr <bind-to> <message-size> <message-count> [<enable_curve>]",
        3,
        4,
    );
    let size = perf::positive(&a[1], "message size");
    let count = perf::positive(&a[2], "message count");
    let ctx = libsock::Context::new();
    let s = ctx.socket(libsock::PULL).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    if perf::curve_requested(&a, 3) {
        perf::curve_server(&s);
    }
    perf::wss_bind(&s, &a[0]);
    s.bind(&a[0]).unwrap_or_else(|e| perf::fail("zmq_bind", e));
    let recv = || s.recv_msg(0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
    perf::check_size(recv().len(), size);
    let watch = Stopwatch::start();
    for _ in 1..count {
        perf::check_size(recv().len(), size);
    }
    let elapsed = watch.stop_us();
    perf::print_thr_head(size, count);
    perf::print_thr_local(size, count, elapsed);
}
