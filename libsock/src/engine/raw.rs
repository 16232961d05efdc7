//! A raw connection for STREAM sockets: bytes in, bytes out, no ZMTP.
//!
//! Kept apart from [`super::connection`] (the ZMTP driver) on purpose: nothing here frames,
//! handshakes or heartbeats. Each read becomes one message in the pipe to the socket; each
//! message from the socket is written as is, and an empty one closes the connection once
//! everything before it is written. With STREAM_NOTIFY an empty message goes up the pipe when
//! the connection opens and when the peer goes away, so the application sees `[id, empty]`
//! in order with the data.
//!
//! Every connection has its own pipe (a reconnect is a new peer with a new routing id). The
//! first connection of a connect without IMMEDIATE uses the pipe the socket made at connect
//! time, so what the application sent before the connection came up is written first.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use mio::Interest;

use super::connection::Flow;
use super::{Backoff, ConnConfig, Ctx, EndpointId};
use crate::codec::null::PeerInfo;
use crate::mailbox::events::{ConnEnds, SocketEvent};
use crate::mailbox::{SocketCmd, SocketShared};
use crate::message::{Message, Metadata};
use crate::pipe::{pipe, PipeEnd};
use crate::socket_type::SocketType;
use crate::sys;
use crate::transport::socks::Socks5;
use crate::transport::{DialTarget, Stream};

/// Bytes asked for per `read` call.
const READ_CHUNK: usize = 64 * 1024;
/// Stop taking messages from the pipe once this much waits to be written.
const OUT_BATCH: usize = 256 * 1024;
/// Reads or writes per wake-up before yielding to other connections.
const IO_ROUNDS: usize = 16;

pub(crate) struct RawConnection {
    pub(crate) endpoint: EndpointId,
    pub(crate) timer: Option<Instant>,
    cfg: Arc<ConnConfig>,
    socket: Arc<SocketShared>,
    /// The dialed endpoint or the accepted peer, for logs.
    name: String,
    /// What monitor events name: the dialed endpoint or the listener's, and both ends.
    ends: ConnEnds,
    dial: Option<(DialTarget, Backoff)>,
    retry_at: Option<Instant>,
    /// CONNECT_TIMEOUT: when the connect (or proxy handshake) in progress is given up.
    connect_deadline: Option<Instant>,
    /// SOCKS_PROXY: the proxy handshake still to do.
    socks: Option<Socks5>,
    stream: Option<Stream>,
    /// The stream is connected and has its pipe.
    up: bool,
    /// The pipe to the socket; before the first connection is up, the one the socket made at
    /// connect time (if any), kept across failed attempts.
    pipe: Option<PipeEnd>,
    /// `Peer-Address` (and the descriptor for ZMQ_SRCFD) of the connection that is up, on
    /// every message it hands the socket, as libzmq's raw engine does.
    meta: Option<Arc<Metadata>>,
    rbuf: BytesMut,
    out: BytesMut,
    /// The application sent `[id, empty]`: close once `out` is written.
    close_after_flush: bool,
    /// The socket let go (close, unbind, disconnect): flush within linger, then end.
    closing: bool,
    linger_deadline: Option<Instant>,
    read_paused: bool,
}

impl RawConnection {
    pub(crate) fn accepted(
        endpoint: EndpointId,
        stream: Stream,
        peer: String,
        listener_name: String,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
    ) -> RawConnection {
        let ends = ConnEnds::accepted(listener_name, stream.local_name(), peer.clone());
        let mut conn = RawConnection::new(endpoint, cfg, socket, peer, None, None);
        conn.ends = ends;
        conn.stream = Some(stream);
        conn
    }

    pub(crate) fn dialing(
        endpoint: EndpointId,
        target: DialTarget,
        pipe: Option<PipeEnd>,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
        name: String,
    ) -> RawConnection {
        let base = cfg.reconnect_ivl.unwrap_or_default();
        let backoff = Backoff::new(base, cfg.reconnect_ivl_max, endpoint.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        RawConnection::new(endpoint, cfg, socket, name, Some((target, backoff)), pipe)
    }

    fn new(
        endpoint: EndpointId,
        cfg: Arc<ConnConfig>,
        socket: Arc<SocketShared>,
        name: String,
        dial: Option<(DialTarget, Backoff)>,
        pipe: Option<PipeEnd>,
    ) -> RawConnection {
        RawConnection {
            endpoint,
            timer: None,
            cfg,
            socket,
            ends: ConnEnds::dialed(name.clone()),
            name,
            dial,
            retry_at: None,
            connect_deadline: None,
            socks: None,
            stream: None,
            up: false,
            pipe,
            meta: None,
            rbuf: BytesMut::new(),
            out: BytesMut::new(),
            close_after_flush: false,
            closing: false,
            linger_deadline: None,
            read_paused: false,
        }
    }

    /// Registers the accepted stream, or starts dialing.
    pub(crate) fn start(&mut self, ctx: &Ctx<'_>) -> Flow {
        if let Some(p) = &mut self.pipe {
            p.set_io_owner(ctx.waker());
        }
        let Some(stream) = &mut self.stream else { return self.dial_now(ctx) };
        if let Err(e) = ctx.registry.register(stream, ctx.token, Interest::READABLE | Interest::WRITABLE) {
            tracing::warn!(endpoint = %self.name, "cannot watch connection: {e}");
            return Flow::Remove;
        }
        match self.establish(ctx) {
            Flow::Keep => self.pump(ctx, true),
            remove => remove,
        }
    }

    pub(crate) fn on_io(&mut self, ctx: &Ctx<'_>, readable: bool, writable: bool) -> Flow {
        if !self.up && self.stream.is_some() && (writable || readable) {
            match self.progress_connect() {
                Ok(Some(rest)) => {
                    if self.establish(ctx) == Flow::Remove {
                        return Flow::Remove;
                    }
                    // Bytes from the target that came with the proxy's reply.
                    if let (false, Some(p)) = (rest.is_empty(), &mut self.pipe) {
                        push(p, &self.meta, Message::from(rest));
                    }
                    return self.pump(ctx, true);
                }
                Ok(None) => return Flow::Keep,
                Err(e) => return self.link_down(ctx, Some(e)),
            }
        }
        self.pump(ctx, readable)
    }

    /// The connect, then any SOCKS handshake. `Some(rest)` once the stream carries the peer's
    /// bytes (`rest`: any that came with a proxy's reply).
    fn progress_connect(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(stream) = &mut self.stream else { return Ok(None) };
        if !stream.connect_result()? {
            return Ok(None);
        }
        let rest = match &mut self.socks {
            Some(socks) => match super::socks_phase::drive(socks, stream)? {
                Some(rest) => rest,
                None => return Ok(None),
            },
            None => Vec::new(),
        };
        self.socks = None;
        self.connect_deadline = None;
        let fd = stream.as_fd().as_raw_fd() as u32;
        self.ends.connected(stream.local_name());
        self.socket.monitor.emit_at(SocketEvent::Connected, fd, self.ends.addrs());
        Ok(Some(rest))
    }

    /// A pipe has messages for us, or room again.
    pub(crate) fn on_activate(&mut self, ctx: &Ctx<'_>) -> Flow {
        self.pump(ctx, self.read_paused)
    }

    pub(crate) fn on_timer(&mut self, ctx: &Ctx<'_>) -> Flow {
        if self.linger_deadline.is_some_and(|d| d <= ctx.now) {
            return Flow::Remove;
        }
        if self.retry_at.is_some_and(|d| d <= ctx.now) {
            self.retry_at = None;
            return self.dial_now(ctx);
        }
        if self.connect_deadline.is_some_and(|d| d <= ctx.now) {
            self.connect_deadline = None;
            return self.link_down(ctx, Some(io::ErrorKind::TimedOut.into()));
        }
        Flow::Keep
    }

    /// The socket unbound, disconnected or closed.
    pub(crate) fn on_close(&mut self, ctx: &Ctx<'_>) -> Flow {
        self.begin_closing(ctx.now);
        self.pump(ctx, false)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [self.retry_at, self.linger_deadline, self.connect_deadline].into_iter().flatten().min()
    }

    pub(crate) fn shutdown(&mut self, registry: &mio::Registry) {
        if let Some(mut s) = self.stream.take() {
            let _ = registry.deregister(&mut s);
        }
        if let Some(mut p) = self.pipe.take() {
            p.close(0);
        }
    }

    fn dial_now(&mut self, ctx: &Ctx<'_>) -> Flow {
        if self.closing {
            return Flow::Remove;
        }
        let Some((target, _)) = &self.dial else { return Flow::Remove };
        match target.dial(&self.cfg.net) {
            Ok(mut stream) => {
                let interest = Interest::READABLE | Interest::WRITABLE;
                if let Err(e) = ctx.registry.register(&mut stream, ctx.token, interest) {
                    return self.link_down(ctx, Some(e));
                }
                self.stream = Some(stream);
                self.socks = target.socks();
                self.connect_deadline = self.cfg.connect_timeout.map(|t| ctx.now + t);
                if !target.connects_at_once() {
                    self.socket.monitor.emit_at(SocketEvent::ConnectDelayed, 115, self.ends.addrs());
                }
                Flow::Keep
            }
            Err(failure) => {
                // As the ZMTP connections (`connection/dial.rs`).
                if let Some(fd) = failure.closed_fd {
                    self.socket.monitor.emit_at(SocketEvent::Closed, fd, self.ends.addrs());
                }
                self.link_down(ctx, Some(failure.error))
            }
        }
    }

    /// The stream is connected: give the socket a pipe for this peer.
    fn establish(&mut self, ctx: &Ctx<'_>) -> Flow {
        tracing::debug!(endpoint = %self.name, "raw connection up");
        self.up = true;
        if let Some((_, backoff)) = &mut self.dial {
            backoff.reset();
        }
        self.socket.monitor.emit_at(SocketEvent::HandshakeSucceeded, 0, self.ends.addrs());
        let mut meta = Metadata::default();
        if let Some(s) = &self.stream {
            meta.insert("Peer-Address", s.peer_address().as_bytes());
            meta.set_source_fd(s.as_fd().as_raw_fd());
        }
        self.meta = Some(Arc::new(meta));
        let ends = self.ends.addrs();
        if let Some(p) = &mut self.pipe {
            p.set_ends(ends.local, ends.remote);
            // The socket made this pipe at connect time and already routes through it.
            if self.cfg.raw_notify {
                push(p, &self.meta, Message::new());
            }
            return Flow::Keep;
        }
        let (mut ours, theirs) = pipe(self.cfg.rcvhwm, self.cfg.sndhwm);
        ours.set_io_owner(ctx.waker());
        ours.set_ends(ends.local, ends.remote);
        if self.cfg.raw_notify {
            push(&mut ours, &self.meta, Message::new());
        }
        self.pipe = Some(ours);
        let peer = PeerInfo { socket_type: SocketType::STREAM, identity: self.cfg.connect_id.clone() };
        let cmd = SocketCmd::Attach { end: theirs, peer, endpoint: self.endpoint, sub_version: None };
        match self.socket.post(cmd) {
            Ok(()) => Flow::Keep,
            Err(_) => Flow::Remove,
        }
    }

    fn pump(&mut self, ctx: &Ctx<'_>, readable: bool) -> Flow {
        if self.up {
            let result = match readable && !self.closing {
                true => self.pump_in(ctx),
                false => Ok(()),
            };
            if let Err(e) = result.and_then(|()| self.pump_out(ctx)) {
                if e.as_ref().is_some_and(peer_went_away) {
                    self.drain_input();
                }
                return self.link_down(ctx, e);
            }
            if self.close_after_flush && self.out.is_empty() {
                tracing::debug!(endpoint = %self.name, "closed by the application");
                return self.end_link(ctx, false, true);
            }
            if self.pipe.as_ref().is_some_and(|p| p.tx.is_reader_gone()) {
                return Flow::Remove;
            }
        }
        if !self.closing && self.pipe.as_ref().is_some_and(|p| p.rx.is_writer_closed()) {
            self.begin_closing(ctx.now);
        }
        if self.closing && self.out.is_empty() && self.pipe.as_mut().is_none_or(|p| p.rx.is_terminated()) {
            return Flow::Remove;
        }
        Flow::Keep
    }

    /// Reads what the peer sent into the pipe, one message per read, while the pipe has room.
    /// `Err(None)` means the peer closed.
    fn pump_in(&mut self, ctx: &Ctx<'_>) -> Result<(), Option<io::Error>> {
        self.read_paused = false;
        let (Some(stream), Some(p)) = (&self.stream, &mut self.pipe) else { return Ok(()) };
        for _ in 0..IO_ROUNDS {
            if !p.tx.can_write() {
                // At RCVHWM: the pipe wakes us when the socket makes room.
                self.read_paused = true;
                return Ok(());
            }
            match sys::read_into(stream.as_fd(), &mut self.rbuf, READ_CHUNK) {
                Ok(0) => return Err(None),
                Ok(_) => push(p, &self.meta, Message::from_bytes(self.rbuf.split().freeze())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Some(e)),
            }
        }
        self.read_paused = true;
        ctx.reactivate();
        Ok(())
    }

    /// The peer reset or closed the stream under our write: what it sent before is all in the
    /// kernel. Read it into the pipe past RCVHWM (the receive buffer bounds it), so the
    /// application gets every byte that reached this host before the disconnect.
    fn drain_input(&mut self) {
        let (Some(stream), Some(p)) = (&self.stream, &mut self.pipe) else { return };
        loop {
            match sys::read_into(stream.as_fd(), &mut self.rbuf, READ_CHUNK) {
                Ok(0) => return,
                Ok(_) => push(p, &self.meta, Message::from_bytes(self.rbuf.split().freeze())),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Writes what the socket queued for the peer.
    fn pump_out(&mut self, ctx: &Ctx<'_>) -> Result<(), Option<io::Error>> {
        let Some(stream) = &mut self.stream else { return Ok(()) };
        for _ in 0..IO_ROUNDS {
            if let Some(p) = &mut self.pipe {
                while !self.close_after_flush && self.out.len() < OUT_BATCH {
                    let Some(msg) = p.rx.read() else { break };
                    self.close_after_flush = msg.is_empty();
                    self.out.extend_from_slice(&msg);
                }
            }
            if self.out.is_empty() {
                return Ok(());
            }
            match stream.write(&self.out) {
                Ok(0) => return Err(None),
                Ok(n) => self.out.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Some(e)),
            }
        }
        ctx.reactivate();
        Ok(())
    }

    fn begin_closing(&mut self, now: Instant) {
        if self.closing {
            return;
        }
        self.closing = true;
        let linger = self.pipe.as_ref().map_or(0, |p| p.rx.linger_ms());
        self.linger_deadline = u64::try_from(linger).ok().map(|ms| now + Duration::from_millis(ms));
    }

    /// The stream failed or the peer closed: tell the application, then reconnect or end.
    fn link_down(&mut self, ctx: &Ctx<'_>, err: Option<io::Error>) -> Flow {
        match (&err, self.up) {
            (Some(e), false) => tracing::debug!(endpoint = %self.name, "connect failed: {e}"),
            (Some(e), true) => tracing::info!(endpoint = %self.name, "connection lost: {e}"),
            (None, _) => tracing::debug!(endpoint = %self.name, "peer closed the connection"),
        }
        let refused = err.as_ref().is_some_and(|e| e.kind() == io::ErrorKind::ConnectionRefused);
        self.end_link(ctx, true, refused && self.cfg.reconnect_stop & 1 != 0)
    }

    /// Ends the stream. `notify`: the peer went (not the application); `stop`: RECONNECT_STOP.
    fn end_link(&mut self, ctx: &Ctx<'_>, notify: bool, stop: bool) -> Flow {
        self.connect_deadline = None;
        self.socks = None;
        // As the ZMTP connections (`connection/down.rs`): a dialer that gives up where
        // libzmq's session ends the endpoint has the socket forget it, before the monitor
        // hears of it.
        let ends = stop || (self.up && self.cfg.reconnect_ivl.is_none());
        if notify && !self.closing && self.dial.is_some() && ends {
            let _ = self.socket.post(SocketCmd::DialerEnded { endpoint: self.endpoint });
        }
        if let Some(mut stream) = self.stream.take() {
            let _ = ctx.registry.deregister(&mut stream);
            let fd = stream.as_fd().as_raw_fd() as u32;
            if self.up {
                self.socket.monitor.emit_at(SocketEvent::Disconnected, fd, self.ends.addrs());
            } else {
                // A connect attempt that never completed: CLOSED, as libzmq's connecter.
                self.socket.monitor.emit_at(SocketEvent::Closed, fd, self.ends.addrs());
            }
            self.ends.unlinked();
        }
        // A connect that never came up keeps the socket's pipe for the next attempt.
        if let Some(mut p) = self.pipe.take_if(|_| self.up) {
            // Stop reading from the socket first: once the application sees the notification
            // below, a send to this peer fails with HostUnreachable at once (the routing checks
            // for a gone reader) instead of being accepted and dropped.
            p.rx.close();
            if notify && self.cfg.raw_notify {
                push(&mut p, &self.meta, Message::new());
            }
            p.close(0);
        }
        self.up = false;
        self.out.clear();
        self.rbuf.clear();
        self.close_after_flush = false;
        // The application closing a connection ends it for good, as in libzmq.
        let reconnect = notify && !self.closing && self.cfg.reconnect_ivl.is_some() && !stop;
        let Some((_, backoff)) = self.dial.as_mut().filter(|_| reconnect) else {
            return Flow::Remove;
        };
        let delay = backoff.next_delay();
        self.retry_at = Some(ctx.now + delay);
        self.socket.monitor.emit_at(SocketEvent::ConnectRetried, delay.as_millis() as u32, self.ends.addrs());
        Flow::Keep
    }
}

/// Hands the socket one message of this connection, with its metadata.
/// A write error that leaves what the peer sent before it readable: a reset or a closed peer.
fn peer_went_away(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset)
}

fn push(p: &mut PipeEnd, meta: &Option<Arc<Metadata>>, msg: Message) {
    p.tx.write_received(msg, meta.as_ref());
    p.tx.flush();
}
