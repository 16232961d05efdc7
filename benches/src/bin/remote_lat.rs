//! `remote_lat <connect-to> <message-size> <roundtrip-count>`: libsock's build of libzmq's
//! `remote_lat`. Connects, runs the round trips, prints libzmq's three lines, then p50, p90,
//! p99 and p99.9 of the half round trips.
//!
//! REQ, as libzmq's (the socket types live in `benches::imp::libsock::LAT_TYPES`).

use std::time::Instant;

use benches::imp::libsock::LAT_TYPES;
use benches::perf::{self, Stopwatch};
use benches::stats::Latencies;

fn main() {
    let a = perf::args_or_usage(
        "usage: remote_lat <connect-to> <message-size> <roundtrip-count> [<enable_curve>]",
        3,
        4,
    );
    let size = perf::positive(&a[1], "message size");
    let roundtrips = perf::positive(&a[2], "roundtrip count");
    let ctx = libsock::Context::new();
    let s = ctx.socket(LAT_TYPES.1).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    if perf::curve_requested(&a, 3) {
        perf::curve_client(&s);
    }
    perf::wss_connect(&s, &a[0]);
    s.connect(&a[0]).unwrap_or_else(|e| perf::fail("zmq_connect", e));
    let mut msg = libsock::Message::from(vec![0u8; size]);
    let mut half_trips = Latencies::new();
    let watch = Stopwatch::start();
    for _ in 0..roundtrips {
        let t = Instant::now();
        s.send(msg, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
        msg = s.recv_msg(0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        perf::record_half(&mut half_trips, t.elapsed());
        perf::check_size(msg.len(), size);
    }
    let elapsed = watch.stop_us();
    perf::print_lat_head(size, roundtrips);
    perf::print_lat_tail(roundtrips, elapsed, &half_trips);
}
