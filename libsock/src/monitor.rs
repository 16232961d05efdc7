//! Socket monitoring: connection events in libzmq's format, and a typed Rust API over it.
//!
//! [`Socket::monitor`] publishes events on an inproc endpoint for a PAIR socket to read, each
//! as two frames exactly as libzmq sends them: `u16` event + `u32` value (little-endian),
//! then the endpoint. [`Socket::monitor_events`] does that for you and yields
//! [`MonitorEvent`]s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::codec::null::PeerInfo;
use crate::error::{Error, Result};
use crate::mailbox::events::Sink;
pub use crate::mailbox::events::{
    SocketEvent, EVENT_ALL, PROTOCOL_ERROR_CRYPTOGRAPHIC, PROTOCOL_ERROR_INVALID_METADATA,
    PROTOCOL_ERROR_INVALID_SEQUENCE, PROTOCOL_ERROR_MALFORMED_COMMAND, PROTOCOL_ERROR_MECHANISM_MISMATCH,
    PROTOCOL_ERROR_UNEXPECTED_COMMAND, PROTOCOL_ERROR_UNSPECIFIED,
};
pub use crate::mailbox::events::{
    PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID, PROTOCOL_ERROR_ZAP_BAD_VERSION,
    PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE, PROTOCOL_ERROR_ZAP_MALFORMED_REPLY,
};
use crate::socket::inproc::Binder;
use crate::socket::{Socket, SocketShared};
use crate::transport::Endpoint;
use crate::SocketType;

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
            hello: None,
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
