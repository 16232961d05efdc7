//! How far a queue's reader got, and whether its writer waits to hear of it: the one
//! handshake between a queue's two ends besides the ring's own publish and park.
//!
//! A writer at its high water mark registers ([`Progress::register_and_read`]) and sleeps
//! unless the count it reads then shows room; the reader, when it decides on a wake
//! ([`Progress::publish_and_claim_wake`]), publishes its count and then looks for the
//! registration. Each side stores, fences (`SeqCst`), then loads what the other stored, as
//! in Dekker's algorithm: at least one of them sees the other's store, so a writer never
//! sleeps on a count the reader published without seeing it wait. When the reader decides
//! is the queue's business (`queue::Reader::publish_progress`: at least whenever it runs
//! dry). Fences rather than `SeqCst` accesses because that is the form loom checks
//! (`loom_tests`, run by `scripts/loom.sh`); on x86 the cost is the same full barrier.

use crate::sys::sync::{fence, AtomicBool, AtomicU64, Ordering};

/// The reader's count and the writer's registration. Only the reader writes the count,
/// often: it sits alone on its cache line, so the writer's per-message look at the flags
/// next to it does not miss every time the reader publishes.
pub(super) struct Progress {
    read: OwnLine<AtomicU64>,
    writer_waiting: AtomicBool,
}

/// A value alone on its cache line (two lines: adjacent-line prefetch pairs them).
#[repr(align(128))]
struct OwnLine<T>(T);

impl Progress {
    pub(super) fn new() -> Progress {
        Progress { read: OwnLine(AtomicU64::new(0)), writer_waiting: AtomicBool::new(false) }
    }

    /// Writer: the reader's count as last published.
    #[inline]
    pub(super) fn seen(&self) -> u64 {
        self.read.0.load(Ordering::Acquire)
    }

    /// Writer: asks for a wake at the reader's next wake decision, then reads the count. If
    /// it still shows no room, the writer may sleep: the wake will come.
    pub(super) fn register_and_read(&self) -> u64 {
        self.writer_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.read.0.load(Ordering::Acquire)
    }

    /// Reader: whether a writer has registered (a hint: decide with
    /// [`Progress::publish_and_claim_wake`]).
    #[inline]
    pub(super) fn writer_waits(&self) -> bool {
        self.writer_waiting.load(Ordering::Relaxed)
    }

    /// Reader: publishes `read` without deciding on a wake.
    #[inline]
    pub(super) fn publish(&self, read: u64) {
        self.read.0.store(read, Ordering::Release);
    }

    /// Reader: publishes `read`; true if a writer was registered, which the reader must now
    /// wake (the registration is used up).
    pub(super) fn publish_and_claim_wake(&self, read: u64) -> bool {
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
                    while i - p.seen() >= HWM && i - p.register_and_read() >= HWM {
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
                            if progress.publish_and_claim_wake(read) {
                                writer_bell.notify();
                            }
                        } else {
                            progress.publish(read);
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
