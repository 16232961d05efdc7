//! The workloads, written once over [`Sock`](crate::workload::Sock) and its `Lib` (zmq.rs,
//! which is async-only, mirrors them in `imp::zeromq`).
//!
//! Every run is bounded by time, not by a message count: senders send for `secs`, then an
//! empty message ([`END`]) that tells the receiver to stop. So a cell takes about the same
//! wall time whether the implementation moves 50 k or 5 M messages a second. Receivers time
//! from their first message to the end marker, the way libzmq's `local_thr` does.
//!
//! Markers live in the first body byte: data bodies are filled with [`DATA`], PUB/SUB probes
//! (sent until every subscriber saw one, to get past the slow-joiner window) are [`PROBE`].

mod fanout;
mod inproc;
mod latency;
mod memory;
pub mod proxy;
mod throughput;

use std::time::Duration;

use anyhow::{anyhow, bail, Result};

use crate::coord::Coord;
use crate::workload::{KernelBuffers, Lib, Recvd, SockOpts};

pub use fanout::{publisher, report_subs, subscribers, IdleWatch, Joined, SubSeen};
pub use inproc::in_process;
pub use latency::{lat_client, lat_server};
pub use memory::{mem_recv, mem_send};
pub use throughput::{thr_recv, thr_send};

/// First byte of every data body.
pub const DATA: u8 = b'D';
/// A PUB/SUB probe body.
pub const PROBE: u8 = b'P';
/// The end marker is an empty message.
pub const END: &[u8] = &[];
/// Sends between two looks at the clock.
pub const BATCH: u64 = 64;
/// How long a subscriber waits for the next message once data flowed, before giving up on
/// the end marker (PUB may drop it at its high water mark).
pub const SUB_IDLE: Duration = Duration::from_secs(2);
/// How long anybody waits for a connection or a first message.
pub const SETUP_LIMIT: Duration = Duration::from_secs(30);

/// A role as a worker process runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Job {
    /// [`thr_recv`].
    ThrRecv,
    /// [`thr_send`].
    ThrSend,
    /// [`lat_server`].
    LatServer,
    /// [`lat_client`].
    LatClient,
    /// [`publisher`].
    Pub,
    /// [`subscribers`].
    Sub,
    /// [`mem_recv`].
    MemRecv,
    /// [`mem_send`].
    MemSend,
    /// [`thr_recv`] and [`thr_send`] on two threads ([`in_process`]).
    InprocThr,
    /// [`lat_server`] and [`lat_client`] on two threads ([`in_process`]).
    InprocLat,
    /// The relay of the proxy workloads ([`proxy::run`]; libsock and libzmq only).
    Proxy,
}

/// Runs `job` over the blocking implementation `L` (one context for the whole job).
pub fn run<L: Lib>(job: Job, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let lib = L::new()?;
    match job {
        Job::ThrRecv => thr_recv(&lib, spec, coord),
        Job::ThrSend => thr_send(&lib, spec, coord),
        Job::LatServer => lat_server(&lib, spec, coord),
        Job::LatClient => lat_client(&lib, spec, coord),
        Job::Pub => publisher(&lib, spec, coord),
        Job::Sub => subscribers(&lib, spec, coord),
        Job::MemRecv => mem_recv(&lib, spec, coord),
        Job::MemSend => mem_send(&lib, spec, coord),
        Job::InprocThr => in_process(&lib, spec, coord, thr_recv::<L>, thr_send::<L>),
        Job::InprocLat => in_process(&lib, spec, coord, lat_server::<L>, lat_client::<L>),
        Job::Proxy => bail!("the proxy job runs through roles::proxy::run"),
    }
}

/// Parameters of one role.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Where to bind (with port 0) or connect (resolved).
    pub endpoint: String,
    /// Body size in bytes (at least 1).
    pub size: usize,
    /// How long senders send and latency clients ping.
    pub secs: f64,
    /// Messages queued by the memory workload.
    pub count: u64,
    /// High water mark (`None`: the library's default).
    pub hwm: Option<i32>,
    /// Subscribers per subscriber process.
    pub subscribers: usize,
    /// The kernel's socket buffers on libsock's and libzmq's sockets.
    pub bufs: KernelBuffers,
}

impl Spec {
    pub(crate) fn opts(&self) -> SockOpts {
        SockOpts { hwm: self.hwm, recv_timeout_ms: None, bufs: self.bufs }
    }

    pub(crate) fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.secs)
    }
}

/// A data body of `size` bytes.
pub fn payload(size: usize) -> Vec<u8> {
    vec![DATA; size]
}

pub(crate) fn must(r: Option<Recvd>) -> Result<Recvd> {
    r.ok_or_else(|| anyhow!("receive timed out"))
}

pub(crate) fn check_size(r: Recvd, size: usize) -> Result<()> {
    if r.len != size {
        bail!("message of incorrect size received: {} (expected {size})", r.len);
    }
    Ok(())
}
