//! Running a topology in this process: one thread per executor, batches over libsock inproc
//! sockets between them, ackers, metrics, a guard that replaces a spout or bolt instance
//! that panics (`guard`), and a clean shutdown.

mod acker;
mod collector;
mod executor;
mod guard;
mod liveness;
mod metrics;
mod transfer;

pub use crate::workers::{Endpoints, InprocEndpoints};
pub use acker::{Acker, AckerEvent, LOSS_GRACE_MS};
pub use collector::{BasicCollector, BoltCollector, SpoutCollector};
pub use liveness::{Liveness, Stalled};
pub use metrics::{MetricsHub, TaskMetrics};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libsock::Context;

use crate::component::{Heartbeat, StopSignal, TaskContext};
use crate::plan::{Plan, Role};
use crate::topology::{Factory, Topology, TopologyError};
use collector::Emitter;
use transfer::Transfer;

/// What executors share: the lifecycle flags, settings and published metrics.
pub(crate) struct Control {
    /// Spouts stop calling `next_tuple` and wait for their pending trees.
    deactivate: AtomicBool,
    /// Spout executors that still have pending trees after deactivation.
    draining: AtomicUsize,
    /// Executors exit when idle.
    stop: AtomicBool,
    /// Blocked sends give up.
    halt: Arc<AtomicBool>,
    start: Instant,
    hub: Arc<MetricsHub>,
    /// Each acker task's cap on its tree entries.
    acker_max_pending: usize,
    message_timeout_secs: u64,
    stats_sample_rate: f64,
    /// Why an executor stopped for good (its first component that could not be made ready).
    failure: Mutex<Option<String>>,
}

impl Control {
    /// Records why an executor had to stop (the first reason is kept).
    fn fail(&self, broken: &guard::Broken) {
        tracing::error!("{}: the executor stops", broken.0);
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert_with(|| broken.0.clone());
    }
}

/// Why a topology could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The topology is invalid.
    #[error(transparent)]
    Invalid(#[from] TopologyError),
    /// A socket could not be set up.
    #[error("transfer sockets: {0}")]
    Socket(#[from] libsock::Error),
    /// A thread could not be started.
    #[error("starting executor threads: {0}")]
    Thread(#[from] std::io::Error),
    /// A spout or bolt could not be opened or prepared (it returned an error or panicked):
    /// nothing runs.
    #[error("{0}")]
    Component(String),
}

/// A topology running in this process.
pub struct Running {
    plan: Arc<Plan>,
    ctl: Arc<Control>,
    liveness: Liveness,
    threads: Vec<JoinHandle<()>>,
    ctx: Context,
    /// The ZAP handler of a worker with CURVE links (it must outlive the inboxes).
    _auth: Option<libsock::Authenticator>,
}

/// Validates, plans and starts `topology` on a new libsock context: every executor, in this
/// process, whatever `topology.workers` says.
pub fn start(topology: &Topology) -> Result<Running, StartError> {
    start_on(topology, None)
}

/// Starts worker `worker`'s executors only; the others are reached over tcp at the addresses
/// of the `workers:` section (see [`crate::workers`]).
pub fn start_worker(topology: &Topology, worker: usize) -> Result<Running, StartError> {
    start_on(topology, Some(worker))
}

fn start_on(topology: &Topology, worker: Option<usize>) -> Result<Running, StartError> {
    topology.validate()?;
    let mut plan = Plan::new(topology);
    let ctx = Context::new();
    let mut auth = None;
    let mut worker_host: Option<Arc<str>> = None;
    let endpoints: Arc<dyn Endpoints> = match worker {
        None => {
            crate::plan::place(&mut plan, 1);
            Arc::new(InprocEndpoints::new(&topology.name))
        }
        Some(k) => {
            let addresses = crate::workers::addresses(&topology.config);
            if k >= addresses.len() {
                let msg = format!(
                    "worker {k}: the topology has {} workers (0..{})",
                    addresses.len(),
                    addresses.len()
                );
                return Err(StartError::Invalid(TopologyError { line: 0, message: msg }));
            }
            let invalid = |message| StartError::Invalid(TopologyError { line: 0, message });
            worker_host = Some(crate::workers::host_of(&addresses[k]).map_err(invalid)?.into());
            let key = topology.config.worker_curve.clone();
            if let Some(key) = &key {
                auth = Some(crate::workers::authenticate(&ctx, key).map_err(invalid)?);
            }
            let e =
                crate::workers::WorkerEndpoints::new(&plan, k, &addresses).map_err(invalid)?.with_curve(key);
            Arc::new(e)
        }
    };
    let plan = Arc::new(plan);
    let local = |w: usize| worker.is_none_or(|k| k == w);
    let cfg = &topology.config;
    let hwm = i32::try_from(cfg.receive_buffer.max(1)).unwrap_or(i32::MAX);
    // Every inbox is bound before any executor runs, so no connect races a bind.
    let inboxes = plan
        .executors
        .iter()
        .filter(|e| local(e.worker))
        .map(|e| transfer::bind_inbox(&ctx, endpoints.as_ref(), e.id, hwm))
        .collect::<Result<Vec<_>, _>>()?;
    let spout_executors = plan
        .executors
        .iter()
        .filter(|e| local(e.worker) && plan.components[e.component].role == Role::Spout)
        .count();
    // What every spout task may have in flight (unbounded ones count 0), for the ackers' cap.
    let in_flight = plan
        .components
        .iter()
        .filter(|c| c.role == Role::Spout)
        .map(|c| c.max_spout_pending.map_or(0, |m| m.saturating_mul(c.tasks.len())))
        .fold(0usize, usize::saturating_add);
    let ctl = Arc::new(Control {
        deactivate: AtomicBool::new(false),
        draining: AtomicUsize::new(spout_executors),
        stop: AtomicBool::new(false),
        halt: Arc::new(AtomicBool::new(false)),
        start: Instant::now(),
        hub: Arc::new(MetricsHub::default()),
        acker_max_pending: cfg.acker_cap_for(in_flight),
        message_timeout_secs: cfg.message_timeout_secs,
        stats_sample_rate: cfg.stats_sample_rate,
        failure: Mutex::new(None),
    });
    let (ready_tx, ready) = mpsc::channel();
    let mut starting = 0;
    let task_to_component = Arc::new(plan.task_to_component());
    let worker_secret: Option<Arc<str>> = cfg.worker_curve.as_ref().map(|k| k.secret().into());
    let conf = Arc::new(cfg.effective_conf());
    let mut threads = Vec::new();
    let mut beats = Vec::new();
    for (exec, inbox) in plan.executors.iter().filter(|e| local(e.worker)).zip(inboxes) {
        let comp = &plan.components[exec.component];
        let is_spout = comp.role == Role::Spout;
        let heartbeat = Heartbeat::new(ctl.start);
        beats.push((exec.id, comp.id.clone(), heartbeat.clone()));
        let transfer = Transfer::new(
            ctx.clone(),
            endpoints.clone(),
            inbox,
            plan.executors.len(),
            hwm,
            cfg.batch_size,
            is_spout,
            ctl.halt.clone(),
            heartbeat.clone(),
        );
        let mut em = Emitter::new(plan.clone(), transfer, exec.component, &exec.tasks);
        em.throttle_errors(cfg.errors_logged_per_interval, Duration::from_secs(cfg.error_interval_secs));
        em.debug = cfg.debug;
        let wiring = plan.wiring(exec.component);
        let ctxs: Vec<TaskContext> = exec
            .tasks
            .iter()
            .map(|&t| TaskContext {
                topology: plan.name.clone(),
                component: comp.id.clone(),
                task_id: t,
                task_index: comp.tasks.iter().position(|&x| x == t).unwrap_or(0),
                component_tasks: comp.tasks.clone(),
                task_to_component: task_to_component.clone(),
                streams: wiring.streams.clone(),
                sources: wiring.sources.clone(),
                targets: wiring.targets.clone(),
                conf: conf.clone(),
                libsock: topology.context.clone(),
                worker_host: worker_host.clone(),
                worker_secret: worker_host.as_ref().and(worker_secret.clone()),
                stop: StopSignal { flag: ctl.halt.clone(), heartbeat: heartbeat.clone() },
            })
            .collect();
        let (ctl2, ready_tx) = (ctl.clone(), ready_tx.clone());
        let name = format!("{}-{}", comp.id, exec.id);
        let builder = std::thread::Builder::new().name(name);
        let spawned = match comp.role {
            Role::Acker => builder.spawn(move || executor::run_acker(em, ctl2)),
            role => {
                let def = topology.components.iter().find(|c| *c.id == *comp.id).expect("planned from it");
                starting += 1;
                // Instances are made on their executor's thread, so that a factory that
                // panics is caught there like an `open` or `prepare` that does.
                match (&def.factory, role) {
                    (Factory::Spout(f), _) => {
                        let tasks = guard::SpoutTasks::new(ctxs, f.clone());
                        builder.spawn(move || executor::run_spout(em, tasks, ctl2, ready_tx))
                    }
                    (Factory::Bolt(f), _) => {
                        let tasks = guard::BoltTasks::new(ctxs, f.clone());
                        let tick = comp.tick_freq_secs;
                        builder.spawn(move || executor::run_bolt(em, tasks, ctl2, tick, ready_tx))
                    }
                }
            }
        };
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(e) => {
                let liveness = Liveness::new(beats, Duration::MAX);
                Running { plan, ctl, liveness, threads, ctx, _auth: auth }.shutdown(Duration::ZERO);
                return Err(StartError::Thread(e));
            }
        }
    }
    drop(ready_tx);
    let liveness = Liveness::new(beats, Duration::from_secs(cfg.worker_timeout_secs));
    let running = Running { plan, ctl, liveness, threads, ctx, _auth: auth };
    // Every spout opened and bolt prepared, or the first that could not be: then nothing runs.
    for _ in 0..starting {
        let why = match ready.recv() {
            Ok(Ok(())) => continue,
            Ok(Err(broken)) => broken.0,
            Err(_) => "an executor thread ended while starting".to_owned(),
        };
        running.shutdown(Duration::ZERO);
        return Err(StartError::Component(why));
    }
    Ok(running)
}

impl Running {
    /// The physical plan it runs.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Its metrics (published by executors about once a second and at exit).
    pub fn metrics(&self) -> Arc<MetricsHub> {
        self.ctl.hub.clone()
    }

    /// Its executors' heartbeats: which are stuck in a call (`/healthz`, the systemd
    /// watchdog). Clones stay valid after a shutdown (they then report every executor
    /// silent).
    pub fn liveness(&self) -> Liveness {
        self.liveness.clone()
    }

    /// Whether every executor thread is still running.
    pub fn is_running(&self) -> bool {
        self.threads.iter().all(|t| !t.is_finished())
    }

    /// Why an executor stopped for good, if one did: a spout or bolt instance that replaced
    /// one that panicked could not be opened or prepared (the worker should then end, for
    /// its supervisor to restart it, as a Storm worker does).
    pub fn failure(&self) -> Option<String> {
        self.ctl.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops cleanly: spouts are deactivated, pending trees get up to `drain` to complete,
    /// then every executor finishes what it holds and exits. Returns whether everything
    /// pending completed within `drain`.
    pub fn shutdown(self, drain: Duration) -> bool {
        self.stop(drain).drained
    }

    /// [`Running::shutdown`], telling also which executors did not end: an executor still
    /// in a spout's or bolt's call [`STOP_GRACE`] after the halt (a call that never returns
    /// and never looks at [`crate::StopSignal`]) is left behind rather than waited for
    /// forever, so that the stop ends; its thread ends with the process.
    pub fn stop(self, drain: Duration) -> Stopped {
        self.ctl.deactivate.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + drain;
        while self.ctl.draining.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let drained = self.ctl.draining.load(Ordering::Acquire) == 0;
        self.ctl.stop.store(true, Ordering::SeqCst);
        self.ctl.halt.store(true, Ordering::SeqCst);
        let grace = Instant::now() + STOP_GRACE;
        let mut left_behind = Vec::new();
        for t in self.threads {
            while !t.is_finished() && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(5));
            }
            if !t.is_finished() {
                let name = t.thread().name().unwrap_or("an executor").to_owned();
                tracing::error!("{name} is still in a call {STOP_GRACE:?} after the stop: left behind");
                left_behind.push(name);
            } else if t.join().is_err() {
                tracing::error!("an executor thread panicked");
            }
        }
        self.ctx.shutdown();
        Stopped { drained, left_behind }
    }
}

/// How long a stop waits, after the drain, for executors to finish what they hold.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How a [`Running::stop`] went.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    /// Whether every pending tuple tree completed within the drain.
    pub drained: bool,
    /// The executors (threads named `component-executor`) still in a call after
    /// [`STOP_GRACE`]: left running until the process exits.
    pub left_behind: Vec<String>,
}
