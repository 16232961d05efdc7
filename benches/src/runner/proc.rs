//! Worker processes: spawn `compare worker …`, read its lines with timeouts, signal it, and
//! never leave it behind (dropping a [`Worker`] kills it).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};

use crate::stats::Fields;
use crate::worker::WorkerArgs;

/// A running worker.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Worker {
    /// Spawns this executable as `worker` with `args`.
    pub fn spawn(args: &WorkerArgs) -> Result<Worker> {
        let exe = std::env::current_exe().context("finding our own executable")?;
        let mut child = Command::new(exe)
            .arg("worker")
            .args(args.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawning a worker")?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped");
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err_pipe.read(&mut buf) {
                let mut s = sink.lock().unwrap();
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
                if s.len() > 64 * 1024 {
                    let cut = s.len() - 16 * 1024;
                    let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                    s.drain(..cut);
                }
            }
        });
        Ok(Worker { stdin: child.stdin.take(), child, lines, stderr })
    }

    /// The last line the worker wrote to stderr (for error messages).
    fn stderr_tail(&self) -> String {
        let s = self.stderr.lock().unwrap();
        s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string()
    }

    /// Waits for a line starting with `prefix` (`READY`, `RESULT`) and returns the rest.
    pub fn expect(&mut self, prefix: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.trim().to_string());
                    }
                    if let Some(err) = line.strip_prefix("ERROR ") {
                        bail!("{err}");
                    }
                }
                Err(RecvTimeoutError::Timeout) => bail!("timed out waiting for {prefix}"),
                Err(RecvTimeoutError::Disconnected) => {
                    // Give the stderr reader a moment to collect a panic message.
                    thread::sleep(Duration::from_millis(50));
                    let tail = self.stderr_tail();
                    bail!("worker exited before {prefix}: {tail}");
                }
            }
        }
    }

    /// Waits for the `RESULT` line and parses it.
    pub fn result(&mut self, timeout: Duration) -> Result<Fields> {
        Fields::parse(&self.expect("RESULT", timeout)?)
    }

    /// Sends one go signal.
    pub fn signal(&mut self) -> Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| anyhow!("stdin closed"))?;
        stdin.write_all(b"go\n")?;
        stdin.flush()?;
        Ok(())
    }

    /// Closes stdin (every remaining signal) and waits for the exit, killing after `timeout`.
    /// Returns the CPU seconds the worker used over its life (its last line, `CPU <secs>`).
    pub fn finish(mut self, timeout: Duration) -> Result<f64> {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if status.success() {
                    return self.cpu_line(deadline);
                }
                bail!("worker failed ({status}): {}", self.stderr_tail());
            }
            if Instant::now() > deadline {
                bail!("worker did not exit");
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Worker {
    /// Reads the remaining lines of an exited worker up to its `CPU <secs>` line.
    fn cpu_line(&self, deadline: Instant) -> Result<f64> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(secs) = line.strip_prefix("CPU ") {
                        return secs.trim().parse().context("parsing the CPU line");
                    }
                }
                Err(_) => bail!("worker exited without its CPU line"),
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
