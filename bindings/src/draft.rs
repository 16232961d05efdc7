//! libzmq's draft API (feature `draft`, `ZMQ_BUILD_DRAFT_API` in zmq.h): message routing
//! ids and groups, `zmq_connect_peer`, `zmq_join`/`zmq_leave`, `zmq_msg_init_buffer`,
//! `zmq_ctx_set_ext`/`get_ext`, `zmq_socket_get_peer_state`;
//! the poller is in [`crate::poller`]. The draft socket types themselves need nothing
//! here: `zmq_socket` takes their numbers once libsock has the feature.
//!
//! A socket of a draft type is a `libsock::ThreadSafeSocket` ([`crate::sock::Sock`]): C
//! threads may share it, and `ZMQ_THREAD_SAFE` reads 1, as in libzmq.

use std::ffi::{c_char, c_int, c_void};
use std::mem::size_of;

use crate::boundary::{self, bytes, c_str, err};
use crate::context::libsock_ctx;
use crate::msg::{as_message, zmq_msg_data, zmq_msg_init_size, zmq_msg_t};
use crate::socket::socket_ref;

/// Names the peer a SERVER sends `msg` to; 0 is EINVAL.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_set_routing_id(msg: *mut zmq_msg_t, routing_id: u32) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { as_message(msg) }?;
        m.set_routing_id(routing_id).map_err(err)?;
        Ok(0)
    })
}

/// The routing id a SERVER stamped on a received message; 0 when none (or on error).
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_routing_id(msg: *mut zmq_msg_t) -> u32 {
    // SAFETY: forwarded contract.
    boundary::or(0, || Ok(unsafe { as_message(msg) }?.routing_id()))
}

/// Sets the group a RADIO sends `msg` to (at most 255 bytes).
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`; `group` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_set_group(msg: *mut zmq_msg_t, group: *const c_char) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let group = unsafe { c_str(group) }?;
        // SAFETY: forwarded contract.
        let m = unsafe { as_message(msg) }?;
        m.set_group(group).map_err(err)?;
        Ok(0)
    })
}

/// The group of `msg` ("" when none; NULL on error), valid until the message changes.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_group(msg: *mut zmq_msg_t) -> *const c_char {
    boundary::or(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        let m = unsafe { as_message(msg) }?;
        Ok(m.group_c_str().as_ptr())
    })
}

/// PEER: connects to `addr` and returns the routing id of the peer there (0 on error, with
/// errno: `ENOTSOCK`, `ENOTSUP` for another type, `EFAULT` with `ZMQ_IMMEDIATE` set, or
/// what `zmq_connect` gives).
///
/// # Safety
/// `s` is NULL or a socket handle; `addr` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_connect_peer(s: *mut c_void, addr: *const c_char) -> u32 {
    boundary::or(0, || {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        let immediate = socket.get_option_raw(libsock::SocketOption::IMMEDIATE.to_raw()).map_err(err)?;
        if socket.thread_safe().is_some_and(|ts| ts.get_socket_type() == libsock::SocketType::PEER)
            && matches!(immediate, libsock::OptionValue::Int(1))
        {
            return Err(libc::EFAULT);
        }
        // SAFETY: forwarded contract.
        let addr = unsafe { c_str(addr) }?;
        socket.connect_peer(addr).map_err(err)
    })
}

/// DISH: receive the messages of `group`.
///
/// # Safety
/// `s` is NULL or a socket handle; `group` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_join(s: *mut c_void, group: *const c_char) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: forwarded contract.
        let group = unsafe { c_str(group) }?;
        socket.join(group).map_err(err)?;
        Ok(0)
    })
}

/// DISH: stop receiving `group`.
///
/// # Safety
/// `s` is NULL or a socket handle; `group` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_leave(s: *mut c_void, group: *const c_char) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: forwarded contract.
        let group = unsafe { c_str(group) }?;
        socket.leave(group).map_err(err)?;
        Ok(0)
    })
}

/// Initialises `msg` with a copy of the `size` bytes at `buf` (NULL only with size 0).
///
/// # Safety
/// `msg` is NULL or points to a writable `zmq_msg_t`; `buf` is NULL or has `size` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init_buffer(msg: *mut zmq_msg_t, buf: *const c_void, size: usize) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let data = unsafe { bytes(buf, size) }?;
        // SAFETY: forwarded contract.
        if unsafe { zmq_msg_init_size(msg, size) } != 0 {
            return Err(boundary::errno());
        }
        if size > 0 {
            // SAFETY: `msg` was just initialised with `size` writable bytes, which cannot
            // overlap the caller's `buf` (fresh memory).
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), zmq_msg_data(msg).cast::<u8>(), size) };
        }
        Ok(0)
    })
}

/// `zmq_ctx_set` with the value by pointer: an `int` (`optvallen == sizeof (int)`), or for
/// ZMQ_THREAD_NAME_PREFIX a text of 1 to 16 bytes (up to its first NUL), as libzmq.
///
/// # Safety
/// `context` is NULL or a context handle; `optval` is NULL or has `optvallen` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_set_ext(
    context: *mut c_void,
    option: c_int,
    optval: *const c_void,
    optvallen: usize,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let ctx = unsafe { libsock_ctx(context) }?;
        // SAFETY: forwarded contract.
        let value = unsafe { bytes(optval, optvallen) }?;
        if let Ok(int) = <[u8; 4]>::try_from(value) {
            ctx.set(option, c_int::from_ne_bytes(int)).map_err(err)?;
        } else if option == libsock::ctx_options::THREAD_NAME_PREFIX && !value.is_empty() && value.len() <= 16
        {
            let text = value.split(|b| *b == 0).next().unwrap_or_default();
            ctx.set_thread_name_prefix(std::str::from_utf8(text).map_err(|_| libc::EINVAL)?).map_err(err)?;
        } else {
            return Err(libc::EINVAL);
        }
        Ok(0)
    })
}

/// `zmq_ctx_get` into a buffer: an `int` (`*optvallen == sizeof (int)`), or the text of
/// ZMQ_THREAD_NAME_PREFIX (NUL-terminated when there is room; EINVAL when it does not fit).
///
/// # Safety
/// `context` is NULL or a context handle; `optvallen` is NULL or points to the size of the
/// writable buffer `optval`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_get_ext(
    context: *mut c_void,
    option: c_int,
    optval: *mut c_void,
    optvallen: *mut usize,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let ctx = unsafe { libsock_ctx(context) }?;
        if optval.is_null() || optvallen.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: non-NULL per the contract.
        let room = unsafe { *optvallen };
        let out = if option == libsock::ctx_options::THREAD_NAME_PREFIX && room != size_of::<c_int>() {
            let mut text = ctx.thread_name_prefix().into_bytes();
            if text.len() > room {
                return Err(libc::EINVAL);
            }
            if text.len() < room {
                text.push(0);
            }
            text
        } else if room == size_of::<c_int>() {
            ctx.get(option).map_err(err)?.to_ne_bytes().to_vec()
        } else {
            return Err(libc::EINVAL);
        };
        // SAFETY: `optval` has `room >= out.len()` writable bytes per the contract.
        unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), optval.cast::<u8>(), out.len()) };
        Ok(0)
    })
}

/// ROUTER: `ZMQ_POLLOUT` if a message to the peer named by the `size` bytes at `routing_id`
/// would be queued now, else 0; unknown peer `EHOSTUNREACH`, other types `ENOTSUP`.
///
/// # Safety
/// `s` is NULL or a socket handle; `routing_id` is NULL or has `size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket_get_peer_state(
    s: *mut c_void,
    routing_id: *const c_void,
    size: usize,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: forwarded contract.
        let id = unsafe { bytes(routing_id, size) }?;
        Ok(c_int::from(socket.peer_state(id).map_err(err)?))
    })
}
