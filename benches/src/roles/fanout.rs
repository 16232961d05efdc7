//! PUB/SUB fan-out: a flooding publisher and a process of subscribers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};

use super::{check_size, payload, Spec, BATCH, DATA, END, PROBE, SETUP_LIMIT, SUB_IDLE};
use crate::coord::Coord;
use crate::stats::Fields;
use crate::workload::{Lib, Role, Sock, SockOpts};

/// PUB: binds, sends probes until signalled once, sends data for `secs`, then end markers;
/// stays until signalled again. Reports `sent`.
pub fn publisher<L: Lib>(lib: &L, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let mut s = lib.socket(Role::Pub, &spec.opts())?;
    let ep = s.bind(&spec.endpoint)?;
    coord.ready(&ep);
    let setup_limit = Instant::now() + SETUP_LIMIT;
    while coord.signals() < 1 {
        s.send(&[PROBE])?;
        s.flush()?;
        thread::sleep(Duration::from_millis(10));
        if Instant::now() > setup_limit {
            bail!("subscribers never became ready");
        }
    }
    let body = payload(spec.size);
    let deadline = Instant::now() + spec.duration();
    let mut sent = 0u64;
    loop {
        for _ in 0..BATCH {
            s.send(&body)?;
        }
        sent += BATCH;
        if Instant::now() >= deadline {
            break;
        }
    }
    s.flush()?;
    for _ in 0..5 {
        s.send(END)?;
        s.flush()?;
        thread::sleep(Duration::from_millis(20));
    }
    coord.report(Fields::new().set("sent", sent as f64));
    coord.wait_signals(2);
    Ok(())
}

/// What one subscriber saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubSeen {
    /// Data messages received.
    pub count: u64,
    /// When the first data message arrived.
    pub first: Option<Instant>,
    /// When the last data message arrived.
    pub last: Option<Instant>,
    /// Stopped on the idle limit instead of an end marker.
    pub timed_out: bool,
}

/// Data messages a subscriber counts between two readings of the clock. Reading it twice for
/// every message (the stamp and the idle check) was half of libsock's subscriber CPU at 64 B
/// (188-233 ns a message against 108-109 without; libzmq's 271-298 against 230-235), a
/// cost every implementation paid alike. The last arrival is then early by at most this many
/// messages less one: microseconds in a run of a second.
const STAMP_EVERY: u64 = 16;

impl SubSeen {
    /// Counts one data message; stamps the first and then every 16th (`STAMP_EVERY`).
    #[inline]
    pub fn data(&mut self) {
        self.count += 1;
        if self.count % STAMP_EVERY == 1 {
            let now = Instant::now();
            self.first.get_or_insert(now);
            self.last = Some(now);
        }
    }

    /// How long no data message arrived, judged at a receive that timed out: `watch` holds
    /// the count and time of the previous such judgement, so the clock is read only then.
    pub fn idle_for(&self, watch: &mut IdleWatch) -> Duration {
        let now = Instant::now();
        if self.count != watch.count {
            *watch = IdleWatch { since: now, count: self.count };
        }
        now - watch.since
    }
}

/// Where [`SubSeen::idle_for`] last saw the count change.
#[derive(Clone, Copy, Debug)]
pub struct IdleWatch {
    since: Instant,
    count: u64,
}

impl IdleWatch {
    /// Starts watching now, before any data message.
    pub fn start() -> IdleWatch {
        IdleWatch { since: Instant::now(), count: 0 }
    }
}

/// Reports what `subscribers` saw: `received` (total data messages), `secs` (first arrival
/// anywhere to last arrival anywhere), `subs`, `timeouts`.
pub fn report_subs(coord: &dyn Coord, seen: &[SubSeen]) {
    let received: u64 = seen.iter().map(|s| s.count).sum();
    let first = seen.iter().filter_map(|s| s.first).min();
    let last = seen.iter().filter_map(|s| s.last).max();
    let secs = match (first, last) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => 0.0,
    };
    let timeouts = seen.iter().filter(|s| s.timed_out).count();
    coord.report(
        Fields::new()
            .set("received", received as f64)
            .set("secs", secs)
            .set("subs", seen.len() as f64)
            .set("timeouts", timeouts as f64),
    );
}

/// Counts subscribers that saw a probe; the last one to arrive tells the coordinator.
pub struct Joined<'a> {
    count: AtomicUsize,
    of: usize,
    coord: &'a dyn Coord,
}

impl<'a> Joined<'a> {
    /// Waits for `of` subscribers.
    pub fn new(of: usize, coord: &'a dyn Coord) -> Joined<'a> {
        Joined { count: AtomicUsize::new(0), of, coord }
    }

    /// One more subscriber saw a probe.
    pub fn arrived(&self) {
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.of {
            self.coord.ready("subscribed");
        }
    }
}

fn subscriber<L: Lib>(lib: &L, spec: &Spec, joined: &Joined<'_>) -> Result<SubSeen> {
    let opts = SockOpts { recv_timeout_ms: Some(100), ..spec.opts() };
    let mut s = lib.socket(Role::Sub, &opts)?;
    s.connect(&spec.endpoint)?;
    let started = Instant::now();
    loop {
        match s.recv()? {
            Some(r) if r.first == Some(PROBE) => break,
            _ if started.elapsed() > SETUP_LIMIT => bail!("no probe reached the subscriber"),
            _ => {}
        }
    }
    joined.arrived();
    let mut seen = SubSeen::default();
    let mut watch = IdleWatch::start();
    loop {
        match s.recv()? {
            Some(r) if r.len == 0 => break,
            Some(r) if r.first == Some(DATA) => {
                check_size(r, spec.size)?;
                seen.data();
            }
            Some(_) => {}
            None => match seen.idle_for(&mut watch) {
                idle if seen.count > 0 && idle > SUB_IDLE => {
                    seen.timed_out = true;
                    break;
                }
                idle if idle > SETUP_LIMIT => bail!("no data reached the subscriber"),
                _ => {}
            },
        }
    }
    Ok(seen)
}

/// `spec.subscribers` SUB sockets of one context, one thread each.
pub fn subscribers<L: Lib>(lib: &L, spec: &Spec, coord: &dyn Coord) -> Result<()> {
    let joined = Joined::new(spec.subscribers, coord);
    let seen = thread::scope(|scope| {
        let handles: Vec<_> =
            (0..spec.subscribers).map(|_| scope.spawn(|| subscriber(lib, spec, &joined))).collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("subscriber panicked"))?)
            .collect::<Result<Vec<_>>>()
    })?;
    report_subs(coord, &seen);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_message_and_stamps_the_first_and_then_every_sixteenth() {
        let mut seen = SubSeen::default();
        seen.data();
        let first = seen.first.expect("the first message is stamped");
        assert_eq!(seen.last, Some(first));
        for _ in 1..16 {
            seen.data();
        }
        assert_eq!((seen.count, seen.last), (16, Some(first)), "no stamp within the first 16");
        thread::sleep(Duration::from_millis(2));
        seen.data();
        assert_eq!(seen.count, 17);
        assert!(seen.last.unwrap() >= first + Duration::from_millis(2), "the 17th is stamped");
        assert_eq!(seen.first, Some(first));
    }

    #[test]
    fn idle_time_restarts_when_data_arrived_since_the_last_look() {
        let mut seen = SubSeen::default();
        let mut watch = IdleWatch::start();
        thread::sleep(Duration::from_millis(20));
        assert!(seen.idle_for(&mut watch) >= Duration::from_millis(20), "idle since the start");
        seen.data();
        assert!(seen.idle_for(&mut watch) < Duration::from_millis(20), "data arrived: restarts");
        thread::sleep(Duration::from_millis(20));
        assert!(seen.idle_for(&mut watch) >= Duration::from_millis(20), "no data since");
    }
}
