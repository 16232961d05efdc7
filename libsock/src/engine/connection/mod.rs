//! One connection in an I/O thread: a stream, its ZMTP session and its pipe to the socket.
//!
//! A connection made by `connect` keeps its pipe across reconnects (messages queue while the
//! peer is away); one accepted by a listener lives and dies with its stream.
//!
//! The rest lives by concern: `dial` (connecting), `input` (reading, decoding, the direct
//! read side's holds), `handshake` (its end, ZAP), `output` (writing, draining, closing) and
//! `down` (a link's end).

mod dial;
mod down;
mod handshake;
mod input;
mod output;

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use mio::Interest;

use super::direct::DirectTx;
use super::direct_rx::{DirectRx, HOLD_TICK};
use super::{Backoff, ConnConfig, Ctx, EndpointId};
use crate::engine::ws_link::WsLink;
use crate::mailbox::events::ConnEnds;
use crate::mailbox::SocketShared;
use crate::pipe::PipeEnd;
use crate::session::{Session, SessionError};
use crate::transport::socks::Socks5;
use crate::transport::{DialTarget, Stream};

/// Read at least this much per `read` call.
const READ_CHUNK: usize = 64 * 1024;
/// Reads or writes per wake-up before yielding to other connections.
const IO_ROUNDS: usize = 32;

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
    /// Bytes of small messages a batch copies before writing (`output::out_batch`).
    out_batch: output::OutBatch,
    /// The application thread's read side, once the handshake is done (see `direct_rx`).
    rx: Option<Arc<DirectRx>>,
    /// `ws://`: the WebSocket layer between the stream and the session.
    ws: Option<WsLink>,
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
    /// See [`Connection::release`].
    released: bool,
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
    /// A connection a listener accepted; `ws`: its stream starts with a WebSocket upgrade
    /// (`Some(Some(_))`: after a TLS handshake, `wss://`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn accepted(
        endpoint: EndpointId,
        stream: Stream,
        peer: String,
        listener_name: String,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
        now: Instant,
        ws: Option<Option<Arc<rustls::ServerConfig>>>,
    ) -> Connection {
        let ends = ConnEnds::accepted(listener_name, stream.local_name(), peer.clone());
        let mut session = Session::new(cfg.session.clone(), now);
        session.set_peer_address(&stream.peer_address());
        session.set_peer_fd(stream.as_fd().as_raw_fd());
        let session = Some(session);
        let rbuf = BytesMut::with_capacity(READ_CHUNK);
        let out_batch = output::out_batch(&stream, &cfg.net);
        let ws = ws.map(|tls| WsLink::server(&cfg.session, tls));
        let link = Link {
            out_batch,
            stream,
            session,
            rbuf,
            peer: peer.clone(),
            ws,
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
            released: false,
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

    /// It made its pipe at the handshake and gave the socket the other end (accepted, or
    /// dialed with IMMEDIATE), which the socket may not have taken yet (see
    /// `SocketCore::process_commands_slow`).
    pub(crate) fn handed_its_pipe_over(&self) -> bool {
        self.pipe.is_some() && (self.dial.is_none() || self.cfg.immediate)
    }

    /// The socket forgot this connection's endpoint but may still read its pipe: it ends
    /// when the socket closes that, and is never dialed again.
    pub(crate) fn release(&mut self) {
        self.released = true;
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
            // Still here, the link ends by our choice (a link that failed is gone by now).
            if let Some(ws) = &mut link.ws {
                if link.direct.as_ref().is_none_or(|d| d.settle()) {
                    ws.say_goodbye(&mut link.stream);
                }
            }
            let _ = registry.deregister(&mut link.stream);
        }
        if let Some(mut p) = self.pipe.take() {
            p.close(0);
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
}
