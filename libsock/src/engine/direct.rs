//! Direct send: the application thread writes a connection's messages to the kernel itself.
//!
//! Without it every message crosses application thread → pipe → I/O thread → kernel, and the
//! I/O thread must be woken for it. With it, a whole message sent while the connection is idle
//! is framed and written by the sending thread in its own `send` call.
//!
//! ## Who owns what
//! - The I/O thread owns the stream, the session and everything protocol: handshakes,
//!   heartbeats, commands, reconnects, reading. It alone closes the stream.
//! - A [`DirectTx`] (one per live, handshaken connection that may use it) holds, under one
//!   mutex, the *right to write to the stream*: the raw descriptor while the link is up
//!   ("armed"), a buffer of framed bytes the kernel has not taken yet, and whether the I/O
//!   thread has a partly written frame of its own outstanding.
//! - The socket's pipe writer reaches it only through [`crate::pipe::DirectSink`].
//!
//! ## The hand-over protocol
//! 1. Every write to the stream, by either thread, happens while holding the [`DirectTx`]
//!    lock, and writes `TxState::buf` before anything else. The I/O thread takes the lock
//!    (blocking: the holder only makes non-blocking calls) for its whole outbound pump,
//!    including popping messages from the pipe and framing them into the session's buffer.
//! 2. The application thread only *tries* the lock. It may frame a message into `buf` only
//!    if the link is armed, the pipe is drained (the writer has seen the reader take every
//!    message it queued: checked by the pipe, see `Writer::try_direct`), the I/O thread has
//!    no partly written bytes (`io_pending`, updated at the end of every outbound pump), and
//!    `buf` is below its bound. Otherwise it refuses and the message goes through the pipe
//!    exactly as before. Because the pipe is drained and the I/O thread frames what it pops
//!    while holding the lock, every message queued earlier is already framed (and ahead of
//!    `buf` on the wire, or still in the session's buffer, which sets `io_pending`).
//! 3. A message is framed whole (all its frames) in one lock hold, so a multipart message is
//!    never interleaved with another and the I/O thread's commands (PING, PONG) fall between
//!    whole messages only.
//! 4. If `buf` was empty (no flush outstanding) the application writes it at once: no thread
//!    hop, which is what latency needs. If the kernel does not take it all, `flush_scheduled`
//!    is set and the I/O thread is activated; until it has flushed, later direct messages
//!    only append (up to [`BUF_MAX`]), so a sender outrunning the kernel batches its writes.
//!    Once `buf` is full, messages queue in the pipe again and the HWM applies as before.
//! 5. The I/O thread disarms the [`DirectTx`] under its lock before it closes the stream (the
//!    link's `Drop`), so the raw descriptor is never used after close: a stale `DirectTx` held
//!    by a pipe writer just refuses. Bytes still in `buf` when a link drops are lost, like the
//!    bytes in the session's own buffer always were.
//!
//! Only connections without CURVE (whose frames carry nonces in order through the session's
//! cipher) and without subscriptions-as-commands (SUB, XSUB) are armed; CONFLATE pipes never
//! offer messages directly. Receiving still goes through the I/O thread and the pipe.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::codec::frame;
use crate::message::Message;
use crate::pipe::{DirectSink, Wake};
use crate::sys;

/// Direct messages stop (and go through the pipe) once this much waits unwritten.
pub(crate) const BUF_MAX: usize = 256 * 1024;
/// The sending thread writes the buffer itself once it holds this much.
pub(crate) const FLUSH_AT: usize = 32 * 1024;
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
    /// Framed bytes not yet taken by the kernel: written before anything else.
    buf: Vec<u8>,
    /// The I/O thread's own outbound buffer still holds bytes (maybe a partly written frame).
    pub(crate) io_pending: bool,
    /// The I/O thread has been activated to flush `buf` and has not done so yet. Kept true
    /// whenever `buf` is not empty, so bytes never wait without someone due to write them.
    flush_scheduled: bool,
    /// Write every message at once (REQ, REP: the next thing the sender does is wait for
    /// the answer) instead of batching it for the I/O thread or the next full buffer.
    immediate: bool,
}

impl DirectTx {
    /// An armed write side for the stream `fd`; `io_pending` as the session's buffer is now.
    pub(crate) fn new(fd: RawFd, io: Arc<dyn Wake>, io_pending: bool, immediate: bool) -> DirectTx {
        let state = TxState { fd: Some(fd), buf: Vec::new(), io_pending, flush_scheduled: false, immediate };
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
}

impl TxState {
    /// The I/O thread's flush: as [`TxState::flush`], and it no longer owes one once done.
    pub(crate) fn flush_io(&mut self) -> io::Result<bool> {
        let done = self.flush()?;
        if done {
            self.flush_scheduled = false;
        }
        Ok(done)
    }

    /// Writes `buf` as far as the kernel takes it. `Ok(true)` when it is empty.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        let Some(fd) = self.fd else {
            self.buf.clear();
            return Ok(true);
        };
        let mut done = 0;
        let result = loop {
            if done == self.buf.len() {
                break Ok(true);
            }
            match sys::send_nosignal(fd, &self.buf[done..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
                Err(e) => break Err(e),
            }
        };
        if done == self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.drain(..done);
        }
        result
    }

    /// Nothing framed here waits for the kernel.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

impl DirectSink for DirectTx {
    fn try_send(&self, frames: &[Message], last: &Message) -> bool {
        let Some(mut st) = self.state.try_lock() else { return false };
        if st.fd.is_none() || st.io_pending || st.buf.len() >= BUF_MAX {
            return false;
        }
        let size: usize = frames.iter().chain([last]).map(|m| m.len() + 9).sum();
        if size > MSG_MAX {
            return false;
        }
        for m in frames {
            frame::encode_frame(&mut st.buf, true, false, m);
        }
        frame::encode_frame(&mut st.buf, false, false, last);
        if st.immediate || st.buf.len() >= FLUSH_AT {
            // An error leaves the bytes for the I/O thread, which meets the same error on its
            // side of the stream and takes the link down (the message is lost with the link).
            if st.flush().unwrap_or(false) {
                return true;
            }
        }
        // Bytes stay behind: make sure the I/O thread comes to write them (once per batch).
        let wake = !std::mem::replace(&mut st.flush_scheduled, true);
        drop(st);
        if wake {
            self.io.wake();
        }
        true
    }

    fn flush_now(&self) {
        if let Some(mut st) = self.state.try_lock() {
            if !st.buf.is_empty() {
                let _ = st.flush();
            }
        }
    }
}
