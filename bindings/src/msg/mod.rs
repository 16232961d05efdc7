//! Messages: `zmq_msg_t` and `zmq_msg_*`, `zmq_msg_send/recv`, `zmq_sendmsg/recvmsg`.
//!
//! A `zmq_msg_t` is 64 bytes the caller owns; a `Slot` lives in them: a tag word (so a
//! closed or never-initialised message gives `EFAULT`) and a `Body`. Mostly the body is a
//! libsock [`Message`] held in place: bodies of up to [`SMALL`] bytes inline (no allocation,
//! like libzmq's VSM), so sending one moves it and receiving one writes it, with nothing
//! converted; received large bodies as libsock delivered them. Larger bodies the caller is
//! to fill (`zmq_msg_init_size`) are libsock messages over a recycled buffer up to
//! [`libsock::POOLED_MAX`] bytes (no malloc per message), a `Vec` beyond, and a caller's buffer with its free function
//! (`zmq_msg_init_data`) is kept as given.

use std::ffi::{c_char, c_int, c_void};
use std::mem::{align_of, size_of};

use bytes::Bytes;
use libsock::Message;

use crate::boundary::{self, CResult};
use crate::consts::*;

mod transfer;
pub use transfer::{zmq_msg_recv, zmq_msg_send, zmq_recvmsg, zmq_sendmsg};

/// libzmq's opaque message: 64 bytes, pointer-aligned.
#[repr(C, align(8))]
pub struct zmq_msg_t {
    _opaque: [u8; 64],
}

/// Bodies up to this size live inside the `zmq_msg_t` (libsock's inline message capacity).
pub const SMALL: usize = 38;

const LIVE: u32 = 0x5a5a_0001;

/// The Rust view of a `zmq_msg_t`.
#[repr(C)]
struct Slot {
    tag: u32,
    /// Set by `zmq_msg_copy` on both messages (`ZMQ_SHARED`).
    shared: bool,
    body: Body,
}

// Msg first: the other variants are then the niche values after a bool's, so "is it a
// message" is one compare (`> 1`) where the middle place cost six instructions per call.
enum Body {
    /// A libsock message: inline up to [`SMALL`] bytes (then writable through the slot, see
    /// [`zmq_msg_data`]), or received.
    Msg(Message),
    /// Nothing: `zmq_msg_init`, and what a message sent without a copy leaves behind (one
    /// byte to write, nothing to release).
    Empty,
    /// A buffer of more than [`SMALL`] bytes for the caller to fill.
    Buf(Vec<u8>),
    /// The caller's own buffer (`zmq_msg_init_data`), or a shared one (`zmq_msg_copy`).
    Foreign(Bytes),
}

const _: () = assert!(size_of::<Slot>() <= size_of::<zmq_msg_t>());
const _: () = assert!(align_of::<Slot>() <= align_of::<zmq_msg_t>());

impl Body {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Buf(v) => v,
            Body::Foreign(b) => b,
            Body::Msg(m) => m,
        }
    }

    /// The size in bytes (no bounds check, so no panic path: see [`zmq_msg_size`]).
    #[inline]
    fn len(&self) -> usize {
        // Messages first: the common case, tested with one compare.
        if let Body::Msg(m) = self {
            return m.len();
        }
        match self {
            Body::Buf(v) => v.len(),
            Body::Foreign(b) => b.len(),
            _ => 0,
        }
    }

    /// Turns a writable buffer into a shareable one (same memory, no copy).
    fn share(&mut self) {
        if let Body::Buf(v) = self {
            let bytes = Bytes::from(std::mem::take(v));
            *self = Body::Foreign(bytes);
        }
    }

    /// Whether dropping the body has nothing to release (an inline message): stores over it
    /// may skip the drop glue.
    #[inline]
    fn is_plain(&self) -> bool {
        // Empty first, with one compare of its niche: what every sent message leaves.
        if let Body::Empty = self {
            return true;
        }
        match self {
            Body::Empty => true,
            Body::Msg(m) => m.is_inline() && m.metadata().is_none(),
            _ => false,
        }
    }

    /// Moves the body out as a libsock message without copying, leaving `self` empty; `None`
    /// for a caller's buffer, which stays (see [`zmq_msg_send`]).
    #[inline]
    fn take_message(&mut self) -> Option<Message> {
        match std::mem::replace(self, Body::Empty) {
            Body::Msg(m) => Some(m),
            Body::Buf(v) => Some(Message::from(v)),
            Body::Empty => Some(Message::new()),
            foreign @ Body::Foreign(_) => {
                // SAFETY: `self` is Body::Empty, which owns nothing: overwriting leaks nothing.
                unsafe { std::ptr::write(self, foreign) };
                None
            }
        }
    }

    /// The body as a libsock message; leaves `self` equivalent (shared, not copied, when large).
    fn make_message(&mut self) -> Message {
        self.share();
        match self {
            // Held, not copied, even when small: the caller's free function runs when the
            // message leaves libsock, as with libzmq (pyzmq's MessageTracker waits for it).
            Body::Foreign(b) => Message::from_bytes_shared(b.clone()),
            Body::Msg(m) => Message::from(&*m),
            Body::Empty => Message::new(),
            Body::Buf(_) => unreachable!("share() converts buffers"),
        }
    }
}

/// Stores `body` in a live slot, dropping the old body unless it has nothing to release.
#[inline]
fn store(slot: &mut Slot, body: Body) {
    if slot.body.is_plain() {
        // SAFETY: the old body owns nothing (is_plain), so overwriting it leaks nothing.
        unsafe { std::ptr::write(&mut slot.body, body) };
    } else {
        slot.body = body;
    }
}

/// A caller's buffer and its free function, called once when the last reference goes.
struct CBuffer {
    data: *mut c_void,
    len: usize,
    ffn: Option<FreeFn>,
    hint: *mut c_void,
}

/// `zmq_free_fn`.
pub type FreeFn = unsafe extern "C" fn(data: *mut c_void, hint: *mut c_void);

// SAFETY: zmq_msg_init_data's contract (as libzmq's) lets the buffer be read and freed from
// any thread; the pointers are not otherwise shared.
unsafe impl Send for CBuffer {}

impl AsRef<[u8]> for CBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the caller promised `len` readable bytes at `data` until `ffn` is called.
        unsafe { boundary::bytes(self.data, self.len) }.unwrap_or(&[])
    }
}

impl Drop for CBuffer {
    fn drop(&mut self) {
        if let Some(ffn) = self.ffn {
            // SAFETY: called exactly once (Drop), with the caller's own arguments.
            unsafe { ffn(self.data, self.hint) };
        }
    }
}

/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
unsafe fn slot<'a>(msg: *const zmq_msg_t) -> CResult<&'a mut Slot> {
    if msg.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: non-NULL, aligned (zmq_msg_t's alignment), 64 bytes; the tag is read first and
    // the body only when the tag says a Slot was written there by `init`.
    let tag = unsafe { std::ptr::read(msg.cast::<u32>()) };
    if tag != LIVE {
        return Err(libc::EFAULT);
    }
    // SAFETY: tag LIVE means `init` wrote a Slot here and it has not been closed.
    Ok(unsafe { &mut *(msg as *mut zmq_msg_t).cast::<Slot>() })
}

/// The message as a libsock [`Message`], made one if it is not yet (large bodies are shared,
/// not copied), so the draft API can set its routing id or group (see `crate::draft`).
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[cfg(feature = "draft")]
pub(crate) unsafe fn as_message<'a>(msg: *const zmq_msg_t) -> CResult<&'a mut Message> {
    // SAFETY: forwarded contract.
    let s = unsafe { slot(msg) }?;
    Ok(s.message_mut())
}

impl Slot {
    /// The body as a libsock [`Message`], made one in place if it is not yet: the same bytes
    /// (a caller's buffer shared, not copied, so its data pointer and free function stay).
    #[cold]
    #[inline(never)]
    fn message_mut(&mut self) -> &mut Message {
        if !matches!(self.body, Body::Msg(_)) {
            let m = self.body.make_message();
            self.body = Body::Msg(m);
        }
        match &mut self.body {
            Body::Msg(m) => m,
            _ => unreachable!("the body was just made a message"),
        }
    }
}

/// Writes a live slot with `body` into (uninitialised) `msg`.
fn init(msg: *mut zmq_msg_t, body: Body) -> CResult<c_int> {
    if msg.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: non-NULL, aligned and large enough (asserted above); previous contents are
    // not read (zmq_msg_init* takes uninitialised messages).
    unsafe { std::ptr::write(msg.cast::<Slot>(), Slot { tag: LIVE, shared: false, body }) };
    Ok(0)
}

/// Initialises an empty message.
///
/// # Safety
/// `msg` is NULL or points to a writable `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init(msg: *mut zmq_msg_t) -> c_int {
    boundary::int(|| init(msg, Body::Empty))
}

/// Initialises a message of `size` bytes (zeroed) for the caller to fill.
///
/// # Safety
/// `msg` is NULL or points to a writable `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init_size(msg: *mut zmq_msg_t, size: usize) -> c_int {
    // The common cases are written straight into the caller's message: inline bodies here,
    // recycled buffers in init_size_pooled (no malloc here, no free on the I/O thread that
    // sends it, and no memset: libzmq leaves the content unspecified too). Neither can
    // unwind (the pool aborts when the system has no memory, as any Rust allocation), so
    // they need no panic boundary, and inline bodies no stack frame.
    if size > SMALL || msg.is_null() {
        // SAFETY: forwarded contract.
        return unsafe { init_size_pooled(msg, size) };
    }
    let slot = Slot { tag: LIVE, shared: false, body: Body::Msg(Message::zeroed(size)) };
    // SAFETY: non-NULL, aligned and large enough (asserted above); previous contents are not
    // read (zmq_msg_init_size takes an uninitialised message).
    unsafe { std::ptr::write(msg.cast::<Slot>(), slot) };
    0
}

/// [`zmq_msg_init_size`] beyond [`SMALL`]: a recycled buffer up to [`libsock::POOLED_MAX`].
/// Out of line so that inline bodies need no stack frame.
///
/// # Safety
/// As [`zmq_msg_init_size`].
#[inline(never)]
unsafe extern "C" fn init_size_pooled(msg: *mut zmq_msg_t, size: usize) -> c_int {
    if size > libsock::POOLED_MAX || msg.is_null() {
        // SAFETY: forwarded contract.
        return unsafe { init_size_rare(msg, size) };
    }
    // SAFETY: zmq_msg_init_size calls this only for a NULL message (returned above) or a
    // size above SMALL. Told so, the compiler drops for_overwrite's inline branch, which
    // it had merged into the store below: 58 instructions a message at 64 B, now 48.
    unsafe { std::hint::assert_unchecked(size > SMALL) };
    let slot = Slot { tag: LIVE, shared: false, body: Body::Msg(Message::for_overwrite(size)) };
    // SAFETY: as in zmq_msg_init_size.
    unsafe { std::ptr::write(msg.cast::<Slot>(), slot) };
    0
}

/// [`zmq_msg_init_size`] of a NULL message, or of a body too large for the pool.
///
/// # Safety
/// As [`zmq_msg_init_size`].
#[cold]
#[inline(never)]
unsafe fn init_size_rare(msg: *mut zmq_msg_t, size: usize) -> c_int {
    boundary::int(|| {
        if msg.is_null() {
            return Err(libc::EFAULT);
        }
        init(msg, Body::Buf(zeroed_vec(size).ok_or(libc::ENOMEM)?))
    })
}

/// `size` (> 0) zero bytes from the allocator's zeroed memory, or `None` if it refuses.
/// The allocator knows when memory is zero already: blocks this large are fresh pages
/// (glibc maps its own from 128 KiB), which it does not clear, and pages nobody writes are
/// never made private, as with libzmq's plain `malloc`. A `Vec` zero-filled after the
/// fact wrote every page first: libzmq's perf tools at 128 KiB ran at 0.46× libzmq, at
/// 1 MiB 0.37×.
fn zeroed_vec(size: usize) -> Option<Vec<u8>> {
    let layout = std::alloc::Layout::array::<u8>(size).ok()?;
    if layout.size() == 0 {
        return Some(Vec::new());
    }
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of `size` bytes of
    // alignment 1, all of them initialised (zeroed): a `Vec<u8>`'s own allocation.
    Some(unsafe { Vec::from_raw_parts(ptr, size, size) })
}

/// Initialises a message over the caller's buffer without copying; `ffn(data, hint)` is
/// called exactly once, from whichever thread, when the library no longer needs it.
///
/// # Safety
/// `msg` is NULL or points to a writable `zmq_msg_t`; `data` has `size` readable bytes that
/// stay valid and unchanged until `ffn` is called (for good when `ffn` is NULL).
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init_data(
    msg: *mut zmq_msg_t,
    data: *mut c_void,
    size: usize,
    ffn: Option<FreeFn>,
    hint: *mut c_void,
) -> c_int {
    boundary::int(|| {
        if data.is_null() && size > 0 {
            return Err(libc::EFAULT);
        }
        let constant = ffn.is_none();
        let buffer = CBuffer { data, len: size, ffn, hint };
        init(msg, Body::Foreign(Bytes::from_owner(buffer)))?;
        if constant {
            // No free function: constant data nobody owns, which libzmq reports as shared
            // (ZMQ_SHARED is 1; test_msg_flags' case 2).
            // SAFETY: just initialised by `init`.
            unsafe { slot(msg) }?.shared = true;
        }
        Ok(0)
    })
}

/// Releases a message's content.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_close(msg: *mut zmq_msg_t) -> c_int {
    // An empty, inline or sent message owns nothing: closing it is one store, with no panic
    // boundary (nothing here can panic).
    // SAFETY: forwarded contract.
    if let Ok(s) = unsafe { slot(msg) } {
        if s.body.is_plain() {
            s.tag = 0;
            return 0;
        }
    }
    // SAFETY: forwarded contract.
    unsafe { close_owning(msg) }
}

/// [`zmq_msg_close`] of a message that owns memory (or of a bad one: the error).
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[cold]
#[inline(never)]
unsafe extern "C" fn close_owning(msg: *mut zmq_msg_t) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { slot(msg) }?;
        s.tag = 0;
        // SAFETY: the slot was live; its tag now says so no more, so it is dropped once.
        unsafe { std::ptr::drop_in_place(&mut s.body) };
        Ok(0)
    })
}

/// Moves `src`'s content to `dest` (whose content is released); `src` becomes empty.
///
/// # Safety
/// Both are NULL or point to `zmq_msg_t`s.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_move(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { slot(src) }?;
        // SAFETY: forwarded contract.
        let d = unsafe { slot(dest) }?;
        if std::ptr::eq(s, d) {
            return Ok(0);
        }
        d.body = std::mem::replace(&mut s.body, Body::Empty);
        d.shared = std::mem::take(&mut s.shared);
        Ok(0)
    })
}

/// Makes `dest` share `src`'s content (no copy for large bodies).
///
/// # Safety
/// Both are NULL or point to `zmq_msg_t`s.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_copy(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { slot(src) }?;
        // SAFETY: forwarded contract.
        let d = unsafe { slot(dest) }?;
        if std::ptr::eq(s, d) {
            return Ok(0);
        }
        s.body.share();
        let (body, shared) = match &s.body {
            Body::Empty => (Body::Empty, false),
            Body::Msg(m) => (Body::Msg(m.clone()), !m.is_inline()),
            Body::Foreign(b) => (Body::Foreign(b.clone()), true),
            Body::Buf(_) => unreachable!("share() converts buffers"),
        };
        s.shared = shared;
        d.body = body;
        d.shared = shared;
        Ok(0)
    })
}

/// A pointer to the message's bytes (writable, as in libzmq).
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_data(msg: *mut zmq_msg_t) -> *mut c_void {
    boundary::ptr(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { slot(msg) }?;
        Ok(match &mut s.body {
            Body::Buf(v) => v.as_mut_ptr().cast(),
            // libzmq's empty messages point into the zmq_msg_t too (never NULL).
            Body::Empty => msg.cast::<u8>().wrapping_add(size_of::<u32>()).cast(),
            Body::Msg(m) if m.is_inline() => {
                // Inline bytes lie inside the caller's zmq_msg_t: derive the pointer from the
                // caller's own (writable) one rather than from a shared borrow of the message.
                let offset = m.as_ptr() as usize - msg as usize;
                msg.cast::<u8>().wrapping_add(offset).cast()
            }
            // Bodies of up to 8 KiB made here (zmq_msg_init_size) are this message's own.
            Body::Msg(m) if !m.is_inline() => match m.data_mut() {
                Some(data) => data.as_mut_ptr().cast(),
                None => m.as_ptr() as *mut c_void,
            },
            other => other.as_slice().as_ptr() as *mut c_void,
        })
    })
}

/// The message's size in bytes.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_size(msg: *const zmq_msg_t) -> usize {
    // SAFETY: forwarded contract.
    // Nothing here can panic, so the panic boundary compiles to nothing.
    boundary::or(0, || Ok(unsafe { slot(msg) }?.body.len()))
}

/// 1 when more frames of the same message follow this received one.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_more(msg: *const zmq_msg_t) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { zmq_msg_get(msg, MORE) }
}

/// Reads a message property: ZMQ_MORE, ZMQ_SRCFD (the descriptor of the tcp/ipc connection it
/// came in on; -1 with EINVAL for inproc and locally made messages, as libzmq), ZMQ_SHARED.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_get(msg: *const zmq_msg_t, property: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { slot(msg) }?;
        match property {
            MORE => Ok(matches!(&s.body, Body::Msg(m) if m.get_more()) as c_int),
            // No connection behind it (made here, or from inproc): -1 with EINVAL, as libzmq.
            SRCFD => match &s.body {
                Body::Msg(m) => m.metadata().and_then(|md| md.source_fd()).ok_or(libc::EINVAL),
                _ => Err(libc::EINVAL),
            },
            SHARED => Ok(s.shared as c_int),
            _ => Err(libc::EINVAL),
        }
    })
}

/// Sets a message property: libzmq 4.3 has none settable, so always `EINVAL`.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_set(msg: *mut zmq_msg_t, _property: c_int, _optval: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        unsafe { slot(msg) }?;
        Err(libc::EINVAL)
    })
}

/// Reads a connection property of a received message ([`Message::gets`]: "User-Id",
/// "Peer-Address", "Socket-Type", ...; names compare case-insensitively). The string lives
/// as long as the message. NULL with `EINVAL` when the message has no such property (it was
/// not received, or not over a PLAIN/CURVE connection).
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`; `property` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_gets(msg: *const zmq_msg_t, property: *const c_char) -> *const c_char {
    boundary::ptr(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { slot(msg) }?;
        // SAFETY: forwarded contract.
        let name = unsafe { boundary::c_str(property) }?;
        let Body::Msg(m) = &s.body else { return Err(libc::EINVAL) };
        // The string is borrowed from the message's shared metadata, which `zmq_msg_close`
        // (or a new receive into this message) releases.
        let value = m.metadata().and_then(|meta| meta.get_c_str(name)).ok_or(libc::EINVAL)?;
        Ok(value.as_ptr().cast_mut())
    })
}
