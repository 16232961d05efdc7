//! libzmq's draft API (feature `draft`, `ZMQ_BUILD_DRAFT_API` in zmq.h): message routing
//! ids and groups, `zmq_join`/`zmq_leave`, `zmq_msg_init_buffer`; the poller is in
//! [`crate::poller`]. The draft socket types themselves need nothing
//! here: `zmq_socket` takes their numbers once libsock has the feature.
//!
//! A socket of a draft type is a `libsock::ThreadSafeSocket` ([`crate::sock::Sock`]): C
//! threads may share it, and `ZMQ_THREAD_SAFE` reads 1, as in libzmq.

use std::ffi::{c_char, c_int, c_void};

use crate::boundary::{self, bytes, c_str, err};
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
