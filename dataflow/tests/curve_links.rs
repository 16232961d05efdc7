//! CURVE between workers (`topology.worker.curve.secretkey`): two workers (in this process,
//! each on its own libsock context, tcp between them) complete every tuple tree, while peers
//! without the secret key get nothing through: a plain (NULL) peer fails the handshake, and a
//! CURVE client with its own key pair, even knowing the topology's public key, is refused by
//! the workers' ZAP handler. A client with the topology's key gets through (the control: the
//! acker counts the tree it sends as refused, having no such spout).

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dataflow::config::{self, ConfigError, Substitution};
use dataflow::plan::Role;
use dataflow::runtime::Running;
use dataflow::wire::{self, Item, Kind};
use dataflow::{OutputDeclarer, Plan, Registry, Spout, SpoutCollector, Value, WorkerKey};
use libsock::{SocketEvent, PUSH};

/// Emits ids 0..count once each (replaying fails), recording acks.
struct Ids {
    count: u64,
    next: u64,
    replay: Vec<u64>,
    acked: Arc<Mutex<HashSet<u64>>>,
}

impl Spout for Ids {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["sentence"]);
    }
    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        let id = match self.replay.pop() {
            Some(id) => id,
            None if self.next < self.count => {
                self.next += 1;
                self.next - 1
            }
            None => return,
        };
        c.emit(vec![Value::Str(format!("word{} other", id % 7))], Some(id));
    }
    fn ack(&mut self, id: u64) {
        self.acked.lock().unwrap().insert(id);
    }
    fn fail(&mut self, id: u64, _why: &dataflow::FailReason) {
        self.replay.push(id);
    }
}

const COUNT: u64 = 300;

fn registry(acked: &Arc<Mutex<HashSet<u64>>>) -> Registry {
    let mut r = Registry::new();
    let acked = acked.clone();
    r.register_spout("Ids", move |_| {
        let acked = acked.clone();
        Ok(Arc::new(move || {
            Box::new(Ids { count: COUNT, next: 0, replay: Vec::new(), acked: acked.clone() })
        }))
    });
    r
}

/// gen in worker 0, the bolts in worker 1, the acker (unpinned: executor 4) in worker 0.
fn topology_text(base: u16, key_line: &str) -> String {
    format!(
        "name: curve-links
config:
  topology.message.timeout.secs: 5
  {key_line}
workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
spouts:
  - {{id: gen, className: Ids, worker: 0}}
bolts:
  - {{id: split, className: Splitter, parallelism: 2, worker: 1}}
  - {{id: count, className: Counter, worker: 1, properties: [{{name: field, value: word}}]}}
streams:
  - {{from: gen, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: count, grouping: {{type: FIELDS, args: [word]}}}}
",
        base + 10
    )
}

fn parse(text: &str, acked: &Arc<Mutex<HashSet<u64>>>) -> Result<dataflow::Topology, ConfigError> {
    let subst = Substitution { env: true, ..Substitution::default() };
    config::parse(text, "curve.yaml", &subst, &registry(acked))
}

/// The tcp port of executor `exec`'s inbox (as in hostile_peer.rs).
fn inbox_port(plan: &Plan, base: u16, exec: usize) -> u16 {
    let worker = plan.executors[exec].worker;
    let before = plan.executors[..exec].iter().filter(|e| e.worker == worker).count();
    base + 10 * worker as u16 + before as u16
}

/// A PUSH to `endpoint`, CURVE client with `keys` (public, secret) of server `server` if given.
fn peer(ctx: &libsock::Context, endpoint: &str, curve: Option<(&str, &str, &str)>) -> libsock::Socket {
    let s = ctx.socket(PUSH).unwrap();
    s.set_linger(0).unwrap();
    s.set_sndtimeo(500).unwrap();
    if let Some((server, public, secret)) = curve {
        s.set_curve_serverkey(server.as_bytes()).unwrap();
        s.set_curve_publickey(public.as_bytes()).unwrap();
        s.set_curve_secretkey(secret.as_bytes()).unwrap();
    }
    s.connect(endpoint).unwrap();
    s
}

/// An init of a tree owned by a task that is no spout's: the acker counts it as refused.
fn bogus_init(acker_task: u32, root: u64) -> Vec<u8> {
    let mut batch = Vec::new();
    wire::append(&mut batch, &Item::acking(Kind::AckInit, acker_task, 60_000, root, 0));
    batch
}

#[test]
fn curve_workers_complete_trees_and_refuse_peers_without_the_key() {
    let key = WorkerKey::generate();
    std::env::set_var("SOCKFLOW_TEST_CURVE_SECRET", key.secret());
    let base = common::free_ports(12000, 20);
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let text = topology_text(base, "topology.worker.curve.secretkey: \"${ENV-SOCKFLOW_TEST_CURVE_SECRET}\"");
    let topology = parse(&text, &acked).unwrap();
    assert_eq!(topology.config.worker_curve.as_ref(), Some(&key));
    let plan = Plan::new(&topology);
    let acker = plan.components.iter().find(|c| c.role == Role::Acker).unwrap();
    let (acker_exec, acker_task) = (acker.executors[0], acker.tasks[0]);
    let acker_worker = plan.executors[acker_exec].worker;
    let workers: Vec<Running> =
        (0..2).map(|k| dataflow::runtime::start_worker(&topology, k).unwrap()).collect();

    let endpoint = format!("tcp://127.0.0.1:{}", inbox_port(&plan, base, acker_exec));
    let ctx = libsock::Context::new();
    // No mechanism: the handshake fails, the batch never leaves.
    let plain = peer(&ctx, &endpoint, None);
    let _ = plain.send(bogus_init(acker_task, 1), 0);
    // Its own key pair: CURVE completes, ZAP refuses the unknown public key.
    let (public, secret) = libsock::curve_keypair();
    let rogue = peer(&ctx, &endpoint, Some((key.public(), &public, &secret)));
    let events = rogue.monitor_events(SocketEvent::HandshakeFailedAuth.to_raw() as i32).unwrap();
    let _ = rogue.send(bogus_init(acker_task, 2), 0);
    let refused = events.recv_event(5000).expect("the rogue client is refused by ZAP");
    assert_eq!(refused.event, SocketEvent::HandshakeFailedAuth);
    // Meanwhile every tree crossed the tcp links both ways (tuples to worker 1, acks back).
    assert!(
        common::eventually(20, || acked.lock().unwrap().len() as u64 == COUNT),
        "acked {}",
        acked.lock().unwrap().len()
    );
    // The control: the topology's own key gets through to the acker.
    let member = peer(&ctx, &endpoint, Some((key.public(), key.public(), key.secret())));
    member.send(bogus_init(acker_task, 3), 0).unwrap();
    let refused = || {
        let snapshot = workers[acker_worker].metrics().snapshot();
        snapshot.iter().find(|t| t.task == acker_task).map(|t| t.refused)
    };
    assert!(common::eventually(5, || refused() == Some(1)), "refused {:?}", refused());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(refused(), Some(1), "only the member's batch may reach the acker");

    assert!(workers.iter().all(Running::is_running), "an executor stopped");
    for w in workers {
        w.shutdown(Duration::from_millis(200));
    }
}

#[test]
fn bad_keys_are_config_errors_at_their_line() {
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let err = |line: &str| parse(&topology_text(7000, line), &acked).err().expect(line);
    let e = err("topology.worker.curve.secretkey: \"tooshort\"");
    assert_eq!((e.file.as_str(), e.line), ("curve.yaml", 4), "{e}");
    assert!(e.message.contains("40 characters"), "{e}");
    let e = err(&format!("topology.worker.curve.secretkey: \"{}\"", "0".repeat(40)));
    assert!(e.message.contains("not random"), "{e}");
    let e = err("topology.worker.curve.secretkey: 12");
    assert!(e.message.contains("quoted string"), "{e}");
    let e = err("topology.worker.curve.secretkey.file: /nonexistent/sockflow.key");
    assert!(e.message.contains("cannot read /nonexistent/sockflow.key"), "{e}");
    assert_eq!(e.line, 4);
    let e = err("topology.worker.curve.secretkey: \"x\"\n  topology.worker.curve.secretkey.file: k");
    assert!(e.message.contains("not both"), "{e}");

    // From a file (as a mounted Kubernetes Secret), relative to the topology, newline and all.
    let dir = tempfile::tempdir().unwrap();
    let key = WorkerKey::generate();
    std::fs::write(dir.path().join("worker.key"), format!("{}\n", key.secret())).unwrap();
    let file = dir.path().join("t.yaml");
    let text = topology_text(7000, "topology.worker.curve.secretkey.file: worker.key");
    let subst = Substitution::default();
    let t = config::parse(&text, &file.display().to_string(), &subst, &registry(&acked)).unwrap();
    assert_eq!(t.config.worker_curve, Some(key));

    // Or a secret certificate (`sockcat keygen --cert`, pyzmq's create_certificates); a public
    // one is refused.
    let (public_cert, _) = libsock::create_certificates(dir.path(), "node").unwrap();
    let (_, secret) = libsock::load_certificate(dir.path().join("node.key_secret")).unwrap();
    let text = topology_text(7000, "topology.worker.curve.secretkey.file: node.key_secret");
    let t = config::parse(&text, &file.display().to_string(), &subst, &registry(&acked)).unwrap();
    assert_eq!(t.config.worker_curve, Some(WorkerKey::from_secret(&secret.unwrap()).unwrap()));
    let text = topology_text(7000, "topology.worker.curve.secretkey.file: node.key");
    let Err(e) = config::parse(&text, &file.display().to_string(), &subst, &registry(&acked)) else {
        panic!("a public certificate was taken as the worker key")
    };
    assert!(e.message.contains("is a public certificate"), "{e}");
    assert!(public_cert.exists());
}
