//! Direct send: the application thread writes a connection's messages to the kernel itself.
//!
//! Without it every message crosses application thread → pipe → I/O thread → kernel, and the
//! I/O thread must be woken for it. With it, a message sent while the connection is idle is
//! framed and written by the sending thread in its own `send` call: no thread hop, which is
//! what a request/reply round trip pays for twice per side.
//!
//! ## When a message goes direct
//! Only when the sending thread waited on the socket (a blocking call slept, or `ZMQ_EVENTS`
//! was read, as pollers do before sleeping) since its previous message on that pipe: the
//! message is then most likely a reply or the next step of an exchange (REQ/REP, PAIR
//! ping-pong, a DEALER waiting for answers), where latency matters and nothing follows it
//! at once to batch with. Messages sent back to back still go through the pipe, whose I/O thread writes
//! thousands of them per system call: measured on loopback tcp, writing each of them
//! directly (one `send` per message, which also runs the receiver's TCP input and wakes it)
//! or batching them here and waking the I/O thread per batch both cost more CPU per message
//! and more context switches than the pipe (see BENCHMARKS.md, "Direct I/O").
//!
//! ## Who owns what
//! - The I/O thread owns the stream, the session and everything protocol: handshakes,
//!   heartbeats, commands, reconnects, reading. It alone closes the stream.
//! - A [`DirectTx`] (one per live, handshaken connection that may use it) holds, under one
//!   mutex, the *right to write to the stream*: the raw descriptor while the link is up
//!   ("armed"), the framed bytes of a direct message the kernel did not take at once, and
//!   whether the I/O thread's own buffer still holds bytes.
//! - The socket's pipe writer reaches it only through [`crate::pipe::DirectSink`].
//!
//! ## The hand-over protocol
//! 1. Every write to the stream, by either thread, happens while holding the [`DirectTx`]
//!    lock, and writes `TxState::buf` before anything else. The I/O thread takes the lock
//!    (blocking: the holder only makes non-blocking calls) for its whole outbound pump,
//!    including popping messages from the pipe and framing them into the session's buffer.
//! 2. The application thread only *tries* the lock. It may write a message only if the link
//!    is armed, the pipe is drained (the writer has seen the reader take every message it
//!    queued: checked by the pipe, see `Writer::try_direct`), the I/O thread's buffer is
//!    written out (`io_pending`, updated at the end of every outbound pump) and `buf` is
//!    empty. Otherwise it refuses and the message goes through the pipe exactly as before
//!    (HWM, blocking, DONTWAIT unchanged). Because the pipe is drained and the I/O thread
//!    frames what it pops while holding the lock, every message queued earlier is already
//!    on the wire when a direct one is written.
//! 3. A message is framed whole (all its frames) in one lock hold, so a multipart message is
//!    never interleaved with another, and the I/O thread's commands (PING, PONG) fall
//!    between whole messages only. If the kernel takes only part of it, the rest stays in
//!    `buf`, the I/O thread is activated to write it, and direct sends wait until it has.
//! 4. The I/O thread disarms the [`DirectTx`] under its lock before it closes the stream (the
//!    link's `Drop`), so the raw descriptor is never used after close: a stale `DirectTx` held
//!    by a pipe writer just refuses. Bytes still in `buf` when a link drops are lost, like the
//!    bytes in the session's own buffer always were.
//!
//! Connections with subscriptions-as-commands (SUB, XSUB) are not armed; CONFLATE pipes
//! never offer messages directly. Receiving directly is `direct_rx`'s part.
//!
//! ## CURVE
//! A CURVE link is armed too: the write side encrypts each frame
//! of a message with the session's sender (`session::shared_cipher`, its lock taken inside
//! this one), so both writers take nonces from one counter. Frames must
//! reach the peer in nonce order: the write side refuses while the session holds frames it
//! encrypted and has not written (a PONG queued while decoding, a PING on its timer), and
//! what it encrypts itself is written, or left in `buf` to be written first, before it
//! lets go of the lock. Over `ws://` and `wss://` each MESSAGE then goes in a WebSocket frame
//! of its own, flagged 0x00 as libzmq sends it.
//!
//! ## `ws://` and `wss://`
//! A `ws://` link is armed too: the write side then frames each message as WebSocket data
//! frames with an encoder of its own (its own mask keys, from the system's randomness, on
//! a client). The I/O thread's frames of its own (pongs, a close) are whole frames written
//! under the same lock in its pump; where it writes outside the pump, as a link ends, it
//! first [`DirectTx::settle`]s. Over `wss://` the frames go through the link's rustls
//! session (`ws_tls`: its lock is taken inside this one): rustls encrypts the whole message
//! at once, and the records the kernel does not take wait in rustls, where the I/O thread
//! writes them first (they count as its pending output, so direct sends wait meanwhile).

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use super::ws_tls::{self, FdSink, SharedTls};
use crate::codec::curve::{FLAG_MORE, MESSAGE_PLAINTEXT};
use crate::codec::frame;
use crate::codec::ws;
use crate::message::Message;
use crate::pipe::{DirectSink, Wake};
use crate::session::SharedCurveOut;
use crate::sys;

/// Messages larger than this (framed) always go through the pipe, whose I/O thread writes
/// large bodies from their own memory instead of copying them.
pub(crate) const MSG_MAX: usize = 8 * 1024;

/// The shared write side of one connection; see the module docs.
pub(crate) struct DirectTx {
    state: Mutex<TxState>,
    /// Activates the connection in its I/O thread (to flush what the kernel refused).
    io: Arc<dyn Wake>,
}

/// What [`DirectTx`]'s lock guards.
pub(crate) struct TxState {
    /// The stream's descriptor while the link is up; `None` once disarmed.
    fd: Option<RawFd>,
    /// Framed bytes the kernel did not take at once: written before anything else, by the
    /// I/O thread. While it holds any, direct sends are refused.
    buf: Vec<u8>,
    /// The I/O thread's own outbound buffer still holds bytes (maybe a partly written frame).
    pub(crate) io_pending: bool,
    /// `ws://`: messages go out as WebSocket frames, made by this encoder.
    ws: Option<ws::Encoder>,
    /// `wss://`: ... encrypted by the link's TLS session (`buf` then holds plaintext).
    tls: Option<SharedTls>,
    /// CURVE: each frame encrypted by the session's sender (see "CURVE" above).
    curve: Option<SharedCurveOut>,
    /// CURVE over `ws://`: the MESSAGE being sealed, before it is framed (kept for its
    /// capacity).
    sealed: Vec<u8>,
}

/// How a [`DirectTx`] puts messages on the stream.
pub(crate) enum Framing {
    /// ZMTP frames as they are (NULL, PLAIN).
    Zmtp,
    /// ZMTP frames, each inside an encrypted MESSAGE (CURVE over tcp or ipc).
    Curve(SharedCurveOut),
    /// WebSocket data frames made by this encoder, and for `wss://` encrypted by the link's
    /// TLS session; with CURVE, each frame's MESSAGE in a WebSocket frame.
    Ws(ws::Encoder, Option<SharedTls>, Option<SharedCurveOut>),
}

impl DirectTx {
    /// An armed write side for the stream `fd`; `io_pending` as the session's buffer is now.
    pub(crate) fn new(fd: RawFd, io: Arc<dyn Wake>, io_pending: bool, framing: Framing) -> DirectTx {
        let (ws, tls, curve) = match framing {
            Framing::Zmtp => (None, None, None),
            Framing::Curve(curve) => (None, None, Some(curve)),
            Framing::Ws(encoder, tls, curve) => (Some(encoder), tls, curve),
        };
        let state = TxState { fd: Some(fd), buf: Vec::new(), io_pending, ws, tls, curve, sealed: Vec::new() };
        DirectTx { state: Mutex::new(state), io }
    }

    /// The I/O thread's hold on the write side (see rule 1).
    pub(crate) fn lock(&self) -> MutexGuard<'_, TxState> {
        self.state.lock()
    }

    /// The stream is about to close: never touch its descriptor again.
    pub(crate) fn disarm(&self) {
        let mut st = self.state.lock();
        st.fd = None;
        st.buf = Vec::new();
    }

    /// The I/O thread is about to write outside its pump (a link ends: an ERROR, a
    /// WebSocket close): the application thread writes no more, and what it left half
    /// written goes out as far as the kernel takes it now. `true`: the stream is between
    /// messages, so the I/O thread's bytes may follow.
    pub(crate) fn settle(&self) -> bool {
        let mut st = self.state.lock();
        let clean = st.flush().unwrap_or(false);
        st.fd = None;
        st.buf = Vec::new();
        clean
    }
}

impl TxState {
    /// Writes `buf` as far as the kernel takes it (over TLS: as far as rustls takes it,
    /// and its records as far as the kernel does). `Ok(true)` when it is empty.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        let Some(fd) = self.fd else {
            self.buf.clear();
            return Ok(true);
        };
        if self.buf.is_empty() {
            return Ok(true);
        }
        if let Some(tls) = &self.tls {
            let mut taken = 0;
            let result = ws_tls::flush_tls(&mut tls.lock(), &mut FdSink(fd), &mut self.buf, &mut taken);
            // Records rustls made and the kernel refused are the I/O thread's to write.
            self.buf.drain(..taken.min(self.buf.len()));
            return result.map(|_| self.buf.is_empty());
        }
        let (done, result) = send_all(fd, &self.buf);
        if done == self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.drain(..done);
        }
        result.map(|()| self.buf.is_empty())
    }

    /// Nothing framed here waits for the kernel.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Writes `bytes` until done or the kernel refuses more. Returns how many were written and
/// the error that stopped it (`WouldBlock` is not an error).
fn send_all(fd: RawFd, bytes: &[u8]) -> (usize, io::Result<()>) {
    let mut done = 0;
    while done < bytes.len() {
        match sys::send_nosignal(fd, &bytes[done..]) {
            Ok(0) => return (done, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

impl DirectSink for DirectTx {
    fn try_send(&self, frames: &[Message], last: &Message) -> bool {
        let Some(mut st) = self.state.try_lock() else { return false };
        if st.fd.is_none() || st.io_pending || !st.buf.is_empty() {
            return false;
        }
        // A WebSocket frame's header, mask and flags byte take at most 15 bytes; a CURVE
        // MESSAGE's frame header, name, nonce, MAC and flags byte 9 + 33 (over ws 15 + 33).
        let overhead = if st.curve.is_some() { 15 + MESSAGE_PLAINTEXT + 1 } else { 15 };
        let size: usize = frames.iter().chain([last]).map(|m| m.len() + overhead).sum();
        if size > MSG_MAX || st.tls.as_ref().is_some_and(|tls| tls.lock().wants_write()) {
            // Too large, or (`wss://`) records of the I/O thread's wait in rustls.
            return false;
        }
        let TxState { buf, ws, curve, sealed, .. } = &mut *st;
        match (ws, curve) {
            (Some(ws), Some(curve)) => {
                let mut curve = curve.lock();
                if curve.has_unsent() {
                    return false;
                }
                for (i, m) in frames.iter().chain([last]).enumerate() {
                    sealed.clear();
                    curve.seal_command(sealed, if i < frames.len() { FLAG_MORE } else { 0 }, m);
                    ws.curve_message(sealed, buf);
                }
            }
            (Some(ws), None) => {
                for m in frames {
                    ws.data_frame(true, m, buf);
                }
                ws.data_frame(false, last, buf);
            }
            (None, Some(curve)) => {
                let mut curve = curve.lock();
                if curve.has_unsent() {
                    // The session's own frames (a PONG, a PING) wait, with lower nonces.
                    return false;
                }
                for m in frames {
                    curve.seal(buf, FLAG_MORE, m);
                }
                curve.seal(buf, 0, last);
            }
            (None, None) => {
                for m in frames {
                    frame::encode_frame(buf, true, false, m);
                }
                frame::encode_frame(buf, false, false, last);
            }
        }
        // An error leaves the bytes for the I/O thread, which meets the same error on its
        // side of the stream and takes the link down (the message is lost with the link).
        if st.flush().unwrap_or(false) {
            return true;
        }
        drop(st);
        // The kernel took part of it: the I/O thread writes the rest when it can.
        self.io.wake();
        true
    }
}
