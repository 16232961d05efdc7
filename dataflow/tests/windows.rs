//! Windowed bolts end to end: what each window holds, that every spout tuple is acked once it
//! leaves its last window, that a window's emits are anchored to its tuples (a downstream
//! fail replays them), and the Flux side (`withWindow`, `Count`/`Duration`, Storm's checks at
//! the component's line).

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Numbers, Observed};
use dataflow::components::WindowSum;
use dataflow::config::{self, Substitution};
use dataflow::window::{Span, WindowSpec, Windowed};
use dataflow::{Bolt, BoltCollector, OutputDeclarer, Registry, TopologyBuilder, Tuple, Value};

/// Records every tuple it gets; fails the first `fail_first` of them.
#[derive(Clone, Default)]
struct Collect {
    got: Arc<Mutex<Vec<Vec<Value>>>>,
    fail_first: usize,
}

impl Bolt for Collect {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        let mut got = self.got.lock().unwrap();
        got.push(input.values.clone());
        if got.len() <= self.fail_first {
            c.fail(&input, "the sink refused this window");
        } else {
            c.ack(&input);
        }
    }
}

fn ints(rows: &[Vec<Value>], col: usize) -> Vec<i64> {
    rows.iter().map(|r| r[col].as_i64().unwrap()).collect()
}

/// numbers → a `WindowSum` of `n` over `spec` → `sink`, one task each.
fn topology(count: u64, seen: &Arc<Mutex<Observed>>, spec: WindowSpec, sink: &Collect) -> TopologyBuilder {
    let mut b = TopologyBuilder::new("windows");
    b.config().message_timeout_secs = 30;
    let seen = seen.clone();
    b.set_spout("numbers", move || Box::new(Numbers::new(count, 10, seen.clone())), 1);
    b.set_bolt("window", move || Box::new(Windowed::new(WindowSum { field: "n".into() }, spec.clone())), 1)
        .shuffle_grouping("numbers");
    let sink = sink.clone();
    b.set_bolt("sink", move || Box::new(sink.clone()), 1).shuffle_grouping("window");
    b
}

#[test]
fn tumbling_time_windows_take_each_tuple_once_and_ack_it_after() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let sink = Collect::default();
    let spec = WindowSpec::tumbling(Span::Time(Duration::from_millis(200)));
    let b = topology(3000, &seen, spec, &sink);
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    // Every tuple leaves its window within about two window lengths, input or not (its
    // window's sum may reach the sink just after its ack reaches the spout).
    let counted = |got: &[Vec<Value>]| ints(got, 1).iter().sum::<i64>();
    let done = eventually(20, || {
        seen.lock().unwrap().acks.len() == 3000 && counted(&sink.got.lock().unwrap()) == 3000
    });
    assert!(running.shutdown(Duration::from_secs(5)));
    let s = seen.lock().unwrap();
    assert!(done, "acked {} of 3000; windows {:?}", s.acks.len(), sink.got.lock().unwrap());
    assert!(s.acks.values().all(|&n| n == 1) && s.fails.is_empty(), "acked once each, no fail");
    let got = sink.got.lock().unwrap();
    assert_eq!(ints(&got, 1).iter().sum::<i64>(), 3000, "each tuple in exactly one window: {got:?}");
    assert_eq!(ints(&got, 0).iter().sum::<i64>(), (0..3000).sum::<i64>());
}

#[test]
fn sliding_count_windows_hold_the_last_n_and_ack_what_leaves() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let sink = Collect::default();
    let spec = WindowSpec::sliding(Span::Count(10), Span::Count(5));
    let b = topology(100, &seen, spec, &sink);
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done =
        eventually(20, || sink.got.lock().unwrap().len() == 20 && seen.lock().unwrap().acks.len() == 90);
    // The last 10 tuples are still in the window: no later input moves them out.
    std::thread::sleep(Duration::from_millis(300));
    // Those 10 trees are still open: shutdown reports that they did not complete.
    assert!(!running.shutdown(Duration::from_millis(100)));
    let got = sink.got.lock().unwrap();
    assert!(done, "{} windows, {} acks", got.len(), seen.lock().unwrap().acks.len());
    // Windows after 5, 10, 15, … tuples: the first holds 5, then always the last 10.
    let mut want_counts = vec![5];
    want_counts.extend([10; 19]);
    assert_eq!(ints(&got, 1), want_counts);
    let want_sums: Vec<i64> = (1..=20).map(|k: i64| (5 * k - 10).max(0)..5 * k).map(|r| r.sum()).collect();
    assert_eq!(ints(&got, 0), want_sums);
    let s = seen.lock().unwrap();
    let mut acked: Vec<u64> = s.acks.keys().copied().collect();
    acked.sort_unstable();
    assert_eq!(acked, (0..90).collect::<Vec<u64>>(), "exactly the tuples no window can hold any more");
}

#[test]
fn a_failed_window_output_replays_the_windows_tuples() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let sink = Collect { fail_first: 1, ..Collect::default() };
    let spec = WindowSpec::tumbling(Span::Time(Duration::from_millis(300)));
    let b = topology(50, &seen, spec, &sink);
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(20, || {
        let first = sink.got.lock().unwrap().first().map_or(0, |w| w[1].as_i64().unwrap());
        seen.lock().unwrap().acks.len() == 50
            && ints(&sink.got.lock().unwrap(), 1).iter().sum::<i64>() == 50 + first
    });
    assert!(running.shutdown(Duration::from_secs(5)));
    let s = seen.lock().unwrap();
    assert!(done, "acked {} of 50", s.acks.len());
    assert!(!s.fails.is_empty(), "the first window's tuples failed");
    let first_window = ints(&sink.got.lock().unwrap()[..1], 1)[0] as usize;
    assert_eq!(s.fails.len(), first_window, "every tuple of the failed window, and only those");
    for (_, why) in &s.fails {
        assert!(why.to_string().contains("the sink refused this window"), "{why}");
    }
    assert!(s.acks.values().all(|&n| n == 1), "replayed, then acked once");
    let got = sink.got.lock().unwrap();
    assert_eq!(
        ints(&got, 1).iter().sum::<i64>(),
        50 + first_window as i64,
        "the failed window came again: {got:?}"
    );
}

fn load(dir: &Path, text: &str, registry: &Registry) -> Result<dataflow::Topology, String> {
    let path = dir.join("w.yaml");
    std::fs::write(&path, text).unwrap();
    config::load(&path, &Substitution::default(), registry).map_err(|e| e.to_string())
}

fn load_err(dir: &Path, text: &str, registry: &Registry) -> String {
    match load(dir, text, registry) {
        Ok(_) => panic!("loaded: {text}"),
        Err(e) => e,
    }
}

fn flux(window_methods: &str, config: &str) -> String {
    format!(
        "name: rolling
config:
{config}
components:
  - id: thirty
    className: org.apache.storm.topology.base.BaseWindowedBolt$Duration
    constructorArgs: [30, SECONDS]
  - id: short
    className: Duration
    constructorArgs: [300]
  - id: hundred
    className: org.apache.storm.topology.base.BaseWindowedBolt$Count
    constructorArgs: [100]
spouts:
  - id: gen
    className: Generator
    properties: [{{name: sentences, value: [the cow jumped over the moon, the man went to the store]}}]
bolts:
  - id: split
    className: Splitter
  - id: top
    className: WindowCounter
    properties: [{{name: field, value: word}}, {{name: top, value: 2}}]
{window_methods}
  - id: collect
    className: Collect
streams:
  - {{from: gen, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: top, grouping: {{type: FIELDS, args: [word]}}}}
  - {{from: top, to: collect, grouping: {{type: SHUFFLE}}}}
"
    )
}

#[test]
fn flux_windows_run_and_storm_checks_give_the_components_line() {
    let dir = tempfile::tempdir().unwrap();
    let got: Arc<Mutex<Vec<Vec<Value>>>> = Arc::default();
    let mut registry = Registry::new();
    let sink = Collect { got: got.clone(), fail_first: 0 };
    registry.register_bolt("Collect", move |_| {
        let sink = sink.clone();
        Ok(Arc::new(move || Box::new(sink.clone())))
    });
    let tumbling = "    configMethods: [{name: withTumblingWindow, args: [ref: short]}]";
    let t = load(dir.path(), &flux(tumbling, "  topology.max.spout.pending: 1000"), &registry).unwrap();
    let running = dataflow::start(&t).unwrap();
    assert!(eventually(20, || got.lock().unwrap().len() >= 4), "windows came out");
    assert!(running.shutdown(Duration::from_secs(5)));
    // "the" is the most frequent word of both sentences, then the rest tie.
    let got = got.lock().unwrap();
    assert_eq!(got[0][0], Value::Str("the".into()), "{got:?}");
    assert!(got[0][1].as_i64().unwrap() > got[1][1].as_i64().unwrap(), "{got:?}");

    // Storm's checks, at the windowed bolt's line.
    let line = |text: &str| 1 + text.lines().position(|l| l == "  - id: top").unwrap();
    let at = format!(":{}:", line(&flux("", "")));
    let sliding = "    configMethods: [{name: withWindow, args: [ref: thirty, ref: short]}]";
    let e = load_err(dir.path(), &flux(sliding, "  topology.message.timeout.secs: 30"), &registry);
    assert!(e.contains(&at) && e.contains("topology.message.timeout.secs"), "{e}");
    let counted = "    configMethods: [{name: withWindow, args: [ref: hundred, 50]}]";
    let e = load_err(dir.path(), &flux(counted, "  topology.max.spout.pending: 120"), &registry);
    assert!(e.contains(&at) && e.contains("150 tuples") && e.contains("max.spout.pending"), "{e}");
    assert!(load(dir.path(), &flux(counted, "  topology.max.spout.pending: 150"), &registry).is_ok());
    let e = load_err(dir.path(), &flux("", "  topology.workers: 1"), &registry);
    assert!(e.contains("WindowCounter is a windowed bolt") && e.contains("withWindow"), "{e}");
    // Event time: the Flux methods load; event-time settings without a timestamp field, or
    // without a window, are errors.
    let event = "    configMethods:
      - {name: withTumblingWindow, args: [ref: short]}
      - {name: withTimestampField, args: [ts]}
      - {name: withLag, args: [ref: short]}
      - {name: withWatermarkInterval, args: [ref: short]}
      - {name: withLateTupleStream, args: [late]}";
    assert!(load(dir.path(), &flux(event, "  topology.workers: 1"), &registry).is_ok());
    let lag_only = "    configMethods: [{name: withTumblingWindow, args: [ref: short]}, {name: withLag, args: [ref: short]}]";
    let e = load_err(dir.path(), &flux(lag_only, "  topology.workers: 1"), &registry);
    assert!(e.contains(&at) && e.contains("withTimestampField"), "{e}");
    let no_window = "    configMethods: [{name: withTimestampField, args: [ts]}]";
    let e = load_err(dir.path(), &flux(no_window, "  topology.workers: 1"), &registry);
    assert!(e.contains("withWindow"), "{e}");
    let bad_unit = "    configMethods: [{name: withTumblingWindow, args: [ref: thirty]}]";
    let text = flux(bad_unit, "  topology.workers: 1").replace("[30, SECONDS]", "[30, FORTNIGHTS]");
    let e = load_err(dir.path(), &text, &registry);
    assert!(e.contains("FORTNIGHTS"), "{e}");
}

/// The example file through the `sockflow` command: lines pushed in over tcp, the window's
/// top words pulled out.
#[test]
fn rolling_top_words_example_runs_under_sockflow() {
    let ports = common::free_ports(23_000, 2);
    let (inp, out) = (ports.to_string(), (ports + 1).to_string());
    let example = common::Example::new(
        "rolling-top-words.yaml",
        vec![("TOP_IN_PORT", inp.clone()), ("TOP_OUT_PORT", out.clone())],
    );
    let (_, plan) = example.check();
    assert!(plan.contains("bolt top: tasks [3], window of 10000 ms sliding every 2000 ms"), "{plan}");
    let _child = example.run();
    let ctx = libsock::Context::new();
    let push = ctx.socket(libsock::PUSH).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{inp}")).unwrap();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_rcvtimeo(200).unwrap();
    pull.connect(&format!("tcp://127.0.0.1:{out}")).unwrap();
    for _ in 0..50 {
        push.send("The cow and the moon and the moon", 0).unwrap();
    }
    // The first window (2 s after the first line) holds all 50 lines.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut rows = Vec::new();
    while rows.len() < 3 && std::time::Instant::now() < deadline {
        if let Ok(frames) = pull.recv_multipart(0) {
            rows.push(frames.into_iter().map(|f| String::from_utf8(f).unwrap()).collect::<Vec<_>>());
        }
    }
    assert_eq!(rows.len(), 3, "the top 3 of a window: {rows:?}");
    let want: Vec<Vec<String>> = [["the", "150"], ["and", "100"], ["moon", "100"]]
        .iter()
        .map(|r| r.iter().map(|f| f.to_string()).collect())
        .collect();
    assert_eq!(rows, want, "most frequent first, ties by word");
}

/// Emits `(id, ts)` tuples on a schedule: each when its time since the first call has come,
/// message id = its index. Records acks and fails; never replays.
struct Script {
    items: Vec<(Duration, Value)>,
    next: usize,
    started: Option<std::time::Instant>,
    acks: Arc<Mutex<Vec<u64>>>,
    fails: Arc<Mutex<Vec<(u64, String)>>>,
}

impl dataflow::Spout for Script {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["id", "ts"]);
    }
    fn next_tuple(&mut self, c: &mut dataflow::SpoutCollector<'_>) {
        let started = *self.started.get_or_insert_with(std::time::Instant::now);
        while let Some((at, ts)) = self.items.get(self.next) {
            if started.elapsed() < *at {
                std::thread::sleep(Duration::from_millis(1));
                return;
            }
            c.emit(vec![Value::I64(self.next as i64), ts.clone()], Some(self.next as u64));
            self.next += 1;
        }
    }
    fn ack(&mut self, id: u64) {
        self.acks.lock().unwrap().push(id);
    }
    fn fail(&mut self, id: u64, why: &dataflow::FailReason) {
        self.fails.lock().unwrap().push((id, why.to_string()));
    }
}

type Log<T> = Arc<Mutex<Vec<T>>>;

/// script → a `WindowSum` of `ts` over `spec` → `sink`; the late stream (if any) → `late`.
fn event_topology(
    items: Vec<(Duration, Value)>,
    spec: WindowSpec,
    sink: &Collect,
    late: &Collect,
) -> (TopologyBuilder, Log<u64>, Log<(u64, String)>) {
    let (acks, fails): (Log<u64>, Log<(u64, String)>) = Default::default();
    let mut b = TopologyBuilder::new("event-time");
    b.config().message_timeout_secs = 30;
    let (a, f) = (acks.clone(), fails.clone());
    b.set_spout(
        "script",
        move || {
            Box::new(Script {
                items: items.clone(),
                next: 0,
                started: None,
                acks: a.clone(),
                fails: f.clone(),
            })
        },
        1,
    );
    let late_stream = spec.late_tuple_stream.clone();
    b.set_bolt("window", move || Box::new(Windowed::new(WindowSum { field: "ts".into() }, spec.clone())), 1)
        .shuffle_grouping("script");
    let sink = sink.clone();
    b.set_bolt("sink", move || Box::new(sink.clone()), 1).shuffle_grouping("window");
    if let Some(stream) = late_stream {
        let late = late.clone();
        b.set_bolt("late", move || Box::new(late.clone()), 1).stream_grouping(
            "window",
            &stream,
            dataflow::Grouping::Shuffle,
        );
    }
    (b, acks, fails)
}

#[test]
fn event_time_windows_follow_the_timestamps_out_of_order() {
    // Times 0..1000 ms, each pair swapped (out of order by up to 1 ms; lag 5 ms), then one at
    // 2000 to carry the watermark past the last window.
    let mut times: Vec<i64> = (0..1000).collect();
    for pair in times.chunks_mut(2) {
        pair.swap(0, 1);
    }
    times.push(2000);
    let items = times.iter().map(|&t| (Duration::ZERO, Value::I64(t))).collect();
    let spec = WindowSpec::tumbling(Span::Time(Duration::from_millis(100)))
        .with_timestamp_field("ts")
        .with_lag(Duration::from_millis(5))
        .with_watermark_interval(Duration::from_millis(20));
    let (sink, late) = (Collect::default(), Collect::default());
    let (b, acks, fails) = event_topology(items, spec, &sink, &late);
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(20, || sink.got.lock().unwrap().len() == 10 && acks.lock().unwrap().len() == 1000);
    let _ = running.shutdown(Duration::from_millis(100)); // the tuple at 2000 stays in its window
    let got = sink.got.lock().unwrap();
    assert!(done, "{} windows, {} acks", got.len(), acks.lock().unwrap().len());
    // [0, 100), [100, 200), …: 100 tuples each, whatever order they came in.
    assert_eq!(ints(&got, 1), vec![100; 10]);
    let want: Vec<i64> = (0..10).map(|k| (100 * k..100 * k + 100).sum()).collect();
    assert_eq!(ints(&got, 0), want);
    let mut acked = acks.lock().unwrap().clone();
    acked.sort_unstable();
    assert_eq!(acked, (0..1000).collect::<Vec<u64>>(), "all but the tuple still in its window");
    assert!(fails.lock().unwrap().is_empty());
}

#[test]
fn late_tuples_go_to_the_late_stream_and_bad_times_fail() {
    let ms = Duration::from_millis;
    let mut items: Vec<(Duration, Value)> =
        (0..100).map(|t| (Duration::ZERO, Value::I64(1000 + t))).collect();
    // Once the watermark passed 1090 (by 300 ms: watermarks every 20 ms), a tuple of 1010 is
    // late; then one with no usable time; then one far ahead to close the window of 1000.
    items.push((ms(300), Value::I64(1010)));
    items.push((ms(300), Value::Str("yesterday".into())));
    items.push((ms(300), Value::I64(5000)));
    let spec = WindowSpec::tumbling(Span::Time(ms(1000)))
        .with_timestamp_field("ts")
        .with_watermark_interval(ms(20))
        .with_late_tuple_stream("late");
    let (sink, late) = (Collect::default(), Collect::default());
    let (b, acks, fails) = event_topology(items, spec, &sink, &late);
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(20, || !sink.got.lock().unwrap().is_empty() && acks.lock().unwrap().len() == 101);
    let _ = running.shutdown(Duration::from_millis(100));
    assert!(done, "{:?}, {} acks", sink.got.lock().unwrap(), acks.lock().unwrap().len());
    assert_eq!(*sink.got.lock().unwrap(), vec![vec![Value::I64((1000..1100).sum()), Value::I64(100)]]);
    let late_got = late.got.lock().unwrap();
    assert_eq!(
        *late_got,
        vec![vec![Value::List(vec![Value::I64(100), Value::I64(1010)])]],
        "(id, ts) of the late one"
    );
    assert!(acks.lock().unwrap().contains(&100), "the late tuple is acked once its late emit is");
    let fails = fails.lock().unwrap();
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert_eq!(fails[0].0, 101);
    assert!(fails[0].1.contains("no event time") && fails[0].1.contains("\"ts\""), "{}", fails[0].1);
}

/// Emits five copies of its input's first value, each anchored to it.
struct FiveCopies;

impl dataflow::BasicBolt for FiveCopies {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["n"]);
    }
    fn execute(&mut self, t: &Tuple, c: &mut dataflow::BasicCollector<'_, '_>) -> Result<(), String> {
        for _ in 0..5 {
            c.emit(vec![t.values[0].clone()]);
        }
        Ok(())
    }
}

#[test]
fn windows_whose_tuples_share_spout_trees_complete_them() {
    // 1 000 spout tuples, each fanned out to 5 in tumbling windows of 100: every window
    // anchors its output to 100 tuples of 20 trees (each tree's edges XORed together).
    let seen = Arc::new(Mutex::new(Observed::default()));
    let sink = Collect::default();
    let mut b = TopologyBuilder::new("shared-trees");
    b.config().message_timeout_secs = 30;
    let s = seen.clone();
    b.set_spout("numbers", move || Box::new(Numbers::new(1000, 10, s.clone())), 1);
    b.set_bolt("copies", || Box::new(dataflow::Basic(FiveCopies)), 1).shuffle_grouping("numbers");
    let spec = WindowSpec::tumbling(Span::Count(100));
    b.set_bolt("window", move || Box::new(Windowed::new(WindowSum { field: "n".into() }, spec.clone())), 1)
        .shuffle_grouping("copies");
    let sink2 = sink.clone();
    b.set_bolt("sink", move || Box::new(sink2.clone()), 1).shuffle_grouping("window");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    // The last window's 20 trees stay open: its tuples leave only when a next window fills.
    let done =
        eventually(20, || sink.got.lock().unwrap().len() == 50 && seen.lock().unwrap().acks.len() == 980);
    let _ = running.shutdown(Duration::from_millis(100));
    let s = seen.lock().unwrap();
    assert!(done, "{} windows, {} acks", sink.got.lock().unwrap().len(), s.acks.len());
    let mut acked: Vec<u64> = s.acks.keys().copied().collect();
    acked.sort_unstable();
    assert_eq!(acked, (0..980).collect::<Vec<u64>>());
    assert!(s.fails.is_empty() && s.acks.values().all(|&n| n == 1));
    assert_eq!(ints(&sink.got.lock().unwrap(), 1), vec![100; 50]);
}

#[test]
fn the_watermark_waits_for_every_subscribed_stream() {
    // `early` sends times 0–99 at once; `slow` sends the same times 300 ms later. Were the
    // watermark taken over the streams seen so far (watermarks every 20 ms), it would pass 99
    // before `slow` spoke and all of `slow`'s tuples would come late. Then both send 5000,
    // which closes the window [0, 1000).
    let ms = Duration::from_millis;
    let spec = WindowSpec::tumbling(Span::Time(ms(1000)))
        .with_timestamp_field("ts")
        .with_watermark_interval(ms(20))
        .with_late_tuple_stream("late");
    let (sink, late) = (Collect::default(), Collect::default());
    let acks: Log<u64> = Default::default();
    let mut b = TopologyBuilder::new("two-inputs");
    b.config().message_timeout_secs = 30;
    for (name, start) in [("early", ms(0)), ("slow", ms(300))] {
        let mut items: Vec<(Duration, Value)> = (0..100).map(|t| (start, Value::I64(t))).collect();
        items.push((ms(600), Value::I64(5000)));
        let acks = acks.clone();
        b.set_spout(
            name,
            move || {
                Box::new(Script {
                    items: items.clone(),
                    next: 0,
                    started: None,
                    acks: acks.clone(),
                    fails: Default::default(),
                })
            },
            1,
        );
    }
    b.set_bolt("window", move || Box::new(Windowed::new(WindowSum { field: "ts".into() }, spec.clone())), 1)
        .shuffle_grouping("early")
        .shuffle_grouping("slow");
    let (s, l) = (sink.clone(), late.clone());
    b.set_bolt("sink", move || Box::new(s.clone()), 1).shuffle_grouping("window");
    b.set_bolt("late", move || Box::new(l.clone()), 1).stream_grouping(
        "window",
        "late",
        dataflow::Grouping::Shuffle,
    );
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(20, || !sink.got.lock().unwrap().is_empty() && acks.lock().unwrap().len() == 200);
    let _ = running.shutdown(Duration::from_millis(100));
    assert!(late.got.lock().unwrap().is_empty(), "late: {} tuple(s)", late.got.lock().unwrap().len());
    assert!(done, "{:?}, {} acks", sink.got.lock().unwrap(), acks.lock().unwrap().len());
    let sum: i64 = (0..100).sum();
    assert_eq!(*sink.got.lock().unwrap(), vec![vec![Value::I64(2 * sum), Value::I64(200)]]);
}
