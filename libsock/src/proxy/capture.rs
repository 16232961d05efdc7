//! The capture side of a proxy: a copy of every frame, both directions, in the order the
//! proxy took them, sent without ever waiting.
//!
//! A copy the capture socket cannot take now (no peer yet, or its queue is at SNDHWM) waits
//! in a backlog of at most the capture's SNDHWM messages (1000 when SNDHWM is 0) and goes out
//! as soon as the socket has room: the proxy waits for that room too, but only when it has
//! nothing else to do. Beyond that bound a copy is dropped, whole message at a time, and
//! counted. So a capture peer that connects a moment late still sees everything (libzmq's
//! proxy blocks on its capture instead, which stalls both directions behind a slow one), and
//! a capture that never reads costs bounded memory.

use std::collections::VecDeque;

use crate::error::{Error, Result};
use crate::message::Message;
use crate::socket::{Socket, DONTWAIT, SNDMORE};

/// The backlog's bound when the capture's SNDHWM is 0 (unbounded there).
const DEFAULT_BACKLOG: usize = 1000;

/// The capture socket and the copies it has not taken yet.
pub(crate) struct Capture<'a> {
    socket: &'a Socket,
    /// Frames waiting for room, oldest first; whole messages but for the last one's tail,
    /// which follows as the proxy takes it.
    backlog: VecDeque<Message>,
    /// Messages in `backlog` (the last one maybe still without its tail).
    messages: usize,
    limit: usize,
    /// The current message's first frame was dropped: drop the rest of it too.
    skipping: bool,
    /// The next frame continues a message the socket has started taking: it must go to the
    /// socket (or behind it in the backlog), never be dropped.
    mid: bool,
}

impl<'a> Capture<'a> {
    pub(crate) fn new(socket: &'a Socket) -> Result<Capture<'a>> {
        let hwm = socket.get_sndhwm()?;
        let limit = if hwm > 0 { hwm as usize } else { DEFAULT_BACKLOG };
        Ok(Capture { socket, backlog: VecDeque::new(), messages: 0, limit, skipping: false, mid: false })
    }

    pub(crate) fn socket(&self) -> &'a Socket {
        self.socket
    }

    /// Whether copies wait for room: the proxy then also waits for the capture's POLLOUT.
    pub(crate) fn is_waiting(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// Copies `msg` (a frame the proxy just took) to the capture, or to the backlog behind
    /// what waits there; a new message that finds the backlog full is dropped and counted.
    pub(crate) fn copy(&mut self, msg: &Message, dropped: &mut u64) -> Result<()> {
        let more = msg.get_more();
        if self.skipping {
            self.skipping = more;
            return Ok(());
        }
        let first = !self.mid;
        if self.backlog.is_empty() {
            match self.socket.send(msg.clone(), DONTWAIT | if more { SNDMORE } else { 0 }) {
                Ok(()) => {
                    self.mid = more;
                    return Ok(());
                }
                Err(Error::WouldBlock) => {}
                Err(e) => return Err(e),
            }
        }
        if first && self.messages >= self.limit {
            *dropped += 1;
            self.skipping = more;
            return Ok(());
        }
        self.messages += usize::from(first);
        self.mid = more;
        // A refcount or a small inline copy, as the proxy's own sends.
        self.backlog.push_back(msg.clone());
        Ok(())
    }

    /// Sends what waits in the backlog while the capture has room.
    pub(crate) fn flush(&mut self) -> Result<()> {
        while let Some(msg) = self.backlog.front() {
            let more = msg.get_more();
            match self.socket.send(msg.clone(), DONTWAIT | if more { SNDMORE } else { 0 }) {
                Ok(()) => {
                    self.backlog.pop_front();
                    // A message in the backlog started there (the socket takes the rest of
                    // one it started): it leaves the count with its last frame.
                    self.messages -= usize::from(!more);
                }
                Err(Error::WouldBlock) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
