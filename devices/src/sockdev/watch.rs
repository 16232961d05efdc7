//! Connection bookkeeping from socket monitor events: logs (connections, disconnects,
//! handshake failures) and the open-connection gauge per side that `--metrics` reports.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libsock::{Monitor, MonitorEvent, Socket, SocketEvent, EVENT_ALL};

/// A thread following one socket's events, and the gauge it keeps.
pub struct Watch {
    /// Transport connections open: accepted or connected, minus disconnected.
    pub gauge: Arc<AtomicI64>,
    thread: JoinHandle<()>,
}

/// Starts a thread that follows `socket`'s events.
///
/// The thread ends when monitoring stops (the socket closes) or the context terminates;
/// [`Watch::finish`] waits for that.
pub fn watch(socket: &Socket, side: &'static str) -> libsock::Result<Watch> {
    let monitor: Monitor = socket.monitor_events(EVENT_ALL)?;
    let gauge = Arc::new(AtomicI64::new(0));
    let counted = gauge.clone();
    let thread = std::thread::Builder::new()
        .name(format!("sockdev-watch-{side}"))
        .spawn(move || {
            for event in monitor {
                apply(&event, side, &counted);
            }
        })
        .map_err(libsock::Error::Io)?;
    Ok(Watch { gauge, thread })
}

impl Watch {
    /// Waits up to `limit` for the thread to end (its socket must be closed, or the context
    /// terminated, first); true if it did.
    pub fn finish(self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.thread.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.thread.join().is_ok()
    }
}

/// Logs one event and updates the gauge.
pub fn apply(e: &MonitorEvent, side: &str, gauge: &AtomicI64) {
    let ep = e.endpoint.as_str();
    match e.event {
        SocketEvent::Accepted | SocketEvent::Connected => {
            gauge.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(side, endpoint = ep, "connection");
        }
        SocketEvent::Disconnected => {
            gauge.fetch_sub(1, Ordering::Relaxed);
            tracing::debug!(side, endpoint = ep, "disconnected");
        }
        SocketEvent::HandshakeSucceeded => tracing::info!(side, endpoint = ep, "peer connected"),
        SocketEvent::HandshakeFailedNoDetail
        | SocketEvent::HandshakeFailedProtocol
        | SocketEvent::HandshakeFailedAuth => {
            tracing::warn!(side, endpoint = ep, event = ?e.event, code = e.value, "handshake failed")
        }
        SocketEvent::Listening => tracing::info!(side, endpoint = ep, "listening"),
        SocketEvent::BindFailed | SocketEvent::AcceptFailed => {
            tracing::warn!(side, endpoint = ep, event = ?e.event, errno = e.value, "listener trouble")
        }
        SocketEvent::ConnectRetried => tracing::debug!(side, endpoint = ep, ivl_ms = e.value, "reconnecting"),
        _ => tracing::trace!(side, endpoint = ep, event = ?e.event, "socket event"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauge_follows_connections() {
        let gauge = AtomicI64::new(0);
        let ev = |event| MonitorEvent { event, value: 0, endpoint: "tcp://x:1".into() };
        apply(&ev(SocketEvent::Accepted), "frontend", &gauge);
        apply(&ev(SocketEvent::Connected), "frontend", &gauge);
        apply(&ev(SocketEvent::HandshakeSucceeded), "frontend", &gauge);
        apply(&ev(SocketEvent::Disconnected), "frontend", &gauge);
        assert_eq!(gauge.load(Ordering::Relaxed), 1);
    }
}
