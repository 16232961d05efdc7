//! [`ThreadSafeSocket`]: a socket that several threads use at once (`&self` is `Sync`), for
//! the draft types that libzmq makes thread-safe.
//!
//! The socket core sits behind a mutex that is held only while an operation is tried, never
//! while it waits: a thread blocked in `recv` does not hold up another thread's `send`.
//! Waiting is leader/followers: one waiter sleeps on the socket's signal (which wakes one
//! sleeper per change); the others sleep on a condition variable that the leader broadcasts
//! when it wakes, so every waiter retries after any change. Each waiter notes the wake
//! epoch *before* it tries, so a change between its try and its sleep is never missed.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::super::routing::SendError;
use super::super::SocketCore;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::mailbox::signal::Signal;
use crate::message::Message;
use crate::options::{millis, OptionValue, SocketOption};
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
    core: Mutex<SocketCore>,
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
        let core = self.socket(kind)?.core.into_inner();
        let signal = core.shared.signal.clone();
        Ok(ThreadSafeSocket {
            core: Mutex::new(core),
            signal,
            waiters: Mutex::default(),
            woken: Condvar::new(),
        })
    }
}

impl ThreadSafeSocket {
    /// This socket's type.
    pub fn get_socket_type(&self) -> SocketType {
        self.core.lock().kind
    }

    /// Accepts connections on `endpoint`, as [`crate::Socket::bind`].
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.core.lock().bind(endpoint)
    }

    /// Connects to `endpoint`, as [`crate::Socket::connect`].
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.core.lock().connect(endpoint)
    }

    /// Stops listening on `endpoint`.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.core.lock().unbind(endpoint)
    }

    /// Drops the connection to `endpoint`.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.core.lock().disconnect(endpoint)
    }

    /// The endpoint last bound or connected, resolved (`ZMQ_LAST_ENDPOINT`).
    pub fn get_last_endpoint(&self) -> Result<String> {
        Ok(self.core.lock().last_endpoint.clone())
    }

    /// Sets an option (SNDTIMEO, RCVTIMEO, LINGER, the HWMs, ...).
    pub fn set_option(&self, option: SocketOption, value: OptionValue) -> Result<()> {
        let mut core = self.core.lock();
        core.options.set(option, value)?;
        let core = &mut *core;
        core.routing.configure(&core.options);
        Ok(())
    }

    /// Reads an option.
    pub fn get_option(&self, option: SocketOption) -> Result<OptionValue> {
        Ok(self.core.lock().options.get(option))
    }

    /// DISH: receive the messages of `group` (EINVAL if already joined), `zmq_join`.
    pub fn join(&self, group: &str) -> Result<()> {
        self.group_change(group, true)
    }

    /// DISH: stop receiving `group` (EINVAL if not joined), `zmq_leave`.
    pub fn leave(&self, group: &str) -> Result<()> {
        self.group_change(group, false)
    }

    fn group_change(&self, group: &str, join: bool) -> Result<()> {
        let mut core = self.core.lock();
        core.check_alive()?;
        core.process_commands();
        let core = &mut *core;
        core.routing.subscribe(group.as_bytes(), join, &mut core.pipes)
    }

    /// Sends a single-part message; `flags` may hold [`DONTWAIT`] ([`SNDMORE`]: EINVAL).
    pub fn send<T: Into<Message>>(&self, data: T, flags: i32) -> Result<()> {
        self.send_msg(data.into(), flags)
    }

    /// Sends `msg`, keeping its routing id (SERVER) and group (RADIO).
    pub fn send_msg(&self, mut msg: Message, flags: i32) -> Result<()> {
        msg.set_more(flags & SNDMORE != 0);
        let mut deadline = None;
        loop {
            let epoch = self.waiters.lock().epoch;
            let timeo = {
                let mut core = self.core.lock();
                core.check_alive()?;
                core.process_commands();
                let core = &mut *core;
                let result = core.routing.send(msg, &mut core.pipes);
                let reaped = core.reap();
                match result {
                    Ok(()) => return Ok(()),
                    Err(SendError::Fail(e)) => return Err(e),
                    Err(SendError::Again(m)) => msg = m,
                }
                if reaped {
                    continue;
                }
                core.options.sndtimeo
            };
            self.wait(flags & DONTWAIT != 0, timeo, &mut deadline, epoch)?;
        }
    }

    /// Receives a message (with its routing id on a SERVER, its group on a DISH).
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        let mut deadline = None;
        loop {
            let epoch = self.waiters.lock().epoch;
            let timeo = {
                let mut core = self.core.lock();
                core.check_alive()?;
                core.process_commands();
                let core = &mut *core;
                let result = core.routing.recv(&mut core.pipes);
                let reaped = core.reap();
                match result {
                    Ok(msg) => return Ok(msg),
                    Err(Error::WouldBlock) if reaped => continue,
                    Err(Error::WouldBlock) => {}
                    Err(e) => return Err(e),
                }
                core.options.rcvtimeo
            };
            self.wait(flags & DONTWAIT != 0, timeo, &mut deadline, epoch)?;
        }
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

impl std::fmt::Debug for ThreadSafeSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadSafeSocket").finish_non_exhaustive()
    }
}
