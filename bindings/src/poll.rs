//! `zmq_poll` over sockets and file descriptors.

use std::ffi::{c_int, c_long, c_short, c_void};

use libsock::PollItem;

use crate::boundary::{self, err};
use crate::consts::{POLLERR, POLLIN, POLLOUT};
use crate::socket::socket_ref;

/// libzmq's poll item: a socket (or NULL and a file descriptor), events in and out.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct zmq_pollitem_t {
    /// A socket handle, or NULL to poll `fd`.
    pub socket: *mut c_void,
    /// A file descriptor, used when `socket` is NULL.
    pub fd: c_int,
    /// ZMQ_POLLIN | ZMQ_POLLOUT | ZMQ_POLLERR to wait for.
    pub events: c_short,
    /// The events that are ready, set by `zmq_poll`.
    pub revents: c_short,
}

/// Waits until an item is ready or `timeout` ms pass (-1 = forever); returns how many are
/// ready (level-triggered, as libzmq). EINTR when a signal handler runs meanwhile.
///
/// # Safety
/// `items` is NULL or points to `nitems` writable poll items whose sockets are handles.
#[no_mangle]
pub unsafe extern "C" fn zmq_poll(items: *mut zmq_pollitem_t, nitems: c_int, timeout: c_long) -> c_int {
    boundary::int(|| {
        if nitems < 0 || (nitems > 0 && items.is_null()) {
            return Err(if nitems < 0 { libc::EINVAL } else { libc::EFAULT });
        }
        #[allow(clippy::useless_conversion)] // c_long is not i64 everywhere
        let timeout = i64::from(timeout);
        if nitems == 0 {
            // libzmq sleeps (usleep): a signal handler ends it with EINTR.
            if timeout > 0 {
                libsock::poll_interruptible(&mut [], timeout).map_err(err)?;
            }
            return Ok(0);
        }
        // SAFETY: non-NULL with `nitems` writable items per the contract.
        let items = unsafe { std::slice::from_raw_parts_mut(items, nitems as usize) };
        let mask = POLLIN | POLLOUT | POLLERR | libsock::POLLPRI;
        let mut polled = Vec::with_capacity(items.len());
        for item in items.iter() {
            polled.push(if item.socket.is_null() {
                PollItem::from_fd(item.fd, item.events & mask)
            } else {
                // SAFETY: forwarded contract: non-NULL sockets are handles.
                unsafe { socket_ref(item.socket) }?.as_poll_item(item.events & mask)
            });
        }
        // As libzmq's: a signal handler ends it with EINTR.
        let ready = libsock::poll_interruptible(&mut polled, timeout).map_err(err)?;
        for (item, p) in items.iter_mut().zip(&polled) {
            item.revents = p.get_revents();
        }
        Ok(ready)
    })
}
