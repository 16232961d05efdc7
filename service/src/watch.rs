//! Whether a process whose work is one loop (a relay, a router) is alive and ready: what
//! `/healthz` and `/readyz` answer ([`Health`]) and what feeds the systemd watchdog.
//!
//! The loop counts its turns; a thread of its own looks at the count every [`LOOK_EVERY`].
//! While the count moves the loop is alive. A loop that sleeps until there is work (a proxy
//! in `poll(-1)`) is nudged when its count has held still for [`NUDGE_AFTER`], and comes
//! round once; a loop silent for the timeout despite that is stuck: `/healthz` answers 503
//! and the watchdog is no longer fed, so that Kubernetes or systemd restart the process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::http::Check;
use crate::notify::Notifier;

/// How often the watching thread looks.
pub const LOOK_EVERY: Duration = Duration::from_millis(250);
/// How long the turn count may hold still before the loop is nudged.
pub const NUDGE_AFTER: Duration = Duration::from_secs(1);

/// What the looks at a turn count conclude: a pure state machine over the count and the time.
#[derive(Debug)]
pub struct Probe {
    timeout: Duration,
    last_turns: u64,
    alive_at: Instant,
}

/// What to do after a look.
#[derive(Debug, PartialEq, Eq)]
pub struct Look {
    /// Nudge the loop: it has been quiet for [`NUDGE_AFTER`].
    pub nudge: bool,
    /// How long it has been silent, once that is the timeout or more.
    pub stuck_for: Option<Duration>,
}

impl Probe {
    /// A probe that counts the loop alive as of `now`.
    pub fn new(timeout: Duration, turns: u64, now: Instant) -> Probe {
        Probe { timeout, last_turns: turns, alive_at: now }
    }

    /// One look: the loop's turn count at `now`.
    pub fn look(&mut self, turns: u64, now: Instant) -> Look {
        if turns != self.last_turns {
            self.last_turns = turns;
            self.alive_at = now;
        }
        let silent = now.saturating_duration_since(self.alive_at);
        Look { nudge: silent >= NUDGE_AFTER, stuck_for: (silent >= self.timeout).then_some(silent) }
    }
}

/// What the watching thread shares with the HTTP endpoint and the signal handler.
pub struct Health {
    verdict: Mutex<Result<String, String>>,
    stopping: AtomicBool,
}

impl Health {
    /// `/healthz`: the last look's verdict.
    pub fn liveness(self: &Arc<Self>) -> Check {
        let this = self.clone();
        Arc::new(move || this.verdict.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// `/readyz`: ready from the start until the stop.
    pub fn readiness(self: &Arc<Self>) -> Check {
        let this = self.clone();
        Arc::new(move || match this.stopping.load(Ordering::Relaxed) {
            true => Err("stopping".to_owned()),
            false => Ok("ready".to_owned()),
        })
    }

    /// From now on the process is stopping: not ready, and systemd is told so.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
}

/// What the watching thread reads and says.
pub struct Watched {
    /// What the loop is, in messages ("the queue relay's loop", "the DRPC router's loop").
    pub name: String,
    /// The loop's turn count.
    pub turns: Box<dyn Fn() -> u64 + Send>,
    /// Wakes the loop if it sleeps (`None`: it never sleeps for long).
    pub nudge: Option<Box<dyn Fn() + Send>>,
    /// The healthy status line ("ok: …"), read at each look.
    pub status: Box<dyn Fn() -> String + Send>,
    /// Silent this long: stuck.
    pub timeout: Duration,
}

/// The watching thread and what it shares.
pub struct Watchdog {
    /// The verdicts, for the HTTP endpoint.
    pub health: Arc<Health>,
    thread: JoinHandle<()>,
}

/// Starts the watching thread. It tells systemd `READY=1` with `ready` as the status at once
/// (start it once the process serves), a `STATUS=` line whenever its verdict changes, feeds
/// the watchdog while the loop is alive, and says `STOPPING=1` with `stopping` as the status
/// when [`Health::stopping`] is called.
pub fn start(watched: Watched, ready: String, stopping: String) -> std::io::Result<Watchdog> {
    let health =
        Arc::new(Health { verdict: Mutex::new(Ok((watched.status)())), stopping: AtomicBool::new(false) });
    let shared = health.clone();
    let thread = std::thread::Builder::new().name("watchdog".into()).spawn(move || {
        let mut notifier = Notifier::from_env();
        notifier.ready(&ready);
        let mut probe = Probe::new(watched.timeout, (watched.turns)(), Instant::now());
        while !shared.stopping.load(Ordering::Relaxed) {
            let look = probe.look((watched.turns)(), Instant::now());
            if let Some(nudge) = watched.nudge.as_ref().filter(|_| look.nudge) {
                nudge();
            }
            let verdict = match look.stuck_for {
                Some(silent) => {
                    Err(format!("stuck: {} has not come round for {} s", watched.name, silent.as_secs()))
                }
                None => Ok((watched.status)()),
            };
            notifier.tick(&verdict);
            *shared.verdict.lock().unwrap_or_else(|p| p.into_inner()) = verdict;
            std::thread::sleep(LOOK_EVERY);
        }
        notifier.stopping(&stopping);
    })?;
    Ok(Watchdog { health, thread })
}

impl Watchdog {
    /// Marks the process stopping and waits for the thread (which tells systemd).
    pub fn finish(self) {
        self.health.stopping();
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn a_moving_count_is_alive_a_still_one_is_nudged_then_stuck() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut p = Probe::new(Duration::from_secs(5), 7, t0);
        assert_eq!(p.look(7, at(500)), Look { nudge: false, stuck_for: None });
        assert_eq!(p.look(7, at(1000)), Look { nudge: true, stuck_for: None });
        // The nudge made it come round: alive again, no nudge for another second.
        assert_eq!(p.look(8, at(1250)), Look { nudge: false, stuck_for: None });
        assert_eq!(p.look(8, at(2250)), Look { nudge: true, stuck_for: None });
        // Nudged at every look from then on, and never came round.
        assert_eq!(p.look(8, at(6000)), Look { nudge: true, stuck_for: None });
        assert_eq!(p.look(8, at(6250)), Look { nudge: true, stuck_for: Some(Duration::from_secs(5)) });
        // Back: alive at once.
        assert_eq!(p.look(9, at(6500)), Look { nudge: false, stuck_for: None });
    }

    #[test]
    fn the_thread_nudges_a_sleeping_loop_and_reports_a_stuck_one() {
        // A loop that comes round only when nudged, until it "hangs".
        let turns = Arc::new(AtomicU64::new(0));
        let hung = Arc::new(AtomicBool::new(false));
        let (t, n, h) = (turns.clone(), turns.clone(), hung.clone());
        let dog = start(
            Watched {
                name: "the test loop".into(),
                turns: Box::new(move || t.load(Ordering::Relaxed)),
                nudge: Some(Box::new(move || {
                    if !h.load(Ordering::Relaxed) {
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                })),
                status: Box::new(|| "ok: fine".into()),
                timeout: Duration::from_secs(2),
            },
            "serving".into(),
            "stopping".into(),
        )
        .unwrap();
        let (live, ready) = (dog.health.liveness(), dog.health.readiness());
        std::thread::sleep(Duration::from_millis(3500));
        assert_eq!(live(), Ok("ok: fine".into()), "nudged, it stays alive past the timeout");
        assert!(turns.load(Ordering::Relaxed) >= 2, "not nudged");
        hung.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(10);
        while live().is_ok() {
            assert!(Instant::now() < deadline, "never reported stuck");
            std::thread::sleep(Duration::from_millis(50));
        }
        let why = live().unwrap_err();
        assert!(why.starts_with("stuck: the test loop has not come round for 2 s"), "{why}");
        assert_eq!(ready(), Ok("ready".into()));
        dog.health.stopping();
        assert_eq!(ready(), Err("stopping".into()));
        dog.finish();
    }
}
