//! `sockflow run` without `--worker` on a multi-worker topology: one child process per worker,
//! each this same command with `--worker K` added (and `--metrics` moved to port + K).

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The variable that tells a worker process which `sockflow` started it: a worker whose
/// launcher is gone (killed without a chance to stop its children) stops too, rather than
/// run on as an orphan that a restarted launcher's workers would collide with.
pub const LAUNCHER_PID: &str = "SOCKFLOW_LAUNCHER_PID";

/// Whether this process was started by a launcher that has since gone (its parent is not
/// the pid the launcher wrote).
pub fn launcher_gone() -> bool {
    let Some(launcher) = std::env::var(LAUNCHER_PID).ok().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    std::os::unix::process::parent_id() != launcher
}

/// Runs `workers` copies of this command until `stop` or `for_secs`; a worker that exits
/// early is started again (as an orchestrator would), after a pause that doubles while it
/// keeps failing soon after starting (one that cannot start does not spin).
///
/// `on_turn` runs on every turn of the watching loop (10 a second): the caller's sign of
/// life (the systemd watchdog).
pub fn run_processes(
    workers: usize,
    for_secs: Option<f64>,
    stop: &AtomicBool,
    on_turn: &mut dyn FnMut(),
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spawn = |k: usize| -> Result<Child, String> {
        Command::new(&exe)
            .args(worker_args(&args, k))
            .env(LAUNCHER_PID, std::process::id().to_string())
            // systemd hears from this process only (NotifyAccess=main), not from its workers.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .spawn()
            .map_err(|e| format!("starting worker {k}: {e}"))
    };
    let mut slots = (0..workers)
        .map(|k| Ok(Slot { child: Some(spawn(k)?), started: Instant::now(), pause: Duration::ZERO }))
        .collect::<Result<Vec<_>, String>>()?;
    tracing::info!("started {workers} worker processes");
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) && for_secs.is_none_or(|s| started.elapsed().as_secs_f64() < s) {
        std::thread::sleep(Duration::from_millis(100));
        on_turn();
        for (k, slot) in slots.iter_mut().enumerate() {
            if let Some(Ok(Some(status))) = slot.child.as_mut().map(Child::try_wait) {
                slot.exited();
                tracing::error!("worker {k} exited ({status}); starting it again in {:?}", slot.pause);
            }
            if slot.child.is_none() && slot.started.elapsed() >= slot.pause {
                (slot.child, slot.started) = (Some(spawn(k)?), Instant::now());
            }
        }
    }
    // SIGTERM each (a clean drain), then wait: `for_secs` already bounds the children too.
    let mut children: Vec<Child> = slots.into_iter().filter_map(|s| s.child).collect();
    for c in &children {
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
    }
    let mut failed = 0;
    for c in &mut children {
        if !c.wait().is_ok_and(|s| s.success()) {
            failed += 1;
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} worker(s) did not exit cleanly")),
    }
}

/// A worker process, or the pause before it is started again.
struct Slot {
    child: Option<Child>,
    /// When it was started; once it has exited, when the pause began.
    started: Instant,
    /// The pause before the next start.
    pause: Duration,
}

/// The first restart's pause; doubled up to [`MAX_PAUSE`] while a worker keeps exiting
/// within [`STABLE_AFTER`] of its start.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(10);
const STABLE_AFTER: Duration = Duration::from_secs(30);

impl Slot {
    /// The worker exited: the pause before it starts again, which begins now.
    fn exited(&mut self) {
        self.child = None;
        self.pause = if self.started.elapsed() >= STABLE_AFTER {
            FIRST_PAUSE
        } else {
            (self.pause * 2).clamp(FIRST_PAUSE, MAX_PAUSE)
        };
        self.started = Instant::now();
    }
}

/// The arguments for worker `k`: `--worker k`, and `--metrics HOST:PORT` → `HOST:PORT+k`.
fn worker_args(args: &[String], k: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len() + 2);
    let mut metrics_next = false;
    for a in args {
        let shifted = |addr: &str| match addr.rsplit_once(':').map(|(h, p)| (h, p.parse::<usize>())) {
            Some((h, Ok(p))) => format!("{h}:{}", p + k),
            _ => addr.to_owned(),
        };
        if metrics_next {
            out.push(shifted(a));
            metrics_next = false;
        } else if let Some(addr) = a.strip_prefix("--metrics=") {
            out.push(format!("--metrics={}", shifted(addr)));
        } else {
            metrics_next = a == "--metrics";
            out.push(a.clone());
        }
    }
    out.extend(["--worker".to_owned(), k.to_string()]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_worker_gets_its_id_and_metrics_port() {
        let args: Vec<String> = ["run", "t.yaml", "--metrics", "127.0.0.1:9102", "--for", "3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            worker_args(&args, 2),
            ["run", "t.yaml", "--metrics", "127.0.0.1:9104", "--for", "3", "--worker", "2"]
        );
        let args = vec!["run".to_owned(), "--metrics=0.0.0.0:9000".to_owned()];
        assert_eq!(worker_args(&args, 1), ["run", "--metrics=0.0.0.0:9001", "--worker", "1"]);
    }

    #[test]
    fn a_worker_that_keeps_failing_waits_longer_each_time() {
        let mut slot = Slot { child: None, started: Instant::now(), pause: Duration::ZERO };
        let pauses: Vec<u64> = (0..9)
            .map(|_| {
                slot.exited();
                slot.pause.as_millis() as u64
            })
            .collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        // One that ran for a while before it exited starts again soon.
        slot.started = Instant::now().checked_sub(STABLE_AFTER).unwrap();
        slot.exited();
        assert_eq!(slot.pause, FIRST_PAUSE);
    }
}
