//! `sockflow run`: a topology (or one worker of it) until SIGINT/SIGTERM, `--for SECS`, or an
//! executor that stops for good; with its HTTP endpoint and systemd notifications.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::runtime::{Liveness, MetricsHub};
use crate::Topology;
use service::http::{self, Site};
use service::notify::Notifier;

/// `sockflow run`'s options besides the file.
pub(super) struct RunOptions {
    pub for_secs: Option<f64>,
    pub metrics: Option<String>,
    pub print_every: f64,
    pub drain: f64,
    pub worker: Option<String>,
    pub threads: bool,
}

/// What the HTTP endpoint reports: nothing until the topology runs, then its metrics and
/// heartbeats; not ready from the stop on.
#[derive(Default)]
struct Status {
    running: OnceLock<(Arc<MetricsHub>, Liveness)>,
    stopping: AtomicBool,
}

impl Status {
    fn site(status: Arc<Status>, topology: Arc<str>) -> Site {
        let (s1, s2, s3) = (status.clone(), status.clone(), status);
        Site {
            metrics: Arc::new(move || match s1.running.get() {
                Some((hub, live)) => hub.prometheus(&topology) + &live.prometheus(&topology),
                None => String::new(),
            }),
            // Starting is alive: opening spouts and preparing bolts may take a while.
            health: Arc::new(move || s2.running.get().map_or(Ok("starting".to_owned()), |(_, l)| l.check())),
            ready: Arc::new(move || match (s3.running.get(), s3.stopping.load(Ordering::Relaxed)) {
                (None, _) => Err("starting".to_owned()),
                (Some(_), true) => Err("stopping".to_owned()),
                (Some(_), false) => Ok("ready".to_owned()),
            }),
        }
    }
}

pub(super) fn run(topology: Topology, opts: RunOptions) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("signal handler: {e}"))?;
    }
    let mut notifier = Notifier::from_env();
    if opts.worker.is_none() && topology.config.workers > 1 && !opts.threads {
        // The workers are child processes: each serves its own endpoint and is watched here.
        let status = format!("running {} worker processes", topology.config.workers);
        notifier.ready(&status);
        let mut fed = || notifier.tick(&Ok(status.clone()));
        let result = crate::workers::run_processes(topology.config.workers, opts.for_secs, &stop, &mut fed);
        notifier.stopping("stopping: stopping the worker processes");
        return result;
    }
    let status = Arc::new(Status::default());
    if let Some(addr) = &opts.metrics {
        // Up before the start, so that probes see "starting" rather than a refused connection.
        let site = Status::site(status.clone(), topology.name.as_str().into());
        let local = http::serve(addr, site).map_err(|e| format!("--metrics {addr}: {e}"))?;
        tracing::info!("metrics on http://{local}/metrics (and /healthz, /readyz)");
    }
    let running = match &opts.worker {
        Some(w) => crate::runtime::start_worker(&topology, crate::workers::worker_index(w)?),
        None => crate::start(&topology),
    };
    let running = running.map_err(|e| e.to_string())?;
    let (hub, liveness) = (running.metrics(), running.liveness());
    let _ = status.running.set((hub.clone(), liveness.clone()));
    let executors = running.plan().executors.len();
    tracing::info!("topology {} running: {executors} executors", topology.name);
    notifier.ready(&liveness.check().unwrap_or_else(|e| e));
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut crashed = false;
    while !stop.load(Ordering::Relaxed) && opts.for_secs.is_none_or(|s| started.elapsed().as_secs_f64() < s) {
        std::thread::sleep(Duration::from_millis(50));
        if opts.print_every > 0.0 && last_print.elapsed().as_secs_f64() >= opts.print_every {
            print!("{}", hub.table());
            last_print = Instant::now();
        }
        if !running.is_running() {
            crashed = true;
            break;
        }
        if crate::workers::launcher_gone() {
            tracing::warn!("the sockflow that started this worker is gone: stopping");
            break;
        }
        notifier.tick(&liveness.check());
    }
    status.stopping.store(true, Ordering::Relaxed);
    notifier.stopping("stopping: draining in-flight tuples");
    let drain = opts.drain;
    tracing::info!("stopping: deactivating spouts, draining in-flight tuples (at most {drain}s)");
    let failure = running.failure();
    let stopped = running.stop(Duration::from_secs_f64(drain.max(0.0)));
    if !stopped.drained {
        tracing::warn!("some tuple trees were still in flight after {drain}s");
    }
    print!("{}", hub.table());
    let _ = std::io::stdout().flush();
    if crashed {
        return Err(match failure {
            Some(why) => why,
            None => "an executor stopped unexpectedly (see the log)".into(),
        });
    }
    if !stopped.left_behind.is_empty() {
        return Err(format!(
            "stopped with executors still stuck in a call: {} (they never returned, nor looked at the stop signal)",
            stopped.left_behind.join(", ")
        ));
    }
    Ok(())
}
