//! Multilang children that crash, hang, stay busy, flood or break the protocol: their pending
//! tuples fail with the reason and are replayed, the child is restarted, nothing is lost, and
//! a busy child is not mistaken for a hung one.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Sink};
use dataflow::components::{Counter, Generator};
use dataflow::multilang::{ShellBolt, ShellSpec};
use dataflow::{Basic, FailReason, OutputDeclarer, Spout, SpoutCollector, TopologyBuilder};

const SENTENCES: [&str; 2] = ["the cat sat", "the dog ran the race"];

/// A reliable generator that records every ack (per message id) and every fail reason.
#[derive(Clone)]
struct Recording {
    gen: Generator,
    acks: Arc<Mutex<HashMap<u64, u32>>>,
    fails: Arc<Mutex<Vec<String>>>,
}

impl Spout for Recording {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        self.gen.declare_outputs(d);
    }
    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        self.gen.next_tuple(c);
    }
    fn ack(&mut self, id: u64) {
        *self.acks.lock().unwrap().entry(id).or_default() += 1;
    }
    fn fail(&mut self, id: u64, why: &FailReason) {
        self.fails.lock().unwrap().push(why.to_string());
        self.gen.fail(id, why);
    }
}

struct Outcome {
    acks: HashMap<u64, u32>,
    fails: Vec<String>,
    counts: HashMap<String, i64>,
    /// Errors the split bolt reported (its child's `error` commands).
    errors: u64,
    /// The split task's named values (its child's `metrics` commands), and the Prometheus text.
    metrics: Vec<(String, f64)>,
    prometheus: String,
}

/// gen (n sentences) → python split (`args`) → count → sink, until every sentence is acked.
fn run(n: u64, args: &[&str], tweak: impl Fn(&mut ShellSpec)) -> Outcome {
    let rec = Recording {
        gen: Generator::sentences(SENTENCES.iter().map(|s| s.to_string()).collect(), n),
        acks: Arc::default(),
        fails: Arc::default(),
    };
    let (acks, fails) = (rec.acks.clone(), rec.fails.clone());
    let script = format!("{}/tests/multilang/splitsentence.py", env!("CARGO_MANIFEST_DIR"));
    let mut command = vec!["python3".to_owned(), script];
    command.extend(args.iter().map(|a| a.to_string()));
    let mut spec = ShellSpec::new(command, vec!["word".into()]);
    tweak(&mut spec);
    let spec = Arc::new(spec);
    let sink = Sink::default();
    let counts = sink.counts.clone();
    let mut b = TopologyBuilder::new("ml-failures");
    b.config().max_spout_pending = Some(100);
    b.set_spout("gen", move || Box::new(rec.clone()), 1);
    b.set_bolt("split", move || Box::new(ShellBolt::new(spec.clone())), 1).shuffle_grouping("gen");
    b.set_bolt("count", || Box::new(Basic(Counter::by("word"))), 2).fields_grouping("split", &["word"]);
    b.set_bolt("sink", move || Box::new(Basic(sink.clone())), 1).shuffle_grouping("count");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let all_acked = eventually(90, || acks.lock().unwrap().len() as u64 == n);
    let hub = running.metrics();
    assert!(running.shutdown(Duration::from_secs(5)));
    let errors = hub.component_total("split", |t| t.errors);
    let split = hub.snapshot().into_iter().find(|t| &*t.component == "split").unwrap();
    let (metrics, prometheus) = (split.custom, hub.prometheus("ml-failures"));
    assert!(all_acked, "acked {} of {n}; fails: {:?}", acks.lock().unwrap().len(), fails.lock().unwrap());
    let acks = acks.lock().unwrap().clone();
    assert!(acks.values().all(|&k| k == 1), "a spout tuple was acked twice");
    let fails = fails.lock().unwrap().clone();
    let counts = counts.lock().unwrap().clone();
    Outcome { acks, fails, counts, errors, metrics, prometheus }
}

fn marker() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("misbehaved").display().to_string();
    (dir, path)
}

#[test]
fn crashing_child_is_restarted_and_its_tuples_replayed() {
    let out = run(600, &["--crash-after", "150"], |_| {});
    assert_eq!(out.acks.len(), 600);
    assert!(!out.fails.is_empty(), "the child crashed at least three times");
    assert!(
        out.fails.iter().all(|f| f.contains("split") && f.contains("multilang child exited")),
        "{:?}",
        out.fails
    );
    // At least once: every word of every sentence is counted (replays may count some twice).
    assert!(out.counts.get("cat").is_some_and(|&n| n >= 300), "{:?}", out.counts);
    assert!(out.counts.get("the").is_some_and(|&n| n >= 900), "{:?}", out.counts);
}

#[test]
fn hung_child_is_restarted_and_its_tuples_replayed() {
    let (_dir, path) = marker();
    let out =
        run(200, &["--hang-on", "dog", "--marker", &path], |s| s.child.timeout = Duration::from_secs(1));
    assert!(!out.fails.is_empty());
    assert!(
        out.fails.iter().all(|f| f.contains("hung: no output for") && f.contains("and no CPU for")),
        "{:?}",
        out.fails
    );
    assert!(out.counts.get("dog").is_some_and(|&n| n >= 100), "{:?}", out.counts);
}

#[test]
fn busy_child_is_not_mistaken_for_a_hung_one() {
    let (_dir, path) = marker();
    // Three seconds of CPU on one tuple, with a one-second liveness timeout.
    let out =
        run(200, &["--busy-on", "dog", "3", "--marker", &path], |s| s.child.timeout = Duration::from_secs(1));
    assert!(out.fails.is_empty(), "{:?}", out.fails);
    assert!(std::path::Path::new(&path).exists(), "the child did spin");
    assert_eq!(out.counts.get("the"), Some(&300));
    assert_eq!(out.counts.get("dog"), Some(&100));
}

#[test]
fn flooding_child_is_held_back_and_loses_nothing() {
    // 100 copies of every word: 40 000 tuples from 200 sentences, through small queues.
    let out = run(200, &["--flood", "100", "--no-task-ids"], |s| {
        s.max_pending = 4;
        s.child.queue = 4;
    });
    assert!(out.fails.is_empty(), "{:?}", out.fails);
    assert_eq!(out.counts.get("the"), Some(&(300 * 100)));
    assert_eq!(out.counts.get("race"), Some(&(100 * 100)));
}

#[test]
fn child_that_cannot_start_fails_tuples_with_the_reason() {
    let rec = Recording {
        gen: Generator::sentences(vec!["a b".into()], 20),
        acks: Arc::default(),
        fails: Arc::default(),
    };
    let fails = rec.fails.clone();
    let spec = Arc::new(ShellSpec::new(vec!["/nonexistent/child".into()], vec!["word".into()]));
    let mut b = TopologyBuilder::new("ml-nostart");
    b.set_spout("gen", move || Box::new(rec.clone()), 1);
    b.set_bolt("split", move || Box::new(ShellBolt::new(spec.clone())), 1).shuffle_grouping("gen");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let failed = eventually(20, || fails.lock().unwrap().len() >= 20);
    running.shutdown(Duration::from_millis(100));
    assert!(failed);
    assert!(
        fails.lock().unwrap().iter().all(|f| f.contains("not running: cannot start")),
        "{:?}",
        fails.lock().unwrap()
    );
}

#[test]
fn child_that_breaks_the_protocol_is_restarted_with_the_reason() {
    let rec = Recording {
        gen: Generator::sentences(vec!["a b".into()], 5),
        acks: Arc::default(),
        fails: Arc::default(),
    };
    let fails = rec.fails.clone();
    // Answers the handshake, then writes something that is not JSON.
    let script = "import sys, time\nsys.stdin.readline(); sys.stdin.readline()\nprint('{\"pid\": 1}\\nend\\nnot json\\nend', flush=True)\ntime.sleep(60)";
    let spec =
        Arc::new(ShellSpec::new(vec!["python3".into(), "-c".into(), script.into()], vec!["word".into()]));
    let mut b = TopologyBuilder::new("ml-garbage");
    b.set_spout("gen", move || Box::new(rec.clone()), 1);
    b.set_bolt("split", move || Box::new(ShellBolt::new(spec.clone())), 1).shuffle_grouping("gen");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let failed = eventually(30, || !fails.lock().unwrap().is_empty());
    running.shutdown(Duration::from_millis(100));
    assert!(failed);
    let fails = fails.lock().unwrap();
    assert!(fails.iter().all(|f| f.contains("multilang child broke the protocol: bad JSON")), "{fails:?}");
}

#[test]
fn a_childs_error_is_counted_and_becomes_the_fail_reason() {
    let (_dir, marker) = marker();
    let out = run(100, &["--raise-on", "dog", "--marker", &marker], |_| {});
    assert_eq!(out.acks.len(), 100);
    assert_eq!(out.fails.len(), 1, "{:?}", out.fails);
    assert!(out.fails[0].contains("refusing a sentence with 'dog'"), "{:?}", out.fails);
    assert_eq!(out.errors, 1, "the child's error command, counted once");
}

#[test]
fn a_childs_metrics_are_exported() {
    let out = run(100, &["--metric", "sentences seen"], |_| {});
    assert_eq!(out.metrics, [("sentences seen".to_owned(), 100.0)]);
    let line = "sockflow_component_metric{topology=\"ml-failures\",component=\"split\",task=\"2\",name=\"sentences seen\"} 100";
    assert!(out.prometheus.contains(line), "{}", out.prometheus);
}
