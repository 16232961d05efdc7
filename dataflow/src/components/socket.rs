//! `SocketSpout` and `SocketBolt`: a topology's sources and sinks are libsock sockets, so any
//! ZeroMQ program (libzmq, pyzmq, sockcat…) feeds a topology or consumes its results.

use std::collections::{HashMap, VecDeque};

use libsock::{Context, Socket, SocketType, DONTWAIT};
use service::wss::WssPem;

use super::security::{EdgeSocket, Security};
use crate::component::{BasicBolt, FailReason, Limits, OutputDeclarer, Spout, TaskContext};
use crate::runtime::{BasicCollector, SpoutCollector};
use crate::tuple::{Tuple, Value};

/// How to set up a socket: type, endpoints, options.
#[derive(Clone, Debug)]
pub struct SocketSpec {
    /// Socket type (PULL, SUB, ROUTER, PUSH, PUB, …).
    pub kind: SocketType,
    /// Endpoints to bind.
    pub bind: Vec<String>,
    /// Endpoints to connect to.
    pub connect: Vec<String>,
    /// SUB prefixes (none: everything).
    pub subscribe: Vec<String>,
    /// High-water mark, both directions.
    pub hwm: i32,
    /// CURVE or PLAIN, for tcp and ipc endpoints.
    pub security: Security,
    /// The `wss://` certificates, key and trust (PEM, read when the topology loaded).
    pub wss: WssPem,
}

impl SocketSpec {
    /// A spec with no endpoints yet.
    pub fn new(kind: SocketType) -> SocketSpec {
        SocketSpec {
            kind,
            bind: Vec::new(),
            connect: Vec::new(),
            subscribe: Vec::new(),
            hwm: 1000,
            security: Security::Null,
            wss: WssPem::default(),
        }
    }

    /// Checks that `tasks` instances of it in one process can all open: only one can bind
    /// an endpoint, unless its port is left to the system (`tcp://host:*`).
    pub fn check_tasks(&self, tasks: usize) -> Result<(), String> {
        match self.bind.iter().find(|ep| !ep.ends_with(":*")) {
            Some(ep) if tasks > 1 => Err(format!(
                "{tasks} tasks in one process would each bind {ep}, and only one can: \
                 use connect, or parallelism 1"
            )),
            _ => Ok(()),
        }
    }

    /// Checks what can be checked without opening anything.
    pub fn validate(&self) -> Result<(), String> {
        if self.bind.is_empty() && self.connect.is_empty() {
            return Err("a socket needs at least one `bind` or `connect` endpoint".into());
        }
        for ep in self.bind.iter().chain(&self.connect) {
            libsock::Endpoint::parse(ep).map_err(|e| format!("invalid endpoint {ep:?}: {e}"))?;
        }
        self.security.validate(self.bind.iter().chain(&self.connect))
    }

    /// Opens the socket on `ctx` (on a context of its own when its security checks peers:
    /// see [`EdgeSocket`]).
    pub fn open(&self, ctx: &Context) -> Result<EdgeSocket, String> {
        self.open_with(ctx, |_| Ok(()))
    }

    /// [`SocketSpec::open`], calling `configure` before it binds or connects (options such as
    /// ZMQ_MAXMSGSIZE apply to the connections made after they are set).
    pub fn open_with(
        &self,
        ctx: &Context,
        configure: impl FnOnce(&Socket) -> libsock::Result<()>,
    ) -> Result<EdgeSocket, String> {
        EdgeSocket::open(ctx, &self.security, |ctx| self.open_on(ctx, configure))
    }

    fn open_on(
        &self,
        ctx: &Context,
        configure: impl FnOnce(&Socket) -> libsock::Result<()>,
    ) -> Result<Socket, String> {
        let s = ctx.socket(self.kind).map_err(|e| e.to_string())?;
        configure(&s).map_err(|e| e.to_string())?;
        self.security.apply(&s).map_err(|e| format!("security options: {e}"))?;
        self.wss.apply(&s).map_err(|e| format!("wss:// options: {e}"))?;
        s.set_sndhwm(self.hwm).and_then(|_| s.set_rcvhwm(self.hwm)).map_err(|e| e.to_string())?;
        s.set_linger(1000).map_err(|e| e.to_string())?;
        if self.kind == SocketType::SUB {
            let all = [String::new()];
            let prefixes = if self.subscribe.is_empty() { &all[..] } else { &self.subscribe[..] };
            for p in prefixes {
                s.set_subscribe(p.as_bytes()).map_err(|e| e.to_string())?;
            }
        }
        for ep in &self.bind {
            s.bind(ep).map_err(|e| endpoint_error("bind", ep, e))?;
        }
        for ep in &self.connect {
            s.connect(ep).map_err(|e| endpoint_error("connect", ep, e))?;
        }
        Ok(s)
    }
}

/// `bind tcp://…: why`, naming the endpoint once (libsock's errors often name it already).
fn endpoint_error(what: &str, endpoint: &str, e: libsock::Error) -> String {
    let why = e.to_string();
    match why.strip_suffix(endpoint).map(|w| w.trim_end_matches([':', ' '])) {
        Some(short) => format!("{what} {endpoint}: {short}"),
        None => format!("{what} {endpoint}: {why}"),
    }
}

/// Sockets are opened on the topology's libsock context ([`crate::Topology::context`]) when
/// the embedding program gave one, so its `inproc://` endpoints work; otherwise on a context
/// of their own.
///
/// Each received message is one tuple, one value per frame (text when UTF-8, bytes
/// otherwise). Declared fields name the first frames. When `reliable`, each tuple carries a
/// message id and failed ones are replayed from memory (until acked).
pub struct SocketSpout {
    spec: SocketSpec,
    fields: Vec<String>,
    reliable: bool,
    /// Put each message's `User-Id` first, in a field of this name.
    user_id_field: Option<String>,
    ctx: Option<Context>,
    socket: Option<EdgeSocket>,
    unacked: HashMap<u64, Vec<Value>>,
    replay: VecDeque<u64>,
    next_id: u64,
}

impl SocketSpout {
    /// A spout over `spec`, declaring `fields`.
    pub fn new(spec: SocketSpec, fields: Vec<String>, reliable: bool) -> SocketSpout {
        SocketSpout {
            spec,
            fields,
            reliable,
            user_id_field: None,
            ctx: None,
            socket: None,
            unacked: HashMap::new(),
            replay: VecDeque::new(),
            next_id: 0,
        }
    }
}

impl SocketSpout {
    /// Each tuple starts with a field `name`: the `User-Id` its message came with (the
    /// PLAIN user name, or the CURVE client's Z85 public key, as the ZAP handler answered;
    /// empty text where the mechanism gives none), then the frames.
    pub fn user_id_field(mut self, name: impl Into<String>) -> SocketSpout {
        self.user_id_field = Some(name.into());
        self
    }
}

/// One message's frames, with the `User-Id` its first frame came with when `with_user`.
fn recv_frames(socket: &Socket, with_user: bool) -> Option<(Vec<Vec<u8>>, Option<String>)> {
    if !with_user {
        return socket.recv_multipart(DONTWAIT).ok().map(|f| (f, None));
    }
    let first = socket.recv_msg(DONTWAIT).ok()?;
    let user = Some(first.gets("User-Id").unwrap_or_default().to_owned());
    let mut more = first.get_more();
    let mut frames = vec![first.to_vec()];
    while more {
        // The rest of a message arrives with its first frame.
        let m = socket.recv_msg(0).ok()?;
        more = m.get_more();
        frames.push(m.to_vec());
    }
    Some((frames, user))
}

fn frame_value(frame: Vec<u8>) -> Value {
    match String::from_utf8(frame) {
        Ok(s) => Value::Str(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    }
}

impl Spout for SocketSpout {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        let fields = self.user_id_field.iter().chain(&self.fields).map(String::as_str);
        d.declare(&fields.collect::<Vec<_>>());
    }

    fn check(&self, limits: &Limits) -> Result<(), String> {
        self.spec.check_tasks(limits.tasks_in_process)
    }

    fn open(&mut self, task: &TaskContext) -> Result<(), String> {
        let ctx = self.ctx.get_or_insert_with(|| task.libsock.clone().unwrap_or_default());
        self.socket = Some(self.spec.open(ctx)?);
        Ok(())
    }

    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        for _ in 0..64 {
            if let Some(id) = self.replay.pop_front() {
                if let Some(values) = self.unacked.get(&id) {
                    c.emit(values.clone(), Some(id));
                }
                continue;
            }
            let Some(socket) = &self.socket else { return };
            let Some((frames, user)) = recv_frames(socket, self.user_id_field.is_some()) else { return };
            let values: Vec<Value> =
                user.map(Value::Str).into_iter().chain(frames.into_iter().map(frame_value)).collect();
            if self.reliable {
                self.next_id += 1;
                self.unacked.insert(self.next_id, values.clone());
                c.emit(values, Some(self.next_id));
            } else {
                c.emit(values, None);
            }
        }
    }

    fn wake_sockets(&self) -> Vec<&Socket> {
        self.socket.iter().map(EdgeSocket::socket).collect()
    }

    fn ack(&mut self, msg_id: u64) {
        self.unacked.remove(&msg_id);
    }

    fn fail(&mut self, msg_id: u64, _why: &FailReason) {
        if self.unacked.contains_key(&msg_id) {
            self.replay.push_back(msg_id);
        }
    }

    fn close(&mut self) {
        self.socket = None;
    }
}

/// Sends each input tuple as one multipart message: one frame per field, strings as text,
/// numbers as decimal text, bytes as is. A full socket (or a PUSH with no peer yet) blocks the
/// bolt: back-pressure; once the topology stops for good ([`crate::StopSignal`]) the wait
/// gives up and the tuple fails, so a sink nobody reads never holds the stop.
pub struct SocketBolt {
    spec: SocketSpec,
    ctx: Option<Context>,
    socket: Option<EdgeSocket>,
    stop: crate::StopSignal,
}

/// How long a blocked send waits before it looks at the stop signal again.
pub(crate) const SEND_CHECK_MS: i32 = 100;

impl SocketBolt {
    /// A bolt over `spec`.
    pub fn new(spec: SocketSpec) -> SocketBolt {
        SocketBolt { spec, ctx: None, socket: None, stop: crate::StopSignal::default() }
    }
}

/// Sends `frames` as one message, waiting while the socket is full until `stop` is set (or
/// `give_up_at`). The socket's SNDTIMEO is [`SEND_CHECK_MS`]: how often the wait looks.
pub(crate) fn send_until_stopped(
    socket: &Socket,
    frames: Vec<Vec<u8>>,
    stop: &crate::StopSignal,
    give_up_at: Option<std::time::Instant>,
) -> Result<(), String> {
    let last = frames.len().saturating_sub(1);
    for (i, frame) in frames.into_iter().enumerate() {
        let flags = if i < last { libsock::SNDMORE } else { 0 };
        let mut msg = libsock::Message::from(frame);
        loop {
            // Once stopped, what is still queued for this bolt goes out only if it can at once.
            let stopped = stop.is_set();
            let flags = if stopped { flags | DONTWAIT } else { flags };
            match socket.send_from(&mut msg, flags) {
                Ok(()) => break,
                Err(libsock::Error::TimedOut)
                    if give_up_at.is_some_and(|t| std::time::Instant::now() >= t) =>
                {
                    return Err("send: the socket stayed full".into())
                }
                // Waiting on the sink, not stuck: the worker's health check must know.
                Err(libsock::Error::TimedOut) if !stopped => stop.keep_alive(),
                Err(libsock::Error::TimedOut | libsock::Error::WouldBlock) if stopped => {
                    return Err("send: the topology stopped while the socket was full".into())
                }
                Err(e) => return Err(format!("send: {e}")),
            }
        }
    }
    Ok(())
}

impl BasicBolt for SocketBolt {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}

    fn check(&self, limits: &Limits) -> Result<(), String> {
        self.spec.check_tasks(limits.tasks_in_process)
    }

    fn prepare(&mut self, task: &TaskContext) -> Result<(), String> {
        let ctx = self.ctx.get_or_insert_with(|| task.libsock.clone().unwrap_or_default());
        self.socket = Some(self.spec.open_with(ctx, |s| s.set_sndtimeo(SEND_CHECK_MS))?);
        self.stop = task.stop.clone();
        Ok(())
    }

    fn execute(&mut self, input: &Tuple, _c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        if input.is_tick() {
            return Ok(());
        }
        let socket = self.socket.as_ref().ok_or("socket not open")?;
        let frames: Vec<Vec<u8>> = if input.values.is_empty() {
            vec![Vec::new()]
        } else {
            input.values.iter().map(Value::to_frame).collect()
        };
        send_until_stopped(socket, frames, &self.stop, None)
    }

    fn cleanup(&mut self) {
        self.socket = None;
    }
}
