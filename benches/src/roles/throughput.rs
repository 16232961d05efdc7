//! PUSH/PULL throughput: a receiver that times, a sender that floods.

use std::time::Instant;

use anyhow::Result;

use super::{check_size, must, payload, Spec, BATCH, END};
use crate::coord::Coord;
use crate::stats::Fields;
use crate::workload::{Lib, Role, Sock};

/// PULL: binds, times from the first message to the end marker. Reports `count`, `secs`.
pub fn thr_recv<L: Lib>(lib: &L, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = lib.socket(Role::Pull, &spec.opts())?;
    let ep = s.bind(&spec.endpoint)?;
    coord.ready(&ep);
    let first = must(s.recv()?)?;
    check_size(first, spec.size)?;
    let t0 = Instant::now();
    let mut count = 1u64;
    loop {
        let r = must(s.recv()?)?;
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

/// PUSH: connects, sends for `secs`, then the end marker; stays until signalled.
pub fn thr_send<L: Lib>(lib: &L, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = lib.socket(Role::Push, &spec.opts())?;
    s.connect(&spec.endpoint)?;
    let body = payload(spec.size);
    let deadline = Instant::now() + spec.duration();
    let mut sent = 0u64;
    loop {
        for _ in 0..BATCH {
            s.send(&body)?;
        }
        sent += BATCH;
        if Instant::now() >= deadline {
            break;
        }
    }
    s.send(END)?;
    s.flush()?;
    coord.report(Fields::new().set("sent", sent as f64));
    coord.wait_signals(1);
    Ok(())
}
