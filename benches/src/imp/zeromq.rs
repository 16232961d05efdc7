//! zmq.rs (crate `zeromq` 0.7), which is async-only: the roles of [`crate::roles`] again, as
//! `async fn`s on a multi-threaded tokio runtime (what `#[tokio::main]` gives its users), so
//! the measured loops run inside the runtime rather than paying a `block_on` per message.
//!
//! zmq.rs has no inproc transport, no PAIR and no high water mark option.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use bytes::Bytes;
use tokio::runtime::Handle;
use zeromq::prelude::*;
use zeromq::{PubSocket, PullSocket, PushSocket, RepSocket, ReqSocket, SubSocket, ZmqMessage};

use crate::coord::Coord;
use crate::mem;
use crate::roles::{
    payload, report_subs, IdleWatch, Job, Joined, Spec, SubSeen, BATCH, DATA, END, PROBE, SETUP_LIMIT,
    SUB_IDLE,
};
use crate::stats::{Fields, Latencies};
use crate::workload::Recvd;

/// Runs `job` on a fresh runtime.
pub fn run(job: Job, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if job == Job::Sub {
        return subscribers(rt.handle(), spec, coord);
    }
    rt.block_on(async {
        match job {
            Job::ThrRecv => thr_recv(spec, coord).await,
            Job::ThrSend => thr_send(spec, coord).await,
            Job::LatServer => lat_server(spec, coord).await,
            Job::LatClient => lat_client(spec, coord).await,
            Job::Pub => publisher(spec, coord).await,
            Job::Sub => unreachable!("handled above"),
            Job::MemRecv => mem_recv(spec, coord).await,
            Job::MemSend => mem_send(spec, coord).await,
            Job::InprocThr | Job::InprocLat => bail!("zmq.rs has no inproc transport"),
            Job::Proxy => bail!("zmq.rs has no proxy"),
        }
    })
}

fn msg(data: &[u8]) -> ZmqMessage {
    ZmqMessage::from(Bytes::copy_from_slice(data))
}

fn seen(m: &ZmqMessage) -> Recvd {
    Recvd::of(m.get(0).map_or(&[][..], |b| &b[..]))
}

fn check_size(r: Recvd, size: usize) -> Result<()> {
    if r.len != size {
        bail!("message of incorrect size received: {} (expected {size})", r.len);
    }
    Ok(())
}

async fn thr_recv(spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = PullSocket::new();
    let ep = s.bind(&spec.endpoint).await?;
    coord.ready(&ep.to_string());
    check_size(seen(&s.recv().await?), spec.size)?;
    let t0 = Instant::now();
    let mut count = 1u64;
    loop {
        let r = seen(&s.recv().await?);
        if r.len == 0 {
            break;
        }
        check_size(r, spec.size)?;
        count += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    coord.report(Fields::new().set("count", count as f64).set("secs", secs));
    Ok(())
}

async fn thr_send(spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = PushSocket::new();
    s.connect(&spec.endpoint).await?;
    let body = payload(spec.size);
    let deadline = Instant::now() + Duration::from_secs_f64(spec.secs);
    let mut sent = 0u64;
    loop {
        for _ in 0..BATCH {
            s.send(msg(&body)).await?;
        }
        sent += BATCH;
        if Instant::now() >= deadline {
            break;
        }
    }
    s.send(msg(END)).await?;
    coord.report(Fields::new().set("sent", sent as f64));
    tokio::task::block_in_place(|| coord.wait_signals(1));
    Ok(())
}

async fn lat_server(spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = RepSocket::new();
    let ep = s.bind(&spec.endpoint).await?;
    coord.ready(&ep.to_string());
    let mut count = 0u64;
    loop {
        let m = s.recv().await?;
        let n = seen(&m).len;
        s.send(m).await?;
        if n == 0 {
            break;
        }
        count += 1;
    }
    coord.report(Fields::new().set("echoed", count as f64));
    tokio::task::block_in_place(|| coord.wait_signals(1));
    Ok(())
}

async fn lat_client(spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = ReqSocket::new();
    s.connect(&spec.endpoint).await?;
    let body = payload(spec.size);
    let secs = Duration::from_secs_f64(spec.secs);
    let warm_until = Instant::now() + secs.mul_f64(0.1).min(Duration::from_millis(200));
    let mut i = 0;
    while i < 10 || Instant::now() < warm_until {
        s.send(msg(&body)).await?;
        check_size(seen(&s.recv().await?), spec.size)?;
        i += 1;
    }
    let mut lat = Latencies::new();
    let deadline = Instant::now() + secs;
    loop {
        let t = Instant::now();
        s.send(msg(&body)).await?;
        check_size(seen(&s.recv().await?), spec.size)?;
        let now = Instant::now();
        lat.record(now - t);
        if now >= deadline {
            break;
        }
    }
    s.send(msg(END)).await?;
    s.recv().await?;
    let mut f = Fields::new();
    f.set("count", lat.count() as f64);
    lat.fields(&mut f);
    coord.report(&f);
    Ok(())
}

async fn publisher(spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = PubSocket::new();
    let ep = s.bind(&spec.endpoint).await?;
    coord.ready(&ep.to_string());
    let setup_limit = Instant::now() + SETUP_LIMIT;
    while coord.signals() < 1 {
        s.send(msg(&[PROBE])).await?;
        tokio::time::sleep(Duration::from_millis(10)).await;
        if Instant::now() > setup_limit {
            bail!("subscribers never became ready");
        }
    }
    let body = payload(spec.size);
    let deadline = Instant::now() + Duration::from_secs_f64(spec.secs);
    let mut sent = 0u64;
    loop {
        for _ in 0..BATCH {
            s.send(msg(&body)).await?;
        }
        sent += BATCH;
        if Instant::now() >= deadline {
            break;
        }
    }
    for _ in 0..5 {
        s.send(msg(END)).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    coord.report(Fields::new().set("sent", sent as f64));
    tokio::task::block_in_place(|| coord.wait_signals(2));
    Ok(())
}

async fn subscriber(spec: &Spec, joined: &Joined<'_>) -> Result<SubSeen> {
    let mut s = SubSocket::new();
    s.subscribe("").await?;
    s.connect(&spec.endpoint).await?;
    let tick = Duration::from_millis(100);
    let started = Instant::now();
    loop {
        match tokio::time::timeout(tick, s.recv()).await {
            Ok(Ok(m)) if seen(&m).first == Some(PROBE) => break,
            Ok(Err(e)) => return Err(e.into()),
            _ if started.elapsed() > SETUP_LIMIT => bail!("no probe reached the subscriber"),
            _ => {}
        }
    }
    joined.arrived();
    let mut out = SubSeen::default();
    let mut watch = IdleWatch::start();
    loop {
        match tokio::time::timeout(tick, s.recv()).await {
            Ok(m) => {
                let r = seen(&m?);
                if r.len == 0 {
                    break;
                }
                if r.first == Some(DATA) {
                    check_size(r, spec.size)?;
                    out.data();
                }
            }
            Err(_) => match out.idle_for(&mut watch) {
                idle if out.count > 0 && idle > SUB_IDLE => {
                    out.timed_out = true;
                    break;
                }
                idle if idle > SETUP_LIMIT => bail!("no data reached the subscriber"),
                _ => {}
            },
        }
    }
    Ok(out)
}

fn subscribers(handle: &Handle, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let joined = Joined::new(spec.subscribers, coord);
    let seen = thread::scope(|scope| {
        let handles: Vec<_> = (0..spec.subscribers)
            .map(|_| scope.spawn(|| handle.block_on(subscriber(spec, &joined))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("subscriber panicked"))?)
            .collect::<Result<Vec<_>>>()
    })?;
    report_subs(coord, &seen);
    Ok(())
}

async fn settled_growth(base: u64) -> Result<Fields> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = mem::rss()?;
    let mut f = Fields::new();
    f.set("growth", r.peak.saturating_sub(base) as f64).set("base", base as f64).set("peak", r.peak as f64);
    Ok(f)
}

async fn baseline() -> Result<u64> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    mem::reset_peak();
    Ok(mem::rss()?.now)
}

async fn mem_recv(spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = PullSocket::new();
    let ep = s.bind(&spec.endpoint).await?;
    coord.ready(&ep.to_string());
    check_size(seen(&s.recv().await?), spec.size)?;
    let base = baseline().await?;
    coord.ready("baseline");
    tokio::task::block_in_place(|| coord.wait_signals(1));
    let mut f = settled_growth(base).await?;
    for _ in 0..spec.count {
        check_size(seen(&s.recv().await?), spec.size)?;
    }
    f.set("received", spec.count as f64);
    coord.report(&f);
    Ok(())
}

async fn mem_send(spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = PushSocket::new();
    s.connect(&spec.endpoint).await?;
    let body = payload(spec.size);
    s.send(msg(&body)).await?;
    tokio::task::block_in_place(|| coord.wait_signals(1));
    let base = baseline().await?;
    for _ in 0..spec.count {
        s.send(msg(&body)).await?;
    }
    coord.report(&settled_growth(base).await?);
    tokio::task::block_in_place(|| coord.wait_signals(2));
    Ok(())
}
