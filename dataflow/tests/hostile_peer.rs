//! A worker's tcp inboxes take batches from anyone who reaches their ports. An acker must
//! not trust the task ids in them: a tree "owned" by a task that is no spout's (out of the
//! plan, task 0, a bolt's) is refused with a warning, and the acker keeps serving. Before,
//! one `AckInit` with XOR 0 from task 60 000 completed at once and the acker panicked
//! indexing the plan with it, stalling every tree of the topology.
//!
//! The test runs the acker's worker in this process, stands in for the spout's worker by
//! binding its inbox port, and sends the acker hand-made batches over tcp.

mod common;

use std::time::{Duration, Instant};

use dataflow::config::{self, Substitution};
use dataflow::plan::Role;
use dataflow::wire::{self, Item, Kind};
use dataflow::{Plan, Registry};

/// The acker is not pinned: executors go round the workers in plan order (gen 0, split 1 and
/// 2), so it is executor 3, in worker 1.
fn topology_text(base: u16) -> String {
    format!(
        "name: hostile-peer
workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
spouts:
  - {{id: gen, className: Generator, worker: 0, properties: [{{name: sentences, value: [a b]}}]}}
bolts:
  - {{id: split, className: Splitter, parallelism: 2, worker: 1}}
streams:
  - {{from: gen, to: split, grouping: {{type: SHUFFLE}}}}
",
        base + 10
    )
}

/// The tcp port of executor `exec`'s inbox: its worker's base port plus its index among that
/// worker's executors (as `sockflow` assigns them).
fn inbox_port(plan: &Plan, bases: [u16; 2], exec: usize) -> u16 {
    let worker = plan.executors[exec].worker;
    let before = plan.executors[..exec].iter().filter(|e| e.worker == worker).count();
    bases[worker] + before as u16
}

/// The acking items that reach the spout's inbox within `wait`.
fn received(inbox: &libsock::Socket, wait: Duration) -> Vec<(Option<Kind>, u32, u64)> {
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    inbox.set_rcvtimeo(50).unwrap();
    while Instant::now() < deadline {
        let Ok(msg) = inbox.recv_msg(0) else { continue };
        let mut batch = wire::batch(&msg);
        while let Some(Ok(item)) = batch.next() {
            out.push((item.kind(), item.dest_task, item.root));
        }
    }
    out
}

#[test]
fn an_acker_refuses_trees_whose_owner_is_no_spout_and_keeps_serving() {
    let base = common::free_ports(30000, 20);
    let text = topology_text(base);
    let topology = config::parse(&text, "topology.yaml", &Substitution::default(), &Registry::new()).unwrap();
    let plan = Plan::new(&topology);
    let role_of = |role: Role| plan.components.iter().find(|c| c.role == role).unwrap();
    let (spout, acker, bolt) = (role_of(Role::Spout), role_of(Role::Acker), role_of(Role::Bolt));
    let (spout_exec, acker_exec) = (spout.executors[0], acker.executors[0]);
    let acker_worker = plan.executors[acker_exec].worker;
    assert_ne!(plan.executors[spout_exec].worker, acker_worker, "the test needs them apart");
    let bases = [base, base + 10];

    // The spout's worker, as far as the acker can tell: its inbox.
    let ctx = libsock::Context::new();
    let spout_inbox = ctx.socket(libsock::PULL).unwrap();
    spout_inbox.bind(&format!("tcp://127.0.0.1:{}", inbox_port(&plan, bases, spout_exec))).unwrap();
    let running = dataflow::runtime::start_worker(&topology, acker_worker).unwrap();

    // Anyone on the network.
    let peer = ctx.socket(libsock::PUSH).unwrap();
    peer.connect(&format!("tcp://127.0.0.1:{}", inbox_port(&plan, bases, acker_exec))).unwrap();
    let acker_task = acker.tasks[0];
    let send = |items: &[Item]| {
        let mut batch = Vec::new();
        items.iter().for_each(|i| wire::append(&mut batch, i));
        peer.send(batch, 0).unwrap();
    };
    let init = |owner: u32, root: u64| Item::acking(Kind::AckInit, acker_task, owner, root, 0);
    let spout_task = spout.tasks[0];

    // Owners that are no spout: beyond the plan, the unused task 0, a bolt, the acker itself;
    // and a Fail first, so that the tree's later init would report the failure.
    let fail = Item { reason: "x".into(), ..Item::acking(Kind::Fail, acker_task, bolt.tasks[0], 5, 0) };
    send(&[init(60_000, 1), init(0, 2), init(bolt.tasks[0], 3), init(acker_task, 4), fail, init(60_001, 5)]);
    let got = received(&spout_inbox, Duration::from_millis(1500));
    assert!(running.is_running(), "an executor stopped (the acker panicked)");
    assert!(got.is_empty(), "the acker answered trees it should have refused: {got:?}");

    // The acker still serves: a tree of the real spout completes, and one it failed is failed.
    let fail = Item { reason: "bad".into(), ..Item::acking(Kind::Fail, acker_task, bolt.tasks[0], 7, 0) };
    send(&[init(spout_task, 6), fail, init(spout_task, 7)]);
    let mut got = received(&spout_inbox, Duration::from_millis(1500));
    got.sort_by_key(|g| g.2);
    assert_eq!(got, [(Some(Kind::Completed), spout_task, 6), (Some(Kind::Failed), spout_task, 7)]);
    assert!(running.is_running(), "an executor stopped");
    running.shutdown(Duration::from_millis(100));
}
