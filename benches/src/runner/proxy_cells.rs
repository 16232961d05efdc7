//! The proxy cells: the same sender/receiver (or client/server) workers as the direct
//! cells, with a relay worker ([`crate::roles::proxy`]) of the same implementation between
//! them.

use std::time::Duration;

use anyhow::Result;

use super::cells::{with_job, EXIT, SETUP};
use super::proc::Worker;
use crate::roles::Job;
use crate::stats::Fields;
use crate::worker::WorkerArgs;

/// The relay process's CPU time (user + system) per message or round trip, in ns: what the
/// device itself costs, apart from the two ends.
pub const RELAY_NS: &str = "relay_cpu_ns";

/// Starts the relay worker for `device`, bound on a fresh tcp port, connected to `target`.
fn relay(args: &WorkerArgs, device: &str, target: &str) -> Result<(Worker, String)> {
    let mut w = Worker::spawn(&with_job(args, Job::Proxy, &format!("{device}|tcp://127.0.0.1:0|{target}")))?;
    let ep = w.expect("READY", SETUP)?;
    Ok((w, ep))
}

/// PUSH → streamer → PULL: messages per second at the receiver.
pub fn proxy_thr(args: WorkerArgs, limit: Duration) -> Result<Fields> {
    let mut recv = Worker::spawn(&with_job(&args, Job::ThrRecv, &args.endpoint))?;
    let ep = recv.expect("READY", SETUP)?;
    let (mut proxy, front) = relay(&args, "streamer", &ep)?;
    let mut send = Worker::spawn(&with_job(&args, Job::ThrSend, &front))?;
    let r = recv.result(limit)?;
    send.result(limit)?;
    send.signal()?;
    proxy.signal()?;
    send.finish(EXIT)?;
    let relay_cpu = proxy.finish(EXIT)?;
    recv.finish(EXIT)?;
    let mut f = Fields::new();
    let count = r.get("count")?;
    f.set("rate", count / r.get("secs")?).set(RELAY_NS, relay_cpu * 1e9 / count.max(1.0));
    Ok(f)
}

/// REQ → queue → REP: round-trip percentiles.
pub fn proxy_lat(args: WorkerArgs, limit: Duration) -> Result<Fields> {
    let mut server = Worker::spawn(&with_job(&args, Job::LatServer, &args.endpoint))?;
    let ep = server.expect("READY", SETUP)?;
    let (mut proxy, front) = relay(&args, "queue", &ep)?;
    let mut client = Worker::spawn(&with_job(&args, Job::LatClient, &front))?;
    let r = client.result(limit)?;
    let s = server.result(limit)?;
    server.signal()?;
    proxy.signal()?;
    client.finish(EXIT)?;
    let relay_cpu = proxy.finish(EXIT)?;
    server.finish(EXIT)?;
    let mut f = Fields::new();
    f.set("p50_us", r.get("p50")? / 1e3).set("p99_us", r.get("p99")? / 1e3).set("count", r.get("count")?);
    // Per round trip, warm-up included (the server echoed every one).
    f.set(RELAY_NS, relay_cpu * 1e9 / s.get("echoed")?.max(1.0));
    Ok(f)
}
