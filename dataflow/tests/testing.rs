//! `dataflow::testing`: a topology completed on fixed tuples, every emit captured, as Storm's
//! `Testing.completeTopology` with `MockedSources`.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use dataflow::config::{self, Substitution};
use dataflow::testing::{complete_topology, complete_topology_with, CompleteOptions, MockedSources};
use dataflow::{Bolt, BoltCollector, OutputDeclarer, Registry, Tuple, Value};

/// The word count example's shape, its source a socket spout that the test never feeds.
const WORDCOUNT: &str = r#"
name: wc
config: {topology.max.spout.pending: 10}
spouts:
  - id: lines
    className: SocketSpout
    parallelism: 3
    properties:
      - {name: type, value: pull}
      - {name: connect, value: "tcp://127.0.0.1:1"}
      - {name: fields, value: [line]}
bolts:
  - {id: split, className: Splitter, parallelism: 2}
  - id: count
    className: Counter
    parallelism: 2
    properties: [{name: field, value: word}]
streams:
  - {from: lines, to: split, grouping: {type: SHUFFLE}}
  - {from: split, to: count, grouping: {type: FIELDS, args: [word]}}
"#;

fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn a_flux_word_count_completes_on_mocked_lines_and_every_stream_is_captured() {
    let topology = config::parse(WORDCOUNT, "wc.yaml", &Substitution::default(), &Registry::new()).unwrap();
    let lines = ["the cat sat", "the dog", "a cat and the dog"];
    let mut mocked = MockedSources::new();
    mocked.add("lines", lines.iter().map(|l| vec![Value::from(*l)]).collect());
    let result = complete_topology(&topology, &mocked).unwrap();

    // The spout's own emits: each mocked tuple exactly once, though it has three tasks.
    let mut emitted: Vec<String> = result.read_tuples("lines").iter().map(|t| text(&t[0])).collect();
    emitted.sort();
    assert_eq!(emitted, ["a cat and the dog", "the cat sat", "the dog"]);
    assert_eq!(result.acked("lines"), 3);
    assert!(result.failed("lines").is_empty());

    let mut words: Vec<String> = result.read_tuples("split").iter().map(|t| text(&t[0])).collect();
    words.sort();
    assert_eq!(words, ["a", "and", "cat", "cat", "dog", "dog", "sat", "the", "the", "the"]);
    // The counter emits (word, running count): the highest per word is its count.
    let mut counts: HashMap<String, i64> = HashMap::new();
    for t in result.read_tuples("count") {
        let Value::I64(n) = t[1] else { panic!("{t:?}") };
        let e = counts.entry(text(&t[0])).or_default();
        *e = (*e).max(n);
    }
    assert_eq!(counts["the"], 3);
    assert_eq!(counts["cat"], 2);
    assert_eq!(counts.len(), 6);
    assert_eq!(result.streams().len(), 3, "{:?}", result.streams().keys());
}

/// Even numbers on `even`, odd ones on `odd`; fails 13.
struct Parity;

impl Bolt for Parity {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare_stream("even", &["n"]);
        d.declare_stream("odd", &["n"]);
    }
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        let Some(Value::I64(n)) = input.values.first().cloned() else {
            return c.fail(&input, "not a number");
        };
        if n == 13 {
            return c.fail(&input, "unlucky");
        }
        let stream = if n % 2 == 0 { "even" } else { "odd" };
        c.emit_stream(stream, &[&input], vec![Value::I64(n)]);
        c.ack(&input);
    }
}

/// Acks nothing.
struct BlackHole;

impl Bolt for BlackHole {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, _t: Tuple, _c: &mut BoltCollector<'_>) {}
}

#[test]
fn named_streams_failures_and_incomplete_runs() {
    let mut b = dataflow::TopologyBuilder::new("parity");
    b.set_spout("numbers", || Box::new(dataflow::components::Generator::payload(8, 0)), 2);
    b.set_bolt("parity", || Box::new(Parity), 2).shuffle_grouping("numbers");
    let topology = b.build().unwrap();
    let mut mocked = MockedSources::new();
    mocked.add("numbers", (1..=20).map(|n| vec![Value::I64(n)]).collect());
    let result = complete_topology(&topology, &mocked).unwrap();
    let sorted = |stream: &str| {
        let mut v: Vec<i64> = result
            .read_stream("parity", stream)
            .iter()
            .map(|t| if let Value::I64(n) = t[0] { n } else { panic!() })
            .collect();
        v.sort();
        v
    };
    assert_eq!(sorted("even"), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    assert_eq!(sorted("odd"), [1, 3, 5, 7, 9, 11, 15, 17, 19]);
    assert!(result.read_tuples("parity").is_empty(), "nothing on the default stream");
    assert_eq!(result.acked("numbers"), 19);
    let fails: Vec<String> = result.failed("numbers").iter().map(ToString::to_string).collect();
    assert_eq!(fails.len(), 1);
    assert!(fails[0].starts_with("failed by parity (task ") && fails[0].ends_with("): unlucky"), "{fails:?}");

    // Mocked tuples for a component that is not a spout.
    let mut wrong = MockedSources::new();
    wrong.add("parity", vec![vec![Value::I64(1)]]);
    let e = complete_topology(&topology, &wrong).unwrap_err();
    assert_eq!(e, "mocked tuples for \"parity\", which is not a spout of the topology");

    // A bolt that never acks: the run gives up and says how far it got.
    let mut b = dataflow::TopologyBuilder::new("stuck");
    b.config().message_timeout_secs = 60;
    b.set_spout("numbers", || Box::new(dataflow::components::Generator::payload(8, 0)), 1);
    b.set_bolt("hole", || Box::new(BlackHole), 1).shuffle_grouping("numbers");
    let options = CompleteOptions { timeout: Duration::from_millis(500), ..CompleteOptions::default() };
    let e = complete_topology_with(&b.build().unwrap(), &mocked, options).unwrap_err();
    assert_eq!(e, "0 of 20 mocked tuples completed within 500ms");
}

/// `sockflow test` on the word count example: without its sink, every emit as a JSON line;
/// with it (a PUSH nobody reads, which blocks), an error after the timeout, not a hang.
#[test]
fn sockflow_test_prints_every_emit_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.txt");
    std::fs::write(&lines, "the cat\n[\"the dog\"]\n\n").unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wordcount.yaml");
    let port = common::free_ports(26000, 2);
    let sockflow = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sockflow"));
        c.env("WC_IN_PORT", port.to_string()).env("WC_OUT_PORT", (port + 1).to_string());
        c
    };
    let mock = format!("lines={}", lines.display());
    let out = sockflow().args(["test", "-e", example, "--mock", &mock, "--without", "out"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.ends_with("lines: 2 acked, 0 failed\n"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let emitted: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of = |component: &str| -> Vec<String> {
        let mut v: Vec<String> =
            emitted.iter().filter(|e| e["component"] == component).map(|e| e["values"].to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(of("lines"), [r#"["the cat"]"#, r#"["the dog"]"#]);
    assert_eq!(of("split"), [r#"["cat"]"#, r#"["dog"]"#, r#"["the"]"#, r#"["the"]"#]);
    assert!(of("count").contains(&r#"["the",2]"#.to_string()), "{stdout}");
    assert!(emitted.iter().all(|e| e["stream"] == "default"));

    // With the sink: it blocks (nobody reads its PUSH); the run gives up after the timeout.
    let started = Instant::now();
    let out = sockflow().args(["test", "-e", example, "--mock", &mock, "--timeout", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("sockflow: 0 of 2 mocked tuples completed within 1s"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());

    // Mistakes: one line, exit 1.
    for (args, want) in [
        (vec!["--mock", "lines"], "sockflow: --mock \"lines\": expected SPOUT=FILE"),
        (
            vec!["--mock", "split=/dev/null"],
            "sockflow: mocked tuples for \"split\", which is not a spout of the topology",
        ),
        (vec!["--without", "nope"], "sockflow: --without \"nope\": the topology has no such component"),
    ] {
        let out = sockflow().args(["test", "-e", example]).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().last(), Some(want));
    }
}
