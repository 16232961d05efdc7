//! `/metrics`: the relay's counters in the Prometheus text format (served by
//! [`service::http`] with `/healthz` and `/readyz`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use libsock::{ProxyStatistics, ProxyStats};

/// What the endpoint reports: the proxy's counters and the connections open per side.
pub struct Gauges {
    /// The proxy's counters.
    pub stats: Arc<ProxyStats>,
    /// Open connections of the frontend socket.
    pub frontend_connections: Arc<AtomicI64>,
    /// Open connections of the backend socket.
    pub backend_connections: Arc<AtomicI64>,
    /// The device's name, as a label.
    pub device: &'static str,
}

impl Gauges {
    /// The Prometheus text exposition of the current values.
    pub fn render(&self) -> String {
        let s: ProxyStatistics = self.stats.snapshot();
        let dev = self.device;
        let mut out = String::with_capacity(1024);
        let mut family = |name: &str, kind: &str, help: &str, values: [(&str, u64); 2]| {
            out.push_str(&format!("# HELP sockdev_{name} {help}\n# TYPE sockdev_{name} {kind}\n"));
            for (side, v) in values {
                out.push_str(&format!("sockdev_{name}{{device=\"{dev}\",side=\"{side}\"}} {v}\n"));
            }
        };
        let (f, b) = (s.frontend, s.backend);
        family(
            "messages_received_total",
            "counter",
            "Messages received from this side.",
            [("frontend", f.msg_in), ("backend", b.msg_in)],
        );
        family(
            "bytes_received_total",
            "counter",
            "Bytes received from this side.",
            [("frontend", f.bytes_in), ("backend", b.bytes_in)],
        );
        family(
            "messages_sent_total",
            "counter",
            "Messages sent to this side.",
            [("frontend", f.msg_out), ("backend", b.msg_out)],
        );
        family(
            "bytes_sent_total",
            "counter",
            "Bytes sent to this side.",
            [("frontend", f.bytes_out), ("backend", b.bytes_out)],
        );
        let conns = |c: &AtomicI64| c.load(Ordering::Relaxed).max(0) as u64;
        family(
            "connections",
            "gauge",
            "Connections open on this side's socket.",
            [("frontend", conns(&self.frontend_connections)), ("backend", conns(&self.backend_connections))],
        );
        out.push_str("# HELP sockdev_capture_dropped_total Copies the capture socket had no room for.\n");
        out.push_str("# TYPE sockdev_capture_dropped_total counter\n");
        out.push_str(&format!("sockdev_capture_dropped_total{{device=\"{dev}\"}} {}\n", s.capture_dropped));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let gauges = Gauges {
            stats: Arc::default(),
            frontend_connections: Arc::new(AtomicI64::new(3)),
            backend_connections: Arc::default(),
            device: "queue",
        };
        let page = gauges.render();
        assert!(page.contains("sockdev_connections{device=\"queue\",side=\"frontend\"} 3\n"), "{page}");
        assert!(page.contains("# TYPE sockdev_messages_received_total counter\n"), "{page}");
    }
}
