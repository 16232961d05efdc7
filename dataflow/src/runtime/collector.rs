//! Emitting: grouping each tuple onto tasks, tuple-tree ids, and the collectors components see.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::acker::IdMap;
use super::metrics::{TaskMetrics, MAX_CUSTOM_METRICS, MAX_METRIC_NAME};
use super::transfer::Transfer;
use crate::grouping::{Chooser, Grouping};
use crate::plan::Plan;
use crate::tuple::DEFAULT_STREAM;
use crate::tuple::{Tuple, Value};
use crate::wire::{self, Item, Kind};

/// Above this many anchors, an emit finds its roots by hash (see `tree_ids`).
const MANY_ANCHORS: usize = 8;

/// One stream a task emits on: where each route's tuples go.
struct StreamRoutes {
    name: Arc<str>,
    index: u32,
    direct: bool,
    choosers: Vec<Chooser>,
    /// Tasks of each direct route's subscriber (for checking `emit_direct`).
    direct_tasks: Vec<u32>,
}

/// How the tuples of an emit join tuple trees.
pub(crate) enum Anchoring<'a> {
    /// Unanchored: not tracked.
    None,
    /// Anchored to these input tuples (bolts).
    Tuples(&'a [&'a Tuple]),
    /// The root of a new tree (spouts); the XOR of the edge ids is written back.
    Root(u64, &'a mut u64),
}

/// Everything an executor's tasks emit goes through here.
pub(crate) struct Emitter {
    pub(crate) plan: Arc<Plan>,
    pub(crate) transfer: Transfer,
    pub(crate) metrics: Vec<TaskMetrics>,
    pub(crate) acking: bool,
    pub(crate) halted: bool,
    tasks: Vec<u32>,
    routes: Vec<Vec<StreamRoutes>>,
    chosen: Vec<u32>,
    /// Scratch for one tuple's tree ids (reused: no allocation per emit).
    roots: Vec<u64>,
    edges: Vec<u64>,
    rng: fastrand::Rng,
    /// Per task: how many reported errors it may still log.
    error_log: Vec<ErrorThrottle>,
    /// `set_metric` calls refused, for the log.
    metrics_refused: u64,
    /// `topology.debug`: every emit is logged.
    pub(crate) debug: bool,
}

/// What `topology.debug` logs for each emit (as Storm's "Emitting: …").
#[cold]
fn log_emit(task: &TaskMetrics, stream: &str, values: &[Value], to: &[u32]) {
    let values: Vec<String> = values.iter().map(ToString::to_string).collect();
    tracing::info!(
        "{} task {}: emitting on {stream} to {to:?}: {}",
        task.component,
        task.task,
        values.join(", ")
    );
}

/// Lets `limit` reported errors a task be logged per `interval` (Storm's
/// `topology.max.error.report.per.interval` and `topology.error.throttle.interval.secs`,
/// 5 per 10 s by default); the rest are only counted.
#[derive(Clone, Copy, Debug)]
struct ErrorThrottle {
    since: Instant,
    logged: u32,
    limit: u32,
    interval: Duration,
}

impl ErrorThrottle {
    fn new(limit: u32, interval: Duration) -> ErrorThrottle {
        ErrorThrottle { since: Instant::now(), logged: 0, limit, interval }
    }

    /// Whether an error at `now` is logged, and if so whether it is the interval's last.
    fn admit(&mut self, now: Instant) -> Option<bool> {
        if now.duration_since(self.since) >= self.interval {
            (self.since, self.logged) = (now, 0);
        }
        (self.logged < self.limit).then(|| {
            self.logged += 1;
            self.logged == self.limit
        })
    }
}
/// A reported error's text is logged up to this many bytes.
const MAX_ERROR_TEXT: usize = 1024;

impl Emitter {
    pub(crate) fn new(plan: Arc<Plan>, transfer: Transfer, component: usize, tasks: &[u32]) -> Emitter {
        let routes = tasks
            .iter()
            .map(|&task| {
                plan.streams
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.component == component)
                    .map(|(i, s)| StreamRoutes {
                        name: s.id.clone(),
                        index: i as u32,
                        direct: s.direct,
                        choosers: s
                            .routes
                            .iter()
                            .map(|r| {
                                let local = crate::workers::local_tasks(&plan, task, &r.grouping, &r.tasks);
                                Chooser::new(
                                    &r.grouping,
                                    local.as_deref().unwrap_or(&r.tasks),
                                    r.keys.clone(),
                                    u64::from(task) * 7919 + i as u64,
                                )
                            })
                            .collect(),
                        direct_tasks: s
                            .routes
                            .iter()
                            .filter(|r| matches!(r.grouping, Grouping::Direct))
                            .flat_map(|r| r.tasks.iter().copied())
                            .collect(),
                    })
                    .collect()
            })
            .collect();
        let metrics =
            tasks.iter().map(|&t| TaskMetrics::new(plan.components[component].id.clone(), t)).collect();
        let acking = !plan.acker_tasks.is_empty();
        let rng = fastrand::Rng::new();
        Emitter {
            plan,
            transfer,
            metrics,
            acking,
            halted: false,
            tasks: tasks.to_vec(),
            routes,
            chosen: Vec::new(),
            roots: Vec::new(),
            edges: Vec::new(),
            rng,
            error_log: vec![ErrorThrottle::new(5, Duration::from_secs(10)); tasks.len()],
            metrics_refused: 0,
            debug: false,
        }
    }

    /// Logs at most `limit` reported errors a task every `interval` (the rest are counted).
    pub(crate) fn throttle_errors(&mut self, limit: u32, interval: Duration) {
        self.error_log.iter_mut().for_each(|t| *t = ErrorThrottle::new(limit, interval));
    }

    /// Sets task `local`'s named value (a gauge in the Prometheus output); one refused (see
    /// `TaskMetrics::set_custom`) is logged at the 1st, 2nd, 4th… refusal.
    pub(crate) fn set_metric(&mut self, local: usize, name: &str, value: f64) {
        let m = &mut self.metrics[local];
        if !m.set_custom(name, value) {
            self.metrics_refused += 1;
            if self.metrics_refused.is_power_of_two() {
                let mut end = name.len().min(MAX_METRIC_NAME);
                while !name.is_char_boundary(end) {
                    end -= 1;
                }
                tracing::warn!(
                    "{} task {}: metric {:?} = {value} refused (not finite, a name empty or over {MAX_METRIC_NAME} \
                     bytes, or over {MAX_CUSTOM_METRICS} names; {} refused so far)",
                    m.component,
                    m.task,
                    &name[..end],
                    self.metrics_refused
                );
            }
        }
    }

    /// A component reported an error (Storm's `reportError`): counted in the task's
    /// `errors`, logged at most [`ERRORS_LOGGED_PER_INTERVAL`] times per [`ERROR_INTERVAL`].
    pub(crate) fn report_error(&mut self, local: usize, error: &str) {
        let m = &mut self.metrics[local];
        m.errors += 1;
        if let Some(last) = self.error_log[local].admit(Instant::now()) {
            let mut end = error.len().min(MAX_ERROR_TEXT);
            while !error.is_char_boundary(end) {
                end -= 1;
            }
            let interval = self.error_log[local].interval;
            let more =
                if last { format!(" (more in the next {interval:?}: counted only)") } else { String::new() };
            tracing::error!("{} task {}: error: {}{more}", m.component, m.task, &error[..end]);
        }
    }

    /// Sends an item to the executor running `task`. A task the plan does not have (a
    /// peer's bad item made it here) is dropped with an error, not indexed.
    pub(crate) fn send_to_task(&mut self, item: &Item) {
        let Some(&exec) = self.plan.task_executor.get(item.dest_task as usize).filter(|&&e| e != usize::MAX)
        else {
            tracing::error!("dropped an item for task {}: no such task in the plan", item.dest_task);
            return;
        };
        if self.transfer.push(exec, item).is_err() {
            self.halted = true;
        }
    }

    /// The acker task of a tree.
    pub(crate) fn acker_for(&self, root: u64) -> u32 {
        let a = &self.plan.acker_tasks;
        a[(root % a.len() as u64) as usize]
    }

    /// Emits from local task `local`; returns the tasks the tuple went to.
    pub(crate) fn emit(
        &mut self,
        local: usize,
        stream: &str,
        values: Vec<Value>,
        direct: Option<u32>,
        mut anchoring: Anchoring<'_>,
    ) -> &[u32] {
        self.chosen.clear();
        let Some(at) = self.routes[local].iter().position(|r| &*r.name == stream) else {
            tracing::error!(
                "{}: emit on undeclared stream {stream:?} dropped",
                self.plan.components[self.plan.task_component[self.tasks[local] as usize]].id
            );
            return &[];
        };
        // As in Storm, a tuple has its stream's declared arity (receivers rely on it).
        let declared = self.plan.streams[self.routes[local][at].index as usize].fields.len();
        if values.len() != declared {
            let what = format!(
                "emit of {} value(s) on stream {stream:?} of {declared} field(s) dropped",
                values.len()
            );
            self.report_error(local, &what);
            return &[];
        }
        let routes = &mut self.routes[local][at];
        match direct {
            Some(task) if routes.direct && routes.direct_tasks.contains(&task) => self.chosen.push(task),
            Some(task) => {
                tracing::error!("emit_direct to task {task} on stream {stream:?}: not a direct stream or not a subscriber");
                return &[];
            }
            None if routes.direct => {
                tracing::error!("stream {stream:?} is direct: use emit_direct");
                return &[];
            }
            None => routes.choosers.iter_mut().for_each(|c| c.choose(&values, &mut self.chosen)),
        }
        let index = routes.index;
        if self.debug {
            log_emit(&self.metrics[local], stream, &values, &self.chosen);
        }
        let m = &mut self.metrics[local];
        m.emitted += 1;
        m.transferred += self.chosen.len() as u64;
        let src_task = self.tasks[local];
        let chosen = std::mem::take(&mut self.chosen);
        for &dest_task in &chosen {
            self.roots.clear();
            self.edges.clear();
            self.tree_ids(&mut anchoring);
            let exec = self.plan.task_executor[dest_task as usize];
            let (roots, edges) = (&self.roots, &self.edges);
            let encode = |buf: &mut Vec<u8>| {
                wire::append_tuple(buf, dest_task, src_task, index, &values, roots, edges);
            };
            if self.transfer.push_with(exec, encode).is_err() {
                self.halted = true;
            }
        }
        self.chosen = chosen;
        &self.chosen
    }

    /// Gives a new tuple its (root, edge) ids and records the edge in its anchors.
    fn tree_ids(&mut self, anchoring: &mut Anchoring<'_>) {
        if !self.acking {
            return;
        }
        match anchoring {
            Anchoring::None => {}
            Anchoring::Root(root, xor) => {
                let edge = self.rng.u64(..);
                **xor ^= edge;
                self.roots.push(*root);
                self.edges.push(edge);
            }
            Anchoring::Tuples(anchors) => {
                // A windowed bolt anchors to a whole window: find roots by hash there, not by
                // a scan of those seen (quadratic in the window).
                let many = anchors.len() > MANY_ANCHORS;
                let mut index: IdMap<usize> = IdMap::default();
                for a in anchors.iter() {
                    for &(root, _) in &a.ids {
                        let edge = self.rng.u64(..);
                        a.ack_val.set(a.ack_val.get() ^ edge);
                        let seen = if many {
                            index.get(&root).copied()
                        } else {
                            self.roots.iter().position(|&r| r == root)
                        };
                        match seen {
                            Some(i) => self.edges[i] ^= edge,
                            None => {
                                if many {
                                    index.insert(root, self.roots.len());
                                }
                                self.roots.push(root);
                                self.edges.push(edge);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What a spout uses to emit. Emits with a message id are tracked; the spout hears `ack` or
/// `fail` for each.
pub struct SpoutCollector<'a> {
    pub(crate) emitter: &'a mut Emitter,
    pub(crate) local: usize,
    pub(crate) pending: &'a mut IdMap<(u64, Instant)>,
    /// Message ids acked at emit (no acker, or no subscriber).
    pub(crate) immediate: &'a mut Vec<u64>,
    pub(crate) emitted: usize,
}

impl SpoutCollector<'_> {
    /// Reports an error ([`BoltCollector::report_error`]).
    pub fn report_error(&mut self, error: &str) {
        self.emitter.report_error(self.local, error);
    }

    /// Sets a named value ([`BoltCollector::set_metric`]).
    pub fn set_metric(&mut self, name: &str, value: f64) {
        self.emitter.set_metric(self.local, name, value);
    }

    /// Emits on the default stream; `msg_id` makes the tuple tracked.
    pub fn emit(&mut self, values: Vec<Value>, msg_id: Option<u64>) -> &[u32] {
        self.emit_to(DEFAULT_STREAM, values, msg_id, None)
    }

    /// Emits on a named stream.
    pub fn emit_stream(&mut self, stream: &str, values: Vec<Value>, msg_id: Option<u64>) -> &[u32] {
        self.emit_to(stream, values, msg_id, None)
    }

    /// Emits to one task on a direct stream.
    pub fn emit_direct(&mut self, task: u32, stream: &str, values: Vec<Value>, msg_id: Option<u64>) {
        self.emit_to(stream, values, msg_id, Some(task));
    }

    /// Tuples this task has in flight.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn emit_to(
        &mut self,
        stream: &str,
        values: Vec<Value>,
        msg_id: Option<u64>,
        direct: Option<u32>,
    ) -> &[u32] {
        self.emitted += 1;
        let Some(msg_id) = msg_id else {
            return self.emitter.emit(self.local, stream, values, direct, Anchoring::None);
        };
        if !self.emitter.acking {
            self.immediate.push(msg_id);
            return self.emitter.emit(self.local, stream, values, direct, Anchoring::None);
        }
        let root = self.emitter.rng.u64(1..);
        let mut xor = 0;
        let sent =
            self.emitter.emit(self.local, stream, values, direct, Anchoring::Root(root, &mut xor)).len();
        if sent == 0 {
            self.immediate.push(msg_id);
        } else {
            self.pending.insert(root, (msg_id, Instant::now()));
            let src = self.emitter.tasks[self.local];
            let acker = self.emitter.acker_for(root);
            self.emitter.send_to_task(&Item::acking(Kind::AckInit, acker, src, root, xor));
        }
        &self.emitter.chosen
    }
}

/// What a bolt uses to emit, ack and fail.
pub struct BoltCollector<'a> {
    pub(crate) emitter: &'a mut Emitter,
    pub(crate) local: usize,
}

impl BoltCollector<'_> {
    /// Emits on the default stream, anchored to `anchors` (empty: unanchored).
    pub fn emit(&mut self, anchors: &[&Tuple], values: Vec<Value>) -> &[u32] {
        self.emitter.emit(self.local, DEFAULT_STREAM, values, None, Anchoring::Tuples(anchors))
    }

    /// Emits on a named stream.
    pub fn emit_stream(&mut self, stream: &str, anchors: &[&Tuple], values: Vec<Value>) -> &[u32] {
        self.emitter.emit(self.local, stream, values, None, Anchoring::Tuples(anchors))
    }

    /// Emits to one task on a direct stream.
    pub fn emit_direct(&mut self, task: u32, stream: &str, anchors: &[&Tuple], values: Vec<Value>) {
        self.emitter.emit(self.local, stream, values, Some(task), Anchoring::Tuples(anchors));
    }

    /// This input is fully processed (after emitting anything anchored to it).
    pub fn ack(&mut self, input: &Tuple) {
        self.emitter.metrics[self.local].acked += 1;
        if !self.emitter.acking {
            return;
        }
        let src = self.emitter.tasks[self.local];
        for &(root, edge) in &input.ids {
            let acker = self.emitter.acker_for(root);
            self.emitter.send_to_task(&Item::acking(Kind::Ack, acker, src, root, edge ^ input.ack_val.get()));
        }
    }

    /// This input failed: its spout tuples fail at once, and their spouts learn `reason`.
    pub fn fail(&mut self, input: &Tuple, reason: &str) {
        self.emitter.metrics[self.local].failed += 1;
        if !self.emitter.acking {
            return;
        }
        let src = self.emitter.tasks[self.local];
        for &(root, _) in &input.ids {
            let acker = self.emitter.acker_for(root);
            let mut item = Item::acking(Kind::Fail, acker, src, root, 0);
            item.reason = reason.to_owned();
            self.emitter.send_to_task(&item);
        }
    }

    /// Sets a named value of this task, exported as the gauge `sockflow_component_metric`
    /// with a `name` label (at most 64 names a task; values must be finite).
    pub fn set_metric(&mut self, name: &str, value: f64) {
        self.emitter.set_metric(self.local, name, value);
    }

    /// Reports an error (Storm's `reportError`): counted in the task's `errors` metric
    /// (`sockflow_errors_total`) and logged, at most 5 times per task every 10 s (Storm's
    /// `topology.max.error.report.per.interval` and `topology.error.throttle.interval.secs`).
    /// Does not fail anything.
    pub fn report_error(&mut self, error: &str) {
        self.emitter.report_error(self.local, error);
    }

    /// Starts the message timeout of every spout tuple `input` descends from again (Storm's
    /// `resetTimeout`): for an input that takes long to process, so that its spout tuples do
    /// not time out and replay meanwhile. One message to the acker per spout tuple: use it
    /// sparingly, e.g. every few seconds of a long task.
    pub fn reset_timeout(&mut self, input: &Tuple) {
        if !self.emitter.acking {
            return;
        }
        let src = self.emitter.tasks[self.local];
        for &(root, _) in &input.ids {
            let acker = self.emitter.acker_for(root);
            self.emitter.send_to_task(&Item::acking(Kind::ResetTimeout, acker, src, root, 0));
        }
        // Sent now, not with the next batch: the caller is likely to stay busy a while.
        if self.emitter.transfer.flush().is_err() {
            self.emitter.halted = true;
        }
    }

    /// This task's id.
    pub fn task_id(&self) -> u32 {
        self.emitter.tasks[self.local]
    }
}

/// A [`crate::BasicBolt`]'s collector: every emit is anchored to the current input.
pub struct BasicCollector<'a, 'b> {
    pub(crate) inner: &'a mut BoltCollector<'b>,
    pub(crate) input: &'a Tuple,
}

impl BasicCollector<'_, '_> {
    /// Emits on the default stream, anchored to the input.
    pub fn emit(&mut self, values: Vec<Value>) -> &[u32] {
        let input = self.input;
        self.inner.emit(&[input], values)
    }

    /// Emits on a named stream, anchored to the input.
    pub fn emit_stream(&mut self, stream: &str, values: Vec<Value>) -> &[u32] {
        let input = self.input;
        self.inner.emit_stream(stream, &[input], values)
    }

    /// Emits to one task on a direct stream, anchored to the input.
    pub fn emit_direct(&mut self, task: u32, stream: &str, values: Vec<Value>) {
        let input = self.input;
        self.inner.emit_direct(task, stream, &[input], values);
    }

    /// Reports an error ([`BoltCollector::report_error`]).
    pub fn report_error(&mut self, error: &str) {
        self.inner.report_error(error);
    }

    /// Sets a named value ([`BoltCollector::set_metric`]).
    pub fn set_metric(&mut self, name: &str, value: f64) {
        self.inner.set_metric(name, value);
    }

    /// Starts the input's message timeout again ([`BoltCollector::reset_timeout`]).
    pub fn reset_timeout(&mut self) {
        let input = self.input;
        self.inner.reset_timeout(input);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_reported_errors_are_logged_per_ten_seconds() {
        let t0 = Instant::now();
        let mut t = ErrorThrottle { since: t0, ..ErrorThrottle::new(5, Duration::from_secs(10)) };
        let got: Vec<Option<bool>> = (0..7).map(|_| t.admit(t0)).collect();
        let want = [Some(false), Some(false), Some(false), Some(false), Some(true), None, None];
        assert_eq!(got, want);
        assert_eq!(t.admit(t0 + Duration::from_millis(9_999)), None);
        assert_eq!(t.admit(t0 + Duration::from_secs(10)), Some(false), "a new interval");
        // Storm's keys: none logged at all, or 2 every second.
        let mut none = ErrorThrottle { since: t0, ..ErrorThrottle::new(0, Duration::from_secs(1)) };
        assert_eq!(none.admit(t0), None);
        let mut two = ErrorThrottle { since: t0, ..ErrorThrottle::new(2, Duration::from_secs(1)) };
        let got: Vec<Option<bool>> = (0..3).map(|_| two.admit(t0)).collect();
        assert_eq!(got, [Some(false), Some(true), None]);
        assert_eq!(two.admit(t0 + Duration::from_secs(1)), Some(false));
    }
}
