//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dataflow::{BasicBolt, BasicCollector, OutputDeclarer, Tuple, Value};

/// (task, values) of every tuple a sink saw.
pub type Seen = Arc<Mutex<Vec<(u32, Vec<Value>)>>>;

/// Records the last count per key and every task that saw each key.
#[derive(Clone, Default)]
pub struct Sink {
    pub counts: Arc<Mutex<HashMap<String, i64>>>,
    pub seen: Seen,
    task: u32,
}

impl BasicBolt for Sink {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn prepare(&mut self, ctx: &dataflow::TaskContext) -> Result<(), String> {
        self.task = ctx.task_id;
        Ok(())
    }
    fn execute(&mut self, t: &Tuple, _c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        if let (Some(Value::Str(k)), Some(Value::I64(n))) = (t.values.first(), t.values.get(1)) {
            let mut m = self.counts.lock().unwrap();
            let e = m.entry(k.clone()).or_insert(0);
            *e = (*e).max(*n);
        }
        self.seen.lock().unwrap().push((self.task, t.values.clone()));
        Ok(())
    }
}

/// The first of `n` consecutive loopback ports that are free now, picked at random from
/// `first..first + 2500` in steps of 10 (each test binary its own `first`, so that binaries
/// running at once rarely meet). Below the ephemeral range (32768-60999), where an outgoing
/// connection of another test may hold a port as its local end while a bind test succeeds.
/// A range handed out is never handed out again in this process, nor one overlapping it:
/// tests of one binary run at once, and a probe only sees ports already bound.
pub fn free_ports(first: u16, n: u16) -> u16 {
    static HANDED_OUT: Mutex<Vec<(u16, u16)>> = Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let base = first + fastrand::u16(0..250) * 10;
        let overlaps = handed_out.iter().any(|&(b, len)| base < b + len && b < base + n);
        if !overlaps && (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            handed_out.push((base, n));
            return base;
        }
    }
}

/// Polls `cond` every 10 ms until it holds or `secs` pass; returns whether it held.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// What a [`Numbers`] spout observed.
#[derive(Default)]
pub struct Observed {
    /// Times each message id was acked.
    pub acks: HashMap<u64, u32>,
    /// Every fail with its reason.
    pub fails: Vec<(u64, dataflow::FailReason)>,
    /// The most tuples in flight seen at once.
    pub max_pending: usize,
    /// Emits (first tries and replays).
    pub emits: u64,
}

/// Emits `(n, key)` for n in 0..count with message id n (`key` = "k{n % keys}"); replays on
/// fail; records acks, fails and pending.
pub struct Numbers {
    pub count: u64,
    pub keys: u64,
    pub next: u64,
    pub replay: std::collections::VecDeque<u64>,
    pub seen: Arc<Mutex<Observed>>,
    pub reliable: bool,
}

impl Numbers {
    pub fn new(count: u64, keys: u64, seen: Arc<Mutex<Observed>>) -> Numbers {
        Numbers { count, keys, next: 0, replay: Default::default(), seen, reliable: true }
    }
}

impl dataflow::Spout for Numbers {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["n", "key"]);
    }
    fn next_tuple(&mut self, c: &mut dataflow::SpoutCollector<'_>) {
        for _ in 0..16 {
            let n = match self.replay.pop_front() {
                Some(n) => n,
                None if self.next < self.count => {
                    self.next += 1;
                    self.next - 1
                }
                None => return,
            };
            let key = format!("k{}", n % self.keys);
            c.emit(vec![Value::I64(n as i64), Value::Str(key)], self.reliable.then_some(n));
            let mut s = self.seen.lock().unwrap();
            s.emits += 1;
            s.max_pending = s.max_pending.max(c.pending());
        }
    }
    fn ack(&mut self, id: u64) {
        *self.seen.lock().unwrap().acks.entry(id).or_insert(0) += 1;
    }
    fn fail(&mut self, id: u64, why: &dataflow::FailReason) {
        self.seen.lock().unwrap().fails.push((id, why.clone()));
        self.replay.push_back(id);
    }
}

/// An example topology file under `sockflow`, with `env` for its `${ENV-…}`.
pub struct Example {
    pub file: std::path::PathBuf,
    pub env: Vec<(&'static str, String)>,
}

impl Example {
    /// `dataflow/examples/<name>`.
    pub fn new(name: &str, env: Vec<(&'static str, String)>) -> Example {
        Example { file: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name), env }
    }

    /// `sockflow check -e`: whether it passed, and the plan it printed.
    pub fn check(&self) -> (bool, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sockflow"))
            .args(["check", "-e"])
            .arg(&self.file)
            .envs(self.env.iter().cloned())
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `sockflow run -e`, killed when the guard is dropped (a failed assertion leaves no
    /// process behind).
    pub fn run(&self) -> KillOnDrop {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_sockflow"))
            .args(["run", "-e", "--print-every", "0"])
            .arg(&self.file)
            .envs(self.env.iter().cloned())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        KillOnDrop(child)
    }
}

/// Kills and reaps the child when dropped.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
