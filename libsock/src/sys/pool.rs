//! Recycled buffers for message bodies of up to [`POOL_MAX`] bytes.
//!
//! A sent message body is allocated on the application thread and freed on the I/O thread
//! once it is framed (and the reverse for anything else that crosses a pipe). The system
//! allocator handles that badly: glibc's per-thread cache fills on the freeing side and
//! empties on the allocating one, so both threads end up in the same arena's locked paths
//! for every message. Profiled on 64-byte PUSH floods, `malloc`/`free` were a third of the
//! sending process's CPU, and preloading jemalloc doubled its throughput.
//!
//! This is the classic *magazine* scheme (Bonwick's slab allocator, jemalloc's tcache):
//! each thread keeps, per size class, a small stack ("magazine") of free buffers it takes
//! from and gives back to without any synchronisation. A thread whose magazine runs empty
//! swaps it for a full one from a process-wide depot; one whose magazine overflows hands it
//! to the depot whole. So the threads meet under a lock once per magazine (4–64 buffers),
//! not once per message, and memory flows from the freeing thread back to the allocating
//! one. What the depot and the caches hold is bounded (see [`depot_magazines`],
//! [`magazine_len`]: 256 KiB per magazine, 4 buffers of 128 KiB to 1 MiB, 1 above; up to
//! 512 MiB per class in the depot, given back down to 4 MiB or less once a second's use
//! shows it idle: [`Depot::age`], run by the I/O threads too, [`age_depots`]); beyond that,
//! buffers go back to the system.
//!
//! Buffers of [`MAPPED_FROM`] bytes and up are pages mapped for them alone (`mmap`), as
//! glibc's `malloc` does from 128 KiB: they come zeroed, so a body of unspecified content
//! (`zmq_msg_init_size`) needs no memset, and pages nobody writes stay unallocated.
//!
//! Bodies beyond [`POOL_MAX`] are [`PoolBuf`]s too, of their exact size and not recycled
//! ([`OVERSIZE`]): the system allocator's own for blocks that large (fresh zeroed pages), so
//! that a message of any size its owner may write is one kind of buffer.
//!
//! A [`PoolBuf`] is one such buffer with a reference count in its header (a [`Clone`]
//! shares it, as [`bytes::Bytes`] would) and the length of the body it holds; the bytes it
//! shows are always initialised (written by its constructor), whatever the buffer held
//! before.

use std::alloc::{self, Layout};
use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::os;

/// Bodies larger than this use the system allocator (and are then shared without copies).
///
/// Up to 8 MiB (the engine's largest read): large bodies are received straight into a
/// buffer of their own (see `Session::body_to_fill`), and a fresh one per message cost the
/// receiver a page fault per 4 KiB (glibc trims and maps such blocks anew: 1 MiB floods,
/// 127 faults per message); sent ones, zeroed by `calloc`, cost the sender as much.
pub(crate) const POOL_MAX: usize = 8 * 1024 * 1024;
/// Capacity of each size class: powers of two from 64 B to [`POOL_MAX`].
const CLASSES: usize = 18;
const SMALLEST_SHIFT: u32 = 6;
/// Clones of bodies up to this size are copies (see `PoolBuf::clone`).
const COPY_ON_CLONE_MAX: usize = 512;
/// Buffers per magazine for `class`: 256 KiB worth, between 4 and 64 buffers; one buffer
/// above 1 MiB, so that a thread keeps no more than one of those idle (a lock per message
/// is nothing beside the copy of such a body).
const fn magazine_len(class: usize) -> usize {
    if class_size(class) > 1024 * 1024 {
        return 1;
    }
    clamp((256 * 1024) >> (SMALLEST_SHIFT as usize + class), 4, 64)
}

/// Full magazines the depot keeps for `class` before it frees buffers to the system:
/// about 512 MiB worth, and at most 256 magazines (64 MiB of 64 KiB buffers, 512 MiB of
/// 512 KiB and larger ones). A socket's pipe holds a thousand bodies at its default HWM, and
/// a sender refills it half a pipe at a time (the low water mark): a depot smaller than
/// that sent most buffers back to the system between the I/O thread's frees and the
/// sender's next allocations, which then came back unmapped or dirty (libzmq's perf tools,
/// pinned: 64 KiB, depot of 4 MiB 38-42 k msg/s, 64 MiB 54-63 k; 512 KiB, 64 MiB 6.9-7.1 k,
/// 512 MiB 11.2-11.3 k). An I/O thread gives back, a second or two after a burst, what it
/// left idle ([`age_depots`]).
const fn depot_magazines(class: usize) -> usize {
    clamp(DEPOT_MAX / (magazine_len(class) * class_size(class)), 2, 256)
}

/// What the depot may hold per class, and what it keeps however idle (see [`Depot::age`]).
const DEPOT_MAX: usize = 512 * 1024 * 1024;
const DEPOT_FLOOR: usize = 4 * 1024 * 1024;

/// Full magazines the depot keeps for `class` however idle: about 4 MiB worth (none of
/// the 4 and 8 MiB buffers).
const fn depot_floor(class: usize) -> usize {
    clamp(DEPOT_FLOOR / (magazine_len(class) * class_size(class)), 0, 64)
}

/// Buffers of this size and up (classes [`MAPPED_CLASS`] and up) are mapped pages.
pub(crate) const MAPPED_FROM: usize = 32 * 1024;
const MAPPED_CLASS: usize = class_of(MAPPED_FROM);

const fn clamp(n: usize, low: usize, high: usize) -> usize {
    if n > high {
        high
    } else if n < low {
        low
    } else {
        n
    }
}

const fn class_size(class: usize) -> usize {
    1 << (SMALLEST_SHIFT as usize + class)
}

/// The class whose buffers hold `len` bytes (`len` ≤ [`POOL_MAX`]).
#[inline]
const fn class_of(len: usize) -> usize {
    let len = if len == 0 { 1 } else { len };
    let bits = usize::BITS - (len - 1).leading_zeros();
    bits.saturating_sub(SMALLEST_SHIFT) as usize
}

/// Precedes the body in every pooled buffer.
#[repr(C, align(16))]
struct Header {
    refs: AtomicUsize,
    class: u32,
    /// Bytes from the start of the body known to be initialised (written at least once);
    /// only changed by a buffer's sole owner, before it is shared.
    init: u32,
}

const HEADER: usize = std::mem::size_of::<Header>();

/// The header's `class` of a buffer beyond [`POOL_MAX`]: allocated for its body's exact size
/// (its `init`, the whole body) and freed, not recycled, when its last reference goes.
const OVERSIZE: u32 = u32::MAX;

/// The layout of an [`OVERSIZE`] buffer with a body of `len` bytes.
fn oversize_layout(len: usize) -> Option<Layout> {
    Layout::from_size_align(HEADER.checked_add(len)?, 16).ok()
}

/// A zeroed [`OVERSIZE`] buffer for `len` bytes (more than [`POOL_MAX`], at most
/// `u32::MAX`), or `None` when the system has no memory for it.
#[cold]
fn oversize_alloc(len: usize) -> Option<NonNull<Header>> {
    let len32 = u32::try_from(len).ok()?;
    let layout = oversize_layout(len)?;
    // SAFETY: the layout has a non-zero size. Zeroed: blocks this large are fresh pages,
    // which the allocator does not clear again.
    let ptr = NonNull::new(unsafe { alloc::alloc_zeroed(layout) }.cast::<Header>())?;
    // SAFETY: fresh memory, aligned to 16 and large enough for a Header.
    unsafe { ptr.as_ptr().write(Header { refs: AtomicUsize::new(1), class: OVERSIZE, init: len32 }) };
    Some(ptr)
}

/// Frees an [`OVERSIZE`] buffer whose last reference is gone.
#[cold]
#[inline(never)]
fn oversize_free(ptr: NonNull<Header>) {
    // SAFETY: the caller held the last reference; `init` is the body's length the block
    // was allocated for (`oversize_alloc`), never changed since.
    let len = unsafe { ptr.as_ref() }.init as usize;
    if let Some(layout) = oversize_layout(len) {
        // SAFETY: allocated by `oversize_alloc` with this very layout, and ours alone.
        unsafe { alloc::dealloc(ptr.as_ptr().cast(), layout) };
    }
}

fn layout(class: usize) -> Layout {
    // Cannot fail: the sizes are powers of two up to 8 MiB plus 16, aligned to 16.
    Layout::from_size_align(HEADER + class_size(class), 16).expect("pool layout")
}

/// A free buffer, as the magazines and the depot hold it.
struct Block(NonNull<Header>);

// SAFETY: a free block is owned by exactly one magazine or depot slot at a time; nothing
// else refers to it, so moving it between threads is moving sole ownership.
unsafe impl Send for Block {}

type Magazine = Vec<Block>;

struct Depot {
    full: Vec<Magazine>,
    /// Empty magazines (their vectors' memory), so exchanges allocate nothing.
    empty: Vec<Magazine>,
    /// The fewest full magazines held since `since`: what a second of use left untouched.
    low: usize,
    since: Option<Instant>,
}

static DEPOT: [Mutex<Depot>; CLASSES] =
    [const { parking_lot::const_mutex(Depot { full: Vec::new(), empty: Vec::new(), low: 0, since: None }) };
        CLASSES];

impl Depot {
    /// Takes out, for the caller to free once the lock is released, the magazines above
    /// [`depot_floor`] that a whole second of use left untouched, so a burst's buffers do
    /// not stay for good. Runs at every exchange (a clock read each: once per magazine, not
    /// per message); a process that goes quiet keeps what it held until its next exchange.
    fn age(&mut self, class: usize, now: Instant) -> Vec<Magazine> {
        let since = *self.since.get_or_insert(now);
        if now.duration_since(since) < Duration::from_secs(1) {
            return Vec::new();
        }
        let idle = self.low.saturating_sub(depot_floor(class)).min(self.full.len());
        // The oldest first: the bottom of the stack.
        let idle: Vec<Magazine> = self.full.drain(..idle).collect();
        self.low = self.full.len();
        self.since = Some(now);
        idle
    }

    /// Notes how many full magazines are left after one was taken.
    fn note_taken(&mut self) {
        self.low = self.low.min(self.full.len());
    }
}

/// Set when a depot holds more than its floor, so that an I/O thread ages the depots
/// ([`age_depots`]) even when no thread exchanges magazines any more.
static SURPLUS: AtomicBool = AtomicBool::new(false);

/// Whether some depot may hold more than it keeps however idle (see [`age_depots`]).
#[inline]
pub(crate) fn depots_hold_surplus() -> bool {
    SURPLUS.load(Ordering::Relaxed)
}

/// Gives back, in every class, what a whole second of use left untouched in the depot
/// ([`Depot::age`]); returns whether some depot still holds more than its floor (then
/// call again in a second). The I/O threads call it while [`depots_hold_surplus`], so a
/// process that goes quiet after a burst keeps no more than the floors two seconds later.
pub(crate) fn age_depots(now: Instant) -> bool {
    // Cleared first: a depot that grows during the scan sets it again.
    SURPLUS.store(false, Ordering::Relaxed);
    let mut surplus = false;
    for (class, depot) in DEPOT.iter().enumerate() {
        let Some(mut depot) = depot.try_lock() else {
            // In use right now: its user ages it, and so do we next time.
            surplus = true;
            continue;
        };
        let idle = depot.age(class, now);
        surplus |= depot.full.len() > depot_floor(class);
        drop(depot);
        free_magazines(idle);
    }
    if surplus {
        SURPLUS.store(true, Ordering::Relaxed);
    }
    surplus
}

/// Frees the buffers of magazines taken out of a depot.
fn free_magazines(magazines: Vec<Magazine>) {
    for mut magazine in magazines {
        magazine.drain(..).for_each(system_free);
    }
}

/// One thread's magazines, one per class, and whether its [`CacheGuard`] is registered.
///
/// No field needs dropping (the magazines are `ManuallyDrop`), so the thread-local holding
/// it is a bare TLS slot: the fast paths of [`take`] and [`give_back`] reach it without the
/// "is the destructor registered, has it run" check that `thread_local!` adds for types
/// with a destructor. The destructor lives in [`GUARD`] instead, touched only on the slow
/// paths, when the cache first receives buffers.
struct Cache {
    loaded: [ManuallyDrop<Magazine>; CLASSES],
    state: CacheState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CacheState {
    /// No buffers held yet; the guard is not registered.
    Fresh,
    /// The guard will flush the magazines when the thread ends.
    Guarded,
    /// The thread is ending and the guard has run: buffers go straight to the system.
    Gone,
}

/// Flushes its thread's [`Cache`] when the thread ends.
struct CacheGuard;

impl Drop for CacheGuard {
    /// A thread that ends gives its buffers back (to the depot, or to the system).
    fn drop(&mut self) {
        with_cache(|cache| {
            cache.state = CacheState::Gone;
            for (class, magazine) in cache.loaded.iter_mut().enumerate() {
                // Left empty and without capacity: from now on every take and give-back
                // takes the slow path, which finds the state Gone.
                let magazine = std::mem::take(&mut **magazine);
                if !magazine.is_empty() {
                    give_to_depot(class, magazine);
                }
            }
        });
    }
}

thread_local! {
    static CACHE: UnsafeCell<Cache> = const {
        UnsafeCell::new(Cache {
            loaded: [const { ManuallyDrop::new(Vec::new()) }; CLASSES],
            state: CacheState::Fresh,
        })
    };
    static GUARD: CacheGuard = const { CacheGuard };
}

/// Runs `f` on this thread's cache.
#[inline(always)]
fn with_cache<R>(f: impl FnOnce(&mut Cache) -> R) -> R {
    // SAFETY: the cache is this thread's alone, and no `&mut Cache` is alive when `f` runs:
    // nothing called with one held (the depot's lock, the system allocator, registering the
    // guard) drops a `PoolBuf` or otherwise re-enters this module's thread-locals, and the
    // guard's destructor runs at thread exit, outside any `with_cache`.
    CACHE.with(|cache| f(unsafe { &mut *cache.get() }))
}

/// Makes sure the guard will flush `cache` at thread exit; false when the thread is ending
/// (the cache must then hold nothing more).
#[cold]
fn guarded(cache: &mut Cache) -> bool {
    if cache.state == CacheState::Fresh {
        cache.state = match GUARD.try_with(|_| ()) {
            Ok(()) => CacheState::Guarded,
            Err(_) => CacheState::Gone,
        };
    }
    cache.state == CacheState::Guarded
}

/// A new buffer of `class`: mapped pages (zeroed, so all of its body counts as
/// initialised) from [`MAPPED_FROM`] bytes, else an uninitialised heap block.
fn system_alloc(class: usize) -> NonNull<Header> {
    let layout = layout(class);
    let (raw, init) = if class >= MAPPED_CLASS {
        (os::map_zeroed(layout.size()), class_size(class) as u32)
    } else {
        // SAFETY: the layout has a non-zero size.
        (unsafe { alloc::alloc(layout) }, 0)
    };
    let Some(ptr) = NonNull::new(raw.cast::<Header>()) else { alloc::handle_alloc_error(layout) };
    // SAFETY: fresh memory, large and aligned (16 bytes, or a page) enough for a Header.
    unsafe { ptr.as_ptr().write(Header { refs: AtomicUsize::new(1), class: class as u32, init }) };
    ptr
}

fn system_free(block: Block) {
    // SAFETY: blocks come from `system_alloc` with the layout of their class (stored in
    // the header at allocation and never changed), mapped or from the heap as the class
    // says, and are owned by `block` alone.
    unsafe {
        let class = block.0.as_ref().class as usize;
        if class >= MAPPED_CLASS {
            os::unmap(block.0.as_ptr().cast(), layout(class).size());
        } else {
            alloc::dealloc(block.0.as_ptr().cast(), layout(class));
        }
    }
}

/// Hands a full (or, at thread exit, any) magazine to the depot, or frees it if the depot
/// already holds enough.
fn give_to_depot(class: usize, magazine: Magazine) -> Magazine {
    let mut depot = DEPOT[class].lock();
    let idle = depot.age(class, Instant::now());
    if depot.full.len() < depot_magazines(class) {
        depot.full.push(magazine);
        if depot.full.len() > depot_floor(class) && !SURPLUS.load(Ordering::Relaxed) {
            SURPLUS.store(true, Ordering::Relaxed);
        }
        let empty = depot.empty.pop().unwrap_or_default();
        drop(depot);
        free_magazines(idle);
        return empty;
    }
    drop(depot);
    free_magazines(idle);
    let mut magazine = magazine;
    magazine.drain(..).for_each(system_free);
    magazine
}

/// A buffer of `class`, with a reference count of 1.
#[inline]
fn take(class: usize) -> NonNull<Header> {
    with_cache(|cache| match cache.loaded[class].pop() {
        Some(block) => block.0,
        None => refill(cache, class),
    })
}

/// [`take`] from an empty magazine: swaps it for a full one from the depot, or allocates.
#[cold]
#[inline(never)]
fn refill(cache: &mut Cache, class: usize) -> NonNull<Header> {
    if !guarded(cache) {
        return system_alloc(class);
    }
    let magazine = &mut cache.loaded[class];
    let mut depot = DEPOT[class].lock();
    let idle = depot.age(class, Instant::now());
    let Some(full) = depot.full.pop() else {
        drop(depot);
        free_magazines(idle);
        return system_alloc(class);
    };
    depot.note_taken();
    let empty = std::mem::replace(&mut **magazine, full);
    if empty.capacity() > 0 {
        depot.empty.push(empty);
    }
    drop(depot);
    free_magazines(idle);
    match magazine.pop() {
        Some(block) => block.0,
        None => system_alloc(class),
    }
}

/// Returns a buffer whose last reference is gone.
///
/// Out of line: inlined, the TLS access made `Message`'s drop glue too large to be inlined
/// where inline bodies are dropped (+8 instructions per 1-byte message, inproc).
#[inline(never)]
fn give_back(ptr: NonNull<Header>) {
    // SAFETY: the caller held the last reference: the header is valid and ours.
    let class = unsafe { ptr.as_ref() }.class as usize;
    with_cache(|cache| {
        // OVERSIZE is beyond every class: its test is the index's bounds check.
        let Some(magazine) = cache.loaded.get_mut(class) else {
            return oversize_free(ptr);
        };
        if magazine.len() < magazine.capacity() {
            magazine.push(Block(ptr));
        } else {
            give_back_full(cache, class, Block(ptr));
        }
    });
}

/// [`give_back`] to a full magazine (handed to the depot whole) or to a thread's first one.
#[cold]
#[inline(never)]
fn give_back_full(cache: &mut Cache, class: usize, block: Block) {
    if !guarded(cache) {
        return system_free(block);
    }
    let magazine = &mut cache.loaded[class];
    if magazine.capacity() == 0 {
        magazine.reserve_exact(magazine_len(class));
    } else {
        let full = std::mem::take(&mut **magazine);
        **magazine = give_to_depot(class, full);
        if magazine.capacity() == 0 {
            magazine.reserve_exact(magazine_len(class));
        }
    }
    magazine.push(block);
}

/// A pooled, reference-counted body: recycled up to [`POOL_MAX`] bytes, of its own beyond
/// ([`OVERSIZE`]).
pub(crate) struct PoolBuf {
    ptr: NonNull<Header>,
    len: u32,
}

// SAFETY: the bytes are only written while the count is 1 (through `&mut self`); shared
// buffers are read-only, and the count is atomic, like `Arc<[u8]>`.
unsafe impl Send for PoolBuf {}
// SAFETY: as above: `&PoolBuf` only reads.
unsafe impl Sync for PoolBuf {}

impl PoolBuf {
    /// A copy of `data` (at least one byte, at most `u32::MAX`; recycled up to
    /// [`POOL_MAX`]), or `None`, also when the system has no memory for a larger one.
    #[inline]
    pub(crate) fn copy_from(data: &[u8]) -> Option<PoolBuf> {
        if data.is_empty() {
            return None;
        }
        if data.len() > POOL_MAX {
            return PoolBuf::oversize_copy(data);
        }
        let buf = PoolBuf { ptr: take(class_of(data.len())), len: data.len() as u32 };
        // SAFETY: the buffer holds at least `len` bytes after its header, is ours alone, and
        // does not overlap `data` (a caller's slice cannot point into a free buffer).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.data_ptr(), data.len()) };
        buf.initialised_to(data.len());
        Some(buf)
    }

    /// `len` zero bytes (at least one, at most `u32::MAX`; recycled up to [`POOL_MAX`]), or
    /// `None`, also when the system has no memory for a larger one.
    #[inline]
    pub(crate) fn zeroed(len: usize) -> Option<PoolBuf> {
        if len == 0 {
            return None;
        }
        if len > POOL_MAX {
            return PoolBuf::oversize_zeroed(len);
        }
        let buf = PoolBuf { ptr: take(class_of(len)), len: len as u32 };
        // SAFETY: the buffer holds at least `len` bytes after its header and is ours alone.
        unsafe { std::ptr::write_bytes(buf.data_ptr(), 0, len) };
        buf.initialised_to(len);
        Some(buf)
    }

    /// `len` bytes (1..=[`POOL_MAX`], else `None`) of unspecified content: zeros, or what a
    /// recycled buffer held before. For callers that overwrite them all
    /// (`zmq_msg_init_size`, which leaves the content unspecified too); saves the memset.
    #[inline]
    pub(crate) fn unfilled(len: usize) -> Option<PoolBuf> {
        if len == 0 || len > POOL_MAX {
            return None;
        }
        let buf = PoolBuf { ptr: take(class_of(len)), len: len as u32 };
        // Only the part never written before is zeroed (none of a mapped one: zeroed already).
        if (buf.header().init as usize) < len {
            buf.zero_uninitialised();
        }
        Some(buf)
    }

    /// [`PoolBuf::zeroed`] beyond [`POOL_MAX`].
    #[cold]
    #[inline(never)]
    fn oversize_zeroed(len: usize) -> Option<PoolBuf> {
        Some(PoolBuf { ptr: oversize_alloc(len)?, len: len as u32 })
    }

    /// [`PoolBuf::copy_from`] beyond [`POOL_MAX`].
    #[cold]
    #[inline(never)]
    fn oversize_copy(data: &[u8]) -> Option<PoolBuf> {
        let buf = PoolBuf::oversize_zeroed(data.len())?;
        // SAFETY: the body holds `data.len()` bytes, is ours alone and a fresh allocation.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.data_ptr(), data.len()) };
        Some(buf)
    }

    /// Zeroes the body's bytes past those ever written. Out of line: a recycled buffer of
    /// the same class mostly has none, and the call to `memset` made every caller save
    /// registers around it.
    #[cold]
    #[inline(never)]
    fn zero_uninitialised(&self) {
        let (init, len) = (self.header().init as usize, self.len());
        // SAFETY: `init..len` lies inside the body, which is ours alone.
        unsafe { std::ptr::write_bytes(self.data_ptr().add(init), 0, len - init) };
        self.initialised_to(len);
    }

    /// Records that the body's first `len` bytes are initialised. Only for a buffer just
    /// taken from the pool (its sole owner, not yet shared).
    #[inline]
    fn initialised_to(&self, len: usize) {
        // SAFETY: sole owner; no reference to the header's `init` is alive (`header()`'s
        // borrows end before this), and nothing else reads it before the buffer is shared.
        unsafe {
            let init = std::ptr::addr_of_mut!((*self.ptr.as_ptr()).init);
            if (*init as usize) < len {
                *init = len as u32;
            }
        }
    }

    #[inline]
    fn data_ptr(&self) -> *mut u8 {
        // SAFETY: the body follows the header inside the same allocation.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(HEADER) }
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the header lives as long as any reference to the buffer.
        unsafe { self.ptr.as_ref() }
    }

    /// The body's length.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The body.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes after the header were initialised by the constructor and are
        // only written through `&mut self` while no other reference exists.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), self.len as usize) }
    }

    /// The body, writable while this is its only reference (`None` once shared).
    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> Option<&mut [u8]> {
        if self.header().refs.load(Ordering::Acquire) != 1 {
            return None;
        }
        // SAFETY: the only reference, held mutably; `len` initialised bytes.
        Some(unsafe { std::slice::from_raw_parts_mut(self.data_ptr(), self.len as usize) })
    }
}

impl AsRef<[u8]> for PoolBuf {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Clone for PoolBuf {
    /// Small bodies are copied: a clone usually goes to another thread (PUB fan-out, a
    /// proxy's capture), where sharing would bounce the count's cache line between cores
    /// twice per clone, which costs more than copying a few hundred bytes.
    #[inline]
    fn clone(&self) -> PoolBuf {
        if self.len() <= COPY_ON_CLONE_MAX {
            if let Some(copy) = PoolBuf::copy_from(self.as_slice()) {
                return copy;
            }
        }
        // As `Arc::clone`: a new reference needs no ordering with anything else.
        let old = self.header().refs.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            std::process::abort();
        }
        PoolBuf { ptr: self.ptr, len: self.len }
    }
}

impl Drop for PoolBuf {
    #[inline]
    fn drop(&mut self) {
        let refs = &self.header().refs;
        // The sole owner (the usual case) skips the read-modify-write: no other reference
        // exists to race with, and the count stays 1 for the buffer's next use.
        if refs.load(Ordering::Acquire) != 1 {
            if refs.fetch_sub(1, Ordering::Release) != 1 {
                return;
            }
            // As `Arc`'s drop: see every other owner's last use before reusing the memory.
            fence(Ordering::Acquire);
            refs.store(1, Ordering::Relaxed);
        }
        give_back(self.ptr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_pooled_size() {
        for len in 1..=POOL_MAX {
            let class = class_of(len);
            assert!(class < CLASSES, "{len}");
            assert!(class_size(class) >= len, "{len}");
            assert!(class == 0 || class_size(class - 1) < len, "{len} not in the smallest fitting class");
        }
        assert_eq!(class_size(CLASSES - 1), POOL_MAX);
        // (buffers per magazine, full magazines in the depot at most, kept however idle)
        let limits = |len| {
            let class = class_of(len);
            (magazine_len(class), depot_magazines(class), depot_floor(class))
        };
        assert_eq!(limits(64), (64, 256, 64));
        assert_eq!(limits(64 << 10), (4, 256, 16));
        assert_eq!(limits(1 << 20), (4, 128, 1));
        assert_eq!(limits(2 << 20), (1, 256, 2));
        assert_eq!(limits(8 << 20), (1, 64, 0));
    }

    #[test]
    fn bodies_are_copied_zeroed_shared_and_reused() {
        let a = PoolBuf::copy_from(b"hello pool").unwrap();
        assert_eq!(a.as_slice(), b"hello pool");
        let mut b = a.clone();
        assert_ne!(a.data_ptr(), b.data_ptr(), "small bodies are copied");
        b.as_mut_slice().unwrap()[0] = b'j';
        assert_eq!(a.as_slice(), b"hello pool");
        assert_eq!(b.as_slice(), b"jello pool");
        drop(a);
        let big = PoolBuf::copy_from(&[9; 4000]).unwrap();
        let mut shared = big.clone();
        assert_eq!(big.data_ptr(), shared.data_ptr(), "large bodies are shared");
        assert!(shared.as_mut_slice().is_none(), "shared bodies are read-only");
        drop(big);
        assert!(shared.as_mut_slice().is_some());
        drop(shared);
        let addr = b.data_ptr();
        drop(b);
        // The same thread gets the buffer it just gave back, zeroed for the new body.
        let z = PoolBuf::zeroed(7).unwrap();
        assert_eq!(z.data_ptr(), addr);
        assert_eq!(z.as_slice(), &[0; 7]);
        assert!(PoolBuf::zeroed(0).is_none());
        let mut unfilled = PoolBuf::unfilled(5000).unwrap();
        assert_eq!(unfilled.as_slice().len(), 5000);
        unfilled.as_mut_slice().unwrap().fill(4);
        assert!(unfilled.as_slice().iter().all(|&b| b == 4));
        assert!(PoolBuf::unfilled(POOL_MAX + 1).is_none());
        assert_eq!(PoolBuf::copy_from(&vec![3; POOL_MAX]).unwrap().as_slice(), &vec![3; POOL_MAX][..]);
    }

    #[test]
    fn bodies_beyond_the_pool_get_a_buffer_of_their_own_freed_with_the_last_reference() {
        let mut big = PoolBuf::copy_from(&vec![1; POOL_MAX + 5]).unwrap();
        assert_eq!((big.header().class, big.header().init), (OVERSIZE, (POOL_MAX + 5) as u32));
        assert!(big.as_slice().iter().all(|&b| b == 1));
        big.as_mut_slice().unwrap()[POOL_MAX + 4] = 2;
        let shared = big.clone();
        assert_eq!(shared.data_ptr(), big.data_ptr(), "shared, not copied");
        assert!(big.as_mut_slice().is_none());
        drop(big);
        assert_eq!(shared.as_slice()[POOL_MAX + 4], 2);
        drop(shared); // freed to the system (miri/valgrind would see a leak or a bad free)
        let zeroed = PoolBuf::zeroed(POOL_MAX + 1).unwrap();
        assert!(zeroed.as_slice().iter().all(|&b| b == 0));
        assert_eq!(zeroed.len(), POOL_MAX + 1);
        // Nothing beyond POOL_MAX enters the magazines: the next pooled take still works.
        drop(zeroed);
        assert_eq!(PoolBuf::zeroed(64).unwrap().as_slice(), &[0; 64]);
    }

    #[test]
    fn large_bodies_are_mapped_pages_that_need_no_memset() {
        // From MAPPED_FROM bytes a buffer is a mapping of its own (page-aligned header), and
        // all of it counts as initialised from the start (zeroed by the kernel), so
        // `unfilled` writes nothing into it, new or recycled.
        for len in [MAPPED_FROM / 2 + 1, MAPPED_FROM, MAPPED_FROM + 1, POOL_MAX] {
            let b = PoolBuf::unfilled(len).unwrap();
            let class = class_of(len);
            let mapped = class >= MAPPED_CLASS;
            assert_eq!(mapped, len > MAPPED_FROM / 2, "{len}");
            if mapped {
                assert_eq!(b.ptr.as_ptr() as usize % 4096, 0, "{len}: a mapping starts a page");
                assert_eq!(b.header().init as usize, class_size(class), "{len}");
            }
            assert_eq!(b.as_slice().len(), len);
        }
        let fresh = system_alloc(CLASSES - 1);
        // SAFETY: just allocated, ours alone.
        let body = unsafe { std::slice::from_raw_parts(fresh.as_ptr().cast::<u8>().add(HEADER), POOL_MAX) };
        assert!(body.iter().all(|&b| b == 0), "a new mapping reads as zeros");
        system_free(Block(fresh));
    }

    #[test]
    fn the_depot_gives_back_what_a_second_of_use_left_untouched() {
        let class = CLASSES - 1;
        let floor = depot_floor(class);
        let mut d =
            Depot { full: (0..40).map(|_| Vec::new()).collect(), empty: Vec::new(), low: 0, since: None };
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert!(d.age(class, t0).is_empty(), "the first exchange starts the clock");
        assert!(d.age(class, at(1100)).is_empty(), "the first second frees nothing");
        // The next second takes 10 magazines and gives them back: 30 stayed untouched.
        for _ in 0..10 {
            d.full.pop();
            d.note_taken();
        }
        d.full.extend((0..10).map(|_| Vec::new()));
        assert!(d.age(class, at(1500)).is_empty(), "less than a second: nothing yet");
        assert_eq!(d.age(class, at(2200)).len(), 30 - floor);
        assert_eq!(d.full.len(), 40 - (30 - floor));
        // An idle second frees down to the floor, and never below.
        assert_eq!(d.age(class, at(3300)).len(), 40 - (30 - floor) - floor);
        assert_eq!(d.full.len(), floor);
        assert!(d.age(class, at(9000)).is_empty());
        assert_eq!(d.full.len(), floor);
    }

    #[test]
    fn an_io_thread_ages_the_depots_after_a_burst_without_any_exchange() {
        // The top class (8 MiB buffers), which no other test here fills past its floor.
        let class = CLASSES - 1;
        let floor = depot_floor(class);
        for _ in 0..floor + 6 {
            let empty = give_to_depot(class, vec![Block(system_alloc(class))]);
            assert!(empty.is_empty());
        }
        assert!(depots_hold_surplus(), "a depot above its floor asks to be aged");
        let t0 = Instant::now();
        // Once a second: the first look after the burst notes what the depot holds, the
        // next finds that untouched and gives it back, down to the floor.
        for secs in [2, 4, 6] {
            age_depots(t0 + Duration::from_secs(secs));
        }
        // (+1: a magazine another test's ending thread may have handed in meanwhile.)
        assert!(DEPOT[class].lock().full.len() <= floor + 1);
    }

    #[test]
    fn unfilled_bodies_show_only_bytes_written_before() {
        // Class 2 (129..=256 B): a reused buffer keeps its old bytes, and bytes no body
        // ever covered are zeroed, never read uninitialised.
        // (The buffer may come from the depot, used before by another test's thread.)
        let a = PoolBuf::copy_from(&[7; 150]).unwrap();
        let (addr, init_before) = (a.data_ptr(), a.header().init);
        assert!(init_before >= 150);
        drop(a);
        let b = PoolBuf::unfilled(200).unwrap();
        assert_eq!(b.data_ptr(), addr, "the same thread reuses the buffer it gave back");
        assert_eq!(&b.as_slice()[..150], &[7; 150][..]);
        assert_eq!(b.header().init, init_before.max(200));
    }

    #[test]
    fn a_thread_that_ends_hands_its_buffers_to_the_depot() {
        // 20 000 B: class 9, which no other test of this binary uses.
        const LEN: usize = 20_000;
        let class = class_of(LEN);
        let addrs = std::thread::spawn(|| {
            let bufs: Vec<_> = (0..3).map(|_| PoolBuf::zeroed(LEN).unwrap()).collect();
            let addrs: Vec<_> = bufs.iter().map(|b| b.ptr.as_ptr() as usize).collect();
            drop(bufs); // into this thread's magazine
            addrs
        })
        .join()
        .unwrap();
        let depot = DEPOT[class].lock();
        let held: Vec<usize> = depot.full.iter().flatten().map(|b| b.0.as_ptr() as usize).collect();
        for a in addrs {
            assert!(held.contains(&a), "buffer {a:#x} of an ended thread is not in the depot");
        }
    }

    #[test]
    fn buffers_dropped_after_the_cache_is_flushed_go_to_the_system() {
        // A thread-local registered before the pool's guard is destroyed after it (LIFO):
        // the buffer it holds is freed while the cache is gone, and must not go back into it.
        thread_local! {
            static HELD: std::cell::RefCell<Option<PoolBuf>> = const { std::cell::RefCell::new(None) };
        }
        std::thread::spawn(|| {
            HELD.with(|h| h.borrow_mut().take()); // registers HELD's destructor first
            let a = PoolBuf::copy_from(&[5; 3000]).unwrap();
            drop(a); // the first give-back registers the guard
            let b = PoolBuf::copy_from(&[6; 3000]).unwrap();
            HELD.with(|h| *h.borrow_mut() = Some(b));
        })
        .join()
        .unwrap();
        // And a thread that only ever takes (never gives back) ends cleanly too.
        let taken = std::thread::spawn(|| PoolBuf::copy_from(&[1; 70]).unwrap()).join().unwrap();
        assert_eq!(taken.as_slice(), &[1; 70]);
    }

    #[test]
    fn buffers_flow_back_from_a_freeing_thread() {
        // One thread allocates, another frees, as a pipe's two ends do: every body arrives
        // intact and the allocating side is refilled from the depot.
        let (tx, rx) = std::sync::mpsc::sync_channel::<PoolBuf>(256);
        let consumer = std::thread::spawn(move || {
            let mut n = 0u32;
            while let Ok(buf) = rx.recv() {
                assert_eq!(buf.as_slice(), &n.to_le_bytes().repeat(25)[..], "body {n}");
                n += 1;
            }
            n
        });
        for n in 0u32..20_000 {
            tx.send(PoolBuf::copy_from(&n.to_le_bytes().repeat(25)).unwrap()).unwrap();
        }
        drop(tx);
        assert_eq!(consumer.join().unwrap(), 20_000);
        assert!(DEPOT[class_of(100)].lock().full.len() <= depot_magazines(class_of(100)));
    }
}
