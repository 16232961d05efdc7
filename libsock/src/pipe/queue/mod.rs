//! A one-way, single-writer single-reader queue of message frames with a high water mark.
//!
//! The frames travel through a lock-free [`ring`](super::ring): the writer publishes each batch
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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::message::{Message, Metadata};
use crate::sys::ring::{ring, Consumer, Producer};

use super::progress::Progress;

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
    /// is false or the source cannot be used ([`Waited::Refused`]).
    fn wait(
        &self,
        wake_fd: RawFd,
        deadline: Option<Instant>,
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
    /// The source cannot be used now (the I/O thread holds input, the link is down): wait
    /// the usual way.
    Refused,
}

/// A reader publishes its progress at least this often (in messages).
const PUBLISH_EVERY: u64 = 32;
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

/// The writing side of a queue.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    ring: Producer<Message>,
    /// The frames of a multipart message until its last one is written.
    staged: Vec<Message>,
    written: u64,
    /// The reader's credit as last read (see [`Progress::credit`]).
    credit: u64,
    hwm: u64,
    /// CONFLATE: a message went to the slot since the last flush.
    conflated: bool,
    /// The reader's direct sink as last read from `Rare::direct` (boxed: pipe ends travel
    /// in commands, and most never meet a sink).
    direct: Option<Box<DirectCache>>,
    /// The sending thread waited on its socket since its last whole message here.
    waited: bool,
    /// The connection metadata last attached to a frame ([`Writer::write_received`]).
    last_meta: Option<Arc<Metadata>>,
}

impl Writer {
    /// Whether a new message fits under the high water mark. When it does not, the writer is
    /// registered for a wake-up once the reader makes room (or goes away).
    #[inline]
    pub(crate) fn can_write(&mut self) -> bool {
        if self.hwm == 0 || self.written - self.credit < self.hwm {
            return !self.is_reader_gone();
        }
        self.credit = self.shared.progress.credit();
        self.hwm = self.shared.bound.load(Ordering::Relaxed);
        if self.hwm == 0 || self.written - self.credit < self.hwm || self.conflating() || self.is_empty() {
            return !self.is_reader_gone();
        }
        self.credit = self.shared.progress.register_and_read();
        (self.written - self.credit < self.hwm || self.is_empty()) && !self.is_reader_gone()
    }

    /// Whether a new message fits under the high water mark, *without* asking for a wake-up
    /// when it does not: for writers that drop at the HWM and never wait for room (PUB,
    /// XPUB without NODROP). [`Writer::can_write`] would register the writer (a fenced
    /// store on a line the reader polls) and make the reader publish its progress and wake
    /// the writer's socket after every message it takes: per message, per full subscriber.
    /// Here the writer only re-reads the reader's credit, which moves in steps of the low
    /// water mark, so a full pipe refills and drains in batches, as libzmq's LWM does.
    #[inline]
    pub(crate) fn has_room(&mut self) -> bool {
        if self.hwm != 0 && self.written - self.credit >= self.hwm {
            self.credit = self.shared.progress.credit();
            self.hwm = self.shared.bound.load(Ordering::Relaxed);
            if self.hwm != 0
                && self.written - self.credit >= self.hwm
                && !self.conflating()
                && !self.is_empty()
            {
                return false;
            }
        }
        !self.is_reader_gone()
    }

    /// Whether the reader took everything written (as last published). Full by the credit
    /// yet empty happens only after the bound was lowered (normally the credit lags `read`
    /// by less than a low water mark, which is at most the bound): a drained reader moves
    /// the credit no more, so room is never withheld from an empty queue.
    #[cold]
    fn is_empty(&self) -> bool {
        self.shared.progress.seen() == self.written
    }

    /// Appends a frame. It becomes visible to the reader at the next [`Writer::flush`], and only
    /// once the frame that ends its message (no MORE flag) was written too.
    #[inline(always)]
    pub(crate) fn write(&mut self, msg: Message) {
        // The common case inline (a whole single-frame message, nothing staged or special),
        // so the 56-byte message moves once, into its slot.
        if !msg.get_more() && !self.waited && self.staged.is_empty() && !self.conflating() {
            self.written += 1;
            if !self.is_reader_gone() {
                self.ring.push(msg);
            }
            return;
        }
        self.write_general(msg);
    }

    #[inline(never)]
    fn write_general(&mut self, msg: Message) {
        let last = !msg.get_more();
        if last && self.waited && self.try_direct(&msg) {
            return;
        }
        if last && self.staged.is_empty() && !self.conflating() {
            self.written += 1;
            if !self.is_reader_gone() {
                self.ring.push(msg);
            }
            return;
        }
        self.staged.push(msg);
        if last {
            self.written += 1;
            if self.is_reader_gone() {
                self.staged.clear();
            } else if self.conflating() {
                *self.shared.newest.lock() = std::mem::take(&mut self.staged);
                self.conflated = true;
            }
            for m in self.staged.drain(..) {
                self.ring.push(m);
            }
        }
    }

    /// Appends a frame received from a connection with metadata `meta`. Only the first frame
    /// after a change carries the `Arc`; the others are marked and the reader attaches it, so
    /// the count is never touched per message by two threads (a cache line crossing cores).
    /// CONFLATE may drop any frame, so there every frame carries its own.
    #[inline(always)]
    pub(crate) fn write_received(&mut self, mut msg: Message, meta: Option<&Arc<Metadata>>) {
        if let Some(meta) = meta {
            if !self.conflating() && self.last_meta.as_ref().is_some_and(|l| Arc::ptr_eq(l, meta)) {
                msg.set_inherits_metadata();
            } else {
                msg.set_metadata(meta.clone());
                self.last_meta = Some(meta.clone());
            }
        }
        self.write(msg);
    }

    /// Offers the message ending with `last` (sent after the thread waited: see
    /// [`Writer::note_wait`]) to the reader's direct sink, if it has one and the queue is
    /// drained: nothing this writer wrote is still waiting, so the message cannot
    /// overtake an earlier one. Direct messages never count against the HWM (they are not
    /// queued); the sink bounds what it holds itself.
    #[cold]
    #[inline(never)]
    fn try_direct(&mut self, last: &Message) -> bool {
        self.waited = false;
        let generation = self.shared.direct_gen.load(Ordering::Acquire);
        if self.direct.as_ref().is_none_or(|d| d.seen != generation) {
            let sink = self.shared.rare.lock().direct.clone();
            self.direct = Some(Box::new(DirectCache { sink, seen: generation }));
        }
        let Some(sink) = self.direct.as_ref().and_then(|d| d.sink.as_ref()) else { return false };
        if self.shared.progress.seen() != self.written || self.conflating() || self.is_reader_gone() {
            return false;
        }
        if !sink.try_send(&self.staged, last) {
            return false;
        }
        self.staged.clear();
        true
    }

    /// The sending thread is about to wait on its socket (see `engine::direct`: the next
    /// message may be written directly).
    #[inline]
    pub(crate) fn note_wait(&mut self) {
        self.waited = true;
    }

    /// Publishes every complete message written so far, waking a parked reader.
    #[inline]
    pub(crate) fn flush(&mut self) {
        #[cfg(feature = "draft")]
        self.shared.progress.note_written(self.written);
        let conflated = std::mem::take(&mut self.conflated);
        if self.ring.publish() || conflated {
            self.shared.wake_reader();
        }
    }

    #[inline]
    fn conflating(&self) -> bool {
        self.shared.conflate.load(Ordering::Relaxed)
    }

    /// The high water mark this queue is bounded by now.
    pub(crate) fn hwm(&self) -> u64 {
        self.shared.bound.load(Ordering::Relaxed)
    }

    /// Messages queued, as libzmq counts them for `ZMQ_EVENT_PIPES_STATS` (`Shared::queued_as_libzmq`).
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    pub(crate) fn queued(&self) -> u64 {
        self.shared.queued_as_libzmq(self.written)
    }

    /// Bounds the queue anew (SNDHWM changed on the writer's socket): applies to the next
    /// message already.
    pub(crate) fn set_hwm(&mut self, hwm: u64) {
        self.hwm = hwm;
        self.shared.bound.store(hwm, Ordering::Relaxed);
    }

    /// Makes this queue keep only its newest message (CONFLATE).
    pub(crate) fn set_conflate(&self) {
        self.shared.conflate.store(true, Ordering::Relaxed);
    }

    /// Drops the frames of a half-written message (its connection broke mid-message).
    pub(crate) fn discard_incomplete(&mut self) {
        self.staged.clear();
        // A dropped frame may have been the one carrying the metadata.
        self.last_meta = None;
    }

    /// Writes a whole single-frame message and publishes it: the sockets' fast path.
    #[inline]
    pub(crate) fn send_one(&mut self, msg: Message) {
        debug_assert!(!msg.get_more());
        self.write(msg);
        self.flush();
    }

    /// True while a multipart message is half written.
    pub(crate) fn in_message(&self) -> bool {
        !self.staged.is_empty()
    }

    /// Whether the reading end has closed: nothing written will be delivered.
    #[inline]
    pub(crate) fn is_reader_gone(&self) -> bool {
        self.shared.reader_closed.load(Ordering::Acquire)
    }

    /// Offers the reader a direct way to the messages this writer would write (`None`:
    /// withdraw it). The reader sees the change at its next wait.
    pub(crate) fn set_direct_source(&self, source: Option<Arc<dyn DirectSource>>) {
        self.shared.rare.lock().source = source;
        self.shared.direct_gen.fetch_add(1, Ordering::Release);
    }

    /// Names the connection's two ends for `ZMQ_EVENT_PIPES_STATS`, for the reader to read.
    pub(crate) fn set_ends(&self, ends: Arc<(String, String)>) {
        self.shared.rare.lock().ends = Some(ends);
    }

    /// Sets who is woken when the reader makes room.
    pub(crate) fn set_waker(&self, waker: Arc<dyn Wake>) {
        self.shared.rare.lock().writer_waker = Some(waker);
    }

    /// Publishes what is complete, drops a half-written message and tells the reader that
    /// nothing more will come. `linger_ms` is how long the reader should still try to deliver.
    pub(crate) fn close(&mut self, linger_ms: i32) {
        self.staged.clear();
        self.ring.publish();
        self.shared.rare.lock().linger_ms = linger_ms;
        // After the publish: a reader that sees the flag sees every message before it.
        self.shared.writer_closed.store(true, Ordering::Release);
        self.shared.wake_reader();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.shared.writer_closed.load(Ordering::Relaxed) {
            self.close(0);
        }
    }
}

/// A writer's copy of its reader's direct sink, and the `direct_gen` it was read at.
struct DirectCache {
    sink: Option<Arc<dyn DirectSink>>,
    seen: u64,
}

/// The reading side of a queue.
pub(crate) struct Reader {
    shared: Arc<Shared>,
    ring: Consumer<Message>,
    /// Frames taken out of the ring by [`Reader::retain_queued`], read before the ring
    /// (boxed: most pipes never need it, and pipe ends travel in commands).
    #[allow(clippy::box_collection)]
    local: Option<Box<VecDeque<Message>>>,
    read: u64,
    /// The last value stored in `Shared::read`.
    published: u64,
    terminated: bool,
    /// The last frame read had MORE set (CONFLATE must not cut a message in two).
    mid: bool,
    /// The connection metadata of the frames read so far (see [`Writer::write_received`]).
    meta: Option<Arc<Metadata>>,
    /// What the writer's HWM counts as taken: `read` in steps of the low water mark (see
    /// [`Reader::publish_progress`]).
    credit: u64,
    /// `read` at which to publish next (`PUBLISH_EVERY` or the next low water mark step).
    publish_at: u64,
    /// Body bytes taken since this reader saw the writer waiting (`None`: not seen waiting).
    bytes_since_wait: Option<usize>,
    /// [`WAKE_AFTER_BYTES`], or `usize::MAX` where only the low water mark wakes the writer
    /// ([`Reader::wake_writer_at_low_water_marks_only`]).
    wake_after_bytes: usize,
    /// The writer's direct source as last read from `Rare::source` (boxed, as `Writer::direct`).
    source: Option<Box<SourceCache>>,
    /// Whole messages in `local` that came from the direct source: never written by the
    /// writer, so reading them does not count towards its high water mark.
    direct_unread: u64,
    /// Read once after the writer closed and everything it published was read (see
    /// [`Reader::set_farewell`]; boxed, as `source`).
    farewell: Option<Box<Message>>,
}

/// A reader's copy of its writer's direct source, and the `direct_gen` it was read at.
struct SourceCache {
    source: Option<Arc<dyn DirectSource>>,
    seen: u64,
}

impl Reader {
    /// Makes this queue keep only its newest message (CONFLATE), dropping older ones already
    /// queued (a pipe may be written before its reader learns the option).
    pub(crate) fn set_conflate(&mut self) {
        self.shared.conflate.store(true, Ordering::Relaxed);
        let local = self.local.get_or_insert_with(Default::default);
        while let Some(m) = self.ring.pop() {
            local.push_back(m);
        }
        // Frames about to go may carry the metadata later ones inherit.
        for m in local.iter_mut() {
            m.inherit_metadata(&mut self.meta);
        }
        let frames = local.make_contiguous();
        let start =
            frames[..frames.len().saturating_sub(1)].iter().rposition(|m| !m.get_more()).map_or(0, |i| i + 1);
        let dropped = frames[..start].iter().filter(|m| !m.get_more()).count() as u64;
        local.drain(..start);
        if dropped > 0 {
            self.read += dropped;
            self.publish_read();
        }
    }

    /// CONFLATE: the newest message, if one came, replaces everything older (not mid-message).
    #[cold]
    fn take_newest(&mut self) {
        if self.mid {
            return;
        }
        let frames = std::mem::take(&mut *self.shared.newest.lock());
        if frames.is_empty() {
            return;
        }
        while self.ring.pop().is_some() {}
        let local = self.local.get_or_insert_with(Default::default);
        local.clear();
        local.extend(frames);
    }

    #[inline]
    fn newest_waiting(&self) -> bool {
        self.shared.conflate.load(Ordering::Relaxed) && !self.shared.newest.lock().is_empty()
    }

    #[inline]
    fn next_frame(&mut self) -> Option<Message> {
        match self.local.as_mut().and_then(|l| l.pop_front()) {
            Some(m) => Some(m),
            None => self.ring.pop(),
        }
    }

    /// Pops the next frame, or `None` when nothing is published (the reader is then parked:
    /// the writer's next publish wakes it) or the writer closed ([`Reader::is_terminated`]).
    #[inline(always)]
    pub(crate) fn read(&mut self) -> Option<Message> {
        // The common case inline: straight from the ring (nothing set aside in `local`, so
        // no direct messages either; no CONFLATE).
        if self.reads_ring_only() {
            if let Some(mut msg) = self.ring.pop() {
                self.took_from_ring(&mut msg);
                return Some(msg);
            }
        }
        self.read_general()
    }

    /// [`Reader::read`] into `out`, which holds a cleared message (see
    /// `Message::put_cleared`); returns whether a frame came. The frame goes from the ring
    /// to where the caller keeps it (the C API's `zmq_msg_t`), without the moves through
    /// the `Option` and `Result`s of a returned one (~20 instructions a frame).
    #[inline(always)]
    pub(crate) fn read_into(&mut self, out: &mut Message) -> bool {
        if self.reads_ring_only() {
            if let Some(msg) = self.ring.pop() {
                out.put_cleared(msg);
                self.took_from_ring(out);
                return true;
            }
        }
        match self.read_general() {
            Some(msg) => {
                out.put_cleared(msg);
                true
            }
            None => false,
        }
    }

    /// Whether the next frame, if any, is the ring's: nothing set aside in `local` (so no
    /// direct messages either), no CONFLATE.
    #[inline(always)]
    fn reads_ring_only(&self) -> bool {
        self.local_is_empty() && !self.shared.conflate.load(Ordering::Relaxed)
    }

    /// The bookkeeping of a frame just popped from the ring by [`Reader::read`] or
    /// [`Reader::read_into`].
    #[inline(always)]
    fn took_from_ring(&mut self, msg: &mut Message) {
        debug_assert_eq!(self.direct_unread, 0);
        msg.inherit_metadata(&mut self.meta);
        self.mid = msg.get_more();
        if !self.mid {
            self.read += 1;
            let drained = self.ring.batch_done();
            let bytes_due = self.count_bytes_if_waited(msg.len());
            if self.read >= self.publish_at || drained || bytes_due {
                self.publish_progress(drained);
            }
        }
    }

    /// [`Reader::read`] when the ring is empty, frames wait in `local` or CONFLATE is on.
    #[inline(never)]
    fn read_general(&mut self) -> Option<Message> {
        if self.shared.conflate.load(Ordering::Relaxed) {
            self.take_newest();
        } else if self.direct_unread > 0 {
            // A direct flood's frames (`engine::direct_rx` rule 8): straight from `local`,
            // with none of the ring's bookkeeping (they were never queued).
            if let Some(mut msg) = self.local.as_mut().and_then(|l| l.pop_front()) {
                msg.inherit_metadata(&mut self.meta);
                self.mid = msg.get_more();
                self.direct_unread -= u64::from(!self.mid);
                return Some(msg);
            }
        }
        let msg = match self.next_frame() {
            Some(m) => m,
            None if self.refill() => {
                if self.shared.conflate.load(Ordering::Relaxed) {
                    self.take_newest();
                }
                self.next_frame()?
            }
            None => return None,
        };
        let mut msg = msg;
        msg.inherit_metadata(&mut self.meta);
        self.mid = msg.get_more();
        if !msg.get_more() {
            if self.direct_unread > 0 {
                // Direct messages sit in `local` ahead of the ring: this was one of them.
                self.direct_unread -= 1;
                return Some(msg);
            }
            self.read += 1;
            // Tell the writer how far we got in batches (its credit in low water mark steps,
            // sooner after many bytes if it waits for room), and always when the batch is
            // used up (so a waiting writer is never left stale).
            let drained = self.local_is_empty() && self.ring.batch_done();
            let bytes_due = self.count_bytes_if_waited(msg.len());
            if self.read >= self.publish_at || drained || bytes_due {
                self.publish_progress(drained);
            }
        }
        Some(msg)
    }

    /// Drops queued single-frame messages for which `keep` is false, without counting
    /// anything as read by the user (the writer's HWM view is unchanged).
    pub(crate) fn retain_queued(&mut self, keep: impl Fn(&Message) -> bool) {
        let local = self.local.get_or_insert_with(Default::default);
        while let Some(m) = self.ring.pop() {
            local.push_back(m);
        }
        for m in local.iter_mut() {
            m.inherit_metadata(&mut self.meta);
        }
        let before = local.len();
        let mut prev_more = false;
        local.retain(|m| {
            let whole = !prev_more && !m.get_more();
            prev_more = m.get_more();
            !whole || keep(m)
        });
        // Dropped messages were never read: account for them so HWM stays right.
        let dropped = (before - local.len()) as u64;
        if dropped > 0 {
            self.read += dropped;
            self.publish_read();
        }
    }

    /// Whether a frame can be read now (parks the reader when not).
    pub(crate) fn has_message(&mut self) -> bool {
        !self.local_is_empty() || self.ring.ready() || self.refill()
    }

    /// Whether the writer offers a direct source (see [`DirectSource`]).
    pub(crate) fn has_direct_source(&mut self) -> bool {
        self.direct_source().is_some()
    }

    fn direct_source(&mut self) -> Option<Arc<dyn DirectSource>> {
        let generation = self.shared.direct_gen.load(Ordering::Acquire);
        if self.source.as_ref().is_none_or(|c| c.seen != generation) {
            let source = self.shared.rare.lock().source.clone();
            self.source = Some(Box::new(SourceCache { source, seen: generation }));
        }
        self.source.as_ref().and_then(|c| c.source.clone())
    }

    /// The queue is empty and the reader's thread is about to sleep: waits on the writer's
    /// direct source instead (see [`DirectSource::wait`]); `None` without one. Messages it
    /// yields are queued here, ahead of anything the writer publishes later (the source
    /// hands out messages only while the queue is empty, under its lock).
    #[cold]
    pub(crate) fn wait_direct(
        &mut self,
        wake_fd: RawFd,
        deadline: Option<Instant>,
        idle: &mut dyn FnMut() -> bool,
    ) -> Option<Waited> {
        let source = self.direct_source()?;
        if !self.local_is_empty() || self.shared.conflate.load(Ordering::Relaxed) {
            return None;
        }
        // Decoded straight into `local` (empty, checked above): no batch moved twice.
        let local = self.local.get_or_insert_with(Default::default);
        let ring = &mut self.ring;
        let waited = source.wait(wake_fd, deadline, &mut || idle() && !ring.ready(), local);
        self.direct_unread += local.iter().filter(|m| !m.get_more()).count() as u64;
        Some(waited)
    }

    /// See [`DirectSource::release`]; nothing without a direct source. Returns whether it
    /// queued messages here.
    #[cold]
    pub(crate) fn release_direct(&mut self, sync: bool) -> bool {
        let Some(source) = self.direct_source() else { return false };
        let local = self.local.get_or_insert_with(Default::default);
        let before = local.len();
        let ring = &mut self.ring;
        source.release(local, sync, &mut || !ring.ready());
        let got = local.len() - before;
        self.direct_unread += local.iter().skip(before).filter(|m| !m.get_more()).count() as u64;
        got > 0
    }

    /// DISCONNECT_MSG over inproc: `msg` is read as the writer's last message once it has
    /// closed (its socket closed or disconnected), as libzmq's `pipe_t::send_disconnect_msg`
    /// writes it when the connecting socket ends the pipe. Kept here, on the reading side,
    /// so the binder that wants it needs no hold on the connector's end (which a connect
    /// before the bind already attached to its socket).
    pub(crate) fn set_farewell(&mut self, msg: Option<Message>) {
        self.farewell = msg.map(Box::new);
    }

    /// Whether the writer closed and everything it published has been read.
    pub(crate) fn is_terminated(&mut self) -> bool {
        if !self.terminated && self.local_is_empty() && !self.ring.ready() {
            self.refill();
        }
        self.terminated
    }

    /// The writer is woken for room at the low water mark steps only, as in libzmq, not
    /// also after [`WAKE_AFTER_BYTES`]. For the queues an I/O thread reads (what the
    /// application sends): a waiting application thread stalls nothing while its queue
    /// holds half the HWM, and waking it every 256 KiB cost 64 KiB streams a futex wake and
    /// two context switches per ~4 messages (on one core, a third of the sender's time).
    pub(crate) fn wake_writer_at_low_water_marks_only(&mut self) {
        self.wake_after_bytes = usize::MAX;
    }

    /// Messages queued by the writer as of its last flush, as libzmq counts them
    /// (`Shared::queued_as_libzmq`).
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    pub(crate) fn queued(&self) -> u64 {
        self.shared.queued_as_libzmq(self.shared.progress.written())
    }

    /// The high water mark this queue is bounded by now.
    pub(crate) fn hwm(&self) -> u64 {
        self.shared.bound.load(Ordering::Relaxed)
    }

    /// Bounds the queue anew from the reading side (RCVHWM changed on the reader's socket,
    /// an inproc bind adding its share). A writer waiting at the old bound is woken to look
    /// again; one that is not sees the new bound when its cached one says full.
    pub(crate) fn set_hwm(&mut self, hwm: u64) {
        self.shared.bound.store(hwm, Ordering::Relaxed);
        self.publish_at = next_publish(self.published, self.credit, low_water_mark(hwm));
        if self.shared.progress.writer_waits() {
            self.shared.wake_writer();
        }
    }

    /// The writer's LINGER in ms, valid once it closed (-1 = forever).
    pub(crate) fn linger_ms(&self) -> i32 {
        self.shared.rare.lock().linger_ms
    }

    /// Whether the writer has closed (messages may still be waiting to be read).
    pub(crate) fn is_writer_closed(&self) -> bool {
        self.shared.writer_closed.load(Ordering::Acquire)
    }

    /// The connection's ends as its writer named them (`("", "")` if never: inproc).
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    pub(crate) fn ends(&self) -> Arc<(String, String)> {
        self.shared.rare.lock().ends.clone().unwrap_or_default()
    }

    /// Sets who is woken when something is published.
    pub(crate) fn set_waker(&self, waker: Arc<dyn Wake>) {
        self.shared.rare.lock().reader_waker = Some(waker);
    }

    /// Offers the writer a direct path to where this reader's messages go (`None`: withdraw
    /// it). The writer sees the change at its next whole message.
    pub(crate) fn set_direct(&self, sink: Option<Arc<dyn DirectSink>>) {
        self.shared.rare.lock().direct = sink;
        self.shared.direct_gen.fetch_add(1, Ordering::Release);
    }

    /// Stops reading: drops everything queued and lets the writer know.
    pub(crate) fn close(&mut self) {
        self.local = None;
        self.shared.reader_closed.store(true, Ordering::Release);
        // What the writer publishes after seeing the flag it drops itself; what raced past
        // it is freed with the ring.
        while self.ring.pop().is_some() {}
        self.shared.progress.forget_writer();
        self.shared.wake_writer();
    }

    #[inline]
    fn local_is_empty(&self) -> bool {
        self.local.as_ref().is_none_or(|l| l.is_empty())
    }

    /// The ring is empty: true if frames arrived after all; otherwise notes termination or
    /// parks (the writer's next publish wakes us).
    #[cold]
    fn refill(&mut self) -> bool {
        if self.ring.ready() || self.newest_waiting() {
            return true;
        }
        if self.shared.writer_closed.load(Ordering::Acquire) {
            // The writer published before closing: look once more.
            if self.ring.ready() || self.newest_waiting() {
                return true;
            }
            if let Some(msg) = self.farewell.take() {
                // Never written by the writer: like a direct message, it is not counted
                // towards the writer's high water mark.
                self.direct_unread += 1;
                self.local.get_or_insert_with(Default::default).push_back(*msg);
                return true;
            }
            self.terminated = true;
            return false;
        }
        !self.ring.park()
    }

    /// Publishes `read` and the writer's credit, and decides on waking a waiting writer.
    ///
    /// The credit is libzmq's `activate_write`: it moves only in steps of the low water mark
    /// (each time the reader has taken that many since the last step), so a full writer,
    /// polling or asleep, gets room back a batch at a time and never for one message taken,
    /// even one that empties the queue; what a chain of full queues holds is then as in
    /// libzmq (its test_proxy_hwm: 20, 30 or 40 messages through a proxy at HWM 10). The
    /// one difference: a waiting writer also gets credit for everything taken once
    /// `WAKE_AFTER_BYTES` of bodies went since the reader saw it wait.
    ///
    /// A waiting writer is woken when its credit moves or the reader has run dry (on an
    /// application thread, an eventfd write per wake: once per batch, not per message).
    /// Only a wake decision needs the full fence ([`Progress::publish_and_claim_wake`]: the
    /// reader's store and the writer's registration, each followed by a load of the other's,
    /// as in Dekker's algorithm): otherwise the counts are published with plain release
    /// stores. A writer that starts waiting meanwhile is seen at the next decision at the
    /// latest, and the reader always decides when it runs dry, where a writer that was full
    /// always has credit again (the queue held at least a low water mark more than its credit).
    #[inline]
    fn publish_progress(&mut self, drained: bool) {
        self.published = self.read;
        let mut stepped = self.step_credit();
        let waits = self.shared.progress.writer_waits();
        if waits && self.bytes_since_wait.is_some_and(|b| b >= self.wake_after_bytes) {
            if self.credit < self.read {
                self.credit = self.read;
                self.publish_at = next_publish(self.published, self.credit, self.lwm());
                stepped = true;
            }
            // Credit for everything taken: bytes count from here.
            self.bytes_since_wait = None;
        }
        if stepped {
            // Bytes count from the last step.
            self.bytes_since_wait = None;
        }
        // A wake decision when it ran dry or a waiting writer's credit moved.
        let decide = drained || (waits && stepped);
        if !decide {
            self.shared.progress.publish(self.read, stepped.then_some(self.credit));
            return;
        }
        if self.shared.progress.publish_and_claim_wake(self.read, self.credit) {
            self.shared.wake_writer();
        }
    }

    /// Counts a taken message's body bytes while the writer waits for room; true once they
    /// reach [`WAKE_AFTER_BYTES`]. Only this runs per message while a writer waits: the
    /// credit's steps come at `publish_at`, so taking a message publishes nothing between
    /// them (before, every message taken from a full queue went through
    /// [`Reader::publish_progress`], ~40 instructions and a release store each).
    #[inline(always)]
    fn count_bytes_if_waited(&mut self, len: usize) -> bool {
        if !self.shared.progress.writer_waits() {
            return false;
        }
        let bytes = self.bytes_since_wait.get_or_insert(0);
        *bytes += len;
        *bytes >= self.wake_after_bytes
    }

    #[inline]
    fn lwm(&self) -> u64 {
        low_water_mark(self.shared.bound.load(Ordering::Relaxed))
    }

    /// Moves the credit on by whole low water marks of the bound now; true if it moved.
    /// Also sets when to publish next.
    #[inline]
    fn step_credit(&mut self) -> bool {
        let lwm = self.lwm();
        let behind = self.read - self.credit;
        let stepped = if lwm == 0 { behind > 0 } else { behind >= lwm };
        if stepped {
            self.credit = self.read - if lwm == 0 { 0 } else { behind % lwm };
        }
        self.publish_at = next_publish(self.published, self.credit, lwm);
        stepped
    }

    #[inline]
    fn publish_read(&mut self) {
        self.bytes_since_wait = None;
        self.published = self.read;
        self.step_credit();
        if self.shared.progress.publish_and_claim_wake(self.read, self.credit) {
            self.shared.wake_writer();
        }
    }
}

/// The `read` count at which a reader publishes next: after `PUBLISH_EVERY` more, or when
/// the credit can move by a low water mark, whichever comes first.
fn next_publish(published: u64, credit: u64, lwm: u64) -> u64 {
    let every = published + PUBLISH_EVERY;
    if lwm == 0 {
        every
    } else {
        every.min(credit + lwm)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if !self.shared.reader_closed.load(Ordering::Relaxed) {
            self.close();
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(test)]
mod tests {
    #[test]
    fn conflate_keeps_only_the_newest_whole_message() {
        let (mut w, mut r) = queue(2);
        w.set_conflate();
        for i in 0..10 {
            assert!(w.can_write(), "CONFLATE ignores the HWM");
            w.send_one(Message::from(format!("{i}")));
        }
        assert_eq!(&*r.read().unwrap(), b"9");
        assert!(r.read().is_none());
        let mut head = Message::from("a");
        head.set_more(true);
        w.write(head.clone());
        w.write(Message::from("b"));
        w.write(head);
        w.write(Message::from("c"));
        w.flush();
        assert_eq!(&*r.read().unwrap(), b"a");
        assert_eq!(&*r.read().unwrap(), b"c");
        assert!(r.read().is_none() && w.can_write());
    }

    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    impl Counter {
        fn get(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    /// A waker a thread can sleep on (a wake before the sleep is not lost).
    #[derive(Default)]
    struct Doorbell(parking_lot::Mutex<bool>, parking_lot::Condvar);
    impl Wake for Doorbell {
        fn wake(&self) {
            *self.0.lock() = true;
            self.1.notify_one();
        }
    }
    impl Doorbell {
        /// Waits for a wake; false when none came within a long time (a lost wake-up).
        fn sleep(&self) -> bool {
            let mut rung = self.0.lock();
            if !*rung {
                self.1.wait_for(&mut rung, std::time::Duration::from_secs(20));
            }
            std::mem::take(&mut *rung)
        }
    }

    #[test]
    fn no_wake_up_is_lost_between_a_full_writer_and_its_reader() {
        // Both ends sleep whenever they cannot go on; any lost wake-up hangs one of them.
        // Small HWMs make the writer wait constantly; the reader pauses at random.
        for hwm in [1u64, 2, 3, 8, 50] {
            let (mut w, mut r) = queue(hwm);
            let (wb, rb) = (Arc::new(Doorbell::default()), Arc::new(Doorbell::default()));
            w.set_waker(wb.clone());
            r.set_waker(rb.clone());
            const N: u32 = 50_000;
            let reader = std::thread::spawn(move || {
                let mut seed = hwm as u32 * 7919 + 1;
                for i in 0..N {
                    let m = loop {
                        match r.read() {
                            Some(m) => break m,
                            None => assert!(rb.sleep(), "reader never woken (hwm {hwm}, message {i})"),
                        }
                    };
                    assert_eq!(&m[..], &i.to_le_bytes()[..]);
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    if seed % 64 == 0 {
                        std::thread::yield_now();
                    }
                }
            });
            for i in 0..N {
                while !w.can_write() {
                    assert!(wb.sleep(), "writer never woken (hwm {hwm}, message {i})");
                }
                w.send_one(Message::from_slice(&i.to_le_bytes()));
            }
            reader.join().unwrap();
        }
    }

    fn frame(body: &str, more: bool) -> Message {
        let mut m = Message::from(body);
        m.set_more(more);
        m
    }

    #[test]
    fn multipart_is_published_whole() {
        let (mut w, mut r) = queue(0);
        w.write(frame("a", true));
        w.flush();
        assert!(r.read().is_none(), "half a message must stay invisible");
        w.write(frame("b", false));
        w.flush();
        assert_eq!(&*r.read().unwrap(), b"a");
        assert_eq!(&*r.read().unwrap(), b"b");
    }

    #[test]
    fn hwm_counts_messages_and_wakes_the_writer() {
        let (mut w, mut r) = queue(2);
        let writer_wake = Arc::new(Counter::default());
        w.set_waker(writer_wake.clone());
        for i in 0..2 {
            assert!(w.can_write());
            w.write(frame("x", true));
            w.write(frame(&i.to_string(), false));
            w.flush();
        }
        assert!(!w.can_write());
        assert_eq!(writer_wake.get(), 0);
        r.read().unwrap();
        assert_eq!(writer_wake.get(), 0, "a partly read message frees nothing");
        r.read().unwrap();
        assert_eq!(writer_wake.get(), 1);
        assert!(w.can_write());
    }

    #[test]
    fn a_writer_waiting_behind_large_messages_is_woken_by_bytes() {
        let (mut w, mut r) = queue(100);
        let writer_wake = Arc::new(Counter::default());
        w.set_waker(writer_wake.clone());
        let big = Message::from(vec![7u8; 64 * 1024]);
        while w.can_write() {
            w.send_one(big.clone());
        }
        for _ in 0..3 {
            r.read().unwrap();
        }
        assert_eq!(writer_wake.get(), 0, "192 KiB taken: not yet");
        r.read().unwrap();
        assert_eq!(writer_wake.get(), 1, "256 KiB taken: long before half the HWM");
    }

    #[test]
    fn a_writer_an_io_thread_reads_for_is_woken_at_the_low_water_mark_only() {
        let (mut w, mut r) = queue(100);
        r.wake_writer_at_low_water_marks_only();
        let writer_wake = Arc::new(Counter::default());
        w.set_waker(writer_wake.clone());
        let big = Message::from(vec![7u8; 64 * 1024]);
        while w.can_write() {
            w.send_one(big.clone());
        }
        for _ in 0..49 {
            r.read().unwrap();
        }
        assert_eq!(writer_wake.get(), 0, "3 MiB taken, but fewer than half the HWM");
        assert!(!w.can_write());
        r.read().unwrap();
        assert_eq!(writer_wake.get(), 1, "half the HWM taken");
        assert!(w.can_write());
    }

    #[test]
    fn a_full_writer_gets_room_and_a_wake_once_per_low_water_mark() {
        let (mut w, mut r) = queue(100);
        let writer_wake = Arc::new(Counter::default());
        w.set_waker(writer_wake.clone());
        for i in 0..100 {
            assert!(w.can_write());
            w.send_one(frame(&i.to_string(), false));
        }
        assert!(!w.can_write(), "full: the writer now waits");
        for _ in 0..49 {
            r.read().unwrap();
            assert!(!w.can_write(), "no room for fewer than the LWM taken, polling or not");
        }
        assert_eq!(writer_wake.get(), 0, "no wake per message taken");
        r.read().unwrap();
        assert_eq!(writer_wake.get(), 1, "woken after the LWM, (100 + 1) / 2");
        for _ in 0..50 {
            assert!(w.can_write(), "room for a whole LWM");
            w.send_one(frame("more", false));
        }
        assert!(!w.can_write());
        while r.read().is_some() {}
        assert_eq!(writer_wake.get(), 2, "running dry wakes the writer with credit");
        assert!(w.can_write());
    }

    #[test]
    fn an_empty_queue_has_room_under_a_lowered_bound() {
        let (mut w, mut r) = queue(100);
        for _ in 0..30 {
            w.send_one(frame("m", false));
        }
        while r.read().is_some() {}
        // 30 taken, fewer than the LWM of 50: no credit yet. A bound lowered to 10 now
        // must not leave the writer waiting on a reader that has nothing left to take.
        w.set_hwm(10);
        assert!(w.can_write() && w.has_room());
        w.send_one(frame("m", false));
        assert_eq!(&*r.read().unwrap(), b"m");
    }

    #[test]
    fn low_water_marks_are_libzmqs() {
        let lwm: Vec<_> = [0, 1, 2, 3, 20, 1000, 11_024].map(low_water_mark).into();
        assert_eq!(lwm, [0, 1, 1, 2, 10, 500, 5512]);
    }

    #[test]
    fn has_room_never_asks_for_a_wake() {
        let (mut w, mut r) = queue(40);
        let writer_wake = Arc::new(Counter::default());
        w.set_waker(writer_wake.clone());
        for i in 0..40 {
            assert!(w.has_room());
            w.send_one(frame(&i.to_string(), false));
        }
        for _ in 0..3 {
            assert!(!w.has_room(), "full at the HWM");
        }
        // The reader reports progress in batches, and wakes nobody: the writer drops, it
        // does not wait.
        let first = r.read().unwrap();
        assert_eq!(&*first, b"0");
        assert!(!w.has_room(), "one read is not published yet");
        while r.read().is_some() {}
        assert_eq!(writer_wake.get(), 0);
        assert!(w.has_room(), "a drained queue has room again");
        r.close();
        assert!(!w.has_room(), "a closed reader takes nothing");
    }

    #[test]
    fn parked_reader_is_woken_once_per_batch() {
        let (mut w, mut r) = queue(0);
        let reader_wake = Arc::new(Counter::default());
        r.set_waker(reader_wake.clone());
        assert!(r.read().is_none());
        for _ in 0..10 {
            w.write(frame("m", false));
            w.flush();
        }
        assert_eq!(reader_wake.get(), 1);
        for _ in 0..10 {
            assert!(r.read().is_some());
        }
    }

    #[test]
    fn close_terminates_after_queued_messages() {
        let (mut w, mut r) = queue(0);
        w.write(frame("last", false));
        w.write(frame("half", true));
        w.close(250);
        assert!(!r.is_terminated());
        assert_eq!(&*r.read().unwrap(), b"last");
        assert!(r.read().is_none());
        assert!(r.is_terminated());
        assert_eq!(r.linger_ms(), 250);
    }

    #[test]
    fn farewell_comes_once_after_the_writers_last_message() {
        let (mut w, mut r) = queue(1);
        r.set_farewell(Some(frame("bye", false)));
        w.write(frame("last", false));
        w.flush();
        assert_eq!(&*r.read().unwrap(), b"last");
        assert!(r.read().is_none() && !r.is_terminated(), "not before the writer closes");
        w.write(frame("half", true));
        w.close(0);
        assert!(!r.is_terminated());
        assert_eq!(&*r.read().unwrap(), b"bye");
        assert!(r.read().is_none());
        assert!(r.is_terminated());
        // Not the writer's: its HWM of 1 was not taken by the farewell.
        assert_eq!(r.read, 1);
    }

    #[test]
    fn reader_close_is_seen_by_the_writer() {
        let (mut w, mut r) = queue(1);
        w.write(frame("x", false));
        w.flush();
        r.close();
        assert!(w.is_reader_gone());
        assert!(!w.can_write());
    }

    #[test]
    fn threads_exchange_frames_in_order() {
        let (mut w, mut r) = queue(100);
        let wake = Arc::new(Counter::default());
        w.set_waker(wake.clone());
        r.set_waker(wake);
        let n = 200_000u32;
        let t = std::thread::spawn(move || {
            for i in 0..n {
                while !w.can_write() {
                    std::thread::yield_now();
                }
                w.write(Message::from_slice(&i.to_le_bytes()));
                w.flush();
            }
        });
        let mut next = 0u32;
        while next < n {
            match r.read() {
                Some(m) => {
                    assert_eq!(u32::from_le_bytes(m[..4].try_into().unwrap()), next);
                    next += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        t.join().unwrap();
    }

    fn meta(peer: &str) -> Arc<Metadata> {
        let mut m = Metadata::default();
        m.insert("Peer-Address", peer.as_bytes());
        Arc::new(m)
    }

    fn peer(m: &Message) -> Option<&str> {
        m.gets("Peer-Address")
    }

    #[test]
    fn reader_attaches_each_connections_metadata_to_its_frames() {
        let (mut w, mut r) = queue(0);
        let (a, b) = (meta("a"), meta("b"));
        for i in 0..3 {
            w.write_received(frame(&i.to_string(), false), Some(&a));
        }
        // The I/O side attached the Arc once per connection, not per frame (ours, the
        // writer's and the first frame's).
        assert_eq!(Arc::strong_count(&a), 3);
        w.write(frame("local", false));
        w.write_received(frame("b0", true), Some(&b));
        w.write_received(frame("b1", false), Some(&b));
        w.flush();
        let got: Vec<_> = std::iter::from_fn(|| r.read()).collect();
        let peers: Vec<_> = got.iter().map(peer).collect();
        assert_eq!(peers, [Some("a"), Some("a"), Some("a"), None, Some("b"), Some("b")]);
        assert!(got[4].metadata().is_some_and(|m| std::ptr::eq(m, &*b)));
    }

    #[test]
    fn dropped_frames_hand_their_metadata_on() {
        let (mut w, mut r) = queue(0);
        let a = meta("a");
        w.write_received(frame("drop me", false), Some(&a));
        w.write_received(frame("keep", false), Some(&a));
        w.flush();
        r.retain_queued(|m| &m[..] == b"keep");
        let m = r.read().unwrap();
        assert_eq!((&m[..], peer(&m)), (&b"keep"[..], Some("a")));

        // A link that broke mid-message drops the carrier: the next frame carries it again.
        let (mut w, mut r) = queue(0);
        w.write_received(frame("torn", true), Some(&a));
        w.discard_incomplete();
        w.write_received(frame("whole", false), Some(&a));
        w.flush();
        assert_eq!(peer(&r.read().unwrap()), Some("a"));

        // CONFLATE keeps only the newest: it must carry its own.
        let (mut w, mut r) = queue(0);
        r.set_conflate();
        for i in 0..3 {
            w.write_received(frame(&i.to_string(), false), Some(&a));
            w.flush();
        }
        let m = r.read().unwrap();
        assert_eq!((&m[..], peer(&m)), (&b"2"[..], Some("a")));
    }
}
