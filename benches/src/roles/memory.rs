//! Memory: RSS growth while messages queue up toward a receiver that does not read.

use std::thread;
use std::time::Duration;

use anyhow::Result;

use super::{check_size, must, payload, Spec};
use crate::coord::Coord;
use crate::mem;
use crate::stats::Fields;
use crate::workload::{Lib, Role, Sock};

/// Peak RSS growth since `base`, after letting the I/O threads settle.
fn settled_growth(base: u64) -> Result<Fields> {
    thread::sleep(Duration::from_millis(500));
    let r = mem::rss()?;
    let mut f = Fields::new();
    f.set("growth", r.peak.saturating_sub(base) as f64).set("base", base as f64).set("peak", r.peak as f64);
    Ok(f)
}

fn baseline() -> Result<u64> {
    thread::sleep(Duration::from_millis(100));
    mem::reset_peak();
    Ok(mem::rss()?.now)
}

/// Memory, receiving side: binds, takes one warm-up message, records its baseline, then
/// (once signalled: the sender has queued `count` messages) reports its peak RSS growth and
/// drains.
pub fn mem_recv<L: Lib>(lib: &L, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = lib.socket(Role::Pull, &spec.opts())?;
    let ep = s.bind(&spec.endpoint)?;
    coord.ready(&ep);
    check_size(must(s.recv()?)?, spec.size)?;
    let base = baseline()?;
    coord.ready("baseline");
    coord.wait_signals(1);
    let mut f = settled_growth(base)?;
    for _ in 0..spec.count {
        check_size(must(s.recv()?)?, spec.size)?;
    }
    f.set("received", spec.count as f64);
    coord.report(&f);
    Ok(())
}

/// Memory, sending side: connects, sends one warm-up message, waits for the signal, then
/// queues `count` messages (the receiver is not reading) and reports its peak RSS growth.
pub fn mem_send<L: Lib>(lib: &L, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = lib.socket(Role::Push, &spec.opts())?;
    s.connect(&spec.endpoint)?;
    let body = payload(spec.size);
    s.send(&body)?;
    coord.wait_signals(1);
    let base = baseline()?;
    for _ in 0..spec.count {
        s.send(&body)?;
    }
    coord.report(&settled_growth(base)?);
    coord.wait_signals(2);
    Ok(())
}
