//! REQ/REP round trips: an echo server and a timing client.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::{check_size, must, payload, Spec, END};
use crate::coord::Coord;
use crate::stats::{Fields, Latencies};
use crate::workload::{Lib, Role, Sock};

/// Echo server: binds, sends every message back, stops after echoing the end marker.
pub fn lat_server<L: Lib>(lib: &L, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = lib.socket(Role::LatServer, &spec.opts())?;
    let ep = s.bind(&spec.endpoint)?;
    coord.ready(&ep);
    let mut count = 0u64;
    loop {
        let n = s.echo()?;
        s.flush()?;
        if n == 0 {
            break;
        }
        count += 1;
    }
    coord.report(Fields::new().set("echoed", count as f64));
    coord.wait_signals(1);
    Ok(())
}

fn round_trip<S: Sock>(s: &mut S, body: &[u8]) -> Result<()> {
    s.send(body)?;
    s.flush()?;
    check_size(must(s.recv()?)?, body.len())
}

/// Latency client: connects, warms up, then times round trips for `secs`. Reports `count`
/// and round-trip percentiles in ns (`p50`, `p90`, `p99`, `p999`, `mean`).
pub fn lat_client<L: Lib>(lib: &L, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = lib.socket(Role::LatClient, &spec.opts())?;
    s.connect(&spec.endpoint)?;
    let body = payload(spec.size);
    let warm_until = Instant::now() + spec.duration().mul_f64(0.1).min(Duration::from_millis(200));
    for i in 0.. {
        round_trip(&mut s, &body)?;
        if i >= 10 && Instant::now() >= warm_until {
            break;
        }
    }
    let mut lat = Latencies::new();
    let deadline = Instant::now() + spec.duration();
    loop {
        let t = Instant::now();
        round_trip(&mut s, &body)?;
        let now = Instant::now();
        lat.record(now - t);
        if now >= deadline {
            break;
        }
    }
    s.send(END)?;
    s.flush()?;
    must(s.recv()?)?;
    let mut f = Fields::new();
    f.set("count", lat.count() as f64);
    lat.fields(&mut f);
    coord.report(&f);
    Ok(())
}
