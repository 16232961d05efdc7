//! How a role talks to whoever started it, outside the measured sockets.
//!
//! A role announces readiness ([`Coord::ready`]: "bound to this endpoint", "subscribed") and
//! waits for numbered go signals ([`Coord::signals`], [`Coord::wait_signals`]). In a worker
//! process this is lines on stdout and stdin ([`StdioCoord`]); for inproc, where both sides
//! are threads of one process, it is a channel and a counter ([`ThreadCoord`]).

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::stats::Fields;

/// The side channel of a role.
pub trait Coord: Sync {
    /// Tells the other side something is ready (an endpoint, or a word).
    fn ready(&self, what: &str);
    /// How many go signals have arrived so far (never blocks).
    fn signals(&self) -> usize;
    /// Blocks until at least `n` go signals have arrived (or the other side is gone).
    fn wait_signals(&self, n: usize);
    /// Hands over the role's result.
    fn report(&self, fields: &Fields);
}

/// Counts signals and wakes waiters.
#[derive(Default)]
struct Counter {
    count: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Counter {
    fn add(&self, closed: bool) {
        let _guard = self.lock.lock().unwrap();
        let add = if closed { usize::MAX / 2 } else { 1 };
        self.count.fetch_add(add, Ordering::Release);
        self.cond.notify_all();
    }

    fn get(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    fn wait(&self, n: usize) {
        let mut guard = self.lock.lock().unwrap();
        while self.get() < n {
            guard = self.cond.wait(guard).unwrap();
        }
    }
}

/// Worker-process side channel: `READY <what>` lines on stdout, one go signal per line on
/// stdin. End of stdin counts as every signal (the runner is gone or done: do not hang).
pub struct StdioCoord {
    counter: Arc<Counter>,
}

impl StdioCoord {
    /// Starts the stdin reader thread.
    pub fn new() -> StdioCoord {
        let counter = Arc::new(Counter::default());
        let reader = counter.clone();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut line = String::new();
            loop {
                line.clear();
                match stdin.lock().read_line(&mut line) {
                    Ok(0) | Err(_) => return reader.add(true),
                    Ok(_) => reader.add(false),
                }
            }
        });
        StdioCoord { counter }
    }
}

impl Default for StdioCoord {
    fn default() -> Self {
        StdioCoord::new()
    }
}

impl Coord for StdioCoord {
    fn ready(&self, what: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "READY {what}");
        let _ = out.flush();
    }

    fn signals(&self) -> usize {
        self.counter.get()
    }

    fn wait_signals(&self, n: usize) {
        self.counter.wait(n);
    }

    fn report(&self, fields: &Fields) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "RESULT {}", fields.to_line());
        let _ = out.flush();
    }
}

/// In-process side channel for a role on a thread: its `ready` goes to
/// [`ThreadCoord::wait_ready`], its report is kept for [`ThreadCoord::take_report`], and
/// [`ThreadCoord::signal_all`] releases its waits.
pub struct ThreadCoord {
    ready_tx: Mutex<Sender<String>>,
    ready_rx: Mutex<Receiver<String>>,
    counter: Counter,
    /// The report, and whether the role ended (with or without one).
    done: Mutex<(Option<Fields>, bool)>,
    done_cond: Condvar,
}

impl ThreadCoord {
    /// A fresh channel.
    pub fn new() -> ThreadCoord {
        let (ready_tx, ready_rx) = channel();
        ThreadCoord {
            ready_tx: Mutex::new(ready_tx),
            ready_rx: Mutex::new(ready_rx),
            counter: Counter::default(),
            done: Mutex::new((None, false)),
            done_cond: Condvar::new(),
        }
    }

    /// Marks the role as ended (call after it returned, whatever it returned).
    pub fn finish(&self) {
        self.done.lock().unwrap().1 = true;
        self.done_cond.notify_all();
    }

    /// Blocks until the role reported or ended.
    pub fn wait_report(&self) {
        let mut done = self.done.lock().unwrap();
        while done.0.is_none() && !done.1 {
            done = self.done_cond.wait(done).unwrap();
        }
    }

    /// Takes the report, if there was one.
    pub fn take_report(&self) -> Option<Fields> {
        self.done.lock().unwrap().0.take()
    }

    /// Releases every present and future `wait_signals`.
    pub fn signal_all(&self) {
        self.counter.add(true);
    }

    /// Waits for the next `ready` (up to `timeout`).
    pub fn wait_ready(&self, timeout: Duration) -> Option<String> {
        self.ready_rx.lock().unwrap().recv_timeout(timeout).ok()
    }
}

impl Default for ThreadCoord {
    fn default() -> Self {
        ThreadCoord::new()
    }
}

impl Coord for ThreadCoord {
    fn ready(&self, what: &str) {
        let _ = self.ready_tx.lock().unwrap().send(what.to_string());
    }

    fn signals(&self) -> usize {
        self.counter.get()
    }

    fn wait_signals(&self, n: usize) {
        self.counter.wait(n);
    }

    fn report(&self, fields: &Fields) {
        self.done.lock().unwrap().0 = Some(fields.clone());
        self.done_cond.notify_all();
    }
}
