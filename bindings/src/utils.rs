//! errno, version, capabilities, CURVE key helpers, and the utility functions libzmq's perf
//! tools use: atomic counters, stopwatches, sleep, threads.

use std::ffi::{c_char, c_int, c_ulong, c_void, CStr};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::boundary;
use crate::consts::*;

/// The calling thread's errno (as libzmq, the plain C `errno`).
#[no_mangle]
pub extern "C" fn zmq_errno() -> c_int {
    boundary::errno()
}

/// A message for an errno value, including libzmq's own codes.
#[no_mangle]
pub extern "C" fn zmq_strerror(errnum: c_int) -> *const c_char {
    let own: &'static CStr = match errnum {
        EFSM => c"Operation cannot be accomplished in current state",
        ENOCOMPATPROTO => c"The protocol is not compatible with the socket type",
        ETERM => c"Context was terminated",
        EMTHREAD => c"No thread available",
        // SAFETY: strerror returns a valid NUL-terminated string for any value (libzmq
        // makes the same call).
        _ => return unsafe { libc::strerror(errnum) },
    };
    own.as_ptr()
}

/// The libzmq version whose API this library provides.
///
/// # Safety
/// Each pointer is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
    for (p, v) in [(major, VERSION.0), (minor, VERSION.1), (patch, VERSION.2)] {
        if !p.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *p = v };
        }
    }
}

/// Whether the library has a capability ([`libsock::has`]: "ipc" and "curve" yes; "pgm",
/// "tipc", "norm", "gssapi" no), and "draft" when this crate is built with its `draft`
/// feature (as a libzmq built with its draft API).
///
/// # Safety
/// `capability` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn zmq_has(capability: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    let name = unsafe { boundary::c_str(capability) }.unwrap_or("");
    // "draft" by this crate's own feature: in a workspace build libsock may have its draft
    // feature on for another crate while this library's zmq.h API has no draft part.
    c_int::from(if name == "draft" { cfg!(feature = "draft") } else { libsock::has(name) })
}

/// Writes `text` (40 Z85 characters) and a NUL to `dest`.
///
/// # Safety
/// `dest` has 41 writable bytes.
unsafe fn write_key(dest: *mut c_char, text: &str) {
    debug_assert_eq!(text.len(), 40);
    // SAFETY: 41 writable bytes per the contract; 40 copied plus the NUL.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), dest.cast::<u8>(), 40);
        *dest.add(40) = 0;
    }
}

/// A new CURVE key pair (libsock's [`libsock::curve_keypair`]) as two 41-byte Z85 strings.
///
/// # Safety
/// Each pointer is NULL or has 41 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_curve_keypair(public: *mut c_char, secret: *mut c_char) -> c_int {
    boundary::int(|| {
        if public.is_null() || secret.is_null() {
            return Err(libc::EFAULT);
        }
        let (p, s) = libsock::curve_keypair();
        // SAFETY: non-NULL with 41 bytes per the contract.
        unsafe {
            write_key(public, &p);
            write_key(secret, &s);
        }
        Ok(0)
    })
}

/// The public key of a Z85 secret key (libsock's [`libsock::curve_public`]); `EINVAL` if
/// the secret is not 40 Z85 characters.
///
/// # Safety
/// `public` is NULL or has 41 writable bytes; `secret` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn zmq_curve_public(public: *mut c_char, secret: *const c_char) -> c_int {
    boundary::int(|| {
        if public.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: forwarded contract.
        let secret = unsafe { boundary::c_str(secret) }?;
        let p = libsock::curve_public(secret).map_err(|_| libc::EINVAL)?;
        // SAFETY: non-NULL with 41 bytes per the contract.
        unsafe { write_key(public, &p) };
        Ok(0)
    })
}

/// A new atomic counter at 0.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_new() -> *mut c_void {
    boundary::ptr(|| Ok(Box::into_raw(Box::new(AtomicI32::new(0))).cast()))
}

/// # Safety
/// `c` is a counter from [`zmq_atomic_counter_new`].
unsafe fn counter<'a>(c: *mut c_void) -> &'a AtomicI32 {
    // SAFETY: forwarded contract.
    unsafe { &*c.cast::<AtomicI32>() }
}

/// Sets the counter.
///
/// # Safety
/// `c` is a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_set(c: *mut c_void, value: c_int) {
    // SAFETY: forwarded contract.
    unsafe { counter(c) }.store(value, Ordering::SeqCst);
}

/// Increments the counter; returns the value before.
///
/// # Safety
/// `c` is a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_inc(c: *mut c_void) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { counter(c) }.fetch_add(1, Ordering::SeqCst)
}

/// Decrements the counter; returns 0 when it reached zero, 1 otherwise.
///
/// # Safety
/// `c` is a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_dec(c: *mut c_void) -> c_int {
    // SAFETY: forwarded contract.
    c_int::from(unsafe { counter(c) }.fetch_sub(1, Ordering::SeqCst) - 1 != 0)
}

/// The counter's value.
///
/// # Safety
/// `c` is a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_value(c: *mut c_void) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { counter(c) }.load(Ordering::SeqCst)
}

/// Frees the counter at `*c` and sets `*c` to NULL.
///
/// # Safety
/// `c` is NULL or points to NULL or to a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_destroy(c: *mut *mut c_void) {
    // SAFETY: forwarded contract; the counter came from Box::into_raw.
    unsafe {
        if !c.is_null() && !(*c).is_null() {
            drop(Box::from_raw((*c).cast::<AtomicI32>()));
            *c = std::ptr::null_mut();
        }
    }
}

/// Starts a stopwatch.
#[no_mangle]
pub extern "C" fn zmq_stopwatch_start() -> *mut c_void {
    boundary::ptr(|| Ok(Box::into_raw(Box::new(Instant::now())).cast()))
}

/// Microseconds since the stopwatch started.
///
/// # Safety
/// `watch` is a live stopwatch.
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_intermediate(watch: *mut c_void) -> c_ulong {
    // SAFETY: forwarded contract.
    unsafe { &*watch.cast::<Instant>() }.elapsed().as_micros() as c_ulong
}

/// Microseconds since the stopwatch started; frees it.
///
/// # Safety
/// `watch` is a live stopwatch, not used again.
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_stop(watch: *mut c_void) -> c_ulong {
    // SAFETY: forwarded contract; the watch came from Box::into_raw.
    let started = unsafe { Box::from_raw(watch.cast::<Instant>()) };
    started.elapsed().as_micros() as c_ulong
}

/// Sleeps for `seconds`.
#[no_mangle]
pub extern "C" fn zmq_sleep(seconds: c_int) {
    std::thread::sleep(Duration::from_secs(seconds.max(0) as u64));
}

/// `zmq_thread_fn`.
pub type ThreadFn = unsafe extern "C" fn(arg: *mut c_void);

/// Runs `func(arg)` on a new thread; returns a handle for [`zmq_threadclose`].
#[no_mangle]
pub extern "C" fn zmq_threadstart(func: Option<ThreadFn>, arg: *mut c_void) -> *mut c_void {
    boundary::ptr(|| {
        let func = func.ok_or(libc::EINVAL)?;
        let arg = arg as usize;
        let run = move || {
            // As libzmq's threads: signals go to the application's other threads.
            // SAFETY: `set` is initialised by sigfillset before use; no old mask is wanted.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigfillset(&mut set);
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            // SAFETY: the caller hands `arg` to `func` on another thread, as with libzmq.
            unsafe { func(arg as *mut c_void) }
        };
        let handle =
            std::thread::Builder::new().spawn(run).map_err(|e| e.raw_os_error().unwrap_or(libc::EAGAIN))?;
        Ok(Box::into_raw(Box::new(handle)).cast())
    })
}

/// Waits for the thread to end and frees its handle.
///
/// # Safety
/// `thread` is NULL or a handle from [`zmq_threadstart`], not used again.
#[no_mangle]
pub unsafe extern "C" fn zmq_threadclose(thread: *mut c_void) {
    if thread.is_null() {
        return;
    }
    // SAFETY: forwarded contract; the handle came from Box::into_raw.
    let handle = unsafe { Box::from_raw(thread.cast::<std::thread::JoinHandle<()>>()) };
    let _ = handle.join();
}
