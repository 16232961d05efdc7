//! A connection's inbound side: reading the stream, decoding into the pipe, and taking turns
//! with the application thread's direct read side (`direct_rx`: its holds and hand-overs).
//! Apart because reading has its own loop and its own lock rules.

use std::io;
use std::os::fd::AsFd;
use std::time::Instant;

use bytes::{Buf, BytesMut};

use super::{Connection, Down, IO_ROUNDS, READ_CHUNK};
use crate::codec::CodecError;
use crate::engine::direct_rx::{DirectRx, RxState, Tick, HOLD_TICK};
use crate::engine::pipe_sink::PipeSink;
use crate::engine::spare;
use crate::engine::ws_link::WsError;
use crate::engine::Ctx;
use crate::message::Message;
use crate::session::{BodyFill, SessionError, SessionEvent};
use crate::sys;

/// Read at most this much per `read` call. A frame header may announce any size; the buffer
/// grows only as bytes actually arrive, never by what a peer claims.
const READ_MAX: usize = 8 * 1024 * 1024;

impl Connection {
    /// The tick while the application holds the stream (`direct_rx` rule 7). Returns
    /// whether the hold ended here (the stream is the I/O thread's to read again).
    pub(super) fn tick_hold(&mut self, now: Instant) -> bool {
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

    /// Reads and decodes under the direct read lock (rule 1 of `direct_rx`), after taking
    /// over what the application thread left; skipped while that thread waits on the stream.
    /// Called on the stream's readiness (or after a hold ended).
    pub(super) fn pump_in(&mut self, ctx: &Ctx<'_>) -> Result<(), Down> {
        self.pump_in_as(ctx, true)
    }

    /// [`Connection::pump_in`]; `readiness`: called because the stream reported readable,
    /// which proves the peer alive even when the application holds the stream. A timer's
    /// read proves nothing by itself: the application reads and reports what arrives.
    pub(super) fn pump_in_as(&mut self, ctx: &Ctx<'_>, readiness: bool) -> Result<(), Down> {
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
        let mut taken = Ok(());
        if let (Some(link), Some(p)) = (&mut self.link, &mut self.pipe) {
            let staged = st.take_over(&mut link.rbuf);
            if let Some(session) = &mut link.session {
                // A REQ's session checks the rest of the reply the application began.
                session.resume_reply(&staged);
            }
            let meta = link.session.as_ref().and_then(|s| s.metadata());
            for m in staged {
                p.tx.write_received(m, meta);
            }
            if let Some(ws) = &mut link.ws {
                // WebSocket bytes it did not take come after the ZMTP bytes it left.
                taken = ws
                    .take_over(st.take_ws_raw(), &mut link.rbuf)
                    .map_err(|f| Down::Protocol(SessionError::Protocol(CodecError::WebSocket(f))));
            }
        }
        let result = taken.and_then(|()| self.pump_in_unlocked(ctx));
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
        // ws://: only between the link decoder's messages; the WebSocket bytes it has not
        // decoded yet (a partial frame) go along, after the ZMTP bytes it has.
        if link.ws.as_ref().is_some_and(|ws| !ws.can_hand_over()) {
            return;
        }
        if rx.hand_over(st, &mut link.rbuf) {
            if let Some(ws) = &mut link.ws {
                st.give_ws_raw(ws.take_raw());
            }
            self.read_paused = false;
            self.rx_tick = Some((ctx.now + HOLD_TICK, u64::MAX));
        }
    }

    /// The I/O thread has input the application thread must not overtake (`direct_rx` rule 2).
    fn holds_input(&self) -> bool {
        self.read_paused
            || self.link.as_ref().is_none_or(|l| {
                !l.rbuf.is_empty()
                    || l.session.as_ref().is_some_and(|s| s.is_receiving_body())
                    || l.ws.as_ref().is_some_and(|ws| ws.holds_input())
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
            // A large frame's body: read in place (see `session::large_body`); over ws://
            // when the link's decoder passes it through (`codec::ws::through`).
            let in_place = session.body_to_fill().and_then(|fill| match &mut link.ws {
                Some(ws) => ws.read_body(&mut link.stream, fill),
                None => Some(match fill {
                    BodyFill::Slice(body) => sys::read_slice(link.stream.as_fd(), body),
                    BodyFill::Spare { bytes, max } => sys::read_spare(link.stream.as_fd(), bytes, max),
                }),
            });
            let read = match in_place {
                Some(read) => {
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
                    match &mut link.ws {
                        // Whole frames, or a passed-through body's bytes (over TLS, or behind
                        // bytes read ahead): the session moves those into its body.
                        Some(ws) => match ws.read(&mut link.stream, &mut link.rbuf, want) {
                            Ok(0) => {
                                // A close frame's echo (best effort), then the end.
                                if link.direct.as_ref().is_none_or(|d| d.settle()) {
                                    ws.hang_up(&mut link.stream);
                                }
                                return Err(Down::Closed);
                            }
                            Ok(n) => Ok(n),
                            Err(WsError::Io(e)) => Err(e),
                            Err(WsError::Fault(f)) => {
                                if link.direct.as_ref().is_none_or(|d| d.settle()) {
                                    let _ = ws.flush(&mut link.stream);
                                }
                                let e = SessionError::Protocol(CodecError::WebSocket(f));
                                return Err(Down::Protocol(e));
                            }
                        },
                        None => sys::read_into(link.stream.as_fd(), &mut link.rbuf, want),
                    }
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
                        match link.ws {
                            // Its buffers are large and refilled soon in a flood (`spare`).
                            Some(_) => spare::give_back(&mut link.rbuf),
                            None => link.rbuf = BytesMut::new(),
                        }
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
                // peer that went away is bounded by its receive buffer. Once the socket reads
                // this pipe no more (it retired it, `SocketCore::retire`, or is closing),
                // reading stops at the peer's next message, which waits in the kernel with
                // the rest, as libzmq's engine stops when its session cannot take a message:
                // until then a peer that leaves is noticed, after that not. Not during the
                // handshake, which a lingering socket's messages may still need.
                let buffered = self
                    .link
                    .as_ref()
                    .is_some_and(|l| !l.rbuf.is_empty() && l.session.as_ref().is_some_and(|s| s.is_active()));
                let reader_gone = p.tx.is_reader_gone();
                let full = if reader_gone { buffered } else { !p.tx.can_write() };
                if !p.tx.in_message() && !draining && full {
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
                SessionEvent::Subscribe(topic) => self.push_subscription(true, &topic),
                SessionEvent::Cancel(topic) => self.push_subscription(false, &topic),
                SessionEvent::Zap(request) => self.ask_zap(ctx, request)?,
            }
        }
    }

    /// Subscriptions travel up the pipe as messages (`0x01`/`0x00` + topic), as from 3.0
    /// peers, to the sockets that take them (PUB, XPUB, a draft RADIO). Any other socket gets
    /// the command itself (`\x09SUBSCRIBE` or `\x06CANCEL`, then the topic) as a message, as
    /// libzmq's session passes such commands on to every socket but a REQ
    /// (`session_base_t::push_msg`).
    /// Either way with the connection's metadata, as other messages.
    fn push_subscription(&mut self, subscribe: bool, topic: &[u8]) {
        let Some(p) = &mut self.pipe else { return };
        let kind = self.cfg.session.socket_type;
        if kind == crate::socket_type::SocketType::REQ {
            // libzmq's REQ session drops every command (`req_session_t::push_msg`).
            return;
        }
        let head: &[u8] = match (takes_subscriptions(kind), subscribe) {
            (true, true) => b"\x01",
            (true, false) => b"\x00",
            (false, true) => b"\x09SUBSCRIBE",
            (false, false) => b"\x06CANCEL",
        };
        let body = [head, topic].concat();
        let meta = self.link.as_ref().and_then(|l| l.session.as_ref()).and_then(|s| s.metadata());
        p.tx.write_received(Message::from(body), meta);
    }
}

/// Whether a socket of type `t` reads subscriptions from its peers.
fn takes_subscriptions(t: crate::socket_type::SocketType) -> bool {
    use crate::socket_type::SocketType as T;
    #[cfg(feature = "draft")]
    if t == T::RADIO {
        return true;
    }
    matches!(t, T::PUB | T::XPUB)
}
