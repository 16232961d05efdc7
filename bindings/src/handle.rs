//! Tagged handles: what a C `void *` context or socket points at.
//!
//! Every handle struct is `#[repr(C)]` and starts with a [`Tag`], so any of our handles can be
//! told apart by reading its first word, and a closed one reads as [`DEAD`]. libzmq checks a
//! tag the same way to answer `ENOTSOCK`/`EFAULT` for stale handles. So that the check never
//! reads freed memory, closed handles go to a bounded [`bury`] queue and are freed only after
//! [`GRAVEYARD_LEN`] later closes: memory stays bounded for programs that open and close
//! sockets forever, and a recently closed handle still answers `ENOTSOCK`.

use std::collections::VecDeque;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// The first field of every handle.
pub type Tag = AtomicU32;

/// Tag of a live context.
pub const CONTEXT: u32 = 0xabad_cafe;
/// Tag of a live socket.
pub const SOCKET: u32 = 0xba5e_ba11;
/// Tag of a live poller (`zmq_poller_new`, draft API).
pub const POLLER: u32 = 0xcafe_babe;
/// Tag of a closed handle.
pub const DEAD: u32 = 0xdead_beef;

/// How many closed handles stay allocated before the oldest is freed.
pub const GRAVEYARD_LEN: usize = 1024;

static GRAVEYARD: Mutex<VecDeque<Box<dyn Send>>> = Mutex::new(VecDeque::new());

/// Whether `p` is a live handle with `tag`.
///
/// # Safety
/// `p` is NULL or points to at least 4 readable, aligned bytes (a handle of ours, live or
/// buried, satisfies this; anything else is the caller's bug, as with libzmq).
pub unsafe fn has_tag(p: *const c_void, tag: u32) -> bool {
    if p.is_null() || (p as usize) % std::mem::align_of::<Tag>() != 0 {
        return false;
    }
    // SAFETY: non-NULL and aligned; readable per this function's contract.
    let t = unsafe { &*p.cast::<Tag>() };
    t.load(Ordering::Acquire) == tag
}

/// A handle type: `#[repr(C)]` with a [`Tag`] as its first field.
pub trait Handle: Send + 'static {
    /// The handle's tag.
    fn tag(&self) -> &Tag;
}

/// Marks `handle` closed and keeps it allocated for a while (see the module docs).
pub fn bury<T: Handle>(handle: Box<T>) {
    handle.tag().store(DEAD, Ordering::Release);
    let old = {
        let mut graves = GRAVEYARD.lock().unwrap_or_else(|e| e.into_inner());
        graves.push_back(handle);
        if graves.len() > GRAVEYARD_LEN {
            graves.pop_front()
        } else {
            None
        }
    };
    drop(old);
}
