//! Z85 (ZeroMQ RFC 32): `zmq_z85_encode` / `zmq_z85_decode`, over libsock's codec.

use std::ffi::{c_char, CStr};

use crate::boundary;

/// Encodes `size` bytes (a multiple of 4) into `dest` (size * 5 / 4 + 1 bytes, NUL added).
/// Returns `dest`, or NULL with `EINVAL`.
///
/// # Safety
/// `data` has `size` readable bytes; `dest` has `size * 5 / 4 + 1` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_z85_encode(dest: *mut c_char, data: *const u8, size: usize) -> *mut c_char {
    boundary::ptr(|| {
        if size % 4 != 0 || dest.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: forwarded contract.
        let data = unsafe { boundary::bytes(data.cast(), size) }?;
        let text = libsock::z85_encode(data).map_err(|_| libc::EINVAL)?;
        // SAFETY: `dest` has text.len() + 1 writable bytes per the contract.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), dest.cast::<u8>(), text.len());
            *dest.add(text.len()) = 0;
        }
        Ok(dest)
    })
}

/// Decodes the NUL-terminated Z85 `string` into `dest` (strlen * 4 / 5 bytes).
/// Returns `dest`, or NULL with `EINVAL`.
///
/// # Safety
/// `string` is NUL-terminated; `dest` has `strlen(string) * 4 / 5` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8 {
    boundary::ptr(|| {
        if string.is_null() || dest.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: non-NULL and NUL-terminated per the contract.
        let text = unsafe { CStr::from_ptr(string) }.to_bytes();
        let text = std::str::from_utf8(text).map_err(|_| libc::EINVAL)?;
        let data = libsock::z85_decode(text).map_err(|_| libc::EINVAL)?;
        // SAFETY: `dest` has data.len() writable bytes per the contract.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dest, data.len()) };
        Ok(dest)
    })
}
