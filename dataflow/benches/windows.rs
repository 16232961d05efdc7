//! What a windowed bolt costs: acked 100-byte tuples from a generator through one bolt (and
//! what it emits through a second, which acks it), a
//! plain per-tuple bolt against windowed ones (tumbling count windows of 100 and 1 000
//! tuples, a tumbling 100 ms time window, a 1 s window sliding every 100 ms, a tumbling 100 ms
//! window of event time), one process.
//! Prints spout tuples acked per second, CPU per tuple and complete latency.
//!
//! `cargo bench -p dataflow --bench windows -- [SECS] [MAX_PENDING]`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dataflow::components::{Counter, Generator, WindowCounter};
use dataflow::window::{Span, WindowSpec, Windowed};
use dataflow::{Basic, Bolt, FailReason, OutputDeclarer, Spout, SpoutCollector, TopologyBuilder, Value};

/// The generator, counting its acks.
struct Counted(Generator, Arc<AtomicU64>);

impl Spout for Counted {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        self.0.declare_outputs(d);
    }
    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        self.0.next_tuple(c);
    }
    fn ack(&mut self, id: u64) {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.ack(id);
    }
    fn fail(&mut self, id: u64, why: &FailReason) {
        self.0.fail(id, why);
    }
}

/// 100-byte payloads stamped with the wall clock (ms), for event-time windows; acked, never
/// replayed (nothing fails here).
struct Stamped(u64, Arc<AtomicU64>);

impl Spout for Stamped {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["payload", "ts"]);
    }
    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        for _ in 0..64 {
            self.0 += 1;
            c.emit(vec![Value::Bytes(vec![7; 100]), Value::I64(now)], Some(self.0));
        }
    }
    fn ack(&mut self, _id: u64) {
        self.1.fetch_add(1, Ordering::Relaxed);
    }
}

/// CPU seconds (user + system) of this process, from /proc/self/stat (100 Hz).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn run(
    name: &str,
    secs: f64,
    max_pending: usize,
    bolt: Arc<dyn Fn() -> Box<dyn Bolt> + Send + Sync>,
    stamped: bool,
) {
    let acks = Arc::new(AtomicU64::new(0));
    let mut b = TopologyBuilder::new("windows");
    b.config().max_spout_pending = Some(max_pending);
    let a = acks.clone();
    b.set_spout(
        "spout",
        move || -> Box<dyn Spout> {
            if stamped {
                Box::new(Stamped(0, a.clone()))
            } else {
                Box::new(Counted(Generator::payload(100, 0), a.clone()))
            }
        },
        1,
    );
    b.set_bolt("bolt", move || bolt(), 1).shuffle_grouping("spout");
    // What the bolt emits goes on (anchored: a window's output carries all its tuples' trees).
    b.set_bolt("sink", || Box::new(Basic(Counter::passthrough())), 1).shuffle_grouping("bolt");
    let running = dataflow::start(&b.build().expect("valid")).expect("starts");
    let hub = running.metrics();
    std::thread::sleep(Duration::from_secs(2));
    let (n0, t0, c0) = (acks.load(Ordering::Relaxed), Instant::now(), cpu_secs());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let (n1, dt, cpu) = (acks.load(Ordering::Relaxed), t0.elapsed().as_secs_f64(), cpu_secs() - c0);
    let spout = hub.snapshot().into_iter().find(|t| &*t.component == "spout").expect("spout metrics");
    running.shutdown(Duration::from_secs(5));
    let n = (n1 - n0) as f64;
    let h = &spout.complete_us;
    println!(
        "| {name} | {:.0} | {:.0} | {:.2} / {:.2} |",
        n / dt,
        cpu * 1e9 / n.max(1.0),
        h.value_at_quantile(0.5) as f64 / 1e3,
        h.value_at_quantile(0.99) as f64 / 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let secs = args.first().and_then(|a| a.parse().ok()).unwrap_or(5.0);
    let max_pending = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    println!("acked, max.spout.pending {max_pending}, {secs} s a row\n");
    println!("| bolt | spout tuples acked/s | CPU ns a tuple | complete latency p50 / p99 ms |");
    println!("|---|---:|---:|---:|");
    let per_tuple = Arc::new(|| -> Box<dyn Bolt> { Box::new(Basic(Counter::passthrough())) });
    run("per tuple (Counter, passthrough)", secs, max_pending, per_tuple, false);
    let ms = |n| Span::Time(Duration::from_millis(n));
    let windows = [
        ("tumbling 100 tuples", WindowSpec::tumbling(Span::Count(100))),
        ("tumbling 1 000 tuples", WindowSpec::tumbling(Span::Count(1000))),
        ("tumbling 100 ms", WindowSpec::tumbling(ms(100))),
        ("1 s sliding every 100 ms", WindowSpec::sliding(ms(1000), ms(100))),
        (
            "tumbling 100 ms of event time (watermark every 10 ms)",
            WindowSpec::tumbling(ms(100))
                .with_timestamp_field("ts")
                .with_watermark_interval(Duration::from_millis(10)),
        ),
    ];
    for (name, spec) in windows {
        let stamped = spec.timestamp_field.is_some();
        let bolt =
            move || -> Box<dyn Bolt> { Box::new(Windowed::new(WindowCounter::default(), spec.clone())) };
        run(&format!("WindowCounter, {name}"), secs, max_pending, Arc::new(bolt), stamped);
    }
}
