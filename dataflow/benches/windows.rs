//! What a windowed bolt costs: acked 100-byte tuples from a generator through one bolt (and
//! what it emits through a second, which acks it), a
//! plain per-tuple bolt against windowed ones (tumbling count windows of 100 and 1 000
//! tuples, a tumbling 100 ms time window, a 1 s window sliding every 100 ms, a tumbling 100 ms
//! window of event time), one process; Storm's `JoinBolt` over two such spouts (keys in
//! 0..1000, tumbling windows of 1 000 tuples, inner join on the key); and counting by that
//! key per tuple, against a `StatefulCounter` checkpointing every 100 ms to memory and to
//! files (its acks wait for the checkpoint: in flight at most `MAX_PENDING` a spout).
//! Prints spout tuples acked per second, CPU per tuple and complete latency.
//!
//! `cargo bench -p dataflow --bench windows -- [SECS] [MAX_PENDING] [ROW]` (ROW: only the rows
//! whose name contains it)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dataflow::components::{Counter, Generator, JoinBolt, Selector, StatefulCounter, WindowCounter};
use dataflow::state::{StateSpec, Stateful};
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

/// `(key, payload)`: keys cycling through 0..1000 (a prime step, so that two spouts' windows
/// share some), 100-byte payloads; acked, never replayed.
struct Keyed(u64, Arc<AtomicU64>);

impl Spout for Keyed {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["key", "payload"]);
    }
    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        for _ in 0..64 {
            self.0 += 1;
            let key = (self.0 * 7919 % 1000) as i64;
            c.emit(vec![Value::I64(key), Value::Bytes(vec![7; 100])], Some(self.0));
        }
    }
    fn ack(&mut self, _id: u64) {
        self.1.fetch_add(1, Ordering::Relaxed);
    }
}

/// Acks whatever it gets (of any arity) and emits nothing.
struct AckAll;

impl Bolt for AckAll {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: dataflow::Tuple, c: &mut dataflow::BoltCollector<'_>) {
        c.ack(&input);
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

/// Which spouts feed the bolt.
#[derive(Clone, Copy, PartialEq)]
enum Input {
    Payloads,
    Stamped,
    /// Two keyed spouts, `left` and `right`.
    Keyed,
}

fn run(
    name: &str,
    secs: f64,
    max_pending: usize,
    bolt: Arc<dyn Fn() -> Box<dyn Bolt> + Send + Sync>,
    input: Input,
) {
    if std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(2)
        .is_some_and(|only| !name.contains(&only))
    {
        return;
    }
    let acks = Arc::new(AtomicU64::new(0));
    let mut b = TopologyBuilder::new("windows");
    b.config().max_spout_pending = Some(max_pending);
    let spouts: &[&str] = if input == Input::Keyed { &["left", "right"] } else { &["spout"] };
    for &spout in spouts {
        let a = acks.clone();
        b.set_spout(
            spout,
            move || -> Box<dyn Spout> {
                match input {
                    Input::Stamped => Box::new(Stamped(0, a.clone())),
                    Input::Payloads => Box::new(Counted(Generator::payload(100, 0), a.clone())),
                    Input::Keyed => Box::new(Keyed(0, a.clone())),
                }
            },
            1,
        );
    }
    let mut declarer = b.set_bolt("bolt", move || bolt(), 1);
    for &spout in spouts {
        declarer = declarer.shuffle_grouping(spout);
    }
    // What the bolt emits goes on (anchored: a window's output carries all its tuples' trees).
    b.set_bolt("sink", || Box::new(AckAll), 1).shuffle_grouping("bolt");
    let running = dataflow::start(&b.build().expect("valid")).expect("starts");
    let hub = running.metrics();
    std::thread::sleep(Duration::from_secs(2));
    let (n0, t0, c0) = (acks.load(Ordering::Relaxed), Instant::now(), cpu_secs());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let (n1, dt, cpu) = (acks.load(Ordering::Relaxed), t0.elapsed().as_secs_f64(), cpu_secs() - c0);
    let spout = hub.snapshot().into_iter().find(|t| *t.component == *spouts[0]).expect("spout metrics");
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
    run("per tuple (Counter, passthrough)", secs, max_pending, per_tuple, Input::Payloads);
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
        let input = if spec.timestamp_field.is_some() { Input::Stamped } else { Input::Payloads };
        let bolt =
            move || -> Box<dyn Bolt> { Box::new(Windowed::new(WindowCounter::default(), spec.clone())) };
        run(&format!("WindowCounter, {name}"), secs, max_pending, Arc::new(bolt), input);
    }
    let join = JoinBolt::new(Selector::Source, "left", "key")
        .and_then(|j| j.join("right", "key", "left"))
        .and_then(|j| j.select("key, left:payload, right:payload"))
        .expect("a valid join");
    let bolt = move || -> Box<dyn Bolt> {
        Box::new(Windowed::new(join.clone(), WindowSpec::tumbling(Span::Count(1000))))
    };
    run("JoinBolt, two spouts, tumbling 1 000 tuples", secs, max_pending, Arc::new(bolt), Input::Keyed);
    let by_key = Arc::new(|| -> Box<dyn Bolt> { Box::new(Basic(Counter::by("key"))) });
    run("Counter by key, two spouts", secs, max_pending, by_key, Input::Keyed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let every = Duration::from_millis(100);
    for (name, spec) in [("memory", StateSpec::memory()), ("files", StateSpec::files(dir.path()))] {
        let spec = spec.every(every);
        let bolt = move || -> Box<dyn Bolt> {
            Box::new(Stateful::new(StatefulCounter { field: Some("key".into()) }, spec.clone()))
        };
        let name = format!("StatefulCounter by key, two spouts, checkpoints to {name} every 100 ms");
        run(&name, secs, max_pending, Arc::new(bolt), Input::Keyed);
    }
}
