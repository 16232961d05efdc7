//! Socket monitoring: connection events in libzmq's format, and a typed Rust API over it.
//!
//! [`Socket::monitor`] publishes events on an inproc endpoint for a PAIR socket to read, each
//! as two frames exactly as libzmq sends them: `u16` event + `u32` value (little-endian),
//! then the endpoint. [`Socket::monitor_events`] does that for you and yields
//! [`MonitorEvent`]s.
//!
//! With the `draft` feature, `Socket::monitor_versioned` is libzmq's draft
//! `zmq_socket_monitor_versioned`: version 2 events carry 64-bit numbers, any number of
//! values and both ends of a connection, through a PAIR, PUB or PUSH monitor socket
//! (the frames: `mailbox/monitor_frames.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::codec::null::PeerInfo;
use crate::error::{Error, Result};
#[cfg(feature = "draft")]
use crate::mailbox::events::EventAddrs;
use crate::mailbox::events::{Sink, SinkKind};
pub use crate::mailbox::events::{
    SocketEvent, EVENT_ALL, PROTOCOL_ERROR_CRYPTOGRAPHIC, PROTOCOL_ERROR_INVALID_METADATA,
    PROTOCOL_ERROR_INVALID_SEQUENCE, PROTOCOL_ERROR_MALFORMED_COMMAND, PROTOCOL_ERROR_MALFORMED_ERROR,
    PROTOCOL_ERROR_MALFORMED_HELLO, PROTOCOL_ERROR_MALFORMED_INITIATE, PROTOCOL_ERROR_MALFORMED_MESSAGE,
    PROTOCOL_ERROR_MALFORMED_READY, PROTOCOL_ERROR_MALFORMED_WELCOME, PROTOCOL_ERROR_MECHANISM_MISMATCH,
    PROTOCOL_ERROR_UNEXPECTED_COMMAND, PROTOCOL_ERROR_UNSPECIFIED,
};
pub use crate::mailbox::events::{
    PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID, PROTOCOL_ERROR_ZAP_BAD_VERSION,
    PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE, PROTOCOL_ERROR_ZAP_MALFORMED_REPLY,
};
#[cfg(feature = "draft")]
pub use crate::mailbox::{events::EVENT_PIPES_STATS, monitor_frames::MonitorEventV2};
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
        self.start_monitor(endpoint, u64::from(events as u16), 1, SinkKind::Pair)
    }

    /// libzmq's draft `zmq_socket_monitor_versioned`: as [`Socket::monitor`], in event
    /// format `version` (1 as [`Socket::monitor`]; 2 is `u64` event, value count, `u64`
    /// values, local and remote endpoint, read with [`MonitorEventV2::parse`]) through a
    /// monitor socket of `socket_type` PAIR, PUB or PUSH (read it with PAIR, SUB or PULL).
    /// `events` may include [`EVENT_PIPES_STATS`] in version 2.
    ///
    /// Errors as libzmq's: `EINVAL` for events beyond the first 16 in version 1 or another
    /// socket type, `EPROTONOSUPPORT` for a non-inproc endpoint. A version other than 1 and
    /// 2 is `EINVAL` (libzmq 4.3 accepts it and then sends nothing).
    #[cfg(feature = "draft")]
    pub fn monitor_versioned(
        &self,
        endpoint: &str,
        events: u64,
        version: u8,
        socket_type: SocketType,
    ) -> Result<()> {
        if (version == 1 && events >> 16 != 0) || !(1..=2).contains(&version) {
            return Err(Error::InvalidArgument(format!(
                "monitor event version {version} with events {events:#x}"
            )));
        }
        let kind = match socket_type {
            SocketType::PAIR => Some(SinkKind::Pair),
            SocketType::PUB => Some(SinkKind::Pub),
            SocketType::PUSH => Some(SinkKind::Push),
            _ => None,
        };
        match kind {
            Some(kind) => self.start_monitor(endpoint, events, version, kind),
            None if endpoint.is_empty() => self.start_monitor(endpoint, events, version, SinkKind::Pair),
            None => {
                // libzmq checks the endpoint and stops the monitor running before the type.
                let Endpoint::Inproc(_) = Endpoint::parse(endpoint)? else {
                    return Err(not_inproc(endpoint));
                };
                self.start_monitor("", 0, version, SinkKind::Pair)?;
                Err(Error::InvalidArgument(format!(
                    "monitor socket type {socket_type}: not PAIR, PUB or PUSH"
                )))
            }
        }
    }

    /// libzmq's draft `zmq_socket_monitor_pipes_stats`: one [`EVENT_PIPES_STATS`] event per
    /// pipe on this socket's version 2 monitor, with two values, the messages queued outbound
    /// and inbound as each direction's high water mark counts them (the reader's progress
    /// counts in steps of the low water mark, as in libzmq), and the connection's local and
    /// remote endpoints (empty for inproc).
    ///
    /// `EINVAL` when no monitor takes that event, `EAGAIN` when the socket has no pipes.
    #[cfg(feature = "draft")]
    pub fn monitor_pipes_stats(&self) -> Result<()> {
        let mut core = self.core();
        core.check_alive()?;
        let shared = core.shared().clone();
        if !shared.monitor.wants(EVENT_PIPES_STATS) {
            return Err(Error::InvalidArgument("no monitor takes ZMQ_EVENT_PIPES_STATS".into()));
        }
        let stats = core.pipe_stats();
        if stats.is_empty() {
            return Err(Error::WouldBlock);
        }
        for ((outbound, inbound), ends) in stats {
            let addrs = EventAddrs { name: &ends.0, local: &ends.0, remote: &ends.1 };
            shared.monitor.emit_values(EVENT_PIPES_STATS, &[outbound, inbound], addrs);
        }
        Ok(())
    }

    fn start_monitor(&self, endpoint: &str, events: u64, version: u8, kind: SinkKind) -> Result<()> {
        let core = self.core();
        let shared = core.shared();
        if endpoint.is_empty() {
            if let Some((name, id)) = shared.monitor.stop() {
                core.context().inproc.unbind(&name, id);
            }
            return Ok(());
        }
        let Endpoint::Inproc(name) = Endpoint::parse(endpoint)? else {
            return Err(not_inproc(endpoint));
        };
        if let Some((name, id)) = shared.monitor.stop() {
            core.context().inproc.unbind(&name, id);
        }
        let inbox = Arc::new(SocketShared::new());
        let id = core.context().next_endpoint_id();
        let socket_type = match kind {
            SinkKind::Pair => SocketType::PAIR,
            SinkKind::Pub => SocketType::PUB,
            SinkKind::Push => SocketType::PUSH,
        };
        let binder = Binder {
            shared: inbox.clone(),
            me: PeerInfo { socket_type, identity: bytes::Bytes::new() },
            sndhwm: 1000,
            rcvhwm: 1000,
            id,
            hello: None,
        };
        let pending = core.context().inproc.bind(&name, binder)?;
        let mut sink = Sink { mask: events, version, kind, inbox, readers: Vec::new(), next: 0, name, id };
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

fn not_inproc(endpoint: &str) -> Error {
    Error::ProtocolNotSupported(format!("monitor endpoints must be inproc: {endpoint}"))
}
