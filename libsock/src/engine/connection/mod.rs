//! One connection in an I/O thread: a stream, its ZMTP session and its pipe to the socket.
//!
//! A connection made by `connect` keeps its pipe across reconnects (messages queue while the
//! peer is away); one accepted by a listener lives and dies with its stream.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use mio::Interest;

use super::direct::DirectTx;
use super::direct_rx::{DirectRx, RxState, Tick, HOLD_TICK};
use super::pipe_sink::PipeSink;
use super::socks_phase;
use super::zap::Asked;
use super::{Backoff, ConnConfig, Ctx, EndpointId};
use crate::codec::null::PeerInfo;
use crate::codec::CodecError;
use crate::mailbox::events::{self as monitor, ConnEnds, SocketEvent};
use crate::mailbox::{SocketCmd, SocketShared, SubscriptionSnapshot};
use crate::message::Message;
use crate::pipe::{pipe, PipeEnd};
use crate::session::{BodyFill, Session, SessionError, SessionEvent, ZapReply, ZapRequest};
use crate::sys;
use crate::transport::socks::Socks5;
use crate::transport::{DialTarget, Stream};

/// Read at least this much per `read` call.
const READ_CHUNK: usize = 64 * 1024;
/// Read at most this much per `read` call. A frame header may announce any size; the buffer
/// grows only as bytes actually arrive, never by what a peer claims.
const READ_MAX: usize = 8 * 1024 * 1024;
/// Stop pulling messages from the pipe once this much is copied and waiting to be written.
const OUT_BATCH: usize = 256 * 1024;
/// ... or this much in all, large bodies included (written from their own memory, not
/// copied): bigger `writev`s cost the kernel less per byte. 64 KiB messages with each
/// process on one core (its threads sharing it): 256 KiB gave 37-39 k msg/s and 25 us of
/// sender CPU per message, 1 MiB 55 k and 18 us (libzmq: 66 k, 14 us).
const OUT_BATCH_SHARED: usize = 1024 * 1024;
/// Reads or writes per wake-up before yielding to other connections.
const IO_ROUNDS: usize = 32;
/// Writes smaller than this, one after another in one wake-up, mean the I/O thread is
/// chasing a sending thread that runs on the other core: each round takes the handful of
/// messages sent during the last system call and pays another for them (and the receiving
/// side one more read), the flood at up to twice the CPU (BENCHMARKS.md, "The sender's slow
/// mode"). Yielding the core between such rounds lets the batch grow and gives the core to
/// whoever waits for it. A lone reply is never delayed: it is the first write of its
/// wake-up, and the yield comes after a write, never before one.
const SMALL_WRITE: usize = 4096;
/// After the peer reset or closed the stream under our writes, how long its last bytes may
/// take to be read (they are read at once unless the application thread holds the stream,
/// which ends within a few ms): a backstop, never reached in practice.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// What the I/O thread should do with a connection after a handler ran.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Keep,
    Remove,
}

/// Why a link went down.
#[derive(Debug)]
enum Down {
    Closed,
    Io(io::Error),
    Protocol(SessionError),
    SocketGone,
}

/// A live stream and its protocol state.
struct Link {
    stream: Stream,
    /// `None` until a dialed stream finished connecting.
    session: Option<Session>,
    rbuf: BytesMut,
    peer: String,
    /// SOCKS_PROXY: the proxy handshake still to do before ZMTP starts.
    socks: Option<Socks5>,
    /// The application thread's write side, once the handshake is done (see `direct`).
    direct: Option<Arc<DirectTx>>,
    /// The kernel took less than offered: write again only after its writable edge.
    out_full: bool,
    /// The application thread's read side, once the handshake is done (see `direct_rx`).
    rx: Option<Arc<DirectRx>>,
    /// A write found the stream reset or closed by the peer: nothing is written any more,
    /// and what the peer sent before going is read (past the high water mark: the kernel's
    /// receive buffer bounds it) until the read side ends too, or this deadline passes.
    draining: Option<Instant>,
}

impl Drop for Link {
    /// Disarms the direct write side before `stream` closes (fields drop after this).
    fn drop(&mut self) {
        if let Some(d) = &self.direct {
            d.disarm();
        }
        if let Some(rx) = &self.rx {
            rx.disarm();
        }
    }
}

pub(crate) struct Connection {
    pub(crate) endpoint: EndpointId,
    pub(crate) timer: Option<Instant>,
    cfg: Arc<ConnConfig>,
    socket: Arc<SocketShared>,
    /// Who this connection is to, for logs: the dialed endpoint or the accepted peer.
    name: String,
    /// What monitor events name: the dialed endpoint or the listener's, and both ends.
    ends: ConnEnds,
    /// Where to reconnect to; `None` for accepted connections.
    dial: Option<(DialTarget, Backoff)>,
    retry_at: Option<Instant>,
    /// CONNECT_TIMEOUT: when the connect in progress is given up.
    connect_deadline: Option<Instant>,
    link: Option<Link>,
    pipe: Option<PipeEnd>,
    /// The socket let go: deliver what is queued (within linger), then end.
    closing: bool,
    linger_deadline: Option<Instant>,
    /// Inbound reading paused: the pipe to the socket is at its high water mark.
    read_paused: bool,
    /// Handshakes completed so far (reconnects count).
    handshakes: u32,
    /// The ZAP request this connection waits for.
    zap_pending: Option<u64>,
    /// The last frame taken from the pipe for the peer had MORE set: if the link drops now,
    /// the rest of that message must not open the next link (the peer lost its head).
    out_mid: bool,
    /// While the application holds the direct read side: when to look next whether it
    /// still receives directly, and its count of direct waits at the last look (`direct_rx`
    /// rule 7).
    rx_tick: Option<(Instant, u64)>,
}

impl Connection {
    pub(crate) fn accepted(
        endpoint: EndpointId,
        stream: Stream,
        peer: String,
        listener_name: String,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
        now: Instant,
    ) -> Connection {
        let ends = ConnEnds::accepted(listener_name, stream.local_name(), peer.clone());
        let mut session = Session::new(cfg.session.clone(), now);
        session.set_peer_address(&peer);
        session.set_peer_fd(stream.as_fd().as_raw_fd());
        let session = Some(session);
        let rbuf = BytesMut::with_capacity(READ_CHUNK);
        let link = Link {
            stream,
            session,
            rbuf,
            peer: peer.clone(),
            socks: None,
            direct: None,
            out_full: false,
            rx: None,
            draining: None,
        };
        let mut conn = Connection::new(endpoint, cfg, socket, peer, None, Some(link), None);
        conn.ends = ends;
        conn
    }

    pub(crate) fn dialing(
        endpoint: EndpointId,
        target: DialTarget,
        pipe: Option<PipeEnd>,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
        name: String,
    ) -> Connection {
        let base = cfg.reconnect_ivl.unwrap_or_default();
        let seed = endpoint.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ Instant::now().elapsed().as_nanos() as u64;
        let backoff = Backoff::new(base, cfg.reconnect_ivl_max, seed);
        Connection::new(endpoint, cfg, socket, name, Some((target, backoff)), None, pipe)
    }

    fn new(
        endpoint: EndpointId,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
        name: String,
        dial: Option<(DialTarget, Backoff)>,
        link: Option<Link>,
        pipe: Option<PipeEnd>,
    ) -> Connection {
        Connection {
            endpoint,
            timer: None,
            cfg,
            socket,
            ends: ConnEnds::dialed(name.clone()),
            name,
            dial,
            retry_at: None,
            connect_deadline: None,
            link,
            pipe,
            closing: false,
            linger_deadline: None,
            read_paused: false,
            handshakes: 0,
            zap_pending: None,
            out_mid: false,
            rx_tick: None,
        }
    }

    /// Registers the stream (accepted) or starts dialing (connect).
    pub(crate) fn start(&mut self, ctx: &Ctx<'_>) -> Flow {
        if let Some(p) = &mut self.pipe {
            p.set_io_owner(ctx.waker());
        }
        if let Some(link) = &mut self.link {
            if let Err(e) =
                ctx.registry.register(&mut link.stream, ctx.token, Interest::READABLE | Interest::WRITABLE)
            {
                tracing::warn!(endpoint = %self.name, "cannot watch connection: {e}");
                return Flow::Remove;
            }
            return self.pump(ctx, true, true);
        }
        self.dial_now(ctx)
    }

    pub(crate) fn on_io(&mut self, ctx: &Ctx<'_>, readable: bool, writable: bool) -> Flow {
        if let (true, Some(link)) = (writable, &mut self.link) {
            link.out_full = false;
        }
        let connecting = self.link.as_ref().is_some_and(|l| l.session.is_none());
        if connecting && (writable || readable) {
            match self.progress_connect(ctx) {
                // Bytes that came with a proxy's reply may already wait in the buffer.
                Ok(true) => return self.pump(ctx, true, true),
                Ok(false) => return Flow::Keep,
                Err(e) => return self.link_down(ctx, Down::Io(e)),
            }
        }
        self.pump(ctx, readable, writable)
    }

    /// Moves a dialed stream towards ZMTP: the connect, then any SOCKS handshake. Returns
    /// whether the session has started.
    fn progress_connect(&mut self, ctx: &Ctx<'_>) -> io::Result<bool> {
        let Some(link) = &mut self.link else { return Ok(false) };
        if !link.stream.connect_result()? {
            return Ok(false);
        }
        if let Some(socks) = &mut link.socks {
            let Some(rest) = socks_phase::drive(socks, &mut link.stream)? else { return Ok(false) };
            link.rbuf.extend_from_slice(&rest);
            link.socks = None;
        }
        tracing::debug!(endpoint = %self.name, "connected");
        let fd = link.stream.as_fd().as_raw_fd() as u32;
        self.ends.connected(link.stream.local_name());
        self.socket.monitor.emit_at(SocketEvent::Connected, fd, self.ends.addrs());
        let mut session = Session::new(self.cfg.session.clone(), ctx.now);
        session.set_peer_address(&link.peer);
        session.set_peer_fd(fd as i32);
        link.session = Some(session);
        self.connect_deadline = None;
        Ok(true)
    }

    /// A pipe has messages for us, or room again.
    pub(crate) fn on_activate(&mut self, ctx: &Ctx<'_>) -> Flow {
        let rx = self.link.as_ref().and_then(|l| l.rx.as_ref());
        let handed_back = rx.is_some_and(|rx| rx.handed_back());
        // The application holds the stream and is not waiting (it wakes us then): tick.
        if self.rx_tick.is_none() && rx.is_some_and(|rx| rx.is_held()) {
            self.rx_tick = Some((ctx.now + HOLD_TICK, u64::MAX));
        }
        self.pump(ctx, self.read_paused || handed_back, true)
    }

    /// The tick while the application holds the stream (`direct_rx` rule 7). Returns
    /// whether the hold ended here (the stream is the I/O thread's to read again).
    fn tick_hold(&mut self, now: Instant) -> bool {
        let Some((at, seen)) = self.rx_tick else { return false };
        if at > now {
            return false;
        }
        let tick = self.link.as_ref().and_then(|l| l.rx.as_ref()).map_or(Tick::Stop, |rx| rx.idle_tick(seen));
        self.rx_tick = match tick {
            Tick::Again(waits) => Some((now + HOLD_TICK, waits)),
            Tick::Stop | Tick::Rearmed => None,
        };
        tick == Tick::Rearmed
    }

    pub(crate) fn on_timer(&mut self, ctx: &Ctx<'_>) -> Flow {
        if self.linger_deadline.is_some_and(|d| d <= ctx.now) {
            tracing::debug!(endpoint = %self.name, "linger expired, dropping unsent messages");
            return Flow::Remove;
        }
        if self.retry_at.is_some_and(|d| d <= ctx.now) {
            self.retry_at = None;
            return self.dial_now(ctx);
        }
        if self.connect_deadline.is_some_and(|d| d <= ctx.now) {
            self.connect_deadline = None;
            return self.link_down(ctx, Down::Io(io::ErrorKind::TimedOut.into()));
        }
        if self.link.as_ref().and_then(|l| l.draining).is_some_and(|d| d <= ctx.now) {
            return self.link_down(ctx, Down::Io(io::ErrorKind::BrokenPipe.into()));
        }
        // Input that waited in the kernel while the application held the stream counts
        // before the heartbeat timeout is judged.
        if self.tick_hold(ctx.now) {
            if let Err(down) = self.pump_in(ctx) {
                return self.link_down(ctx, down);
            }
        }
        #[cfg(test)]
        let awaited = self.awaiting_pong();
        let result = match self.judge_heartbeat(ctx.now) {
            // This thread may have run late (a loaded host, or the peer on this very thread,
            // which answered the PING only in this round): what the kernel already holds
            // counts before the link is judged dead. libzmq judges first.
            Err(SessionError::HeartbeatTimeout | SessionError::TtlExpired) if !self.read_paused => {
                if let Err(down) = self.pump_in_as(ctx, false) {
                    return self.link_down(ctx, down);
                }
                self.judge_heartbeat(ctx.now)
            }
            result => result,
        };
        let flow = match result {
            Ok(()) => self.pump(ctx, false, true),
            Err(e) => return self.link_down(ctx, Down::Protocol(e)),
        };
        #[cfg(test)]
        if !awaited && self.awaiting_pong() {
            super::pause::reached_after_ping(&self.socket);
        }
        flow
    }

    /// Runs the session's heartbeat timers: PING when due, or the link's death sentence.
    fn judge_heartbeat(&mut self, now: Instant) -> Result<(), SessionError> {
        match self.link.as_mut().and_then(|l| l.session.as_mut().map(|s| (s, &l.rx))) {
            Some((session, rx)) => {
                // Reading paused at the high water mark (or to let other connections run):
                // what waits unread came from a live peer, and its PONGs wait behind it. The
                // link is judged by what is read, once the application catches up; libzmq
                // times it out meanwhile and drops what the kernel held.
                if self.read_paused || rx.as_ref().is_some_and(|rx| rx.take_traffic()) {
                    session.received();
                }
                session.handle_timeout(now)
            }
            None => Ok(()),
        }
    }

    #[cfg(test)]
    fn awaiting_pong(&self) -> bool {
        self.link.as_ref().and_then(|l| l.session.as_ref()).is_some_and(Session::awaiting_pong)
    }

    /// The socket unbound, disconnected or closed.
    pub(crate) fn on_close(&mut self, ctx: &Ctx<'_>) -> Flow {
        self.begin_closing(ctx.now);
        self.pump(ctx, false, true)
    }

    /// When a timer of this connection is next due.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let session = self.link.as_ref().and_then(|l| l.session.as_ref()).and_then(|s| s.next_timeout());
        let rx = self.rx_tick.map(|(at, _)| at);
        let drain = self.link.as_ref().and_then(|l| l.draining);
        [session, self.retry_at, self.linger_deadline, self.connect_deadline, rx, drain]
            .into_iter()
            .flatten()
            .min()
    }

    /// Releases the stream and the pipe; the I/O thread drops the entry next.
    pub(crate) fn shutdown(&mut self, registry: &mio::Registry) {
        if let Some(mut link) = self.link.take() {
            let _ = registry.deregister(&mut link.stream);
        }
        if let Some(mut p) = self.pipe.take() {
            p.close(0);
        }
    }

    fn dial_now(&mut self, ctx: &Ctx<'_>) -> Flow {
        if self.closing && self.nothing_to_send() {
            return Flow::Remove;
        }
        let Some((target, _)) = &self.dial else {
            return Flow::Remove;
        };
        match target.dial(&self.cfg.net) {
            Ok(mut stream) => {
                if let Err(e) =
                    ctx.registry.register(&mut stream, ctx.token, Interest::READABLE | Interest::WRITABLE)
                {
                    return self.link_down(ctx, Down::Io(e));
                }
                let peer = self.name.clone();
                let socks = target.socks();
                self.link = Some(Link {
                    stream,
                    session: None,
                    rbuf: BytesMut::new(),
                    peer,
                    socks,
                    direct: None,
                    out_full: false,
                    rx: None,
                    draining: None,
                });
                self.connect_deadline = self.cfg.connect_timeout.map(|t| ctx.now + t);
                self.socket.monitor.emit_at(SocketEvent::ConnectDelayed, 115, self.ends.addrs());
                Flow::Keep
            }
            Err(e) => self.link_down(ctx, Down::Io(e)),
        }
    }

    /// Moves bytes and messages in both directions until nothing more can be done now.
    fn pump(&mut self, ctx: &Ctx<'_>, readable: bool, writable: bool) -> Flow {
        let ready = self.link.as_ref().is_some_and(|l| l.session.is_some());
        if ready {
            let draining = self.is_draining();
            if readable || draining {
                if let Err(down) = self.pump_in(ctx) {
                    return self.link_down(ctx, down);
                }
            }
            // Always try the outbound side: a handshake that just completed, a PING due or a
            // PONG owed may have queued bytes even when the stream did not report writable.
            let _ = writable;
            if !draining {
                match self.pump_out(ctx) {
                    Ok(()) => {}
                    Err(Down::Io(e)) if self.may_drain(&e) => return self.start_draining(ctx),
                    Err(down) => return self.link_down(ctx, down),
                }
            }
        }
        self.check_socket_gone(ctx.now);
        if self.closing && self.nothing_to_send() && self.out_is_empty() {
            return Flow::Remove;
        }
        Flow::Keep
    }

    fn is_draining(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.draining.is_some())
    }

    /// Whether write error `e` leaves bytes the peer sent before it went to be read: it
    /// reset or closed the stream (a PUSH that sent its last messages and closed, met by
    /// our PING or PONG), so the read side ends too, once they are read. Any other error
    /// takes the link down at once, as before.
    fn may_drain(&self, e: &io::Error) -> bool {
        matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset)
            && self.link.as_ref().and_then(|l| l.session.as_ref()).is_some_and(|s| s.is_active())
    }

    /// The peer went away under our writes: stop writing, read what it sent before (every
    /// message it counted as sent reaches the socket), and take the link down when the read
    /// side ends. The application thread stops writing to the stream directly too.
    fn start_draining(&mut self, ctx: &Ctx<'_>) -> Flow {
        let Some(link) = &mut self.link else { return Flow::Keep };
        tracing::debug!(endpoint = %self.name, "peer went away: reading what it sent before");
        link.draining = Some(ctx.now + DRAIN_LIMIT);
        if let Some(d) = &link.direct {
            d.disarm();
        }
        self.pump(ctx, true, false)
    }

    /// Reads and decodes under the direct read lock (rule 1 of `direct_rx`), after taking
    /// over what the application thread left; skipped while that thread waits on the stream.
    /// Called on the stream's readiness (or after a hold ended).
    fn pump_in(&mut self, ctx: &Ctx<'_>) -> Result<(), Down> {
        self.pump_in_as(ctx, true)
    }

    /// [`Connection::pump_in`]; `readiness`: called because the stream reported readable,
    /// which proves the peer alive even when the application holds the stream. A timer's
    /// read proves nothing by itself: the application reads and reports what arrives.
    fn pump_in_as(&mut self, ctx: &Ctx<'_>, readiness: bool) -> Result<(), Down> {
        let Some(rx) = self.link.as_ref().and_then(|l| l.rx.clone()) else {
            let result = self.pump_in_unlocked(ctx);
            // The handshake may have armed a read side just now.
            if let Some(rx) = self.link.as_ref().and_then(|l| l.rx.clone()) {
                rx.set_io_busy(self.holds_input());
            }
            return result;
        };
        let Some(mut st) = rx.io_lock() else {
            // The application waits on the stream and reads what arrived; the readiness
            // itself proves the peer alive (its heartbeat must not wait for that thread).
            if readiness {
                rx.note_traffic();
            }
            return Ok(());
        };
        if let (Some(link), Some(p)) = (&mut self.link, &mut self.pipe) {
            let meta = link.session.as_ref().and_then(|s| s.metadata());
            for m in st.take_over(&mut link.rbuf) {
                p.tx.write_received(m, meta);
            }
        }
        let result = self.pump_in_unlocked(ctx);
        if result.is_ok() && self.at_high_water_mark() {
            self.hand_over_flood(ctx, &rx, &mut st);
        }
        st.io_busy = result.is_err() || self.holds_input();
        result
    }

    /// Reading paused because the pipe to the socket is full, between two messages, with no
    /// large body being read in place.
    fn at_high_water_mark(&mut self) -> bool {
        self.read_paused
            && self.pipe.as_mut().is_some_and(|p| !p.tx.in_message() && !p.tx.can_write())
            && self.link.as_ref().is_some_and(|l| l.session.as_ref().is_some_and(|s| !s.is_receiving_body()))
    }

    /// A flood outruns the application: hand it the stream (`direct_rx` rule 8), with what
    /// is read and not decoded, and tick as for any hold.
    fn hand_over_flood(&mut self, ctx: &Ctx<'_>, rx: &DirectRx, st: &mut RxState) {
        let Some(link) = &mut self.link else { return };
        if rx.hand_over(st, &mut link.rbuf) {
            self.read_paused = false;
            self.rx_tick = Some((ctx.now + HOLD_TICK, u64::MAX));
        }
    }

    /// The I/O thread has input the application thread must not overtake (`direct_rx` rule 2).
    fn holds_input(&self) -> bool {
        self.read_paused
            || self.link.as_ref().is_none_or(|l| {
                !l.rbuf.is_empty() || l.session.as_ref().is_some_and(|s| s.is_receiving_body())
            })
            || self.pipe.as_ref().is_some_and(|p| p.tx.in_message())
    }

    fn pump_in_unlocked(&mut self, ctx: &Ctx<'_>) -> Result<(), Down> {
        self.read_paused = false;
        for _ in 0..IO_ROUNDS {
            self.decode_buffered(ctx)?;
            if self.read_paused {
                return Ok(());
            }
            let link = self.link.as_mut().ok_or(Down::Closed)?;
            let session = link.session.as_mut().ok_or(Down::Closed)?;
            let read = match session.body_to_fill() {
                // A large frame's body: read in place (see `session::large_body`).
                Some(fill) => {
                    let read = match fill {
                        BodyFill::Slice(body) => sys::read_slice(link.stream.as_fd(), body),
                        BodyFill::Spare { bytes, max } => sys::read_spare(link.stream.as_fd(), bytes, max),
                    };
                    if let Ok(n) = read {
                        session.body_filled(n).map_err(Down::Protocol)?;
                    }
                    read
                }
                None => {
                    // Larger frames still: read several at once, so one buffer (one
                    // allocation) holds them all.
                    let wanted = session.wanted();
                    let chunk = if wanted > READ_CHUNK { wanted.saturating_mul(4) } else { READ_CHUNK };
                    let want = wanted.saturating_sub(link.rbuf.len()).max(chunk).min(READ_MAX);
                    sys::read_into(link.stream.as_fd(), &mut link.rbuf, want)
                }
            };
            match read {
                Ok(0) => return Err(Down::Closed),
                Ok(_) => session.received(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Idle now: hold no read buffer until bytes arrive again (an idle
                    // connection then costs a few hundred bytes, not a 64 KiB buffer; messages
                    // still sharing the old one keep it alive only as long as they live).
                    if link.rbuf.is_empty() {
                        link.rbuf = BytesMut::new();
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Down::Io(e)),
            }
        }
        // Still more to read: let other connections run, and come back.
        self.read_paused = true;
        ctx.reactivate();
        Ok(())
    }

    /// Decodes what is buffered into the pipe, handling handshake events on the way.
    fn decode_buffered(&mut self, ctx: &Ctx<'_>) -> Result<(), Down> {
        let draining = self.is_draining();
        loop {
            if let Some(p) = &mut self.pipe {
                // Draining, the high water mark gives way: what the kernel still holds of a
                // peer that went away is bounded by its receive buffer.
                if !p.tx.in_message() && !draining && !p.tx.can_write() && !p.tx.is_reader_gone() {
                    p.tx.flush();
                    self.read_paused = true;
                    return Ok(());
                }
            }
            let link = self.link.as_mut().ok_or(Down::Closed)?;
            let session = link.session.as_mut().ok_or(Down::Closed)?;
            if let Some(p) = &mut self.pipe {
                // A run of short frames at once; then back to the high water mark check.
                let mut sink = PipeSink { tx: &mut p.tx, meta: session.metadata() };
                let used = session.decode_short_frames(&link.rbuf, &mut sink);
                if used > 0 {
                    link.rbuf.advance(used);
                    continue;
                }
            }
            match session.decode_bare(&mut link.rbuf, ctx.now).map_err(Down::Protocol)? {
                Some(msg) => {
                    if let Some(p) = &mut self.pipe {
                        p.tx.write_received(msg, session.metadata());
                    }
                }
                None => {
                    if !self.handle_events(ctx)? {
                        break;
                    }
                }
            }
        }
        if let Some(p) = &mut self.pipe {
            p.tx.flush();
        }
        Ok(())
    }

    /// Returns whether any event was handled (then decoding continues).
    fn handle_events(&mut self, ctx: &Ctx<'_>) -> Result<bool, Down> {
        let mut any = false;
        loop {
            let link = self.link.as_mut().ok_or(Down::Closed)?;
            let Some(event) = link.session.as_mut().and_then(|s| s.poll_event()) else {
                return Ok(any);
            };
            any = true;
            match event {
                SessionEvent::Ready(peer) => self.on_handshake(ctx, peer)?,
                SessionEvent::Subscribe(topic) => self.push_subscription(1, &topic),
                SessionEvent::Cancel(topic) => self.push_subscription(0, &topic),
                SessionEvent::Zap(request) => self.ask_zap(ctx, request)?,
            }
        }
    }

    /// Asks the ZAP handler about the peer; without a handler the answer is immediate.
    fn ask_zap(&mut self, ctx: &Ctx<'_>, request: ZapRequest) -> Result<(), Down> {
        let link = self.link.as_mut().ok_or(Down::Closed)?;
        let address = crate::session::peer_ip(&link.peer);
        match self.cfg.zap.ask(request, address, ctx.io, ctx.token) {
            Asked::Now(reply) => {
                let session = link.session.as_mut().ok_or(Down::Closed)?;
                session.zap_reply(reply, ctx.now).map_err(Down::Protocol)
            }
            Asked::NoHandler => Err(Down::Protocol(SessionError::ZapUnavailable)),
            Asked::Later(id) => {
                self.zap_pending = Some(id);
                Ok(())
            }
        }
    }

    /// The ZAP handler answered: the handshake goes on (or fails), then buffered input flows.
    pub(crate) fn on_zap_reply(&mut self, ctx: &Ctx<'_>, id: u64, reply: Result<ZapReply, u32>) -> Flow {
        if self.zap_pending != Some(id) {
            return Flow::Keep;
        }
        self.zap_pending = None;
        let reply = match reply {
            Ok(reply) => reply,
            Err(code) => return self.link_down(ctx, Down::Protocol(SessionError::ZapMalformed(code))),
        };
        let result = match self.link.as_mut().and_then(|l| l.session.as_mut()) {
            Some(session) => session.zap_reply(reply, ctx.now),
            None => return Flow::Keep,
        };
        match result {
            Ok(()) => self.pump(ctx, true, true),
            Err(e) => self.link_down(ctx, Down::Protocol(e)),
        }
    }

    /// Subscriptions travel up the pipe as messages (`0x01`/`0x00` + topic), as from 3.0 peers.
    fn push_subscription(&mut self, kind: u8, topic: &[u8]) {
        if let Some(p) = &mut self.pipe {
            let mut body = Vec::with_capacity(topic.len() + 1);
            body.push(kind);
            body.extend_from_slice(topic);
            p.tx.write(Message::from(body));
        }
    }

    fn on_handshake(&mut self, ctx: &Ctx<'_>, peer: PeerInfo) -> Result<(), Down> {
        let link = self.link.as_ref().ok_or(Down::Closed)?;
        tracing::debug!(endpoint = %self.name, peer = %link.peer, peer_type = %peer.socket_type, "handshake done");
        self.socket.monitor.emit_at(SocketEvent::HandshakeSucceeded, 0, self.ends.addrs());
        if let Some((_, backoff)) = &mut self.dial {
            backoff.reset();
        }
        let reconnected = self.handshakes > 0;
        self.handshakes += 1;
        // A subscriber's snapshot stays locked until the socket has this connection's
        // command (PeerReady or Attach, posted below): a subscription change made meanwhile
        // is either in the snapshot or recorded after the command was posted, and the socket
        // then applies the command right after the change, which sends the pipe the change
        // (`SocketCore::change_subscription`). Posted after the unlock, the command could
        // wait in the mailbox for the application's next call on the socket, and the change
        // with it: libzmq's test_hwm_pubsub hung so, waiting for the subscription.
        let socket = self.socket.clone();
        let snapshot = self.cfg.subscriptions_as_commands.then(|| socket.subscriptions.lock());
        let sub_version = match &snapshot {
            Some(snapshot) => self.send_subscriptions(snapshot)?,
            None => 0,
        };
        #[cfg(test)]
        super::pause::reached_after_snapshot(&self.socket);
        if let (true, Some(hello), Some(_)) = (reconnected, &self.cfg.hello_msg, &self.pipe) {
            // HELLO_MSG after a reconnect: the hello queued on the kept pipe went to the
            // first connection; as libzmq's hello_msg_session_t, each new one starts with it,
            // ahead of the queued messages (and of direct writes, armed below).
            let session = self.link.as_mut().and_then(|l| l.session.as_mut()).ok_or(Down::Closed)?;
            session.send(&Message::from(hello.clone()));
        }
        self.arm_direct(ctx);
        let ends = self.ends.addrs();
        if let Some(p) = &mut self.pipe {
            p.set_ends(ends.local, ends.remote);
            let cmd = SocketCmd::PeerReady { endpoint: self.endpoint, peer, reconnected, sub_version };
            let _ = self.socket.post(cmd);
            if self.cfg.router_notify & 1 != 0 {
                p.tx.send_one(Message::new());
            }
            return Ok(());
        }
        let (mut ours, mut theirs) = pipe(self.cfg.rcvhwm, self.cfg.sndhwm);
        ours.set_io_owner(ctx.waker());
        ours.set_ends(ends.local, ends.remote);
        if let Some(hello) = &self.cfg.hello_msg {
            // HELLO_MSG: written on the socket's side of the new pipe, as if the socket had
            // sent it first, so the peer gets it even before the socket next runs.
            theirs.tx.send_one(Message::from(hello.clone()));
        }
        if let Some(d) = self.link.as_ref().and_then(|l| l.direct.clone()) {
            ours.rx.set_direct(Some(d));
        }
        if let Some(rx) = self.link.as_ref().and_then(|l| l.rx.clone()) {
            ours.tx.set_direct_source(Some(rx));
        }
        if self.cfg.router_notify & 1 != 0 {
            // ROUTER_NOTIFY: the ROUTER sees [id, empty] before anything the peer sends.
            ours.tx.send_one(Message::new());
        }
        self.pipe = Some(ours);
        let cmd =
            SocketCmd::Attach { end: theirs, peer, endpoint: self.endpoint, sub_version: Some(sub_version) };
        self.socket.post(cmd).map_err(|_| Down::SocketGone)
    }

    /// A subscriber's topics go out first, from the I/O thread: a new or returning publisher
    /// must not wait for the application to touch the socket. Subscription messages still
    /// queued from before are stale (the snapshot covers them) and are dropped; the socket
    /// sends the changes made after the returned snapshot version.
    fn send_subscriptions(&mut self, snapshot: &SubscriptionSnapshot) -> Result<u64, Down> {
        if let Some(p) = &mut self.pipe {
            p.rx.retain_queued(|m| subscription(m, true).is_none());
        }
        let session = self.link.as_mut().and_then(|l| l.session.as_mut()).ok_or(Down::Closed)?;
        for topic in &snapshot.topics {
            session.send_subscription(true, topic);
        }
        Ok(snapshot.version)
    }

    /// Gives the application thread a direct write side for this link, if it may have one
    /// (see `direct`: not with CURVE, not for subscribers).
    fn arm_direct(&mut self, ctx: &Ctx<'_>) {
        use crate::codec::greeting::Mechanism;
        if self.cfg.subscriptions_as_commands || self.cfg.session.security.mechanism() == Mechanism::Curve {
            return;
        }
        let Some(link) = &mut self.link else { return };
        let io_pending = link.session.as_mut().is_some_and(|s| !s.out().is_empty());
        let fd = link.stream.as_fd().as_raw_fd();
        let direct = Arc::new(DirectTx::new(fd, ctx.waker(), io_pending));
        link.direct = Some(direct.clone());
        if let Some(p) = &self.pipe {
            p.rx.set_direct(Some(direct));
        }
        if super::direct_rx::eligible(self.cfg.session.socket_type) {
            let meta = link.session.as_ref().and_then(|s| s.metadata()).cloned();
            let app: Arc<dyn crate::pipe::Wake> = self.socket.signal.clone();
            let max = self.cfg.session.max_msg_size;
            let poll = (ctx.registry.as_raw_fd(), ctx.token.0 as u64);
            let flood = (self.cfg.session.socket_type == crate::socket_type::SocketType::PULL)
                .then(|| self.socket.blocking_receiver.clone());
            let rx = Arc::new(DirectRx::new(fd, poll, ctx.waker(), app, max, meta, flood));
            link.rx = Some(rx.clone());
            self.rx_tick = None;
            if let Some(p) = &self.pipe {
                p.tx.set_direct_source(Some(rx));
            }
        }
    }

    /// Writes what the application framed directly first, then the pipe's messages and the
    /// session's commands, all under the direct write lock (rule 1 of `direct`).
    fn pump_out(&mut self, ctx: &Ctx<'_>) -> Result<(), Down> {
        let Some(direct) = self.link.as_ref().and_then(|l| l.direct.clone()) else {
            return self.pump_out_queued(ctx);
        };
        let mut tx = direct.lock();
        if !tx.flush().map_err(Down::Io)? {
            if let Some(rx) = self.link.as_ref().and_then(|l| l.rx.as_ref()) {
                rx.want_out(true);
            }
            return Ok(());
        }
        let result = self.pump_out_queued(ctx);
        tx.io_pending = !self.out_is_empty_unlocked();
        if let Some(rx) = self.link.as_ref().and_then(|l| l.rx.as_ref()) {
            // Writability is watched only while something waits to be written.
            rx.want_out(tx.io_pending);
        }
        result
    }

    fn pump_out_queued(&mut self, ctx: &Ctx<'_>) -> Result<(), Down> {
        let as_commands = self.cfg.subscriptions_as_commands;
        let mut wrote_small = false;
        for _ in 0..IO_ROUNDS {
            let link = self.link.as_mut().ok_or(Down::Closed)?;
            if link.out_full {
                // Neither pull from the pipe (a parked reader would be woken per publish)
                // nor try the stream: the writable edge brings us back with room for a batch.
                return Ok(());
            }
            let session = link.session.as_mut().ok_or(Down::Closed)?;
            if let (true, Some(p)) = (session.is_active(), &mut self.pipe) {
                if as_commands {
                    pull_subscriber_out(session, p, &mut self.out_mid);
                } else {
                    pull_out(session, p, &mut self.out_mid);
                }
            }
            if session.out().is_empty() {
                return Ok(());
            }
            let offered = session.out().next_write_len();
            match session.out().write_to(&mut link.stream) {
                Ok(0) => return Err(Down::Closed),
                // Short: the kernel's buffer is full. Wait for its writable edge instead of
                // trickling small writes into it (on a Unix socket each is its own skb).
                Ok(n) if n < offered => {
                    link.out_full = true;
                    return Ok(());
                }
                Ok(_) => {
                    // A second small write in one wake-up: chasing a sender that runs on
                    // the other core (see SMALL_WRITE). Let the batch grow first.
                    if offered < SMALL_WRITE {
                        if wrote_small {
                            std::thread::yield_now();
                        }
                        wrote_small = true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    link.out_full = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Down::Io(e)),
            }
        }
        ctx.reactivate();
        Ok(())
    }

    fn check_socket_gone(&mut self, now: Instant) {
        if !self.closing && self.pipe.as_ref().is_some_and(|p| p.rx.is_writer_closed()) {
            self.begin_closing(now);
        }
    }

    fn begin_closing(&mut self, now: Instant) {
        if self.closing {
            return;
        }
        self.closing = true;
        let linger = self.pipe.as_ref().map_or(0, |p| p.rx.linger_ms());
        self.linger_deadline =
            u64::try_from(linger).ok().map(|ms| now + std::time::Duration::from_millis(ms));
    }

    fn nothing_to_send(&mut self) -> bool {
        match &mut self.pipe {
            Some(p) => p.rx.is_terminated(),
            None => true,
        }
    }

    fn out_is_empty(&mut self) -> bool {
        let direct_empty =
            self.link.as_ref().and_then(|l| l.direct.as_ref()).is_none_or(|d| d.lock().is_empty());
        direct_empty && self.out_is_empty_unlocked()
    }

    /// The session's own buffer is written out (the direct buffer is not looked at).
    fn out_is_empty_unlocked(&mut self) -> bool {
        match self.link.as_mut().and_then(|l| l.session.as_mut()) {
            Some(s) => s.out().is_empty(),
            None => true,
        }
    }

    /// The stream failed or closed: log why, then reconnect or end.
    fn link_down(&mut self, ctx: &Ctx<'_>, why: Down) -> Flow {
        let handshaking = self.link.as_ref().and_then(|l| l.session.as_ref()).is_some_and(|s| !s.is_active());
        match &why {
            Down::Protocol(e) => tracing::warn!(endpoint = %self.name, "closing connection: {e}"),
            Down::Io(e) if self.link.as_ref().is_some_and(|l| l.session.is_none()) => {
                tracing::debug!(endpoint = %self.name, "connect failed: {e}")
            }
            Down::Io(e) => tracing::info!(endpoint = %self.name, "connection lost: {e}"),
            Down::Closed if handshaking => {
                tracing::info!(endpoint = %self.name, "peer closed the connection during the handshake")
            }
            Down::Closed => tracing::debug!(endpoint = %self.name, "peer closed the connection"),
            Down::SocketGone => return Flow::Remove,
        }
        let was_up = self.link.as_ref().and_then(|l| l.session.as_ref()).is_some_and(|s| s.is_active());
        if let (true, true, Some(p)) = (was_up, self.cfg.router_notify & 2 != 0, &mut self.pipe) {
            // ROUTER_NOTIFY: [id, empty] after the peer's last complete message.
            p.tx.discard_incomplete();
            p.tx.send_one(Message::new());
        }
        if let (true, false, Some(msg), Some(p)) =
            (was_up, self.dial.is_some(), &self.cfg.disconnect_msg, &mut self.pipe)
        {
            // DISCONNECT_MSG: as libzmq's session, only for accepted peers that finished the
            // handshake; the ROUTER receives it as [id, msg] after the peer's last message (a SERVER
            // with the peer's routing id on it).
            p.tx.discard_incomplete();
            p.tx.send_one(Message::from(msg.clone()));
        }
        let refused = matches!(&why, Down::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused);
        // A peer that answered with ERROR (ZAP refused us) is not asked again: libzmq 4.3
        // ends the session on that protocol error instead of reconnecting.
        let refused_by_peer = matches!(&why, Down::Protocol(SessionError::PeerError(_)));
        let stop = (refused && self.cfg.reconnect_stop & 1 != 0)
            || (handshaking && self.cfg.reconnect_stop & 2 != 0)
            || refused_by_peer;
        self.zap_pending = None;
        if let Some(mut link) = self.link.take() {
            if let (Down::Protocol(SessionError::AuthFailed(_)), Some(session)) =
                (&why, link.session.as_mut())
            {
                // Best effort: tell the refused peer why (the queued ERROR) before closing.
                let _ = session.out().write_to(&mut link.stream);
            }
            let _ = ctx.registry.deregister(&mut link.stream);
            let fd = link.stream.as_fd().as_raw_fd() as u32;
            if link.session.is_some() {
                self.report_down(&why, handshaking, fd);
            } else {
                // A connect attempt that never completed (refused, timed out): libzmq's
                // connecter closes its socket and reports CLOSED, before CONNECT_RETRIED.
                self.socket.monitor.emit_at(SocketEvent::Closed, fd, self.ends.addrs());
            }
            self.ends.unlinked();
        }
        // After the link (and its direct write side) is gone: nothing can be sent behind this.
        self.drop_partial_out();
        self.connect_deadline = None;
        if stop {
            tracing::info!(endpoint = %self.name, "not reconnecting (RECONNECT_STOP or ERROR from the peer)");
        }
        let reconnect =
            !stop && self.cfg.reconnect_ivl.is_some() && !(self.closing && self.nothing_to_send());
        let Some((_, backoff)) = self.dial.as_mut().filter(|_| reconnect) else {
            return Flow::Remove;
        };
        let delay = backoff.next_delay();
        if self.cfg.immediate {
            // With IMMEDIATE the pipe exists only while a peer is connected.
            if let Some(mut p) = self.pipe.take() {
                p.close(0);
            }
        } else if let Some(p) = &mut self.pipe {
            p.tx.discard_incomplete();
            let _ = self.socket.post(SocketCmd::PeerLost { endpoint: self.endpoint });
        }
        self.retry_at = Some(ctx.now + delay);
        self.socket.monitor.emit_at(SocketEvent::ConnectRetried, delay.as_millis() as u32, self.ends.addrs());
        self.read_paused = false;
        Flow::Keep
    }
}

impl Connection {
    /// The link went down part way through sending a multipart message: drop the rest of
    /// it from the pipe (it is all there: pipes publish whole messages), as libzmq does.
    fn drop_partial_out(&mut self) {
        if !std::mem::take(&mut self.out_mid) {
            return;
        }
        if let Some(p) = &mut self.pipe {
            while let Some(m) = p.rx.read() {
                if !m.get_more() {
                    break;
                }
            }
        }
    }

    /// Tells the monitor how a connected stream ended.
    fn report_down(&self, why: &Down, handshaking: bool, fd: u32) {
        let m = &self.socket.monitor;
        if handshaking {
            match why {
                Down::Protocol(SessionError::AuthFailed(status) | SessionError::PeerError(status))
                    if status_code(status).is_some() =>
                {
                    let code = status_code(status).unwrap_or(0);
                    m.emit_at(SocketEvent::HandshakeFailedAuth, code, self.ends.addrs())
                }
                Down::Protocol(SessionError::MechanismMismatch { .. }) => m.emit_at(
                    SocketEvent::HandshakeFailedProtocol,
                    monitor::PROTOCOL_ERROR_MECHANISM_MISMATCH,
                    self.ends.addrs(),
                ),
                Down::Protocol(SessionError::ZapUnavailable) => {
                    m.emit_at(SocketEvent::HandshakeFailedNoDetail, libc::EFAULT as u32, self.ends.addrs())
                }
                Down::Protocol(SessionError::HandshakeTimeout(_)) => {
                    m.emit_at(SocketEvent::HandshakeFailedNoDetail, 0, self.ends.addrs())
                }
                // As libzmq: the errno of the failed read or write, EPIPE when the peer closed.
                Down::Closed => {
                    m.emit_at(SocketEvent::HandshakeFailedNoDetail, libc::EPIPE as u32, self.ends.addrs())
                }
                Down::Io(e) => {
                    let errno = e.raw_os_error().unwrap_or(0) as u32;
                    m.emit_at(SocketEvent::HandshakeFailedNoDetail, errno, self.ends.addrs())
                }
                Down::Protocol(e) => {
                    m.emit_at(SocketEvent::HandshakeFailedProtocol, protocol_code(e), self.ends.addrs())
                }
                Down::SocketGone => {}
            }
        }
        m.emit_at(SocketEvent::Disconnected, fd, self.ends.addrs());
    }
}

/// A ZAP status code (`300`, `400`, `500`) in an ERROR reason or a refusal.
fn status_code(reason: &str) -> Option<u32> {
    let code: u32 = reason.parse().ok()?;
    (300..600).contains(&code).then_some(code)
}

/// libzmq's `ZMQ_PROTOCOL_ERROR_*` code for a handshake failure.
fn protocol_code(e: &SessionError) -> u32 {
    match e {
        SessionError::ZapMalformed(code) => *code,
        SessionError::UnexpectedCommand(_) => monitor::PROTOCOL_ERROR_UNEXPECTED_COMMAND,
        SessionError::DataBeforeReady => monitor::PROTOCOL_ERROR_INVALID_SEQUENCE,
        SessionError::Protocol(CodecError::MalformedCommand) => monitor::PROTOCOL_ERROR_MALFORMED_COMMAND,
        SessionError::Protocol(CodecError::Cryptographic | CodecError::WeakKey) => {
            monitor::PROTOCOL_ERROR_CRYPTOGRAPHIC
        }
        SessionError::Protocol(
            CodecError::MalformedProperty
            | CodecError::MissingSocketType
            | CodecError::UnknownSocketType
            | CodecError::IncompatibleSocketType { .. }
            | CodecError::BadRoutingId,
        ) => monitor::PROTOCOL_ERROR_INVALID_METADATA,
        _ => monitor::PROTOCOL_ERROR_UNSPECIFIED,
    }
}

/// Frames messages from the pipe into the session's outbound buffer until it holds a batch
/// or the pipe is empty: the per-message loop of every sender but a subscriber. `mid` ends as
/// the MORE flag of the last frame taken (unchanged when none was).
#[inline]
fn pull_out(session: &mut Session, p: &mut PipeEnd, mid: &mut bool) {
    let mut last_more = *mid;
    while session.out().copied_len() < OUT_BATCH && session.out().len() < OUT_BATCH_SHARED {
        let Some(msg) = p.rx.read() else { break };
        last_more = msg.get_more();
        session.send(&msg);
        msg.release();
    }
    *mid = last_more;
}

/// [`pull_out`] for a (X)SUB whose peer takes subscriptions as commands (ZMTP 3.1).
#[cold]
#[inline(never)]
fn pull_subscriber_out(session: &mut Session, p: &mut PipeEnd, mid: &mut bool) {
    while session.out().len() < OUT_BATCH {
        let Some(msg) = p.rx.read() else { break };
        *mid = msg.get_more();
        match subscription(&msg, true) {
            Some(subscribe) => session.send_subscription(subscribe, &msg[1..]),
            None => session.send(&msg),
        }
    }
}

/// Whether `msg` is a subscription message to send as a command: `Some(true)` subscribe,
/// `Some(false)` cancel.
#[inline]
fn subscription(msg: &Message, as_commands: bool) -> Option<bool> {
    if !as_commands || msg.get_more() {
        return None;
    }
    match msg.first() {
        Some(1) => Some(true),
        Some(0) => Some(false),
        _ => None,
    }
}
