//! CURVE's two directions, shared by the session and the application thread's direct write
//! and read sides (`engine::direct`, `engine::direct_rx`).
//!
//! Every MESSAGE carries the next nonce, and a peer refuses one that is not above the last
//! (libzmq drops the connection). So the frames of the two writers of one stream must reach
//! the wire in the order they took their nonces:
//! - the direct side encrypts a message under the stream's write lock and, before letting
//!   go of it, writes it or leaves it in its own buffer, which the I/O thread writes before
//!   anything of its own;
//! - the session may encrypt a command into its buffer at any time, outside that lock (a
//!   PONG while it decodes, a PING on its timer). It marks such frames unsent until the I/O
//!   thread has written its buffer out ([`CurveOut::written`], under the write lock), and
//!   the direct side refuses while they are: its message would overtake them.
//!
//! The two readers of one stream decode only under the stream's read lock, one at a time,
//! frames in stream order: the receiving direction ([`SharedCurveIn`]) needs no more rule
//! than that. The direct read side opens data frames only; a MESSAGE that holds a command
//! it leaves sealed, its nonce unused (`CurveReceiver::decrypt_if`), for the session.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::codec::curve::{CurveReceiver, CurveSender};

/// Our direction of a CURVE connection, and whether the session holds frames it encrypted
/// that are not on the wire yet.
pub struct CurveOut {
    sender: CurveSender,
    unsent: bool,
}

/// A [`CurveOut`] as the session and the direct write side share it.
pub type SharedCurveOut = Arc<Mutex<CurveOut>>;

/// The receiving direction as the session and the direct read side share it.
pub type SharedCurveIn = Arc<Mutex<CurveReceiver>>;

impl CurveOut {
    /// Shares `sender`.
    pub fn shared(sender: CurveSender) -> SharedCurveOut {
        Arc::new(Mutex::new(CurveOut { sender, unsent: false }))
    }

    /// The session's frame: encrypted into its buffer `out`, and unsent until
    /// [`CurveOut::written`].
    #[inline]
    pub fn queue(&mut self, out: &mut Vec<u8>, flags: u8, body: &[u8]) {
        self.sender.encrypt(out, flags, body);
        self.unsent = true;
    }

    /// The direct side's frame, written (or buffered to be written first) before the
    /// stream's write lock is let go.
    #[inline]
    pub fn seal(&mut self, out: &mut Vec<u8>, flags: u8, body: &[u8]) {
        self.sender.encrypt(out, flags, body);
    }

    /// [`CurveOut::seal`] without the ZMTP frame header: the MESSAGE command a WebSocket
    /// frame carries.
    #[inline]
    pub fn seal_command(&mut self, out: &mut Vec<u8>, flags: u8, body: &[u8]) {
        self.sender.encrypt_command(out, flags, body);
    }

    /// The session's buffer holds encrypted frames not yet written: a direct message now
    /// would overtake them.
    pub fn has_unsent(&self) -> bool {
        self.unsent
    }

    /// The session's buffer has been written out (called under the stream's write lock).
    pub fn written(&mut self) {
        self.unsent = false;
    }
}
