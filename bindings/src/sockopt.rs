//! `zmq_setsockopt` / `zmq_getsockopt`.
//!
//! Stored options go through libsock's table by number ([`SocketOption::from_raw`]); the
//! value's C type (int, int64_t or bytes) is the one the table holds, read back from the
//! option itself, so a row added to libsock's table works here unchanged. Options that are
//! actions or socket state (SUBSCRIBE, TYPE, RCVMORE, FD, EVENTS, LAST_ENDPOINT) are mapped
//! to their libsock methods below. Anything else gives `EINVAL`, as libzmq does.

use std::ffi::{c_int, c_void};

use libsock::{OptionValue, Socket, SocketOption};

use crate::boundary::{self, err, CResult};
use crate::consts::*;
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
        // SAFETY: forwarded contract.
        let raw = unsafe { boundary::bytes(optval, optvallen) }.map_err(|_| libc::EINVAL)?;
        set(socket, option, raw)?;
        Ok(0)
    })
}

fn set(socket: &Socket, option: c_int, raw: &[u8]) -> CResult<()> {
    match option {
        SUBSCRIBE => return socket.set_subscribe(raw).map_err(err),
        UNSUBSCRIBE => return socket.set_unsubscribe(raw).map_err(err),
        IPV4ONLY => {
            let v = i32::from_ne_bytes(raw.try_into().map_err(|_| libc::EINVAL)?);
            return socket.set_option(SocketOption::IPV6, OptionValue::Int(i32::from(v == 0))).map_err(err);
        }
        _ => {}
    }
    let opt = SocketOption::from_raw(option).ok_or(libc::EINVAL)?;
    let value = match socket.get_option(opt).map_err(err)? {
        OptionValue::Int(_) => {
            OptionValue::Int(i32::from_ne_bytes(raw.try_into().map_err(|_| libc::EINVAL)?))
        }
        OptionValue::Long(_) => {
            OptionValue::Long(i64::from_ne_bytes(raw.try_into().map_err(|_| libc::EINVAL)?))
        }
        OptionValue::Bytes(_) => OptionValue::Bytes(raw.to_vec()),
    };
    socket.set_option(opt, value).map_err(err)
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
        let out: Vec<u8> = match value {
            Got::Int(v) => v.to_ne_bytes().to_vec(),
            Got::Long(v) => v.to_ne_bytes().to_vec(),
            Got::Bytes(b) => b,
        };
        if *len < out.len() {
            return Err(libc::EINVAL);
        }
        // SAFETY: `optval` has `*len` >= out.len() writable bytes per the contract.
        unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), optval.cast::<u8>(), out.len()) };
        *len = out.len();
        Ok(0)
    })
}

enum Got {
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
}

fn get(socket: &Socket, option: c_int, room: usize) -> CResult<Got> {
    let int = |v: i32| Ok(Got::Int(v));
    match option {
        TYPE => return int(socket.get_socket_type().map_err(err)?.to_raw()),
        RCVMORE => return int(socket.get_rcvmore().map_err(err)? as i32),
        EVENTS => return int(socket.get_events().map_err(err)? as i32),
        FD => return int(socket.get_fd().map_err(err)?),
        LAST_ENDPOINT => {
            return Ok(Got::Bytes(nul_terminated(socket.get_last_endpoint().map_err(err)?.into())))
        }
        THREAD_SAFE => return int(0),
        IPV4ONLY => return int(i32::from(!socket.get_ipv6().map_err(err)?)),
        _ => {}
    }
    let Some(opt) = SocketOption::from_raw(option) else {
        // Only the NULL mechanism exists unless libsock's table has a MECHANISM row.
        return if option == MECHANISM { int(0) } else { Err(libc::EINVAL) };
    };
    Ok(match socket.get_option(opt).map_err(err)? {
        OptionValue::Int(v) => Got::Int(v),
        OptionValue::Long(v) => Got::Long(v),
        OptionValue::Bytes(b) if STRING_OPTIONS.contains(&option) => Got::Bytes(nul_terminated(b)),
        OptionValue::Bytes(b) if CURVE_KEY_OPTIONS.contains(&option) && room == 41 && b.len() == 32 => {
            let mut text = crate::z85::encode(&b).into_bytes();
            text.push(0);
            Got::Bytes(text)
        }
        OptionValue::Bytes(b) => Got::Bytes(b),
    })
}

fn nul_terminated(mut b: Vec<u8>) -> Vec<u8> {
    b.push(0);
    b
}
