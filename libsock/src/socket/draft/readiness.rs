//! [`ReadinessSet`]: one descriptor for several thread-safe sockets, for outside event loops
//! (libzmq's `zmq_poller_fd`).

use std::os::fd::RawFd;

use super::ThreadSafeSocket;
use crate::error::Result;
use crate::poll::Pollable;
use crate::sys::EpollSet;

/// A descriptor that becomes readable when the events of any of its [`ThreadSafeSocket`]s
/// may have changed, as libzmq's poller signaler (`zmq_poller_fd`); feature `draft`.
///
/// Like a socket's own readiness descriptor (`ZMQ_FD`) it is edge-triggered and says only
/// "look again": after it fires, look at the sockets' events
/// ([`ThreadSafeSocket::get_events`], or [`crate::poll()`] with timeout 0), which clears it,
/// and receive or send until a look shows nothing more to do; only then wait on it again
/// (a socket emptied by `recv` alone, without that last look, does not signal its next
/// message).
///
/// ```
/// use libsock::{Context, ReadinessSet, SERVER};
/// let ctx = Context::new();
/// let server = ctx.thread_safe_socket(SERVER)?;
/// let set = ReadinessSet::new()?;
/// set.add(&server)?;
/// let fd = set.fd(); // register with epoll, mio, tokio's AsyncFd, ...
/// // when it is readable: server.get_events()?, then receive or send accordingly
/// # let _ = fd;
/// # Ok::<(), libsock::Error>(())
/// ```
pub struct ReadinessSet {
    epoll: EpollSet,
}

impl ReadinessSet {
    /// An empty set (its descriptor never becomes readable until sockets are added).
    pub fn new() -> Result<ReadinessSet> {
        Ok(ReadinessSet { epoll: EpollSet::new()? })
    }

    /// Adds `socket` (again: no change). A socket never polled before makes the set
    /// readable once, so the caller looks at its events at least once.
    pub fn add(&self, socket: &ThreadSafeSocket) -> Result<()> {
        Ok(self.epoll.add(socket.poll_fd()?)?)
    }

    /// Removes `socket` (absent: no change).
    pub fn remove(&self, socket: &ThreadSafeSocket) -> Result<()> {
        Ok(self.epoll.remove(socket.poll_fd()?)?)
    }

    /// The descriptor to wait on for readability; it lives as long as the set.
    pub fn fd(&self) -> RawFd {
        self.epoll.raw()
    }
}

impl std::fmt::Debug for ReadinessSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadinessSet").field("fd", &self.fd()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use crate::socket::POLLIN;
    use crate::socket_type::SocketType;

    fn readable(set: &ReadinessSet, timeout_ms: i32) -> bool {
        let mut fds = [libc::pollfd { fd: set.fd(), events: libc::POLLIN, revents: 0 }];
        crate::sys::poll(&mut fds, timeout_ms).unwrap() == 1
    }

    #[test]
    fn readable_when_any_socket_may_have_changed_and_cleared_by_looking() {
        let ctx = Context::new();
        let server = ctx.thread_safe_socket(SocketType::SERVER).unwrap();
        server.bind("inproc://readiness-set").unwrap();
        let other = ctx.thread_safe_socket(SocketType::DISH).unwrap();
        let client = ctx.thread_safe_socket(SocketType::CLIENT).unwrap();
        let set = ReadinessSet::new().unwrap();
        assert!(!readable(&set, 0), "empty set");
        set.add(&other).unwrap();
        set.add(&server).unwrap();
        set.add(&server).unwrap();
        // Added for the first time: look once.
        assert!(readable(&set, 0));
        let _ = other.get_events().unwrap();
        assert_eq!(server.get_events().unwrap() & POLLIN, 0);
        assert!(!readable(&set, 0), "looked at both");
        client.connect("inproc://readiness-set").unwrap();
        client.send("hi", 0).unwrap();
        assert!(readable(&set, 5000), "a message for the server");
        assert_eq!(server.get_events().unwrap() & POLLIN, POLLIN);
        assert_eq!(server.recv_msg(0).unwrap().as_ref(), b"hi");
        let _ = server.get_events().unwrap();
        assert!(!readable(&set, 0));
        set.remove(&server).unwrap();
        set.remove(&server).unwrap();
        client.send("again", 0).unwrap();
        assert!(!readable(&set, 200), "removed");
        assert_eq!(server.recv_msg(0).unwrap().as_ref(), b"again");
    }
}
