//! Each grouping's distribution, through a running topology.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Numbers, Observed, Seen, Sink};
use dataflow::{
    Basic, Bolt, BoltCollector, CustomGrouping, Grouping, OutputDeclarer, TopologyBuilder, Tuple, Value,
};

/// Sends every input to the task named by its number modulo the tasks (direct stream).
struct Director {
    tasks: Vec<u32>,
}

impl Bolt for Director {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare_direct_stream("direct", &["n"]);
    }
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        let n = input.values[0].as_i64().unwrap();
        let task = self.tasks[(n as usize) % self.tasks.len()];
        c.emit_direct(task, "direct", &[&input], vec![Value::I64(n)]);
        c.ack(&input);
    }
}

/// Custom: even numbers to the first task, odd ones to the last.
struct EvenOdd(Vec<u32>);

impl CustomGrouping for EvenOdd {
    fn prepare(&mut self, tasks: &[u32]) {
        self.0 = tasks.to_vec();
    }
    fn choose_tasks(&mut self, values: &[Value], out: &mut Vec<u32>) {
        let n = values[0].as_i64().unwrap();
        out.push(if n % 2 == 0 { self.0[0] } else { *self.0.last().unwrap() });
    }
}

fn per_task(seen: &Seen) -> HashMap<u32, Vec<Vec<Value>>> {
    let mut m: HashMap<u32, Vec<Vec<Value>>> = HashMap::new();
    for (task, values) in seen.lock().unwrap().iter() {
        m.entry(*task).or_default().push(values.clone());
    }
    m
}

#[test]
fn every_grouping_spreads_tuples_as_documented() {
    const N: u64 = 1200;
    let observed = Arc::new(Mutex::new(Observed::default()));
    let o = observed.clone();
    let mut b = TopologyBuilder::new("groupings");
    b.set_spout("numbers", move || Box::new(Numbers::new(N, 12, o.clone())), 1);
    let mut sinks = HashMap::new();
    let groupings = [
        ("shuffle", Grouping::Shuffle),
        ("fields", Grouping::Fields(vec!["key".into()])),
        ("partial", Grouping::PartialKey(vec!["key".into()])),
        ("all", Grouping::All),
        ("global", Grouping::Global),
        ("none", Grouping::None),
        ("local", Grouping::LocalOrShuffle),
        ("custom", Grouping::Custom("EvenOdd".into(), Arc::new(|| Box::new(EvenOdd(Vec::new()))))),
    ];
    for (name, g) in groupings {
        let sink = Sink::default();
        sinks.insert(name, sink.seen.clone());
        b.set_bolt(name, move || Box::new(Basic(sink.clone())), 3).grouping("numbers", g);
    }
    b.set_bolt("director", || Box::new(Director { tasks: Vec::new() }), 1).shuffle_grouping("numbers");
    let direct = Sink::default();
    sinks.insert("direct", direct.seen.clone());
    b.set_bolt("direct", move || Box::new(Basic(direct.clone())), 3).stream_grouping(
        "director",
        "direct",
        Grouping::Direct,
    );
    let topology = b.build().unwrap();
    let plan = dataflow::Plan::new(&topology);
    let direct_tasks = plan.components[plan.component_index("direct").unwrap()].tasks.clone();
    // The director needs the direct bolt's task ids: rebuild it with them.
    let mut topology = topology;
    let d = topology.components.iter_mut().find(|c| c.id == "director").unwrap();
    let tasks = direct_tasks.clone();
    d.factory =
        dataflow::topology::Factory::Bolt(Arc::new(move || Box::new(Director { tasks: tasks.clone() })));

    let running = dataflow::start(&topology).unwrap();
    let done = eventually(30, || observed.lock().unwrap().acks.len() == N as usize);
    running.shutdown(Duration::from_secs(5));
    assert!(done, "acked {}", observed.lock().unwrap().acks.len());

    let counts = |name: &str| {
        let mut c: Vec<usize> = per_task(&sinks[name]).values().map(Vec::len).collect();
        c.sort_unstable();
        c
    };
    assert_eq!(counts("shuffle"), vec![400, 400, 400], "shuffle: even counts");
    assert_eq!(counts("none"), vec![400, 400, 400]);
    assert_eq!(counts("local"), vec![400, 400, 400], "one worker: every task is local");
    assert_eq!(counts("all"), vec![N as usize; 3], "all: every task gets every tuple");
    assert_eq!(counts("global"), vec![N as usize], "global: one task");
    let global_task = *per_task(&sinks["global"]).keys().next().unwrap();
    assert_eq!(
        global_task,
        plan.components[plan.component_index("global").unwrap()].tasks[0],
        "lowest task id"
    );

    // fields: a key never reaches two tasks; all 12 keys are spread over more than one task.
    let mut key_task: HashMap<String, HashSet<u32>> = HashMap::new();
    for (task, rows) in per_task(&sinks["fields"]) {
        for v in rows {
            key_task.entry(v[1].to_string()).or_default().insert(task);
        }
    }
    assert_eq!(key_task.len(), 12);
    assert!(key_task.values().all(|t| t.len() == 1), "{key_task:?}");
    assert!(key_task.values().flatten().collect::<HashSet<_>>().len() > 1);

    // partial key: each key over at most two tasks, and the tasks' loads balanced.
    let mut key_tasks: HashMap<String, HashMap<u32, usize>> = HashMap::new();
    for (task, rows) in per_task(&sinks["partial"]) {
        for v in rows {
            *key_tasks.entry(v[1].to_string()).or_default().entry(task).or_default() += 1;
        }
    }
    for (key, tasks) in &key_tasks {
        assert!(tasks.len() <= 2, "{key}: {tasks:?}");
        assert_eq!(tasks.values().sum::<usize>(), 100);
    }
    let loads = counts("partial");
    assert!(loads.len() == 3 && loads[2] - loads[0] <= 20, "partial key loads {loads:?}");

    // direct: n goes to direct_tasks[n % 3].
    for (task, rows) in per_task(&sinks["direct"]) {
        for v in rows {
            let n = v[0].as_i64().unwrap() as usize;
            assert_eq!(task, direct_tasks[n % 3]);
        }
    }
    assert_eq!(sinks["direct"].lock().unwrap().len(), N as usize);

    // custom: evens to one task, odds to another.
    let custom = per_task(&sinks["custom"]);
    assert_eq!(custom.len(), 2);
    for rows in custom.values() {
        let parity: HashSet<i64> = rows.iter().map(|v| v[0].as_i64().unwrap() % 2).collect();
        assert_eq!(parity.len(), 1);
        assert_eq!(rows.len(), 600);
    }
}
