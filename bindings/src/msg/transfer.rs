//! `zmq_msg_send/recv` and `zmq_sendmsg/recvmsg`: messages in and out of sockets, moved
//! rather than copied (see the parent module for the [`Slot`] they live in).

use std::ffi::{c_int, c_void};

use bytes::Bytes;
use libsock::Message;

use super::{slot, store, zmq_msg_t, Body, Slot};
use crate::boundary::{self, err, len_to_int, CResult};
use crate::socket::{send_target, socket_ref};

/// Sends the message; on success it becomes empty, on failure it is left unchanged but for
/// its MORE flag, which is then that of `flags` (as libzmq sets it before the socket takes or
/// refuses the message). Returns the number of bytes sent.
///
/// The body is moved into libsock without a copy when the socket type hands the message
/// back on every failure ([`crate::socket::moves_messages`]), and put back here if the send
/// fails; for the other types it is shared first (inline bodies: copied, a few words; large
/// ones: one reference count), so a refused message stays intact.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`; `s` is NULL or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_send(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let (socket, moves) = unsafe { send_target(s) }?;
        // SAFETY: forwarded contract.
        let slot = unsafe { slot(msg) }?;
        if moves {
            // The usual cases, kept short: a libsock message (inline, or received) is sent
            // from where it lies, a zmq_msg_init_size buffer becomes its body without a copy.
            if let Body::Msg(m) = &mut slot.body {
                let len = m.len();
                // Taken out of the slot only once the socket takes it (an empty message left
                // behind), put back if it comes back.
                if let Err(e) = socket.send_from(m, flags) {
                    return Err(send_failed(slot, e, flags));
                }
                // SAFETY: a sent message leaves an empty inline one, which owns nothing;
                // Body::Empty makes the coming zmq_msg_close a single check.
                unsafe { std::ptr::write(&mut slot.body, Body::Empty) };
                slot.shared = false;
                return Ok(len_to_int(len));
            }
            if let Body::Buf(_) = &slot.body {
                return send_buffer(slot, socket, flags);
            }
        }
        send_other(slot, socket, moves, flags)
    })
}

/// [`zmq_msg_send`] of a `zmq_msg_init_size` buffer beyond the pool: it becomes the
/// message's body without a copy. Out of line, so that the usual case's stack frame is
/// that of one send path, not two.
#[inline(never)]
fn send_buffer(slot: &mut Slot, socket: &crate::sock::Sock, flags: c_int) -> CResult<c_int> {
    let Body::Buf(v) = &mut slot.body else { return Err(libc::EFAULT) };
    let len = v.len();
    let m = Message::from_bytes(Bytes::from(std::mem::take(v)));
    send_moved(slot, socket, m, len, flags)
}

/// Sends `m`, just moved out of `slot` (whose body is then overwritten without a drop), and
/// puts it back if the send fails.
#[inline(always)]
fn send_moved(
    slot: &mut Slot,
    socket: &crate::sock::Sock,
    m: Message,
    len: usize,
    flags: c_int,
) -> CResult<c_int> {
    // SAFETY: the old body was moved out (or left empty), so nothing is dropped.
    unsafe { std::ptr::write(&mut slot.body, Body::Empty) };
    match socket.send_msg(m, flags) {
        Ok(()) => {
            slot.shared = false;
            Ok(len_to_int(len))
        }
        Err((e, back)) => {
            // Moved-in messages come back on every failure of these socket types; should one
            // not, the message is empty rather than unsound. (A buffer comes back as a
            // message over the same memory.)
            if let Some(m) = back {
                store(slot, Body::Msg(m));
            }
            Err(send_failed(slot, e, flags))
        }
    }
}

/// [`zmq_msg_send`] of what is not simply moved in: empty messages, caller buffers, and
/// every message for the socket types that can refuse one for good.
#[inline(never)]
fn send_other(slot: &mut Slot, socket: &crate::sock::Sock, moves: bool, flags: c_int) -> CResult<c_int> {
    let len = slot.body.len();
    // An empty message comes back as one (its data pointer unchanged).
    let was_empty = matches!(slot.body, Body::Empty);
    // Moved in when a failure hands the message back; otherwise shared (inline bodies:
    // copied, a few words), so a refused message is still here.
    let moved = if moves { slot.body.take_message() } else { None };
    let was_moved = moved.is_some();
    let m = match moved {
        Some(m) => m,
        None => slot.body.make_message(),
    };
    match socket.send_msg(m, flags) {
        Ok(()) => {
            if !was_moved {
                store(slot, Body::Empty);
            }
            // (a moved body left an empty one behind)
            slot.shared = false;
            Ok(len_to_int(len))
        }
        Err((e, back)) => {
            if was_moved {
                if let Some(m) = back {
                    store(slot, if was_empty { Body::Empty } else { Body::Msg(m) });
                }
            }
            Err(send_failed(slot, e, flags))
        }
    }
}

/// The errno of a failed send, the message given the MORE flag of `flags`: libzmq's
/// `socket_base_t::send` sets it on the message before the socket type takes or refuses it,
/// so a refused message keeps it (all but a terminated context, refused before that).
#[cold]
#[inline(never)]
fn send_failed(slot: &mut Slot, e: libsock::Error, flags: c_int) -> c_int {
    if !matches!(e, libsock::Error::ContextTerminated) {
        let more = flags & libsock::SNDMORE != 0;
        match &mut slot.body {
            Body::Msg(m) => m.set_more(more),
            // Other bodies have no MORE flag: made a message over the same bytes.
            _ if more => slot.message_mut().set_more(true),
            _ => {}
        }
    }
    err(e)
}

/// Receives one frame into the message (its old content is released); returns its size.
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t`; `s` is NULL or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_recv(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        // SAFETY: forwarded contract.
        let slot = unsafe { slot(msg) }?;
        // The frame is received into the message: the old one released and the new one
        // written in its place, with no copy on the way; a receive that fails leaves it as
        // libzmq leaves it (empty when no frame came, unchanged when the socket refused).
        if let Body::Msg(m) = &mut slot.body {
            if let Err(e) = socket.recv_into(m, flags) {
                return Err(recv_failed(slot, e));
            }
            slot.shared = false;
            return Ok(len_to_int(m.len()));
        }
        recv_other(slot, socket, flags)
    })
}

/// [`zmq_msg_recv`] into a message that is not yet a libsock one (`zmq_msg_init`'s, a
/// caller's buffer): made one first, over the same bytes, so that a refused receive leaves
/// it as it was. Out of line, so that the usual loop's frame stays that of one receive.
#[cold]
#[inline(never)]
fn recv_other(slot: &mut Slot, socket: &crate::sock::Sock, flags: c_int) -> CResult<c_int> {
    let m = slot.message_mut();
    if let Err(e) = socket.recv_into(m, flags) {
        return Err(recv_failed(slot, e));
    }
    let len = m.len();
    slot.shared = false;
    Ok(len_to_int(len))
}

/// The errno of a failed receive into `slot`: a message released there (empty, inline) is
/// no longer shared.
#[cold]
#[inline(never)]
fn recv_failed(slot: &mut Slot, e: libsock::Error) -> c_int {
    if matches!(&slot.body, Body::Msg(m) if m.is_inline()) {
        slot.shared = false;
    }
    err(e)
}

/// [`zmq_msg_send`] with the socket first (deprecated libzmq API).
///
/// # Safety
/// As [`zmq_msg_send`].
#[no_mangle]
pub unsafe extern "C" fn zmq_sendmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { zmq_msg_send(msg, s, flags) }
}

/// [`zmq_msg_recv`] with the socket first (deprecated libzmq API).
///
/// # Safety
/// As [`zmq_msg_recv`].
#[no_mangle]
pub unsafe extern "C" fn zmq_recvmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { zmq_msg_recv(msg, s, flags) }
}
