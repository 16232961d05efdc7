//! The relay in the middle of the proxy workloads: libsock's [`libsock::Proxy`] (what
//! `sockdev` runs) or libzmq's `zmq_proxy_steerable`, in its own worker process.
//!
//! `spec.endpoint` is `DEVICE|FRONTEND_BIND|BACKEND_CONNECT`, DEVICE `streamer` (PULL/PUSH)
//! or `queue` (ROUTER/DEALER). The worker binds the frontend, connects the backend to the
//! receiver (or REP server), prints `READY <frontend endpoint>`, and forwards until signalled.

use anyhow::{anyhow, bail, Result};

use super::Spec;
use crate::coord::Coord;
use crate::workload::Impl;

/// Runs the relay for `imp` (libsock or libzmq only).
pub fn run(imp: Impl, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut parts = spec.endpoint.splitn(3, '|');
    let (Some(device), Some(fe), Some(be)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("a proxy endpoint is DEVICE|FRONTEND|BACKEND, not {}", spec.endpoint);
    };
    let queue = match device {
        "streamer" => false,
        "queue" => true,
        other => bail!("unknown device {other}"),
    };
    match imp {
        Impl::Libsock => libsock_relay(queue, fe, be, spec, coord),
        Impl::Libzmq => libzmq_relay(queue, fe, be, spec, coord),
        other => bail!("{} has no proxy", other.label()),
    }
}

fn libsock_relay(queue: bool, fe: &str, be: &str, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let ctx = libsock::Context::new();
    let (fk, bk) = if queue { (libsock::ROUTER, libsock::DEALER) } else { (libsock::PULL, libsock::PUSH) };
    let (f, b) = (ctx.socket(fk)?, ctx.socket(bk)?);
    for s in [&f, &b] {
        s.set_linger(0)?;
        if let Some(hwm) = spec.hwm {
            s.set_sndhwm(hwm)?;
            s.set_rcvhwm(hwm)?;
        }
        if let Some(bytes) = spec.bufs.sndbuf {
            s.set_sndbuf(bytes)?;
        }
        if let Some(bytes) = spec.bufs.rcvbuf {
            s.set_rcvbuf(bytes)?;
        }
    }
    f.bind(fe)?;
    b.connect(be)?;
    let mut proxy = libsock::Proxy::new(&f, &b);
    let stopper = proxy.stopper()?;
    coord.ready(&f.get_last_endpoint()?);
    std::thread::scope(|s| {
        s.spawn(|| {
            coord.wait_signals(1);
            stopper.stop();
        });
        proxy.run()
    })?;
    Ok(())
}

fn libzmq_relay(queue: bool, fe: &str, be: &str, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let ctx = zmq::Context::new();
    let (fk, bk) = if queue { (zmq::ROUTER, zmq::DEALER) } else { (zmq::PULL, zmq::PUSH) };
    let (mut f, mut b) = (ctx.socket(fk)?, ctx.socket(bk)?);
    for s in [&f, &b] {
        s.set_linger(0)?;
        if let Some(hwm) = spec.hwm {
            s.set_sndhwm(hwm)?;
            s.set_rcvhwm(hwm)?;
        }
        if let Some(bytes) = spec.bufs.sndbuf {
            s.set_sndbuf(bytes)?;
        }
        if let Some(bytes) = spec.bufs.rcvbuf {
            s.set_rcvbuf(bytes)?;
        }
    }
    f.bind(fe)?;
    b.connect(be)?;
    let mut control = ctx.socket(zmq::PAIR)?;
    control.bind("inproc://bench-proxy-control")?;
    let ep = f.get_last_endpoint()?.map_err(|_| anyhow!("endpoint is not UTF-8"))?;
    coord.ready(&ep);
    let stopper_ctx = ctx.clone();
    std::thread::scope(|s| {
        s.spawn(move || -> Result<()> {
            let stop = stopper_ctx.socket(zmq::PAIR)?;
            stop.connect("inproc://bench-proxy-control")?;
            coord.wait_signals(1);
            stop.send("TERMINATE", 0)?;
            Ok(())
        });
        zmq::proxy_steerable(&mut f, &mut b, &mut control)
    })?;
    Ok(())
}
