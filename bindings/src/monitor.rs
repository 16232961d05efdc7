//! libzmq's draft monitor API (feature `draft`): `zmq_socket_monitor_versioned` (event
//! format 2: 64-bit event numbers and values, local and remote endpoints; a PAIR, PUB or PUSH
//! monitor socket) and `zmq_socket_monitor_pipes_stats` (`ZMQ_EVENT_PIPES_STATS`). The
//! stable `zmq_socket_monitor` is in [`crate::socket`].

use std::ffi::{c_char, c_int, c_void};

use libsock::SocketType;

use crate::boundary::{self, c_str, err};
use crate::socket::socket_ref;

/// Publishes socket events on an inproc endpoint in format `event_version` (1 or 2) through
/// a monitor socket of `type_` (PAIR, PUB or PUSH); NULL `addr` stops monitoring.
///
/// # Safety
/// `s` is NULL or a socket handle; `addr` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket_monitor_versioned(
    s: *mut c_void,
    addr: *const c_char,
    events: u64,
    event_version: c_int,
    type_: c_int,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: forwarded contract.
        let addr = if addr.is_null() { "" } else { unsafe { c_str(addr) }? };
        let version = u8::try_from(event_version).map_err(|_| libc::EINVAL)?;
        // Not a socket type at all: as a type that may not monitor (libzmq's EINVAL).
        let kind = SocketType::from_raw(type_).unwrap_or(SocketType::REP);
        socket.monitor_versioned(addr, events, version, kind).map_err(err)?;
        Ok(0)
    })
}

/// Asks for one `ZMQ_EVENT_PIPES_STATS` event per pipe of `s` on its version 2 monitor:
/// `EINVAL` when the monitor does not take that event, `EAGAIN` when `s` has no pipes.
///
/// # Safety
/// `s` is NULL or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket_monitor_pipes_stats(s: *mut c_void) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        socket.monitor_pipes_stats().map_err(err)?;
        Ok(0)
    })
}
