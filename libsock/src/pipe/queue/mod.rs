//! A one-way, single-writer single-reader queue of message frames with a high water mark.
//!
//! The frames travel through a lock-free [`ring`](crate::sys::ring): the writer publishes each batch
//! of complete messages with one atomic swap, and wakes the reader only when it had parked on
//! an empty queue; the reader pops without any atomic operation until its batch runs out.
//! Multipart messages are staged privately by the writer until their last frame arrives, so a
//! reader never sees half of one. HWM accounting compares the writer's count of written
//! messages with the reader's credit (an atomic the writer reads only when its cached copy
//! says the queue is full): the messages consumed, counted in steps of libzmq's low water
//! mark, so a full writer gets room back a batch at a time, as in libzmq. A mutex guards
//! only what changes rarely (who to wake, the writer's LINGER).
//!
//! CONFLATE queues bypass the ring: each whole message replaces the previous one in a
//! one-message slot under a lock (a slow path by design: only the newest message matters).

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::message::Message;
use crate::sys::ring::ring;

use super::progress::Progress;

mod credit;
mod reader;
mod writer;

use credit::next_publish;
pub(crate) use reader::Reader;
pub(crate) use writer::Writer;

/// Something that can be woken: a socket's signal or an I/O thread's connection.
pub(crate) trait Wake: Send + Sync {
    /// Tells the owner that a queue it parked on has changed.
    fn wake(&self);
}

/// A way around the queue straight to the reader's destination (a connection's socket):
/// the direct send path of `engine::direct`. The writer offers a whole message only while the
/// queue is drained (everything written before it has been taken by the reader), so order is
/// kept; the sink refuses (returns false) whenever it cannot take the message at once, and
/// the message then goes through the queue as usual.
pub(crate) trait DirectSink: Send + Sync {
    /// Takes the message `frames` + `last` whole, or refuses it whole. Never blocks.
    fn try_send(&self, frames: &[Message], last: &Message) -> bool;
}

/// A way for the reader's thread to take messages from where this queue's writer gets them
/// (a connection's stream) while the queue is empty: the direct receive path of
/// `engine::direct_rx`. Defined here and implemented by the engine, like [`DirectSink`].
pub(crate) trait DirectSource: Send + Sync {
    /// Waits, on the reader's thread, until a whole message can be read from the source
    /// (appended to `out`, whole messages only), `wake_fd` (the reader's own signal) becomes
    /// readable, or `deadline` passes. `idle` says whether the queue is still empty and
    /// nothing else woke the reader; the source calls it under its lock, so nothing the
    /// writer publishes can fall between the check and the wait. Never blocks while `idle`
    /// is false or the source cannot be used ([`Waited::Refused`]). `interruptible`: a
    /// signal handler running ends the wait ([`Waited::Interrupted`]), as in libzmq.
    fn wait(
        &self,
        wake_fd: RawFd,
        deadline: Option<Instant>,
        interruptible: bool,
        idle: &mut dyn FnMut() -> bool,
        out: &mut VecDeque<Message>,
    ) -> Waited;

    /// The reader's thread now relies on the writer's side to read the source (it asks for
    /// the socket's events, does not wait, waits the usual way or closes): whatever a
    /// [`DirectSource::wait`] kept for itself across calls is given back, after appending
    /// to `out` the whole messages already there (they follow everything queued). Cheap
    /// when nothing is kept; never blocks for long. `sync`: the writer may be handing the
    /// source over just now (`engine::direct_rx` rule 8): look under the source's lock,
    /// not at a hint. `queue_empty` says, under that lock, whether the queue is empty: when
    /// it is not, what the source kept goes back to the writer, to be queued after it.
    fn release(&self, out: &mut VecDeque<Message>, sync: bool, queue_empty: &mut dyn FnMut() -> bool);
}

/// How [`DirectSource::wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// Whole messages were appended to `out` (and maybe something else happened too).
    Got,
    /// Something else may have happened: look again.
    Woken,
    /// The deadline passed with nothing to read.
    TimedOut,
    /// A signal handler ran with nothing to read (an interruptible wait only).
    Interrupted,
    /// The source cannot be used now (the I/O thread holds input, the link is down): wait
    /// the usual way.
    Refused,
}

/// A writer waiting for room also gets credit for everything taken once the reader took
/// this many body bytes since it saw the writer waiting, before the next low water mark:
/// with large messages a writer left waiting for half the HWM stalls the stream behind it
/// (the receiving I/O thread stops reading, the kernel's window closes) for megabytes,
/// which cost more than the wakes. libzmq has no such bound.
const WAKE_AFTER_BYTES: usize = 256 * 1024;

/// libzmq 4.3's low water mark for a queue bounded to `hwm` (`pipe_t::compute_lwm`): the
/// reader gives its writer credit each time it has taken this many messages. Half the HWM,
/// so a refilled queue is neither empty nor lock-stepped. 0 for an unbounded queue.
fn low_water_mark(hwm: u64) -> u64 {
    hwm.div_ceil(2)
}

struct Shared {
    /// Whole messages the reader has consumed, and whether the writer, finding the queue
    /// full, waits to hear that the count moved.
    progress: Progress,
    writer_closed: AtomicBool,
    reader_closed: AtomicBool,
    /// CONFLATE: each whole message replaces the one in `newest`; no HWM.
    conflate: AtomicBool,
    /// CONFLATE: the newest whole message the reader has not taken yet.
    newest: Mutex<Vec<Message>>,
    rare: Mutex<Rare>,
    /// Bumped whenever `Rare::direct` changes, so the writer re-reads it only then.
    direct_gen: AtomicU64,
    /// The high water mark, as last set by either end (SNDHWM/RCVHWM changed after connect,
    /// an inproc bind summing both sides'). The writer caches it and reloads it whenever
    /// its cached bound says full, so a raised bound is seen then and a lowered one at once
    /// when the writer's own socket lowered it.
    bound: AtomicU64,
}

/// What changes rarely: set at attach and close.
struct Rare {
    reader_waker: Option<Arc<dyn Wake>>,
    writer_waker: Option<Arc<dyn Wake>>,
    /// The writer's LINGER at close, for the reader to honour.
    linger_ms: i32,
    /// Where the writer may send whole messages directly while the queue is drained.
    direct: Option<Arc<dyn DirectSink>>,
    /// Where the reader may take messages directly while the queue is empty.
    source: Option<Arc<dyn DirectSource>>,
    /// The local and remote endpoints of the connection this queue serves, as monitor
    /// events name them (`ZMQ_EVENT_PIPES_STATS`).
    ends: Option<Arc<(String, String)>>,
}

/// A writer's copy of its reader's direct sink, and the `direct_gen` it was read at.
struct DirectCache {
    sink: Option<Arc<dyn DirectSink>>,
    seen: u64,
}

/// A reader's copy of its writer's direct source, and the `direct_gen` it was read at.
struct SourceCache {
    source: Option<Arc<dyn DirectSource>>,
    seen: u64,
}

impl Shared {
    /// Messages queued as the high water mark counts them, as libzmq's `msgs_written -
    /// peers_msgs_read`: the reader's credit moves in low water mark steps, so a queue at
    /// its high water mark whose reader is stuck reports the high water mark. A reader that
    /// took everything (as last published) leaves 0, however the credit lags.
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    fn queued_as_libzmq(&self, written: u64) -> u64 {
        if self.progress.seen() >= written {
            return 0;
        }
        written.saturating_sub(self.progress.credit())
    }

    fn wake_reader(&self) {
        let waker = self.rare.lock().reader_waker.clone();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn wake_writer(&self) {
        let waker = self.rare.lock().writer_waker.clone();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Creates a queue bounded to `hwm` whole messages (0 = unbounded).
pub(crate) fn queue(hwm: u64) -> (Writer, Reader) {
    let shared = Arc::new(Shared {
        progress: Progress::new(),
        writer_closed: AtomicBool::new(false),
        reader_closed: AtomicBool::new(false),
        conflate: AtomicBool::new(false),
        newest: Mutex::new(Vec::new()),
        rare: Mutex::new(Rare {
            reader_waker: None,
            writer_waker: None,
            linger_ms: -1,
            direct: None,
            source: None,
            ends: None,
        }),
        direct_gen: AtomicU64::new(0),
        bound: AtomicU64::new(hwm),
    });
    let (producer, consumer) = ring();
    let writer = Writer {
        shared: shared.clone(),
        ring: producer,
        staged: Vec::new(),
        written: 0,
        credit: 0,
        hwm,
        conflated: false,
        direct: None,
        waited: false,
        last_meta: None,
    };
    let reader = Reader {
        shared,
        ring: consumer,
        local: None,
        read: 0,
        published: 0,
        terminated: false,
        mid: false,
        meta: None,
        credit: 0,
        publish_at: next_publish(0, 0, low_water_mark(hwm)),
        bytes_since_wait: None,
        wake_after_bytes: WAKE_AFTER_BYTES,
        source: None,
        direct_unread: 0,
        farewell: None,
    };
    (writer, reader)
}

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(test)]
mod tests;
