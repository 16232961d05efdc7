//! Storm's `JoinBolt` from a Flux file: two spouts joined on a key over an event-time window, each
//! joined record anchored to its own tuples only (a failed record fails just those spout
//! tuples), and the join's mistakes reported at the bolt's line.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::eventually;
use dataflow::config::{self, Substitution};
use dataflow::{Bolt, BoltCollector, OutputDeclarer, Registry, SpoutCollector, Tuple, Value};

type Log<T> = Arc<Mutex<Vec<T>>>;
/// (spout, row, acked?) for each spout tuple that completed.
type Done = Vec<(String, u64, bool)>;

/// Emits its `rows` once each (message id = row index) on fields `fields`; records acks and
/// fails by spout.
struct Rows {
    name: String,
    fields: Vec<String>,
    rows: Vec<Value>,
    next: usize,
    done: Log<(String, u64, bool)>,
}

impl dataflow::Spout for Rows {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        let fields: Vec<&str> = self.fields.iter().map(String::as_str).collect();
        d.declare(&fields);
    }
    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        match self.rows.get(self.next) {
            Some(Value::List(row)) => {
                c.emit(row.clone(), Some(self.next as u64));
                self.next += 1;
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    fn ack(&mut self, id: u64) {
        self.done.lock().unwrap().push((self.name.clone(), id, true));
    }
    fn fail(&mut self, id: u64, _why: &dataflow::FailReason) {
        self.done.lock().unwrap().push((self.name.clone(), id, false));
    }
}

/// Keeps every joined record; fails those whose second field is `fail_item`.
#[derive(Clone, Default)]
struct Joined {
    got: Log<Vec<Value>>,
    fields: Arc<Mutex<Vec<String>>>,
}

impl Bolt for Joined {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        *self.fields.lock().unwrap() = input.fields().to_vec();
        self.got.lock().unwrap().push(input.values.clone());
        if input.values.get(1) == Some(&Value::Str("cup".into())) {
            c.fail(&input, "no cups");
        } else {
            c.ack(&input);
        }
    }
}

fn registry(done: &Log<(String, u64, bool)>, sink: &Joined) -> Registry {
    let mut r = Registry::new();
    let done = done.clone();
    r.register_spout("Rows", move |p| {
        let name = p.str("name")?.unwrap_or_default();
        let fields = p.strs("fields")?;
        let rows = match p.get("rows") {
            Some(Value::List(rows)) => rows.clone(),
            _ => return Err("rows: a list of lists".into()),
        };
        let done = done.clone();
        Ok(Arc::new(move || {
            Box::new(Rows {
                name: name.clone(),
                fields: fields.clone(),
                rows: rows.clone(),
                next: 0,
                done: done.clone(),
            })
        }))
    });
    let sink = sink.clone();
    r.register_bolt("Joined", move |_| {
        let sink = sink.clone();
        Ok(Arc::new(move || Box::new(sink.clone())))
    });
    r
}

/// Rows carry event times (`ts`): the window `[0, 1 s)` closes once both inputs have sent a
/// time past it (the last row of each, which stays in a later window).
fn flux(join_methods: &str) -> String {
    format!(
        r#"name: join
components:
  - id: second
    className: org.apache.storm.topology.base.BaseWindowedBolt$Duration
    constructorArgs: [1, SECONDS]
  - id: often
    className: Duration
    constructorArgs: [20]
spouts:
  - id: purchases
    className: Rows
    properties:
      - {{name: name, value: purchases}}
      - {{name: fields, value: [userId, item, ts]}}
      - {{name: rows, value: [[1, pen, 10], [2, ink, 20], [1, pad, 30], [3, cup, 40], [9, zzz, 5000]]}}
  - id: ads
    className: Rows
    properties:
      - {{name: name, value: ads}}
      - {{name: fields, value: [userId, ad, ts]}}
      - {{name: rows, value: [[1, a1, 15], [2, a2, 25], [4, a4, 35], [9, a9, 5000]]}}
bolts:
  - id: joiner
    className: org.apache.storm.bolt.JoinBolt
    constructorArgs: [purchases, userId]
    configMethods:
{join_methods}
      - {{name: withTumblingWindow, args: [ref: second]}}
      - {{name: withTimestampField, args: [ts]}}
      - {{name: withWatermarkInterval, args: [ref: often]}}
  - id: sink
    className: Joined
streams:
  - {{from: purchases, to: joiner, grouping: {{type: GLOBAL}}}}
  - {{from: ads, to: joiner, grouping: {{type: GLOBAL}}}}
  - {{from: joiner, to: sink, grouping: {{type: SHUFFLE, streamId: joined}}}}
"#
    )
}

/// Runs the join with these `configMethods` until 7 spout tuples are acked or failed (the
/// rows at 5000 stay in their window); returns (ack/fail per spout and row, sorted; the
/// records the sink got, sorted by their second field; the output fields).
fn run(join_methods: &str) -> (Done, Vec<Vec<Value>>, Vec<String>) {
    let (done, sink): (Log<(String, u64, bool)>, Joined) = Default::default();
    let topology =
        config::parse(&flux(join_methods), "join.yaml", &Substitution::default(), &registry(&done, &sink))
            .unwrap_or_else(|e| panic!("{e}"));
    let running = dataflow::start(&topology).unwrap();
    let finished = eventually(20, || done.lock().unwrap().len() == 7);
    let _ = running.shutdown(Duration::from_millis(200));
    assert!(finished, "{:?}", done.lock().unwrap());
    let mut done = done.lock().unwrap().clone();
    done.sort();
    let mut got = sink.got.lock().unwrap().clone();
    got.sort_by_key(|r| r[1].to_string());
    let fields = sink.fields.lock().unwrap().clone();
    (done, got, fields)
}

#[test]
fn a_left_join_over_an_event_time_window_anchors_each_record_to_its_tuples() {
    let (done, got, fields) = run(r#"      - {name: leftJoin, args: [ads, userId, purchases]}
      - {name: select, args: ["userId, item, ads:ad"]}
      - {name: withOutputStream, args: [joined]}"#);
    let row = |u: i64, item: &str, ad: Option<&str>| {
        vec![Value::I64(u), Value::Str(item.into()), ad.map_or(Value::Null, |a| Value::Str(a.into()))]
    };
    assert_eq!(
        got,
        vec![
            row(3, "cup", None),
            row(2, "ink", Some("a2")),
            row(1, "pad", Some("a1")),
            row(1, "pen", Some("a1"))
        ]
    );
    assert_eq!(fields, ["userId", "item", "ads:ad"]);
    // Only the purchase in the failed record fails; the ad that joined nothing is acked when
    // it leaves the window, like every other tuple.
    let want: Vec<(String, u64, bool)> = [("ads", 0, true), ("ads", 1, true), ("ads", 2, true)]
        .into_iter()
        .chain([
            ("purchases", 0, true),
            ("purchases", 1, true),
            ("purchases", 2, true),
            ("purchases", 3, false),
        ])
        .map(|(s, i, ok)| (s.to_owned(), i, ok))
        .collect();
    assert_eq!(done, want);
}

#[test]
fn an_inner_join_drops_unmatched_records() {
    let (done, got, _) = run(r#"      - {name: join, args: [ads, userId, purchases]}
      - {name: select, args: ["ads:ad, item"]}
      - {name: withOutputStream, args: [joined]}"#);
    let row = |ad: &str, item: &str| vec![Value::Str(ad.into()), Value::Str(item.into())];
    assert_eq!(got, vec![row("a2", "ink"), row("a1", "pad"), row("a1", "pen")]);
    assert!(done.iter().all(|d| d.2), "all acked: {done:?}");
}

#[test]
fn join_mistakes_are_reported_at_the_bolts_line() {
    let (done, sink): (Log<(String, u64, bool)>, Joined) = Default::default();
    let r = registry(&done, &sink);
    let err = |methods: &str| match config::parse(&flux(methods), "join.yaml", &Substitution::default(), &r) {
        Ok(_) => panic!("accepted: {methods}"),
        Err(e) => e.to_string(),
    };
    let no_select = err(r#"      - {name: join, args: [ads, userId, purchases]}"#);
    assert!(no_select.contains("join.yaml:23") && no_select.contains("select("), "{no_select}");
    let unknown_prior = err(r#"      - {name: join, args: [ads, userId, clicks]}
      - {name: select, args: [item]}"#);
    assert!(unknown_prior.contains("\"clicks\" is not in the join"), "{unknown_prior}");
    let bad_args = err(r#"      - {name: join, args: [ads, userId]}"#);
    assert!(bad_args.contains("three arguments"), "{bad_args}");
}

#[test]
fn the_join_example_runs_under_sockflow() {
    let ports = common::free_ports(24_000, 3);
    let example = common::Example::new(
        "join-purchases-ads.yaml",
        vec![
            ("IN_PURCHASES", ports.to_string()),
            ("IN_ADS", (ports + 1).to_string()),
            ("OUT_JOINED", (ports + 2).to_string()),
        ],
    );
    let (ok, plan) = example.check();
    let join = "bolt join: tasks [3], tumbling window of 2000 ms: \
                purchases LEFT JOIN ads ON ads.userId = purchases.userId; select (userId, item, ad)";
    assert!(ok && plan.contains(join), "{plan}");
    let _child = example.run();
    let ctx = libsock::Context::new();
    let endpoint = |i: usize| format!("tcp://127.0.0.1:{}", example.env[i].1);
    let (purchases, ads) = (ctx.socket(libsock::PUSH).unwrap(), ctx.socket(libsock::PUSH).unwrap());
    purchases.connect(&endpoint(0)).unwrap();
    ads.connect(&endpoint(1)).unwrap();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_rcvtimeo(200).unwrap();
    pull.connect(&endpoint(2)).unwrap();
    // Both inputs within the first window (2 s from the first tuple).
    ads.send_multipart(["u1", "shoes"], 0).unwrap();
    purchases.send_multipart(["u1", "boots"], 0).unwrap();
    purchases.send_multipart(["u2", "hat"], 0).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut rows = Vec::new();
    while rows.len() < 2 && std::time::Instant::now() < deadline {
        if let Ok(frames) = pull.recv_multipart(0) {
            rows.push(frames.into_iter().map(|f| String::from_utf8(f).unwrap()).collect::<Vec<_>>());
        }
    }
    rows.sort();
    assert_eq!(rows, [["u1", "boots", "shoes"], ["u2", "hat", ""]], "u2 saw no ad: an empty frame");
}
