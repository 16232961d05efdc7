//! `local_lat <bind-to> <message-size> <roundtrip-count>`: libsock's build of libzmq's
//! `local_lat`. Binds and echoes every message; prints nothing.
//!
//! REP, as libzmq's (the socket types live in `benches::imp::libsock::LAT_TYPES`).

use benches::imp::libsock::LAT_TYPES;
use benches::perf;

fn main() {
    let a = perf::args_or_usage(
        "usage: local_lat <bind-to> <message-size> <roundtrip-count> [<enable_curve>]",
        3,
        4,
    );
    let size = perf::positive(&a[1], "message size");
    let roundtrips = perf::positive(&a[2], "roundtrip count");
    let ctx = libsock::Context::new();
    let s = ctx.socket(LAT_TYPES.0).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    if perf::curve_requested(&a, 3) {
        perf::curve_server(&s);
    }
    perf::wss_bind(&s, &a[0]);
    s.bind(&a[0]).unwrap_or_else(|e| perf::fail("zmq_bind", e));
    for _ in 0..roundtrips {
        let msg = s.recv_msg(0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        perf::check_size(msg.len(), size);
        s.send(msg, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
    }
    // libzmq's local_lat sleeps a second before closing, so the last reply gets out.
    std::thread::sleep(std::time::Duration::from_secs(1));
}
