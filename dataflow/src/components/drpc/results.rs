//! `ReturnResults`: hands each result back to the DRPC spout task that holds its request.

use std::time::{Duration, Instant};

use libsock::{Context, Socket, SocketType};

use super::protocol::{self, ReturnInfo};
use crate::component::{BasicBolt, OutputDeclarer, StopSignal, TaskContext};
use crate::components::socket::{send_until_stopped, SEND_CHECK_MS};
use crate::runtime::BasicCollector;
use crate::topology::WorkerKey;
use crate::tuple::{Tuple, Value};

/// Results links a task keeps open at most (one per spout task it answered lately).
const MAX_LINKS: usize = 64;
/// How long a result may wait for a spout that does not take it before its tuple fails.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Storm's `ReturnResults`: its input is `(result, return-info)` (by position, as Storm reads
/// them); it sends the result to the spout task named in `return-info` and acks the input,
/// or fails it (the spout then answers the client with the reason) when `return-info` is
/// not one, names another process's `inproc://` endpoint, or the spout does not take the
/// result within 5 s (or before the topology stops). Emits nothing.
#[derive(Default)]
pub struct ReturnResults {
    ctx: Option<Context>,
    /// The worker links' CURVE key: results links between workers are encrypted with it.
    key: Option<WorkerKey>,
    /// Set when the topology stops: a send then waits no longer.
    stop: StopSignal,
    /// Open results links, the most recently used last.
    links: Vec<(String, Socket)>,
}

impl ReturnResults {
    /// A `ReturnResults` bolt.
    pub fn new() -> ReturnResults {
        ReturnResults::default()
    }

    fn link(&mut self, endpoint: &str) -> Result<&Socket, String> {
        if let Some(i) = self.links.iter().position(|(e, _)| e == endpoint) {
            let link = self.links.remove(i);
            self.links.push(link);
        } else {
            libsock::Endpoint::parse(endpoint)
                .map_err(|e| format!("return-info names {endpoint:?}, not an endpoint: {e}"))?;
            let ctx = self.ctx.as_ref().ok_or("not prepared")?;
            let s = ctx.socket(SocketType::PUSH).map_err(|e| e.to_string())?;
            // IMMEDIATE: results wait for a connection, not in a queue toward a spout that
            // is gone, and fail after SEND_TIMEOUT.
            s.set_sndtimeo(SEND_CHECK_MS)
                .and_then(|_| s.set_linger(1000))
                .and_then(|_| s.set_immediate(true))
                .map_err(|e| e.to_string())?;
            if let Some(key) = self.key.as_ref().filter(|_| !endpoint.starts_with("inproc://")) {
                crate::workers::curve_client(&s, key).map_err(|e| format!("CURVE: {e}"))?;
            }
            s.connect(endpoint).map_err(|e| format!("connect {endpoint}: {e}"))?;
            if self.links.len() >= MAX_LINKS {
                self.links.remove(0);
            }
            self.links.push((endpoint.to_owned(), s));
        }
        Ok(&self.links.last().expect("just pushed").1)
    }
}

impl BasicBolt for ReturnResults {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}

    fn prepare(&mut self, task: &TaskContext) -> Result<(), String> {
        self.ctx = Some(super::context(task));
        self.key = super::worker_key(task)?;
        self.stop = task.stop.clone();
        Ok(())
    }

    fn execute(&mut self, input: &Tuple, _c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        if input.is_tick() {
            return Ok(());
        }
        let [result, info, ..] = &input.values[..] else {
            return Err(format!("expected (result, return-info), got {} fields", input.values.len()));
        };
        let Value::Str(info) = info else {
            return Err("return-info is not text".into());
        };
        let info = ReturnInfo::parse(info)?;
        if info.endpoint.starts_with("inproc://") && info.process != super::process_id() {
            return Err(format!(
                "return-info names {}, in another process: give the DRPC spout a tcp `results` endpoint",
                info.endpoint
            ));
        }
        let stop = self.stop.clone();
        let link = self.link(&info.endpoint)?;
        let message = protocol::result_message(&info, result.to_frame());
        send_until_stopped(link, message, &stop, Some(Instant::now() + SEND_TIMEOUT))
            .map_err(|e| format!("result not delivered to {}: {e}", info.endpoint))
    }

    fn cleanup(&mut self) {
        self.links.clear();
    }
}
