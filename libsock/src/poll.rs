//! [`poll`]: wait on many sockets and raw file descriptors, level-triggered, like `zmq_poll`.
//!
//! Each socket also has a readiness descriptor ([`Socket::get_fd`], like `ZMQ_FD`) so it can
//! sit inside mio, tokio or any other event loop. That descriptor is **edge-triggered**: it
//! becomes readable when the socket's state *may* have changed. After it fires, call
//! [`Socket::get_events`] and keep receiving (or sending) with `DONTWAIT` until the event you
//! want is gone; only then wait on the descriptor again. `get_events` itself re-arms it.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::socket::{Socket, POLLIN, POLLOUT};
use crate::sys;

/// `revents` bit for a raw descriptor in error.
pub const POLLERR: i16 = 4;

/// Event bit for urgent data on a raw descriptor (`POLLPRI`; sockets never report it).
pub const POLLPRI: i16 = 8;

/// What [`poll`] needs from a socket: its events now and a descriptor that becomes readable
/// when they may have changed.
pub(crate) trait Pollable {
    fn poll_events(&self) -> Result<i16>;
    fn poll_fd(&self) -> Result<RawFd>;
}

impl Pollable for Socket {
    fn poll_events(&self) -> Result<i16> {
        self.get_events()
    }

    fn poll_fd(&self) -> Result<RawFd> {
        self.get_fd()
    }
}

/// One thing to wait on: a socket or a raw file descriptor.
pub struct PollItem<'a> {
    socket: Option<&'a dyn Pollable>,
    fd: RawFd,
    events: i16,
    revents: i16,
}

impl<'a> PollItem<'a> {
    /// Waits on a raw descriptor for [`POLLIN`], [`POLLOUT`] and/or [`POLLPRI`].
    pub fn from_fd(fd: RawFd, events: i16) -> PollItem<'a> {
        PollItem { socket: None, fd, events, revents: 0 }
    }

    /// Waits on any socket kind (a [`Socket`], or a `ThreadSafeSocket` with feature `draft`).
    pub(crate) fn for_socket(socket: &'a dyn Pollable, events: i16) -> PollItem<'a> {
        PollItem { socket: Some(socket), fd: -1, events, revents: 0 }
    }

    /// The events that were ready when [`poll`] returned.
    pub fn get_revents(&self) -> i16 {
        self.revents
    }

    /// Whether [`POLLIN`] is ready.
    pub fn is_readable(&self) -> bool {
        self.revents & POLLIN != 0
    }

    /// Whether [`POLLOUT`] is ready.
    pub fn is_writable(&self) -> bool {
        self.revents & POLLOUT != 0
    }

    /// Whether a raw descriptor reported an error.
    pub fn is_error(&self) -> bool {
        self.revents & POLLERR != 0
    }

    /// Changes the events to wait for.
    pub fn set_events(&mut self, events: i16) {
        self.events = events;
    }

    /// Whether this item waits on `socket`.
    pub fn has_socket(&self, socket: &Socket) -> bool {
        self.socket.is_some_and(|s| std::ptr::addr_eq(s, socket))
    }

    /// Whether this item waits on the raw descriptor `fd`.
    pub fn has_fd(&self, fd: RawFd) -> bool {
        self.socket.is_none() && self.fd == fd
    }
}

impl Socket {
    /// A poll item for this socket, waiting for `events` ([`POLLIN`] | [`POLLOUT`]).
    pub fn as_poll_item(&self, events: i16) -> PollItem<'_> {
        PollItem::for_socket(self, events)
    }

    /// Waits up to `timeout_ms` (-1 = forever) for `events` on this socket alone, as
    /// [`poll`] of one item: 1 when they are ready, 0 on timeout.
    /// Fails with [`crate::Error::Interrupted`] when a signal handler runs while it waits if
    /// [`Socket::set_interruptible`] is on.
    pub fn poll(&self, events: i16, timeout_ms: i64) -> Result<i32> {
        poll_with(&mut [self.as_poll_item(events)], timeout_ms, self.is_interruptible())
    }
}

/// Waits until at least one item is ready or `timeout_ms` passes (-1 = forever, 0 = check
/// only). Returns how many items are ready; their `revents` say which events.
///
/// As libzmq's `zmq_poll`, each round polls every descriptor first and only then reads the
/// sockets' events, which clears their readiness descriptors: a descriptor item that is
/// also a socket's `ZMQ_FD` (czmq's zpoller does this) reports what the poll saw, before
/// the socket's own item consumed the signal. The first round does not wait.
///
/// A signal handler that runs meanwhile does not end it: see [`poll_interruptible`].
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> Result<i32> {
    poll_with(items, timeout_ms, false)
}

/// [`poll`] that fails with [`crate::Error::Interrupted`] (`EINTR`) when a signal handler
/// runs while it waits, as libzmq's `zmq_poll` does.
pub fn poll_interruptible(items: &mut [PollItem<'_>], timeout_ms: i64) -> Result<i32> {
    poll_with(items, timeout_ms, true)
}

pub(crate) fn poll_with(items: &mut [PollItem<'_>], timeout_ms: i64, interruptible: bool) -> Result<i32> {
    let deadline = u64::try_from(timeout_ms).ok().map(|ms| Instant::now() + Duration::from_millis(ms));
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(items.len());
    for item in items.iter() {
        let (fd, events) = match item.socket {
            Some(socket) => (socket.poll_fd()?, libc::POLLIN),
            None => (item.fd, to_libc(item.events)),
        };
        fds.push(libc::pollfd { fd, events, revents: 0 });
    }
    let mut wait_ms = 0;
    loop {
        for pfd in fds.iter_mut() {
            pfd.revents = 0;
        }
        if interruptible {
            sys::poll_once(&mut fds, wait_ms).map_err(Error::from_wait)?;
        } else {
            sys::poll(&mut fds, wait_ms)?;
        }
        let mut ready = 0;
        for (item, pfd) in items.iter_mut().zip(&fds) {
            item.revents = match item.socket {
                Some(socket) => socket.poll_events()? & item.events,
                None => from_libc(pfd.revents) & (item.events | POLLERR),
            };
            ready += i32::from(item.revents != 0);
        }
        // Rounded up, as libzmq's millisecond clock does: rounded down, a poll of 1 ms
        // returned at once and a caller's loop around it spun.
        wait_ms = sys::poll_timeout(deadline);
        if ready > 0 || wait_ms == 0 {
            return Ok(ready);
        }
    }
}

fn to_libc(events: i16) -> i16 {
    let mut out = 0;
    if events & POLLIN != 0 {
        out |= libc::POLLIN;
    }
    if events & POLLOUT != 0 {
        out |= libc::POLLOUT;
    }
    if events & POLLPRI != 0 {
        out |= libc::POLLPRI;
    }
    out
}

fn from_libc(revents: i16) -> i16 {
    let mut out = 0;
    if revents & (libc::POLLIN | libc::POLLHUP) != 0 {
        out |= POLLIN;
    }
    if revents & libc::POLLOUT != 0 {
        out |= POLLOUT;
    }
    if revents & libc::POLLPRI != 0 {
        out |= POLLPRI;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        out |= POLLERR;
    }
    out
}
