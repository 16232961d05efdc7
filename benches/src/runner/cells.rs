//! One measurement of one implementation: spawn the workers a pattern needs, choreograph
//! them, and turn their results into the numbers a table shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;

use super::proc::Worker;
use crate::roles::Job;
use crate::stats::Fields;
use crate::worker::WorkerArgs;
use crate::workload::{Impl, KernelBuffers, Pattern, Transport};

/// How long a worker may take to bind, connect or subscribe.
pub(super) const SETUP: Duration = Duration::from_secs(40);
/// How long a worker may take to exit once told to.
pub(super) const EXIT: Duration = Duration::from_secs(15);

/// One cell of a table: a pattern over a transport at a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    /// The workload.
    pub pattern: Pattern,
    /// The transport.
    pub transport: Transport,
    /// Body size in bytes.
    pub size: usize,
}

/// Run parameters shared by every cell.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Seconds each sender sends.
    pub secs: f64,
    /// Messages queued by the memory workload.
    pub mem_count: u64,
    /// High water mark for the memory workload.
    pub mem_hwm: i32,
    /// Subscribers in the fan-out workload.
    pub subscribers: usize,
    /// The kernel's socket buffers on libsock's and libzmq's sockets.
    pub bufs: KernelBuffers,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh endpoint to bind for `transport`.
fn endpoint(transport: Transport) -> String {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    match transport {
        Transport::Tcp => "tcp://127.0.0.1:0".to_string(),
        Transport::Ipc => format!("ipc:///tmp/libsock-bench-{pid}-{seq}.ipc"),
        Transport::Inproc => format!("inproc://bench-{seq}"),
        Transport::Ws => "ws://127.0.0.1:0/".to_string(),
        Transport::Wss => "wss://127.0.0.1:0/".to_string(),
    }
}

/// Removes the socket file an ipc endpoint left behind.
struct IpcCleanup(String);

impl Drop for IpcCleanup {
    fn drop(&mut self) {
        if let Some(path) = self.0.strip_prefix("ipc://") {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Measures `cell` once for `imp`. The fields are the table's numbers:
/// thr `rate` (msg/s); lat `p50_us`, `p99_us`; pubsub `rate` (msg/s per subscriber),
/// `delivered` (fraction); mem `send_growth`, `recv_growth` (bytes); and for thr, lat and
/// pubsub the CPU time per message (per round trip for lat) in ns: `cpu_ns` for both sides
/// together, `cpu_a_ns` for the sender (client, publisher), `cpu_b_ns` for the receiver.
pub fn measure(imp: Impl, cell: Cell, p: &Params) -> Result<Fields> {
    let ep = endpoint(cell.transport);
    let _cleanup = IpcCleanup(ep.clone());
    let args = WorkerArgs {
        imp,
        job: Job::ThrRecv,
        endpoint: ep,
        size: cell.size,
        secs: p.secs,
        count: p.mem_count,
        hwm: None,
        subscribers: p.subscribers,
        bufs: p.bufs,
    };
    let run_limit = Duration::from_secs_f64(p.secs * 20.0) + SETUP;
    match cell.pattern {
        Pattern::Thr if cell.transport == Transport::Inproc => inproc_thr(args, run_limit),
        Pattern::Thr => thr(args, run_limit),
        Pattern::Lat => lat(args, run_limit),
        Pattern::PubSub => pubsub(args, run_limit),
        Pattern::Mem => mem(WorkerArgs { hwm: Some(p.mem_hwm), ..args }, run_limit),
        Pattern::ProxyThr => super::proxy_cells::proxy_thr(args, run_limit),
        Pattern::ProxyLat => super::proxy_cells::proxy_lat(args, run_limit),
        Pattern::Curve => anyhow::bail!("CURVE rows run through runner::curve_cells"),
    }
}

pub(super) fn with_job(args: &WorkerArgs, job: Job, endpoint: &str) -> WorkerArgs {
    WorkerArgs { job, endpoint: endpoint.to_string(), ..args.clone() }
}

fn thr(args: WorkerArgs, limit: Duration) -> Result<Fields> {
    let mut recv = Worker::spawn(&with_job(&args, Job::ThrRecv, &args.endpoint))?;
    let ep = recv.expect("READY", SETUP)?;
    let mut send = Worker::spawn(&with_job(&args, Job::ThrSend, &ep))?;
    let r = recv.result(limit)?;
    send.result(limit)?;
    send.signal()?;
    let send_cpu = send.finish(EXIT)?;
    let recv_cpu = recv.finish(EXIT)?;
    let mut f = Fields::new();
    f.set("rate", r.get("count")? / r.get("secs")?);
    cpu_fields(&mut f, send_cpu, recv_cpu, r.get("count")?);
    Ok(f)
}

fn inproc_thr(args: WorkerArgs, limit: Duration) -> Result<Fields> {
    let mut w = Worker::spawn(&with_job(&args, Job::InprocThr, &args.endpoint))?;
    let r = w.result(limit)?;
    let cpu = w.finish(EXIT)?;
    let mut f = Fields::new();
    f.set("rate", r.get("a.count")? / r.get("a.secs")?);
    cpu_fields(&mut f, cpu, 0.0, r.get("a.count")?);
    Ok(f)
}

fn lat(args: WorkerArgs, limit: Duration) -> Result<Fields> {
    let mut server = Worker::spawn(&with_job(&args, Job::LatServer, &args.endpoint))?;
    let ep = server.expect("READY", SETUP)?;
    let mut client = Worker::spawn(&with_job(&args, Job::LatClient, &ep))?;
    let r = client.result(limit)?;
    let s = server.result(limit)?;
    server.signal()?;
    let client_cpu = client.finish(EXIT)?;
    let server_cpu = server.finish(EXIT)?;
    let mut f = Fields::new();
    f.set("p50_us", r.get("p50")? / 1e3).set("p99_us", r.get("p99")? / 1e3).set("count", r.get("count")?);
    // Per round trip, warm-up included (the server echoed every one).
    cpu_fields(&mut f, client_cpu, server_cpu, s.get("echoed")?);
    Ok(f)
}

fn pubsub(args: WorkerArgs, limit: Duration) -> Result<Fields> {
    let mut publisher = Worker::spawn(&with_job(&args, Job::Pub, &args.endpoint))?;
    let ep = publisher.expect("READY", SETUP)?;
    let mut subs = Worker::spawn(&with_job(&args, Job::Sub, &ep))?;
    subs.expect("READY", SETUP)?;
    publisher.signal()?;
    let p = publisher.result(limit)?;
    let s = subs.result(limit)?;
    publisher.signal()?;
    let subs_cpu = subs.finish(EXIT)?;
    let pub_cpu = publisher.finish(EXIT)?;
    let (received, n) = (s.get("received")?, s.get("subs")?);
    let secs = s.get("secs")?.max(1e-9);
    let mut f = Fields::new();
    f.set("rate", received / n / secs)
        .set("delivered", received / (n * p.get("sent")?))
        .set("timeouts", s.get("timeouts")?);
    // Per message delivered to a subscriber (what is dropped at the HWM costs CPU too).
    cpu_fields(&mut f, pub_cpu, subs_cpu, received);
    Ok(f)
}

fn mem(args: WorkerArgs, limit: Duration) -> Result<Fields> {
    let mut recv = Worker::spawn(&with_job(&args, Job::MemRecv, &args.endpoint))?;
    let ep = recv.expect("READY", SETUP)?;
    let mut send = Worker::spawn(&with_job(&args, Job::MemSend, &ep))?;
    recv.expect("READY", SETUP)?;
    send.signal()?;
    let s = send.result(limit)?;
    recv.signal()?;
    let r = recv.result(limit)?;
    send.signal()?;
    recv.finish(EXIT)?;
    send.finish(EXIT)?;
    let mut f = Fields::new();
    f.set("send_growth", s.get("growth")?).set("recv_growth", r.get("growth")?);
    Ok(f)
}

/// CPU per message from the two processes' CPU seconds (inproc: one process, `b` = 0).
fn cpu_fields(f: &mut Fields, a_secs: f64, b_secs: f64, messages: f64) {
    let per = |secs: f64| secs * 1e9 / messages.max(1.0);
    f.set("cpu_ns", per(a_secs + b_secs)).set("cpu_a_ns", per(a_secs)).set("cpu_b_ns", per(b_secs));
}
