//! Pipes: the bounded queues between a socket and one peer connection (or, for inproc, the
//! peer socket itself).
//!
//! A pipe is two one-way [`queue`]s. Each end ([`PipeEnd`]) writes one and reads the other and
//! is owned by exactly one thread at a time: the socket's user thread or an I/O thread.
//!
//! Rules that keep the hot path cheap:
//! - a writer publishes only complete messages, so a reader never sees half a multipart message;
//! - a writer publishes a batch with one atomic swap, and a reader pops locally without any
//!   atomic operation until that batch is used up (see `sys::ring`);
//! - the reader is woken only when it had found the queue empty and parked on it, and the
//!   writer only when it had found the queue at its high water mark: never once per message.

mod progress;
pub(crate) mod queue;

use std::sync::Arc;

pub(crate) use queue::{DirectSink, DirectSource, Reader, Waited, Wake, Writer};

#[cfg(test)]
use crate::message::Message;

/// The local and remote endpoints of the connection a pipe serves, as monitor events name
/// them (`("", "")` for inproc).
pub(crate) type Ends = Arc<(String, String)>;

/// One end of a pipe: the queue this side writes and the queue it reads.
pub(crate) struct PipeEnd {
    pub(crate) tx: Writer,
    pub(crate) rx: Reader,
}

/// Creates a pipe. `a_to_b_hwm` bounds what end A may queue towards B, and the reverse.
/// High water marks count whole messages; 0 means unbounded.
pub(crate) fn pipe(a_to_b_hwm: u64, b_to_a_hwm: u64) -> (PipeEnd, PipeEnd) {
    let (a_tx, b_rx) = queue::queue(a_to_b_hwm);
    let (b_tx, a_rx) = queue::queue(b_to_a_hwm);
    (PipeEnd { tx: a_tx, rx: a_rx }, PipeEnd { tx: b_tx, rx: b_rx })
}

impl PipeEnd {
    /// Names who to wake when this end has something to read or room to write again.
    pub(crate) fn set_owner(&self, owner: Arc<dyn Wake>) {
        self.tx.set_waker(owner.clone());
        self.rx.set_waker(owner);
    }

    /// [`PipeEnd::set_owner`] for the end an I/O thread serves: it also wakes the
    /// application's writer for room at the low water mark steps only
    /// ([`Reader::wake_writer_at_low_water_marks_only`]).
    pub(crate) fn set_io_owner(&mut self, owner: Arc<dyn Wake>) {
        self.set_owner(owner);
        self.rx.wake_writer_at_low_water_marks_only();
    }

    /// Writes one frame and publishes it if it completes a message.
    #[cfg(test)]
    pub(crate) fn send(&mut self, msg: Message) {
        self.tx.write(msg);
        self.tx.flush();
    }

    /// Names the local and remote endpoints of the connection this pipe serves, for
    /// `ZMQ_EVENT_PIPES_STATS` (the I/O thread does, each time a link comes up).
    pub(crate) fn set_ends(&self, local: &str, remote: &str) {
        self.tx.set_ends(Arc::new((local.to_owned(), remote.to_owned())));
    }

    /// What [`PipeEnd::set_ends`] named at the other end: (local, remote) there.
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    pub(crate) fn peer_ends(&self) -> Ends {
        self.rx.ends()
    }

    /// Messages queued (outbound, inbound) as each direction's high water mark counts them.
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    pub(crate) fn queued(&self) -> (u64, u64) {
        (self.tx.queued(), self.rx.queued())
    }

    /// CONFLATE: both directions keep only their newest message and ignore HWMs.
    pub(crate) fn set_conflate(&mut self) {
        self.tx.set_conflate();
        self.rx.set_conflate();
    }

    /// Closes both directions. Unread inbound messages are dropped; messages already queued
    /// outbound stay for the peer end to deliver within `linger` (see [`Writer::close`]).
    pub(crate) fn close(&mut self, linger_ms: i32) {
        self.tx.close(linger_ms);
        self.rx.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_carry_messages() {
        let (mut a, mut b) = pipe(10, 10);
        a.send(Message::from("ping"));
        assert_eq!(&*b.rx.read().unwrap(), b"ping");
        b.send(Message::from("pong"));
        assert_eq!(&*a.rx.read().unwrap(), b"pong");
        b.close(0);
        assert!(a.tx.is_reader_gone() && a.rx.is_terminated());
    }
}
