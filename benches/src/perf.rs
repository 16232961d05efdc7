//! The conventions of libzmq's perf tools (`perf/` in libzmq 4.3), which the libsock perf
//! binaries follow so they can be swapped one-for-one with libzmq's in scripts:
//!
//! - arguments are positional and read like C's `atoi` (garbage reads as 0); a wrong count
//!   prints `usage: …` on stdout and exits with 1;
//! - errors print `error in <call>: <reason>` on stdout and exit with 255 (C's `return -1`);
//! - timing is a microsecond stopwatch started after the first message (throughput) or
//!   around the whole loop (latency); a zero elapsed time counts as 1 µs;
//! - output lines are exactly libzmq's. The latency tools add four lines after them with
//!   hdrhistogram percentiles (`latency p50: … [us]` …), of half round trips like libzmq's
//!   `average latency`.

use std::fmt::Display;
use std::time::{Duration, Instant};

use crate::stats::Latencies;

/// C's `atoi`: optional leading whitespace and sign, then digits; anything else ends it.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// The arguments after the program name, if there are `min..=max` of them; otherwise prints
/// `usage` and exits with 1, as libzmq's tools do.
pub fn args_or_usage(usage: &str, min: usize, max: usize) -> Vec<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < min || args.len() > max {
        println!("{usage}");
        std::process::exit(1);
    }
    args
}

/// Prints `error in <what>: <e>` and exits with 255.
pub fn fail(what: &str, e: impl Display) -> ! {
    println!("error in {what}: {e}");
    std::process::exit(255);
}

/// Exits like libzmq's tools when a message has the wrong size.
pub fn check_size(got: usize, want: usize) {
    if got != want {
        println!("message of incorrect size received");
        std::process::exit(255);
    }
}

/// A size or count argument: must be positive (libzmq would loop forever or divide by zero).
pub fn positive(arg: &str, what: &str) -> usize {
    match usize::try_from(atoi(arg)) {
        Ok(v) if v > 0 => v,
        _ => fail("arguments", format!("{what} must be a positive number")),
    }
}

/// `zmq_stopwatch_start`/`zmq_stopwatch_stop`: elapsed whole microseconds.
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Stopwatch {
        Stopwatch(Instant::now())
    }

    /// Whole microseconds since the start.
    pub fn stop_us(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// `message size: N [B]` and `message count: N`.
pub fn print_thr_head(size: usize, count: usize) {
    println!("message size: {size} [B]");
    println!("message count: {count}");
}

/// `local_thr`'s throughput lines: megabits from the unrounded message rate.
pub fn print_thr_local(size: usize, count: usize, elapsed_us: u64) {
    let throughput = count as f64 / elapsed_us.max(1) as f64 * 1_000_000.0;
    let megabits = throughput * size as f64 * 8.0 / 1_000_000.0;
    println!("mean throughput: {} [msg/s]", throughput as i32);
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// `inproc_thr`'s throughput lines: megabits from the message rate rounded down first.
pub fn print_thr_inproc(size: usize, count: usize, elapsed_us: u64) {
    let throughput = (count as f64 / elapsed_us.max(1) as f64 * 1_000_000.0) as u64;
    let megabits = (throughput * size as u64 * 8) as f64 / 1_000_000.0;
    println!("mean throughput: {} [msg/s]", throughput as i32);
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// `message size: N [B]` and `roundtrip count: N`.
pub fn print_lat_head(size: usize, roundtrips: usize) {
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
}

/// `average latency: X.XXX [us]` (half the mean round trip), then the percentile lines.
pub fn print_lat_tail(roundtrips: usize, elapsed_us: u64, half_trips: &Latencies) {
    let latency = elapsed_us as f64 / (roundtrips as f64 * 2.0);
    println!("average latency: {latency:.3} [us]");
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
        let us = half_trips.quantile_ns(q) as f64 / 1000.0;
        println!("latency {name}: {us:.3} [us]");
    }
}

/// Records one round trip as a half round trip.
#[inline]
pub fn record_half(l: &mut Latencies, round_trip: Duration) {
    l.record(round_trip / 2);
}

/// The key pairs libzmq's perf tools use with `enable_curve` (arbitrary, but shared, so a
/// libsock `remote_thr` can drive a libzmq `local_thr` and back).
pub const PERF_SERVER_PUBLIC: &str = "DX4nh=yUn{-9ugra0X3Src4SU-4xTgqxcYY.+<SH";
/// The server's secret key.
pub const PERF_SERVER_SECRET: &str = "{X}#>t#jRGaQ}gMhv=30r(Mw+87YGs+5%kh=i@f8";
/// The client's public key.
pub const PERF_CLIENT_PUBLIC: &str = "<n^oA}I:66W+*ds3tAmi1+KJzv-}k&fC2aA5Bj0K";
/// The client's secret key.
pub const PERF_CLIENT_SECRET: &str = "9R9bV}[6z6DC-%$!jTVTKvWc=LEL{4i4gzUe$@Zx";

/// Whether the optional `<enable_curve>` argument (index `at`) asks for CURVE.
pub fn curve_requested(a: &[String], at: usize) -> bool {
    a.get(at).is_some_and(|v| atoi(v) != 0)
}

/// Makes `s` the CURVE server of the perf tools' key pair.
pub fn curve_server(s: &libsock::Socket) {
    s.set_curve_secretkey(PERF_SERVER_SECRET.as_bytes()).unwrap_or_else(|e| fail("zmq_setsockopt", e));
    s.set_curve_server(true).unwrap_or_else(|e| fail("zmq_setsockopt", e));
}

/// Makes `s` a CURVE client of [`curve_server`].
pub fn curve_client(s: &libsock::Socket) {
    let set = |r: libsock::Result<()>| r.unwrap_or_else(|e| fail("zmq_setsockopt", e));
    set(s.set_curve_secretkey(PERF_CLIENT_SECRET.as_bytes()));
    set(s.set_curve_publickey(PERF_CLIENT_PUBLIC.as_bytes()));
    set(s.set_curve_serverkey(PERF_SERVER_PUBLIC.as_bytes()));
}

/// `wss://` endpoints: the bind side serves libsock's test certificate (for `localhost` and
/// `127.0.0.1`, `libsock/tests/data/wss/`), the connect side trusts its authority. Other
/// endpoints are left alone. libzmq's tools have no way to set these, so theirs cannot
/// use `wss://`.
pub fn wss_bind(s: &libsock::Socket, endpoint: &str) {
    if endpoint.starts_with("wss://") {
        let set = |r: libsock::Result<()>| r.unwrap_or_else(|e| fail("zmq_setsockopt", e));
        set(s.set_wss_cert_pem(include_bytes!("../../libsock/tests/data/wss/server_chain.pem")));
        set(s.set_wss_key_pem(include_bytes!("../../libsock/tests/data/wss/server.key")));
    }
}

/// The connect side of [`wss_bind`].
pub fn wss_connect(s: &libsock::Socket, endpoint: &str) {
    if endpoint.starts_with("wss://") {
        let trust = include_bytes!("../../libsock/tests/data/wss/ca.pem");
        s.set_wss_trust_pem(trust).unwrap_or_else(|e| fail("zmq_setsockopt", e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi("100"), 100);
        assert_eq!(atoi("  42abc"), 42);
        assert_eq!(atoi("-7"), -7);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi(""), 0);
    }
}
