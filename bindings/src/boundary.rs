//! The panic boundary and errno plumbing every exported function goes through.
//!
//! Bodies return `Result<T, Errno>`; [`int`], [`ptr`] and friends turn that into libzmq's
//! convention (a value, or -1 / NULL with `errno` set) and make sure no panic unwinds into C.

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An errno value, the error side of every body.
pub type Errno = c_int;

/// A body's result.
pub type CResult<T> = Result<T, Errno>;

/// errno reported when a body panicked (a libsock bug): "state not recoverable".
pub const PANIC_ERRNO: Errno = libc::ENOTRECOVERABLE;

/// Sets the calling thread's `errno`.
pub fn set_errno(e: Errno) {
    // SAFETY: __errno_location returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// Reads the calling thread's `errno`.
pub fn errno() -> Errno {
    // SAFETY: as in set_errno.
    unsafe { *libc::__errno_location() }
}

/// Converts a libsock error to its errno.
pub fn err(e: libsock::Error) -> Errno {
    e.to_raw()
}

/// Runs `body` for a function returning `int`: its value, or -1 with errno set.
#[inline(always)]
pub fn int(body: impl FnOnce() -> CResult<c_int>) -> c_int {
    run(body).unwrap_or(-1)
}

/// Runs `body` for a function returning a pointer: its value, or NULL with errno set.
#[inline(always)]
pub fn ptr<T>(body: impl FnOnce() -> CResult<*mut T>) -> *mut T {
    run(body).unwrap_or(std::ptr::null_mut())
}

/// Runs `body` for a function returning nothing: errors only set errno.
#[inline(always)]
pub fn unit(body: impl FnOnce() -> CResult<()>) {
    let _ = run(body);
}

/// Runs `body` and returns `fallback` on error (errno set), for functions such as
/// `zmq_msg_size` whose C signature has no error value.
#[inline(always)]
pub fn or<T>(fallback: T, body: impl FnOnce() -> CResult<T>) -> T {
    run(body).unwrap_or(fallback)
}

// Inlined into every exported function: the closure's captures then stay in registers and the
// landing pad is the only trace of the boundary on the success path.
#[inline(always)]
fn run<T>(body: impl FnOnce() -> CResult<T>) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            set_errno(e);
            None
        }
        Err(_) => {
            set_errno(PANIC_ERRNO);
            None
        }
    }
}

/// Reads a NUL-terminated UTF-8 string argument; NULL or non-UTF-8 give `EINVAL`.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string that outlives `'a`.
pub unsafe fn c_str<'a>(s: *const c_char) -> CResult<&'a str> {
    if s.is_null() {
        return Err(libc::EINVAL);
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    unsafe { CStr::from_ptr(s) }.to_str().map_err(|_| libc::EINVAL)
}

/// A `(pointer, length)` argument as a slice; NULL is allowed only with length 0 (else `EFAULT`).
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that outlive `'a`.
pub unsafe fn bytes<'a>(p: *const std::ffi::c_void, len: usize) -> CResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: non-NULL and `len` bytes readable per this function's contract.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// Converts a byte count to the `int` libzmq returns, saturating like libzmq's casts would not.
pub fn len_to_int(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_minus_one_with_errno() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let rc = int(|| panic!("a libsock bug"));
        std::panic::set_hook(prev);
        assert_eq!(rc, -1);
        assert_eq!(errno(), PANIC_ERRNO);
        assert!(ptr::<u8>(|| panic!("again")).is_null());
    }

    #[test]
    fn errors_set_errno_and_values_pass_through() {
        assert_eq!(int(|| Err(libc::EINVAL)), -1);
        assert_eq!(errno(), libc::EINVAL);
        assert_eq!(int(|| Ok(7)), 7);
        assert_eq!(or(0usize, || Err(libc::EFAULT)), 0);
        assert_eq!(errno(), libc::EFAULT);
        assert_eq!(len_to_int(usize::MAX), c_int::MAX);
    }

    #[test]
    fn pointer_arguments_are_checked() {
        // SAFETY: NULL is allowed by these functions' contracts.
        unsafe {
            assert_eq!(c_str(std::ptr::null()), Err(libc::EINVAL));
            assert_eq!(bytes(std::ptr::null(), 0), Ok(&[][..]));
            assert_eq!(bytes(std::ptr::null(), 1), Err(libc::EFAULT));
        }
    }
}
