//! Per-task metrics: counters and latency histograms (hdrhistogram, microseconds).
//!
//! Executors update their own [`TaskMetrics`] with no locking and publish a copy to the
//! shared [`MetricsHub`] about once a second and at exit; readers (the periodic print, the
//! Prometheus endpoint, tests) only ever see published copies.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;

type Counter = (&'static str, &'static str, fn(&TaskMetrics) -> u64);
type Hist = (&'static str, &'static str, fn(&TaskMetrics) -> &Histogram<u64>);

/// One task's figures.
#[derive(Clone, Debug)]
pub struct TaskMetrics {
    /// Component id.
    pub component: Arc<str>,
    /// Task id.
    pub task: u32,
    /// Emit calls.
    pub emitted: u64,
    /// Tuples sent to tasks (an emit to three tasks counts three).
    pub transferred: u64,
    /// Spouts: trees completed; bolts: inputs acked; ackers: trees completed.
    pub acked: u64,
    /// Spouts: trees failed; bolts: inputs failed; ackers: trees failed or timed out.
    pub failed: u64,
    /// Errors the component reported (`report_error`, a multilang child's `error`).
    pub errors: u64,
    /// Ackers: trees refused, their owner being no spout task or the acker full
    /// (`topology.acker.max.pending`).
    pub refused: u64,
    /// Bolts: execute latency in µs (sampled at `topology.stats.sample.rate`).
    pub execute_us: Histogram<u64>,
    /// Spouts: complete latency in µs (emit to ack), every tree.
    pub complete_us: Histogram<u64>,
    /// Values the component set by name (`set_metric`, a multilang child's `metrics`
    /// command), at most 64 names.
    pub custom: Vec<(String, f64)>,
}

/// Names a task may set with `set_metric` (more are dropped: a child may send any).
pub const MAX_CUSTOM_METRICS: usize = 64;
/// The longest metric name kept, in bytes.
pub const MAX_METRIC_NAME: usize = 128;

impl TaskMetrics {
    /// Zeroed metrics for a task.
    pub fn new(component: Arc<str>, task: u32) -> TaskMetrics {
        let h = || Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds");
        TaskMetrics {
            component,
            task,
            emitted: 0,
            transferred: 0,
            acked: 0,
            failed: 0,
            errors: 0,
            refused: 0,
            execute_us: h(),
            complete_us: h(),
            custom: Vec::new(),
        }
    }

    /// Sets a named value; false if it was refused (not finite, a name empty or too long, or
    /// the task already has [`MAX_CUSTOM_METRICS`] others).
    pub(crate) fn set_custom(&mut self, name: &str, value: f64) -> bool {
        if !value.is_finite() || name.is_empty() || name.len() > MAX_METRIC_NAME {
            return false;
        }
        if let Some((_, v)) = self.custom.iter_mut().find(|(n, _)| n == name) {
            *v = value;
        } else if self.custom.len() < MAX_CUSTOM_METRICS {
            self.custom.push((name.to_owned(), value));
        } else {
            return false;
        }
        true
    }

    /// Records a latency, saturating at the histogram's bound.
    pub(crate) fn record(h: &mut Histogram<u64>, us: u64) {
        h.saturating_record(us.max(1));
    }
}

/// Published copies of every task's metrics, indexed by task id.
#[derive(Default)]
pub struct MetricsHub {
    slots: Mutex<Vec<Option<TaskMetrics>>>,
}

impl MetricsHub {
    /// Replaces the published copy of these tasks' metrics.
    pub(crate) fn publish(&self, tasks: &[TaskMetrics]) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        for t in tasks {
            let i = t.task as usize;
            if slots.len() <= i {
                slots.resize(i + 1, None);
            }
            slots[i] = Some(t.clone());
        }
    }

    /// A snapshot of every task's last published metrics.
    pub fn snapshot(&self) -> Vec<TaskMetrics> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).iter().flatten().cloned().collect()
    }

    /// Sums a counter over a component's tasks.
    pub fn component_total(&self, component: &str, counter: impl Fn(&TaskMetrics) -> u64) -> u64 {
        self.snapshot().iter().filter(|t| &*t.component == component).map(counter).sum()
    }

    /// A human-readable table, one line per task (errors: what the task reported with
    /// `report_error`; the rest of its figures are in [`MetricsHub::prometheus`]).
    pub fn table(&self) -> String {
        let mut s = String::from("component        task    emitted transferred      acked     failed  exec p50/p99 µs  complete p50/p99 µs   errors\n");
        for t in self.snapshot() {
            let q = |h: &Histogram<u64>| {
                if h.is_empty() {
                    "-".to_owned()
                } else {
                    format!("{}/{}", h.value_at_quantile(0.5), h.value_at_quantile(0.99))
                }
            };
            let _ = writeln!(
                s,
                "{:<16} {:>4} {:>10} {:>11} {:>10} {:>10} {:>16} {:>20} {:>8}",
                t.component,
                t.task,
                t.emitted,
                t.transferred,
                t.acked,
                t.failed,
                q(&t.execute_us),
                q(&t.complete_us),
                t.errors
            );
        }
        s
    }

    /// The Prometheus text exposition format.
    pub fn prometheus(&self, topology: &str) -> String {
        let snap = self.snapshot();
        let mut s = String::new();
        let counters: [Counter; 6] = [
            ("emitted", "Emit calls", |t| t.emitted),
            ("transferred", "Tuples sent to tasks", |t| t.transferred),
            ("acked", "Tuples or trees acked", |t| t.acked),
            ("failed", "Tuples or trees failed", |t| t.failed),
            ("errors", "Errors the component reported", |t| t.errors),
            ("refused", "Trees an acker refused (owner no spout task, or acker full)", |t| t.refused),
        ];
        for (name, help, get) in counters {
            let _ = writeln!(s, "# HELP sockflow_{name}_total {help}.\n# TYPE sockflow_{name}_total counter");
            for t in &snap {
                let _ = writeln!(s, "sockflow_{name}_total{{{}}} {}", labels(topology, t), get(t));
            }
        }
        let _ = writeln!(
            s,
            "# HELP sockflow_component_metric Values components set (set_metric, a multilang child's metrics command).\n\
             # TYPE sockflow_component_metric gauge"
        );
        for t in &snap {
            for (name, v) in &t.custom {
                let _ = writeln!(
                    s,
                    "sockflow_component_metric{{{},name=\"{}\"}} {v}",
                    labels(topology, t),
                    escape(name)
                );
            }
        }
        let hists: [Hist; 2] = [
            ("execute_latency_seconds", "Bolt execute latency (sampled)", |t| &t.execute_us),
            ("complete_latency_seconds", "Spout tuple tree complete latency", |t| &t.complete_us),
        ];
        for (name, help, get) in hists {
            let _ = writeln!(s, "# HELP sockflow_{name} {help}.\n# TYPE sockflow_{name} summary");
            for t in snap.iter().filter(|t| !get(t).is_empty()) {
                let h = get(t);
                for q in [0.5, 0.99] {
                    let v = h.value_at_quantile(q) as f64 / 1e6;
                    let _ = writeln!(s, "sockflow_{name}{{{},quantile=\"{q}\"}} {v}", labels(topology, t));
                }
                let _ = writeln!(s, "sockflow_{name}_count{{{}}} {}", labels(topology, t), h.len());
            }
        }
        s
    }
}

fn labels(topology: &str, t: &TaskMetrics) -> String {
    format!("topology=\"{}\",component=\"{}\",task=\"{}\"", escape(topology), escape(&t.component), t.task)
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
pub(super) fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_metrics_are_bounded_and_escaped() {
        let mut t = TaskMetrics::new("c".into(), 1);
        assert!(t.set_custom("queue \"depth\"\n", 3.0));
        assert!(t.set_custom("queue \"depth\"\n", 4.5), "an update");
        assert!(
            !t.set_custom("nan", f64::NAN) && !t.set_custom("", 1.0) && !t.set_custom(&"x".repeat(129), 1.0)
        );
        for k in 1..MAX_CUSTOM_METRICS {
            assert!(t.set_custom(&format!("m{k}"), k as f64));
        }
        assert!(!t.set_custom("one too many", 1.0));
        let hub = MetricsHub::default();
        hub.publish(&[t]);
        let text = hub.prometheus("t");
        assert!(text.contains("sockflow_component_metric{topology=\"t\",component=\"c\",task=\"1\",name=\"queue \\\"depth\\\"\\n\"} 4.5"), "{text}");
        assert_eq!(text.matches("sockflow_component_metric{").count(), MAX_CUSTOM_METRICS);
    }
}
