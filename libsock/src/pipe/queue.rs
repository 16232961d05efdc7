//! A one-way, single-writer single-reader queue of message frames with a high water mark.
//!
//! The writer appends complete messages under a short lock; the reader swaps the whole
//! published batch out in one lock and then pops locally. Both sides keep their `VecDeque`
//! capacity, so steady traffic allocates nothing. HWM accounting compares the writer's count
//! of written messages with the reader's count of consumed ones (an atomic the writer reads only
//! when its cached copy says the queue is full).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::message::Message;

/// Something that can be woken: a socket's signal or an I/O thread's connection.
///
/// `wake` may be called with a queue's lock held, so it must never take a queue lock itself.
pub(crate) trait Wake: Send + Sync {
    /// Tells the owner that a queue it parked on has changed.
    fn wake(&self);
}

/// A reader publishes its progress at least this often (in messages).
const PUBLISH_EVERY: u64 = 32;

struct Shared {
    state: Mutex<State>,
    /// Whole messages the reader has consumed. Written only by the reader.
    read: AtomicU64,
    /// The writer found the queue full and wants a wake when `read` moves.
    writer_waiting: AtomicBool,
    writer_closed: AtomicBool,
    reader_closed: AtomicBool,
    /// CONFLATE: each publish replaces what the reader has not taken yet; no HWM.
    conflate: AtomicBool,
}

struct State {
    frames: VecDeque<Message>,
    /// The reader found the queue empty: the next publish must wake it.
    reader_parked: bool,
    reader_waker: Option<Arc<dyn Wake>>,
    writer_waker: Option<Arc<dyn Wake>>,
    /// The writer's LINGER at close, for the reader to honour.
    linger_ms: i32,
}

/// If the reader parked, unparks it and returns its waker (to call once the lock is gone).
#[inline]
fn take_parked(st: &mut State) -> Option<Arc<dyn Wake>> {
    if !st.reader_parked {
        return None;
    }
    st.reader_parked = false;
    st.reader_waker.clone()
}

/// CONFLATE: drops every published and pending whole message but the newest. Returns how
/// many were dropped, for the writer to count as never written (keeping HWM accounting right).
fn keep_only_last(pending: &mut VecDeque<Message>, complete: &mut usize, st: &mut State) -> u64 {
    let whole = |frames: &mut dyn Iterator<Item = &Message>| frames.filter(|m| !m.get_more()).count();
    let mut dropped = whole(&mut st.frames.iter()) as u64;
    st.frames.clear();
    let done = &pending.make_contiguous()[..*complete];
    // The newest message starts after the last frame that ends an earlier one.
    let start = done[..done.len().saturating_sub(1)].iter().rposition(|m| !m.get_more()).map_or(0, |i| i + 1);
    dropped += whole(&mut done[..start].iter()) as u64;
    pending.drain(..start);
    *complete -= start;
    dropped
}

/// Creates a queue bounded to `hwm` whole messages (0 = unbounded).
pub(crate) fn queue(hwm: u64) -> (Writer, Reader) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: VecDeque::new(),
            reader_parked: false,
            reader_waker: None,
            writer_waker: None,
            linger_ms: -1,
        }),
        read: AtomicU64::new(0),
        writer_waiting: AtomicBool::new(false),
        writer_closed: AtomicBool::new(false),
        reader_closed: AtomicBool::new(false),
        conflate: AtomicBool::new(false),
    });
    let writer = Writer {
        shared: shared.clone(),
        pending: VecDeque::new(),
        complete: 0,
        written: 0,
        cached_read: 0,
        hwm,
    };
    let reader = Reader { shared, local: VecDeque::new(), read: 0, published: 0, terminated: false };
    (writer, reader)
}

/// The writing side of a queue.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    /// Frames written but not yet published; the first `complete` form whole messages.
    pending: VecDeque<Message>,
    complete: usize,
    written: u64,
    cached_read: u64,
    hwm: u64,
}

impl Writer {
    /// Whether a new message fits under the high water mark. When it does not, the writer is
    /// registered for a wake-up once the reader makes room (or goes away).
    #[inline]
    pub(crate) fn can_write(&mut self) -> bool {
        if self.hwm == 0 || self.written - self.cached_read < self.hwm {
            return !self.is_reader_gone();
        }
        self.cached_read = self.shared.read.load(Ordering::Acquire);
        if self.written - self.cached_read < self.hwm || self.shared.conflate.load(Ordering::Relaxed) {
            return !self.is_reader_gone();
        }
        self.shared.writer_waiting.store(true, Ordering::SeqCst);
        self.cached_read = self.shared.read.load(Ordering::SeqCst);
        self.written - self.cached_read < self.hwm && !self.is_reader_gone()
    }

    /// Appends a frame. It becomes visible to the reader at the next [`Writer::flush`], and only
    /// once the frame that ends its message (no MORE flag) was written too.
    #[inline]
    pub(crate) fn write(&mut self, msg: Message) {
        let last = !msg.get_more();
        self.pending.push_back(msg);
        if last {
            self.written += 1;
            self.complete = self.pending.len();
        }
    }

    /// Publishes every complete message written so far, waking a parked reader.
    #[inline]
    pub(crate) fn flush(&mut self) {
        if self.complete == 0 {
            return;
        }
        let mut st = self.shared.state.lock();
        if self.shared.reader_closed.load(Ordering::Relaxed) {
            drop(st);
            self.pending.drain(..self.complete);
        } else {
            if self.shared.conflate.load(Ordering::Relaxed) {
                self.written -= keep_only_last(&mut self.pending, &mut self.complete, &mut st);
            }
            st.frames.extend(self.pending.drain(..self.complete));
            let waker = take_parked(&mut st);
            drop(st);
            // Woken after unlocking, so the reader does not run straight into our lock.
            if let Some(w) = waker {
                w.wake();
            }
        }
        self.complete = 0;
    }

    /// Makes this queue keep only its newest message (CONFLATE).
    pub(crate) fn set_conflate(&self) {
        self.shared.conflate.store(true, Ordering::Relaxed);
    }

    /// Drops the frames of a half-written message (its connection broke mid-message).
    pub(crate) fn discard_incomplete(&mut self) {
        self.pending.truncate(self.complete);
    }

    /// Writes a whole single-frame message and publishes it: the sockets' fast path (one
    /// short lock, no staging).
    #[inline]
    pub(crate) fn send_one(&mut self, msg: Message) {
        debug_assert!(!msg.get_more());
        if !self.pending.is_empty() || self.shared.conflate.load(Ordering::Relaxed) {
            self.write(msg);
            self.flush();
            return;
        }
        self.written += 1;
        let mut st = self.shared.state.lock();
        if self.shared.reader_closed.load(Ordering::Relaxed) {
            return;
        }
        st.frames.push_back(msg);
        let waker = take_parked(&mut st);
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// True while a multipart message is half written.
    pub(crate) fn in_message(&self) -> bool {
        self.pending.len() > self.complete
    }

    /// Whether the reading end has closed: nothing written will be delivered.
    #[inline]
    pub(crate) fn is_reader_gone(&self) -> bool {
        self.shared.reader_closed.load(Ordering::Acquire)
    }

    /// Sets who is woken when the reader makes room.
    pub(crate) fn set_waker(&self, waker: Arc<dyn Wake>) {
        self.shared.state.lock().writer_waker = Some(waker);
    }

    /// Publishes what is complete, drops a half-written message and tells the reader that
    /// nothing more will come. `linger_ms` is how long the reader should still try to deliver.
    pub(crate) fn close(&mut self, linger_ms: i32) {
        self.flush();
        self.pending.clear();
        let mut st = self.shared.state.lock();
        st.linger_ms = linger_ms;
        self.shared.writer_closed.store(true, Ordering::Release);
        st.reader_parked = false;
        if let Some(w) = &st.reader_waker {
            w.wake();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.shared.writer_closed.load(Ordering::Relaxed) {
            self.close(0);
        }
    }
}

/// The reading side of a queue.
pub(crate) struct Reader {
    shared: Arc<Shared>,
    /// The batch taken from the writer, popped without locking.
    local: VecDeque<Message>,
    read: u64,
    /// The last value stored in `Shared::read`.
    published: u64,
    terminated: bool,
}

impl Reader {
    /// Makes this queue keep only its newest message (CONFLATE), dropping older ones already
    /// queued (a pipe may be written before its reader learns the option).
    pub(crate) fn set_conflate(&mut self) {
        self.shared.conflate.store(true, Ordering::Relaxed);
        {
            let mut st = self.shared.state.lock();
            self.local.extend(st.frames.drain(..));
        }
        let frames = self.local.make_contiguous();
        let start =
            frames[..frames.len().saturating_sub(1)].iter().rposition(|m| !m.get_more()).map_or(0, |i| i + 1);
        let dropped = frames[..start].iter().filter(|m| !m.get_more()).count() as u64;
        self.local.drain(..start);
        if dropped > 0 {
            self.read += dropped;
            self.publish_read();
        }
    }

    /// Pops the next frame, or `None` when nothing is published (the reader is then parked:
    /// the writer's next publish wakes it) or the writer closed ([`Reader::is_terminated`]).
    #[inline]
    pub(crate) fn read(&mut self) -> Option<Message> {
        if self.local.is_empty() && !self.refill() {
            return None;
        }
        let msg = self.local.pop_front()?;
        if !msg.get_more() {
            self.read += 1;
            // Tell the writer how far we got in batches, at once if it waits for room, and
            // always when the batch is used up (so a waiting writer is never left stale).
            if self.read - self.published >= PUBLISH_EVERY
                || self.local.is_empty()
                || self.shared.writer_waiting.load(Ordering::Relaxed)
            {
                self.publish_read();
            }
        }
        Some(msg)
    }

    /// Drops queued single-frame messages for which `keep` is false, without counting
    /// anything as read by the user (the writer's HWM view is unchanged).
    pub(crate) fn retain_queued(&mut self, keep: impl Fn(&Message) -> bool) {
        {
            let mut st = self.shared.state.lock();
            self.local.extend(st.frames.drain(..));
        }
        let before = self.local.len();
        let mut prev_more = false;
        self.local.retain(|m| {
            let whole = !prev_more && !m.get_more();
            prev_more = m.get_more();
            !whole || keep(m)
        });
        // Dropped messages were never read: account for them so HWM stays right.
        let dropped = (before - self.local.len()) as u64;
        if dropped > 0 {
            self.read += dropped;
            self.publish_read();
        }
    }

    /// Whether a frame can be read now (parks the reader when not).
    pub(crate) fn has_message(&mut self) -> bool {
        !self.local.is_empty() || self.refill()
    }

    /// Whether the writer closed and everything it published has been read.
    pub(crate) fn is_terminated(&mut self) -> bool {
        if !self.terminated && self.local.is_empty() {
            self.refill();
        }
        self.terminated
    }

    /// The writer's LINGER in ms, valid once it closed (-1 = forever).
    pub(crate) fn linger_ms(&self) -> i32 {
        self.shared.state.lock().linger_ms
    }

    /// Whether the writer has closed (messages may still be waiting to be read).
    pub(crate) fn is_writer_closed(&self) -> bool {
        self.shared.writer_closed.load(Ordering::Acquire)
    }

    /// Sets who is woken when something is published.
    pub(crate) fn set_waker(&self, waker: Arc<dyn Wake>) {
        self.shared.state.lock().reader_waker = Some(waker);
    }

    /// Stops reading: drops everything queued and lets the writer know.
    pub(crate) fn close(&mut self) {
        self.local.clear();
        let mut st = self.shared.state.lock();
        self.shared.reader_closed.store(true, Ordering::Release);
        st.frames.clear();
        self.shared.writer_waiting.store(false, Ordering::Relaxed);
        if let Some(w) = &st.writer_waker {
            w.wake();
        }
    }

    fn refill(&mut self) -> bool {
        let mut st = self.shared.state.lock();
        std::mem::swap(&mut st.frames, &mut self.local);
        if !self.local.is_empty() {
            return true;
        }
        if self.shared.writer_closed.load(Ordering::Acquire) {
            self.terminated = true;
        } else {
            st.reader_parked = true;
        }
        false
    }

    #[inline]
    fn publish_read(&mut self) {
        self.published = self.read;
        self.shared.read.store(self.read, Ordering::SeqCst);
        if self.shared.writer_waiting.load(Ordering::SeqCst)
            && self.shared.writer_waiting.swap(false, Ordering::SeqCst)
        {
            let waker = self.shared.state.lock().writer_waker.clone();
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if !self.shared.reader_closed.load(Ordering::Relaxed) {
            self.close();
        }
    }
}

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
}
