//! The application thread's reading and decoding for `direct_rx`: data frames only; anything
//! else stops it and is handed back to the I/O thread (rule 2 of the parent module).

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;

use bytes::{Buf, BytesMut};

use super::{DirectRx, RxState, FLOOD_READ_CHUNK, FRAME_MAX, READS, READ_CHUNK};
use crate::codec::curve::{CurveReceiver, FLAG_COMMAND, FLAG_MORE as CURVE_MORE, MESSAGE_PLAINTEXT};
use crate::codec::frame::{decode_header, FLAG_MORE};
use crate::codec::ws::{self, Front};
use crate::engine::ws_link::WsError;
use crate::engine::ws_tls::{self, SharedTls};
use crate::message::{Message, INLINE_CAPACITY};
use crate::session::ReplyEnvelope;
use crate::sys;

/// What sealing adds to a CURVE frame's body: the MESSAGE's name, nonce, MAC and flags byte.
const SEALING: usize = MESSAGE_PLAINTEXT + 1;

impl DirectRx {
    /// Reads until whole messages came (at most [`READS`] times), decoding up to `limit` of
    /// them into `out`. `Err`: hand the rest back to the I/O thread (rule 2). Bytes left in
    /// the kernel are found by the next poll (or the next call's read, `more_likely`), or
    /// reported by the re-arm (rule 7).
    pub(super) fn read_and_decode(
        &self,
        st: &mut RxState,
        fd: RawFd,
        out: &mut VecDeque<Message>,
        limit: usize,
    ) -> Result<(), ()> {
        self.take(st, out, limit)?;
        if out.len() >= limit {
            return Ok(());
        }
        let chunk = if self.flood { FLOOD_READ_CHUNK } else { READ_CHUNK };
        for _ in 0..READS {
            let read = match &self.tls {
                Some(tls) => self.read_tls(st, fd, tls, chunk),
                None => {
                    let into = if self.websocket.is_some() { &mut st.ws_raw } else { &mut st.buf };
                    sys::read_raw(fd, into, chunk)
                }
            };
            match read {
                // End of stream: the I/O thread reads it again and takes the link down.
                Ok(0) => return Err(()),
                Ok(n) => {
                    self.traffic.store(true, Ordering::Relaxed);
                    st.more_likely = n == chunk;
                    self.take(st, out, limit)?;
                    if !out.is_empty() && (n < chunk || limit != usize::MAX) {
                        // A short read was most likely all there was: save the read that
                        // would say EAGAIN. A full one leaves the rest to the next call.
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    st.more_likely = false;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(()),
            }
        }
        Err(())
    }

    /// `wss://`: reads up to `chunk` bytes of records and decrypts them into `st.ws_raw`
    /// (all of them: `st.cipher` is empty after). A close_notify reads as the end of the
    /// stream and a TLS error as an error: both stay in the session for the I/O thread.
    fn read_tls(&self, st: &mut RxState, fd: RawFd, tls: &SharedTls, chunk: usize) -> io::Result<usize> {
        let mut conn = tls.lock();
        let read = ws_tls::read_tls(
            &mut conn,
            |b, n| sys::read_raw(fd, b, n),
            &mut st.cipher,
            &mut st.ws_raw,
            chunk,
        );
        let answer = conn.wants_write();
        drop(conn);
        if answer {
            self.io.wake();
        }
        match read {
            Ok((_, true)) => Ok(0),
            Ok((n, false)) => Ok(n),
            Err(WsError::Io(e)) => Err(e),
            Err(WsError::Fault(_)) => Err(io::Error::other("TLS error")),
        }
    }

    /// Takes what was read, until `out` holds `limit` messages or more: the ZMTP bytes in
    /// `st.buf`, then (`ws://`) the whole data frames in `st.ws_raw`. `Err`: hand back, at a
    /// frame for the I/O thread (the messages before it are in `out`).
    pub(super) fn take(&self, st: &mut RxState, out: &mut VecDeque<Message>, limit: usize) -> Result<(), ()> {
        self.decode(st, out, limit)?;
        let Some(server) = self.websocket else { return Ok(()) };
        if out.len() >= limit {
            return Ok(());
        }
        if !st.buf.is_empty() {
            // Only whole frames come here from the link's decoder: never the case.
            return Err(());
        }
        self.take_ws_frames(st, server, out, limit)
    }

    /// `ws://`: the whole data frames at the front of `st.ws_raw` (`codec::ws::front_data_frame`),
    /// unmasked where they lie and made messages as [`DirectRx::decode`] makes them of ZMTP
    /// frames; `Err` at a frame only the link's decoder takes, which stays as it came.
    fn take_ws_frames(
        &self,
        st: &mut RxState,
        server: bool,
        out: &mut VecDeque<Message>,
        limit: usize,
    ) -> Result<(), ()> {
        let max = self.max_size.min(FRAME_MAX) as usize;
        let mut carried = false;
        let mut envelope = self.replies_only.then(|| ReplyEnvelope::after(&st.staged));
        if let Some(curve) = &self.curve {
            return self.take_curve_ws_frames(
                st,
                server,
                &mut curve.lock(),
                out,
                limit,
                &mut carried,
                &mut envelope,
            );
        }
        while out.len() < limit {
            let frame = match ws::front_data_frame(&st.ws_raw, server, max) {
                Front::Data(frame) => frame,
                Front::Partial => return Ok(()),
                Front::Other => return Err(()),
            };
            let size = frame.body_len();
            if !takes(&mut envelope, size, frame.more) {
                return Err(());
            }
            let mut msg = if self.flood && size > INLINE_CAPACITY {
                // Copied into a message of its own anyway: unmasked on the way.
                let mut msg = Message::for_overwrite(size);
                frame.copy_body(&st.ws_raw, &mut msg);
                st.ws_raw.advance(frame.total());
                msg
            } else {
                frame.unmask(&mut st.ws_raw);
                st.ws_raw.advance(frame.body_start());
                self.take_body(&mut st.ws_raw, size)
            };
            msg.set_more(frame.more);
            self.deliver(msg, &mut st.staged, out, &mut carried);
        }
        Ok(())
    }

    /// [`DirectRx::take_ws_frames`] over CURVE: each WebSocket frame a MESSAGE (flagged 0x00)
    /// holding a data frame, unmasked and opened where it lies; `Err` at anything else, left
    /// as it came (masked again).
    #[allow(clippy::too_many_arguments)]
    fn take_curve_ws_frames(
        &self,
        st: &mut RxState,
        server: bool,
        curve: &mut CurveReceiver,
        out: &mut VecDeque<Message>,
        limit: usize,
        carried: &mut bool,
        envelope: &mut Option<ReplyEnvelope>,
    ) -> Result<(), ()> {
        let max = (self.max_size.min(FRAME_MAX) as usize).saturating_add(SEALING);
        while out.len() < limit {
            let frame = match ws::front_data_frame(&st.ws_raw, server, max) {
                Front::Data(frame) if !frame.more && frame.body_len() >= SEALING => frame,
                Front::Data(_) | Front::Other => return Err(()),
                Front::Partial => return Ok(()),
            };
            let body = frame.body_len() - SEALING;
            frame.unmask(&mut st.ws_raw);
            let Some(more) = open_data(curve, &mut st.ws_raw[frame.body_start()..frame.total()], envelope)
            else {
                // Unopened: masked again (the mask is its own inverse), for the link.
                frame.unmask(&mut st.ws_raw);
                return Err(());
            };
            st.ws_raw.advance(frame.body_start() + SEALING);
            let mut msg = self.take_body(&mut st.ws_raw, body);
            msg.set_more(more);
            self.deliver(msg, &mut st.staged, out, carried);
        }
        Ok(())
    }

    /// Decodes the data frames in `st.buf`, until `out` holds `limit` messages or more; stops
    /// at anything else (`Err`: hand back).
    pub(super) fn decode(
        &self,
        st: &mut RxState,
        out: &mut VecDeque<Message>,
        limit: usize,
    ) -> Result<(), ()> {
        // The first frame of each call carries the connection's metadata, the others inherit
        // it when read (`Message::set_inherits_metadata`): a carrier always comes first in
        // the reader's order, and a one-connection reader only ever sees this metadata.
        let mut carried = false;
        // A REQ's place in the reply, kept as frames are taken (from those staged, once).
        let mut envelope = self.replies_only.then(|| ReplyEnvelope::after(&st.staged));
        if let Some(curve) = &self.curve {
            return self.decode_curve(st, &mut curve.lock(), out, limit, &mut carried, &mut envelope);
        }
        while out.len() < limit {
            let used = self.decode_short(&st.buf, &mut st.staged, out, limit, &mut carried, &mut envelope);
            if used > 0 {
                st.buf.advance(used);
                continue;
            }
            let header = match decode_header(&st.buf, Some(self.max_size)) {
                Ok(Some(h)) if !h.command && h.size <= FRAME_MAX => h,
                Ok(None) => return Ok(()),
                Ok(Some(_)) | Err(_) => return Err(()),
            };
            let size = header.size as usize;
            if st.buf.len() < header.header_len + size {
                return Ok(());
            }
            if !takes(&mut envelope, size, header.more) {
                return Err(());
            }
            st.buf.advance(header.header_len);
            let mut msg = self.take_body(&mut st.buf, size);
            msg.set_more(header.more);
            self.deliver(msg, &mut st.staged, out, &mut carried);
        }
        Ok(())
    }

    /// [`DirectRx::decode`] over CURVE: each frame a MESSAGE holding a data frame, opened
    /// where it lies; `Err` at anything else, left as it came.
    fn decode_curve(
        &self,
        st: &mut RxState,
        curve: &mut CurveReceiver,
        out: &mut VecDeque<Message>,
        limit: usize,
        carried: &mut bool,
        envelope: &mut Option<ReplyEnvelope>,
    ) -> Result<(), ()> {
        let max = self.max_size.min(FRAME_MAX).saturating_add(SEALING as u64);
        // Over ws, the link's decoder gives a MESSAGE (bytes a flood's hand-over passes) as
        // a ZMTP command.
        let command = self.websocket.is_some();
        while out.len() < limit {
            // libzmq sends a MESSAGE as a plain frame: its MORE and COMMAND flags travel inside.
            let header = match decode_header(&st.buf, Some(max)) {
                Ok(Some(h)) if h.command == command && !h.more => h,
                Ok(None) => return Ok(()),
                Ok(Some(_)) | Err(_) => return Err(()),
            };
            let size = header.size as usize;
            if st.buf.len() < header.header_len + size {
                return Ok(());
            }
            let body = size.saturating_sub(SEALING);
            let sealed = &mut st.buf[header.header_len..header.header_len + size];
            let Some(more) = open_data(curve, sealed, envelope) else { return Err(()) };
            st.buf.advance(header.header_len + SEALING);
            let mut msg = self.take_body(&mut st.buf, body);
            msg.set_more(more);
            self.deliver(msg, &mut st.staged, out, carried);
        }
        Ok(())
    }

    /// The `size` bytes at the front of `buf` as a message's body, taken from it. A flood's
    /// frames are copied (into pool buffers above the inline size), so the read buffer is
    /// read into again in place: shared with the frames, every read would need a fresh one
    /// (see `session::decode_bare`). A reply is the only message of its read: sharing saves
    /// the copy.
    #[inline(always)]
    fn take_body(&self, buf: &mut BytesMut, size: usize) -> Message {
        if size <= INLINE_CAPACITY || self.flood {
            let m = Message::from_slice(&buf[..size]);
            buf.advance(size);
            m
        } else {
            Message::from_bytes(buf.split_to(size).freeze())
        }
    }

    /// A run of short data frames (as `Session::decode_short_frames`): inline bodies built
    /// from a fixed window of the buffer, no `memcpy` of a variable length. Returns the
    /// bytes used; 0 at anything else (a long or command frame, a partial one).
    #[inline(always)]
    fn decode_short(
        &self,
        buf: &[u8],
        staged: &mut Vec<Message>,
        out: &mut VecDeque<Message>,
        limit: usize,
        carried: &mut bool,
        envelope: &mut Option<ReplyEnvelope>,
    ) -> usize {
        let max = self.max_size.min(255) as usize;
        let mut used = 0;
        while out.len() < limit {
            let [flags, size, ref rest @ ..] = buf[used..] else { break };
            let size = usize::from(size);
            let more = flags & FLAG_MORE != 0;
            if flags & !FLAG_MORE != 0 || size > max || rest.len() < size || !takes(envelope, size, more) {
                break;
            }
            let msg = match rest.first_chunk::<INLINE_CAPACITY>() {
                Some(window) if size <= INLINE_CAPACITY => Message::inline_from_window(window, size, more),
                _ => {
                    let mut msg = Message::from_slice(&rest[..size]);
                    msg.set_more(more);
                    msg
                }
            };
            self.deliver(msg, staged, out, carried);
            used += 2 + size;
        }
        used
    }

    /// Attaches the metadata (see `decode`) and queues the frame: in `staged` until its
    /// message is whole.
    #[inline(always)]
    fn deliver(
        &self,
        mut msg: Message,
        staged: &mut Vec<Message>,
        out: &mut VecDeque<Message>,
        carried: &mut bool,
    ) {
        if let Some(meta) = &self.meta {
            if *carried {
                msg.set_inherits_metadata();
            } else {
                msg.set_metadata(meta.clone());
                *carried = true;
            }
        }
        if msg.get_more() {
            staged.push(msg);
        } else {
            if !staged.is_empty() {
                out.extend(staged.drain(..));
            }
            out.push_back(msg);
        }
    }
}

/// Opens the MESSAGE `sealed` in place if it holds a data frame that `envelope` takes (then
/// moved past it), and returns that frame's MORE flag; `None` leaves it as it came, its
/// nonce unused (a command, a frame outside a reply's envelope, one that does not open).
#[inline(always)]
fn open_data(
    curve: &mut CurveReceiver,
    sealed: &mut [u8],
    envelope: &mut Option<ReplyEnvelope>,
) -> Option<bool> {
    let body = sealed.len().saturating_sub(SEALING);
    let data = |flags: u8| {
        flags & FLAG_COMMAND == 0
            && envelope.is_none_or(|place| place.next(body, flags & CURVE_MORE != 0).is_some())
    };
    let flags = curve.decrypt_if(sealed, data).ok()??;
    let more = flags & CURVE_MORE != 0;
    let taken = takes(envelope, body, more);
    debug_assert!(taken, "checked before opening");
    Some(more)
}

/// Whether a REQ's read side takes a frame of `size` bytes at its place in the reply
/// (`envelope`, then moved past the frame), or leaves it to the I/O thread's session, which
/// drops the connection. Other sockets' (`None`) take every frame.
#[inline(always)]
fn takes(envelope: &mut Option<ReplyEnvelope>, size: usize, more: bool) -> bool {
    let Some(place) = envelope else { return true };
    match place.next(size, more) {
        Some(next) => {
            *place = next;
            true
        }
        None => false,
    }
}

impl RxState {
    /// The I/O thread takes over what the application left (rule 1): bytes go in front of
    /// its read buffer (empty then, or the application could not have read), the frames of
    /// a partial message are returned for its pipe writer.
    pub(crate) fn take_over(&mut self, rbuf: &mut BytesMut) -> Vec<Message> {
        if !self.buf.is_empty() {
            if rbuf.is_empty() {
                std::mem::swap(rbuf, &mut self.buf);
            } else {
                self.buf.extend_from_slice(rbuf);
                *rbuf = std::mem::take(&mut self.buf);
            }
        }
        std::mem::take(&mut self.staged)
    }

    /// `ws://`: the WebSocket bytes the application read and did not take, for the
    /// link's own decoder (after [`RxState::take_over`]'s, which came before them).
    pub(crate) fn take_ws_raw(&mut self) -> BytesMut {
        std::mem::take(&mut self.ws_raw)
    }

    /// `ws://`: the WebSocket bytes the link's decoder had not decoded when it handed a
    /// flood over (rule 8), to follow the ZMTP bytes handed over with them.
    pub(crate) fn give_ws_raw(&mut self, raw: BytesMut) {
        debug_assert!(self.ws_raw.is_empty(), "handed over twice");
        self.ws_raw = raw;
    }
}
