//! `sockflow run` without `--worker` on a multi-worker topology: one child process per worker,
//! each this same command with `--worker K` added (and `--metrics` moved to port + K).

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs `workers` copies of this command until `stop` or `for_secs`; a worker that exits
/// early is started again (as an orchestrator would).
pub fn run_processes(workers: usize, for_secs: Option<f64>, stop: &AtomicBool) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spawn = |k: usize| -> Result<Child, String> {
        Command::new(&exe)
            .args(worker_args(&args, k))
            .spawn()
            .map_err(|e| format!("starting worker {k}: {e}"))
    };
    let mut children = (0..workers).map(spawn).collect::<Result<Vec<_>, _>>()?;
    tracing::info!("started {workers} worker processes");
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) && for_secs.is_none_or(|s| started.elapsed().as_secs_f64() < s) {
        std::thread::sleep(Duration::from_millis(100));
        for (k, c) in children.iter_mut().enumerate() {
            if let Ok(Some(status)) = c.try_wait() {
                tracing::error!("worker {k} exited ({status}); starting it again");
                *c = spawn(k)?;
            }
        }
    }
    // SIGTERM each (a clean drain), then wait: `for_secs` already bounds the children too.
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
}
