//! Socket events in libzmq's numbering, and the slot through which a socket's I/O threads
//! emit them to its monitor (the public monitor API is `crate::monitor`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

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

/// `ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED`.
pub const PROTOCOL_ERROR_UNSPECIFIED: u32 = 0x1000_0000;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`.
pub const PROTOCOL_ERROR_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`.
pub const PROTOCOL_ERROR_INVALID_SEQUENCE: u32 = 0x1000_0002;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED`.
pub const PROTOCOL_ERROR_MALFORMED_COMMAND: u32 = 0x1000_0011;
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

pub(crate) struct Sink {
    pub(crate) mask: u16,
    /// Receives the pipe of the PAIR socket that connects to the monitor endpoint.
    pub(crate) inbox: Arc<SocketShared>,
    pub(crate) pipe: Option<PipeEnd>,
    pub(crate) name: String,
    pub(crate) id: u64,
}

impl MonitorSlot {
    /// Sends an event to the monitor, if one listens for it. Dropped when its reader lags.
    pub(crate) fn emit(&self, event: SocketEvent, value: u32, endpoint: &str) {
        if !self.enabled.load(Ordering::Acquire) {
            return;
        }
        let mut sink = self.sink.lock();
        let Some(sink) = sink.as_mut() else { return };
        if sink.mask & event.to_raw() == 0 {
            return;
        }
        sink.adopt();
        if let Some(pipe) = &mut sink.pipe {
            if pipe.tx.can_write() {
                let mut head = Vec::with_capacity(6);
                head.extend_from_slice(&event.to_raw().to_le_bytes());
                head.extend_from_slice(&value.to_le_bytes());
                let mut first = Message::from(head);
                first.set_more(true);
                pipe.tx.write(first);
                pipe.tx.write(Message::from(endpoint));
                pipe.tx.flush();
            }
        }
    }

    /// Stops monitoring (sends MONITOR_STOPPED first). Returns the inproc name to release.
    pub(crate) fn stop(&self) -> Option<(String, u64)> {
        self.emit(SocketEvent::MonitorStopped, 0, "");
        self.enabled.store(false, Ordering::Release);
        let mut sink = self.sink.lock().take()?;
        if let Some(mut p) = sink.pipe.take() {
            p.close(-1);
        }
        Some((sink.name, sink.id))
    }
}

impl Sink {
    /// Takes the newest PAIR connection to the monitor endpoint.
    fn adopt(&mut self) {
        for cmd in self.inbox.take_commands() {
            if let SocketCmd::Attach { end, .. } = cmd {
                self.set_pipe(end);
            }
        }
    }

    pub(crate) fn set_pipe(&mut self, end: PipeEnd) {
        if let Some(mut old) = self.pipe.replace(end) {
            old.close(0);
        }
    }
}
