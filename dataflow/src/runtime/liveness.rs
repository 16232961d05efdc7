//! Whether a worker's executors are alive: each one's [`Heartbeat`] against
//! `topology.worker.timeout.secs`. What `/healthz` and the systemd watchdog report.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::metrics::escape;
use crate::component::Heartbeat;

/// One executor's heartbeat, named for reports.
struct Beat {
    executor: usize,
    component: Arc<str>,
    heartbeat: Heartbeat,
}

/// The heartbeats of a worker's executors and how long one may be silent. Cheap to clone.
#[derive(Clone)]
pub struct Liveness {
    beats: Arc<[Beat]>,
    timeout: Duration,
}

/// An executor silent for longer than the worker timeout.
#[derive(Clone, Debug, PartialEq)]
pub struct Stalled {
    /// Its component.
    pub component: Arc<str>,
    /// Its executor id (as in `sockflow check`'s plan).
    pub executor: usize,
    /// How long it has been silent.
    pub silent: Duration,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (executor {}) has not come back from a call for {:.0} s",
            self.component,
            self.executor,
            self.silent.as_secs_f64()
        )
    }
}

impl Liveness {
    pub(super) fn new(beats: Vec<(usize, Arc<str>, Heartbeat)>, timeout: Duration) -> Liveness {
        let beats = beats
            .into_iter()
            .map(|(executor, component, heartbeat)| Beat { executor, component, heartbeat })
            .collect();
        Liveness { beats, timeout }
    }

    /// The executors silent for longer than the timeout (`topology.worker.timeout.secs`):
    /// stuck in a spout's or bolt's call that never returns. Empty when all is well.
    pub fn stalled(&self) -> Vec<Stalled> {
        let now = Instant::now();
        self.beats
            .iter()
            .map(|b| Stalled {
                component: b.component.clone(),
                executor: b.executor,
                silent: b.heartbeat.silent_at(now),
            })
            .filter(|s| s.silent > self.timeout)
            .collect()
    }

    /// The timeout it checks against.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `Ok` with a line to show, or `Err` naming every stalled executor.
    pub fn check(&self) -> Result<String, String> {
        let stalled = self.stalled();
        if stalled.is_empty() {
            return Ok(format!("ok: {} executors alive", self.beats.len()));
        }
        let names: Vec<String> = stalled.iter().map(ToString::to_string).collect();
        Err(format!("stalled: {}", names.join("; ")))
    }

    /// `sockflow_executor_silent_seconds{topology, component, executor}` in the Prometheus
    /// text format: how long ago each executor last showed life (normally under a second).
    pub fn prometheus(&self, topology: &str) -> String {
        let now = Instant::now();
        let mut out = String::from(
            "# HELP sockflow_executor_silent_seconds Time since the executor last showed life \
             (over topology.worker.timeout.secs: stuck).\n# TYPE sockflow_executor_silent_seconds gauge\n",
        );
        for b in self.beats.iter() {
            let _ = writeln!(
                out,
                "sockflow_executor_silent_seconds{{topology=\"{}\",component=\"{}\",executor=\"{}\"}} {:.3}",
                escape(topology),
                escape(&b.component),
                b.executor,
                b.heartbeat.silent_at(now).as_secs_f64()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_executor_silent_past_the_timeout_is_stalled_until_it_beats() {
        let epoch = Instant::now() - Duration::from_secs(10);
        let (quiet, busy) = (Heartbeat::new(epoch), Heartbeat::new(epoch));
        busy.beat();
        let live = Liveness::new(
            vec![(3, "split".into(), quiet.clone()), (4, "count".into(), busy)],
            Duration::from_secs(5),
        );
        let stalled = live.stalled();
        assert_eq!(stalled.len(), 1);
        assert_eq!((&*stalled[0].component, stalled[0].executor), ("split", 3));
        assert!(stalled[0].silent >= Duration::from_secs(10));
        let err = live.check().unwrap_err();
        assert!(err.starts_with("stalled: split (executor 3) has not come back from a call for 1"), "{err}");
        quiet.beat();
        assert_eq!(live.check(), Ok("ok: 2 executors alive".to_owned()));
        let text = live.prometheus("t\"1");
        assert!(text.contains("sockflow_executor_silent_seconds{topology=\"t\\\"1\",component=\"split\",executor=\"3\"} 0.0"), "{text}");
    }
}
