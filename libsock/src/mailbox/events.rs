//! Socket events in libzmq's numbering, and the slot through which a socket's I/O threads
//! emit them to its monitor (the public monitor API is `crate::monitor`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::monitor_frames as frames;
use super::{SocketCmd, SocketShared};
use crate::message::Message;
use crate::pipe::PipeEnd;

macro_rules! events {
    ($($(#[$doc:meta])* $name:ident = $raw:literal,)*) => {
        /// A socket event (`ZMQ_EVENT_*`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum SocketEvent { $($(#[$doc])* $name,)* }

        impl SocketEvent {
            /// libzmq's numeric value.
            pub fn to_raw(self) -> u16 {
                match self { $(SocketEvent::$name => $raw,)* }
            }

            /// The event with libzmq's numeric value `raw`.
            pub fn from_raw(raw: u16) -> Option<SocketEvent> {
                match raw { $($raw => Some(SocketEvent::$name),)* _ => None }
            }

            /// Every event, as a mask for `Socket::monitor` ([`EVENT_ALL`]): the `zmq`
            /// crate's `SocketEvent::ALL as i32` reads the same.
            pub const ALL: i32 = EVENT_ALL;
        }
    };
}

events! {
    /// A connect completed (value: the file descriptor).
    Connected = 0x0001,
    /// A connect is in progress (value: errno).
    ConnectDelayed = 0x0002,
    /// A reconnect is scheduled (value: the interval in ms).
    ConnectRetried = 0x0004,
    /// Listening (value: the file descriptor).
    Listening = 0x0008,
    /// A bind failed (value: errno).
    BindFailed = 0x0010,
    /// A connection was accepted (value: the file descriptor).
    Accepted = 0x0020,
    /// An accept failed (value: errno).
    AcceptFailed = 0x0040,
    /// A listener closed (value: the file descriptor).
    Closed = 0x0080,
    /// Closing failed (value: errno).
    CloseFailed = 0x0100,
    /// A connection broke or was closed (value: the file descriptor).
    Disconnected = 0x0200,
    /// Monitoring stopped.
    MonitorStopped = 0x0400,
    /// A handshake failed without details (a timeout, or the peer hung up).
    HandshakeFailedNoDetail = 0x0800,
    /// A ZMTP handshake completed.
    HandshakeSucceeded = 0x1000,
    /// A handshake failed on a protocol error (value: `ZMQ_PROTOCOL_ERROR_*`).
    HandshakeFailedProtocol = 0x2000,
    /// A handshake failed on authentication (value: the status code).
    HandshakeFailedAuth = 0x4000,
}

/// Every event (`ZMQ_EVENT_ALL`).
pub const EVENT_ALL: i32 = 0xFFFF;

/// `ZMQ_EVENT_PIPES_STATS` (draft, version 2 only): the queue sizes of each pipe, asked for
/// with `Socket::monitor_pipes_stats`.
#[cfg(feature = "draft")]
pub const EVENT_PIPES_STATS: u64 = 0x10000;

/// `ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED`.
pub const PROTOCOL_ERROR_UNSPECIFIED: u32 = 0x1000_0000;
/// A `ws://` peer's HTTP upgrade failed (libzmq's `ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED`).
pub const PROTOCOL_ERROR_WS_UNSPECIFIED: u32 = 0x3000_0000;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`.
pub const PROTOCOL_ERROR_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`.
pub const PROTOCOL_ERROR_INVALID_SEQUENCE: u32 = 0x1000_0002;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED`.
pub const PROTOCOL_ERROR_MALFORMED_COMMAND: u32 = 0x1000_0011;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE`: a CURVE MESSAGE too short to hold a box.
pub const PROTOCOL_ERROR_MALFORMED_MESSAGE: u32 = 0x1000_0012;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO`: a PLAIN or CURVE HELLO of the wrong size
/// or version.
pub const PROTOCOL_ERROR_MALFORMED_HELLO: u32 = 0x1000_0013;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE`: a CURVE INITIATE too short.
pub const PROTOCOL_ERROR_MALFORMED_INITIATE: u32 = 0x1000_0014;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR`: an ERROR whose reason is cut off.
pub const PROTOCOL_ERROR_MALFORMED_ERROR: u32 = 0x1000_0015;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY`: a CURVE READY too short.
pub const PROTOCOL_ERROR_MALFORMED_READY: u32 = 0x1000_0016;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME`: a PLAIN WELCOME with data, a CURVE one
/// of the wrong size.
pub const PROTOCOL_ERROR_MALFORMED_WELCOME: u32 = 0x1000_0017;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA`.
pub const PROTOCOL_ERROR_INVALID_METADATA: u32 = 0x1000_0018;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`.
pub const PROTOCOL_ERROR_CRYPTOGRAPHIC: u32 = 0x1100_0001;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`.
pub const PROTOCOL_ERROR_MECHANISM_MISMATCH: u32 = 0x1100_0002;
/// `ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY`: the handler's reply has too few or too many frames.
pub const PROTOCOL_ERROR_ZAP_MALFORMED_REPLY: u32 = 0x2000_0001;
/// `ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID`: the reply names another request.
pub const PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID: u32 = 0x2000_0002;
/// `ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION`: the reply's version is not "1.0".
pub const PROTOCOL_ERROR_ZAP_BAD_VERSION: u32 = 0x2000_0003;
/// `ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE`: the status is not 200, 300, 400 or 500.
pub const PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE: u32 = 0x2000_0004;

/// Where a socket's events go, shared with its I/O threads.
#[derive(Default)]
pub(crate) struct MonitorSlot {
    pub(crate) enabled: AtomicBool,
    pub(crate) sink: Mutex<Option<Sink>>,
}

/// The endpoints an event concerns, as libzmq's `endpoint_uri_pair_t`: `name` is what the
/// version 1 format carries (the bound or dialed endpoint); `local` and `remote` are the two
/// ends version 2 carries (`""` where there is none yet, as for a listener or a connect in
/// progress).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventAddrs<'a> {
    pub(crate) name: &'a str,
    pub(crate) local: &'a str,
    pub(crate) remote: &'a str,
}

impl<'a> EventAddrs<'a> {
    /// A bound endpoint with no connection: `name` local, nothing remote.
    pub(crate) fn bound(name: &'a str) -> EventAddrs<'a> {
        EventAddrs { name, local: name, remote: "" }
    }
}

/// The ends of one connection as its events name them, kept by its I/O thread.
pub(crate) struct ConnEnds {
    /// The dialed endpoint, or the listener's (version 1's only endpoint).
    name: String,
    local: String,
    remote: String,
    accepted: bool,
}

impl ConnEnds {
    /// A connection to dial: no local end until it connects.
    pub(crate) fn dialed(name: String) -> ConnEnds {
        ConnEnds { remote: name.clone(), name, local: String::new(), accepted: false }
    }

    /// A connection accepted by listener `listener` from `peer`, here at `local`.
    pub(crate) fn accepted(listener: String, local: String, peer: String) -> ConnEnds {
        ConnEnds { name: listener, local, remote: peer, accepted: true }
    }

    /// A dialed connection is up, here at `local`.
    pub(crate) fn connected(&mut self, local: String) {
        self.local = local;
    }

    /// A dialed connection went down: retries and closes name no local end (libzmq's
    /// `make_unconnected_connect_endpoint_pair`).
    pub(crate) fn unlinked(&mut self) {
        if !self.accepted {
            self.local.clear();
        }
    }

    pub(crate) fn addrs(&self) -> EventAddrs<'_> {
        EventAddrs { name: &self.name, local: &self.local, remote: &self.remote }
    }
}

/// How the monitor endpoint hands events on (`zmq_socket_monitor_versioned`'s type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "draft"), allow(dead_code))]
pub(crate) enum SinkKind {
    /// PAIR: the newest connected reader gets every event.
    Pair,
    /// PUB: every connected reader subscribed to a prefix of the event's first frame.
    Pub,
    /// PUSH: each event to one reader with room, in turn.
    Push,
}

pub(crate) struct Sink {
    pub(crate) mask: u64,
    /// 1: libzmq's original two frames; 2: its draft format ([`frames`]).
    pub(crate) version: u8,
    pub(crate) kind: SinkKind,
    /// Receives the pipes of the sockets that connect to the monitor endpoint.
    pub(crate) inbox: Arc<SocketShared>,
    pub(crate) readers: Vec<Reader>,
    /// PUSH: the reader to try first.
    pub(crate) next: usize,
    pub(crate) name: String,
    pub(crate) id: u64,
}

/// One socket connected to the monitor endpoint.
pub(crate) struct Reader {
    pipe: PipeEnd,
    /// PUB: the prefixes it subscribed to.
    prefixes: Vec<Vec<u8>>,
}

impl MonitorSlot {
    /// Sends an event about a bound endpoint (or none) to the monitor, if one listens for it.
    pub(crate) fn emit(&self, event: SocketEvent, value: u32, endpoint: &str) {
        self.emit_at(event, value, EventAddrs::bound(endpoint));
    }

    /// Sends an event about `addrs` to the monitor, if one listens for it.
    pub(crate) fn emit_at(&self, event: SocketEvent, value: u32, addrs: EventAddrs<'_>) {
        self.emit_values(u64::from(event.to_raw()), &[u64::from(value)], addrs);
    }

    /// Sends event `raw` with `values` (only version 2 carries more than one). Dropped for
    /// a reader that lags.
    pub(crate) fn emit_values(&self, raw: u64, values: &[u64], addrs: EventAddrs<'_>) {
        if !self.enabled.load(Ordering::Acquire) {
            return;
        }
        let mut sink = self.sink.lock();
        let Some(sink) = sink.as_mut() else { return };
        if sink.mask & raw == 0 {
            return;
        }
        sink.adopt();
        let frames = match sink.version {
            1 => frames::v1(raw as u16, values.first().copied().unwrap_or(0) as u32, addrs.name),
            _ => frames::v2(raw, values, addrs.local, addrs.remote),
        };
        sink.send(frames);
    }

    /// Whether a monitor listens for event `raw`.
    #[cfg(feature = "draft")]
    pub(crate) fn wants(&self, raw: u64) -> bool {
        self.enabled.load(Ordering::Acquire) && self.sink.lock().as_ref().is_some_and(|s| s.mask & raw != 0)
    }

    /// Stops monitoring (sends MONITOR_STOPPED first). Returns the inproc name to release.
    pub(crate) fn stop(&self) -> Option<(String, u64)> {
        self.emit(SocketEvent::MonitorStopped, 0, "");
        self.enabled.store(false, Ordering::Release);
        let mut sink = self.sink.lock().take()?;
        for mut r in sink.readers.drain(..) {
            r.pipe.close(-1);
        }
        Some((sink.name, sink.id))
    }
}

impl Sink {
    /// Takes the sockets newly connected to the monitor endpoint, and (PUB) their
    /// subscriptions; forgets those that went away.
    fn adopt(&mut self) {
        for cmd in self.inbox.take_commands() {
            if let SocketCmd::Attach { end, .. } = cmd {
                self.set_pipe(end);
            }
        }
        self.readers.retain_mut(|r| !r.pipe.tx.is_reader_gone());
        if self.kind == SinkKind::Pub {
            for r in &mut self.readers {
                r.read_subscriptions();
            }
        }
    }

    pub(crate) fn set_pipe(&mut self, pipe: PipeEnd) {
        if self.kind == SinkKind::Pair {
            for mut old in self.readers.drain(..) {
                old.pipe.close(0);
            }
        }
        self.readers.push(Reader { pipe, prefixes: Vec::new() });
    }

    fn send(&mut self, frames: Vec<Message>) {
        match self.kind {
            SinkKind::Pair => {
                if let Some(r) = self.readers.last_mut() {
                    r.try_send(&frames);
                }
            }
            SinkKind::Pub => {
                for r in self.readers.iter_mut().filter(|r| r.subscribed(&frames[0])) {
                    r.try_send(&frames);
                }
            }
            SinkKind::Push => {
                let n = self.readers.len();
                for i in 0..n {
                    let at = (self.next + i) % n;
                    if self.readers[at].try_send(&frames) {
                        self.next = (at + 1) % n;
                        break;
                    }
                }
            }
        }
    }
}

impl Reader {
    /// Writes the event if the reader has room; false if it lags.
    fn try_send(&mut self, frames: &[Message]) -> bool {
        if !self.pipe.tx.can_write() {
            return false;
        }
        for (i, f) in frames.iter().enumerate() {
            let mut f = f.clone();
            f.set_more(i + 1 < frames.len());
            self.pipe.tx.write(f);
        }
        self.pipe.tx.flush();
        true
    }

    /// SUB's subscribe (`\x01prefix`) and unsubscribe (`\x00prefix`) messages.
    fn read_subscriptions(&mut self) {
        while let Some(m) = self.pipe.rx.read() {
            match m.first() {
                Some(1) => self.prefixes.push(m[1..].to_vec()),
                Some(0) => {
                    if let Some(i) = self.prefixes.iter().position(|p| *p == m[1..]) {
                        self.prefixes.swap_remove(i);
                    }
                }
                _ => {}
            }
        }
    }

    fn subscribed(&self, head: &[u8]) -> bool {
        self.prefixes.iter().any(|p| head.starts_with(p))
    }
}
