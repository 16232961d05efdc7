//! Storm multilang components written in Python (stdlib only, tests/multilang/) in a word count
//! topology read from a Flux file with Flux's own shell class names.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{eventually, Sink};
use dataflow::config::{self, Substitution};
use dataflow::{Basic, Registry};

fn script(name: &str) -> String {
    format!("{}/tests/multilang/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn registry(sink: &Sink) -> Registry {
    let mut r = Registry::new();
    let sink = sink.clone();
    r.register_bolt("Sink", move |_| {
        let sink = sink.clone();
        Ok(Arc::new(move || Box::new(Basic(sink.clone()))))
    });
    r
}

/// Runs `yaml` until `spout` has acked `n` tuples; returns (acked, failed) at the spout.
fn run(yaml: &str, sink: &Sink, spout: &str, n: u64) -> (u64, u64) {
    let topology = config::parse(yaml, "test.yaml", &Substitution::default(), &registry(sink)).unwrap();
    let running = dataflow::start(&topology).unwrap();
    let hub = running.metrics();
    eventually(60, || hub.component_total(spout, |t| t.acked) >= n);
    assert!(running.shutdown(Duration::from_secs(5)));
    (hub.component_total(spout, |t| t.acked), hub.component_total(spout, |t| t.failed))
}

fn assert_counts(sink: &Sink, per_sentence: i64) {
    let counts = sink.counts.lock().unwrap().clone();
    assert_eq!(counts.get("the"), Some(&(3 * per_sentence)), "{counts:?}");
    for w in ["cat", "sat", "dog", "ran", "race"] {
        assert_eq!(counts.get(w), Some(&per_sentence), "{w}: {counts:?}");
    }
}

#[test]
fn python_spout_and_bolt_count_words_exactly() {
    let yaml = format!(
        r#"
name: wc-multilang
config:
  topology.max.spout.pending: 200
spouts:
  - id: sentences
    className: org.apache.storm.flux.wrappers.spouts.FluxShellSpout
    constructorArgs: [["python3", "{spout}", "1000"], ["sentence"]]
bolts:
  - id: split
    className: org.apache.storm.flux.wrappers.bolts.FluxShellBolt
    constructorArgs: [["python3", "{split}"], ["word"]]
    parallelism: 2
  - id: count
    className: Counter
    parallelism: 3
    properties: [{{name: field, value: word}}]
  - id: sink
    className: Sink
streams:
  - {{from: sentences, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: count, grouping: {{type: FIELDS, args: [word]}}}}
  - {{from: count, to: sink, grouping: {{type: SHUFFLE}}}}
"#,
        spout = script("sentences.py"),
        split = script("splitsentence.py"),
    );
    let sink = Sink::default();
    let (acked, failed) = run(&yaml, &sink, "sentences", 1000);
    assert_eq!((acked, failed), (1000, 0));
    assert_counts(&sink, 500);
}

#[test]
fn crashed_python_spout_is_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("crashed").display().to_string();
    let yaml = format!(
        r#"
name: wc-spout-crash
spouts:
  - id: sentences
    className: ShellSpout
    constructorArgs: [["python3", "{spout}", "400", "100", "{marker}"], ["sentence"]]
bolts:
  - id: split
    className: Splitter
  - id: count
    className: Counter
    properties: [{{name: field, value: word}}]
  - id: sink
    className: Sink
streams:
  - {{from: sentences, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: count, grouping: {{type: FIELDS, args: [word]}}}}
  - {{from: count, to: sink, grouping: {{type: SHUFFLE}}}}
"#,
        spout = script("sentences.py"),
    );
    let sink = Sink::default();
    // The first child dies after about 100 emits; the second emits all 400 (its source, a
    // counter in memory, cannot redeliver, so the first child's tuples count in addition).
    let (acked, failed) = run(&yaml, &sink, "sentences", 500);
    assert!(std::path::Path::new(&marker).exists(), "the first child crashed");
    assert!(acked >= 500, "{acked}");
    assert_eq!(failed, 0);
    assert!(sink.counts.lock().unwrap().get("cat").is_some_and(|&n| n >= 200));
}

#[test]
fn rust_spout_feeds_a_python_bolt() {
    let yaml = format!(
        r#"
name: wc-mixed
spouts:
  - id: gen
    className: Generator
    properties:
      - {{name: sentences, value: ["the cat sat", "the dog ran the race"]}}
      - {{name: count, value: 2000}}
bolts:
  - id: split
    className: ShellBolt
    constructorArgs: [["python3", "{split}"], ["word"]]
  - id: count
    className: Counter
    properties: [{{name: field, value: word}}]
  - id: sink
    className: Sink
streams:
  - {{from: gen, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: count, grouping: {{type: FIELDS, args: [word]}}}}
  - {{from: count, to: sink, grouping: {{type: SHUFFLE}}}}
"#,
        split = script("splitsentence.py"),
    );
    let sink = Sink::default();
    assert_eq!(run(&yaml, &sink, "gen", 2000), (2000, 0));
    assert_counts(&sink, 1000);
}

#[test]
fn shell_components_need_their_constructor_args() {
    let r = Registry::new();
    let bad = [
        ("constructorArgs: [[], [word]]", "command is empty"),
        ("constructorArgs: [python3]", "expected a list"),
        ("properties: [{name: x, value: 1}]", "unknown property"),
        ("constructorArgs: [[python3], [word], [extra]]", "constructorArgs: [[command"),
    ];
    for (args, want) in bad {
        let yaml = format!(
            "name: t\nspouts:\n  - id: s\n    className: Generator\nbolts:\n  - id: b\n    className: ShellBolt\n    {args}\nstreams:\n  - {{from: s, to: b, grouping: {{type: SHUFFLE}}}}\n"
        );
        let err = config::parse(&yaml, "t.yaml", &Substitution::default(), &r).err().expect(args);
        assert!(err.message.contains(want), "{args}: {err}");
        assert_eq!(err.line, 6, "{err}");
    }
}

#[test]
fn a_python_bolt_gets_storms_topology_context() {
    // Two inputs with different groupings, one output subscribed by fields: the handshake's
    // context must describe all of it with Storm's keys and Thrift grouping names; its conf
    // has the file's config, the topology's own settings among them.
    let yaml = format!(
        r#"
name: context
config: {{topology.acker.executors: 1, greeting.words: [hello, hi], greeting.limit: 3}}
spouts:
  - id: gen
    className: Generator
    properties:
      - {{name: sentences, value: ["a b"]}}
      - {{name: count, value: 3}}
  - id: more
    className: Generator
    parallelism: 2
    properties:
      - {{name: sentences, value: ["c d"]}}
      - {{name: count, value: 3}}
bolts:
  - id: ctx
    className: ShellBolt
    constructorArgs: [["python3", "{ctx}"], ["json"]]
  - id: sink
    className: Sink
streams:
  - {{from: gen, to: ctx, grouping: {{type: FIELDS, args: [sentence]}}}}
  - {{from: more, to: ctx, grouping: {{type: GLOBAL}}}}
  - {{from: ctx, to: sink, grouping: {{type: SHUFFLE}}}}
"#,
        ctx = script("context.py"),
    );
    let sink = Sink::default();
    assert_eq!(run(&yaml, &sink, "gen", 3), (3, 0));
    let seen = sink.seen.lock().unwrap();
    let Some((_, values)) = seen.first() else { panic!("the bolt emitted nothing") };
    let text = values[0].as_str().expect("one text field");
    let got: serde_json::Value = serde_json::from_str(text).unwrap();
    // (and Storm's keys at their effective values, the defaults included, as Storm's conf)
    let conf = serde_json::json!({
        "topology.acker.executors": 1,
        "greeting.words": ["hello", "hi"],
        "greeting.limit": 3,
        "topology.name": "context",
        "topology.debug": false,
        "topology.enable.message.timeouts": true,
        "topology.error.throttle.interval.secs": 10,
        "topology.executor.receive.buffer.size": 64,
        "topology.max.error.report.per.interval": 5,
        "topology.message.timeout.secs": 30,
        "topology.stats.sample.rate": 0.05,
        "topology.transfer.batch.size": 64,
        "topology.worker.timeout.secs": 30,
        "topology.workers": 1,
    });
    assert_eq!(got["conf"], conf, "{text}");
    let want = serde_json::json!({
        "task->component": {"1": "gen", "2": "more", "3": "more", "4": "ctx", "5": "sink", "6": "__acker"},
        "taskid": 4,
        "componentid": "ctx",
        "streams": ["default"],
        "stream->outputfields": {"default": ["json"]},
        "stream->target->grouping": {"default": {"sink": {"type": "SHUFFLE"}}},
        "source->stream->grouping": {
            "gen": {"default": {"type": "FIELDS", "fields": ["sentence"]}},
            "more": {"default": {"type": "FIELDS", "fields": []}},
        },
        "source->stream->fields": {"gen": {"default": ["sentence"]}, "more": {"default": ["sentence"]}},
    });
    assert_eq!(got["context"], want, "{text}");
}
