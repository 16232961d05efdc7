//! `inproc_lat <message-size> <roundtrip-count>`: libsock's build of libzmq's `inproc_lat`.
//! The client binds `inproc://lat_test` in the main thread, an echo server on a second thread
//! of the same context connects; prints libzmq's three lines, then p50, p90, p99 and p99.9 of
//! the half round trips.
//!
//! REQ (client) and REP (server), as libzmq's (from `benches::imp::libsock::LAT_TYPES`).

use std::time::Instant;

use benches::imp::libsock::LAT_TYPES;
use benches::perf::{self, Stopwatch};
use benches::stats::Latencies;

fn main() {
    let a = perf::args_or_usage("usage: inproc_lat <message-size> <roundtrip-count>", 2, 2);
    let size = perf::positive(&a[0], "message size");
    let roundtrips = perf::positive(&a[1], "roundtrip count");
    let ctx = libsock::Context::new();
    let s = ctx.socket(LAT_TYPES.1).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    s.bind("inproc://lat_test").unwrap_or_else(|e| perf::fail("zmq_bind", e));
    let worker_ctx = ctx.clone();
    let worker = std::thread::spawn(move || {
        let s = worker_ctx.socket(LAT_TYPES.0).unwrap_or_else(|e| perf::fail("zmq_socket", e));
        s.connect("inproc://lat_test").unwrap_or_else(|e| perf::fail("zmq_connect", e));
        for _ in 0..roundtrips {
            let msg = s.recv_msg(0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
            s.send(msg, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
        }
    });
    let mut msg = libsock::Message::from(vec![0u8; size]);
    perf::print_lat_head(size, roundtrips);
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
    worker.join().unwrap_or_else(|_| perf::fail("pthread_join", "worker panicked"));
    perf::print_lat_tail(roundtrips, elapsed, &half_trips);
}
