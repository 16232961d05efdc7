//! The ZMTP session: handshake, commands and heartbeats of one connection, as a pure state
//! machine over the [`crate::codec`].
//!
//! It never touches a socket or reads the clock. The engine feeds it the bytes it read
//! ([`Session::decode`]) and the current time, writes out what it queued in
//! [`Session::out`], and calls [`Session::handle_timeout`] at [`Session::next_timeout`].
//! That makes handshake and heartbeat behaviour testable on virtual time.

mod heartbeat;
mod outbuf;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};

pub use heartbeat::{Beat, Heartbeat, HeartbeatConfig};
pub use outbuf::{OutBuf, ZERO_COPY_MIN};

use crate::codec::command::{self, Command};
use crate::codec::frame::{self, decode_header};
use crate::codec::greeting::{Greeting, Mechanism, GREETING_LEN};
use crate::codec::null::{self, PeerInfo};
use crate::codec::CodecError;
use crate::message::{Message, INLINE_CAPACITY};
use crate::socket_type::SocketType;

/// Without MAXMSGSIZE, frames announcing more than this (1 TiB) are refused: no machine could
/// hold one, and a 2^62-byte size field must close the connection, not wait for the body.
pub const FRAME_SIZE_LIMIT: u64 = 1 << 40;

/// What a session needs to know about its socket.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our socket type, announced in READY and checked against the peer's.
    pub socket_type: SocketType,
    /// The routing id we announce (may be empty).
    pub routing_id: Bytes,
    /// Frames larger than this close the connection (MAXMSGSIZE).
    pub max_msg_size: Option<u64>,
    /// Time allowed for the whole handshake (HANDSHAKE_IVL).
    pub handshake_ivl: Option<Duration>,
    /// Heartbeat settings.
    pub heartbeat: HeartbeatConfig,
}

/// Things the socket layer must hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The handshake completed.
    Ready(PeerInfo),
    /// The peer subscribed to a topic (SUBSCRIBE command).
    Subscribe(Bytes),
    /// The peer cancelled a subscription (CANCEL command).
    Cancel(Bytes),
}

/// Why a session ended. Each closes its connection; the `Display` text is what gets logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Malformed or disallowed bytes.
    #[error("protocol error: {0}")]
    Protocol(#[from] CodecError),
    /// The peer wants a security mechanism we do not run.
    #[error("peer uses the {0} mechanism, this socket uses NULL")]
    MechanismMismatch(&'static str),
    /// The peer sent ERROR.
    #[error("peer sent ERROR: {0}")]
    PeerError(String),
    /// HANDSHAKE_IVL elapsed before READY.
    #[error("handshake not completed within {0:?}")]
    HandshakeTimeout(Duration),
    /// No traffic after our PING within HEARTBEAT_TIMEOUT.
    #[error("heartbeat timed out: no traffic from peer")]
    HeartbeatTimeout,
    /// No traffic within the TTL the peer asked for.
    #[error("heartbeat TTL requested by peer expired")]
    TtlExpired,
    /// A message frame arrived before the handshake completed.
    #[error("message frame before the handshake completed")]
    DataBeforeReady,
    /// A command that is not valid now.
    #[error("unexpected command {0:?}")]
    UnexpectedCommand(String),
}

impl SessionError {
    /// Whether the failure happened during the handshake (for monitor events).
    pub fn is_handshake_failure(&self) -> bool {
        !matches!(self, SessionError::HeartbeatTimeout | SessionError::TtlExpired)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Greeting,
    Handshake,
    Active,
}

/// The protocol state of one connection.
pub struct Session {
    cfg: SessionConfig,
    phase: Phase,
    out: OutBuf,
    events: VecDeque<SessionEvent>,
    heartbeat: Heartbeat,
    handshake_deadline: Option<Instant>,
    peer_minor: u8,
    /// Bytes of input the next frame needs in total (to size reads).
    wanted: usize,
}

impl Session {
    /// Starts a session; our greeting is queued at once, before the peer's arrives.
    pub fn new(cfg: SessionConfig, now: Instant) -> Session {
        let mut out = OutBuf::default();
        Greeting::ours().encode(out.staging());
        Session {
            heartbeat: Heartbeat::new(cfg.heartbeat),
            handshake_deadline: cfg.handshake_ivl.map(|d| now + d),
            cfg,
            phase: Phase::Greeting,
            out,
            events: VecDeque::new(),
            peer_minor: 0,
            wanted: GREETING_LEN,
        }
    }

    /// Bytes waiting to be written to the peer.
    #[inline]
    pub fn out(&mut self) -> &mut OutBuf {
        &mut self.out
    }

    /// Whether the handshake is done and messages flow.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.phase == Phase::Active
    }

    /// The peer's ZMTP minor version (0 for a 3.0 peer), known after its greeting.
    pub fn peer_minor(&self) -> u8 {
        self.peer_minor
    }

    /// How many bytes of input the next step needs in all (a hint for sizing the read buffer).
    pub fn wanted(&self) -> usize {
        self.wanted
    }

    /// The next event for the socket layer.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Bytes arrived from the peer (any traffic proves it alive).
    #[inline]
    pub fn received(&mut self) {
        self.heartbeat.on_traffic();
    }

    /// Consumes input up to and including the next message frame and returns it; handles the
    /// greeting and commands on the way. `Ok(None)`: `input` holds no complete frame, or a
    /// command produced an event ([`Session::poll_event`]) that must be handled before the
    /// frames that follow it (a READY must attach the pipe before the first message).
    pub fn decode(&mut self, input: &mut BytesMut, now: Instant) -> Result<Option<Message>, SessionError> {
        loop {
            if self.phase == Phase::Greeting {
                match Greeting::decode(input)? {
                    None => return Ok(None),
                    Some(greeting) => {
                        input.advance(GREETING_LEN);
                        self.on_greeting(greeting)?;
                        continue;
                    }
                }
            }
            let limit = self.cfg.max_msg_size.unwrap_or(FRAME_SIZE_LIMIT);
            let Some(header) = decode_header(input, Some(limit))? else {
                self.wanted = 9;
                return Ok(None);
            };
            if !header.command && self.phase != Phase::Active {
                return Err(SessionError::DataBeforeReady);
            }
            if header.command && header.size > frame::MAX_COMMAND_SIZE {
                return Err(
                    CodecError::FrameTooLarge { size: header.size, max: frame::MAX_COMMAND_SIZE }.into()
                );
            }
            let size = header.size as usize;
            if input.len() < header.header_len + size {
                self.wanted = header.header_len + size;
                return Ok(None);
            }
            input.advance(header.header_len);
            if header.command {
                let body = input.split_to(size);
                self.on_command(&body, now)?;
                if !self.events.is_empty() {
                    return Ok(None);
                }
                continue;
            }
            let mut msg = if size <= INLINE_CAPACITY {
                let m = Message::from_slice(&input[..size]);
                input.advance(size);
                m
            } else {
                Message::from_bytes(input.split_to(size).freeze())
            };
            msg.set_more(header.more);
            return Ok(Some(msg));
        }
    }

    /// Queues one message frame for the peer. Only valid once [`Session::is_active`].
    #[inline]
    pub fn send(&mut self, msg: &Message) {
        let more = msg.get_more();
        match msg.shared() {
            Some(body) if body.len() >= ZERO_COPY_MIN => {
                frame::encode_header(self.out.staging(), more, false, body.len());
                self.out.push_shared(body.clone());
            }
            _ => frame::encode_frame(self.out.staging(), more, false, msg),
        }
    }

    /// Queues a subscription change: a command for ZMTP 3.1 peers, a message for 3.0 peers.
    pub fn send_subscription(&mut self, subscribe: bool, topic: &[u8]) {
        let out = self.out.staging();
        if self.peer_minor >= 1 {
            if subscribe {
                command::encode_subscribe(out, topic);
            } else {
                command::encode_cancel(out, topic);
            }
        } else {
            let mut body = Vec::with_capacity(topic.len() + 1);
            body.push(u8::from(subscribe));
            body.extend_from_slice(topic);
            frame::encode_frame(out, false, false, &body);
        }
    }

    /// Runs the timers due at `now`: handshake deadline, heartbeats.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if self.phase != Phase::Active {
            return match self.handshake_deadline {
                Some(d) if d <= now => {
                    Err(SessionError::HandshakeTimeout(self.cfg.handshake_ivl.unwrap_or_default()))
                }
                _ => Ok(()),
            };
        }
        match self.heartbeat.poll(now) {
            Beat::Idle => Ok(()),
            Beat::Ping(ttl) => {
                command::encode_ping(self.out.staging(), ttl, &[]);
                Ok(())
            }
            Beat::TimedOut => Err(SessionError::HeartbeatTimeout),
            Beat::TtlExpired => Err(SessionError::TtlExpired),
        }
    }

    /// When [`Session::handle_timeout`] must next be called.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Active {
            self.heartbeat.next_deadline()
        } else {
            self.handshake_deadline
        }
    }

    fn on_greeting(&mut self, greeting: Greeting) -> Result<(), SessionError> {
        if greeting.mechanism != Mechanism::Null {
            return Err(SessionError::MechanismMismatch(greeting.mechanism.name()));
        }
        self.peer_minor = if greeting.major > 3 { 1 } else { greeting.minor };
        null::encode_ready(self.out.staging(), self.cfg.socket_type, &self.cfg.routing_id);
        self.phase = Phase::Handshake;
        Ok(())
    }

    fn on_command(&mut self, body: &[u8], now: Instant) -> Result<(), SessionError> {
        let cmd = command::parse_command(body)?;
        match (self.phase, cmd) {
            (_, Command::Error { reason }) => {
                Err(SessionError::PeerError(String::from_utf8_lossy(reason).into_owned()))
            }
            (Phase::Handshake, Command::Ready(props)) => {
                let peer = null::check_ready(self.cfg.socket_type, &props)?;
                self.phase = Phase::Active;
                self.heartbeat.start(now);
                self.events.push_back(SessionEvent::Ready(peer));
                Ok(())
            }
            (Phase::Active, Command::Ping { ttl_deciseconds, context }) => {
                command::encode_pong(self.out.staging(), context);
                self.heartbeat.on_ping(ttl_deciseconds, now);
                Ok(())
            }
            (Phase::Active, Command::Pong { .. }) => Ok(()),
            (Phase::Active, Command::Subscribe(topic)) => {
                self.events.push_back(SessionEvent::Subscribe(Bytes::copy_from_slice(topic)));
                Ok(())
            }
            (Phase::Active, Command::Cancel(topic)) => {
                self.events.push_back(SessionEvent::Cancel(Bytes::copy_from_slice(topic)));
                Ok(())
            }
            (_, other) => Err(SessionError::UnexpectedCommand(command_name(&other))),
        }
    }
}

fn command_name(cmd: &Command<'_>) -> String {
    match cmd {
        Command::Ready(_) => "READY".into(),
        Command::Error { .. } => "ERROR".into(),
        Command::Ping { .. } => "PING".into(),
        Command::Pong { .. } => "PONG".into(),
        Command::Subscribe(_) => "SUBSCRIBE".into(),
        Command::Cancel(_) => "CANCEL".into(),
        Command::Other { name, .. } => String::from_utf8_lossy(name).into_owned(),
    }
}

#[cfg(test)]
mod tests;
