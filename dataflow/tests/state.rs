//! Stateful bolts: state checkpointed to files (or memory) and restored after a restart or
//! a replaced instance; inputs acked only once their effect is checkpointed; Flux keys and
//! their errors; a state file that does not fit is refused at the start.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Numbers, Observed, Sink};
use dataflow::components::StatefulCounter;
use dataflow::config::{self, Substitution};
use dataflow::state::{KeyValueState, StateSpec, Stateful, StatefulBolt};
use dataflow::{Basic, BasicCollector, OutputDeclarer, Registry, TopologyBuilder, Tuple};

/// Numbers → a StatefulCounter by key (2 tasks) → a sink; `spec` for the state.
fn counting(
    name: &str,
    count: u64,
    spec: &StateSpec,
    sink: &Sink,
) -> (TopologyBuilder, Arc<Mutex<Observed>>) {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let mut b = TopologyBuilder::new(name);
    let s = seen.clone();
    b.set_spout("numbers", move || Box::new(Numbers::new(count, 4, s.clone())), 1);
    let spec = spec.clone();
    b.set_bolt(
        "count",
        move || Box::new(Stateful::new(StatefulCounter { field: Some("key".into()) }, spec.clone())),
        2,
    )
    .fields_grouping("numbers", &["key"]);
    let sink = sink.clone();
    b.set_bolt("sink", move || Box::new(Basic(sink.clone())), 1).shuffle_grouping("count");
    (b, seen)
}

fn run_to_the_end(b: TopologyBuilder, seen: &Arc<Mutex<Observed>>, count: usize) {
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(20, || seen.lock().unwrap().acks.len() == count);
    assert!(running.shutdown(Duration::from_secs(5)), "drained");
    assert!(done, "acked {} of {count}", seen.lock().unwrap().acks.len());
}

#[test]
fn counts_survive_a_restart_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StateSpec::files(dir.path()).every(Duration::from_millis(100));
    let sink = Sink::default();
    let (b, seen) = counting("state-restart", 100, &spec, &sink);
    run_to_the_end(b, &seen, 100);
    let counts = sink.counts.lock().unwrap().clone();
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [25; 4], "{counts:?}");
    for task in 0..2 {
        assert!(dir.path().join(format!("state-restart/count/{task}.state")).is_file(), "task {task}'s file");
    }
    // A new run (a restarted worker) counts on from the checkpoints.
    let sink = Sink::default();
    let (b, seen) = counting("state-restart", 100, &spec, &sink);
    run_to_the_end(b, &seen, 100);
    let counts = sink.counts.lock().unwrap().clone();
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [50; 4], "{counts:?}");
    assert!(seen.lock().unwrap().fails.is_empty());
}

#[test]
fn inputs_are_acked_only_once_their_state_is_checkpointed() {
    let spec = StateSpec::memory().every(Duration::from_secs(3));
    let sink = Sink::default();
    let (mut b, seen) = counting("state-acks", 10, &spec, &sink);
    b.config().message_timeout_secs = 10;
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let counted = eventually(10, || sink.seen.lock().unwrap().len() == 10);
    let acked_before = seen.lock().unwrap().acks.len();
    let acked = eventually(10, || seen.lock().unwrap().acks.len() == 10);
    running.shutdown(Duration::from_secs(2));
    assert!(counted, "every input executed");
    assert_eq!(acked_before, 0, "held until the checkpoint");
    assert!(acked, "acked after it");
}

/// A StatefulCounter whose first instance panics on input 37.
struct Fragile {
    counter: StatefulCounter,
    panicked: Arc<AtomicBool>,
}

impl StatefulBolt for Fragile {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        self.counter.declare_outputs(d);
    }
    fn execute(
        &mut self,
        t: &Tuple,
        s: &mut KeyValueState,
        c: &mut BasicCollector<'_, '_>,
    ) -> Result<(), String> {
        if t.values[0].as_i64() == Some(37) && !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("no 37");
        }
        self.counter.execute(t, s, c)
    }
}

#[test]
fn a_replaced_instance_resumes_from_the_last_checkpoint_and_loses_no_acked_input() {
    // Inputs the broken instance executed after its last checkpoint were never acked: they
    // time out and replay into the new instance, which starts from that checkpoint. So each
    // key ends at exactly its count: nothing acked was lost, nothing counted twice.
    let seen = Arc::new(Mutex::new(Observed::default()));
    let sink = Sink::default();
    let mut b = TopologyBuilder::new("state-replaced");
    b.config().message_timeout_secs = 2;
    let s = seen.clone();
    b.set_spout("numbers", move || Box::new(Numbers::new(400, 4, s.clone())), 1);
    let panicked = Arc::new(AtomicBool::new(false));
    let spec = StateSpec::memory().every(Duration::from_millis(50));
    let p = panicked.clone();
    b.set_bolt(
        "count",
        move || {
            let bolt =
                Fragile { counter: StatefulCounter { field: Some("key".into()) }, panicked: p.clone() };
            Box::new(Stateful::new(bolt, spec.clone()))
        },
        1,
    )
    .fields_grouping("numbers", &["key"]);
    let k = sink.clone();
    b.set_bolt("sink", move || Box::new(Basic(k.clone())), 1).shuffle_grouping("count");
    run_to_the_end(b, &seen, 400);
    assert!(panicked.load(Ordering::SeqCst));
    let counts = sink.counts.lock().unwrap().clone();
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [100; 4], "{counts:?}");
    let s = seen.lock().unwrap();
    assert!(s.fails.iter().any(|(n, _)| *n == 37), "37 timed out and replayed: {:?}", s.fails);
    assert!(s.acks.values().all(|&n| n == 1));
}

#[test]
fn a_checkpoint_that_cannot_be_saved_fails_its_inputs_and_rolls_the_state_back() {
    // While the checkpoint cannot be written (its temporary file's name is taken by a
    // directory), the inputs held for it fail and replay, and the state goes back to the last
    // checkpoint: once writing works again, every key ends at exactly its count.
    let dir = tempfile::tempdir().unwrap();
    let spec = StateSpec::files(dir.path()).every(Duration::from_millis(50));
    let sink = Sink::default();
    let (mut b, seen) = counting("state-rollback", 2000, &spec, &sink);
    b.config().message_timeout_secs = 5;
    b.config().max_spout_pending = Some(20);
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let hub = running.metrics();
    assert!(eventually(20, || seen.lock().unwrap().acks.len() >= 100), "checkpoints before the block");
    let blocks: Vec<_> =
        (0..2).map(|task| dir.path().join(format!("state-rollback/count/{task}.state.tmp"))).collect();
    blocks.iter().for_each(|b| std::fs::create_dir(b).unwrap());
    let failed = eventually(20, || seen.lock().unwrap().fails.len() >= 20);
    std::thread::sleep(Duration::from_millis(300));
    blocks.iter().for_each(|b| std::fs::remove_dir(b).unwrap());
    let done = eventually(30, || seen.lock().unwrap().acks.len() == 2000);
    running.shutdown(Duration::from_secs(5));
    assert!(failed, "inputs failed while the checkpoint could not be saved");
    assert!(done, "acked {} of 2000", seen.lock().unwrap().acks.len());
    assert!(hub.component_total("count", |m| m.errors) >= 1, "the failed checkpoints were reported");
    let s = seen.lock().unwrap();
    assert!(
        s.fails.iter().all(|(_, why)| why.to_string().contains("state checkpoint failed")),
        "{:?}",
        s.fails[0]
    );
    assert!(s.acks.values().all(|&n| n == 1));
    let counts = sink.counts.lock().unwrap().clone();
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [500; 4], "each input counted once: {counts:?}");
}

const FLUX: &str = "name: flux-state
config:
  topology.state.provider: FileKeyValueStateProvider
  topology.state.provider.config: '{\"dir\": \"state\"}'
  topology.state.checkpoint.interval.ms: 200
spouts:
  - id: gen
    className: Generator
    properties:
      - {name: sentences, value: [\"a b a\"]}
      - {name: count, value: 10}
      - {name: reliable, value: true}
bolts:
  - {id: split, className: Splitter}
  - id: count
    className: StatefulCounter
    parallelism: 2
    properties: [{name: field, value: word}]
streams:
  - {from: gen, to: split, grouping: {type: SHUFFLE}}
  - {from: split, to: count, grouping: {type: FIELDS, args: [word]}}
";

fn load(dir: &std::path::Path, text: &str) -> Result<dataflow::Topology, config::ConfigError> {
    let file = dir.join("t.yaml");
    std::fs::write(&file, text).unwrap();
    config::load(&file, &Substitution::default(), &Registry::new())
}

#[test]
fn flux_files_name_the_provider_and_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let t = load(dir.path(), FLUX).unwrap();
    let plan = dataflow::Plan::new(&t).to_string();
    let want =
        format!("stateful: checkpoints in files under {} every 200 ms", dir.path().join("state").display());
    assert!(plan.contains(&want), "{plan}");
    let running = dataflow::start(&t).unwrap();
    let hub = running.metrics();
    let done = eventually(20, || hub.component_total("gen", |m| m.acked) == 10);
    assert!(running.shutdown(Duration::from_secs(5)));
    assert!(done);
    // The state directory is relative to the file; the keys are where the grouping sent them.
    let mut keys = Vec::new();
    for task in 0..2 {
        let bytes = std::fs::read(dir.path().join(format!("state/flux-state/count/{task}.state"))).unwrap();
        let snapshot = dataflow::state::decode(&bytes).unwrap();
        assert_eq!(snapshot.tasks, 2);
        keys.extend(snapshot.entries);
    }
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        keys,
        [("a".to_owned(), dataflow::Value::I64(20)), ("b".to_owned(), dataflow::Value::I64(10))]
    );

    // Two tasks' files do not fit four tasks: refused at the start, with the file.
    let t = load(dir.path(), &FLUX.replace("parallelism: 2", "parallelism: 4")).unwrap();
    let e = dataflow::start(&t).err().map(|e| e.to_string()).unwrap_or_default();
    // (whichever of the two tasks' files is read first)
    let refused = ["0", "1"].iter().any(|task| {
        e.contains(&format!(
            "state/flux-state/count/{task}.state: saved by 2 task(s), the component now has 4"
        ))
    });
    assert!(refused, "{e}");
    // A damaged file is refused the same way.
    std::fs::write(dir.path().join("state/flux-state/count/1.state"), b"\x0a\xff").unwrap();
    let t = load(dir.path(), FLUX).unwrap();
    let e = dataflow::start(&t).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        e.starts_with("bolt count task 4: prepare failed: ") && e.contains("1.state: not a state file"),
        "{e}"
    );
}

#[test]
fn state_config_mistakes_are_errors_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let error = |text: &str, line: usize, needle: &str| {
        let e = load(dir.path(), text).err().unwrap_or_else(|| panic!("accepted:\n{text}"));
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains(needle), "{e}");
    };
    let redis =
        FLUX.replace("FileKeyValueStateProvider", "org.apache.storm.redis.state.RedisKeyValueStateProvider");
    error(&redis, 3, "is not available here");
    error(&FLUX.replace("'{\"dir\": \"state\"}'", "'{}'"), 3, "needs {dir: …}");
    error(&FLUX.replace("interval.ms: 200", "interval.ms: -1"), 3, "positive integer");
    // The checkpoint interval must be below the message timeout: at the stateful bolt's line.
    let slow = FLUX.replace("interval.ms: 200", "interval.ms: 40000");
    error(&slow, 15, "must be below topology.message.timeout.secs");
    // Storm's memory provider (the default) needs nothing else.
    let memory = FLUX
        .replace("FileKeyValueStateProvider", "org.apache.storm.state.InMemoryKeyValueStateProvider")
        .replace("  topology.state.provider.config: '{\"dir\": \"state\"}'\n", "");
    assert!(load(dir.path(), &memory).is_ok());
}

#[test]
fn the_example_counts_on_after_sockflow_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let ports = common::free_ports(29_500, 2);
    let example = common::Example::new(
        "stateful-wordcount.yaml",
        vec![
            ("WC_IN_PORT", ports.to_string()),
            ("WC_OUT_PORT", (ports + 1).to_string()),
            ("WC_STATE_DIR", dir.path().display().to_string()),
        ],
    );
    let (ok, plan) = example.check();
    assert!(ok && plan.contains("stateful: checkpoints in files under"), "{plan}");
    // Pushes `line` into a running example until the count of `word` reaches `want`.
    let count_until = |line: &str, word: &str, want: i64| -> bool {
        let mut child = example.run();
        let ctx = libsock::Context::new();
        let push = ctx.socket(libsock::PUSH).unwrap();
        push.connect(&format!("tcp://127.0.0.1:{ports}")).unwrap();
        let pull = ctx.socket(libsock::PULL).unwrap();
        pull.set_rcvtimeo(200).unwrap();
        pull.connect(&format!("tcp://127.0.0.1:{}", ports + 1)).unwrap();
        push.send(line, 0).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut reached = false;
        while !reached && std::time::Instant::now() < deadline {
            if let Ok(frames) = pull.recv_multipart(0) {
                reached = frames[0] == word.as_bytes() && frames[1] == want.to_string().as_bytes();
            }
        }
        // A clean stop (SIGTERM), after the checkpoint that acks the line.
        std::thread::sleep(Duration::from_millis(1200));
        let _ = std::process::Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status();
        let stopped = eventually(10, || child.0.try_wait().ok().flatten().is_some());
        reached && stopped
    };
    assert!(count_until("to be or not to be", "be", 2), "first run");
    assert!(count_until("be quick", "be", 3), "the restarted run counts on");
}

#[test]
fn a_state_directory_that_cannot_be_written_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("state"), "a file, not a directory").unwrap();
    let t = load(dir.path(), FLUX).unwrap();
    let e = dataflow::start(&t).err().map(|e| e.to_string()).unwrap_or_default();
    // Either task may be first to fail (tasks 3 and 4 are indexes 0 and 1).
    let refused = [(3, 0), (4, 1)].iter().any(|(task, index)| {
        e.starts_with(&format!("bolt count task {task}: prepare failed: "))
            && e.contains(&format!("state/flux-state/count/{index}.state"))
    });
    assert!(refused, "{e}");
}
