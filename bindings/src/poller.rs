//! libzmq's draft poller (`zmq_poller_*`, feature `draft`): a registration-based poll over
//! sockets and file descriptors, with the semantics of libzmq 4.3.4's `socket_poller_t`.
//!
//! A poller is a list of items (a socket handle or a descriptor, the caller's `user_data`,
//! the events wanted); `zmq_poller_wait_all` hands that list to
//! [`libsock::poll_interruptible`], the loop `zmq_poll` uses too, and reports the ready items
//! in registration order. Errors follow libzmq: a bad poller is `EFAULT`, a bad socket
//! `ENOTSOCK`, descriptor -1 `EBADF`, unknown events, duplicates and unregistered items
//! `EINVAL`, nothing ready in time `EAGAIN`, waiting forever on nothing `EFAULT`, a
//! terminated context `ETERM`, a signal handler that ran `EINTR`.
//!
//! `zmq_poller_fd` gives one descriptor that becomes readable when any thread-safe socket of
//! the poller may have changed ([`libsock::ReadinessSet`]); as in libzmq, it exists only
//! once a thread-safe socket was added (before that: `EINVAL`). It is edge-triggered like
//! `ZMQ_FD`: wait on it again only after `zmq_poller_wait` (timeout 0) found nothing.

use std::ffi::{c_int, c_long, c_short, c_void};
use std::sync::{Mutex, MutexGuard};

use libsock::{PollItem, ReadinessSet};

use crate::boundary::{self, err, CResult};
use crate::consts::{POLLERR, POLLIN, POLLOUT};
use crate::handle::{self, Handle, Tag};
use crate::sock::Sock;
use crate::socket::socket_ref;

/// The event bits a poller item may ask for: ZMQ_POLLIN | POLLOUT | POLLERR | POLLPRI.
const EVENTS_MASK: c_short = POLLIN | POLLOUT | POLLERR | libsock::POLLPRI;

/// libzmq's `zmq_poller_event_t`: one ready item.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct zmq_poller_event_t {
    /// The socket handle, or NULL for a descriptor.
    pub socket: *mut c_void,
    /// The descriptor, or -1 for a socket.
    pub fd: c_int,
    /// What the item was registered with.
    pub user_data: *mut c_void,
    /// The ready events among those wanted.
    pub events: c_short,
}

impl zmq_poller_event_t {
    /// What libzmq writes into the entries it did not fill.
    const NONE: zmq_poller_event_t = zmq_poller_event_t {
        socket: std::ptr::null_mut(),
        fd: -1,
        user_data: std::ptr::null_mut(),
        events: 0,
    };
}

/// What a poller item waits on. Pointers are kept as addresses: the poller never follows
/// them itself, it looks a socket up through [`socket_ref`] at each wait.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Socket(usize),
    Fd(c_int),
}

#[derive(Clone, Copy)]
struct Item {
    target: Target,
    user_data: usize,
    events: c_short,
}

#[derive(Default)]
struct Poller {
    items: Vec<Item>,
    /// Made when the first thread-safe socket is added, kept until the poller goes.
    signaler: Option<ReadinessSet>,
}

/// What a `void *` poller points at.
#[repr(C)]
pub struct PollerHandle {
    tag: Tag,
    poller: Mutex<Poller>,
}

impl Handle for PollerHandle {
    fn tag(&self) -> &Tag {
        &self.tag
    }
}

/// The poller behind a handle, locked; NULL, destroyed or other handles give `EFAULT`.
///
/// # Safety
/// `p` is NULL or a handle made by this library (see [`handle::has_tag`]), not destroyed
/// by another thread meanwhile.
unsafe fn poller_ref<'a>(p: *mut c_void) -> CResult<MutexGuard<'a, Poller>> {
    // SAFETY: forwarded contract of has_tag.
    if !unsafe { handle::has_tag(p, handle::POLLER) } {
        return Err(libc::EFAULT);
    }
    // SAFETY: the tag says `p` is a live PollerHandle.
    let h = unsafe { &*p.cast::<PollerHandle>() };
    Ok(h.poller.lock().unwrap_or_else(|e| e.into_inner()))
}

fn check_events(events: c_short) -> CResult<()> {
    if events & !EVENTS_MASK != 0 {
        return Err(libc::EINVAL);
    }
    Ok(())
}

impl Poller {
    fn find(&self, target: Target) -> CResult<usize> {
        self.items.iter().position(|i| i.target == target).ok_or(libc::EINVAL)
    }

    fn add(&mut self, target: Target, user_data: *mut c_void, events: c_short) -> CResult<()> {
        if self.find(target).is_ok() {
            return Err(libc::EINVAL);
        }
        self.items.push(Item { target, user_data: user_data as usize, events });
        Ok(())
    }

    /// Adds socket handle `s` (whose socket is `socket`); a thread-safe one joins the
    /// poller's [`ReadinessSet`].
    fn add_socket(
        &mut self,
        s: *mut c_void,
        socket: &Sock,
        user_data: *mut c_void,
        events: c_short,
    ) -> CResult<()> {
        let target = Target::Socket(s as usize);
        if self.find(target).is_ok() {
            return Err(libc::EINVAL);
        }
        if let Some(shared) = socket.thread_safe() {
            let set = match &mut self.signaler {
                Some(set) => set,
                none => none.insert(ReadinessSet::new().map_err(err)?),
            };
            set.add(shared).map_err(err)?;
        }
        self.add(target, user_data, events)
    }

    fn remove_socket(&mut self, s: *mut c_void, socket: &Sock) -> CResult<()> {
        let at = self.find(Target::Socket(s as usize))?;
        self.items.remove(at);
        if let (Some(shared), Some(set)) = (socket.thread_safe(), &self.signaler) {
            set.remove(shared).map_err(err)?;
        }
        Ok(())
    }

    fn modify(&mut self, target: Target, events: c_short) -> CResult<()> {
        let at = self.find(target)?;
        self.items[at].events = events;
        Ok(())
    }
}

/// Waits on a copy of the items (so the poller is not locked while it sleeps) and writes
/// up to `out.len()` ready ones, in registration order; `EAGAIN` when none is ready in time.
fn wait(items: &[Item], out: &mut [zmq_poller_event_t], timeout: c_long) -> CResult<c_int> {
    let active: Vec<&Item> = items.iter().filter(|i| i.events != 0).collect();
    if active.is_empty() {
        // Nothing could ever become ready: waiting forever is an error (libzmq's EFAULT).
        if timeout < 0 {
            return Err(libc::EFAULT);
        }
        if timeout > 0 {
            std::thread::sleep(std::time::Duration::from_millis(timeout as u64));
        }
        return Err(libc::EAGAIN);
    }
    let mut polled = Vec::with_capacity(active.len());
    for item in &active {
        polled.push(match item.target {
            // SAFETY: registered sockets are handles of this library; one closed meanwhile
            // reads as ENOTSOCK for as long as its handle is buried (see `handle`).
            Target::Socket(s) => {
                unsafe { socket_ref(s as *mut c_void) }?.as_poll_item(item.events & (POLLIN | POLLOUT))
            }
            Target::Fd(fd) => PollItem::from_fd(fd, item.events),
        });
    }
    // As libzmq's socket_poller_t::wait: a signal handler ends it with EINTR.
    #[allow(clippy::useless_conversion)] // c_long is not i64 everywhere
    libsock::poll_interruptible(&mut polled, i64::from(timeout)).map_err(err)?;
    let mut found = 0;
    for (item, p) in active.iter().zip(&polled) {
        let events = p.get_revents();
        if events == 0 || found == out.len() {
            continue;
        }
        out[found] = match item.target {
            Target::Socket(s) => zmq_poller_event_t { socket: s as *mut c_void, ..zmq_poller_event_t::NONE },
            Target::Fd(fd) => zmq_poller_event_t { fd, ..zmq_poller_event_t::NONE },
        };
        out[found].user_data = item.user_data as *mut c_void;
        out[found].events = events;
        found += 1;
    }
    if found == 0 {
        return Err(libc::EAGAIN);
    }
    out[found..].fill(zmq_poller_event_t::NONE);
    Ok(found as c_int)
}

/// A new, empty poller.
#[no_mangle]
pub extern "C" fn zmq_poller_new() -> *mut c_void {
    boundary::ptr(|| {
        let h = PollerHandle { tag: Tag::new(handle::POLLER), poller: Mutex::default() };
        Ok(Box::into_raw(Box::new(h)).cast())
    })
}

/// Destroys `*poller_p` and sets it to NULL (registered sockets are not touched).
///
/// # Safety
/// `poller_p` is NULL or points to NULL or a poller handle, not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_destroy(poller_p: *mut *mut c_void) -> c_int {
    boundary::int(|| {
        if poller_p.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: non-NULL per the contract.
        let p = unsafe { *poller_p };
        // SAFETY: forwarded contract. Its contents go now (the readiness descriptor is
        // closed); the empty handle is buried, so a second destroy reads as EFAULT.
        drop(std::mem::take(&mut *unsafe { poller_ref(p) }?));
        // SAFETY: the tag check proved `p` came from Box::into_raw in zmq_poller_new and is
        // live; the caller gives it up with this call.
        handle::bury(unsafe { Box::from_raw(p.cast::<PollerHandle>()) });
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *poller_p = std::ptr::null_mut() };
        Ok(0)
    })
}

/// How many items (sockets and descriptors, with or without events) the poller has.
///
/// # Safety
/// `poller` is NULL or a poller handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_size(poller: *mut c_void) -> c_int {
    // SAFETY: forwarded contract.
    boundary::int(|| Ok(boundary::len_to_int(unsafe { poller_ref(poller) }?.items.len())))
}

/// Registers socket `s` with `user_data` for `events` (0: registered, not waited on).
///
/// # Safety
/// `poller` is NULL or a poller handle; `s` is NULL or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_add(
    poller: *mut c_void,
    s: *mut c_void,
    user_data: *mut c_void,
    events: c_short,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let mut p = unsafe { poller_ref(poller) }?;
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        check_events(events)?;
        p.add_socket(s, socket, user_data, events)?;
        Ok(0)
    })
}

/// Changes the events a registered socket is waited on for.
///
/// # Safety
/// `poller` is NULL or a poller handle; `s` is NULL or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_modify(poller: *mut c_void, s: *mut c_void, events: c_short) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let mut p = unsafe { poller_ref(poller) }?;
        // SAFETY: forwarded contract.
        unsafe { socket_ref(s) }?;
        check_events(events)?;
        p.modify(Target::Socket(s as usize), events)?;
        Ok(0)
    })
}

/// Unregisters socket `s`.
///
/// # Safety
/// `poller` is NULL or a poller handle; `s` is NULL or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_remove(poller: *mut c_void, s: *mut c_void) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let mut p = unsafe { poller_ref(poller) }?;
        // SAFETY: forwarded contract.
        let socket = unsafe { socket_ref(s) }?;
        p.remove_socket(s, socket)?;
        Ok(0)
    })
}

/// Registers descriptor `fd` with `user_data` for `events`.
///
/// # Safety
/// `poller` is NULL or a poller handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_add_fd(
    poller: *mut c_void,
    fd: c_int,
    user_data: *mut c_void,
    events: c_short,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let mut p = unsafe { poller_ref(poller) }?;
        check_fd(fd)?;
        check_events(events)?;
        p.add(Target::Fd(fd), user_data, events)?;
        Ok(0)
    })
}

/// Changes the events a registered descriptor is waited on for.
///
/// # Safety
/// `poller` is NULL or a poller handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_modify_fd(poller: *mut c_void, fd: c_int, events: c_short) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let mut p = unsafe { poller_ref(poller) }?;
        check_fd(fd)?;
        check_events(events)?;
        p.modify(Target::Fd(fd), events)?;
        Ok(0)
    })
}

/// Unregisters descriptor `fd`.
///
/// # Safety
/// `poller` is NULL or a poller handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_remove_fd(poller: *mut c_void, fd: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let mut p = unsafe { poller_ref(poller) }?;
        check_fd(fd)?;
        let at = p.find(Target::Fd(fd))?;
        p.items.remove(at);
        Ok(0)
    })
}

/// libzmq's `retired_fd` (and any other negative number) is no descriptor: `EBADF`.
fn check_fd(fd: c_int) -> CResult<()> {
    if fd < 0 {
        return Err(libc::EBADF);
    }
    Ok(())
}

/// Waits up to `timeout` ms (-1: forever) for one ready item, written to `*event`; 0, or
/// -1 with errno (`EAGAIN`: none in time; `*event` is then cleared).
///
/// # Safety
/// `poller` is NULL or a poller handle; `event` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_wait(
    poller: *mut c_void,
    event: *mut zmq_poller_event_t,
    timeout: c_long,
) -> c_int {
    // SAFETY: forwarded contract.
    let rc = unsafe { zmq_poller_wait_all(poller, event, 1, timeout) };
    if rc < 0 && !event.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *event = zmq_poller_event_t::NONE };
    }
    rc.min(0)
}

/// Waits up to `timeout` ms (-1: forever) for ready items and writes up to `n_events` of
/// them to `events`, clearing the rest; returns how many, or -1 with errno.
///
/// # Safety
/// `poller` is NULL or a poller handle; `events` is NULL or points to `n_events` writable
/// entries.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_wait_all(
    poller: *mut c_void,
    events: *mut zmq_poller_event_t,
    n_events: c_int,
    timeout: c_long,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract; the copy is taken and the lock released at once.
        let items = unsafe { poller_ref(poller) }?.items.clone();
        if events.is_null() {
            return Err(libc::EFAULT);
        }
        let n = usize::try_from(n_events).map_err(|_| libc::EINVAL)?;
        // SAFETY: non-NULL with `n_events` writable entries per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(events, n) };
        wait(&items, out, timeout)
    })
}

/// The descriptor that becomes readable when a thread-safe socket of the poller may have
/// changed (then call `zmq_poller_wait` with timeout 0); `EINVAL` if the poller never had
/// a thread-safe socket.
///
/// # Safety
/// `poller` is NULL or a poller handle; `fd` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn zmq_poller_fd(poller: *mut c_void, fd: *mut c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let p = unsafe { poller_ref(poller) }?;
        let set = p.signaler.as_ref().ok_or(libc::EINVAL)?;
        if fd.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *fd = set.fd() };
        Ok(0)
    })
}
