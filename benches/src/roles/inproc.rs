//! Both sides of a workload on two threads of one context (inproc).

use std::thread;

use anyhow::{anyhow, Result};

use super::{Spec, SETUP_LIMIT};
use crate::coord::{Coord, ThreadCoord};
use crate::stats::Fields;
use crate::workload::Lib;

/// Runs a binding role and a connecting role on two threads of one context (inproc), and
/// reports both results, prefixed `a.` (binding side) and `b.` (connecting side).
///
/// Every role reports before it waits for go signals, so: wait until both sides reported (or
/// ended), then signal both, then join.
pub fn in_process<L: Lib>(
    lib: &L,
    spec: &Spec,
    coord: &dyn Coord,
    binder: fn(&L, &Spec, &dyn Coord) -> Result<()>,
    connector: fn(&L, &Spec, &dyn Coord) -> Result<()>,
) -> Result<()> {
    let (a, b) = (ThreadCoord::new(), ThreadCoord::new());
    let (ra, rb) = thread::scope(|scope| {
        let ha = scope.spawn(|| {
            let r = binder(lib, spec, &a);
            a.finish();
            r
        });
        let Some(endpoint) = a.wait_ready(SETUP_LIMIT) else {
            a.signal_all();
            return (ha.join(), Ok(Err(anyhow!("binding side never got ready"))));
        };
        let spec_b = Spec { endpoint, ..spec.clone() };
        let b = &b;
        let hb = scope.spawn(move || {
            let r = connector(lib, &spec_b, b);
            b.finish();
            r
        });
        a.wait_report();
        b.wait_report();
        a.signal_all();
        b.signal_all();
        (ha.join(), hb.join())
    });
    ra.map_err(|_| anyhow!("binding side panicked"))??;
    rb.map_err(|_| anyhow!("connecting side panicked"))??;
    let mut f = Fields::new();
    f.merge("a.", &a.take_report().unwrap_or_default());
    f.merge("b.", &b.take_report().unwrap_or_default());
    coord.report(&f);
    Ok(())
}
