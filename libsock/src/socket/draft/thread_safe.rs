//! [`ThreadSafeSocket`]: a socket that several threads use at once (`&self` is `Sync`), for
//! the draft types that libzmq makes thread-safe.
//!
//! The socket (and so its core) sits behind a mutex that is held only while an operation is
//! tried, never while it waits: a thread blocked in `recv` does not hold up another thread's `send`.
//! Waiting is leader/followers: one waiter sleeps on the socket's signal (which wakes one
//! sleeper per change); the others sleep on a condition variable that the leader broadcasts
//! when it wakes, so every waiter retries after any change. Each waiter notes the wake
//! epoch *before* it tries, so a change between its try and its sleep is never missed.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::super::routing::SendError;
use super::super::{Socket, SocketCore};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::mailbox::signal::Signal;
use crate::message::Message;
use crate::options::{millis, OptionValue, SocketOption};
use crate::poll::{PollItem, Pollable};
use crate::socket::{DONTWAIT, SNDMORE};
use crate::socket_type::SocketType;

/// A socket of a thread-safe draft type (CLIENT, SERVER, RADIO, DISH, SCATTER, GATHER) that
/// any number of threads may use at the same time through a shared reference, as libzmq's
/// thread-safe sockets. Made by [`Context::thread_safe_socket`]; feature `draft`.
///
/// ```
/// use libsock::{Context, Message, CLIENT, SERVER};
/// let ctx = Context::new();
/// let server = ctx.thread_safe_socket(SERVER)?;
/// server.bind("inproc://doc-thread-safe")?;
/// let client = ctx.thread_safe_socket(CLIENT)?;
/// client.connect("inproc://doc-thread-safe")?;
/// std::thread::scope(|s| {
///     s.spawn(|| client.send("ping", 0).unwrap());
///     let request = server.recv_msg(0).unwrap();
///     let mut reply = Message::from("pong");
///     reply.set_routing_id(request.routing_id()).unwrap();
///     server.send_msg(reply, 0).unwrap();
/// });
/// assert_eq!(client.recv_bytes(0)?, b"pong");
/// # Ok::<(), libsock::Error>(())
/// ```
pub struct ThreadSafeSocket {
    /// A plain socket, so that everything that does not wait (options by number, monitor,
    /// events) is the plain socket's code under the lock.
    socket: Mutex<Socket>,
    signal: Arc<Signal>,
    waiters: Mutex<Waiters>,
    woken: Condvar,
}

#[derive(Default)]
struct Waiters {
    /// A thread is asleep on the socket's signal.
    leader: bool,
    /// Bumped each time the leader wakes.
    epoch: u64,
}

impl Context {
    /// Creates a [`ThreadSafeSocket`] of a thread-safe draft type (others: EINVAL).
    pub fn thread_safe_socket(&self, kind: SocketType) -> Result<ThreadSafeSocket> {
        if !kind.is_thread_safe() {
            return Err(Error::invalid(format!("{kind} sockets are not thread-safe; use Context::socket")));
        }
        let socket = self.socket(kind)?;
        let signal = socket.core().shared.signal.clone();
        Ok(ThreadSafeSocket {
            socket: Mutex::new(socket),
            signal,
            waiters: Mutex::default(),
            woken: Condvar::new(),
        })
    }
}

impl ThreadSafeSocket {
    /// This socket's type.
    pub fn get_socket_type(&self) -> SocketType {
        self.socket.lock().core().kind
    }

    /// Accepts connections on `endpoint`, as [`crate::Socket::bind`].
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.socket.lock().bind(endpoint)
    }

    /// Connects to `endpoint`, as [`crate::Socket::connect`].
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.socket.lock().connect(endpoint)
    }

    /// PEER: [`crate::Socket::connect_peer`], `zmq_connect_peer`.
    pub fn connect_peer(&self, endpoint: &str) -> Result<u32> {
        self.socket.lock().connect_peer(endpoint)
    }

    /// Stops listening on `endpoint`.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.socket.lock().unbind(endpoint)
    }

    /// Drops the connection to `endpoint`.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.socket.lock().disconnect(endpoint)
    }

    /// The endpoint last bound or connected, resolved (`ZMQ_LAST_ENDPOINT`).
    pub fn get_last_endpoint(&self) -> Result<String> {
        self.socket.lock().get_last_endpoint()
    }

    /// Sets an option (SNDTIMEO, RCVTIMEO, LINGER, the HWMs, ...).
    pub fn set_option(&self, option: SocketOption, value: OptionValue) -> Result<()> {
        self.socket.lock().set_option(option, value)
    }

    /// Reads an option.
    pub fn get_option(&self, option: SocketOption) -> Result<OptionValue> {
        self.socket.lock().get_option(option)
    }

    /// DISH: receive the messages of `group` (EINVAL if already joined), `zmq_join`.
    pub fn join(&self, group: &str) -> Result<()> {
        self.socket.lock().join(group)
    }

    /// DISH: stop receiving `group` (EINVAL if not joined), `zmq_leave`.
    pub fn leave(&self, group: &str) -> Result<()> {
        self.socket.lock().leave(group)
    }

    /// Sets any option by its zmq.h number, as [`Socket::set_option_raw`] (`zmq_setsockopt`).
    pub fn set_option_raw(&self, option: i32, value: OptionValue) -> Result<()> {
        self.socket.lock().set_option_raw(option, value)
    }

    /// Reads any option by its zmq.h number, as [`Socket::get_option_raw`], except that
    /// `ZMQ_THREAD_SAFE` (81) reads 1 and `ZMQ_FD` (14) is EINVAL, as libzmq's thread-safe
    /// sockets: several threads draining one edge-triggered descriptor would lose wakes.
    pub fn get_option_raw(&self, option: i32) -> Result<OptionValue> {
        match option {
            THREAD_SAFE => Ok(OptionValue::Int(1)),
            FD => Err(Error::invalid("thread-safe sockets have no ZMQ_FD (as libzmq)")),
            _ => self.socket.lock().get_option_raw(option),
        }
    }

    /// Whether this socket may be used from several threads at once: always true.
    pub fn get_thread_safe(&self) -> Result<bool> {
        Ok(true)
    }

    /// Publishes this socket's events on an inproc endpoint, as [`Socket::monitor`].
    pub fn monitor(&self, endpoint: &str, events: i32) -> Result<()> {
        self.socket.lock().monitor(endpoint, events)
    }

    /// [`Socket::monitor_versioned`].
    pub fn monitor_versioned(
        &self,
        endpoint: &str,
        events: u64,
        version: u8,
        socket_type: SocketType,
    ) -> Result<()> {
        self.socket.lock().monitor_versioned(endpoint, events, version, socket_type)
    }

    /// [`Socket::monitor_pipes_stats`].
    pub fn monitor_pipes_stats(&self) -> Result<()> {
        self.socket.lock().monitor_pipes_stats()
    }

    /// [`crate::POLLIN`] | [`crate::POLLOUT`]: what a send or receive would do now
    /// (`ZMQ_EVENTS`).
    pub fn get_events(&self) -> Result<i16> {
        self.socket.lock().get_events()
    }

    /// A poll item for this socket, for [`crate::poll`] (`zmq_poll`). Threads that poll
    /// this socket while others send or receive on it are fine; two threads polling it at
    /// the same moment may see a change late (they share one readiness descriptor).
    pub fn as_poll_item(&self, events: i16) -> PollItem<'_> {
        PollItem::for_socket(self, events)
    }

    /// Sends a single-part message; `flags` may hold [`DONTWAIT`] ([`SNDMORE`]: EINVAL).
    pub fn send<T: Into<Message>>(&self, data: T, flags: i32) -> Result<()> {
        self.send_msg(data.into(), flags)
    }

    /// Sends `msg`, keeping its routing id (SERVER) and group (RADIO).
    pub fn send_msg(&self, mut msg: Message, flags: i32) -> Result<()> {
        msg.set_more(flags & SNDMORE != 0);
        self.retry(flags, false, |core| match core.routing.send(std::mem::take(&mut msg), &mut core.pipes) {
            Ok(()) => Some(Ok(())),
            Err(SendError::Subscribed) => {
                core.process_commands();
                Some(Ok(()))
            }
            Err(SendError::Fail(e)) => Some(Err(e)),
            Err(SendError::Again(m)) => {
                msg = m;
                None
            }
        })
    }

    /// Receives a message (with its routing id on a SERVER, its group on a DISH).
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        self.retry(flags, true, |core| match core.routing.recv(&mut core.pipes) {
            Ok(msg) => Some(Ok(msg)),
            Err(Error::WouldBlock) => None,
            Err(e) => Some(Err(e)),
        })
    }

    /// Tries `op` under the socket lock until it answers (`Some`), waiting between tries
    /// for RCVTIMEO (`recv`) or SNDTIMEO; a try that reaped a dead pipe is retried at once.
    fn retry<T>(
        &self,
        flags: i32,
        recv: bool,
        mut op: impl FnMut(&mut SocketCore) -> Option<Result<T>>,
    ) -> Result<T> {
        let mut deadline = None;
        loop {
            let epoch = self.waiters.lock().epoch;
            let timeo = {
                let socket = self.socket.lock();
                let mut core = socket.core();
                core.check_alive()?;
                core.process_commands();
                let core = &mut *core;
                let result = op(core);
                let reaped = core.reap();
                if let Some(result) = result {
                    return result;
                }
                if reaped {
                    continue;
                }
                if recv {
                    core.options.rcvtimeo
                } else {
                    core.options.sndtimeo
                }
            };
            self.wait(flags & DONTWAIT != 0, timeo, &mut deadline, epoch)?;
        }
    }

    /// Receives one frame into `msg`, as [`crate::Socket::recv`]: a receive that finds no
    /// frame leaves it empty, one the socket refuses (a RADIO's, a SCATTER's) or a
    /// terminated context leaves it unchanged.
    pub fn recv(&self, msg: &mut Message, flags: i32) -> Result<()> {
        match self.recv_msg(flags) {
            Ok(m) => *msg = m,
            Err(e) => {
                if matches!(e, Error::WouldBlock | Error::TimedOut | Error::Interrupted) {
                    *msg = Message::new();
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Receives one frame into `buf`, as [`crate::Socket::recv_into`] (`zmq_recv`): copies
    /// what fits and returns the frame's size, larger than `buf.len()` when the rest was cut
    /// off.
    pub fn recv_into(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        let msg = self.recv_msg(flags)?;
        let n = msg.len().min(buf.len());
        buf[..n].copy_from_slice(&msg[..n]);
        Ok(msg.len())
    }

    /// Receives a message's body as bytes.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.recv_msg(flags).map(|m| m.to_vec())
    }

    /// Sleeps until the socket may have changed since `seen_epoch`, or fails with
    /// WouldBlock / TimedOut.
    fn wait(
        &self,
        dontwait: bool,
        timeo_ms: i32,
        deadline: &mut Option<Option<Instant>>,
        seen: u64,
    ) -> Result<()> {
        if dontwait || timeo_ms == 0 {
            return Err(Error::WouldBlock);
        }
        let at = *deadline.get_or_insert_with(|| millis(timeo_ms).map(|t| Instant::now() + t));
        let mut w = self.waiters.lock();
        if w.epoch != seen {
            return Ok(());
        }
        if !w.leader {
            w.leader = true;
            drop(w);
            let woke = self.signal.wait(at);
            let mut w = self.waiters.lock();
            w.leader = false;
            w.epoch += 1;
            drop(w);
            self.woken.notify_all();
            return if woke { Ok(()) } else { Err(Error::TimedOut) };
        }
        loop {
            match at {
                None => self.woken.wait(&mut w),
                Some(d) => {
                    if self.woken.wait_until(&mut w, d).timed_out() && w.epoch == seen {
                        return Err(Error::TimedOut);
                    }
                }
            }
            if w.epoch != seen {
                return Ok(());
            }
        }
    }
}

/// zmq.h's ZMQ_THREAD_SAFE and ZMQ_FD.
const THREAD_SAFE: i32 = 81;
const FD: i32 = 14;

impl Pollable for ThreadSafeSocket {
    fn poll_events(&self) -> Result<i16> {
        self.get_events()
    }

    fn poll_fd(&self) -> Result<std::os::fd::RawFd> {
        Ok(self.signal.fd()?.raw())
    }
}

impl std::fmt::Debug for ThreadSafeSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadSafeSocket").finish_non_exhaustive()
    }
}
