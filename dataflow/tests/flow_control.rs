//! Flow control: a slow bolt slows only the spout that feeds it, nothing is dropped, the
//! tuples in flight stay bounded by the queues, and an unrelated branch runs at full speed.
//! Also: tick tuples.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Numbers, Observed};
use dataflow::{Bolt, BoltCollector, OutputDeclarer, TopologyBuilder, Tuple};

/// Counts inputs (and ticks), optionally sleeping per input.
struct Count {
    n: Arc<AtomicU64>,
    ticks: Arc<AtomicU64>,
    pause: Duration,
    tick: Option<f64>,
}

impl Bolt for Count {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        if input.is_tick() {
            self.ticks.fetch_add(1, Ordering::Relaxed);
            return;
        }
        std::thread::sleep(self.pause);
        self.n.fetch_add(1, Ordering::Relaxed);
        c.ack(&input);
    }
    fn tick_freq_secs(&self) -> Option<f64> {
        self.tick
    }
}

fn counter(
    pause: Duration,
    tick: Option<f64>,
) -> (Arc<AtomicU64>, Arc<AtomicU64>, impl Fn() -> Box<dyn Bolt> + Send + Sync) {
    let (n, ticks) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (n2, t2) = (n.clone(), ticks.clone());
    (n, ticks, move || Box::new(Count { n: n2.clone(), ticks: t2.clone(), pause, tick }) as Box<dyn Bolt>)
}

#[test]
fn a_slow_bolt_slows_only_its_producers_and_drops_nothing() {
    const SLOW_COUNT: u64 = 400;
    let (slow_seen, fast_seen) =
        (Arc::new(Mutex::new(Observed::default())), Arc::new(Mutex::new(Observed::default())));
    let (slow_n, _, slow) = counter(Duration::from_millis(2), None);
    let (fast_n, _, fast) = counter(Duration::ZERO, None);
    let mut b = TopologyBuilder::new("flow");
    // Small queues: 4 batches of 8 tuples per inbox.
    b.config().receive_buffer = 4;
    b.config().batch_size = 8;
    b.config().acker_executors = 0;
    let s = slow_seen.clone();
    b.set_spout(
        "slow-src",
        move || Box::new(Numbers { reliable: false, ..Numbers::new(SLOW_COUNT, 10, s.clone()) }),
        1,
    );
    let f = fast_seen.clone();
    b.set_spout(
        "fast-src",
        move || Box::new(Numbers { reliable: false, ..Numbers::new(u64::MAX, 10, f.clone()) }),
        1,
    );
    b.set_bolt("slow", slow, 1).shuffle_grouping("slow-src");
    b.set_bolt("fast", fast, 1).shuffle_grouping("fast-src");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let (start, mut max_in_flight) = (Instant::now(), 0);
    while slow_n.load(Ordering::Relaxed) < SLOW_COUNT && start.elapsed() < Duration::from_secs(30) {
        let emitted = slow_seen.lock().unwrap().emits;
        max_in_flight = max_in_flight.max(emitted.saturating_sub(slow_n.load(Ordering::Relaxed)));
        std::thread::sleep(Duration::from_millis(5));
    }
    let slow_time = start.elapsed();
    let fast_done = fast_n.load(Ordering::Relaxed);
    running.shutdown(Duration::from_secs(1));
    assert_eq!(slow_n.load(Ordering::Relaxed), SLOW_COUNT, "every tuple reached the slow bolt");
    // Inbox (4 batches) + sender queue (4 batches) of 8 tuples, a partial batch, one call's 16.
    assert!(max_in_flight <= 4 * 8 * 2 + 8 + 16 + 8, "in flight: {max_in_flight}");
    assert!(slow_time >= Duration::from_millis(2) * SLOW_COUNT as u32 / 2);
    // The unrelated branch ran far faster than the slow one meanwhile.
    assert!(fast_done > SLOW_COUNT * 10, "fast branch processed {fast_done} while slow did {SLOW_COUNT}");
}

#[test]
fn tick_tuples_arrive_at_the_configured_frequency() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let (_, ticks, bolt) = counter(Duration::ZERO, Some(0.1));
    let (_, plain_ticks, plain) = counter(Duration::ZERO, None);
    let mut b = TopologyBuilder::new("ticks");
    b.set_spout("numbers", move || Box::new(Numbers::new(10, 1, seen.clone())), 1);
    b.set_bolt("ticked", bolt, 1).shuffle_grouping("numbers");
    b.set_bolt("plain", plain, 1).shuffle_grouping("numbers");
    let started = Instant::now();
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    // At least three ticks come (however slowly a loaded machine starts the topology), and
    // never more than 10 Hz allows over the time it ran.
    while ticks.load(Ordering::Relaxed) < 3 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    running.shutdown(Duration::from_secs(1));
    let (n, ran) = (ticks.load(Ordering::Relaxed), started.elapsed());
    assert!(n >= 3, "{n} ticks in {ran:?} at 10 Hz");
    assert!(n as f64 <= ran.as_secs_f64() * 10.0 + 2.0, "{n} ticks in {ran:?} at 10 Hz");
    assert_eq!(plain_ticks.load(Ordering::Relaxed), 0);
}
