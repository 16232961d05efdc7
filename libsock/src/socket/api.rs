//! The public methods of [`Socket`], shaped like the `zmq` crate's.

use super::Socket;
use crate::error::{Error, Result};
use crate::message::Message;
use crate::options::{for_each_option, OptionValue, SocketOption};
use crate::socket_type::SocketType;

/// Flag for send and receive: fail with [`Error::WouldBlock`] instead of blocking.
pub const DONTWAIT: i32 = 1;
/// Flag for send: more frames of this message follow.
pub const SNDMORE: i32 = 2;
/// [`Socket::get_events`] bit: a message can be received now (`ZMQ_POLLIN`).
pub const POLLIN: i16 = 1;
/// [`Socket::get_events`] bit: a message can be sent now (`ZMQ_POLLOUT`).
pub const POLLOUT: i16 = 2;

impl Socket {
    /// This socket's type.
    pub fn get_socket_type(&self) -> Result<SocketType> {
        Ok(self.core().kind)
    }

    /// Accepts connections on `endpoint` (`tcp://`, `ipc://`, `inproc://`, `ws://` or `wss://`).
    ///
    /// tcp: `*` binds every interface; port `*` or `0` picks a free port, which
    /// [`Socket::get_last_endpoint`] reports. ipc: `*` picks a fresh path. ws
    /// (`ws://host:port/path`, ZMTP over WebSocket as libzmq's ZWS 2.0): as tcp; any path is
    /// accepted from a connecting peer. wss (the same over TLS) needs
    /// [`Socket::set_wss_cert_pem`] and [`Socket::set_wss_key_pem`] first; a `wss://`
    /// connect needs [`Socket::set_wss_trust_pem`], [`Socket::set_wss_trust_file`] or
    /// [`Socket::set_wss_trust_system`].
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.core().bind(endpoint)
    }

    /// Connects to `endpoint`, in the background: messages queue (up to SNDHWM) until the
    /// peer is there, and the connection is re-established after failures.
    ///
    /// tcp: `tcp://source;host:port` binds the outgoing connection to `source` first
    /// (`ip:port`, `interface:port` or `*:port`; port `0` or `*` for any), as zmq_tcp(7). As
    /// libzmq, host names are resolved at every connection attempt, in the I/O thread: a name
    /// that does not resolve, or an IPv6 address while IPV6 is off, makes the attempt fail
    /// and be retried; only a malformed endpoint fails here.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.core().connect(endpoint)
    }

    /// Stops listening on a bound endpoint, named by its resolved form
    /// ([`Socket::get_last_endpoint`]) or a tcp name resolving to it; a wildcard
    /// (`tcp://127.0.0.1:*`, `ipc://*`) names nothing (ENOENT), as in libzmq. The peers that
    /// connected through it are dropped; what they sent that was not received yet still is,
    /// and each such connection closes once that is read (as libzmq's sessions end).
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.core().unbind(endpoint)
    }

    /// Drops the connection made by [`Socket::connect`] to `endpoint`, with the messages it
    /// brought that were not received yet; with IMMEDIATE those are still received (the
    /// connection made the pipe, as in libzmq) and the connection closes once they are. A
    /// multipart message whose first frame was received (or read ahead by a SUB's poll) is
    /// never cut: its other frames are still received.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.core().disconnect(endpoint)
    }

    /// Sends one frame. `flags` combines [`DONTWAIT`] and [`SNDMORE`].
    ///
    /// Anything convertible to a [`Message`] can be sent: `&[u8]`, `&str`, `Vec<u8>`,
    /// `String`, `bytes::Bytes` (large `Vec`s and `Bytes` are not copied).
    #[inline]
    pub fn send<T: Into<Message>>(&self, data: T, flags: i32) -> Result<()> {
        let mut core = self.core();
        // Checked before the message is made, so that it goes straight to the routing.
        core.check_alive()?;
        let mut msg = data.into();
        msg.set_more(flags & SNDMORE != 0);
        core.send_alive(msg, flags & DONTWAIT != 0).map_err(|(e, _)| e)
    }

    /// Sends one frame like [`Socket::send`], handing `msg` back when it was not sent:
    /// `Err((error, Some(msg)))` when it would block, timed out or the context was
    /// terminated; `Err((error, None))` when the socket refused it for good (a REQ/REP out of
    /// turn, a type that cannot send, an unknown ROUTER/STREAM peer). For the C API, whose
    /// `zmq_msg_send` leaves the message unchanged on failure, so it need not copy it first.
    /// Always inlined, so the C API's `zmq_msg_send` makes no call on its way to the routing.
    #[inline(always)]
    pub fn send_msg(&self, mut msg: Message, flags: i32) -> super::SendOrReturn {
        msg.set_more(flags & SNDMORE != 0);
        self.core().send_or_return(msg, flags & DONTWAIT != 0)
    }

    /// Sends `*msg` like [`Socket::send`], the contract of `zmq_msg_send`: once sent, an empty
    /// message is left in its place; when it was not (would block, timed out, context
    /// terminated), `*msg` is as it was (with MORE set per `flags`). A message the socket
    /// refused for good (a REQ/REP out of turn, a type that cannot send, an unknown
    /// ROUTER/STREAM peer) is gone, and `*msg` left empty.
    ///
    /// The message moves out of `*msg` only at the routing's door, so the C API's
    /// `zmq_msg_send` hands it over from the caller's `zmq_msg_t` in one copy (taken by
    /// value, it was copied four times on the way: ~30 instructions a message).
    #[inline(always)]
    pub fn send_from(&self, msg: &mut Message, flags: i32) -> Result<()> {
        msg.set_more(flags & SNDMORE != 0);
        self.core().send_from(msg, flags & DONTWAIT != 0)
    }

    /// Sends every part as one multipart message (delivered whole or not at all).
    pub fn send_multipart<I, T>(&self, parts: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<Message>,
    {
        let mut parts = parts.into_iter().peekable();
        let mut core = self.core();
        while let Some(part) = parts.next() {
            let mut msg = part.into();
            msg.set_more(parts.peek().is_some() || flags & SNDMORE != 0);
            core.send(msg, flags & DONTWAIT != 0)?;
        }
        Ok(())
    }

    /// Receives one frame into `msg`, its old content released where libzmq's `zmq_msg_recv`
    /// releases it: a receive that finds no frame (`WouldBlock`, `TimedOut`, `Interrupted`)
    /// leaves an empty message (but an XPUB's, as libzmq's, leaves it unchanged); one the
    /// socket refuses (`NotSupported`, `InvalidState`) or a terminated context
    /// (`ContextTerminated`) leaves it unchanged.
    /// Always inlined (into `zmq_msg_recv` too): the frame is written where `msg` lies.
    #[inline(always)]
    pub fn recv(&self, msg: &mut Message, flags: i32) -> Result<()> {
        self.core().recv_into(msg, flags & DONTWAIT != 0)
    }

    /// Receives one frame. Always inlined (into `zmq_msg_recv` too), like [`Socket::send_msg`].
    #[inline(always)]
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        self.core().recv(flags & DONTWAIT != 0)
    }

    /// Receives one frame into `buf` (`zmq_recv`; the `zmq` crate's `recv_into`): copies what
    /// fits and returns the frame's size, larger than `buf.len()` when the rest was cut off.
    pub fn recv_into(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        let msg = self.recv_msg(flags)?;
        let n = msg.len().min(buf.len());
        buf[..n].copy_from_slice(&msg[..n]);
        Ok(msg.len())
    }

    /// Receives one frame as a byte vector.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.recv_msg(flags).map(|m| m.to_vec())
    }

    /// Receives one frame as text: `Ok(Err(bytes))` when it is not UTF-8.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        self.recv_bytes(flags).map(|b| String::from_utf8(b).map_err(|e| e.into_bytes()))
    }

    /// Receives every frame of the next message.
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        let mut core = self.core();
        let mut parts = Vec::new();
        loop {
            let msg = core.recv(flags & DONTWAIT != 0)?;
            let more = msg.get_more();
            parts.push(msg.to_vec());
            if !more {
                return Ok(parts);
            }
        }
    }

    /// Whether the last frame received has more frames following (`ZMQ_RCVMORE`).
    pub fn get_rcvmore(&self) -> Result<bool> {
        Ok(self.core().rcvmore)
    }

    /// Whether a send would not block now, without `ZMQ_EVENTS`' side effects (no commands
    /// processed, the readiness descriptor left alone): a proxy's look at its output before
    /// it takes a message from its input, so it never holds one it cannot pass on.
    pub(crate) fn can_send_now(&self) -> bool {
        let core = &mut *self.core();
        core.routing.can_send(&mut core.pipes)
    }

    /// ROUTER: whether a message to the peer named `routing_id` would be queued now
    /// ([`POLLOUT`], else 0), as libzmq's draft `zmq_socket_get_peer_state`; an unknown peer
    /// is [`Error::HostUnreachable`], other socket types [`Error::NotSupported`]. Feature
    /// `draft`.
    #[cfg(feature = "draft")]
    pub fn peer_state(&self, routing_id: &[u8]) -> Result<i16> {
        let mut core = self.core();
        core.check_alive()?;
        core.process_commands();
        core.reap();
        let core = &mut *core;
        core.routing.peer_state(routing_id, &mut core.pipes)
    }

    /// Which operations would not block now: [`POLLIN`] and/or [`POLLOUT`] (`ZMQ_EVENTS`).
    /// After [`crate::Context::shutdown`] it fails with `ContextTerminated`, so [`crate::poll()`]
    /// wakes with `ETERM` as libzmq's does.
    pub fn get_events(&self) -> Result<i16> {
        let mut core = self.core();
        core.check_alive()?;
        // Clear the readiness descriptor first: any change after this point raises it again.
        core.shared.signal.drain_fd();
        // Pollers look at events before they sleep (see `SocketCore::note_wait`), and rely
        // on the I/O thread reading (`SocketCore::release_direct`).
        core.note_wait();
        // Messages it queues are counted below.
        let _ = core.release_direct();
        core.process_commands();
        // Detach pipes found dead just now, as recv does: an XPUB's detach queues the
        // departed subscriber's cancellations, which are then readable.
        core.reap();
        let core = &mut *core;
        let mut events = 0;
        if core.routing.can_recv(&mut core.pipes) {
            events |= POLLIN;
        }
        // Pipes it found read to their end go now, as libzmq's `has_in` ends them.
        core.reap();
        if core.routing.can_send(&mut core.pipes) {
            events |= POLLOUT;
        }
        Ok(events)
    }

    /// A file descriptor that becomes readable when this socket's events may have changed
    /// (`ZMQ_FD`); edge-triggered, see [`crate::poll()`] for the contract.
    pub fn get_fd(&self) -> Result<std::os::fd::RawFd> {
        let mut core = self.core();
        let queued = core.release_direct();
        let fd = core.shared.signal.fd()?.raw();
        if queued {
            // Messages that had arrived were queued just now: the descriptor says so.
            crate::pipe::Wake::wake(&*core.shared.signal);
        }
        Ok(fd)
    }

    /// The endpoint last bound or connected, resolved (`ZMQ_LAST_ENDPOINT`).
    pub fn get_last_endpoint(&self) -> Result<String> {
        Ok(self.core().last_endpoint.clone())
    }

    /// Sets an option by number (the C API's path; prefer the typed setters).
    /// Options of one socket type set on another fail with `InvalidArgument` (`EINVAL`), as
    /// in libzmq.
    pub fn set_option(&self, option: SocketOption, value: OptionValue) -> Result<()> {
        let kind = self.core().kind;
        if !option_applies(option, kind) {
            return Err(Error::invalid(format!("{option:?} does not apply to {kind:?} sockets")));
        }
        if let (SocketOption::ROUTING_ID | SocketOption::CONNECT_ROUTING_ID, OptionValue::Bytes(b)) =
            (option, &value)
        {
            // Any 1 to 255 bytes, as libzmq 4.3 takes them: zmq_setsockopt(3) reserves ids
            // that start with a zero byte, but libzmq does not refuse them, and random binary
            // ids start with one now and then. A ROUTER's generated ids skip those in use.
            if b.is_empty() {
                return Err(Error::invalid("a routing id is 1 to 255 bytes"));
            }
        }
        let mut core = self.core();
        let old_hwms = (core.options.sndhwm, core.options.rcvhwm);
        core.options.set(option, value)?;
        let core = &mut *core;
        if matches!(option, SocketOption::SNDHWM | SocketOption::RCVHWM) {
            core.rebound_pipes(old_hwms);
        }
        core.routing.configure(&core.options);
        Ok(())
    }

    /// Reads an option by number.
    pub fn get_option(&self, option: SocketOption) -> Result<OptionValue> {
        Ok(self.core().options.get(option))
    }

    /// SUB: receive messages starting with `topic` (empty: everything). Counted: each
    /// subscribe needs its own unsubscribe. XPUB with XPUB_MANUAL: subscribe the peer whose
    /// subscription message was received last.
    pub fn set_subscribe(&self, topic: &[u8]) -> Result<()> {
        self.core().change_subscription(topic, true)
    }

    /// Undoes one [`Socket::set_subscribe`].
    pub fn set_unsubscribe(&self, topic: &[u8]) -> Result<()> {
        self.core().change_subscription(topic, false)
    }

    /// MECHANISM: the security mechanism new connections use, as libzmq numbers it
    /// (`0` NULL, `1` PLAIN, `2` CURVE): the PLAIN or CURVE option set last decides.
    pub fn get_mechanism(&self) -> Result<i32> {
        use crate::codec::greeting::Mechanism;
        Ok(match self.core().options.mechanism {
            Mechanism::Null => 0,
            Mechanism::Plain => 1,
            Mechanism::Curve => 2,
        })
    }

    /// Same as [`Socket::set_routing_id`] (the `zmq` crate's name).
    pub fn set_identity(&self, id: &[u8]) -> Result<()> {
        self.set_routing_id(id)
    }

    /// Same as [`Socket::get_routing_id`] (the `zmq` crate's name).
    pub fn get_identity(&self) -> Result<Vec<u8>> {
        self.get_routing_id()
    }

    /// Makes blocking calls on this socket (send, receive, [`Socket::poll`], a proxy between
    /// such sockets) fail with [`Error::Interrupted`] (`EINTR`) when a signal handler runs
    /// while they wait, as libzmq's do: the handler sets a flag, the call returns, the
    /// program looks at the flag (the zguide's `s_interrupted` idiom, pyzmq's Ctrl-C).
    ///
    /// Off by default: a Rust program's own signal handling (SIGCHLD, SIGPROF, SIGTERM
    /// flags) then never surfaces as an error. The C API turns it on for every socket.
    pub fn set_interruptible(&self, on: bool) {
        self.core().set_interruptible(on);
    }

    /// Whether [`Socket::set_interruptible`] is on.
    pub fn is_interruptible(&self) -> bool {
        self.core().is_interruptible()
    }
}

macro_rules! define_accessors {
    ($($doc:literal, $field:ident, $set:ident, $get:ident, $konst:ident, $raw:literal, $kind:ident, $default:expr, $min:expr, $max:expr;)*) => {
        impl Socket {
            $(
                #[doc = concat!("Sets ", stringify!($konst), ": ", $doc)]
                pub fn $set(&self, value: define_accessors!(@arg $kind)) -> Result<()> {
                    self.set_option(SocketOption::$konst, define_accessors!(@wrap $kind, value))
                }

                #[doc = concat!("Reads ", stringify!($konst), ": ", $doc)]
                pub fn $get(&self) -> Result<define_accessors!(@ret $kind)> {
                    Ok(self.core().options.$field.clone())
                }
            )*
        }
    };
    (@arg i32) => { i32 };
    (@arg i64) => { i64 };
    (@arg bool) => { bool };
    (@arg bytes) => { &[u8] };
    (@arg key) => { &[u8] };
    (@ret bytes) => { Vec<u8> };
    (@ret key) => { Vec<u8> };
    (@ret $k:ident) => { define_accessors!(@arg $k) };
    (@wrap i32, $v:expr) => { OptionValue::Int($v) };
    (@wrap i64, $v:expr) => { OptionValue::Long($v) };
    (@wrap bool, $v:expr) => { OptionValue::Int($v as i32) };
    (@wrap bytes, $v:expr) => { OptionValue::Bytes($v.to_vec()) };
    (@wrap key, $v:expr) => { OptionValue::Bytes($v.to_vec()) };
}

for_each_option!(define_accessors);

/// Whether `option` may be set on a socket of `kind`. libzmq 4.3 handles the options of one
/// socket type in that type's `xsetsockopt` (REP is a ROUTER and REQ a DEALER underneath,
/// PUB an XPUB, SUB an XSUB), so elsewhere they fail with `EINVAL`; every other option
/// applies to every type.
pub(crate) fn option_applies(option: SocketOption, kind: SocketType) -> bool {
    use SocketType::*;
    type O = SocketOption;
    match option {
        O::ROUTER_MANDATORY | O::ROUTER_HANDOVER | O::ROUTER_NOTIFY => matches!(kind, ROUTER | REP),
        O::CONNECT_ROUTING_ID => matches!(kind, ROUTER | REP | STREAM),
        O::PROBE_ROUTER => matches!(kind, ROUTER | REP | DEALER | REQ),
        O::REQ_CORRELATE | O::REQ_RELAXED => kind == REQ,
        O::XPUB_VERBOSE
        | O::XPUB_VERBOSER
        | O::XPUB_NODROP
        | O::XPUB_MANUAL
        | O::XPUB_WELCOME_MSG
        | O::XPUB_MANUAL_LAST_VALUE => matches!(kind, XPUB | PUB),
        // sub_t::xsetsockopt takes only (UN)SUBSCRIBE: not SUB.
        O::ONLY_FIRST_SUBSCRIBE => matches!(kind, XPUB | PUB | XSUB),
        O::STREAM_NOTIFY => kind == STREAM,
        _ => true,
    }
}
