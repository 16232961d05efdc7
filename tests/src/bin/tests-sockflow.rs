//! `sockflow` (dataflow's command, `dataflow::cli::main_with`), built in this crate so that
//! its integration tests can run it as a separate process (`CARGO_BIN_EXE_tests-sockflow`),
//! with one component of its own for them: `Stall`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dataflow::{Bolt, BoltCollector, OutputDeclarer, Registry, StopSignal, TaskContext, Tuple};

/// Acks its inputs for `afterSecs` (a property, default 0) after `prepare`, then never
/// returns from `execute` until the topology stops (or ever, with `heedsStop: false`), and
/// never says it is alive meanwhile: a bolt stuck as user code gets stuck
/// (tests/tests/sockflow_health.rs).
struct Stall {
    after: Duration,
    heeds_stop: bool,
    since: Instant,
    stop: StopSignal,
}

impl Bolt for Stall {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}

    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        (self.since, self.stop) = (Instant::now(), ctx.stop.clone());
        Ok(())
    }

    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        while self.since.elapsed() >= self.after && !(self.heeds_stop && self.stop.is_set()) {
            std::thread::sleep(Duration::from_millis(20));
        }
        c.ack(&input);
    }
}

fn main() -> std::process::ExitCode {
    let mut registry = Registry::new();
    registry.register_bolt("Stall", |p| {
        let after = Duration::from_secs(p.u64("afterSecs")?.unwrap_or(0));
        let heeds_stop = p.bool("heedsStop")?.unwrap_or(true);
        Ok(Arc::new(move || {
            let stop = StopSignal::default();
            Box::new(Stall { after, heeds_stop, since: Instant::now(), stop }) as Box<dyn Bolt>
        }))
    });
    dataflow::cli::main_with(registry)
}
