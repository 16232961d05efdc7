//! [`Sock`]: the libsock socket behind a C socket handle.
//!
//! The classic types are a plain [`Socket`] (one thread at a time, libzmq's rule). With the
//! `draft` feature, CLIENT, SERVER, RADIO, DISH, SCATTER and GATHER are a
//! [`libsock::ThreadSafeSocket`], so C threads may send, receive, poll and set options on one
//! handle at the same time and `ZMQ_THREAD_SAFE` reads 1, as in libzmq. Every method forwards
//! to the same-named method of the socket inside; without the feature there is one variant
//! and the match compiles away.

use libsock::{Message, OptionValue, PollItem, Result, SendOrReturn, Socket, SocketType};

use crate::boundary::CResult;

/// A C handle's socket.
pub enum Sock {
    /// A classic type, or a draft type created without the feature (never: the feature is
    /// what makes their numbers valid).
    Plain(Socket),
    /// A thread-safe draft type.
    #[cfg(feature = "draft")]
    Shared(libsock::ThreadSafeSocket),
}

// Without the feature a handle's socket is exactly a `Socket`: the classic send/recv path is
// the one it was (a one-variant match compiles to nothing).
#[cfg(not(feature = "draft"))]
const _: () = assert!(std::mem::size_of::<Sock>() == std::mem::size_of::<Socket>());

macro_rules! forward {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Sock::Plain($s) => $e,
            #[cfg(feature = "draft")]
            Sock::Shared($s) => $e,
        }
    };
}

impl Sock {
    /// Opens a socket of `kind` in `ctx`: shared for the thread-safe types.
    pub fn open(ctx: &libsock::Context, kind: SocketType) -> Result<Sock> {
        #[cfg(feature = "draft")]
        if kind.is_thread_safe() {
            return ctx.thread_safe_socket(kind).map(Sock::Shared);
        }
        let socket = ctx.socket(kind)?;
        // libzmq's blocking calls end with EINTR when a signal handler runs.
        socket.set_interruptible(true);
        Ok(Sock::Plain(socket))
    }

    /// The plain socket, for the C functions that only take one (`zmq_proxy`): ENOTSUP for
    /// a thread-safe socket.
    pub fn plain(&self) -> CResult<&Socket> {
        match self {
            Sock::Plain(s) => Ok(s),
            #[cfg(feature = "draft")]
            Sock::Shared(_) => Err(libc::ENOTSUP),
        }
    }

    /// Sends one frame.
    #[inline]
    pub fn send(&self, msg: Message, flags: i32) -> Result<()> {
        forward!(self, s => s.send(msg, flags))
    }

    /// Sends one frame, handing it back when it was not sent (a thread-safe socket never
    /// hands it back: `zmq_msg_send` shares the body first for these types).
    #[inline]
    pub fn send_msg(&self, msg: Message, flags: i32) -> SendOrReturn {
        match self {
            Sock::Plain(s) => s.send_msg(msg, flags),
            #[cfg(feature = "draft")]
            Sock::Shared(s) => s.send_msg(msg, flags).map_err(|e| (e, None)),
        }
    }

    /// Sends `*msg`, leaving it empty once sent and as it was when not (see
    /// [`Socket::send_from`]). A thread-safe socket takes the message whatever happens:
    /// `zmq_msg_send` shares the body first for these types.
    #[inline(always)]
    pub fn send_from(&self, msg: &mut Message, flags: i32) -> Result<()> {
        match self {
            Sock::Plain(s) => s.send_from(msg, flags),
            #[cfg(feature = "draft")]
            Sock::Shared(s) => s.send_msg(std::mem::take(msg), flags),
        }
    }

    /// Receives one frame into `msg` ([`Socket::recv`]: its old content released first).
    #[inline(always)]
    pub fn recv_into(&self, msg: &mut Message, flags: i32) -> Result<()> {
        match self {
            Sock::Plain(s) => s.recv(msg, flags),
            #[cfg(feature = "draft")]
            Sock::Shared(s) => s.recv(msg, flags),
        }
    }

    /// Receives one frame.
    #[inline]
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        forward!(self, s => s.recv_msg(flags))
    }

    /// `zmq_bind`.
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        forward!(self, s => s.bind(endpoint))
    }

    /// `zmq_connect`.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        forward!(self, s => s.connect(endpoint))
    }

    /// `zmq_unbind`.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        forward!(self, s => s.unbind(endpoint))
    }

    /// `zmq_disconnect`.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        forward!(self, s => s.disconnect(endpoint))
    }

    /// `zmq_socket_monitor`.
    pub fn monitor(&self, endpoint: &str, events: i32) -> Result<()> {
        forward!(self, s => s.monitor(endpoint, events))
    }

    /// `zmq_socket_monitor_versioned`.
    #[cfg(feature = "draft")]
    pub fn monitor_versioned(
        &self,
        endpoint: &str,
        events: u64,
        version: u8,
        kind: SocketType,
    ) -> Result<()> {
        forward!(self, s => s.monitor_versioned(endpoint, events, version, kind))
    }

    /// `zmq_socket_monitor_pipes_stats`.
    #[cfg(feature = "draft")]
    pub fn monitor_pipes_stats(&self) -> Result<()> {
        forward!(self, s => s.monitor_pipes_stats())
    }

    /// `zmq_setsockopt` by number.
    pub fn set_option_raw(&self, option: i32, value: OptionValue) -> Result<()> {
        forward!(self, s => s.set_option_raw(option, value))
    }

    /// `zmq_getsockopt` by number (THREAD_SAFE reads 1 and FD is EINVAL for shared sockets).
    pub fn get_option_raw(&self, option: i32) -> Result<OptionValue> {
        forward!(self, s => s.get_option_raw(option))
    }

    /// A `zmq_poll` item.
    pub fn as_poll_item(&self, events: i16) -> PollItem<'_> {
        forward!(self, s => s.as_poll_item(events))
    }

    /// `zmq_socket_get_peer_state` (ROUTER; thread-safe types: ENOTSUP, as libzmq).
    #[cfg(feature = "draft")]
    pub fn peer_state(&self, routing_id: &[u8]) -> Result<i16> {
        match self {
            Sock::Plain(s) => s.peer_state(routing_id),
            Sock::Shared(_) => Err(libsock::Error::NotSupported),
        }
    }

    /// The thread-safe socket inside, if it is one (`zmq_poller_fd` covers only those).
    #[cfg(feature = "draft")]
    pub fn thread_safe(&self) -> Option<&libsock::ThreadSafeSocket> {
        match self {
            Sock::Plain(_) => None,
            Sock::Shared(s) => Some(s),
        }
    }

    /// PEER: `zmq_connect_peer` (other types: `NotSupported`).
    #[cfg(feature = "draft")]
    pub fn connect_peer(&self, endpoint: &str) -> Result<u32> {
        forward!(self, s => s.connect_peer(endpoint))
    }

    /// `zmq_join` (DISH).
    #[cfg(feature = "draft")]
    pub fn join(&self, group: &str) -> Result<()> {
        forward!(self, s => s.join(group))
    }

    /// `zmq_leave` (DISH).
    #[cfg(feature = "draft")]
    pub fn leave(&self, group: &str) -> Result<()> {
        forward!(self, s => s.leave(group))
    }
}
