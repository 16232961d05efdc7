//! Z85 (ZeroMQ RFC 32): `zmq_z85_encode` / `zmq_z85_decode`.

use std::ffi::{c_char, CStr};

use crate::boundary;

const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Encodes `data` (a multiple of 4 bytes long) as Z85 text.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut v = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = ALPHABET[(v % 85) as usize];
            v /= 85;
        }
        out.extend(digits.iter().map(|&b| b as char));
    }
    out
}

/// Decodes Z85 text (a multiple of 5 characters); `None` when it is not valid Z85.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 5 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 5 * 4);
    for chunk in text.chunks_exact(5) {
        let mut v: u64 = 0;
        for &c in chunk {
            let digit = ALPHABET.iter().position(|&a| a == c)? as u64;
            v = v * 85 + digit;
        }
        out.extend_from_slice(&u32::try_from(v).ok()?.to_be_bytes());
    }
    Some(out)
}

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
        let text = encode(data);
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
        let data = decode(text).ok_or(libc::EINVAL)?;
        // SAFETY: `dest` has data.len() writable bytes per the contract.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dest, data.len()) };
        Ok(dest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc32_test_vector() {
        let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&data), "HelloWorld");
        assert_eq!(decode(b"HelloWorld").unwrap(), data);
        assert!(decode(b"Hello").is_some());
        assert!(decode(b"Hell").is_none());
        assert!(decode(b"Hell\"").is_none());
        assert!(decode(b"#####").is_none(), "overflows 32 bits");
    }
}
