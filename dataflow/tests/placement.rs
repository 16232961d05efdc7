//! Task placement: per-component pins (`worker: K`, `workers: [K, …]`) are honoured by the
//! plan every worker derives, bad pins are errors at the component's line, and the task count
//! is checked against what the acker can store. Also: two `sockflow run --worker K` processes
//! with pinned components count exactly, each running only what is pinned to it.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dataflow::config::{self, ConfigError, Substitution};
use dataflow::{Plan, Registry};

const FILE: &str = "name: pins
config:
  topology.workers: 3
spouts:
  - id: gen
    className: Generator
    parallelism: 2
    worker: 2
bolts:
  - id: split
    className: Splitter
    parallelism: 3
    workers: [0, 1]
  - id: count
    className: Counter
    parallelism: 2
streams:
  - {from: gen, to: split, grouping: {type: SHUFFLE}}
  - {from: split, to: count, grouping: {type: FIELDS, args: [word]}}
";

fn parse(text: &str) -> Result<dataflow::Topology, ConfigError> {
    config::parse(text, "pins.yaml", &Substitution::default(), &Registry::new())
}

fn workers_of(plan: &Plan, id: &str) -> Vec<usize> {
    let c = &plan.components[plan.component_index(id).unwrap()];
    c.executors.iter().map(|&e| plan.executors[e].worker).collect()
}

#[test]
fn the_plan_honours_pins_and_is_the_same_everywhere() {
    let t = parse(FILE).unwrap();
    let plan = Plan::new(&t);
    assert_eq!(workers_of(&plan, "gen"), [2, 2]);
    assert_eq!(workers_of(&plan, "split"), [0, 1, 0], "round robin over the pins");
    // Unpinned: executor e in worker e % 3, as before.
    let count = &plan.components[plan.component_index("count").unwrap()];
    for &e in &count.executors {
        assert_eq!(plan.executors[e].worker, e % 3);
    }
    let again = Plan::new(&parse(FILE).unwrap());
    let w = |p: &Plan| p.executors.iter().map(|e| e.worker).collect::<Vec<_>>();
    assert_eq!(w(&plan), w(&again));
    assert!(plan.to_string().contains("pinned to workers [0, 1]"), "{plan}");
}

#[test]
fn bad_pins_are_errors_at_the_components_line() {
    let e = parse(&FILE.replace("worker: 2", "worker: 3")).err().unwrap();
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("gen: pinned to worker 3, but the topology has 3 workers (0..2)"), "{e}");
    let e = parse(&FILE.replace("workers: [0, 1]", "workers: [0, 7]")).err().unwrap();
    assert_eq!(e.line, 10, "{e}");
    let e = parse(&FILE.replace("workers: [0, 1]", "workers: [0, 1]\n    worker: 1")).err().unwrap();
    assert!(e.message.contains("worker or workers, not both"), "{e}");
    let e = parse(&FILE.replace("workers: [0, 1]", "workers: []")).err().unwrap();
    assert!(e.message.contains("pins to no worker"), "{e}");
    let e = parse(&FILE.replace("  topology.workers: 3\n", "  topology.debug: false\n")).err().unwrap();
    assert!(e.message.contains("has 1 worker (0..0)"), "{e}");
}

#[test]
fn more_tasks_than_the_acker_can_name_is_an_error() {
    // Task ids are 1..=65535 (16 bits, 0 = unknown): with one acker task, 65 534 others fit.
    let ok = FILE.replace(
        "    parallelism: 2\n    worker: 2",
        "    parallelism: 2\n    numTasks: 65529\n    worker: 2",
    );
    assert_eq!(parse(&ok).unwrap().components[0].tasks, 65529); // + 3 + 2 + 1 acker = 65535
    let e = parse(&ok.replace("numTasks: 65529", "numTasks: 65530")).err().unwrap();
    assert_eq!(e.line, 15, "{e}");
    assert!(e.message.contains("65536 tasks (with the ackers'); at most 65535"), "{e}");
}

struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn pinned_components_run_only_in_their_worker_process() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let out = pull.get_last_endpoint().unwrap().unwrap();
    pull.set_rcvtimeo(1000).unwrap();
    let base = common::free_ports(25000, 20);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pins.yaml");
    let n = 2000;
    std::fs::write(
        &file,
        format!(
            "name: pinned
workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
spouts:
  - {{id: gen, className: Generator, worker: 0, properties: [{{name: sentences, value: [\"a b\"]}}, {{name: count, value: {n}}}]}}
bolts:
  - {{id: split, className: Splitter, parallelism: 2, worker: 1}}
  - {{id: count, className: Counter, parallelism: 2, workers: [1], properties: [{{name: field, value: word}}]}}
  - {{id: out, className: SocketBolt, worker: 0, properties: [{{name: type, value: push}}, {{name: connect, value: \"{out}\"}}]}}
streams:
  - {{from: gen, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: count, grouping: {{type: FIELDS, args: [word]}}}}
  - {{from: count, to: out, grouping: {{type: SHUFFLE}}}}
",
            base + 10
        ),
    )
    .unwrap();
    let spawn = |k: usize| {
        Command::new(env!("CARGO_BIN_EXE_sockflow"))
            .args(["run", "--print-every", "0", "--worker", &k.to_string()])
            .arg(&file)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut workers = Workers(vec![spawn(0), spawn(1)]);
    let mut last: HashMap<String, i64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while (last.get("a") != Some(&n) || last.get("b") != Some(&n)) && Instant::now() < deadline {
        let Ok(frames) = pull.recv_multipart(0) else { continue };
        let word = String::from_utf8(frames[0].clone()).unwrap();
        let c: i64 = String::from_utf8(frames[1].clone()).unwrap().parse().unwrap();
        let e = last.entry(word).or_insert(0);
        *e = (*e).max(c);
    }
    let mut tables = Vec::new();
    for c in &mut workers.0 {
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        let mut s = String::new();
        c.stdout.take().unwrap().read_to_string(&mut s).unwrap();
        assert!(c.wait().unwrap().success(), "{s}");
        tables.push(s);
    }
    assert_eq!((last.get("a"), last.get("b")), (Some(&n), Some(&n)), "{last:?}");
    let rows = |t: &str, id: &str| t.lines().filter(|l| l.split_whitespace().next() == Some(id)).count();
    // Each worker's exit table lists the tasks it ran.
    assert_eq!((rows(&tables[0], "gen"), rows(&tables[0], "out")), (1, 1), "{}", tables[0]);
    assert_eq!((rows(&tables[0], "split"), rows(&tables[0], "count")), (0, 0), "{}", tables[0]);
    assert_eq!((rows(&tables[1], "split"), rows(&tables[1], "count")), (2, 2), "{}", tables[1]);
    assert_eq!((rows(&tables[1], "gen"), rows(&tables[1], "out")), (0, 0), "{}", tables[1]);
}
