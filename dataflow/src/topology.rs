//! The logical topology (components, streams, subscriptions, config), built either in code with
//! [`TopologyBuilder`] or from a Flux YAML file (`config/`), and validated the same way.

mod builder;
mod curve;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

pub use builder::{BoltDeclarer, TopologyBuilder};
pub use curve::WorkerKey;

use crate::component::{Bolt, Limits, OutputDeclarer, Spout, StreamDecl};
use crate::grouping::Grouping;
use crate::tuple::Value;

/// Makes a spout instance (one per task).
pub type SpoutFactory = Arc<dyn Fn() -> Box<dyn Spout> + Send + Sync>;
/// Makes a bolt instance (one per task).
pub type BoltFactory = Arc<dyn Fn() -> Box<dyn Bolt> + Send + Sync>;

/// A component's implementation.
#[derive(Clone)]
pub enum Factory {
    /// A spout.
    Spout(SpoutFactory),
    /// A bolt.
    Bolt(BoltFactory),
}

/// One component of the logical topology.
#[derive(Clone)]
pub struct ComponentDef {
    /// Unique id.
    pub id: String,
    /// Implementation.
    pub factory: Factory,
    /// Executors (threads).
    pub parallelism: usize,
    /// Tasks (instances), spread over the executors; at least `parallelism`.
    pub tasks: usize,
    /// Tick tuple frequency for this component (overrides the topology's).
    pub tick_freq_secs: Option<f64>,
    /// Workers its executors are pinned to, round robin (empty: placed like the others).
    pub workers: Vec<usize>,
    /// Line in the topology file (0 when built in code).
    pub line: usize,
    /// Which file: 0 the topology file, then its `includes` in the order read.
    pub source: usize,
    /// A spout's own `topology.max.spout.pending` (Storm's `setMaxSpoutPending`), over the
    /// topology's; none for bolts.
    pub max_spout_pending: Option<usize>,
}

impl ComponentDef {
    /// Its executors and tasks under `topology.max.task.parallelism` (`cap`), which bounds
    /// both, as Storm does.
    pub fn sizes(&self, cap: Option<usize>) -> (usize, usize) {
        let cap = cap.unwrap_or(usize::MAX).max(1);
        (self.parallelism.min(cap), self.tasks.min(cap))
    }
}

/// A bolt's subscription to a (component, stream).
#[derive(Clone, Debug)]
pub struct Subscription {
    /// Emitting component.
    pub from: String,
    /// Its stream.
    pub stream: String,
    /// Subscribing bolt.
    pub to: String,
    /// How tuples are spread over the bolt's tasks.
    pub grouping: Grouping,
    /// Line in the topology file (0 when built in code).
    pub line: usize,
    /// Which file (see [`ComponentDef::source`]).
    pub source: usize,
}

/// `topology.message.timeout.secs` when `topology.enable.message.timeouts` is false: tuple
/// trees never time out (about 35 000 years).
pub const NO_MESSAGE_TIMEOUT_SECS: u64 = 1 << 40;

/// Topology-wide settings (Storm's names in the file's `config:`).
#[derive(Clone, Debug, PartialEq)]
pub struct TopologyConfig {
    /// `topology.message.timeout.secs` (30).
    pub message_timeout_secs: u64,
    /// `topology.max.spout.pending`: tuples in flight per spout task (unlimited).
    pub max_spout_pending: Option<usize>,
    /// `topology.acker.executors` (1); 0 acks at emit.
    pub acker_executors: usize,
    /// `topology.acker.max.pending`: tree entries each acker task keeps at most, beyond which
    /// new trees are refused and time out at their spout (default: see
    /// [`TopologyConfig::acker_pending_cap`]). At least 1.
    pub acker_max_pending: Option<usize>,
    /// `topology.tick.tuple.freq.secs` (none).
    pub tick_freq_secs: Option<f64>,
    /// `topology.executor.receive.buffer.size`: batches queued per executor inbox (HWM).
    pub receive_buffer: usize,
    /// `topology.transfer.batch.size`: tuples per transfer message.
    pub batch_size: usize,
    /// `topology.stats.sample.rate`: share of tuples whose execute latency is timed (0.05).
    pub stats_sample_rate: f64,
    /// `topology.workers` (1; more are issue 13's business).
    pub workers: usize,
    /// The file's `workers:` section: each worker's `host:port` (empty: loopback defaults).
    pub worker_addresses: Vec<String>,
    /// `topology.worker.curve.secretkey` (or `.file`): when set, links between workers are
    /// CURVE-encrypted and admit only peers holding this key (none: plain tcp).
    pub worker_curve: Option<WorkerKey>,
    /// `topology.debug`: every emitted tuple is logged (at info level), as in Storm.
    pub debug: bool,
    /// `topology.max.task.parallelism`: no component gets more executors or tasks (none).
    pub max_task_parallelism: Option<usize>,
    /// `topology.worker.timeout.secs` (30, Storm's `supervisor.worker.timeout.secs`): an
    /// executor silent this long (stuck in a call that never returns) makes the worker
    /// report itself unhealthy (`/healthz` answers 503, the systemd watchdog is no longer
    /// fed), for Kubernetes or systemd to restart it, as Storm's supervisor restarts a worker
    /// whose heartbeats stop.
    pub worker_timeout_secs: u64,
    /// `topology.max.error.report.per.interval`: reported errors each task logs per interval
    /// (5; all are counted).
    pub errors_logged_per_interval: u32,
    /// `topology.error.throttle.interval.secs` (10).
    pub error_interval_secs: u64,
    /// Storm's topology conf as components see it ([`crate::TaskContext::conf`], a multilang
    /// child's handshake): every key of the file's `config:` as given, including your own
    /// (any key outside Storm's `topology.` and `storm.` names is yours, passed on as is).
    pub conf: BTreeMap<String, Value>,
}

impl Default for TopologyConfig {
    fn default() -> TopologyConfig {
        TopologyConfig {
            message_timeout_secs: 30,
            max_spout_pending: None,
            acker_executors: 1,
            acker_max_pending: None,
            tick_freq_secs: None,
            receive_buffer: 64,
            batch_size: 64,
            stats_sample_rate: 0.05,
            workers: 1,
            worker_addresses: Vec::new(),
            worker_curve: None,
            debug: false,
            max_task_parallelism: None,
            worker_timeout_secs: 30,
            errors_logged_per_interval: 5,
            error_interval_secs: 10,
            conf: BTreeMap::new(),
        }
    }
}

impl TopologyConfig {
    /// Storm's topology conf as components get it: [`TopologyConfig::conf`] (the file's keys
    /// as given, your own among them) with Storm's keys that this runtime reads at their
    /// effective values, defaults included, as Storm's conf has its defaults.
    pub fn effective_conf(&self) -> BTreeMap<String, Value> {
        let mut conf = self.conf.clone();
        let int = |n: u64| Value::I64(i64::try_from(n).unwrap_or(i64::MAX));
        let mut set = |key: &str, v: Value| {
            conf.insert(key.to_owned(), v);
        };
        set("topology.message.timeout.secs", int(self.message_timeout_secs));
        set(
            "topology.enable.message.timeouts",
            Value::Bool(self.message_timeout_secs != NO_MESSAGE_TIMEOUT_SECS),
        );
        if let Some(n) = self.max_spout_pending {
            set("topology.max.spout.pending", int(n as u64));
        }
        set("topology.acker.executors", int(self.acker_executors as u64));
        set("topology.workers", int(self.workers as u64));
        if let Some(f) = self.tick_freq_secs {
            set("topology.tick.tuple.freq.secs", Value::F64(f));
        }
        set("topology.executor.receive.buffer.size", int(self.receive_buffer as u64));
        set("topology.transfer.batch.size", int(self.batch_size as u64));
        set("topology.stats.sample.rate", Value::F64(self.stats_sample_rate));
        set("topology.debug", Value::Bool(self.debug));
        set("topology.worker.timeout.secs", int(self.worker_timeout_secs));
        if let Some(n) = self.max_task_parallelism {
            set("topology.max.task.parallelism", int(n as u64));
        }
        set("topology.max.error.report.per.interval", int(u64::from(self.errors_logged_per_interval)));
        set("topology.error.throttle.interval.secs", int(self.error_interval_secs));
        conf
    }

    /// The cap on each acker task's tree entries: `topology.acker.max.pending` if set, else the
    /// larger of [`DEFAULT_ACKER_MAX_PENDING`] and twice what `spout_tasks` may have in flight
    /// (`topology.max.spout.pending` each): a topology that bounds its spouts is then never
    /// refused by default, the slack covering late acks of ended trees, which linger until the
    /// timeout.
    pub fn acker_pending_cap(&self, spout_tasks: usize) -> usize {
        self.acker_cap_for(self.max_spout_pending.map_or(0, |m| m.saturating_mul(spout_tasks)))
    }

    /// [`TopologyConfig::acker_pending_cap`] when the spouts may have `in_flight` trees
    /// pending in all (their own `topology.max.spout.pending` each; unbounded ones count 0).
    pub fn acker_cap_for(&self, in_flight: usize) -> usize {
        self.acker_max_pending.unwrap_or(DEFAULT_ACKER_MAX_PENDING.max(in_flight.saturating_mul(2))).max(1)
    }
}

/// Tree entries an acker task keeps at most by default, however many peers send. A tree costs
/// at most 64 bytes (24 in use; hashbrown doubles its table when 7/8 full), so about 50 MB at
/// worst, plus about 20 MB of early fails (a sixteenth of the cap, reasons cut to 256 bytes):
/// a bound against a hostile peer or a topology without `topology.max.spout.pending`, far
/// above what a healthy acker holds.
pub const DEFAULT_ACKER_MAX_PENDING: usize = 1_000_000;

/// A whole logical topology.
#[derive(Clone, Default)]
pub struct Topology {
    /// Name.
    pub name: String,
    /// Settings.
    pub config: TopologyConfig,
    /// Spouts and bolts.
    pub components: Vec<ComponentDef>,
    /// Subscriptions.
    pub streams: Vec<Subscription>,
    /// The libsock context the socket components (`SocketSpout`, `SocketBolt`) open their
    /// sockets on, so they reach the embedding program's `inproc://` endpoints (none: each
    /// makes its own). The runtime's own transfer sockets never use it.
    pub context: Option<libsock::Context>,
}

/// Task ids must fit the acker's 16-bit fields (task 0 means "unknown").
pub const MAX_TASKS: usize = 65_535;

/// A validation error, with the topology file's line when known.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct TopologyError {
    /// Line (0: not from a file).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

/// Runs `f`; a panic comes back as its message (a user component's code panicked).
pub(crate) fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into())
    })
}

/// An error and the index of the file it is in (see [`ComponentDef::source`]).
type Located = (usize, TopologyError);

fn err(source: usize, line: usize, message: impl Into<String>) -> Located {
    (source, TopologyError { line, message: message.into() })
}

impl Topology {
    /// The declared streams of each component, by asking one instance of each.
    pub fn declared_streams(&self) -> HashMap<String, Vec<StreamDecl>> {
        self.components
            .iter()
            .map(|c| {
                let mut d = OutputDeclarer::default();
                match &c.factory {
                    Factory::Spout(f) => f().declare_outputs(&mut d),
                    Factory::Bolt(f) => f().declare_outputs(&mut d),
                }
                (c.id.clone(), d.streams)
            })
            .collect()
    }

    /// Checks everything that can be checked before running: ids, references, streams, fields,
    /// groupings vs direct streams, parallelism, task count, worker pins and cycles. The first
    /// error found is returned.
    pub fn validate(&self) -> Result<(), TopologyError> {
        self.validate_located().map_err(|(_, e)| e)
    }

    /// [`Topology::validate`], also saying which file the error is in.
    pub(crate) fn validate_located(&self) -> Result<(), Located> {
        if self.components.iter().all(|c| !matches!(c.factory, Factory::Spout(_))) {
            return Err(err(0, 0, "a topology needs at least one spout"));
        }
        let mut ids = HashSet::new();
        let mut tasks = self.config.acker_executors;
        let workers = self.config.workers.max(1);
        for c in &self.components {
            if c.id.is_empty() || c.id.starts_with("__") {
                return Err(err(
                    c.source,
                    c.line,
                    format!("invalid component id {:?} (empty or starting with __)", c.id),
                ));
            }
            if !ids.insert(c.id.as_str()) {
                return Err(err(c.source, c.line, format!("duplicate component id {:?}", c.id)));
            }
            if c.parallelism == 0 || c.tasks < c.parallelism {
                return Err(err(
                    c.source,
                    c.line,
                    format!("{}: parallelism must be ≥ 1 and numTasks ≥ parallelism", c.id),
                ));
            }
            tasks = tasks.saturating_add(c.sizes(self.config.max_task_parallelism).1);
            if tasks > MAX_TASKS {
                return Err(err(
                    c.source,
                    c.line,
                    format!(
                        "{}: the topology would have {tasks} tasks (with the ackers'); at most {MAX_TASKS} are supported",
                        c.id
                    ),
                ));
            }
            if let Some(w) = c.workers.iter().find(|&&w| w >= workers) {
                return Err(err(
                    c.source,
                    c.line,
                    format!(
                        "{}: pinned to worker {w}, but the topology has {workers} worker{} (0..{})",
                        c.id,
                        if workers == 1 { "" } else { "s" },
                        workers - 1
                    ),
                ));
            }
        }
        for c in &self.components {
            let limits = Limits {
                message_timeout_secs: self.config.message_timeout_secs,
                max_spout_pending: self.config.max_spout_pending,
                acking: self.config.acker_executors > 0,
                tasks_in_process: if self.config.workers <= 1 || c.workers.len() == 1 {
                    c.sizes(self.config.max_task_parallelism).1
                } else {
                    1
                },
            };
            // Instances are made here to ask them what they declare: a factory that panics
            // is this component's error, not the caller's crash.
            let panicked = |what| err(c.source, c.line, format!("{}: its factory panicked: {what}", c.id));
            let checked = match &c.factory {
                Factory::Spout(f) => catch_panic(|| f().check(&limits)),
                Factory::Bolt(f) => catch_panic(|| f().check(&limits)),
            };
            checked.map_err(panicked)?.map_err(|e| err(c.source, c.line, format!("{}: {e}", c.id)))?;
        }
        let declared = self.declared_streams();
        for s in &self.streams {
            self.validate_subscription(s, &declared)?;
        }
        self.check_acyclic()
    }

    fn component(&self, id: &str) -> Option<&ComponentDef> {
        self.components.iter().find(|c| c.id == id)
    }

    fn validate_subscription(
        &self,
        s: &Subscription,
        declared: &HashMap<String, Vec<StreamDecl>>,
    ) -> Result<(), Located> {
        let err = |line, message: String| err(s.source, line, message);
        if self.component(&s.from).is_none() {
            return Err(err(s.line, format!("stream from unknown component {:?}", s.from)));
        }
        match self.component(&s.to).map(|c| &c.factory) {
            None => return Err(err(s.line, format!("stream to unknown component {:?}", s.to))),
            Some(Factory::Spout(_)) => {
                return Err(err(
                    s.line,
                    format!("stream to {:?}, which is a spout (only bolts subscribe)", s.to),
                ))
            }
            Some(Factory::Bolt(_)) => {}
        }
        let Some(stream) = declared[&s.from].iter().find(|d| d.id == s.stream) else {
            let have: Vec<_> = declared[&s.from].iter().map(|d| d.id.as_str()).collect();
            return Err(err(
                s.line,
                format!("{:?} declares no stream {:?} (it declares: {})", s.from, s.stream, have.join(", ")),
            ));
        };
        for f in s.grouping.key_fields() {
            if !stream.fields.contains(f) {
                return Err(err(
                    s.line,
                    format!(
                        "{} grouping on missing field {f:?}: stream {:?} of {:?} has fields [{}]",
                        s.grouping.name(),
                        s.stream,
                        s.from,
                        stream.fields.join(", ")
                    ),
                ));
            }
        }
        if matches!(s.grouping, Grouping::Fields(ref f) | Grouping::PartialKey(ref f) if f.is_empty()) {
            return Err(err(s.line, format!("{} grouping needs at least one field", s.grouping.name())));
        }
        let direct = matches!(s.grouping, Grouping::Direct);
        if direct != stream.direct {
            return Err(err(
                s.line,
                if direct {
                    format!("DIRECT grouping on stream {:?}, which is not declared direct", s.stream)
                } else {
                    format!("stream {:?} is declared direct: its grouping must be DIRECT", s.stream)
                },
            ));
        }
        Ok(())
    }

    fn check_acyclic(&self) -> Result<(), Located> {
        // Depth-first search; a back edge is a cycle, reported at the subscription closing it.
        fn visit<'a>(
            t: &'a Topology,
            node: &'a str,
            state: &mut HashMap<&'a str, u8>,
            path: &mut Vec<&'a str>,
        ) -> Result<(), Located> {
            state.insert(node, 1);
            path.push(node);
            for s in t.streams.iter().filter(|s| s.from == node) {
                match state.get(s.to.as_str()) {
                    Some(1) => {
                        let start = path.iter().position(|p| *p == s.to).unwrap_or(0);
                        let cycle = path[start..].join(" -> ");
                        return Err(err(s.source, s.line, format!("cycle: {cycle} -> {}", s.to)));
                    }
                    Some(_) => {}
                    None => visit(t, &s.to, state, path)?,
                }
            }
            path.pop();
            state.insert(node, 2);
            Ok(())
        }
        let mut state = HashMap::new();
        for c in &self.components {
            if !state.contains_key(c.id.as_str()) {
                visit(self, &c.id, &mut state, &mut Vec::new())?;
            }
        }
        Ok(())
    }
}
