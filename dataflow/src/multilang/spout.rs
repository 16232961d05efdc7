//! `ShellSpout`: a spout run by a child process speaking Storm's multilang protocol
//! (synchronous: each command — `next`, `ack`, `fail`, `activate`, `deactivate` — is answered
//! by emits and logs, then `sync`).
//!
//! Commands are pipelined (the child handles them in order and syncs each), but at most one
//! `next` is outstanding, and `next_tuple` never blocks the executor.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::child::{self, Child, Dead};
use super::protocol::{self, ChildMsg, Emit};
use super::{ShellSpec, RESTART_BACKOFF};
use crate::component::{FailReason, OutputDeclarer, Spout, TaskContext};
use crate::runtime::SpoutCollector;

/// A spout run by a child process (Flux's `FluxShellSpout`).
pub struct ShellSpout {
    spec: Arc<ShellSpec>,
    ctx: Option<TaskContext>,
    name: String,
    child: Option<Child>,
    /// Which child (incarnation) is running: acks for an earlier one's ids go nowhere.
    generation: u64,
    /// Our message id → (incarnation, the child's id).
    ids: HashMap<u64, (u64, Json)>,
    next_msg: u64,
    /// Commands sent and not yet synced, oldest first (true: a `next`).
    unsynced: VecDeque<bool>,
    /// `ack`/`fail` commands produced outside `next_tuple`, sent at its next call.
    outbox: Vec<Vec<u8>>,
    spawn_after: Instant,
    active: bool,
}

impl ShellSpout {
    /// A spout that runs `spec`'s command.
    pub fn new(spec: Arc<ShellSpec>) -> ShellSpout {
        ShellSpout {
            spec,
            ctx: None,
            name: String::new(),
            child: None,
            generation: 0,
            ids: HashMap::new(),
            next_msg: 1,
            unsynced: VecDeque::new(),
            outbox: Vec::new(),
            spawn_after: Instant::now(),
            active: true,
        }
    }

    fn ensure_child(&mut self) -> bool {
        if self.child.is_none() && Instant::now() >= self.spawn_after {
            let Some(ctx) = self.ctx.as_ref() else { return false };
            match Child::spawn(&self.spec.child, &self.name, &self.spec.conf(ctx), &super::context(ctx)) {
                Ok(c) => {
                    tracing::info!("{}: multilang spout child running (pid {})", self.name, c.pid());
                    self.child = Some(c);
                    self.generation += 1;
                    self.unsynced.clear();
                    self.outbox.clear();
                    if !self.active {
                        self.command("deactivate", None);
                    }
                }
                Err(Dead(why)) => {
                    tracing::error!("{}: {why}; retrying in {RESTART_BACKOFF:?}", self.name);
                    self.spawn_after = Instant::now() + RESTART_BACKOFF;
                }
            }
        }
        self.child.is_some()
    }

    fn restart(&mut self, why: &str) {
        tracing::error!(
            "{}: multilang spout child {why}; restarting it (its in-flight tuples time out or fail at the spout, and what its source cannot redeliver is lost)",
            self.name
        );
        self.child = None;
        self.unsynced.clear();
        self.spawn_after = Instant::now() + RESTART_BACKOFF;
    }

    fn command(&mut self, command: &str, id: Option<&Json>) {
        let mut m = Vec::new();
        protocol::spout_command(&mut m, command, id);
        self.outbox.push(m);
        self.unsynced.push_back(command == "next");
    }

    fn flush(&mut self) -> Result<(), Dead> {
        let Some(child) = self.child.as_mut() else { return Ok(()) };
        for m in self.outbox.drain(..) {
            child.send(m)?;
        }
        Ok(())
    }

    fn handle(&mut self, m: ChildMsg, c: &mut SpoutCollector<'_>) -> Result<(), Dead> {
        match m {
            ChildMsg::Emit(e) => self.emit(e, c)?,
            ChildMsg::Sync => {
                if self.unsynced.pop_front().is_none() {
                    tracing::warn!("{}: sync without a command", self.name);
                }
            }
            ChildMsg::Log { level, msg } => child::log(&self.name, level, &msg),
            ChildMsg::Error(msg) => c.report_error(&format!("multilang child: {msg}")),
            ChildMsg::Metrics { name, params } => match params.as_f64() {
                Some(v) => c.set_metric(&name, v),
                None => {
                    tracing::debug!("{}: metric {name} = {params} (not a number: not exported)", self.name)
                }
            },
            ChildMsg::Ack(_) | ChildMsg::Fail(_) => {
                return Err(Dead("sent ack/fail (a bolt command) as a spout".into()))
            }
            ChildMsg::Pid(_) => return Err(Dead("sent a second handshake answer".into())),
        }
        Ok(())
    }

    fn emit(&mut self, e: Emit, c: &mut SpoutCollector<'_>) -> Result<(), Dead> {
        let msg_id = e.id.map(|id| {
            let m = self.next_msg;
            self.next_msg += 1;
            self.ids.insert(m, (self.generation, id));
            m
        });
        let stream = e.stream.as_deref().unwrap_or(crate::DEFAULT_STREAM);
        match e.task {
            Some(task) => c.emit_direct(task, stream, e.values, msg_id),
            None => {
                let tasks = c.emit_stream(stream, e.values, msg_id);
                if e.need_task_ids {
                    let mut m = Vec::new();
                    protocol::task_ids(&mut m, tasks);
                    if let Some(child) = self.child.as_mut() {
                        child.send(m)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, c: &mut SpoutCollector<'_>) -> Result<(), Dead> {
        if self.active && !self.unsynced.contains(&true) {
            self.command("next", None);
        }
        self.flush()?;
        // A bounded number of messages per call keeps acks flowing to the spout.
        for _ in 0..1024 {
            let Some(child) = self.child.as_mut() else { return Ok(()) };
            match child.try_recv()? {
                Some(m) => self.handle(m, c)?,
                None => break,
            }
        }
        let owes = !self.unsynced.is_empty();
        match self.child.as_mut() {
            Some(child) => child.check(owes, self.spec.child.timeout),
            None => Ok(()),
        }
    }

    /// Queues `ack`/`fail` for the child if the id is from the running incarnation.
    fn settle(&mut self, msg_id: u64, command: &str) {
        match self.ids.remove(&msg_id) {
            Some((generation, id)) if generation == self.generation && self.child.is_some() => {
                self.command(command, Some(&id));
                if let Err(Dead(why)) = self.flush() {
                    self.restart(&why);
                }
            }
            Some(_) => tracing::debug!("{}: {command} for a previous child's tuple dropped", self.name),
            None => {}
        }
    }
}

impl Spout for ShellSpout {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        let fields: Vec<&str> = self.spec.fields.iter().map(String::as_str).collect();
        d.declare(&fields);
    }

    fn open(&mut self, ctx: &TaskContext) -> Result<(), String> {
        self.name = format!("{}:{}", ctx.component, ctx.task_id);
        self.ctx = Some(ctx.clone());
        // A child that does not start is logged and started again from `next_tuple`: not an
        // error that stops the worker.
        self.ensure_child();
        Ok(())
    }

    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        if !self.ensure_child() {
            std::thread::sleep(Duration::from_millis(1));
            return;
        }
        if let Err(Dead(why)) = self.step(c) {
            self.restart(&why);
        }
        if c.emitted == 0 {
            // Nothing yet: wait briefly for the child rather than spin.
            if let Some(child) = self.child.as_mut() {
                match child.recv_timeout(Duration::from_millis(1)) {
                    Ok(Some(m)) => {
                        if let Err(Dead(why)) = self.handle(m, c) {
                            self.restart(&why);
                        }
                    }
                    Ok(None) => {}
                    Err(Dead(why)) => self.restart(&why),
                }
            }
        }
    }

    fn ack(&mut self, msg_id: u64) {
        self.settle(msg_id, "ack");
    }

    fn fail(&mut self, msg_id: u64, _why: &FailReason) {
        self.settle(msg_id, "fail");
    }

    fn activate(&mut self) {
        if !self.active {
            self.active = true;
            if self.child.is_some() {
                self.command("activate", None);
            }
        }
    }

    fn deactivate(&mut self) {
        if self.active {
            self.active = false;
            if self.child.is_some() {
                self.command("deactivate", None);
                let _ = self.flush();
            }
        }
    }

    fn close(&mut self) {
        self.child = None;
    }
}
