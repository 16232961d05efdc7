//! The benchmark: spout → 3 bolts (shuffle, fields, shuffle), 100-byte tuples, in one
//! process, unacked and acked. Prints spout tuples/s (tuples through the last bolt per second,
//! after a warm-up) and, when acked, complete latency p50/p99 and the acker's bytes per
//! pending tree.
//!
//! `cargo bench -p dataflow --bench chain -- [SECS] [unacked|acked|both|memory] [MAX_PENDING] [RATE]`
//!
//! RATE (spout tuples/s, 0 or absent: flat out) paces the spout, to measure latency at a
//! given throughput rather than at saturation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dataflow::components::{Counter, Generator};
use dataflow::{
    Basic, BasicBolt, BasicCollector, FailReason, OutputDeclarer, Spout, SpoutCollector, TopologyBuilder,
    Tuple,
};

/// The generator, paced to `rate` tuples/s (0: unpaced): it runs a burst only when the
/// schedule is a burst ahead.
struct Paced {
    gen: Generator,
    rate: f64,
    start: Option<Instant>,
    emitted: u64,
}

impl Spout for Paced {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        self.gen.declare_outputs(d);
    }
    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        if self.rate > 0.0 {
            let start = *self.start.get_or_insert_with(Instant::now);
            let due = start.elapsed().as_secs_f64() * self.rate;
            if (self.emitted as f64) + 64.0 > due {
                return;
            }
        }
        // The generator emits bursts of 64 (new or replayed).
        self.gen.next_tuple(c);
        self.emitted += 64;
    }
    fn ack(&mut self, id: u64) {
        self.gen.ack(id);
    }
    fn fail(&mut self, id: u64, why: &FailReason) {
        self.gen.fail(id, why);
    }
}

struct Sink(Arc<AtomicU64>);

impl BasicBolt for Sink {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, _t: &Tuple, _c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (Linux; 100 Hz).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn run(secs: f64, acked: bool, max_pending: usize, pace: f64) {
    let seen = Arc::new(AtomicU64::new(0));
    let mut b = TopologyBuilder::new("chain");
    b.config().acker_executors = usize::from(acked);
    b.config().max_spout_pending = acked.then_some(max_pending);
    b.set_spout(
        "spout",
        move || {
            let gen = Generator::payload(100, 0).reliable(acked);
            Box::new(Paced { gen, rate: pace, start: None, emitted: 0 })
        },
        1,
    );
    b.set_bolt("b1", || Box::new(Basic(Counter::passthrough())), 1).shuffle_grouping("spout");
    b.set_bolt("b2", || Box::new(Basic(Counter::passthrough())), 1).fields_grouping("b1", &["payload"]);
    let s = seen.clone();
    b.set_bolt("b3", move || Box::new(Basic(Sink(s.clone()))), 1).shuffle_grouping("b2");
    let running = dataflow::start(&b.build().expect("valid")).expect("starts");
    let hub = running.metrics();
    std::thread::sleep(Duration::from_secs(2));
    let (n0, t0, c0) = (seen.load(Ordering::Relaxed), Instant::now(), cpu_secs());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let (n1, dt, cpu) = (seen.load(Ordering::Relaxed), t0.elapsed().as_secs_f64(), cpu_secs() - c0);
    running.shutdown(Duration::from_secs(5));
    let rate = (n1 - n0) as f64 / dt;
    let mut mode = if acked { format!("acked (max.spout.pending {max_pending})") } else { "unacked".into() };
    if pace > 0.0 {
        mode += &format!(" paced to {pace:.0}/s");
    }
    let per_cpu = (n1 - n0) as f64 / cpu.max(0.01);
    print!(
        "chain {mode}: {rate:.0} spout tuples/s over {dt:.1} s using {:.2} cores; {per_cpu:.0} tuples per CPU-second",
        cpu / dt
    );
    if acked {
        let spout = hub.snapshot().into_iter().find(|t| &*t.component == "spout").expect("spout metrics");
        let h = &spout.complete_us;
        print!(
            ", complete latency p50 {:.2} ms p99 {:.2} ms ({} trees, {} failed)",
            h.value_at_quantile(0.5) as f64 / 1e3,
            h.value_at_quantile(0.99) as f64 / 1e3,
            h.len(),
            spout.failed
        );
    }
    println!();
}

/// The acker's memory per pending tree at several sizes (hashbrown's load factor varies
/// between 7/16 and 7/8 as the table doubles).
fn acker_memory() {
    let mut rng = fastrand::Rng::with_seed(1);
    for n in [1_000usize, 57_345, 100_000, 1_000_000] {
        let mut a = dataflow::runtime::Acker::new(30_000);
        for _ in 0..n {
            a.init(rng.u64(..), rng.u64(1..), 1, 0);
        }
        println!("acker: {n} pending trees, {:.1} bytes per pending tree", a.bytes_per_pending());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let secs = args.first().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let mode = args.get(1).map_or("both", String::as_str);
    let max_pending = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let rate = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0.0);
    if mode == "memory" {
        return acker_memory();
    }
    if mode != "acked" {
        run(secs, false, max_pending, rate);
    }
    if mode != "unacked" {
        run(secs, true, max_pending, rate);
    }
}
