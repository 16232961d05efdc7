//! The traits users implement: [`Spout`], [`Bolt`], [`BasicBolt`], and what they declare.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::grouping::Grouping;
use crate::runtime::{BasicCollector, BoltCollector, SpoutCollector};
use crate::tuple::{Fields, Tuple, Value};

pub use crate::tuple::{DEFAULT_STREAM, SYSTEM_COMPONENT, TICK_STREAM};

/// One declared output stream.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamDecl {
    /// Stream id.
    pub id: String,
    /// Field names.
    pub fields: Fields,
    /// Whether tuples go only through `emit_direct`.
    pub direct: bool,
}

/// Collects the output streams a component declares.
#[derive(Default, Debug)]
pub struct OutputDeclarer {
    pub(crate) streams: Vec<StreamDecl>,
}

impl OutputDeclarer {
    /// Declares the default stream with these fields.
    pub fn declare(&mut self, fields: &[&str]) {
        self.declare_stream(DEFAULT_STREAM, fields);
    }

    /// Declares a named stream.
    pub fn declare_stream(&mut self, id: &str, fields: &[&str]) {
        self.push(id, fields, false);
    }

    /// Declares a stream whose tuples are sent with `emit_direct` only.
    pub fn declare_direct_stream(&mut self, id: &str, fields: &[&str]) {
        self.push(id, fields, true);
    }

    fn push(&mut self, id: &str, fields: &[&str], direct: bool) {
        let fields: Fields = fields.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>().into();
        self.streams.retain(|s| s.id != id);
        self.streams.push(StreamDecl { id: id.to_owned(), fields, direct });
    }

    /// The declared streams.
    pub fn streams(&self) -> &[StreamDecl] {
        &self.streams
    }
}

/// Set when the topology stops for good (after the drain): a component blocked on something
/// outside the topology (a socket sink nobody reads) checks it now and then and gives up, so
/// that the stop does not wait on it forever.
///
/// While it waits, such a component also calls [`StopSignal::keep_alive`]: the worker's
/// health check (`/healthz`, the systemd watchdog) then counts its executor as waiting on
/// something outside, not hung.
#[derive(Clone, Debug, Default)]
pub struct StopSignal {
    pub(crate) flag: Arc<AtomicBool>,
    pub(crate) heartbeat: Heartbeat,
}

impl StopSignal {
    /// Whether the topology is stopping.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Tells the worker's health check that this task is alive: it is waiting on something
    /// outside the topology (a full sink, a busy child process), not stuck. Call it at least
    /// every few seconds during a wait that can last longer than
    /// `topology.worker.timeout.secs`; it costs a clock read.
    pub fn keep_alive(&self) {
        self.heartbeat.beat();
    }
}

/// An executor's last sign of life: its loop beats on every turn, and so do its waits on
/// something outside (a full downstream inbox, [`StopSignal::keep_alive`]). An executor
/// silent for longer than `topology.worker.timeout.secs` is stuck in a call that never
/// returns, and the worker reports itself unhealthy for its supervisor to restart it.
#[derive(Clone, Debug)]
pub(crate) struct Heartbeat {
    /// Milliseconds from `epoch` to the last beat.
    last_ms: Arc<AtomicU64>,
    epoch: Instant,
}

impl Default for Heartbeat {
    fn default() -> Heartbeat {
        Heartbeat::new(Instant::now())
    }
}

impl Heartbeat {
    /// A heartbeat that beat at `epoch`.
    pub(crate) fn new(epoch: Instant) -> Heartbeat {
        Heartbeat { last_ms: Arc::new(AtomicU64::new(0)), epoch }
    }

    /// Beats now.
    pub(crate) fn beat(&self) {
        self.beat_at(Instant::now());
    }

    /// Beats at `now` (a clock reading the caller already has: no system call).
    pub(crate) fn beat_at(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long it has been silent at `now`.
    pub(crate) fn silent_at(&self, now: Instant) -> Duration {
        let last = self.epoch + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }
}

/// What a task knows about itself and the topology.
#[derive(Clone)]
pub struct TaskContext {
    /// The topology's name.
    pub topology: Arc<str>,
    /// This component's id.
    pub component: Arc<str>,
    /// This task's id (unique in the topology, from 1).
    pub task_id: u32,
    /// This task's index among its component's tasks (from 0).
    pub task_index: usize,
    /// Every task of this component.
    pub component_tasks: Vec<u32>,
    /// Every task of the topology and its component (the acker's as `__acker`).
    pub task_to_component: Arc<BTreeMap<u32, Arc<str>>>,
    /// The streams this component declares.
    pub streams: Vec<StreamDecl>,
    /// The streams this component subscribes to (Storm's `getThisSources`); none for a spout.
    pub sources: Vec<StreamLink>,
    /// Who subscribes to this component's streams (Storm's `getThisTargets`).
    pub targets: Vec<StreamLink>,
    /// The topology's conf (Storm's `topoConf` in `prepare` and `open`): the keys of the
    /// file's `config:` as given, your own settings among them, and Storm's keys this
    /// runtime reads at their effective values ([`crate::TopologyConfig::effective_conf`]).
    pub conf: Arc<BTreeMap<String, Value>>,
    /// The embedding program's libsock context ([`crate::Topology::context`]), for
    /// components that open sockets: its `inproc://` endpoints are reachable on it.
    pub libsock: Option<libsock::Context>,
    /// The host other workers reach this task's worker at (its `workers:` entry), when the
    /// topology runs as several processes; `None` when it all runs in this one.
    pub worker_host: Option<Arc<str>>,
    /// Set when the topology stops ([`StopSignal`]).
    pub stop: StopSignal,
    /// The worker links' CURVE secret key in Z85 (`topology.worker.curve.secretkey`) when the
    /// topology runs as several processes: components that open links of their own between
    /// workers (DRPC results) encrypt them with it. Kept from components' code and logs.
    pub(crate) worker_secret: Option<Arc<str>>,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("topology", &self.topology)
            .field("component", &self.component)
            .field("task_id", &self.task_id)
            .field("task_index", &self.task_index)
            .field("component_tasks", &self.component_tasks)
            .field("tasks", &self.task_to_component.len())
            .field("streams", &self.streams)
            .field("sources", &self.sources)
            .field("targets", &self.targets)
            .field("conf", &self.conf)
            .field("libsock", &self.libsock.as_ref().map(|_| "Context"))
            .field("worker_host", &self.worker_host)
            .field("stopping", &self.stop.is_set())
            .finish()
    }
}

/// One subscription as a task sees it: a stream of one component, how it reaches another.
#[derive(Clone, Debug)]
pub struct StreamLink {
    /// The emitting component.
    pub from: Arc<str>,
    /// The stream's id.
    pub stream: Arc<str>,
    /// The stream's fields.
    pub fields: Fields,
    /// The subscribing component.
    pub to: Arc<str>,
    /// How the stream's tuples are spread over the subscriber's tasks.
    pub grouping: Grouping,
}

impl TaskContext {
    /// The distinct (component, stream) inputs of this component.
    pub fn input_streams(&self) -> Vec<(&str, &str)> {
        let mut inputs: Vec<(&str, &str)> = Vec::new();
        for link in &self.sources {
            if !inputs.contains(&(&*link.from, &*link.stream)) {
                inputs.push((&link.from, &link.stream));
            }
        }
        inputs
    }
}

/// Why a spout tuple failed: the extension over Storm that tells the spout what happened.
#[derive(Clone, Debug, PartialEq)]
pub enum FailReason {
    /// A bolt called `fail` on a tuple of the tree.
    Failed {
        /// The failing component.
        component: String,
        /// The failing task.
        task: u32,
        /// The reason it gave.
        reason: String,
    },
    /// The tree did not complete within `topology.message.timeout.secs`.
    TimedOut {
        /// Seconds allowed.
        after_secs: u64,
        /// The component that acked a tuple of the tree last (the spout if none did).
        last_component: String,
        /// Its task.
        last_task: u32,
    },
}

impl std::fmt::Display for FailReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailReason::Failed { component, task, reason } => {
                write!(f, "failed by {component} (task {task}): {reason}")
            }
            FailReason::TimedOut { after_secs, last_component, last_task } => {
                write!(f, "timed out after {after_secs}s; last held by {last_component} (task {last_task})")
            }
        }
    }
}

/// What a topology's config bounds, for [`Bolt::check`] and [`Spout::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `topology.message.timeout.secs`.
    pub message_timeout_secs: u64,
    /// `topology.max.spout.pending` (per spout task).
    pub max_spout_pending: Option<usize>,
    /// Whether tuples are tracked at all (`topology.acker.executors` above 0).
    pub acking: bool,
    /// How many of the checked component's tasks (instances) run in one process: all of
    /// them in a one-worker topology or when pinned to one worker; otherwise taken as 1 (its
    /// workers may be on other hosts, and placement comes later).
    pub tasks_in_process: usize,
}

/// A source of tuples. Called from one executor thread; never concurrently.
pub trait Spout: Send {
    /// Declares the output streams.
    fn declare_outputs(&self, declarer: &mut OutputDeclarer);
    /// Called once before anything else, on the executor thread. An error (or a panic) means
    /// the spout cannot run: [`crate::start`] fails with it, or, for an instance replacing
    /// one that panicked, the executor stops and [`crate::Running::failure`] says why (as a
    /// Storm worker dies). Return `Ok` for what the spout retries by itself.
    fn open(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        Ok(())
    }
    /// Emit zero or more tuples. Should not block for long: return when nothing is ready.
    fn next_tuple(&mut self, collector: &mut SpoutCollector<'_>);
    /// The tuple tree rooted at `msg_id` was fully processed.
    fn ack(&mut self, _msg_id: u64) {}
    /// The tuple tree rooted at `msg_id` failed; `why` says where and why. Replay by emitting
    /// it again from the next `next_tuple`.
    fn fail(&mut self, _msg_id: u64, _why: &FailReason) {}
    /// Checks this spout against the topology's config before anything runs, as
    /// [`Bolt::check`] does.
    fn check(&self, _limits: &Limits) -> Result<(), String> {
        Ok(())
    }
    /// Sockets whose input should wake this spout when its executor is idle (a socket spout's
    /// own), so that what arrives is emitted at once rather than at the next idle tick (up to
    /// 1 ms later). Asked each time the executor goes idle; keep it cheap.
    fn wake_sockets(&self) -> Vec<&libsock::Socket> {
        Vec::new()
    }
    /// The spout is (re)activated; `next_tuple` will be called.
    fn activate(&mut self) {}
    /// The spout is deactivated (e.g. shutdown began); `next_tuple` will not be called.
    fn deactivate(&mut self) {}
    /// Called once at the end.
    fn close(&mut self) {}
}

/// A processing step. Called from one executor thread; never concurrently.
pub trait Bolt: Send {
    /// Declares the output streams.
    fn declare_outputs(&self, declarer: &mut OutputDeclarer);
    /// Called once before any tuple, on the executor thread. An error (or a panic) means the
    /// bolt cannot run, as for [`Spout::open`].
    fn prepare(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        Ok(())
    }
    /// Processes one input tuple. Each input must eventually be acked or failed through the
    /// collector (a [`BasicBolt`] does that by itself).
    fn execute(&mut self, input: Tuple, collector: &mut BoltCollector<'_>);
    /// Called once at the end.
    fn cleanup(&mut self) {}
    /// This component's tick frequency, overriding `topology.tick.tuple.freq.secs`.
    fn tick_freq_secs(&self) -> Option<f64> {
        None
    }
    /// A few words on what this bolt is, for `sockflow check` (a windowed bolt: its window).
    fn summary(&self) -> Option<String> {
        None
    }
    /// Checks this bolt against the topology's config before anything runs (a windowed bolt
    /// checks its window against the message timeout): the error is reported at the
    /// component's line in the topology file.
    fn check(&self, _limits: &Limits) -> Result<(), String> {
        Ok(())
    }
    /// Called when the executor has no input (e.g. to apply what a child process said);
    /// returns whether to be called again at once (it should then have waited briefly for
    /// what it expects) rather than after the next input or idle period.
    fn poll(&mut self, _collector: &mut BoltCollector<'_>) -> bool {
        false
    }
}

/// A bolt whose emits are anchored to the input and whose input is acked when `execute`
/// returns `Ok` (and failed with the message when it returns `Err`).
pub trait BasicBolt: Send {
    /// Declares the output streams.
    fn declare_outputs(&self, declarer: &mut OutputDeclarer);
    /// Called once before any tuple. An error (or a panic) means the bolt cannot run, as for
    /// [`Spout::open`].
    fn prepare(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        Ok(())
    }
    /// Processes one input tuple.
    fn execute(&mut self, input: &Tuple, collector: &mut BasicCollector<'_, '_>) -> Result<(), String>;
    /// Called once at the end.
    fn cleanup(&mut self) {}
    /// This component's tick frequency, overriding the topology's.
    fn tick_freq_secs(&self) -> Option<f64> {
        None
    }
    /// Checks this bolt against the topology's config ([`Bolt::check`]).
    fn check(&self, _limits: &Limits) -> Result<(), String> {
        Ok(())
    }
}

/// Adapts a [`BasicBolt`] into a [`Bolt`].
pub struct Basic<B>(pub B);

impl<B: BasicBolt> Bolt for Basic<B> {
    fn declare_outputs(&self, declarer: &mut OutputDeclarer) {
        self.0.declare_outputs(declarer);
    }
    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        self.0.prepare(ctx)
    }
    fn execute(&mut self, input: Tuple, collector: &mut BoltCollector<'_>) {
        let result = self.0.execute(&input, &mut BasicCollector { inner: collector, input: &input });
        match result {
            Ok(()) => collector.ack(&input),
            Err(reason) => collector.fail(&input, &reason),
        }
    }
    fn cleanup(&mut self) {
        self.0.cleanup();
    }
    fn tick_freq_secs(&self) -> Option<f64> {
        self.0.tick_freq_secs()
    }
    fn check(&self, limits: &Limits) -> Result<(), String> {
        self.0.check(limits)
    }
}
