//! Sockets: the user-facing [`Socket`], and the core that blocks, times out and keeps pipes,
//! around a per-type [`routing::Routing`].
//!
//! A socket lives on its user's thread. Other threads reach it only through
//! [`SocketShared`] (in `mailbox`, beneath both): its mailbox (new pipes, handshake results)
//! and its signal.

mod api;
pub use api::{DONTWAIT, POLLIN, POLLOUT, SNDMORE};
mod by_number;
#[cfg(feature = "draft")]
pub(crate) mod draft;
mod endpoints;
pub(crate) mod inproc;
mod metadata;
mod pair;
mod pipeline;
mod pubsub;
mod reqrep;
mod router;
pub(crate) mod routing;
mod stream;
mod trie;
mod zap_client;

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::codec::null::PeerInfo;
use crate::context::ContextInner;
use crate::engine::EndpointId;
use crate::error::{Error, Result};
pub(crate) use crate::mailbox::{SocketCmd, SocketShared};
use crate::message::Message;
use crate::options::{millis, Options};
use crate::pipe::PipeEnd;
use crate::socket_type::SocketType;
use endpoints::EndpointRec;
use routing::{PipeRec, Pipes, Routing, SendError};

/// What [`Socket::send_msg`] returns: on failure, the error and the message when it was not
/// taken.
pub type SendOrReturn = std::result::Result<(), (Error, Option<Message>)>;

/// Where a pipe attached to a socket came from.
pub(crate) enum PipeOrigin {
    /// Joined directly to another socket.
    Inproc,
    /// Made at connect time; its connection (tcp/ipc) is not up yet.
    Dialer,
    /// Made by an I/O thread when a handshake completed.
    Engine { sub_version: u64 },
    /// Served by a udp thread of the socket's own (draft: RADIO, DISH, DGRAM).
    #[cfg(feature = "draft")]
    Udp,
}

/// A ZeroMQ-style socket.
///
/// Create one with [`crate::Context::socket`]. Like the `zmq` crate's sockets, methods take
/// `&self`; a socket may move between threads (`Send`) but not be shared by them (`!Sync`).
///
/// ```
/// let ctx = libsock::Context::new();
/// let pull = ctx.socket(libsock::PULL)?;
/// pull.bind("inproc://doc-socket")?;
/// let push = ctx.socket(libsock::PUSH)?;
/// push.connect("inproc://doc-socket")?;
/// push.send("hello", 0)?;
/// assert_eq!(pull.recv_bytes(0)?, b"hello");
/// # Ok::<(), libsock::Error>(())
/// ```
pub struct Socket {
    core: RefCell<SocketCore>,
}

pub(crate) struct SocketCore {
    ctx: Arc<ContextInner>,
    shared: Arc<SocketShared>,
    kind: SocketType,
    options: Options,
    pipes: Pipes,
    routing: Box<dyn Routing>,
    /// [`Routing::reads_into_cleared`], asked once.
    reads_into_cleared: bool,
    /// [`Routing::refuses_recv`], asked once.
    refuses_recv: bool,
    endpoints: Vec<EndpointRec>,
    rcvmore: bool,
    last_endpoint: String,
    /// The signal generation last seen, to call [`Routing::on_wake`] only after a wake.
    seen_generation: u64,
    /// CONNECT_ROUTING_ID taken by the connect in progress, for the pipe it attaches.
    pending_connect_id: Option<bytes::Bytes>,
    /// TCP_ACCEPT_FILTER entries for listeners bound from now on.
    accept_filters: Vec<crate::transport::filter::IpFilter>,
    /// IPC_FILTER_PID/UID/GID entries for ipc listeners bound from now on.
    ipc_filters: crate::transport::peer_filter::IpcFilters,
    /// ZMQ_METADATA (draft): `X-Name` properties announced in the handshake.
    app_metadata: Vec<(String, Vec<u8>)>,
    /// The signal generation when its descriptor was last drained for a direct receive
    /// (`u64::MAX`: never), and whether the last direct wait ended on something other than
    /// a message: then the descriptor may be readable and is drained again.
    direct_drained: (u64, bool),
    /// The pipe whose direct source the last direct wait used: it may still hold the
    /// stream (`engine::direct_rx` rule 7) until [`SocketCore::release_direct`].
    direct_hold: Option<usize>,
    /// A ROUTER switched to raw mode by ROUTER_RAW (libzmq's deprecated STREAM): raw tcp
    /// peers, STREAM's routing.
    router_raw: bool,
    /// Blocking calls fail with EINTR when a signal handler runs, as in libzmq
    /// ([`Socket::set_interruptible`]).
    interruptible: bool,
}

impl Socket {
    pub(crate) fn new(ctx: Arc<ContextInner>, kind: SocketType) -> Result<Socket> {
        let defaults = ctx.admit_socket()?;
        let mut options = Options::default();
        for (opt, value) in defaults {
            options.set(opt, value)?;
        }
        if kind.lingers_for_nothing() {
            // As libzmq's xsub_t and dish_t: what they send upstream (subscriptions, joins)
            // is replayed on every connect, so nothing is lost by not waiting for it.
            options.linger = 0;
        }
        let shared = Arc::new(SocketShared::new());
        let routing: Box<dyn Routing> = match kind {
            SocketType::PAIR => Box::<pair::Pair>::default(),
            SocketType::PUSH => Box::<pipeline::Push>::default(),
            SocketType::PULL => Box::<pipeline::Pull>::default(),
            SocketType::PUB => Box::new(pubsub::Publisher::new(false)),
            SocketType::XPUB => Box::new(pubsub::Publisher::new(true)),
            SocketType::SUB => Box::new(pubsub::Subscriber::new(false, shared.clone())),
            SocketType::XSUB => Box::new(pubsub::Subscriber::new(true, shared.clone())),
            SocketType::REQ => Box::new(reqrep::Req::new()),
            SocketType::REP => Box::new(reqrep::Rep::new()),
            SocketType::DEALER => Box::<reqrep::Dealer>::default(),
            SocketType::ROUTER => Box::new(router::Router::new()),
            SocketType::STREAM => Box::new(stream::Stream::new()),
            #[cfg(feature = "draft")]
            other => draft::routing(other, &shared),
        };
        let core = SocketCore {
            ctx,
            shared,
            kind,
            options,
            pipes: Pipes::default(),
            reads_into_cleared: routing.reads_into_cleared(),
            refuses_recv: routing.refuses_recv(),
            routing,
            endpoints: Vec::new(),
            rcvmore: false,
            last_endpoint: String::new(),
            seen_generation: 0,
            pending_connect_id: None,
            accept_filters: Vec::new(),
            ipc_filters: Default::default(),
            app_metadata: Vec::new(),
            direct_drained: (u64::MAX, true),
            direct_hold: None,
            router_raw: false,
            interruptible: false,
        };
        core.ctx.register(&core.shared);
        Ok(Socket { core: RefCell::new(core) })
    }

    #[inline]
    pub(crate) fn core(&self) -> std::cell::RefMut<'_, SocketCore> {
        self.core.borrow_mut()
    }
}

/// A pipe's new bound when this side's share goes from `old_own` to `new_own`: the share
/// itself for a pipe to an I/O thread; for inproc, the sum with the peer's share (0 on
/// either side: unbounded). A peer share hidden by an unbounded sum is unknown: then the new
/// share alone.
fn rebound(current: u64, old_own: u64, new_own: u64, inproc: bool) -> u64 {
    if !inproc || current == 0 || old_own == 0 {
        return if inproc && current == 0 && old_own != 0 { 0 } else { new_own };
    }
    match new_own {
        0 => 0,
        own => own + current.saturating_sub(old_own),
    }
}

impl SocketCore {
    pub(crate) fn shared(&self) -> &Arc<SocketShared> {
        &self.shared
    }

    pub(crate) fn context(&self) -> &Arc<ContextInner> {
        &self.ctx
    }

    /// Whether blocking calls end with EINTR when a signal handler runs.
    pub(crate) fn is_interruptible(&self) -> bool {
        self.interruptible
    }

    pub(crate) fn set_interruptible(&mut self, on: bool) {
        self.interruptible = on;
    }

    /// Whether connections carry raw bytes rather than ZMTP: STREAM, or ROUTER_RAW.
    pub(crate) fn is_raw(&self) -> bool {
        self.kind == SocketType::STREAM || self.router_raw
    }
}

impl SocketCore {
    /// Sends one frame, blocking per flags and SNDTIMEO.
    #[inline]
    fn send(&mut self, msg: Message, dontwait: bool) -> Result<()> {
        self.send_or_return(msg, dontwait).map_err(|(e, _)| e)
    }

    /// [`SocketCore::send`] that hands the message back when it was not taken (would block,
    /// timed out, context terminated); `None` when the routing refused it for good.
    #[inline]
    fn send_or_return(&mut self, msg: Message, dontwait: bool) -> SendOrReturn {
        if let Err(e) = self.check_alive() {
            return Err((e, Some(msg)));
        }
        self.send_alive(msg, dontwait)
    }

    /// [`Socket::send_from`]: the message is taken out of `*msg` as the routing is called,
    /// and put back if it comes back.
    #[inline]
    fn send_from(&mut self, msg: &mut Message, dontwait: bool) -> Result<()> {
        self.check_alive()?;
        self.process_commands();
        match self.routing.send(std::mem::take(msg), &mut self.pipes) {
            Ok(()) if self.pipes.dead.is_empty() => Ok(()),
            result => self.send_retry(result, dontwait).map_err(|(e, back)| {
                if let Some(m) = back {
                    *msg = m;
                }
                e
            }),
        }
    }

    /// [`SocketCore::send_or_return`] once the context was found alive.
    ///
    /// Inlined into the caller: the common case (the routing takes the message and found no
    /// pipe dead) is a few checks around one call; anything else continues out of line in
    /// [`SocketCore::send_retry`], which keeps the order of the full loop. The message is not
    /// used after the call, so it can be built where the call takes it.
    #[inline]
    fn send_alive(&mut self, msg: Message, dontwait: bool) -> SendOrReturn {
        self.process_commands();
        match self.routing.send(msg, &mut self.pipes) {
            Ok(()) if self.pipes.dead.is_empty() => Ok(()),
            result => self.send_retry(result, dontwait),
        }
    }

    /// The rest of a send whose first attempt returned `result`: reap, then block per flags
    /// and SNDTIMEO and try again until the message is taken, refused or given back.
    #[cold]
    #[inline(never)]
    fn send_retry(&mut self, mut result: std::result::Result<(), SendError>, dontwait: bool) -> SendOrReturn {
        let mut deadline = None;
        loop {
            let reaped = self.reap();
            let msg = match result {
                Ok(()) => return Ok(()),
                Err(SendError::Subscribed) => {
                    self.process_commands();
                    return Ok(());
                }
                Err(SendError::Fail(e)) => return Err((e, None)),
                Err(SendError::Again(m)) => m,
            };
            if !reaped {
                if let Err(e) = self.wait(dontwait, self.options.sndtimeo, &mut deadline) {
                    return Err((e, Some(msg)));
                }
            }
            if let Err(e) = self.check_alive() {
                return Err((e, Some(msg)));
            }
            self.process_commands();
            result = self.routing.send(msg, &mut self.pipes);
        }
    }

    /// Receives one frame, blocking per flags and RCVTIMEO.
    ///
    /// Inlined like [`SocketCore::send_alive`]: a frame that is there and no pipe found dead
    /// returns at once; waiting and the rest are in [`SocketCore::recv_retry`].
    #[inline]
    fn recv(&mut self, dontwait: bool) -> Result<Message> {
        self.check_alive()?;
        if self.refuses_recv {
            return Err(Error::NotSupported);
        }
        self.process_commands();
        let result = self.routing.recv(&mut self.pipes);
        if let Ok(msg) = &result {
            if self.pipes.dead.is_empty() {
                self.rcvmore = msg.get_more();
                return result;
            }
        }
        self.recv_retry(result, dontwait)
    }

    /// [`SocketCore::recv`] into `*msg`: the frame goes from the routing's return straight
    /// to where the caller keeps it (the C API's `zmq_msg_t`).
    ///
    /// The old content is released where libzmq's `zmq_msg_recv` releases it (see
    /// [`Routing::recv_into`]): before the routing reads its pipes, so that a receive that
    /// finds no frame leaves an empty message, while one the socket refuses (a PUB's, a
    /// REQ's before its request), or a terminated context, leaves it as it was. The
    /// fair-queued types, which never refuse, have it released here (inlined into the
    /// caller: 7 instructions a frame fewer than in the routing). Released after the
    /// receive instead, the new frame had to be kept aside across the release: ~25
    /// instructions a frame of copying in pieces.
    #[inline]
    pub(crate) fn recv_into(&mut self, msg: &mut Message, dontwait: bool) -> Result<()> {
        self.check_alive()?;
        if self.reads_into_cleared {
            msg.clear();
        } else if self.refuses_recv {
            return Err(Error::NotSupported);
        }
        self.process_commands();
        let result = self.routing.recv_into(&mut self.pipes, msg);
        if result.is_ok() && self.pipes.dead.is_empty() {
            self.rcvmore = msg.get_more();
            return Ok(());
        }
        self.recv_into_retry(result, msg, dontwait)
    }

    /// [`SocketCore::recv_into`] when the routing had no frame or found a pipe dead: as
    /// [`SocketCore::recv_retry`], the frame (if one came) already in `msg`.
    #[cold]
    #[inline(never)]
    fn recv_into_retry(&mut self, result: Result<()>, msg: &mut Message, dontwait: bool) -> Result<()> {
        if let Err(e) = result {
            let frame = self.recv_retry(Err(e), dontwait)?;
            msg.clear();
            msg.put_cleared(frame);
            return Ok(());
        }
        self.reap();
        self.rcvmore = msg.get_more();
        Ok(())
    }

    /// The rest of a receive whose first attempt returned `result`: reap, then block per
    /// flags and RCVTIMEO and try again until a frame or an error comes.
    #[cold]
    #[inline(never)]
    fn recv_retry(&mut self, mut result: Result<Message>, dontwait: bool) -> Result<Message> {
        let mut deadline = None;
        loop {
            let reaped = self.reap();
            match result {
                Ok(msg) => {
                    self.rcvmore = msg.get_more();
                    return Ok(msg);
                }
                Err(Error::WouldBlock) if reaped => {}
                Err(Error::WouldBlock) => match self.wait_direct(dontwait, &mut deadline) {
                    Some(waited) => waited?,
                    None => self.wait(dontwait, self.options.rcvtimeo, &mut deadline)?,
                },
                Err(e) => return Err(e),
            }
            self.check_alive()?;
            self.process_commands();
            result = self.routing.recv(&mut self.pipes);
        }
    }

    #[inline]
    pub(crate) fn check_alive(&self) -> Result<()> {
        if self.ctx.is_terminated() {
            return Err(Error::ContextTerminated);
        }
        Ok(())
    }

    /// Sleeps until something changes, or fails with WouldBlock / TimedOut.
    fn wait(&mut self, dontwait: bool, timeo_ms: i32, deadline: &mut Option<Option<Instant>>) -> Result<()> {
        // Whatever this waits for (or returns EAGAIN for), the I/O thread must be reading;
        // messages that already arrived were just queued: look again.
        if self.release_direct_for(!(dontwait || timeo_ms == 0)) {
            return Ok(());
        }
        if dontwait || timeo_ms == 0 {
            return Err(Error::WouldBlock);
        }
        let at = *deadline.get_or_insert_with(|| millis(timeo_ms).map(|t| Instant::now() + t));
        self.note_wait();
        if self.options.busy_poll_us > 0 {
            // A wake seen while spinning leaves the signal raised: `wait` then returns at once.
            self.shared.signal.spin(Duration::from_micros(self.options.busy_poll_us as u64), at);
        }
        let woken = if self.interruptible {
            self.shared.signal.wait_interruptible(at)?
        } else {
            self.shared.signal.wait(at)
        };
        if woken {
            Ok(())
        } else {
            Err(Error::TimedOut)
        }
    }

    /// Waits for a message by reading its only connection directly (`engine::direct_rx`)
    /// instead of sleeping until the I/O thread delivers it. `None`: not possible now (more
    /// than one pipe, no direct source, the I/O thread holds input, busy polling or
    /// CONFLATE); the caller then waits the usual way.
    fn wait_direct(&mut self, dontwait: bool, deadline: &mut Option<Option<Instant>>) -> Option<Result<()>> {
        use crate::pipe::Waited;
        let timeo = self.options.rcvtimeo;
        if dontwait
            || timeo == 0
            || self.options.busy_poll_us > 0
            || self.options.conflate
            || self.pipes.slab.len() > 1
        {
            // No direct wait now: nor may a connection hand a flood over (rule 8).
            self.release_direct();
            return None;
        }
        // A blocking receiver: a connection (this one, or the first to come) may hand it a
        // flood (rule 8).
        if !self.shared.blocking_receiver.load(Ordering::Relaxed) {
            self.shared.blocking_receiver.store(true, Ordering::Relaxed);
        }
        let (_, rec) = self.pipes.slab.iter_mut().next()?;
        if !rec.end.rx.has_direct_source() {
            return None;
        }
        let wake_fd = self.shared.signal.own_fd().ok()?.raw();
        let at = *deadline.get_or_insert_with(|| millis(timeo).map(|t| Instant::now() + t));
        self.note_wait();
        // Cleared before looking: a wake from here on leaves it readable for the poll. A
        // read saved when no wake came since the last drain and the last wait got a message.
        let generation = self.shared.signal.generation();
        if self.direct_drained != (generation, false) {
            self.shared.signal.drain_fd();
        }
        self.direct_drained = (generation, true);
        let (seen, shared) = (self.seen_generation, &self.shared);
        let mut idle = || shared.signal.generation() == seen && !shared.pending.load(Ordering::Acquire);
        let (id, rec) = self.pipes.slab.iter_mut().next()?;
        self.direct_hold = Some(id);
        shared.signal.set_polling(true);
        let waited = rec.end.rx.wait_direct(wake_fd, at, self.interruptible, &mut idle);
        shared.signal.set_polling(false);
        let waited = waited?;
        self.direct_drained.1 = waited != Waited::Got;
        match waited {
            Waited::Got | Waited::Woken => Some(Ok(())),
            Waited::TimedOut => Some(Err(Error::TimedOut)),
            Waited::Interrupted => Some(Err(Error::Interrupted)),
            Waited::Refused => None,
        }
    }

    /// Ends a hold the last direct wait may have left on its connection's stream
    /// (`engine::direct_rx` rule 7): from now on the I/O thread reads it again. Called before
    /// anything that relies on that: a wait the usual way, DONTWAIT, `ZMQ_EVENTS`, `ZMQ_FD`,
    /// close. One branch when no direct wait ran since the last call. Returns whether
    /// messages that had already arrived were queued on the way.
    #[inline]
    pub(crate) fn release_direct(&mut self) -> bool {
        self.release_direct_for(false)
    }

    /// [`SocketCore::release_direct`]; `still_blocking`: for a blocking wait the usual way,
    /// after which the thread still receives by blocking calls (`engine::direct_rx` rule 8),
    /// so the next call that does not block must release again.
    #[inline]
    fn release_direct_for(&mut self, still_blocking: bool) -> bool {
        let flag = &self.shared.blocking_receiver;
        if !still_blocking && flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::Relaxed) {
            // A connection may be handing a flood over right now: every read side is
            // released under its lock (rule 8).
            self.direct_hold = None;
            return self
                .pipes
                .slab
                .iter_mut()
                .fold(false, |got, (_, rec)| rec.end.rx.release_direct(true) | got);
        }
        let Some(id) = self.direct_hold else { return false };
        if !still_blocking {
            self.direct_hold = None;
        }
        self.pipes.slab.get_mut(id).is_some_and(|rec| rec.end.rx.release_direct(false))
    }

    /// The thread is about to wait on this socket: its next message on each pipe may be
    /// written to the connection directly (see `engine::direct`), as it is likely a reply
    /// to or a step after what it waits for, and latency then matters more than batching.
    pub(crate) fn note_wait(&mut self) {
        for (_, rec) in self.pipes.slab.iter_mut() {
            rec.end.tx.note_wait();
        }
    }

    /// Each pipe's queued messages (outbound, inbound) and its connection's (local, remote)
    /// endpoints, after taking the pipes other threads posted (`ZMQ_EVENT_PIPES_STATS`).
    #[cfg(feature = "draft")]
    pub(crate) fn pipe_stats(&mut self) -> Vec<((u64, u64), crate::pipe::Ends)> {
        self.process_commands();
        self.pipes.slab.iter().map(|(_, p)| (p.end.queued(), p.end.peer_ends())).collect()
    }

    /// Applies what other threads posted, and lets the routing look at its pipes after a wake.
    /// The check is inlined into every send and recv; the work is out of line.
    #[inline(always)]
    fn process_commands(&mut self) {
        let generation = self.shared.signal.generation();
        if generation != self.seen_generation || self.shared.pending.load(Ordering::Acquire) {
            self.process_commands_slow(generation);
        }
    }

    #[cold]
    #[inline(never)]
    fn process_commands_slow(&mut self, generation: u64) {
        if generation != self.seen_generation {
            self.seen_generation = generation;
            self.routing.on_wake(&mut self.pipes);
        }
        if !self.shared.pending.load(Ordering::Acquire) {
            return;
        }
        for cmd in self.shared.take() {
            match cmd {
                // A connection whose endpoint was unbound or disconnected since: the I/O
                // thread left it for this socket to close (`Connection::handed_its_pipe_over`).
                SocketCmd::Attach { mut end, endpoint, sub_version: Some(_), .. }
                    if !self.endpoints.iter().any(|e| e.id == endpoint) =>
                {
                    end.close(0);
                }
                SocketCmd::Attach { mut end, peer, endpoint, sub_version } => {
                    let origin = match sub_version {
                        Some(sub_version) => PipeOrigin::Engine { sub_version },
                        None => {
                            // An inproc socket connected to our bind.
                            self.arm_disconnect_msg(&mut end);
                            PipeOrigin::Inproc
                        }
                    };
                    self.attach(end, Some(peer), Some(endpoint), origin)
                }
                SocketCmd::PeerReady { endpoint, peer, reconnected, sub_version } => {
                    let ids: Vec<usize> = self
                        .pipes
                        .slab
                        .iter()
                        .filter(|(_, p)| p.endpoint == Some(endpoint))
                        .map(|(id, _)| id)
                        .collect();
                    for id in ids {
                        self.pipes.slab[id].peer = Some(peer.clone());
                        self.pipes.slab[id].ready = true;
                        self.pipes.slab[id].sub_version = sub_version;
                        self.routing.peer_ready(id, reconnected, &mut self.pipes);
                    }
                }
                SocketCmd::PeerLost { endpoint } => {
                    for (_, p) in self.pipes.slab.iter_mut().filter(|(_, p)| p.endpoint == Some(endpoint)) {
                        p.ready = false;
                    }
                }
                SocketCmd::DialerEnded { endpoint } => self.forget_dialer(endpoint),
            }
        }
    }

    /// SUBSCRIBE/UNSUBSCRIBE, or a DISH's join/leave: applies the change, then at once what
    /// I/O threads posted meanwhile. A handshake that sent the subscription snapshot before
    /// this change posted its PeerReady or Attach before the change could be recorded
    /// (`engine::connection` holds the snapshot until then), and only applying that command
    /// sends its pipe the change (the routing's catch-up): it must not wait for the next
    /// call on this socket, which may come only once a publisher saw the subscription
    /// (libzmq's test_hwm_pubsub waits so, in its XPUB's recv, and hung).
    ///
    /// On the other types (an XPUB's manual subscriptions, or EINVAL) nothing else is done,
    /// as libzmq's `setsockopt` processes no commands: a publisher reads its subscribers'
    /// pipes when it next does, with the options of then.
    pub(crate) fn change_subscription(&mut self, topic: &[u8], on: bool) -> Result<()> {
        if !self.kind.sends_subscriptions() {
            return self.routing.subscribe(topic, on, &mut self.pipes);
        }
        self.process_commands();
        self.routing.subscribe(topic, on, &mut self.pipes)?;
        self.process_commands();
        Ok(())
    }

    /// Adopts a pipe end: this socket is now woken by it and routes through it.
    pub(crate) fn attach(
        &mut self,
        mut end: PipeEnd,
        peer: Option<PeerInfo>,
        endpoint: Option<EndpointId>,
        origin: PipeOrigin,
    ) {
        end.set_owner(self.shared.signal.clone());
        if self.options.conflate && self.kind.conflates() {
            end.set_conflate();
        }
        let connect_id = self.pending_connect_id.take();
        let (ready, inproc, sub_version, udp) = match origin {
            PipeOrigin::Inproc => (true, true, 0, false),
            PipeOrigin::Dialer => (false, false, 0, false),
            PipeOrigin::Engine { sub_version } => (true, false, sub_version, false),
            #[cfg(feature = "draft")]
            PipeOrigin::Udp => (true, true, 0, true),
        };
        let handed_over = matches!(origin, PipeOrigin::Engine { .. });
        let id = self.pipes.slab.insert(PipeRec {
            end,
            peer,
            endpoint,
            ready,
            connect_id,
            inproc,
            sub_version,
            handed_over,
            retired: None,
            udp,
        });
        let attached = self.routing.attach(id, &mut self.pipes);
        if let Some(generated) = self.routing.take_generated_id() {
            // libzmq's stream_t::identify_peer: a generated peer id also becomes the
            // socket's ROUTING_ID (its test_stream and test_stream_disconnect read it back).
            self.options.routing_id = generated.to_vec();
        }
        if !attached {
            self.pipes.slab.remove(id).close(0);
            return;
        }
        // The pipe it may have taken the place of (`Pipes::has_ended`) goes now.
        self.reap();
        if self.pipes.slab.len() > 1 {
            // Fair queuing from now on: no connection may hand a flood over (direct_rx rule
            // 8), and one handed over already is taken back (else it would wait for the tick
            // while the other pipe keeps the receives busy).
            self.release_direct();
        }
        if self.options.probe_router
            && matches!(
                self.kind,
                SocketType::DEALER | SocketType::REQ | SocketType::ROUTER | SocketType::REP
            )
        {
            // PROBE_ROUTER: an empty message tells a ROUTER peer we are here (and our id).
            // A REP probes too: libzmq's is a ROUTER underneath (`rep_t : router_t`).
            self.pipes.slab[id].end.tx.send_one(Message::new());
        }
    }

    /// SNDHWM or RCVHWM changed (`old`: the values before): the pipes already there take the
    /// new bounds, as libzmq's `update_pipe_options`; an inproc pipe keeps the peer's share.
    pub(crate) fn rebound_pipes(&mut self, old: (i32, i32)) {
        let (snd, rcv) = (self.options.sndhwm as u64, self.options.rcvhwm as u64);
        let (old_snd, old_rcv) = (old.0 as u64, old.1 as u64);
        for (_, rec) in self.pipes.slab.iter_mut() {
            if snd != old_snd {
                let bound = rebound(rec.end.tx.hwm(), old_snd, snd, rec.inproc);
                rec.end.tx.set_hwm(bound);
            }
            if rcv != old_rcv {
                let bound = rebound(rec.end.rx.hwm(), old_rcv, rcv, rec.inproc);
                rec.end.rx.set_hwm(bound);
            }
        }
    }

    /// Forgets pipes found dead. Returns whether it forgot any (routing state changed, so
    /// an operation that would block may now succeed).
    ///
    /// A pipe whose peer left with messages this socket has not read yet stays: they are
    /// still delivered, as libzmq reads a pipe to its end before it lets it go. The routing
    /// finds it dead again once it has read it empty.
    #[inline]
    fn reap(&mut self) -> bool {
        if self.pipes.dead.is_empty() {
            return false;
        }
        let mut forgot = false;
        while let Some(id) = self.pipes.dead.pop() {
            if self.pipes.slab.get_mut(id).is_some_and(|p| p.end.rx.has_message()) {
                continue;
            }
            if let Some(rec) = self.pipes.slab.try_remove(id) {
                self.routing.detach(id);
                // A retired connection's end lingers as at the unbind (libzmq's session
                // closes its pipe with the socket's linger then).
                let linger = if rec.retired.is_some() { self.options.linger } else { 0 };
                rec.close(linger);
                forgot = true;
            }
        }
        forgot
    }

    /// Closes the pipes that came from `endpoint`, unbound or disconnected. One its
    /// connection handed over ([`PipeRec::handed_over`]) that holds messages not read yet is
    /// retired instead ([`SocketCore::retire`]); the others drop what they hold, as libzmq's
    /// socket ending a pipe it made does, but for the rest of a multipart message a receive
    /// is part way through ([`Routing::reading_from`]), still delivered.
    fn close_pipes_of(&mut self, endpoint: EndpointId) {
        let ids: Vec<usize> =
            self.pipes.slab.iter().filter(|(_, p)| p.endpoint == Some(endpoint)).map(|(id, _)| id).collect();
        if ids.iter().any(|&id| self.pipes.slab[id].handed_over) {
            // A read side held by this thread goes back to its connection first, with what
            // it read ahead.
            self.release_direct();
        }
        let reading = self.routing.reading_from();
        for id in ids {
            if self.pipes.slab[id].handed_over && self.pipes.end(id).rx.has_message() {
                self.retire(id);
                continue;
            }
            if reading == Some(id) {
                // (libzmq's fair queue asserts when the rest is gone: `fq.cpp`, `!_more`.)
                let mut connection = self.detour(id, Keep::RestOfMessage);
                connection.close(self.options.linger);
                self.pipes.mark_dead(id);
                continue;
            }
            self.routing.detach(id);
            self.pipes.slab.remove(id).close(self.options.linger);
        }
    }

    /// A connection whose endpoint was unbound or disconnected, as libzmq's session ends its
    /// pipe: what the peer sent and this socket has not read is still received, nothing more
    /// is read from the connection (which stops reading the peer) or sent to it, and the
    /// connection stays open until that is read (the peer sees it end only then, as with
    /// libzmq). The messages move to a pipe of their own whose far end is already closed, so
    /// the routing reads it to its end, finds nothing can be sent to it, and marks it dead;
    /// `reap` then closes the connection's end, kept meanwhile in [`PipeRec::retired`].
    fn retire(&mut self, id: routing::PipeId) {
        let mut connection = self.detour(id, Keep::All);
        // Nothing more is read from the connection: it stops reading the peer.
        connection.rx.close();
        self.pipes.slab[id].retired = Some(Box::new(connection));
        self.pipes.mark_dead(id);
    }

    /// Gives pipe `id` a new end holding what `keep` says of its unread messages, behind
    /// which the pipe has ended (so the routing reads that to the end, then finds the pipe
    /// dead); returns the connection's end it replaced.
    fn detour(&mut self, id: routing::PipeId, keep: Keep) -> crate::pipe::PipeEnd {
        let (ours, mut theirs) = crate::pipe::pipe(0, 0);
        ours.set_owner(self.shared.signal.clone());
        let rec = &mut self.pipes.slab[id];
        while let Some(msg) = rec.end.rx.read() {
            let last = !msg.get_more();
            theirs.tx.write(msg);
            if last && keep == Keep::RestOfMessage {
                break;
            }
        }
        theirs.tx.flush();
        theirs.close(0);
        std::mem::replace(&mut rec.end, ours)
    }
}

/// What [`SocketCore::detour`] keeps of a pipe's unread messages.
#[derive(PartialEq)]
enum Keep {
    /// Every unread message.
    All,
    /// The frames up to the end of the message a receive is part way through.
    RestOfMessage,
}

impl Drop for SocketCore {
    fn drop(&mut self) {
        // As libzmq, each listener reports CLOSED before the monitor stops. The I/O thread
        // closes it later, when the monitor no longer takes events: say it here.
        for ep in &self.endpoints {
            if let endpoints::EndpointKind::Listener { fd, .. } = ep.kind {
                self.shared.monitor.emit(crate::mailbox::events::SocketEvent::Closed, fd, &ep.resolved);
            }
        }
        if let Some((name, id)) = self.shared.monitor.stop() {
            self.ctx.inproc.unbind(&name, id);
        }
        for cmd in self.shared.close() {
            if let SocketCmd::Attach { mut end, .. } = cmd {
                end.close(0);
            }
        }
        self.release_direct();
        let linger = self.options.linger;
        for rec in self.pipes.slab.drain() {
            rec.close(linger);
        }
        for ep in std::mem::take(&mut self.endpoints) {
            self.release_endpoint(ep);
        }
        // Last: Context::term may stop the I/O threads from here on, after the linger
        // handed to them above.
        self.ctx.socket_closed();
    }
}
