//! Socket monitoring: connection events in libzmq's format, and a typed Rust API over it.
//!
//! [`Socket::monitor`] publishes events on an inproc endpoint for a PAIR socket to read, each
//! as two frames exactly as libzmq sends them: `u16` event + `u32` value (little-endian),
//! then the endpoint. [`Socket::monitor_events`] does that for you and yields
//! [`MonitorEvent`]s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::codec::null::PeerInfo;
use crate::error::{Error, Result};
use crate::message::Message;
use crate::pipe::PipeEnd;
use crate::socket::inproc::Binder;
use crate::socket::{Socket, SocketCmd, SocketShared};
use crate::transport::Endpoint;
use crate::SocketType;

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

/// One event, as read from a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorEvent {
    /// What happened.
    pub event: SocketEvent,
    /// The event's value (a descriptor, errno, interval or error code).
    pub value: u32,
    /// The endpoint it concerns.
    pub endpoint: String,
}

impl MonitorEvent {
    /// Parses the two frames of libzmq's monitor format.
    pub fn parse(frames: &[Vec<u8>]) -> Option<MonitorEvent> {
        let [head, endpoint] = frames else { return None };
        let head: &[u8; 6] = head.as_slice().try_into().ok()?;
        let event = SocketEvent::from_raw(u16::from_le_bytes([head[0], head[1]]))?;
        let value = u32::from_le_bytes([head[2], head[3], head[4], head[5]]);
        Some(MonitorEvent { event, value, endpoint: String::from_utf8_lossy(endpoint).into_owned() })
    }
}

/// Where a socket's events go, shared with its I/O threads.
#[derive(Default)]
pub(crate) struct MonitorSlot {
    enabled: AtomicBool,
    sink: Mutex<Option<Sink>>,
}

struct Sink {
    mask: u16,
    /// Receives the pipe of the PAIR socket that connects to the monitor endpoint.
    inbox: Arc<SocketShared>,
    pipe: Option<PipeEnd>,
    name: String,
    id: u64,
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

    fn set_pipe(&mut self, end: PipeEnd) {
        if let Some(mut old) = self.pipe.replace(end) {
            old.close(0);
        }
    }
}

/// A stream of typed events from [`Socket::monitor_events`].
pub struct Monitor {
    pair: Socket,
}

impl Monitor {
    /// The next event, waiting up to `timeout_ms` (-1 = forever).
    pub fn recv_event(&self, timeout_ms: i32) -> Result<MonitorEvent> {
        self.pair.set_rcvtimeo(timeout_ms)?;
        loop {
            let frames = self.pair.recv_multipart(0)?;
            if let Some(event) = MonitorEvent::parse(&frames) {
                return Ok(event);
            }
        }
    }
}

impl Iterator for Monitor {
    type Item = MonitorEvent;

    /// Blocks for the next event; ends when monitoring stops.
    fn next(&mut self) -> Option<MonitorEvent> {
        self.recv_event(-1).ok().filter(|e| e.event != SocketEvent::MonitorStopped)
    }
}

impl Socket {
    /// Publishes this socket's events (a mask of [`SocketEvent`] values, or [`EVENT_ALL`]) on
    /// `endpoint`, which must be `inproc://`; connect a PAIR socket there to read them in
    /// libzmq's format. An empty `endpoint` stops monitoring.
    pub fn monitor(&self, endpoint: &str, events: i32) -> Result<()> {
        let core = self.core();
        let shared = core.shared();
        if let Some((name, id)) = shared.monitor.stop() {
            core.context().inproc.unbind(&name, id);
        }
        if endpoint.is_empty() {
            return Ok(());
        }
        let Endpoint::Inproc(name) = Endpoint::parse(endpoint)? else {
            return Err(Error::ProtocolNotSupported(format!("monitor endpoints must be inproc: {endpoint}")));
        };
        let inbox = Arc::new(SocketShared::new());
        let id = core.context().next_endpoint_id();
        let binder = Binder {
            shared: inbox.clone(),
            me: PeerInfo { socket_type: SocketType::PAIR, identity: bytes::Bytes::new() },
            sndhwm: 1000,
            rcvhwm: 1000,
            id,
        };
        let pending = core.context().inproc.bind(&name, binder)?;
        let mut sink = Sink { mask: events as u16, inbox, pipe: None, name, id };
        for p in pending {
            sink.set_pipe(p.end);
        }
        *shared.monitor.sink.lock() = Some(sink);
        shared.monitor.enabled.store(true, Ordering::Release);
        Ok(())
    }

    /// Monitors this socket's `events` and returns an iterator of typed events.
    ///
    /// ```
    /// use libsock::{Context, SocketEvent, EVENT_ALL, PULL};
    /// let ctx = Context::new();
    /// let pull = ctx.socket(PULL)?;
    /// let events = pull.monitor_events(EVENT_ALL)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// assert_eq!(events.recv_event(1000)?.event, SocketEvent::Listening);
    /// # Ok::<(), libsock::Error>(())
    /// ```
    pub fn monitor_events(&self, events: i32) -> Result<Monitor> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("inproc://libsock.monitor.{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.monitor(&name, events)?;
        let pair = Socket::new(self.core().context().clone(), SocketType::PAIR)?;
        pair.set_linger(0)?;
        pair.connect(&name)?;
        Ok(Monitor { pair })
    }
}
