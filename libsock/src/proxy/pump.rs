//! One direction of a proxy: frames from an input socket to an output socket, with a copy to
//! the capture ([`super::capture`]), moved in batches without waiting.
//!
//! Every call is non-blocking. Before taking a message from the input the pump looks whether
//! the output has room, as libzmq's proxy polls it for POLLOUT: a full output (PUSH or
//! DEALER at SNDHWM, XPUB with NODROP) stops the reading of the input with nothing taken, so
//! the messages in flight are exactly what the two sockets' queues hold (libzmq's
//! test_proxy_hwm counts them). That is the back-pressure a streamer or queue needs at HWM.
//! A frame the output still refuses (its room went meanwhile) is held until it went out.
//! Once the first frame of a message is accepted the socket takes the rest (libsock's
//! multipart guarantee), so a held frame is always the first of its message.

use crate::error::{Error, Result};
use crate::message::Message;
use crate::socket::{Socket, DONTWAIT, SNDMORE};
use crate::socket_type::SocketType;

use super::capture::Capture;
use super::stats::SideStats;

/// Frames moved per direction before the loop looks at the other direction and at the
/// control socket (libzmq's `proxy_burst_size` is 1000 messages).
pub(crate) const BURST: usize = 1000;

/// Why a pump stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Moved a whole burst: call again soon.
    Busy,
    /// The input had nothing more.
    InputEmpty,
    /// The output refused a frame; it is held until the output has room.
    OutputFull,
}

/// The state of one direction between calls.
#[derive(Default)]
pub(crate) struct Pump {
    /// A frame taken from the input that the output has not accepted yet.
    held: Option<Message>,
    /// The output had no room for the next message: nothing was taken from the input.
    output_full: bool,
    /// A message is half forwarded: its next frame goes without looking for room.
    mid: bool,
}

impl Pump {
    /// Whether this direction waits for its output to have room.
    pub(crate) fn is_held(&self) -> bool {
        self.held.is_some() || self.output_full
    }

    /// Moves up to [`BURST`] frames from `from` to `to`, copying each to `capture`; copies
    /// dropped there are counted in `capture_dropped`.
    pub(crate) fn run(
        &mut self,
        from: &Socket,
        to: &Socket,
        mut capture: Option<&mut Capture<'_>>,
        stats: (&mut SideStats, &mut SideStats),
        capture_dropped: &mut u64,
    ) -> Result<Flow> {
        let (from_stats, to_stats) = stats;
        for _ in 0..BURST {
            self.output_full = false;
            let msg = match self.held.take() {
                Some(msg) => msg,
                // One socket both ways (a REP proxied to itself) can send only what it read.
                None if !self.mid && !std::ptr::eq(from, to) && !to.can_send_now() => {
                    self.output_full = true;
                    return Ok(Flow::OutputFull);
                }
                None => match from.recv_msg(DONTWAIT) {
                    Ok(msg) => {
                        from_stats.bytes_in += msg.len() as u64;
                        from_stats.msg_in += u64::from(!msg.get_more());
                        if let Some(capture) = capture.as_deref_mut() {
                            capture.copy(&msg, capture_dropped)?;
                        }
                        msg
                    }
                    Err(Error::WouldBlock) => return Ok(Flow::InputEmpty),
                    Err(e) => return Err(e),
                },
            };
            let (more, len) = (msg.get_more(), msg.len() as u64);
            // Keep a handle in case the output refuses it: a refcount or a small inline copy,
            // never an allocation.
            match to.send(msg.clone(), DONTWAIT | if more { SNDMORE } else { 0 }) {
                Ok(()) => {
                    to_stats.bytes_out += len;
                    to_stats.msg_out += u64::from(!more);
                    self.mid = more;
                }
                Err(Error::WouldBlock) => {
                    self.held = Some(msg);
                    return Ok(Flow::OutputFull);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Flow::Busy)
    }
}

/// Whether a socket of this type can receive (PUSH and PUB cannot).
pub(crate) fn can_recv(kind: SocketType) -> bool {
    !matches!(kind, SocketType::PUSH | SocketType::PUB)
}

/// Whether a socket of this type can send (PULL and SUB cannot).
pub(crate) fn can_send(kind: SocketType) -> bool {
    !matches!(kind, SocketType::PULL | SocketType::SUB)
}
