//! `DRPCSpout`: the server side of a DRPC function.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use libsock::{Socket, SocketType, DONTWAIT};

use super::protocol::{self, ReturnInfo, ERROR, OK};
use crate::component::{FailReason, Limits, OutputDeclarer, Spout, TaskContext};
use crate::components::{EdgeSocket, Security, SocketSpec};
use crate::runtime::SpoutCollector;
use crate::tuple::Value;
use service::keys::public_key;

/// Storm's `drpc.request.timeout.secs` default: a request not answered by then gets an error.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 600;
/// Requests a spout task holds at most (emitted, or acked and waiting for their result);
/// beyond, new ones are answered "busy" at once.
pub const MAX_PENDING_REQUESTS: usize = 100_000;
/// The largest request a client may send (ZMQ_MAXMSGSIZE on the spout's socket): a bigger
/// one drops that client's connection.
const MAX_REQUEST_BYTES: i64 = 16 << 20;
/// How long `close` waits for the results of requests whose trees completed.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// Serves one DRPC function: requests from clients are tuples `(args, return-info)`, results
/// come back through [`super::ReturnResults`] and go out as replies.
///
/// Its socket is a ROUTER: bound for clients to connect, or connected to a queue device's
/// backend (several spout tasks behind one address). Each task also binds a PULL socket for
/// its results: `inproc://` when the whole topology runs in this process, else a port the
/// system picks on every interface, advertised with the host other workers reach this one at
/// (its `workers:` entry), unless `results` names one. With the worker links' CURVE key
/// (`topology.worker.curve.secretkey`) that socket is a CURVE server with it that admits only
/// that key, as the workers' inboxes are. The clients' socket takes [`SocketSpec::security`].
pub struct DrpcSpout {
    function: String,
    spec: SocketSpec,
    results: Option<String>,
    timeout: Option<Duration>,
    open: Option<Open>,
}

struct Open {
    requests: EdgeSocket,
    results: EdgeSocket,
    info: ReturnInfo,
    timeout: Duration,
    pending: HashMap<u64, Pending>,
    /// Request ids in the order they came, each with its deadline (all equally far).
    deadlines: VecDeque<(Instant, u64)>,
    next_id: u64,
    label: String,
    counts: Counts,
    published: Counts,
}

/// What the spout task did, published as its component metrics (`set_metric`).
#[derive(Default, Clone, Copy, PartialEq)]
struct Counts {
    requests: u64,
    results: u64,
    errors: u64,
}

struct Pending {
    envelope: Vec<Vec<u8>>,
    /// The tree completed: the result is on its way (or lost, then the deadline answers).
    acked: bool,
}

impl DrpcSpout {
    /// A spout serving `function` on `spec`'s endpoints (its socket type is ROUTER whatever
    /// `spec` says).
    pub fn new(function: impl Into<String>, mut spec: SocketSpec) -> DrpcSpout {
        spec.kind = SocketType::ROUTER;
        DrpcSpout { function: function.into(), spec, results: None, timeout: None, open: None }
    }

    /// Binds this endpoint for results instead of the default (`tcp://host:*` lets the system
    /// pick the port, and `return-info` carries the one picked).
    pub fn results_endpoint(mut self, endpoint: impl Into<String>) -> DrpcSpout {
        self.results = Some(endpoint.into());
        self
    }

    /// Answers a request with an error when it has no result after this long (default: the
    /// topology's `drpc.request.timeout.secs`, else 600 s).
    pub fn request_timeout(mut self, timeout: Duration) -> DrpcSpout {
        self.timeout = Some(timeout);
        self
    }

    fn results_default(&self, task: &TaskContext) -> String {
        match &task.worker_host {
            Some(_) => "tcp://0.0.0.0:*".into(),
            None => {
                // Numbered: two topologies of one name may run in one process (or one after
                // the other, while the first one's socket closes).
                static OPENED: AtomicU64 = AtomicU64::new(0);
                let n = OPENED.fetch_add(1, Ordering::Relaxed);
                format!("inproc://sockflow-drpc/{}/{}/{}/{n}", task.topology, task.component, task.task_id)
            }
        }
    }
}

/// The results endpoint as other processes reach it: a bound wildcard address
/// (`tcp://0.0.0.0:PORT`) is advertised as this worker's host, or loopback when the topology
/// runs in one process.
fn advertised(bound: &str, worker_host: Option<&str>) -> String {
    let host = worker_host.unwrap_or("127.0.0.1");
    for wildcard in ["tcp://0.0.0.0:", "tcp://[::]:"] {
        if let Some(port) = bound.strip_prefix(wildcard) {
            return format!("tcp://{host}:{port}");
        }
    }
    bound.to_owned()
}

fn timeout_from_conf(task: &TaskContext) -> Duration {
    let secs = match task.conf.get("drpc.request.timeout.secs") {
        Some(Value::I64(n)) if *n > 0 => *n as u64,
        _ => DEFAULT_REQUEST_TIMEOUT_SECS,
    };
    Duration::from_secs(secs)
}

impl Spout for DrpcSpout {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["args", "return-info"]);
    }

    fn check(&self, limits: &Limits) -> Result<(), String> {
        self.spec.check_tasks(limits.tasks_in_process)
    }

    fn open(&mut self, task: &TaskContext) -> Result<(), String> {
        let ctx = super::context(task);
        let requests = self.spec.open_with(&ctx, |s| s.set_maxmsgsize(MAX_REQUEST_BYTES))?;
        let results_at = self.results.clone().unwrap_or_else(|| self.results_default(task));
        // Between workers with the links' key: a CURVE server admitting only that key.
        let security = match super::worker_key(task)?.filter(|_| !results_at.starts_with("inproc://")) {
            Some(key) => Security::CurveServer {
                secret: key.secret().to_owned(),
                clients: Some(vec![libsock::CurveClient::Key(public_key(key.public())?)]),
            },
            None => Security::Null,
        };
        let results = EdgeSocket::open(&ctx, &security, |ctx| {
            let results = ctx.socket(SocketType::PULL).map_err(|e| e.to_string())?;
            results.set_rcvhwm(self.spec.hwm).map_err(|e| e.to_string())?;
            results.set_maxmsgsize(MAX_REQUEST_BYTES).map_err(|e| e.to_string())?;
            security.apply(&results).map_err(|e| format!("DRPC results: CURVE: {e}"))?;
            results.bind(&results_at).map_err(|e| format!("bind {results_at} (DRPC results): {e}"))?;
            Ok(results)
        })?;
        let bound = results.get_last_endpoint().map_err(|e| e.to_string())?;
        let endpoint = advertised(&bound, task.worker_host.as_deref());
        let info = ReturnInfo {
            id: 0,
            token: super::secret_token(),
            endpoint,
            process: super::process_id().to_owned(),
        };
        tracing::info!(
            function = %self.function,
            task = task.task_id,
            results = %info.endpoint,
            "DRPC spout serving"
        );
        self.open = Some(Open {
            requests,
            results,
            info,
            timeout: self.timeout.unwrap_or_else(|| timeout_from_conf(task)),
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            next_id: 0,
            counts: Counts::default(),
            published: Counts::default(),
            label: format!("DRPC {:?} (task {})", self.function, task.task_id),
        });
        Ok(())
    }

    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        let Some(open) = &mut self.open else { return };
        open.take_results();
        open.expire(Instant::now());
        open.publish(c);
        for _ in 0..64 {
            let Ok(frames) = open.requests.recv_multipart(DONTWAIT) else { return };
            open.counts.requests += 1;
            let request = match protocol::parse_request(frames) {
                Ok(r) => r,
                Err((envelope, why)) => {
                    open.answer(envelope, ERROR, why.into_bytes());
                    continue;
                }
            };
            if request.function != self.function.as_bytes() {
                let why = format!(
                    "unknown DRPC function {:?}: this endpoint serves {:?}",
                    String::from_utf8_lossy(&request.function),
                    self.function
                );
                open.answer(request.envelope, ERROR, why.into_bytes());
                continue;
            }
            if open.pending.len() >= MAX_PENDING_REQUESTS {
                let why = format!("busy: {MAX_PENDING_REQUESTS} requests pending");
                open.answer(request.envelope, ERROR, why.into_bytes());
                continue;
            }
            open.next_id += 1;
            let id = open.next_id;
            open.pending.insert(id, Pending { envelope: request.envelope, acked: false });
            open.deadlines.push_back((Instant::now() + open.timeout, id));
            let info = ReturnInfo { id, ..open.info.clone() };
            let args = match String::from_utf8(request.args) {
                Ok(s) => Value::Str(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            };
            c.emit(vec![args, Value::Str(info.to_json())], Some(id));
        }
    }

    fn wake_sockets(&self) -> Vec<&Socket> {
        self.open.as_ref().map_or(Vec::new(), |o| vec![o.requests.socket(), o.results.socket()])
    }

    fn ack(&mut self, msg_id: u64) {
        let Some(open) = &mut self.open else { return };
        if let Some(p) = open.pending.get_mut(&msg_id) {
            p.acked = true;
        }
        // ReturnResults sent the result before acking: it is usually here already.
        open.take_results();
    }

    fn fail(&mut self, msg_id: u64, why: &FailReason) {
        let Some(open) = &mut self.open else { return };
        open.take_results();
        if let Some(p) = open.pending.remove(&msg_id) {
            tracing::debug!(request = msg_id, %why, "{}: request failed", open.label);
            open.answer(p.envelope, ERROR, format!("request failed: {why}").into_bytes());
        }
    }

    fn close(&mut self) {
        let Some(mut open) = self.open.take() else { return };
        let until = Instant::now() + CLOSE_GRACE;
        while open.pending.values().any(|p| p.acked) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
            open.take_results();
        }
        for (_, p) in open.pending.drain() {
            open.requests
                .send_multipart(
                    protocol::reply(p.envelope, ERROR, b"the topology stopped".to_vec()),
                    DONTWAIT,
                )
                .ok();
        }
    }
}

impl Open {
    /// Replies to every result that has come back; drops (and logs) what is not one.
    fn take_results(&mut self) {
        while let Ok(frames) = self.results.recv_multipart(DONTWAIT) {
            match protocol::parse_result(frames) {
                Ok((id, token, result)) if token == self.info.token.as_bytes() => {
                    // A result for a request already answered (failed, timed out) is late.
                    if let Some(p) = self.pending.remove(&id) {
                        self.answer(p.envelope, OK, result);
                    }
                }
                Ok(_) => tracing::warn!("{}: a result with a wrong token, dropped", self.label),
                Err(why) => tracing::warn!("{}: a malformed result, dropped: {why}", self.label),
            }
        }
    }

    /// Answers the requests past their deadline.
    fn expire(&mut self, now: Instant) {
        while let Some(&(deadline, id)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            if let Some(p) = self.pending.remove(&id) {
                let why = format!("no result within {}s", self.timeout.as_secs_f64());
                self.answer(p.envelope, ERROR, why.into_bytes());
            }
        }
        // Answered requests leave their deadline behind: drop those when they pile up.
        if self.deadlines.len() > 2 * self.pending.len() + 1024 {
            let pending = &self.pending;
            self.deadlines.retain(|(_, id)| pending.contains_key(id));
        }
    }

    /// Sets the metrics `drpc_requests` (received), `drpc_results` (answered with a result),
    /// `drpc_errors` (answered with an error) and `drpc_pending`, when they changed.
    fn publish(&mut self, c: &mut SpoutCollector<'_>) {
        if self.counts == self.published {
            return;
        }
        let Counts { requests, results, errors } = self.counts;
        c.set_metric("drpc_requests", requests as f64);
        c.set_metric("drpc_results", results as f64);
        c.set_metric("drpc_errors", errors as f64);
        c.set_metric("drpc_pending", self.pending.len() as f64);
        self.published = self.counts;
    }

    /// Sends a reply; a client gone (or too slow to take it) is not this spout's failure.
    fn answer(&mut self, envelope: Vec<Vec<u8>>, status: &[u8], payload: Vec<u8>) {
        if status == OK {
            self.counts.results += 1;
        } else {
            self.counts.errors += 1;
        }
        if let Err(e) = self.requests.send_multipart(protocol::reply(envelope, status, payload), DONTWAIT) {
            tracing::debug!("{}: reply not sent: {e}", self.label);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wildcard_results_endpoints_are_advertised_with_the_workers_host() {
        use super::advertised;
        assert_eq!(advertised("tcp://0.0.0.0:4100", Some("w1.topo")), "tcp://w1.topo:4100");
        assert_eq!(advertised("tcp://[::]:4100", Some("[fd00::5]")), "tcp://[fd00::5]:4100");
        assert_eq!(advertised("tcp://0.0.0.0:4100", None), "tcp://127.0.0.1:4100");
        assert_eq!(advertised("tcp://10.0.0.5:4100", Some("w1")), "tcp://10.0.0.5:4100");
        assert_eq!(advertised("inproc://x", None), "inproc://x");
    }
}
