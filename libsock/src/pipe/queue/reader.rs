//! The reading side of a queue: takes frames from the ring, the frames set aside in `local`,
//! the CONFLATE slot or a direct source, parks when it runs dry and ends once the writer
//! closed. How it reports its progress to the writer is in `credit.rs`.

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crate::message::{Message, Metadata};
use crate::sys::ring::Consumer;

use super::credit::next_publish;
use super::{low_water_mark, DirectSink, DirectSource, Shared, SourceCache, Waited, Wake};

/// The reading side of a queue.
pub(crate) struct Reader {
    pub(super) shared: Arc<Shared>,
    pub(super) ring: Consumer<Message>,
    /// Frames taken out of the ring by [`Reader::retain_queued`], read before the ring
    /// (boxed: most pipes never need it, and pipe ends travel in commands).
    #[allow(clippy::box_collection)]
    pub(super) local: Option<Box<VecDeque<Message>>>,
    pub(super) read: u64,
    /// The last value stored in `Shared::read`.
    pub(super) published: u64,
    pub(super) terminated: bool,
    /// The last frame read had MORE set (CONFLATE must not cut a message in two).
    pub(super) mid: bool,
    /// The connection metadata of the frames read so far (see [`Writer::write_received`]).
    ///
    /// [`Writer::write_received`]: super::Writer::write_received
    pub(super) meta: Option<Arc<Metadata>>,
    /// What the writer's HWM counts as taken: `read` in steps of the low water mark (see
    /// [`Reader::publish_progress`]).
    pub(super) credit: u64,
    /// `read` at which to publish next (`PUBLISH_EVERY` or the next low water mark step).
    pub(super) publish_at: u64,
    /// Body bytes taken since this reader saw the writer waiting (`None`: not seen waiting).
    pub(super) bytes_since_wait: Option<usize>,
    /// [`WAKE_AFTER_BYTES`], or `usize::MAX` where only the low water mark wakes the writer
    /// ([`Reader::wake_writer_at_low_water_marks_only`]).
    ///
    /// [`WAKE_AFTER_BYTES`]: super::WAKE_AFTER_BYTES
    pub(super) wake_after_bytes: usize,
    /// The writer's direct source as last read from `Rare::source` (boxed, as `Writer::direct`).
    pub(super) source: Option<Box<SourceCache>>,
    /// Whole messages in `local` that came from the direct source: never written by the
    /// writer, so reading them does not count towards its high water mark.
    pub(super) direct_unread: u64,
    /// Read once after the writer closed and everything it published was read (see
    /// [`Reader::set_farewell`]; boxed, as `source`).
    pub(super) farewell: Option<Box<Message>>,
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

    /// Drops every frame that can be read now, without parking the reader when none is
    /// left (no wake-up is wanted for the next one: a REQ starting a request).
    pub(crate) fn discard_ready(&mut self) {
        while !self.local_is_empty() || self.ring.ready() || self.newest_waiting() {
            if self.read().is_none() {
                break;
            }
        }
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
        interruptible: bool,
        idle: &mut dyn FnMut() -> bool,
    ) -> Option<Waited> {
        let source = self.direct_source()?;
        if !self.local_is_empty() || self.shared.conflate.load(Ordering::Relaxed) {
            return None;
        }
        // Decoded straight into `local` (empty, checked above): no batch moved twice.
        let local = self.local.get_or_insert_with(Default::default);
        let ring = &mut self.ring;
        let waited = source.wait(wake_fd, deadline, interruptible, &mut || idle() && !ring.ready(), local);
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
    ///
    /// [`WAKE_AFTER_BYTES`]: super::WAKE_AFTER_BYTES
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
}

impl Drop for Reader {
    fn drop(&mut self) {
        if !self.shared.reader_closed.load(Ordering::Relaxed) {
            self.close();
        }
    }
}
