//! ZMTP 3.1 heartbeats on virtual time: when to PING, and when a silent peer is dead.

use std::time::{Duration, Instant};

/// Heartbeat settings taken from the socket options.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeartbeatConfig {
    /// Send a PING this often (HEARTBEAT_IVL); `None` = never.
    pub interval: Option<Duration>,
    /// Drop the connection when nothing arrives this long after a PING (HEARTBEAT_TIMEOUT).
    pub timeout: Option<Duration>,
    /// The TTL we ask the peer to apply to us, carried in our PINGs (HEARTBEAT_TTL).
    pub ttl: Option<Duration>,
}

/// What the heartbeat wants done.
#[derive(Debug, PartialEq, Eq)]
pub enum Beat {
    /// Nothing now.
    Idle,
    /// Send a PING with this TTL in tenths of a second.
    Ping(u16),
    /// We sent a PING and heard nothing within the timeout.
    TimedOut,
    /// The peer's PING asked us to give up after its TTL, and it has been silent that long.
    TtlExpired,
}

/// The heartbeat timers of one connection.
#[derive(Debug, Default)]
pub struct Heartbeat {
    cfg: HeartbeatConfig,
    next_ping: Option<Instant>,
    /// Set when a PING went out; cleared by any traffic.
    silence_deadline: Option<Instant>,
    /// Set by a peer's PING with a TTL; cleared by any traffic.
    ttl_deadline: Option<Instant>,
}

impl Heartbeat {
    /// Timers stay off until [`Heartbeat::start`].
    pub fn new(cfg: HeartbeatConfig) -> Heartbeat {
        Heartbeat { cfg, ..Heartbeat::default() }
    }

    /// The handshake is done: start pinging.
    pub fn start(&mut self, now: Instant) {
        self.next_ping = self.cfg.interval.map(|ivl| now + ivl);
    }

    /// Bytes arrived from the peer: it is alive.
    #[inline]
    pub fn on_traffic(&mut self) {
        self.silence_deadline = None;
        self.ttl_deadline = None;
    }

    /// The peer sent a PING asking for `ttl_deciseconds` (0 = no TTL).
    pub fn on_ping(&mut self, ttl_deciseconds: u16, now: Instant) {
        if ttl_deciseconds > 0 {
            self.ttl_deadline = Some(now + Duration::from_millis(u64::from(ttl_deciseconds) * 100));
        }
    }

    /// Advances to `now`.
    pub fn poll(&mut self, now: Instant) -> Beat {
        if self.silence_deadline.is_some_and(|d| d <= now) {
            return Beat::TimedOut;
        }
        if self.ttl_deadline.is_some_and(|d| d <= now) {
            return Beat::TtlExpired;
        }
        match (self.next_ping, self.cfg.interval) {
            (Some(at), Some(ivl)) if at <= now => {
                self.next_ping = Some(now + ivl);
                if self.silence_deadline.is_none() {
                    self.silence_deadline = Some(now + self.cfg.timeout.unwrap_or(ivl));
                }
                let ttl = self.cfg.ttl.map_or(0, |t| (t.as_millis() / 100).min(u16::MAX as u128));
                Beat::Ping(ttl as u16)
            }
            _ => Beat::Idle,
        }
    }

    /// A PING went out and nothing has arrived since.
    pub fn awaiting_reply(&self) -> bool {
        self.silence_deadline.is_some()
    }

    /// The earliest instant at which [`Heartbeat::poll`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.next_ping, self.silence_deadline, self.ttl_deadline].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pings_every_interval_and_times_out_on_silence() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(HeartbeatConfig {
            interval: Some(ms(100)),
            timeout: Some(ms(250)),
            ttl: Some(ms(1000)),
        });
        hb.start(t0);
        assert_eq!(hb.poll(t0 + ms(50)), Beat::Idle);
        assert_eq!(hb.next_deadline(), Some(t0 + ms(100)));
        assert_eq!(hb.poll(t0 + ms(100)), Beat::Ping(10));
        assert_eq!(hb.poll(t0 + ms(200)), Beat::Ping(10));
        assert_eq!(hb.poll(t0 + ms(350)), Beat::TimedOut);
    }

    #[test]
    fn traffic_keeps_the_connection_alive() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(HeartbeatConfig { interval: Some(ms(100)), ..Default::default() });
        hb.start(t0);
        for i in 1..20 {
            let now = t0 + ms(100 * i);
            assert_eq!(hb.poll(now), Beat::Ping(0));
            hb.on_traffic();
        }
    }

    #[test]
    fn peer_ttl_expires_without_traffic() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(HeartbeatConfig::default());
        hb.start(t0);
        assert_eq!(hb.next_deadline(), None);
        hb.on_ping(5, t0);
        assert_eq!(hb.poll(t0 + ms(499)), Beat::Idle);
        assert_eq!(hb.poll(t0 + ms(500)), Beat::TtlExpired);
        hb.on_traffic();
        assert_eq!(hb.poll(t0 + ms(600)), Beat::Idle);
    }
}
