//! How far a queue's reader got, how much of that its writer may count as room, and
//! whether the writer waits to hear of it: the one handshake between a queue's two ends
//! besides the ring's own publish and park.
//!
//! The reader publishes two counts: `read`, every whole message it took (the writer's direct
//! path asks whether the queue is drained), and `credit`, what the writer's high water mark
//! counts as taken, which moves in steps of the low water mark as libzmq's `activate_write`
//! (see `queue::Reader::publish_progress`).
//!
//! A writer at its high water mark registers ([`Progress::register_and_read`]) and sleeps
//! unless the credit it reads then shows room; the reader, when it decides on a wake
//! ([`Progress::publish_and_claim_wake`]), publishes its counts and then looks for the
//! registration. Each side stores, fences (`SeqCst`), then loads what the other stored, as
//! in Dekker's algorithm: at least one of them sees the other's store, so a writer never
//! sleeps on a credit the reader published without seeing it wait. When the reader decides
//! is the queue's business (`queue::Reader::publish_progress`: at least whenever it runs
//! dry). Fences rather than `SeqCst` accesses because that is the form loom checks
//! (`loom_tests`, run by `scripts/loom.sh`); on x86 the cost is the same full barrier.

use crate::sys::sync::{fence, AtomicBool, AtomicU64, Ordering};

/// The reader's counts and the writer's registration. Only the reader writes the counts;
/// `read` often, so it sits alone on its cache line and the writer's per-message look at
/// the flags next to it does not miss every time the reader publishes. `credit` changes
/// once per low water mark and is read by the writer only when it finds the queue full.
pub(super) struct Progress {
    read: OwnLine<AtomicU64>,
    /// The writer's count of whole messages written as of its last flush: only for
    /// `ZMQ_EVENT_PIPES_STATS` (the reader's end reports what its writer queued). Alone on
    /// its line, which only the writer stores to, so the store per flush costs no miss.
    written: OwnLine<AtomicU64>,
    credit: AtomicU64,
    writer_waiting: AtomicBool,
}

/// A value alone on its cache line (two lines: adjacent-line prefetch pairs them).
#[repr(align(128))]
struct OwnLine<T>(T);

impl Progress {
    pub(super) fn new() -> Progress {
        Progress {
            read: OwnLine(AtomicU64::new(0)),
            written: OwnLine(AtomicU64::new(0)),
            credit: AtomicU64::new(0),
            writer_waiting: AtomicBool::new(false),
        }
    }

    /// Writer: the reader's count of messages taken as last published.
    #[inline]
    pub(super) fn seen(&self) -> u64 {
        self.read.0.load(Ordering::Acquire)
    }

    /// Writer: publishes its count of whole messages written (for statistics only).
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    #[inline]
    pub(super) fn note_written(&self, written: u64) {
        self.written.0.store(written, Ordering::Relaxed);
    }

    /// Either end: the writer's count as of its last flush.
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    pub(super) fn written(&self) -> u64 {
        self.written.0.load(Ordering::Relaxed)
    }

    /// Writer: how many messages its high water mark may count as taken.
    #[inline]
    pub(super) fn credit(&self) -> u64 {
        self.credit.load(Ordering::Acquire)
    }

    /// Writer: asks for a wake at the reader's next wake decision, then reads the credit. If
    /// it still shows no room, the writer may sleep: the wake will come.
    pub(super) fn register_and_read(&self) -> u64 {
        self.writer_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.credit.load(Ordering::Acquire)
    }

    /// Reader: whether a writer has registered (a hint: decide with
    /// [`Progress::publish_and_claim_wake`]).
    #[inline]
    pub(super) fn writer_waits(&self) -> bool {
        self.writer_waiting.load(Ordering::Relaxed)
    }

    /// Reader: publishes `read` and, if it moved, `credit` without deciding on a wake.
    #[inline]
    pub(super) fn publish(&self, read: u64, credit: Option<u64>) {
        if let Some(credit) = credit {
            self.credit.store(credit, Ordering::Release);
        }
        self.read.0.store(read, Ordering::Release);
    }

    /// Reader: publishes `read` and `credit`; true if a writer was registered, which the
    /// reader must now wake (the registration is used up).
    pub(super) fn publish_and_claim_wake(&self, read: u64, credit: u64) -> bool {
        self.credit.store(credit, Ordering::Release);
        self.read.0.store(read, Ordering::Release);
        fence(Ordering::SeqCst);
        self.writer_waiting.load(Ordering::Relaxed) && self.writer_waiting.swap(false, Ordering::Acquire)
    }

    /// Reader: drops a registration without a wake decision (the reader is closing and wakes
    /// the writer anyway).
    pub(super) fn forget_writer(&self) {
        self.writer_waiting.store(false, Ordering::Relaxed);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The handshake with a real ring under it, a writer at HWM 1 and a reader that decides
    //! on a wake whenever it runs dry (the queue's rule), over every interleaving.
    use super::*;
    use crate::sys::ring::ring;
    use crate::sys::sync::Arc;
    use loom::sync::Notify;
    use loom::thread;

    #[test]
    fn loom_a_writer_at_its_high_water_mark_is_never_left_asleep() {
        const HWM: u64 = 1;
        const COUNT: u64 = 3;
        crate::sys::sync::check(|| {
            let (mut producer, mut consumer) = ring::<u64>();
            let progress = Arc::new(Progress::new());
            let (reader_bell, writer_bell) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
            let (p, rb, wb) = (progress.clone(), reader_bell.clone(), writer_bell.clone());
            let writer = thread::spawn(move || {
                for i in 0..COUNT {
                    // `queue::Writer::can_write`, then sleeping until woken.
                    while i - p.credit() >= HWM && i - p.register_and_read() >= HWM {
                        wb.wait();
                    }
                    producer.push(i);
                    if producer.publish() {
                        rb.notify();
                    }
                }
            });
            let mut read = 0;
            while read < COUNT {
                match consumer.pop() {
                    Some(v) => {
                        assert_eq!(v, read);
                        read += 1;
                        let drained = consumer.batch_done();
                        if drained || progress.writer_waits() {
                            if progress.publish_and_claim_wake(read, read) {
                                writer_bell.notify();
                            }
                        } else {
                            progress.publish(read, Some(read));
                        }
                    }
                    None => {
                        if consumer.park() {
                            reader_bell.wait();
                        }
                    }
                }
            }
            writer.join().unwrap();
        });
    }
}
