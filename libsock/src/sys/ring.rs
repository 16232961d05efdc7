//! A lock-free single-producer single-consumer queue of chunks (the idea of libzmq's ypipe):
//! the producer fills slots privately and makes a whole batch visible with **one** atomic
//! swap; the consumer pops privately up to the count it last saw and reloads that count only
//! when it runs out. The one word both sides write, [`Shared::published`], also carries the
//! consumer's "parked" bit, so the producer learns in the same instruction whether it has to
//! wake a sleeping consumer, and never wakes one that is busy.
//!
//! It lives in `sys` because it needs `unsafe`. Its invariants:
//! - a slot is written once by the producer before its index is published, and read (moved
//!   out) once by the consumer after it saw the index published; no slot is touched by both
//!   sides in any other order;
//! - `next` of a chunk is set before any slot of the next chunk is published;
//! - a chunk is recycled (through [`Shared::spare`]) or freed only by the consumer after it
//!   moved out every slot of it, or by [`Shared`]'s drop once both ends are gone.
//!
//! `ring_tests` below and `stress_ring_*` exercise it from two threads with random batches;
//! `loom_tests` (built with `RUSTFLAGS="--cfg loom"`, see `scripts/loom.sh`) check every
//! interleaving of small runs under the memory model: items in order and once, no lost wake,
//! no slot read before its write happened, no item dropped twice.

use std::mem::MaybeUninit;
use std::ptr;

use super::sync::{Arc, AtomicPtr, AtomicU64, AtomicUsize, Ordering, UnsafeCell};

/// Slots per chunk (a chunk of 48-byte messages is ~6 KiB). Under loom, two, so that small
/// models cross chunks and recycle them.
#[cfg(not(loom))]
const CHUNK: usize = 128;
#[cfg(loom)]
const CHUNK: usize = 2;
/// Set in [`Shared::published`] by a consumer that found nothing and sleeps.
const PARKED: u64 = 1 << 63;

struct Chunk<T> {
    slots: [Slot<T>; CHUNK],
    next: AtomicPtr<Chunk<T>>,
}

impl<T> Chunk<T> {
    fn alloc() -> *mut Chunk<T> {
        Box::into_raw(Box::new(Chunk {
            slots: std::array::from_fn(|_| Slot(UnsafeCell::new(MaybeUninit::uninit()))),
            next: AtomicPtr::new(ptr::null_mut()),
        }))
    }
}

/// One item's place in a chunk. Its three accessors are the only places an item is
/// written, moved out or dropped in place; under loom the cell also checks that each access
/// happens after the previous one (a slot read before its write was published fails).
struct Slot<T>(UnsafeCell<MaybeUninit<T>>);

impl<T> Slot<T> {
    /// Moves `item` in.
    ///
    /// # Safety
    /// The caller has the slot to itself and it holds no item.
    #[inline(always)]
    unsafe fn put(&self, item: T) {
        #[cfg(not(loom))]
        // SAFETY: exclusive access to an empty slot (the caller's contract).
        unsafe {
            (*self.0.get()).write(item);
        }
        #[cfg(loom)]
        // SAFETY: as above.
        self.0.with_mut(|slot| unsafe { (*slot).write(item) });
    }

    /// Moves the item out.
    ///
    /// # Safety
    /// The caller has the slot to itself and it holds an item, which it will not read again.
    #[inline(always)]
    unsafe fn take(&self) -> T {
        #[cfg(not(loom))]
        // SAFETY: exclusive access to a written slot (the caller's contract).
        return unsafe { (*self.0.get()).assume_init_read() };
        #[cfg(loom)]
        // SAFETY: as above. (`with_mut`: moving out empties the slot, so loom must order the
        // producer's next write to it, after recycling, behind this.)
        return self.0.with_mut(|slot| unsafe { (*slot).assume_init_read() });
    }

    /// Drops the item in place.
    ///
    /// # Safety
    /// As for [`Slot::take`].
    unsafe fn drop_item(&self) {
        // SAFETY: the caller's contract is `take`'s.
        drop(unsafe { self.take() });
    }
}

struct Shared<T> {
    /// Items published so far, plus [`PARKED`].
    published: AtomicU64,
    /// The first chunk, made at the first push (idle pipes hold no chunk at all).
    first: AtomicPtr<Chunk<T>>,
    /// One used-up chunk the consumer hands back for the producer to reuse.
    spare: AtomicPtr<Chunk<T>>,
    /// Set by each end as it drops, for the final clean-up.
    final_written: AtomicU64,
    final_read: AtomicU64,
    final_head: AtomicPtr<Chunk<T>>,
    final_pos: AtomicUsize,
}

/// Creates a ring.
pub(crate) fn ring<T>() -> (Producer<T>, Consumer<T>) {
    let shared = Arc::new(Shared {
        published: AtomicU64::new(0),
        first: AtomicPtr::new(ptr::null_mut()),
        spare: AtomicPtr::new(ptr::null_mut()),
        final_written: AtomicU64::new(0),
        final_read: AtomicU64::new(0),
        final_head: AtomicPtr::new(ptr::null_mut()),
        final_pos: AtomicUsize::new(0),
    });
    let producer =
        Producer { shared: shared.clone(), tail: ptr::null_mut(), pos: CHUNK, written: 0, flushed: 0 };
    let consumer = Consumer { shared, head: ptr::null_mut(), pos: 0, read: 0, avail: 0 };
    (producer, consumer)
}

/// The writing end.
pub(crate) struct Producer<T> {
    shared: Arc<Shared<T>>,
    tail: *mut Chunk<T>,
    /// Next free slot in `tail` (`CHUNK`: full, or no chunk yet).
    pos: usize,
    written: u64,
    flushed: u64,
}

// SAFETY: the raw pointers refer to chunks this end alone writes (see the module invariants);
// moving the end to another thread moves that exclusive access with it. `T: Send` because
// items cross to the consumer's thread.
unsafe impl<T: Send> Send for Producer<T> {}

impl<T> Producer<T> {
    /// Appends an item, invisible to the consumer until [`Producer::publish`].
    #[inline(always)]
    pub(crate) fn push(&mut self, item: T) {
        if self.pos == CHUNK {
            self.grow();
        }
        // SAFETY: `tail` is a live chunk owned by the producer's side and slot `pos` is
        // unpublished, so the consumer does not touch it; it holds no item (fresh or moved out).
        unsafe { (*self.tail).slots[self.pos].put(item) };
        self.pos += 1;
        self.written += 1;
    }

    #[cold]
    fn grow(&mut self) {
        let recycled = self.shared.spare.swap(ptr::null_mut(), Ordering::Acquire);
        let chunk = if recycled.is_null() {
            Chunk::alloc()
        } else {
            // SAFETY: the consumer gave this chunk up entirely (every slot moved out) when it
            // stored it in `spare`; the Acquire swap makes its accesses happen before ours.
            unsafe { (*recycled).next.store(ptr::null_mut(), Ordering::Relaxed) };
            recycled
        };
        if self.tail.is_null() {
            self.shared.first.store(chunk, Ordering::Release);
        } else {
            // SAFETY: `tail` is live: the consumer frees a chunk only after reading `next`
            // from it, which is set only here, after which the producer never touches it.
            unsafe { (*self.tail).next.store(chunk, Ordering::Release) };
        }
        self.tail = chunk;
        self.pos = 0;
    }

    /// Makes every pushed item visible. Returns true when the consumer had parked (found the
    /// ring empty and went to sleep): the caller must wake it.
    #[inline]
    pub(crate) fn publish(&mut self) -> bool {
        if self.written == self.flushed {
            return false;
        }
        self.flushed = self.written;
        // Release: the slots written above are visible to whoever sees the new count.
        self.shared.published.swap(self.written, Ordering::AcqRel) & PARKED != 0
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.shared.final_written.store(self.written, Ordering::Relaxed);
    }
}

/// The reading end.
pub(crate) struct Consumer<T> {
    shared: Arc<Shared<T>>,
    head: *mut Chunk<T>,
    /// Next slot to read in `head`.
    pos: usize,
    read: u64,
    /// Items known to be published (the consumer may read up to here without atomics).
    avail: u64,
}

// SAFETY: as for `Producer`: the consumer's chunks and slots move with it.
unsafe impl<T: Send> Send for Consumer<T> {}

impl<T> Consumer<T> {
    /// Takes the next published item.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.read == self.avail && !self.reload() {
            return None;
        }
        if self.head.is_null() {
            self.head = self.shared.first.load(Ordering::Acquire);
        } else if self.pos == CHUNK {
            self.next_chunk();
        }
        // SAFETY: index `read` < `avail` was published (Acquire load in `reload`), so the
        // producer wrote this slot and will not touch it again; we move the item out once.
        let item = unsafe { (*self.head).slots[self.pos].take() };
        self.pos += 1;
        self.read += 1;
        Some(item)
    }

    #[cold]
    fn next_chunk(&mut self) {
        // SAFETY: `head` is live (only this end frees or recycles it, below); its `next` was
        // set before the item we are about to read was published.
        let next = unsafe { (*self.head).next.load(Ordering::Acquire) };
        let old = self.shared.spare.swap(self.head, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: a chunk in `spare` belongs to nobody else; the swap took it out.
            drop(unsafe { Box::from_raw(old) });
        }
        self.head = next;
        self.pos = 0;
    }

    /// Looks for newly published items; true if there are some.
    #[inline]
    fn reload(&mut self) -> bool {
        self.avail = self.shared.published.load(Ordering::Acquire) & !PARKED;
        self.read < self.avail
    }

    /// True if an item can be popped now.
    #[inline]
    pub(crate) fn ready(&mut self) -> bool {
        self.read < self.avail || self.reload()
    }

    /// True if the items seen published are all taken (no atomic access).
    #[inline]
    pub(crate) fn batch_done(&self) -> bool {
        self.read == self.avail
    }

    /// Declares that the consumer sleeps until the next publish, whose [`Producer::publish`]
    /// then returns true. Returns false (and does not park) if items arrived meanwhile.
    pub(crate) fn park(&mut self) -> bool {
        let seen = self.read;
        match self.shared.published.compare_exchange(seen, seen | PARKED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(now) if now == seen | PARKED => true,
            Err(now) => {
                self.avail = now & !PARKED;
                false
            }
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
        let s = &self.shared;
        s.final_read.store(self.read, Ordering::Relaxed);
        s.final_head.store(self.head, Ordering::Relaxed);
        s.final_pos.store(self.pos, Ordering::Relaxed);
    }
}

impl<T> Drop for Shared<T> {
    /// Both ends are gone (the last `Arc` drop orders their stores before this): drops the
    /// items never read and frees every chunk. (Plain loads rather than `get_mut`, which
    /// loom's atomics do not have; the same instructions.)
    fn drop(&mut self) {
        let mut chunk = self.final_head.load(Ordering::Relaxed);
        let mut pos = self.final_pos.load(Ordering::Relaxed);
        if chunk.is_null() {
            chunk = self.first.load(Ordering::Relaxed);
            pos = 0;
        }
        let mut left = self.final_written.load(Ordering::Relaxed) - self.final_read.load(Ordering::Relaxed);
        while !chunk.is_null() {
            // SAFETY: both ends are dropped, so every chunk reachable from the consumer's
            // position is exclusively ours; slots `pos..` up to `left` items hold live items.
            let boxed = unsafe { Box::from_raw(chunk) };
            while left > 0 && pos < CHUNK {
                // SAFETY: as above: a written, never-read slot.
                unsafe { boxed.slots[pos].drop_item() };
                pos += 1;
                left -= 1;
            }
            chunk = boxed.next.load(Ordering::Relaxed);
            pos = 0;
        }
        let spare = self.spare.load(Ordering::Relaxed);
        if !spare.is_null() {
            // SAFETY: the spare chunk holds no items and nobody else can reach it now.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}

#[cfg(all(test, loom))]
#[path = "ring_loom_tests.rs"]
mod loom_tests;

#[cfg(all(test, not(loom)))]
mod ring_tests {
    use super::*;

    /// Counts live items, to prove each is dropped exactly once.
    struct Tracked(Arc<AtomicU64>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn batches_become_visible_at_publish_and_parking_is_reported() {
        let (mut p, mut c) = ring::<u64>();
        assert!(c.pop().is_none());
        assert!(c.park());
        for i in 0..300 {
            p.push(i);
        }
        assert!(c.pop().is_none(), "nothing is visible before publish");
        assert!(p.publish(), "the parked consumer must be woken");
        assert!((0..300).all(|i| c.pop() == Some(i)));
        assert!(c.pop().is_none());
        p.push(7);
        assert!(!p.publish(), "an unparked consumer is not woken");
        p.push(8);
        assert!(!c.park() && c.pop() == Some(7), "park fails when items arrived");
    }

    #[test]
    fn unread_items_are_dropped_once_whoever_goes_first() {
        for consumer_first in [false, true] {
            let live = Arc::new(AtomicU64::new(0));
            let (mut p, mut c) = ring();
            let push = |p: &mut Producer<Tracked>, n: u64| {
                for _ in 0..n {
                    live.fetch_add(1, Ordering::SeqCst);
                    p.push(Tracked(live.clone()));
                }
            };
            push(&mut p, 1000);
            p.publish();
            for _ in 0..333 {
                c.pop().unwrap();
            }
            push(&mut p, 10); // never published
            if consumer_first {
                drop(c);
                push(&mut p, 500);
                drop(p);
            } else {
                drop(p);
                drop(c);
            }
            assert_eq!(live.load(Ordering::SeqCst), 0);
        }
    }

    /// Random batch sizes and random parking on both sides of two threads; every item
    /// arrives once, in order, and every wake owed is delivered.
    pub(crate) fn two_threads(items: u64, seed: u64) {
        use std::sync::atomic::AtomicBool;
        let (mut p, mut c) = ring::<u64>();
        let woken = Arc::new(AtomicBool::new(false));
        let wake = woken.clone();
        let t = std::thread::spawn(move || {
            let mut rng = seed | 1;
            let mut next = 0;
            while next < items {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                for _ in 0..(rng % 300).min(items - next) {
                    p.push(next);
                    next += 1;
                }
                if p.publish() {
                    wake.store(true, Ordering::Release);
                }
                if rng % 7 == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let mut expect = 0;
        while expect < items {
            match c.pop() {
                Some(v) => {
                    assert_eq!(v, expect);
                    expect += 1;
                }
                None => {
                    if c.park() {
                        // Parked: the producer's next publish must report it.
                        while !woken.swap(false, Ordering::Acquire) {
                            std::hint::spin_loop();
                        }
                    }
                }
            }
        }
        t.join().unwrap();
        assert!(c.pop().is_none());
    }

    #[test]
    fn two_threads_random_batches() {
        two_threads(300_000, 0x9e37_79b9);
    }

    #[test]
    #[ignore = "long soak: cargo test -p libsock --lib stress_ring -- --ignored"]
    fn stress_ring_two_threads() {
        for seed in 1..=40u64 {
            two_threads(5_000_000, seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        }
    }
}
