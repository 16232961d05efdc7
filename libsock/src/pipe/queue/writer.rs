//! The writing side of a queue: stages multipart messages until whole, publishes them in
//! batches, counts them against the high water mark and may hand them to a direct sink.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::message::{Message, Metadata};
use crate::sys::ring::Producer;

use super::{DirectCache, DirectSource, Shared, Wake};

/// The writing side of a queue.
pub(crate) struct Writer {
    pub(super) shared: Arc<Shared>,
    pub(super) ring: Producer<Message>,
    /// The frames of a multipart message until its last one is written.
    pub(super) staged: Vec<Message>,
    pub(super) written: u64,
    /// The reader's credit as last read (see [`Progress::credit`]).
    ///
    /// [`Progress::credit`]: super::Progress::credit
    pub(super) credit: u64,
    pub(super) hwm: u64,
    /// CONFLATE: a message went to the slot since the last flush.
    pub(super) conflated: bool,
    /// The reader's direct sink as last read from `Rare::direct` (boxed: pipe ends travel
    /// in commands, and most never meet a sink).
    pub(super) direct: Option<Box<DirectCache>>,
    /// The sending thread waited on its socket since its last whole message here.
    pub(super) waited: bool,
    /// The connection metadata last attached to a frame ([`Writer::write_received`]).
    pub(super) last_meta: Option<Arc<Metadata>>,
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
