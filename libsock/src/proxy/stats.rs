//! Proxy counters: kept locally by the proxy loop, published to [`ProxyStats`] once per batch
//! so another thread (a metrics endpoint) can read them without slowing the hot path.

use std::sync::atomic::{AtomicU64, Ordering};

/// The four counters libzmq keeps per side of a proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SideStats {
    /// Messages received from this side (a multipart message counts once).
    pub msg_in: u64,
    /// Bytes received from this side (every frame's body).
    pub bytes_in: u64,
    /// Messages sent to this side.
    pub msg_out: u64,
    /// Bytes sent to this side.
    pub bytes_out: u64,
}

/// A snapshot of a proxy's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStatistics {
    /// The frontend's counters.
    pub frontend: SideStats,
    /// The backend's counters.
    pub backend: SideStats,
    /// Message copies dropped because the capture socket could not take them and its backlog
    /// (its SNDHWM in messages) was full, so that a slow capture never slows the proxy
    /// (libzmq blocks instead).
    pub capture_dropped: u64,
}

impl ProxyStatistics {
    /// The reply to `STATISTICS`, as libzmq sends it: eight frames of `u64` in host byte
    /// order, the frontend's four counters then the backend's.
    pub fn to_frames(&self) -> [[u8; 8]; 8] {
        let (f, b) = (&self.frontend, &self.backend);
        [f.msg_in, f.bytes_in, f.msg_out, f.bytes_out, b.msg_in, b.bytes_in, b.msg_out, b.bytes_out]
            .map(u64::to_ne_bytes)
    }

    /// Parses a `STATISTICS` reply (eight 8-byte frames); `None` if it has another shape.
    pub fn from_frames(frames: &[Vec<u8>]) -> Option<ProxyStatistics> {
        let v: Vec<u64> = frames
            .iter()
            .map(|f| <[u8; 8]>::try_from(f.as_slice()).ok().map(u64::from_ne_bytes))
            .collect::<Option<_>>()?;
        let [a, b, c, d, e, f, g, h] = v.as_slice() else { return None };
        Some(ProxyStatistics {
            frontend: SideStats { msg_in: *a, bytes_in: *b, msg_out: *c, bytes_out: *d },
            backend: SideStats { msg_in: *e, bytes_in: *f, msg_out: *g, bytes_out: *h },
            capture_dropped: 0,
        })
    }
}

/// A proxy's counters as other threads see them; see [`crate::Proxy::stats`].
///
/// Written only by the proxy's own thread, after each batch of messages (not per message).
#[derive(Debug, Default)]
pub struct ProxyStats {
    counters: [AtomicU64; 9],
    turns: AtomicU64,
}

impl ProxyStats {
    /// The counters as of the proxy's last batch.
    pub fn snapshot(&self) -> ProxyStatistics {
        let c: [u64; 9] = std::array::from_fn(|i| self.counters[i].load(Ordering::Relaxed));
        ProxyStatistics {
            frontend: SideStats { msg_in: c[0], bytes_in: c[1], msg_out: c[2], bytes_out: c[3] },
            backend: SideStats { msg_in: c[4], bytes_in: c[5], msg_out: c[6], bytes_out: c[7] },
            capture_dropped: c[8],
        }
    }

    /// How many times the proxy's loop has come round: after each batch, each wake-up, each
    /// control command read. A health check nudges a waiting proxy
    /// ([`crate::ProxyStopper::nudge`]) and sees this advance.
    pub fn turns(&self) -> u64 {
        self.turns.load(Ordering::Relaxed)
    }

    pub(crate) fn turned(&self) {
        // Only the proxy's thread writes it: no read-modify-write needed.
        self.turns.store(self.turns.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    pub(crate) fn publish(&self, s: &ProxyStatistics) {
        let (f, b) = (&s.frontend, &s.backend);
        let values = [
            f.msg_in,
            f.bytes_in,
            f.msg_out,
            f.bytes_out,
            b.msg_in,
            b.bytes_in,
            b.msg_out,
            b.bytes_out,
            s.capture_dropped,
        ];
        for (slot, v) in self.counters.iter().zip(values) {
            slot.store(v, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_round_trip_through_frames() {
        let s = ProxyStatistics {
            frontend: SideStats { msg_in: 1, bytes_in: 2, msg_out: 3, bytes_out: 4 },
            backend: SideStats { msg_in: 5, bytes_in: 6, msg_out: 7, bytes_out: u64::MAX },
            capture_dropped: 0,
        };
        let frames: Vec<Vec<u8>> = s.to_frames().iter().map(|f| f.to_vec()).collect();
        assert_eq!(frames[1], 2u64.to_ne_bytes());
        assert_eq!(ProxyStatistics::from_frames(&frames), Some(s));
        assert_eq!(ProxyStatistics::from_frames(&frames[..7]), None);
    }

    #[test]
    fn published_counters_are_seen() {
        let stats = ProxyStats::default();
        let mut s = ProxyStatistics::default();
        s.backend.bytes_out = 9;
        s.capture_dropped = 4;
        stats.publish(&s);
        assert_eq!(stats.snapshot(), s);
    }
}
