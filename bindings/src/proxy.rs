//! `zmq_proxy`, `zmq_proxy_steerable` and the deprecated `zmq_device`, over libsock's
//! [`libsock::proxy`] and [`libsock::proxy_steerable`].

use std::ffi::{c_int, c_void};

use libsock::Socket;

use crate::boundary::{self, err, CResult};
use crate::socket::socket_ref;

/// # Safety
/// `s` is NULL or a socket handle.
unsafe fn optional<'a>(s: *mut c_void) -> CResult<Option<&'a Socket>> {
    if s.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { socket_ref(s) }?.plain().map(Some)
}

/// Joins `frontend` and `backend`, copying every message to `capture` (may be NULL); returns
/// -1 with `ETERM` when the context is terminated, as libzmq.
///
/// # Safety
/// Each argument is NULL (capture only) or a socket handle, not used by another thread
/// while the proxy runs.
#[no_mangle]
pub unsafe extern "C" fn zmq_proxy(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { zmq_proxy_steerable(frontend, backend, capture, std::ptr::null_mut()) }
}

/// [`zmq_proxy`] steered by `PAUSE`, `RESUME`, `TERMINATE` and `STATISTICS` commands on
/// `control` (may be NULL); returns 0 after `TERMINATE`.
///
/// # Safety
/// As [`zmq_proxy`]; `control` is NULL or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_proxy_steerable(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
    control: *mut c_void,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract (for all four).
        let (frontend, backend) = unsafe { (socket_ref(frontend)?.plain()?, socket_ref(backend)?.plain()?) };
        // SAFETY: forwarded contract.
        let (capture, control) = unsafe { (optional(capture)?, optional(control)?) };
        let mut proxy = libsock::Proxy::new(frontend, backend);
        if let Some(capture) = capture {
            proxy = proxy.capture(capture);
        }
        if let Some(control) = control {
            proxy = proxy.control(control);
        }
        proxy.run().map_err(err)?;
        Ok(0)
    })
}

/// The libzmq 2 device call: `zmq_proxy(frontend, backend, NULL)` for any `type_`
/// (ZMQ_STREAMER, ZMQ_FORWARDER, ZMQ_QUEUE), as libzmq 4.3 does.
///
/// # Safety
/// As [`zmq_proxy`].
#[no_mangle]
pub unsafe extern "C" fn zmq_device(_type: c_int, frontend: *mut c_void, backend: *mut c_void) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { zmq_proxy(frontend, backend, std::ptr::null_mut()) }
}
