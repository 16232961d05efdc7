//! Telling systemd how the process is doing (`sd_notify(3)`), for units of `Type=notify`
//! with a `WatchdogSec=`: `READY=1` once it serves, `WATCHDOG=1` while it is healthy,
//! `STATUS=` lines (what `systemctl status` shows), `STOPPING=1` at the stop. Without
//! `NOTIFY_SOCKET` (not under systemd) every call does nothing.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// A process's notifications to its service manager.
pub struct Notifier {
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
            tracing::info!("systemd watchdog: fed every {every:?} while healthy");
        }
        Notifier { feed_every, last_feed: Instant::now(), status: String::new() }
    }

    /// How often [`Notifier::tick`] must be called at least (half the watchdog's timeout), if
    /// systemd watches this process.
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.feed_every
    }

    /// The process serves.
    pub fn ready(&mut self, status: &str) {
        self.status = status.to_owned();
        send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// Called often (at least every [`Notifier::watchdog_every`]) with the process's health:
    /// feeds the watchdog when healthy and due; says why in `STATUS=` when not (then the
    /// watchdog runs out and systemd restarts the process, as its `Restart=` says).
    pub fn tick(&mut self, health: &Result<String, String>) {
        let status = match health {
            Ok(line) => line,
            Err(why) => why,
        };
        if *status != self.status {
            send(&[NotifyState::Status(status)]);
            self.status = status.clone();
        }
        let Some(every) = self.feed_every else { return };
        if health.is_ok() && self.last_feed.elapsed() >= every {
            send(&[NotifyState::Watchdog]);
            self.last_feed = Instant::now();
        }
    }

    /// The process is stopping (`status`: what it does meanwhile).
    pub fn stopping(&mut self, status: &str) {
        send(&[NotifyState::Stopping, NotifyState::Status(status)]);
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!("sd_notify: {e}");
    }
}
