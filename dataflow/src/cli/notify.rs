//! Telling systemd how a worker is doing (`sd_notify(3)`), for units of `Type=notify` with a
//! `WatchdogSec=`: `READY=1` once the topology runs, `WATCHDOG=1` while it is healthy,
//! `STATUS=` lines, `STOPPING=1` at the stop. Without `NOTIFY_SOCKET` (not under systemd)
//! every call does nothing.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// A worker's notifications to its service manager.
pub(super) struct Notifier {
    /// Half of `WATCHDOG_USEC` (when systemd asks for pings): how often to feed it.
    feed_every: Option<Duration>,
    last_feed: Instant,
    /// The last `STATUS=` sent (sent again only when it changes).
    status: String,
}

impl Notifier {
    /// Reads what systemd asked for (`WATCHDOG_USEC` for this process).
    pub fn from_env() -> Notifier {
        let mut usec = 0;
        let feed_every =
            sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec / 2));
        if let Some(every) = feed_every {
            tracing::info!("systemd watchdog: fed every {every:?} while every executor is alive");
        }
        Notifier { feed_every, last_feed: Instant::now(), status: String::new() }
    }

    /// The topology runs.
    pub fn ready(&mut self, status: &str) {
        self.status = status.to_owned();
        send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// Called often from the main loop with the worker's health: feeds the watchdog when
    /// healthy and due; says why in `STATUS=` when not (then the watchdog runs out and
    /// systemd restarts the worker, as its `Restart=` says).
    pub fn tick(&mut self, health: &Result<String, String>) {
        let status = match health {
            Ok(line) => line.clone(),
            Err(why) => why.clone(),
        };
        if status != self.status {
            send(&[NotifyState::Status(&status)]);
            self.status = status;
        }
        let Some(every) = self.feed_every else { return };
        if health.is_ok() && self.last_feed.elapsed() >= every {
            send(&[NotifyState::Watchdog]);
            self.last_feed = Instant::now();
        }
    }

    /// The worker is stopping (draining).
    pub fn stopping(&mut self) {
        send(&[NotifyState::Stopping, NotifyState::Status("stopping: draining in-flight tuples")]);
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!("sd_notify: {e}");
    }
}
