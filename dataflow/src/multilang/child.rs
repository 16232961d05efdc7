//! One multilang child process: spawn and handshake, a writer thread behind a bounded queue,
//! a reader thread that decodes its stdout, its stderr to the logs, and liveness.
//!
//! Liveness is Storm's heartbeat idea without its flaw: a child that owes an answer and has
//! been silent for the timeout is hung only if it also used no CPU meanwhile, so a child busy
//! on a long tuple is left alone (one blocked on I/O for longer than the timeout is not).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::protocol::{self, ChildMsg, Decoder};

/// Messages queued for the child's stdin beyond the writer's queue before it counts as not
/// reading its input.
const MAX_STAGED: usize = 64 * 1024;
/// Batches in flight between the reader thread and the task (back-pressure on the child). A
/// batch is every message decoded from one read of the child's stdout (at most 64 KiB), so
/// the task is woken once per read, not once per message.
const READ_QUEUE: usize = 64;

type Received = Result<ChildMsg, String>;

/// How to run a child.
#[derive(Clone, Debug)]
pub struct ChildSpec {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Working directory (default: the current one).
    pub cwd: Option<PathBuf>,
    /// Silence (with no CPU used) after which a child that owes an answer is hung.
    pub timeout: Duration,
    /// Messages queued to the child's stdin.
    pub queue: usize,
}

/// Why a child is gone: the reason its pending tuples fail with.
#[derive(Debug, Clone)]
pub struct Dead(pub String);

/// A running child.
pub struct Child {
    proc: std::process::Child,
    pid: u32,
    name: String,
    to_child: Option<SyncSender<Vec<u8>>>,
    from_child: Receiver<Vec<Received>>,
    /// The rest of the last batch received.
    received: VecDeque<Received>,
    staged: VecDeque<Vec<u8>>,
    last_heard: Instant,
    /// CPU ticks at the last sample while silent, and when.
    cpu_mark: Option<(u64, Instant)>,
    pid_dir: PathBuf,
}

impl Child {
    /// Starts the child and completes the handshake (within the spec's timeout).
    pub fn spawn(spec: &ChildSpec, name: &str, conf: &Json, context: &Json) -> Result<Child, Dead> {
        let program = spec.command.first().ok_or_else(|| Dead("empty command".into()))?;
        let pid_dir = std::env::temp_dir().join(format!(
            "sockflow-{}-{}-{}",
            std::process::id(),
            name.replace(['/', ' '], "_"),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&pid_dir)
            .map_err(|e| Dead(format!("creating {}: {e}", pid_dir.display())))?;
        let mut cmd = Command::new(program);
        cmd.args(&spec.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        let mut proc = cmd.spawn().map_err(|e| Dead(format!("cannot start {program:?}: {e}")))?;
        let pid = proc.id();
        let (stdin, stdout, stderr) = (
            proc.stdin.take().expect("piped"),
            proc.stdout.take().expect("piped"),
            proc.stderr.take().expect("piped"),
        );
        let (to_child, writer_rx) = mpsc::sync_channel::<Vec<u8>>(spec.queue.max(1));
        let (reader_tx, from_child) = mpsc::sync_channel(READ_QUEUE);
        let thread = |what: &str| std::thread::Builder::new().name(format!("{name}-{what}"));
        let spawned = thread("stdin")
            .spawn(move || write_loop(stdin, writer_rx))
            .and_then(|_| thread("stdout").spawn(move || read_loop(stdout, reader_tx)))
            .and_then(|_| {
                let n = name.to_owned();
                thread("stderr").spawn(move || stderr_loop(stderr, &n))
            });
        let mut child = Child {
            proc,
            pid,
            name: name.to_owned(),
            to_child: Some(to_child),
            from_child,
            received: VecDeque::new(),
            staged: VecDeque::new(),
            last_heard: Instant::now(),
            cpu_mark: None,
            pid_dir,
        };
        spawned.map_err(|e| Dead(format!("starting threads: {e}")))?;
        let mut hello = Vec::new();
        protocol::handshake(&mut hello, conf, &child.pid_dir.display().to_string(), context);
        child.send(hello)?;
        let deadline = Instant::now() + spec.timeout.max(Duration::from_secs(5));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match child.recv_timeout(left)? {
                Some(ChildMsg::Pid(p)) => {
                    tracing::debug!("{name}: child {program:?} started, pid {p}");
                    return Ok(child);
                }
                Some(ChildMsg::Log { level, msg }) => log(&child.name, level, &msg),
                Some(other) => return Err(Dead(format!("answered the handshake with {other:?}"))),
                None => return Err(Dead("no answer to the handshake".into())),
            }
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Queues a message for the child's stdin without blocking.
    pub fn send(&mut self, msg: Vec<u8>) -> Result<(), Dead> {
        self.staged.push_back(msg);
        self.pump()
    }

    /// Moves staged messages into the writer's bounded queue.
    pub fn pump(&mut self) -> Result<(), Dead> {
        let tx = self.to_child.as_ref().ok_or_else(|| Dead("stdin closed".into()))?;
        while let Some(m) = self.staged.pop_front() {
            match tx.try_send(m) {
                Ok(()) => {}
                Err(TrySendError::Full(m)) => {
                    self.staged.push_front(m);
                    break;
                }
                Err(TrySendError::Disconnected(_)) => {
                    return Err(self.exit_reason("stopped reading its input"))
                }
            }
        }
        if self.staged.len() > MAX_STAGED {
            return Err(Dead(format!("does not read its input ({} messages queued)", self.staged.len())));
        }
        Ok(())
    }

    /// Whether messages wait for room in the writer's queue.
    pub fn backlogged(&self) -> bool {
        !self.staged.is_empty()
    }

    /// The next message if one is there.
    pub fn try_recv(&mut self) -> Result<Option<ChildMsg>, Dead> {
        if self.received.is_empty() {
            match self.from_child.try_recv() {
                Ok(batch) => self.received.extend(batch),
                Err(TryRecvError::Empty) => return Ok(None),
                Err(TryRecvError::Disconnected) => return Err(self.exit_reason("closed its output")),
            }
        }
        self.received.pop_front().map(|m| self.heard(m)).transpose()
    }

    /// The next message, waiting at most `d`.
    pub fn recv_timeout(&mut self, d: Duration) -> Result<Option<ChildMsg>, Dead> {
        self.pump()?;
        if self.received.is_empty() {
            match self.from_child.recv_timeout(d) {
                Ok(batch) => self.received.extend(batch),
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Err(self.exit_reason("closed its output")),
            }
        }
        self.received.pop_front().map(|m| self.heard(m)).transpose()
    }

    fn heard(&mut self, m: Received) -> Result<ChildMsg, Dead> {
        self.last_heard = Instant::now();
        m.map_err(|e| Dead(format!("broke the protocol: {e}")))
    }

    /// Liveness: `owes` says whether the child owes an answer (pending tuples or commands).
    pub fn check(&mut self, owes: bool, timeout: Duration) -> Result<(), Dead> {
        if let Ok(Some(status)) = self.proc.try_wait() {
            return Err(Dead(format!("exited ({status})")));
        }
        if !owes {
            self.last_heard = Instant::now();
            return Ok(());
        }
        // CPU is sampled every half timeout once the child has been silent that long (reading
        // /proc is not free): hung = silent for the timeout and no CPU over the last half.
        let (silent, half) = (self.last_heard.elapsed(), timeout / 2);
        if silent < half {
            self.cpu_mark = None;
            return Ok(());
        }
        match self.cpu_mark {
            None => self.cpu_mark = Some((cpu_ticks(self.pid), Instant::now())),
            Some((seen, at)) if at.elapsed() >= half => {
                let cpu = cpu_ticks(self.pid);
                if cpu > seen {
                    tracing::debug!(
                        "{}: child silent for {silent:?} but using CPU (busy, not hung)",
                        self.name
                    );
                    self.cpu_mark = Some((cpu, Instant::now()));
                } else if silent >= timeout {
                    return Err(Dead(format!(
                        "hung: no output for {:.1}s and no CPU for {:.1}s",
                        silent.as_secs_f64(),
                        at.elapsed().as_secs_f64()
                    )));
                }
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn exit_reason(&mut self, what: &str) -> Dead {
        // The process may take a moment to be reapable after closing its pipes.
        for _ in 0..50 {
            if let Ok(Some(status)) = self.proc.try_wait() {
                return Dead(format!("exited ({status})"));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Dead(what.to_owned())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.to_child = None;
        // The whole process group: a wrapper script's children go too.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.pid)])
            .stderr(Stdio::null())
            .status();
        let _ = self.proc.kill();
        let _ = self.proc.wait();
        let _ = std::fs::remove_dir_all(&self.pid_dir);
    }
}

fn write_loop(stdin: std::process::ChildStdin, rx: Receiver<Vec<u8>>) {
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, stdin);
    while let Ok(m) = rx.recv() {
        if w.write_all(&m).is_err() {
            return;
        }
        while let Ok(m) = rx.try_recv() {
            if w.write_all(&m).is_err() {
                return;
            }
        }
        if w.flush().is_err() {
            return;
        }
    }
}

fn read_loop(mut stdout: std::process::ChildStdout, tx: SyncSender<Vec<Received>>) {
    let (mut d, mut buf) = (Decoder::default(), vec![0u8; 64 * 1024]);
    loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        d.feed(&buf[..n]);
        let mut batch = Vec::new();
        let fatal = loop {
            match d.next_msg() {
                Ok(None) => break false,
                Ok(Some(m)) => batch.push(Ok(m)),
                Err(e) => {
                    batch.push(Err(e.0));
                    break true;
                }
            }
        };
        if (!batch.is_empty() && tx.send(batch).is_err()) || fatal {
            return;
        }
    }
}

fn stderr_loop(stderr: std::process::ChildStderr, name: &str) {
    let mut r = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Long lines are logged in pieces rather than buffered whole.
        match (&mut r).take(4096).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => tracing::warn!("{name} stderr: {}", String::from_utf8_lossy(&line).trim_end()),
        }
    }
}

/// Logs a child's `log` message at its level.
pub(crate) fn log(name: &str, level: u8, msg: &str) {
    match level {
        0 => tracing::trace!("{name}: {msg}"),
        1 => tracing::debug!("{name}: {msg}"),
        2 => tracing::info!("{name}: {msg}"),
        3 => tracing::warn!("{name}: {msg}"),
        _ => tracing::error!("{name}: {msg}"),
    }
}

/// CPU time (clock ticks) used so far by the processes of group `pgid`.
fn cpu_ticks(pgid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    let mut total = 0;
    for e in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // Fields after the command name (which may hold spaces): state ppid pgrp … utime stime.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) {
            let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            total += t(11) + t(12);
        }
    }
    total
}
