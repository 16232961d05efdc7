//! A worker's tcp inboxes take batches from anyone who reaches their ports. An acker must
//! not trust the task ids in them: a tree "owned" by a task that is no spout's (out of the
//! plan, task 0, a bolt's) is refused with a warning, and the acker keeps serving. Before,
//! one `AckInit` with XOR 0 from task 60 000 completed at once and the acker panicked
//! indexing the plan with it, stalling every tree of the topology. Nor may a peer that names
//! a real spout task grow the acker without limit: it keeps `topology.acker.max.pending`
//! trees at most and refuses the rest.
//!
//! The tests run the acker's worker in this process, stand in for the spout's worker by
//! binding its inbox port, and send the acker hand-made batches over tcp.

mod common;

use std::time::{Duration, Instant};

use dataflow::config::{self, Substitution};
use dataflow::plan::Role;
use dataflow::wire::{self, Item, Kind};
use dataflow::{Plan, Registry};

/// The acker is not pinned: executors go round the workers in plan order (gen 0, split 1 and
/// 2), so it is executor 3, in worker 1.
fn topology_text(base: u16, config: &str) -> String {
    format!(
        "name: hostile-peer
{config}workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
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
    received_until(inbox, wait, usize::MAX)
}

/// What the inbox receives until `want` items came (a loaded machine may take its time: up
/// to 10 s), then in another 300 ms, so that an item too many shows.
fn received_n(inbox: &libsock::Socket, want: usize) -> Vec<(Option<Kind>, u32, u64)> {
    let mut out = received_until(inbox, Duration::from_secs(10), want);
    out.extend(received(inbox, Duration::from_millis(300)));
    out
}

/// What the inbox receives in `wait`, or until `want` items came.
fn received_until(inbox: &libsock::Socket, wait: Duration, want: usize) -> Vec<(Option<Kind>, u32, u64)> {
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    inbox.set_rcvtimeo(50).unwrap();
    while Instant::now() < deadline && out.len() < want {
        let Ok(msg) = inbox.recv_msg(0) else { continue };
        let mut batch = wire::batch(&msg);
        while let Some(Ok(item)) = batch.next() {
            out.push((item.kind(), item.dest_task, item.root));
        }
    }
    out
}

/// The acker's worker, running here; the spout's inbox; and a peer connected to the acker.
struct Setup {
    running: dataflow::runtime::Running,
    spout_inbox: libsock::Socket,
    peer: libsock::Socket,
    spout_task: u32,
    acker_task: u32,
    bolt_task: u32,
    _ctx: libsock::Context,
}

impl Setup {
    /// Ports from `first` (see `common::free_ports`); `config` is the file's `config:` section.
    fn start(first: u16, config: &str) -> Setup {
        let base = common::free_ports(first, 20);
        let text = topology_text(base, config);
        let topology =
            config::parse(&text, "topology.yaml", &Substitution::default(), &Registry::new()).unwrap();
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
        let (spout_task, acker_task, bolt_task) = (spout.tasks[0], acker.tasks[0], bolt.tasks[0]);
        Setup { running, spout_inbox, peer, spout_task, acker_task, bolt_task, _ctx: ctx }
    }

    fn send(&self, items: &[Item]) {
        let mut batch = Vec::new();
        items.iter().for_each(|i| wire::append(&mut batch, i));
        self.peer.send(batch, 0).unwrap();
    }

    /// An init of tree `root` owned by `owner`, with edges `xor`.
    fn init(&self, owner: u32, root: u64, xor: u64) -> Item {
        Item::acking(Kind::AckInit, self.acker_task, owner, root, xor)
    }

    /// An ack of tree `root`'s edges `xor` by the bolt.
    fn ack(&self, root: u64, xor: u64) -> Item {
        Item::acking(Kind::Ack, self.acker_task, self.bolt_task, root, xor)
    }

    /// A fail of tree `root` by the bolt.
    fn fail(&self, root: u64, reason: &str) -> Item {
        Item { reason: reason.into(), ..Item::acking(Kind::Fail, self.acker_task, self.bolt_task, root, 0) }
    }

    /// The acker task's last published count of refused trees.
    fn refused(&self) -> Option<u64> {
        let snapshot = self.running.metrics().snapshot();
        snapshot.iter().find(|t| t.task == self.acker_task).map(|t| t.refused)
    }
}

#[test]
fn an_acker_refuses_trees_whose_owner_is_no_spout_and_keeps_serving() {
    let s = Setup::start(30000, "");
    let (spout_task, acker_task, bolt_task) = (s.spout_task, s.acker_task, s.bolt_task);

    // Owners that are no spout: beyond the plan, the unused task 0, a bolt, the acker itself;
    // and a Fail first, so that the tree's later init would report the failure.
    s.send(&[
        s.init(60_000, 1, 0),
        s.init(0, 2, 0),
        s.init(bolt_task, 3, 0),
        s.init(acker_task, 4, 0),
        s.fail(5, "x"),
        s.init(60_001, 5, 0),
    ]);
    let got = received(&s.spout_inbox, Duration::from_millis(1500));
    assert!(s.running.is_running(), "an executor stopped (the acker panicked)");
    assert!(got.is_empty(), "the acker answered trees it should have refused: {got:?}");
    assert!(common::eventually(5, || s.refused() == Some(5)), "refusals counted: {:?}", s.refused());

    // The acker still serves: a tree of the real spout completes, and one it failed is failed.
    s.send(&[s.init(spout_task, 6, 0), s.fail(7, "bad"), s.init(spout_task, 7, 0)]);
    let mut got = received_n(&s.spout_inbox, 2);
    got.sort_by_key(|g| g.2);
    assert_eq!(got, [(Some(Kind::Completed), spout_task, 6), (Some(Kind::Failed), spout_task, 7)]);
    assert!(s.running.is_running(), "an executor stopped");
    s.running.shutdown(Duration::from_millis(100));
}

#[test]
fn a_flood_of_trees_claiming_a_real_spout_fills_the_acker_to_its_cap_only() {
    const CAP: usize = 100;
    const FLOOD: usize = 1000;
    let config =
        format!("config:\n  topology.acker.max.pending: {CAP}\n  topology.message.timeout.secs: 2\n");
    let s = Setup::start(19000, &config);
    let spout_task = s.spout_task;

    // A real tree before the flood: the acker keeps it.
    s.send(&[s.init(spout_task, 5, 0x1)]);
    // The flood: trees of the real spout task that never complete, ten times the cap.
    let flood: Vec<u64> = (0..FLOOD).map(|_| fastrand::u64(1000..)).collect();
    s.send(&flood.iter().map(|&root| s.init(spout_task, root, 0x1)).collect::<Vec<_>>());
    // Full: a new real tree is refused (its spout would time it out and replay it), while
    // the one kept before completes.
    s.send(&[s.init(spout_task, 6, 0x2), s.ack(6, 0x2)]);
    s.send(&[s.ack(5, 0x1)]);
    let got = received_n(&s.spout_inbox, 1);
    assert_eq!(got, [(Some(Kind::Completed), spout_task, 5)], "tree 6 must be refused, tree 5 complete");
    // Kept: tree 5 and CAP - 1 of the flood's. Refused: the rest, and tree 6's init and ack.
    let refused = (FLOOD - (CAP - 1) + 2) as u64;
    assert!(
        common::eventually(5, || s.refused() == Some(refused)),
        "refused {:?}, not {refused}",
        s.refused()
    );

    // The flood's trees that were kept time out, reported to the spout (which ignores what it
    // never emitted): there are CAP - 1 of them, so the acker never held more than CAP.
    let got = received_n(&s.spout_inbox, CAP - 1);
    assert_eq!(got.len(), CAP - 1, "timed out: {got:?}");
    assert!(got.iter().all(|g| g.0 == Some(Kind::TimedOut) && g.1 == spout_task && flood.contains(&g.2)));

    // Room again: a real tree (the spout's replay of tree 6) completes.
    s.send(&[s.init(spout_task, 7, 0x4), s.ack(7, 0x4)]);
    let got = received_n(&s.spout_inbox, 1);
    assert_eq!(got, [(Some(Kind::Completed), spout_task, 7)]);
    assert!(s.running.is_running(), "an executor stopped");
    s.running.shutdown(Duration::from_millis(100));
}
