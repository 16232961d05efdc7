//! Model checks of the ring under loom: every interleaving of a few small runs (up to a
//! bound on preemptions), with acquire/release visibility modelled, so a publish that does
//! not order a slot's write before the consumer's read, a park that misses a publish, or a
//! recycled chunk reused too early fails here where a two-thread stress test would need
//! the one bad timing. Run by `scripts/loom.sh` (`RUSTFLAGS="--cfg loom"`); CHUNK is 2.

use super::*;
use loom::sync::atomic::AtomicIsize;
use loom::sync::Notify;
use loom::thread;

/// The consumer side of the pipes' use: pop until empty, then park and sleep until the
/// producer's publish reports the park (the pipe's wake).
fn consume(c: &mut Consumer<u64>, bell: &Notify, count: u64) {
    let mut expect = 0;
    while expect < count {
        match c.pop() {
            Some(v) => {
                assert_eq!(v, expect, "items arrive in order, each once");
                expect += 1;
            }
            None => {
                if c.park() {
                    // A lost wake leaves this waiting forever: loom reports the deadlock.
                    bell.wait();
                }
            }
        }
    }
    assert!(c.pop().is_none());
}

/// Pushes `0..` in the given batch sizes, publishing after each and ringing the bell
/// whenever the publish reports a parked consumer.
fn produce(p: &mut Producer<u64>, bell: &Notify, batches: &[u64]) {
    let mut next = 0;
    for &n in batches {
        for _ in 0..n {
            p.push(next);
            next += 1;
        }
        if p.publish() {
            bell.notify();
        }
    }
}

#[test]
fn loom_single_items_arrive_in_order_and_no_wake_is_lost() {
    crate::sys::sync::check(|| {
        let (mut p, mut c) = ring::<u64>();
        let bell = Arc::new(Notify::new());
        let producer_bell = bell.clone();
        let t = thread::spawn(move || produce(&mut p, &producer_bell, &[1, 1, 1]));
        consume(&mut c, &bell, 3);
        t.join().unwrap();
    });
}

#[test]
fn loom_batches_across_recycled_chunks_arrive_whole() {
    // 5 items in batches of 3 and 2 span three chunks of 2: the producer grows while the
    // consumer hands used chunks back through `spare`, which the producer may then reuse.
    crate::sys::sync::check(|| {
        let (mut p, mut c) = ring::<u64>();
        let bell = Arc::new(Notify::new());
        let producer_bell = bell.clone();
        let t = thread::spawn(move || produce(&mut p, &producer_bell, &[3, 2]));
        consume(&mut c, &bell, 5);
        t.join().unwrap();
    });
}

/// Counts live items; a second drop of the same item would take it below zero.
struct Tracked(Arc<AtomicIsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        let before = self.0.fetch_sub(1, Ordering::Relaxed);
        assert!(before > 0, "an item was dropped twice");
    }
}

#[test]
fn loom_unread_items_are_dropped_once_whichever_end_goes_last() {
    // The producer publishes 2 then 1 (crossing into a second chunk) and drops with one
    // more unpublished; the consumer takes at most one and drops. Every item is dropped
    // once, whichever end's drop runs the final clean-up.
    crate::sys::sync::check(|| {
        let live = Arc::new(AtomicIsize::new(0));
        let (mut p, mut c) = ring::<Tracked>();
        let counter = live.clone();
        let t = thread::spawn(move || {
            for (batch, publish) in [(2, true), (1, true), (1, false)] {
                for _ in 0..batch {
                    counter.fetch_add(1, Ordering::Relaxed);
                    p.push(Tracked(counter.clone()));
                }
                if publish {
                    p.publish();
                }
            }
            drop(p);
        });
        drop(c.pop());
        drop(c);
        t.join().unwrap();
        assert_eq!(live.load(Ordering::Relaxed), 0, "every item dropped exactly once");
    });
}
