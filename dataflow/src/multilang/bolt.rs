//! `ShellBolt`: a bolt whose `execute` runs in a child process speaking Storm's multilang
//! protocol (asynchronous: tuples go in, emits/acks/fails come out in any order).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::child::{self, Child, Dead};
use super::protocol::{self, ChildMsg, Emit};
use super::{ShellSpec, RESTART_BACKOFF};
use crate::component::{Bolt, OutputDeclarer, TaskContext};
use crate::runtime::BoltCollector;
use crate::tuple::Tuple;

/// Storm sends a heartbeat about once a second.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// Tuples written to the child's stdin together (one queue hand-off and one `write`), unless
/// the child has nothing else to work on, when a tuple goes at once.
const WRITE_BATCH: usize = 64;

/// A bolt run by a child process (Flux's `FluxShellBolt`).
pub struct ShellBolt {
    spec: Arc<ShellSpec>,
    ctx: Option<TaskContext>,
    name: String,
    child: Option<Child>,
    /// Input tuples the child has and has not acked or failed yet, by the id it knows them by.
    pending: HashMap<u64, Tuple>,
    next_id: u64,
    /// The last `error` the child reported: the reason of its next `fail`.
    last_error: Option<String>,
    heartbeat_out: bool,
    last_heartbeat: Instant,
    spawn_after: Instant,
    /// Why the last start failed.
    down: Option<String>,
    /// Messages for the child not handed to its writer yet, and how many tuples they hold.
    out: Vec<u8>,
    unsent: usize,
}

impl ShellBolt {
    /// A bolt that runs `spec`'s command.
    pub fn new(spec: Arc<ShellSpec>) -> ShellBolt {
        ShellBolt {
            spec,
            ctx: None,
            name: String::new(),
            child: None,
            pending: HashMap::new(),
            next_id: 1,
            last_error: None,
            heartbeat_out: false,
            last_heartbeat: Instant::now(),
            spawn_after: Instant::now(),
            down: None,
            out: Vec::new(),
            unsent: 0,
        }
    }

    /// The child, started if it is not running (none while a restart is backing off).
    fn child(&mut self) -> Option<&mut Child> {
        if self.child.is_none() && Instant::now() >= self.spawn_after {
            let ctx = self.ctx.as_ref()?;
            match Child::spawn(&self.spec.child, &self.name, &self.spec.conf(ctx), &super::context(ctx)) {
                Ok(c) => {
                    tracing::info!("{}: multilang child running (pid {})", self.name, c.pid());
                    self.child = Some(c);
                }
                Err(Dead(why)) => {
                    tracing::error!("{}: {why}; retrying in {RESTART_BACKOFF:?}", self.name);
                    self.spawn_after = Instant::now() + RESTART_BACKOFF;
                    self.down = Some(why);
                }
            }
        }
        self.child.as_mut()
    }

    /// Hands the buffered messages to the child's writer.
    fn flush_out(&mut self) -> Result<(), Dead> {
        self.unsent = 0;
        if self.out.is_empty() {
            return Ok(());
        }
        let msg = std::mem::replace(&mut self.out, Vec::with_capacity(16 * 1024));
        self.child.as_mut().map_or(Ok(()), |ch| ch.send(msg))
    }

    /// Kills the child and fails everything it held, with the reason (their spouts replay).
    fn restart(&mut self, c: &mut BoltCollector<'_>, why: &str) {
        tracing::error!(
            "{}: multilang child {why}; failing its {} pending tuples and restarting it",
            self.name,
            self.pending.len()
        );
        self.child = None;
        self.heartbeat_out = false;
        self.out.clear();
        self.unsent = 0;
        self.spawn_after = Instant::now() + RESTART_BACKOFF;
        let reason = format!("multilang child {why}");
        for (_, t) in self.pending.drain() {
            c.fail(&t, &reason);
        }
    }

    /// Applies what the child said, checks liveness; waits up to `wait` for a first message.
    fn service(&mut self, c: &mut BoltCollector<'_>, wait: Option<Duration>) {
        let Some(child) = self.child.as_mut() else { return };
        let mut first = match wait {
            Some(d) => child.recv_timeout(d),
            None => child.pump().and_then(|()| child.try_recv()),
        };
        let result = loop {
            match first {
                Ok(Some(m)) => {
                    if let Err(d) = self.handle(m, c) {
                        break Err(d);
                    }
                }
                Ok(None) => break Ok(()),
                Err(d) => break Err(d),
            }
            let Some(child) = self.child.as_mut() else { return };
            first = child.try_recv();
        };
        let result = result.and_then(|()| self.liveness());
        if let Err(Dead(why)) = result {
            self.restart(c, &why);
        }
    }

    fn liveness(&mut self) -> Result<(), Dead> {
        let Some(child) = self.child.as_mut() else { return Ok(()) };
        let owes = !self.pending.is_empty() || self.heartbeat_out;
        child.check(owes, self.spec.child.timeout)?;
        if !self.heartbeat_out && self.last_heartbeat.elapsed() >= HEARTBEAT_EVERY {
            self.heartbeat_out = true;
            self.last_heartbeat = Instant::now();
            protocol::heartbeat(&mut self.out, "heartbeat");
            self.flush_out()?;
        }
        Ok(())
    }

    fn handle(&mut self, m: ChildMsg, c: &mut BoltCollector<'_>) -> Result<(), Dead> {
        match m {
            ChildMsg::Emit(e) => self.emit(e, c)?,
            ChildMsg::Ack(id) => match id.parse().ok().and_then(|id| self.pending.remove(&id)) {
                Some(t) => c.ack(&t),
                None => tracing::warn!("{}: child acked unknown tuple {id:?}", self.name),
            },
            ChildMsg::Fail(id) => match id.parse().ok().and_then(|id| self.pending.remove(&id)) {
                Some(t) => {
                    let reason =
                        self.last_error.take().unwrap_or_else(|| "failed by the multilang child".into());
                    c.fail(&t, &reason);
                }
                None => tracing::warn!("{}: child failed unknown tuple {id:?}", self.name),
            },
            ChildMsg::Sync => self.heartbeat_out = false,
            ChildMsg::Log { level, msg } => child::log(&self.name, level, &msg),
            ChildMsg::Error(msg) => {
                c.report_error(&format!("multilang child: {msg}"));
                self.last_error = Some(msg);
            }
            ChildMsg::Metrics { name, params } => match params.as_f64() {
                Some(v) => c.set_metric(&name, v),
                None => {
                    tracing::debug!("{}: metric {name} = {params} (not a number: not exported)", self.name)
                }
            },
            ChildMsg::Pid(_) => return Err(Dead("sent a second handshake answer".into())),
        }
        Ok(())
    }

    fn emit(&mut self, e: Emit, c: &mut BoltCollector<'_>) -> Result<(), Dead> {
        let anchors: Vec<&Tuple> = e
            .anchors
            .iter()
            .filter_map(|a| {
                let t = a.parse().ok().and_then(|id: u64| self.pending.get(&id));
                if t.is_none() {
                    tracing::warn!("{}: emit anchored to unknown tuple {a:?} (anchor dropped)", self.name);
                }
                t
            })
            .collect();
        let stream = e.stream.as_deref().unwrap_or(crate::DEFAULT_STREAM);
        match e.task {
            Some(task) => c.emit_direct(task, stream, &anchors, e.values),
            None => {
                let tasks = c.emit_stream(stream, &anchors, e.values);
                if e.need_task_ids {
                    // The child waits for these: send them (and what is buffered) now.
                    protocol::task_ids(&mut self.out, tasks);
                    self.flush_out()?;
                }
            }
        }
        Ok(())
    }
}

impl Bolt for ShellBolt {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        let fields: Vec<&str> = self.spec.fields.iter().map(String::as_str).collect();
        d.declare(&fields);
    }

    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        self.name = format!("{}:{}", ctx.component, ctx.task_id);
        self.ctx = Some(ctx.clone());
        // A child that does not start is logged and started again on the next tuple (whose
        // fail says why, if it still cannot): not an error that stops the worker.
        self.child();
        Ok(())
    }

    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        // Back-pressure: at most `max_pending` tuples inside the child.
        while self.child.is_some() && self.pending.len() >= self.spec.max_pending {
            if let Err(Dead(why)) = self.flush_out() {
                self.restart(c, &why);
                break;
            }
            self.service(c, Some(Duration::from_millis(1)));
            // A busy child is not a stuck bolt (a hung one is restarted by `service`).
            if let Some(ctx) = &self.ctx {
                ctx.stop.keep_alive();
            }
        }
        // A restart backs off briefly: wait for it rather than fail tuples meanwhile.
        if self.child.is_none() {
            std::thread::sleep(self.spawn_after.saturating_duration_since(Instant::now()));
        }
        if self.child().is_none() {
            let why = format!("multilang child is not running: {}", self.down.as_deref().unwrap_or("?"));
            c.fail(&input, &why);
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let task = i64::from(input.source_task());
        protocol::tuple(
            &mut self.out,
            &id.to_string(),
            input.source_component(),
            input.stream(),
            task,
            &input.values,
        );
        self.pending.insert(id, input);
        self.unsent += 1;
        // The child idles if everything it holds is still here: send at once then; otherwise
        // gather a batch while it works.
        if self.unsent >= WRITE_BATCH || self.unsent == self.pending.len() || self.out.len() >= 64 * 1024 {
            if let Err(Dead(why)) = self.flush_out() {
                self.restart(c, &why);
                return;
            }
        }
        self.service(c, None);
    }

    fn poll(&mut self, c: &mut BoltCollector<'_>) -> bool {
        if let Err(Dead(why)) = self.flush_out() {
            self.restart(c, &why);
        }
        if self.child().is_some() {
            // Waiting on the child (not the inbox) answers its emits' task ids at once.
            let wait = (!self.pending.is_empty()).then_some(Duration::from_micros(500));
            self.service(c, wait);
        }
        !self.pending.is_empty() || self.child.as_ref().is_some_and(Child::backlogged)
    }

    fn cleanup(&mut self) {
        self.child = None;
    }
}
