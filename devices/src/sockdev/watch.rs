//! Connection bookkeeping from socket monitor events: logs (connections, disconnects,
//! handshake failures) and the open-connection gauge per side that `--metrics` reports.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use libsock::{Monitor, MonitorEvent, Socket, SocketEvent, EVENT_ALL};

/// Starts a thread that follows `socket`'s events; returns the gauge it keeps.
///
/// The thread ends when monitoring stops (the socket closes). The gauge counts transport
/// connections: accepted or connected, minus disconnected.
pub fn watch(socket: &Socket, side: &'static str) -> libsock::Result<Arc<AtomicI64>> {
    let monitor: Monitor = socket.monitor_events(EVENT_ALL)?;
    let gauge = Arc::new(AtomicI64::new(0));
    let counted = gauge.clone();
    std::thread::Builder::new()
        .name(format!("sockdev-watch-{side}"))
        .spawn(move || {
            for event in monitor {
                apply(&event, side, &counted);
            }
        })
        .map_err(libsock::Error::Io)?;
    Ok(gauge)
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
