//! Sockets: `zmq_socket/close/bind/connect/unbind/disconnect/send/send_const/recv`,
//! `zmq_sendiov/recviov`, `zmq_socket_monitor`.

use std::ffi::{c_char, c_int, c_void};

use bytes::Bytes;
use libsock::{Message, SocketType};

use crate::boundary::{self, c_str, err, len_to_int, CResult};
use crate::consts::*;
use crate::context::ctx_ref;
use crate::handle::{self, Handle, Tag};
use crate::sock::Sock;

/// What a `void *` socket points at.
#[repr(C)]
pub struct SocketHandle {
    tag: Tag,
    socket: Option<Sock>,
    /// Whether this type's sends fail only in ways that hand the message back (see
    /// [`moves_messages`]).
    moves: bool,
}

/// Whether `zmq_msg_send` may move a message into a socket of type `kind` rather than share
/// it first: true for the types whose [`libsock::Socket::send_msg`] returns the message on every
/// failure (EAGAIN, ETERM), false for those that can refuse a message for good (REQ/REP out
/// of turn, ROUTER/STREAM unknown peers, receive-only types, and any type added later).
pub fn moves_messages(kind: SocketType) -> bool {
    use SocketType::*;
    matches!(kind, PAIR | PUB | XPUB | XSUB | DEALER | PUSH)
}

impl Handle for SocketHandle {
    fn tag(&self) -> &Tag {
        &self.tag
    }
}

/// The socket behind a C handle; NULL, closed or non-socket handles give `ENOTSOCK`.
///
/// # Safety
/// `s` is NULL or a handle made by this library (see [`handle::has_tag`]); the caller does
/// not use the socket from two threads at once unless it is thread-safe, nor close it while
/// another thread uses it (libzmq's rules too).
pub unsafe fn socket_ref<'a>(s: *mut c_void) -> CResult<&'a Sock> {
    // SAFETY: forwarded contract of has_tag.
    if !unsafe { handle::has_tag(s, handle::SOCKET) } {
        return Err(ENOTSOCK);
    }
    // SAFETY: the tag says `s` is a live SocketHandle, whose socket is Some until closed:
    // zmq_close marks the handle DEAD before it takes the socket (and a socket used by one
    // thread while another closes it is undefined in libzmq too).
    match &unsafe { &*s.cast::<SocketHandle>() }.socket {
        Some(socket) => Ok(socket),
        // SAFETY: as above, unreachable while the tag is SOCKET.
        None => unsafe { std::hint::unreachable_unchecked() },
    }
}

/// [`socket_ref`], and whether `zmq_msg_send` may move messages into it ([`moves_messages`]).
///
/// # Safety
/// As [`socket_ref`].
#[inline]
pub unsafe fn send_target<'a>(s: *mut c_void) -> CResult<(&'a Sock, bool)> {
    // SAFETY: forwarded contract.
    let socket = unsafe { socket_ref(s) }?;
    // SAFETY: socket_ref checked the tag: `s` is a live SocketHandle.
    Ok((socket, unsafe { &*s.cast::<SocketHandle>() }.moves))
}

/// Creates a socket of `type_` (ZMQ_PAIR ... ZMQ_XSUB) in `context`.
///
/// # Safety
/// `context` is NULL or a context handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket(context: *mut c_void, type_: c_int) -> *mut c_void {
    boundary::ptr(|| {
        // SAFETY: forwarded contract.
        let ctx = unsafe { ctx_ref(context) }?;
        let kind = SocketType::from_raw(type_).ok_or(libc::EINVAL)?;
        let lsctx = ctx.shared.open_socket()?;
        // The context applies its IPV6 and BLOCKY defaults and MAX_SOCKETS.
        let socket = Sock::open(&lsctx, kind).map_err(err)?;
        let h =
            SocketHandle { tag: Tag::new(handle::SOCKET), socket: Some(socket), moves: moves_messages(kind) };
        Ok(Box::into_raw(Box::new(h)).cast())
    })
}

/// Closes a socket; queued messages are still sent for up to ZMQ_LINGER.
///
/// # Safety
/// `s` is NULL or a socket handle, not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn zmq_close(s: *mut c_void) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        unsafe { socket_ref(s) }?;
        // SAFETY: the tag check proved `s` came from Box::into_raw in zmq_socket and is
        // live; the caller gives it up with this call.
        let mut h = unsafe { Box::from_raw(s.cast::<SocketHandle>()) };
        h.tag.store(handle::DEAD, std::sync::atomic::Ordering::Release);
        drop(h.socket.take());
        handle::bury(h);
        Ok(0)
    })
}

macro_rules! endpoint_fn {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// `s` is NULL or a socket handle; `addr` is NULL or a NUL-terminated string.
        #[no_mangle]
        pub unsafe extern "C" fn $name(s: *mut c_void, addr: *const c_char) -> c_int {
            boundary::int(|| {
                // SAFETY: forwarded contract.
                let socket = unsafe { socket_ref(s) }?;
                // SAFETY: forwarded contract.
                let addr = unsafe { c_str(addr) }?;
                socket.$method(addr).map_err(err)?;
                Ok(0)
            })
        }
    };
}

endpoint_fn!(
    /// Accepts connections on an endpoint.
    zmq_bind, bind
);
endpoint_fn!(
    /// Connects to an endpoint (in the background).
    zmq_connect, connect
);
endpoint_fn!(
    /// Stops accepting connections on an endpoint.
    zmq_unbind, unbind
);
endpoint_fn!(
    /// Drops a connection made by `zmq_connect`.
    zmq_disconnect, disconnect
);

/// Sends a copy of `len` bytes at `buf` as one frame; returns `len`.
///
/// # Safety
/// `s` is NULL or a socket handle; `buf` points to `len` readable bytes (or len is 0).
#[no_mangle]
pub unsafe extern "C" fn zmq_send(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: forwarded contract.
        let data = unsafe { boundary::bytes(buf, len) }?;
        socket.send(Message::from_slice(data), flags).map_err(err)?;
        Ok(len_to_int(len))
    })
}

/// Sends `len` bytes at `buf` without copying them; the caller keeps them unchanged for as
/// long as the library may need them (for good, as libzmq documents it).
///
/// # Safety
/// As [`zmq_send`], and `buf` stays valid and unchanged for the rest of the program.
#[no_mangle]
pub unsafe extern "C" fn zmq_send_const(
    s: *mut c_void,
    buf: *const c_void,
    len: usize,
    flags: c_int,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: forwarded contract: the buffer is constant for the program's lifetime.
        let data: &'static [u8] = unsafe { boundary::bytes(buf, len) }?;
        socket.send(Message::from_bytes(Bytes::from_static(data)), flags).map_err(err)?;
        Ok(len_to_int(len))
    })
}

/// Receives one frame into `buf`, truncating to `len`; returns the frame's full size.
///
/// # Safety
/// `s` is NULL or a socket handle; `buf` points to `len` writable bytes (or len is 0).
#[no_mangle]
pub unsafe extern "C" fn zmq_recv(s: *mut c_void, buf: *mut c_void, len: usize, flags: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        if buf.is_null() && len > 0 {
            return Err(libc::EFAULT);
        }
        let msg = socket.recv_msg(flags).map_err(err)?;
        let n = msg.len().min(len);
        if n > 0 {
            // SAFETY: `buf` has `len` >= n writable bytes; `msg` is a separate allocation.
            unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), n) };
        }
        Ok(len_to_int(msg.len()))
    })
}

/// Publishes socket events on an inproc endpoint (NULL stops monitoring).
///
/// # Safety
/// `s` is NULL or a socket handle; `addr` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket_monitor(s: *mut c_void, addr: *const c_char, events: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: forwarded contract.
        let addr = if addr.is_null() { "" } else { unsafe { c_str(addr) }? };
        socket.monitor(addr, events).map_err(err)?;
        Ok(0)
    })
}

/// Sends `count` buffers as one multipart message (deprecated libzmq API).
///
/// # Safety
/// `s` is NULL or a socket handle; `iov` points to `count` iovecs of readable memory.
#[no_mangle]
pub unsafe extern "C" fn zmq_sendiov(
    s: *mut c_void,
    iov: *mut libc::iovec,
    count: usize,
    flags: c_int,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        if count == 0 || iov.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: `iov` has `count` entries per the contract.
        let iov = unsafe { std::slice::from_raw_parts(iov, count) };
        let mut last = 0;
        for (i, v) in iov.iter().enumerate() {
            // SAFETY: each iovec describes readable memory per the contract.
            let part = unsafe { boundary::bytes(v.iov_base, v.iov_len) }?;
            // As libzmq: every part but the last with SNDMORE; the last ends the message
            // even when the caller's flags carry SNDMORE (test_iov passes it).
            let part_flags = if i + 1 < count { flags | libsock::SNDMORE } else { flags & !libsock::SNDMORE };
            socket.send(Message::from_slice(part), part_flags).map_err(err)?;
            last = part.len();
        }
        Ok(len_to_int(last))
    })
}

/// Receives up to `*count` frames of one message into malloc'd buffers the caller frees;
/// sets `*count` to how many arrived and returns that count, as libzmq does (deprecated libzmq
/// API).
///
/// # Safety
/// `s` is NULL or a socket handle; `iov` points to `*count` writable iovecs.
#[no_mangle]
pub unsafe extern "C" fn zmq_recviov(
    s: *mut c_void,
    iov: *mut libc::iovec,
    count: *mut usize,
    flags: c_int,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        if count.is_null() || iov.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: non-NULL; writable per the contract.
        let count = unsafe { &mut *count };
        if *count == 0 {
            // libzmq: room for no frame is EINVAL, not a successful receive of nothing.
            return Err(libc::EINVAL);
        }
        // SAFETY: `iov` has `*count` entries per the contract.
        let iov = unsafe { std::slice::from_raw_parts_mut(iov, *count) };
        let mut n = 0;
        while n < iov.len() {
            let msg = socket.recv_msg(flags).map_err(err)?;
            // SAFETY: plain allocation; at least one byte so an empty frame is not NULL.
            let buf = unsafe { libc::malloc(msg.len().max(1)) };
            if buf.is_null() {
                return Err(libc::ENOMEM);
            }
            // SAFETY: `buf` has msg.len() writable bytes.
            unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), msg.len()) };
            iov[n] = libc::iovec { iov_base: buf, iov_len: msg.len() };
            n += 1;
            if !msg.get_more() {
                break;
            }
        }
        *count = n;
        // libzmq returns the number of frames (its zmq.cpp counts `nread` per frame), though
        // zmq_recviov(3) speaks of bytes; test_iov checks the count.
        Ok(len_to_int(n))
    })
}
