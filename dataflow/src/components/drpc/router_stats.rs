//! What a [`super::DrpcRouter`] has done, shared with whoever reports it (its log line at the
//! end, `sockflow drpc-server --metrics`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why the router answered a request itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Refusal {
    /// Not `[FUNCTION, ARGUMENT]` after the envelope.
    Malformed,
    /// A function the router does not serve.
    UnknownFunction,
    /// No spout of the function connected (or all full).
    NoSpout,
}

const REASONS: [(Refusal, &str); 3] = [
    (Refusal::Malformed, "malformed"),
    (Refusal::UnknownFunction, "unknown_function"),
    (Refusal::NoSpout, "no_spout"),
];

/// A router's counters: requests routed by function, requests refused by reason.
pub struct RouterStats {
    functions: Vec<String>,
    routed: Vec<AtomicU64>,
    refused: [AtomicU64; 3],
    turns: AtomicU64,
}

impl RouterStats {
    pub(super) fn new(functions: Vec<String>) -> RouterStats {
        let routed = functions.iter().map(|_| AtomicU64::new(0)).collect();
        RouterStats { functions, routed, refused: Default::default(), turns: AtomicU64::new(0) }
    }

    /// How many times the router's loop has come round (at least every 100 ms while it
    /// runs): what `sockflow drpc-server`'s `/healthz` and systemd watchdog follow.
    pub fn turns(&self) -> u64 {
        self.turns.load(Relaxed)
    }

    pub(super) fn turned(&self) {
        self.turns.fetch_add(1, Relaxed);
    }

    pub(super) fn routed(&self, route: usize) {
        self.routed[route].fetch_add(1, Relaxed);
    }

    pub(super) fn refused(&self, why: Refusal) {
        let i = REASONS.iter().position(|(r, _)| *r == why).unwrap_or(0);
        self.refused[i].fetch_add(1, Relaxed);
    }

    /// Requests handed to spouts, all functions together.
    pub fn routed_total(&self) -> u64 {
        self.routed.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// Requests the router answered with an error itself.
    pub fn refused_total(&self) -> u64 {
        self.refused.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// The counters in the Prometheus text format.
    pub fn prometheus(&self) -> String {
        let mut out = String::from(
            "# HELP sockflow_drpc_router_requests_total Requests handed to a function's spouts.\n\
             # TYPE sockflow_drpc_router_requests_total counter\n",
        );
        for (f, n) in self.functions.iter().zip(&self.routed) {
            let _ = writeln!(
                out,
                "sockflow_drpc_router_requests_total{{function=\"{}\"}} {}",
                label(f),
                n.load(Relaxed)
            );
        }
        out.push_str(
            "# HELP sockflow_drpc_router_refused_total Requests the router answered with an error itself.\n\
             # TYPE sockflow_drpc_router_refused_total counter\n",
        );
        for ((_, reason), n) in REASONS.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "sockflow_drpc_router_refused_total{{reason=\"{reason}\"}} {}",
                n.load(Relaxed)
            );
        }
        out
    }
}

/// A label value with Prometheus's escapes (backslash, double quote, newline).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_in_the_text_format() {
        let s = RouterStats::new(vec!["echo".into(), "odd\"name".into()]);
        s.routed(0);
        s.routed(0);
        s.refused(Refusal::NoSpout);
        assert_eq!((s.routed_total(), s.refused_total()), (2, 1));
        let text = s.prometheus();
        assert!(text.contains("sockflow_drpc_router_requests_total{function=\"echo\"} 2\n"), "{text}");
        assert!(text.contains("{function=\"odd\\\"name\"} 0\n"), "{text}");
        assert!(text.contains("sockflow_drpc_router_refused_total{reason=\"no_spout\"} 1\n"), "{text}");
        assert!(text.contains("sockflow_drpc_router_refused_total{reason=\"malformed\"} 0\n"), "{text}");
    }
}
