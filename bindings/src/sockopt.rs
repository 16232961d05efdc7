//! `zmq_setsockopt` / `zmq_getsockopt`.
//!
//! Every option goes through libsock's by-number path ([`libsock::Socket::set_option_raw`],
//! [`libsock::Socket::get_option_raw`]), so options added to libsock appear here with no change. The
//! C value's type (int, int64_t or bytes) is the one the option reads back as; this module
//! only converts between C buffers and [`OptionValue`]s, adding the terminating NUL libzmq
//! gives string options and Z85 text for CURVE keys read into 41-byte buffers.

use std::ffi::{c_int, c_void};

use libsock::OptionValue;

use crate::boundary::{self, err, CResult};
use crate::consts::*;
use crate::sock::Sock;
use crate::socket::socket_ref;

/// Sets a socket option.
///
/// # Safety
/// `s` is NULL or a socket handle; `optval` points to `optvallen` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_setsockopt(
    s: *mut c_void,
    option: c_int,
    optval: *const c_void,
    optvallen: usize,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // libzmq (options.cpp): a PLAIN user name or password of (NULL, 0) switches the socket
        // back to NULL; an empty non-NULL one is EINVAL (libsock's rule for an empty value).
        if optval.is_null() && optvallen == 0 && matches!(option, PLAIN_USERNAME | PLAIN_PASSWORD) {
            socket.set_option_raw(PLAIN_SERVER, OptionValue::Int(0)).map_err(err)?;
            return Ok(0);
        }
        // libzmq's do_setsockopt_string_allow_empty_strict/_relaxed and IPC filters: (NULL, 0)
        // clears these, a non-NULL empty value is EINVAL.
        if !optval.is_null() && optvallen == 0 && EMPTY_IS_INVALID.contains(&option) {
            return Err(libc::EINVAL);
        }
        // SAFETY: forwarded contract.
        let raw = unsafe { boundary::bytes(optval, optvallen) }.map_err(|_| libc::EINVAL)?;
        set(socket, option, raw)?;
        Ok(0)
    })
}

fn set(socket: &Sock, option: c_int, raw: &[u8]) -> CResult<()> {
    let int = |raw: &[u8]| raw.try_into().map(i32::from_ne_bytes).map_err(|_| libc::EINVAL);
    // Learn the option's C type from its current value; read-only state is not probed (reading
    // EVENTS or FD has effects) and write-only actions (SUBSCRIBE, ...) take bytes.
    let kind = if READ_ONLY.contains(&option) { None } else { socket.get_option_raw(option).ok() };
    let value = match kind {
        Some(OptionValue::Int(_)) => OptionValue::Int(int(raw)?),
        Some(OptionValue::Long(_)) => {
            OptionValue::Long(raw.try_into().map(i64::from_ne_bytes).map_err(|_| libc::EINVAL)?)
        }
        Some(OptionValue::Bytes(_)) | None if option == IPV4ONLY => OptionValue::Int(int(raw)?),
        // A Z85 key may come with its NUL (41 bytes), as libzmq accepts.
        Some(OptionValue::Bytes(_))
            if CURVE_KEY_OPTIONS.contains(&option) && raw.len() == 41 && raw[40] == 0 =>
        {
            OptionValue::Bytes(raw[..40].to_vec())
        }
        Some(OptionValue::Bytes(_)) | None => OptionValue::Bytes(raw.to_vec()),
    };
    socket.set_option_raw(option, value).map_err(err)
}

/// Reads a socket option into `optval` (`*optvallen` bytes available; set to the size used).
///
/// # Safety
/// `s` is NULL or a socket handle; `optvallen` points to a size and `optval` to that many
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_getsockopt(
    s: *mut c_void,
    option: c_int,
    optval: *mut c_void,
    optvallen: *mut usize,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: read only when non-NULL; readable per the contract.
        if optvallen.is_null() || (optval.is_null() && unsafe { *optvallen } > 0) {
            return Err(libc::EFAULT);
        }
        // SAFETY: non-NULL; readable and writable per the contract.
        let len = unsafe { &mut *optvallen };
        let value = get(socket, option, *len)?;
        // libzmq's sizes: the options of options_t (all but the few socket_base_t answers
        // itself) take exactly an int or an int64_t, and a CURVE key 32 or 41 bytes.
        let loose_int = matches!(value, Got::Int(_)) && ANY_LARGER_INT.contains(&option);
        let exact = match value {
            Got::Int(_) => !loose_int,
            Got::Long(_) => true,
            Got::Bytes(_) => CURVE_KEY_OPTIONS.contains(&option),
        };
        let out: Vec<u8> = match value {
            Got::Int(v) => v.to_ne_bytes().to_vec(),
            Got::Long(v) => v.to_ne_bytes().to_vec(),
            Got::Bytes(b) => b,
        };
        if *len < out.len() || (exact && *len != out.len()) {
            return Err(libc::EINVAL);
        }
        if loose_int && *len > out.len() {
            // As libzmq's `do_getsockopt<int>`: an int read into a larger buffer (an int64
            // for ZMQ_RCVMORE, as old code does) leaves no stale bytes above it.
            // SAFETY: `optval` has `*len` writable bytes per the contract.
            unsafe { std::ptr::write_bytes(optval.cast::<u8>(), 0, *len) };
        }
        // SAFETY: `optval` has `*len` >= out.len() writable bytes per the contract.
        unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), optval.cast::<u8>(), out.len()) };
        *len = out.len();
        Ok(0)
    })
}

/// The int options libzmq's `socket_base_t` answers itself (`do_getsockopt<int>`), which
/// take any buffer of at least an int.
const ANY_LARGER_INT: [c_int; 4] = [RCVMORE, FD, EVENTS, THREAD_SAFE];

enum Got {
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
}

fn get(socket: &Sock, option: c_int, room: usize) -> CResult<Got> {
    Ok(match socket.get_option_raw(option).map_err(err)? {
        OptionValue::Int(v) => Got::Int(v),
        OptionValue::Long(v) => Got::Long(v),
        OptionValue::Bytes(b) if STRING_OPTIONS.contains(&option) => Got::Bytes(nul_terminated(b)),
        // A key not set reads as 32 zero bytes, as libzmq's key arrays.
        OptionValue::Bytes(b) if CURVE_KEY_OPTIONS.contains(&option) && b.is_empty() => {
            curve_key(vec![0; 32], room)
        }
        OptionValue::Bytes(b) if CURVE_KEY_OPTIONS.contains(&option) => curve_key(b, room),
        OptionValue::Bytes(b) => Got::Bytes(b),
    })
}

/// A CURVE key as it is read into `room` bytes: Z85 text with its NUL into 41.
fn curve_key(key: Vec<u8>, room: usize) -> Got {
    if room == 41 && key.len() == 32 {
        let mut text = libsock::z85_encode(&key).expect("32 is a multiple of 4").into_bytes();
        text.push(0);
        return Got::Bytes(text);
    }
    Got::Bytes(key)
}

fn nul_terminated(mut b: Vec<u8>) -> Vec<u8> {
    b.push(0);
    b
}
