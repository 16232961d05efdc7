//! I/O threads: mio event loops that run every tcp and ipc connection of a context.
//!
//! Rules:
//! - Protocol progress (handshakes, heartbeats, reconnects, PONGs) happens here, never on the
//!   user's thread, so it does not wait for `recv`.
//! - The only way in is [`IoShared::send`]: a command queue plus one mio waker, woken only when
//!   the queue goes from empty to non-empty.
//! - Pipes wake a connection through [`IoWake`], which is just an `Activate(token)` command;
//!   pipes do so once per batch, never once per message.
//! - Connections reach their socket only by posting to its mailbox.
//! - The one exception to "the I/O thread writes": a sending thread may frame and write a
//!   whole message to an idle connection itself, through the lock-guarded write side the
//!   connection hands its pipe ([`direct`] documents the ownership and hand-over rules).

mod backoff;
mod connection;
mod direct;
mod direct_rx;
mod listener;
#[cfg(test)]
pub(crate) mod pause;
mod pipe_sink;
mod raw;
mod socks_phase;
mod spare;
mod ws_link;
mod ws_tls;
mod zap;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Registry, Token, Waker};
use parking_lot::Mutex;
use slab::Slab;

pub(crate) use backoff::Backoff;
use connection::{Connection, Flow};
use listener::ListenerEntry;
use raw::RawConnection;
pub(crate) use zap::{ZapConfig, ZapHandler, ZAP_ENDPOINT};

use crate::mailbox::{Signal, SocketShared};
use crate::pipe::{PipeEnd, Wake};
use crate::session::SessionConfig;
use crate::sys;
use crate::transport::{DialTarget, Listener, NetConfig};

pub(crate) use crate::mailbox::EndpointId;

const WAKER: Token = Token(usize::MAX);

/// What a connection needs from its socket's options, fixed at bind/connect time.
#[derive(Debug, Clone)]
pub(crate) struct ConnConfig {
    pub session: SessionConfig,
    pub net: NetConfig,
    pub sndhwm: u64,
    pub rcvhwm: u64,
    pub reconnect_ivl: Option<Duration>,
    pub reconnect_ivl_max: Duration,
    /// IMMEDIATE: a dialed connection gets its pipe at handshake and loses it on disconnect.
    pub immediate: bool,
    /// Subscription messages (`0x01`/`0x00` + topic) go out as SUBSCRIBE/CANCEL commands.
    pub subscriptions_as_commands: bool,
    /// ROUTER_NOTIFY bits: announce a peer's connect (1) / disconnect (2) with an empty message.
    pub router_notify: i32,
    /// HELLO_MSG (draft, DEALER/ROUTER/CLIENT/SERVER): the first message each pipe this engine creates sends.
    pub hello_msg: Option<bytes::Bytes>,
    /// DISCONNECT_MSG (draft, ROUTER/SERVER): what an accepted peer "sends" when its connection drops.
    pub disconnect_msg: Option<bytes::Bytes>,
    /// RECONNECT_STOP bits: give up on connection refused (1) / a failed handshake (2).
    pub reconnect_stop: i32,
    /// CONNECT_TIMEOUT: a tcp connect still pending after this is abandoned and retried.
    pub connect_timeout: Option<Duration>,
    /// STREAM: raw byte connections ([`raw`]) instead of ZMTP.
    pub raw: bool,
    /// STREAM_NOTIFY: raw connections announce connect and disconnect with an empty message.
    pub raw_notify: bool,
    /// STREAM: the routing id (CONNECT_ROUTING_ID) the peer of this connect gets.
    pub connect_id: bytes::Bytes,
    /// How PLAIN and CURVE servers reach the ZAP handler.
    pub zap: ZapConfig,
}

/// Commands to an I/O thread.
// Pipe ends travel by value: commands are rare (one per connection event), boxing would
// cost an allocation each, and the size only matters for the mailbox's slots.
#[allow(clippy::large_enum_variant)]
pub(crate) enum IoCmd {
    /// Serve an already bound listener.
    Listen {
        id: EndpointId,
        listener: Listener,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
        name: String,
    },
    /// Connect (and keep reconnecting). `pipe` is `None` with IMMEDIATE: it is made at handshake.
    Connect {
        id: EndpointId,
        target: DialTarget,
        pipe: Option<PipeEnd>,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
        name: String,
    },
    /// The socket let go of an endpoint (unbind, disconnect or close).
    Close { id: EndpointId },
    /// A pipe of this connection has something to read or room to write.
    Activate(Token),
    /// The ZAP handler answered request `id` of connection `token`.
    /// `Err`: the reply was malformed, with libzmq's `ZMQ_PROTOCOL_ERROR_ZAP_*` code.
    ZapReply { token: Token, id: u64, reply: Result<crate::session::ZapReply, u32> },
    /// Finish lingering connections, then exit.
    Shutdown,
}

/// The part of an I/O thread other threads talk to.
pub(crate) struct IoShared {
    cmds: Mutex<Vec<IoCmd>>,
    waker: Waker,
}

impl IoShared {
    /// Queues a command, waking the thread if the queue was empty.
    pub(crate) fn send(&self, cmd: IoCmd) {
        let mut cmds = self.cmds.lock();
        let was_empty = cmds.is_empty();
        cmds.push(cmd);
        drop(cmds);
        if was_empty {
            if let Err(e) = self.waker.wake() {
                tracing::error!("cannot wake I/O thread: {e}");
            }
        }
    }
}

/// Wakes one connection of an I/O thread.
pub(crate) struct IoWake {
    io: Arc<IoShared>,
    token: Token,
}

impl Wake for IoWake {
    fn wake(&self) {
        self.io.send(IoCmd::Activate(self.token));
    }
}

/// A running I/O thread; dropping it shuts it down and joins it.
pub(crate) struct IoThread {
    shared: Arc<IoShared>,
    /// Taken by [`IoThread::stop`].
    handle: Mutex<Option<JoinHandle<()>>>,
    /// Whether [`IoCmd::Shutdown`] was sent (once, though a stop may be interrupted and
    /// called again).
    shutdown_sent: AtomicBool,
    /// Set, then woken, when the thread has finished its work (lingering included), so that
    /// [`IoThread::stop_interruptible`] can sleep on it in `poll(2)` rather than in `join`.
    exited: Arc<(AtomicBool, Signal)>,
    /// The process that started the thread: in a child forked since, the thread does not
    /// exist and never raises `exited` (glibc lets `join` return at once there).
    pid: u32,
}

impl IoThread {
    /// Starts an I/O thread named `name` that runs `setup` first (context options such as
    /// CPU affinity and scheduling apply to the thread itself).
    pub(crate) fn spawn_configured(name: String, setup: Box<dyn FnOnce() + Send>) -> io::Result<IoThread> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(IoShared { cmds: Mutex::new(Vec::new()), waker });
        let worker = Worker {
            poll,
            shared: shared.clone(),
            entries: Slab::new(),
            timers: BinaryHeap::new(),
            pool_check: None,
            shutting_down: false,
        };
        let exited = Arc::new((AtomicBool::new(false), Signal::default()));
        let notice = ExitNotice(exited.clone());
        let handle = std::thread::Builder::new().name(name).spawn(move || {
            let _notice = notice;
            crate::sys::block_signals();
            setup();
            worker.run()
        })?;
        Ok(IoThread {
            shared,
            handle: Mutex::new(Some(handle)),
            shutdown_sent: AtomicBool::new(false),
            exited,
            pid: std::process::id(),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<IoShared> {
        &self.shared
    }

    /// Asks the thread to finish (lingering connections first) and waits until it has; the
    /// first call does, later ones return at once.
    pub(crate) fn stop(&self) {
        let handle = self.handle.lock().take();
        if let Some(h) = handle {
            self.send_shutdown();
            let _ = h.join();
        }
    }

    /// [`IoThread::stop`] that a signal handler can end (`Err(Interrupted)`, as libzmq's
    /// `zmq_ctx_term`): the thread keeps finishing, and a later call waits for the rest.
    pub(crate) fn stop_interruptible(&self) -> crate::Result<()> {
        if std::process::id() != self.pid {
            self.stop();
            return Ok(());
        }
        let mut handle = self.handle.lock();
        if handle.is_none() {
            return Ok(());
        }
        self.send_shutdown();
        // The flag is set just before the thread returns, so the join below is short.
        while !self.exited.0.load(Ordering::Acquire) {
            self.exited.1.wait_interruptible(None)?;
        }
        if let Some(h) = handle.take() {
            let _ = h.join();
        }
        Ok(())
    }

    fn send_shutdown(&self) {
        if !self.shutdown_sent.swap(true, Ordering::AcqRel) {
            self.shared.send(IoCmd::Shutdown);
        }
    }
}

/// Raises [`IoThread`]'s `exited` when the thread's work ends, however it ends.
struct ExitNotice(Arc<(AtomicBool, Signal)>);

impl Drop for ExitNotice {
    fn drop(&mut self) {
        self.0 .0.store(true, Ordering::Release);
        self.0 .1.wake();
    }
}

impl Drop for IoThread {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Entry {
    Listener(ListenerEntry),
    Conn(Box<Connection>),
    Raw(Box<RawConnection>),
}

/// What an entry's handlers may use of the thread.
pub(crate) struct Ctx<'a> {
    pub registry: &'a Registry,
    pub io: &'a Arc<IoShared>,
    pub token: Token,
    pub now: Instant,
}

impl Ctx<'_> {
    pub(crate) fn waker(&self) -> Arc<dyn Wake> {
        Arc::new(IoWake { io: self.io.clone(), token: self.token })
    }

    /// Asks for this entry to be run again soon (to yield to others without losing an edge).
    pub(crate) fn reactivate(&self) {
        self.io.send(IoCmd::Activate(self.token));
    }
}

struct Worker {
    poll: Poll,
    shared: Arc<IoShared>,
    entries: Slab<Entry>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// When to give back what the message pool's depots hold idle, while they hold more
    /// than they keep for good (`sys::pool::age_depots`).
    pool_check: Option<Instant>,
    shutting_down: bool,
}

impl Worker {
    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        let mut cmds = Vec::new();
        loop {
            let next = self.timers.peek().map(|Reverse((at, _))| *at);
            let next = match (next, self.pool_check) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timeout = next.map(|at| at.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::error!("I/O thread poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            let now = Instant::now();
            for ev in events.iter() {
                if ev.token() != WAKER {
                    let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                    let writable = ev.is_writable() || ev.is_write_closed() || ev.is_error();
                    self.on_io(ev.token(), readable, writable, now);
                }
            }
            std::mem::swap(&mut cmds, &mut *self.shared.cmds.lock());
            for cmd in cmds.drain(..) {
                self.on_cmd(cmd, now);
            }
            self.fire_timers(Instant::now());
            self.age_pool(Instant::now());
            if self.shutting_down && self.entries.is_empty() {
                break;
            }
        }
    }

    /// Once a second while the pool's depots hold a surplus: gives back what a burst left
    /// idle, so a process that goes quiet does not keep it.
    fn age_pool(&mut self, now: Instant) {
        match self.pool_check {
            Some(at) if now >= at => {
                self.pool_check = sys::pool::age_depots(now).then(|| now + Duration::from_secs(1));
            }
            None if sys::pool::depots_hold_surplus() => self.pool_check = Some(now + Duration::from_secs(1)),
            _ => {}
        }
    }

    fn on_io(&mut self, token: Token, readable: bool, writable: bool, now: Instant) {
        match self.entries.get(token.0) {
            Some(Entry::Listener(_)) => self.on_acceptable(token, now),
            Some(Entry::Conn(_)) => self.with_conn(token, now, |c, ctx| c.on_io(ctx, readable, writable)),
            Some(Entry::Raw(_)) => self.with_raw(token, now, |c, ctx| c.on_io(ctx, readable, writable)),
            None => {}
        }
    }

    fn on_acceptable(&mut self, token: Token, now: Instant) {
        let Some(Entry::Listener(l)) = self.entries.get_mut(token.0) else { return };
        let accepted = l.accept_all();
        let (id, cfg, socket, name) = (l.id, l.cfg.clone(), l.socket.clone(), l.name.clone());
        let ws = l.listener.ws();
        for (stream, peer) in accepted {
            if cfg.raw {
                let conn =
                    RawConnection::accepted(id, stream, peer, name.clone(), cfg.clone(), socket.clone());
                let token = Token(self.entries.insert(Entry::Raw(Box::new(conn))));
                self.with_raw(token, now, |c, ctx| c.start(ctx));
                continue;
            }
            let conn = Connection::accepted(
                id,
                stream,
                peer,
                name.clone(),
                cfg.clone(),
                socket.clone(),
                now,
                ws.clone(),
            );
            let token = Token(self.entries.insert(Entry::Conn(Box::new(conn))));
            self.with_conn(token, now, |c, ctx| c.start(ctx));
        }
    }

    /// Runs one handler of connection `token`, then settles its fate.
    fn with_conn(
        &mut self,
        token: Token,
        now: Instant,
        handler: impl FnOnce(&mut Connection, &Ctx<'_>) -> Flow,
    ) {
        let Some(Entry::Conn(c)) = self.entries.get_mut(token.0) else { return };
        let ctx = Ctx { registry: self.poll.registry(), io: &self.shared, token, now };
        let flow = handler(c, &ctx);
        self.settle(token, flow);
    }

    /// Runs one handler of raw connection `token`, then settles its fate.
    fn with_raw(
        &mut self,
        token: Token,
        now: Instant,
        handler: impl FnOnce(&mut RawConnection, &Ctx<'_>) -> Flow,
    ) {
        let Some(Entry::Raw(c)) = self.entries.get_mut(token.0) else { return };
        let ctx = Ctx { registry: self.poll.registry(), io: &self.shared, token, now };
        let flow = handler(c, &ctx);
        let deadline = c.next_deadline();
        match flow {
            Flow::Remove => {
                c.shutdown(self.poll.registry());
                self.entries.remove(token.0);
            }
            Flow::Keep if c.timer != deadline => {
                c.timer = deadline;
                if let Some(at) = deadline {
                    self.timers.push(Reverse((at, token.0)));
                }
            }
            Flow::Keep => {}
        }
    }

    /// Removes a finished connection, or re-arms its timer.
    fn settle(&mut self, token: Token, flow: Flow) {
        let Some(Entry::Conn(c)) = self.entries.get_mut(token.0) else {
            return;
        };
        match flow {
            Flow::Remove => {
                c.shutdown(self.poll.registry());
                self.entries.remove(token.0);
            }
            Flow::Keep => {
                if let Some(at) = c.next_deadline() {
                    if c.timer != Some(at) {
                        c.timer = Some(at);
                        self.timers.push(Reverse((at, token.0)));
                    }
                } else {
                    c.timer = None;
                }
            }
        }
    }

    fn on_cmd(&mut self, cmd: IoCmd, now: Instant) {
        match cmd {
            IoCmd::Listen { id, mut listener, cfg, socket, name } => {
                let entry = self.entries.vacant_entry();
                let token = Token(entry.key());
                if let Err(e) = self.poll.registry().register(&mut listener, token, Interest::READABLE) {
                    tracing::error!(endpoint = %name, "cannot watch listener: {e}");
                    return;
                }
                entry.insert(Entry::Listener(ListenerEntry { id, listener, cfg, socket, name }));
            }
            IoCmd::Connect { id, target, pipe, cfg, socket, name } if cfg.raw => {
                let conn = RawConnection::dialing(id, target, pipe, cfg, socket, name);
                let token = Token(self.entries.insert(Entry::Raw(Box::new(conn))));
                self.with_raw(token, now, |c, ctx| c.start(ctx));
            }
            IoCmd::Connect { id, target, pipe, cfg, socket, name } => {
                let conn = Connection::dialing(id, target, pipe, cfg, socket, name);
                let token = Token(self.entries.insert(Entry::Conn(Box::new(conn))));
                self.with_conn(token, now, |c, ctx| c.start(ctx));
            }
            IoCmd::Close { id } => self.close_endpoint(id, now),
            IoCmd::Activate(token) if matches!(self.entries.get(token.0), Some(Entry::Raw(_))) => {
                self.with_raw(token, now, |c, ctx| c.on_activate(ctx))
            }
            IoCmd::Activate(token) => self.with_conn(token, now, |c, ctx| c.on_activate(ctx)),
            IoCmd::ZapReply { token, id, reply } => {
                self.with_conn(token, now, |c, ctx| c.on_zap_reply(ctx, id, reply))
            }
            IoCmd::Shutdown => self.shutting_down = true,
        }
    }

    fn close_endpoint(&mut self, id: EndpointId, now: Instant) {
        let tokens: Vec<usize> = self
            .entries
            .iter()
            .filter(|(_, e)| match e {
                Entry::Listener(l) => l.id == id,
                Entry::Conn(c) => c.endpoint == id,
                Entry::Raw(c) => c.endpoint == id,
            })
            .map(|(t, _)| t)
            .collect();
        for t in tokens {
            match self.entries.get_mut(t) {
                Some(Entry::Listener(l)) => {
                    let _ = self.poll.registry().deregister(&mut l.listener);
                    tracing::debug!(endpoint = %l.name, "listener closed");
                    l.socket.monitor.emit(
                        crate::mailbox::events::SocketEvent::Closed,
                        l.listener.raw_fd() as u32,
                        &l.name,
                    );
                    self.entries.remove(t);
                }
                // A connection that handed its pipe to the socket: the socket closes that
                // pipe at the unbind or disconnect, or first reads what it holds
                // (`SocketCore::retire`), and the connection ends when it sees that.
                Some(Entry::Conn(c)) if c.handed_its_pipe_over() => c.release(),
                Some(Entry::Conn(_)) => self.with_conn(Token(t), now, |c, ctx| c.on_close(ctx)),
                Some(Entry::Raw(_)) => self.with_raw(Token(t), now, |c, ctx| c.on_close(ctx)),
                None => {}
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, t))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(Entry::Raw(c)) = self.entries.get_mut(t) {
                if c.timer == Some(at) {
                    c.timer = None;
                    self.with_raw(Token(t), now, |c, ctx| c.on_timer(ctx));
                }
                continue;
            }
            let Some(Entry::Conn(c)) = self.entries.get_mut(t) else {
                continue;
            };
            if c.timer != Some(at) {
                continue;
            }
            c.timer = None;
            self.with_conn(Token(t), now, |c, ctx| c.on_timer(ctx));
        }
    }
}
