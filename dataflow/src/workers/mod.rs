//! Several worker processes, on one host or many, with no coordinator.
//!
//! Every worker reads the same file and derives the same plan, so placement needs no talk:
//! executor `e` runs in worker `e % N` (`topology.workers: N`) unless its component is pinned
//! (`worker: K` / `workers: [K, …]`, see [`place`]). The file's `workers:` section
//! gives each worker's address `host:port`; worker K binds its executors' inboxes on
//! `tcp://*:PORT`, `PORT+1`, … (one port per executor it runs, in plan order) and other
//! workers connect there. Executors in the same worker still talk over `inproc://`. libsock
//! reconnects by itself, so a worker that dies and is restarted rejoins without help; what it
//! held is failed by the acker as soon as the dead worker's link to it breaks (the trees
//! without progress since, see [`crate::runtime::Acker::link_lost`]) and replayed by the
//! spouts, or times out if the acker itself was in that worker.

mod curve;
mod inboxes;
mod launch;

/// (Placement is the plan's: re-exported here, where it is documented.)
pub use crate::plan::place;
pub use curve::authenticate;
pub(crate) use curve::{client as curve_client, serve as curve_serve};
pub use inboxes::{Endpoints, InprocEndpoints};
pub use launch::{launcher_gone, run_processes, LAUNCHER_PID};

use crate::grouping::Grouping;
use crate::plan::Plan;
use crate::topology::{TopologyConfig, WorkerKey};

/// Default address of worker K when the file has no `workers:` section: loopback, with room
/// for 100 executors per worker.
pub fn default_address(worker: usize) -> String {
    format!("127.0.0.1:{}", 7000 + 100 * worker)
}

/// Applies the file's `workers:` section: with `topology.workers` unset it sets the count;
/// otherwise the counts must agree.
pub fn configure(c: &mut TopologyConfig, addresses: &[String], count_given: bool) -> Result<(), String> {
    if addresses.is_empty() {
        return Ok(());
    }
    for a in addresses {
        parse_address(a)?;
    }
    if !count_given {
        c.workers = addresses.len();
    } else if c.workers != addresses.len() {
        return Err(format!(
            "topology.workers is {} but the workers section has {} addresses",
            c.workers,
            addresses.len()
        ));
    }
    c.worker_addresses = addresses.to_vec();
    Ok(())
}

/// Every worker's address: the file's, or loopback defaults.
pub fn addresses(c: &TopologyConfig) -> Vec<String> {
    if c.worker_addresses.is_empty() {
        (0..c.workers.max(1)).map(default_address).collect()
    } else {
        c.worker_addresses.clone()
    }
}

/// For local-or-shuffle: the subscriber's tasks in the same worker as `task`, if any (None:
/// use all of them).
pub(crate) fn local_tasks(plan: &Plan, task: u32, grouping: &Grouping, tasks: &[u32]) -> Option<Vec<u32>> {
    if !matches!(grouping, Grouping::LocalOrShuffle) {
        return None;
    }
    let worker_of = |t: u32| plan.executors[plan.task_executor[t as usize]].worker;
    let mine = worker_of(task);
    let local: Vec<u32> = tasks.iter().copied().filter(|&t| worker_of(t) == mine).collect();
    (!local.is_empty() && local.len() < tasks.len()).then_some(local)
}

/// `K` or `NAME-K` (a StatefulSet pod's name) → K.
pub fn worker_index(arg: &str) -> Result<usize, String> {
    let digits = arg.rsplit('-').next().unwrap_or(arg);
    digits.parse().map_err(|_| format!("--worker {arg:?}: expected a number K or a name ending in -K"))
}

/// Splits `host:port` (IPv6 hosts in brackets).
pub fn parse_address(addr: &str) -> Result<(String, u16), String> {
    let (host, port) =
        addr.rsplit_once(':').ok_or_else(|| format!("worker address {addr:?}: expected host:port"))?;
    let port = port.parse::<u16>().map_err(|_| format!("worker address {addr:?}: bad port"))?;
    if host.is_empty() {
        return Err(format!("worker address {addr:?}: no host"));
    }
    Ok((host.to_owned(), port))
}

/// The host part of a worker address, as it goes into a `tcp://` endpoint (an IPv6 address
/// in brackets).
pub fn host_of(addr: &str) -> Result<String, String> {
    let (host, _) = parse_address(addr)?;
    Ok(if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host })
}

/// Inboxes of one worker's executors: `inproc://` inside the worker, `tcp://` between them.
pub struct WorkerEndpoints {
    me: usize,
    prefix: String,
    /// Per executor: its worker, and the tcp endpoint others connect to.
    remote: Vec<(usize, String)>,
    bind_port: Vec<u16>,
    curve: Option<WorkerKey>,
}

impl WorkerEndpoints {
    /// The endpoints seen from worker `me`, given every worker's address.
    pub fn new(plan: &Plan, me: usize, addresses: &[String]) -> Result<WorkerEndpoints, String> {
        let parsed = addresses.iter().map(|a| parse_address(a)).collect::<Result<Vec<_>, _>>()?;
        let mut next_port: Vec<u32> = parsed.iter().map(|(_, p)| u32::from(*p)).collect();
        let mut remote = Vec::new();
        let mut bind_port = Vec::new();
        for e in &plan.executors {
            let address = addresses.get(e.worker).ok_or_else(|| {
                format!("executor {} is placed in worker {} but no address is given", e.id, e.worker)
            })?;
            let port = u16::try_from(next_port[e.worker])
                .map_err(|_| format!("worker {}: ports run past 65535", e.worker))?;
            next_port[e.worker] += 1;
            let host = host_of(address)?;
            remote.push((e.worker, format!("tcp://{host}:{port}")));
            bind_port.push(port);
        }
        // Workers on one host need disjoint port ranges (one port per executor each).
        for (a, (ha, pa)) in parsed.iter().enumerate() {
            for (b, (hb, pb)) in parsed.iter().enumerate().skip(a + 1) {
                let (ea, eb) = (u32::from(*pa)..next_port[a], u32::from(*pb)..next_port[b]);
                if ha == hb && ea.start < eb.end && eb.start < ea.end {
                    return Err(format!(
                        "workers {a} and {b} on {ha} overlap: worker {a} uses ports {}..{}, worker {b} {}..{}",
                        ea.start,
                        ea.end,
                        eb.start,
                        eb.end
                    ));
                }
            }
        }
        let prefix = format!("inproc://sockflow-{}-w{me}-{:016x}", plan.name, fastrand::u64(..));
        Ok(WorkerEndpoints { me, prefix, remote, bind_port, curve: None })
    }

    /// Secures the tcp links with CURVE and this key pair (see [`authenticate`] for the
    /// other half: the context's ZAP handler).
    pub fn with_curve(mut self, key: Option<WorkerKey>) -> WorkerEndpoints {
        self.curve = key;
        self
    }
}

impl Endpoints for WorkerEndpoints {
    fn inbox(&self, executor: usize) -> String {
        match self.remote.get(executor) {
            Some((w, tcp)) if *w != self.me => tcp.clone(),
            _ => format!("{}-{executor}", self.prefix),
        }
    }

    fn binds(&self, executor: usize) -> Vec<String> {
        vec![self.inbox(executor), format!("tcp://0.0.0.0:{}", self.bind_port[executor])]
    }

    fn curve(&self) -> Option<&WorkerKey> {
        self.curve.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_names_and_addresses() {
        assert_eq!(worker_index("2"), Ok(2));
        assert_eq!(worker_index("wordcount-11"), Ok(11));
        assert!(worker_index("wordcount").is_err());
        assert_eq!(parse_address("10.0.0.1:7000"), Ok(("10.0.0.1".into(), 7000)));
        assert_eq!(parse_address("wc-0.wc.ns.svc:7000"), Ok(("wc-0.wc.ns.svc".into(), 7000)));
        assert!(parse_address("nohost").is_err());
        assert!(parse_address(":7000").is_err());
        assert!(parse_address("h:99999").is_err());
    }
}

#[cfg(test)]
mod placement_tests {
    use super::*;
    use crate::config::{self, Substitution};
    use crate::registry::Registry;

    const FILE: &str = "name: t
config: {topology.workers: 2}
spouts: [{id: s, className: Generator, parallelism: 2}]
bolts: [{id: b, className: Splitter, parallelism: 4}]
streams: [{from: s, to: b, grouping: {type: LOCAL_OR_SHUFFLE}}]
";

    #[test]
    fn placement_is_deterministic_and_local_or_shuffle_stays_local() {
        let t = config::parse(FILE, "t.yaml", &Substitution::default(), &Registry::new()).unwrap();
        let (p1, p2) = (Plan::new(&t), Plan::new(&t));
        let w1: Vec<usize> = p1.executors.iter().map(|e| e.worker).collect();
        let w2: Vec<usize> = p2.executors.iter().map(|e| e.worker).collect();
        assert_eq!(w1, w2);
        assert!(w1.contains(&0) && w1.contains(&1));
        let bolt_tasks = &p1.components[1].tasks;
        for &spout_task in &p1.components[0].tasks {
            let local = local_tasks(&p1, spout_task, &Grouping::LocalOrShuffle, bolt_tasks).unwrap();
            let worker = |t: u32| p1.executors[p1.task_executor[t as usize]].worker;
            assert_eq!(local.len(), 2);
            assert!(local.iter().all(|&t| worker(t) == worker(spout_task)));
        }
        assert_eq!(local_tasks(&p1, 1, &Grouping::Shuffle, bolt_tasks), None);
    }

    #[test]
    fn workers_on_one_host_need_disjoint_ports() {
        let t = config::parse(FILE, "t.yaml", &Substitution::default(), &Registry::new()).unwrap();
        let plan = Plan::new(&t);
        let clash = ["127.0.0.1:7000".to_owned(), "127.0.0.1:7001".to_owned()];
        let e = WorkerEndpoints::new(&plan, 0, &clash).err().unwrap();
        assert!(e.contains("overlap"), "{e}");
        let ok = ["127.0.0.1:7000".to_owned(), "127.0.0.1:7004".to_owned()];
        let w = WorkerEndpoints::new(&plan, 0, &ok).unwrap();
        let other = ["10.0.0.1:7000".to_owned(), "10.0.0.2:7000".to_owned()];
        assert!(WorkerEndpoints::new(&plan, 1, &other).is_ok());
        // Worker 0 reaches worker 1's executors by tcp, its own by inproc.
        let remote: Vec<String> = plan.executors.iter().map(|e| w.inbox(e.id)).collect();
        for (e, ep) in plan.executors.iter().zip(&remote) {
            assert_eq!(ep.starts_with("tcp://127.0.0.1:700"), e.worker == 1, "{ep}");
        }
    }

    #[test]
    fn workers_section_and_count_must_agree() {
        let bad = FILE.replace(
            "config: {topology.workers: 2}",
            "config: {topology.workers: 3}\nworkers: [\"a:1\", \"b:2\"]",
        );
        let e = config::parse(&bad, "t.yaml", &Substitution::default(), &Registry::new()).err().unwrap();
        assert!(e.message.contains("3 but the workers section has 2"), "{e}");
        let bad = FILE.replace("config: {topology.workers: 2}", "workers: [\"a\"]");
        let e = config::parse(&bad, "t.yaml", &Substitution::default(), &Registry::new()).err().unwrap();
        assert!(e.message.contains("expected host:port"), "{e}");
        assert_eq!(e.line, 2);
    }
}
