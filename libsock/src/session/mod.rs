//! The ZMTP session: handshake, commands and heartbeats of one connection, as a pure state
//! machine over the [`crate::codec`].
//!
//! It never touches a socket or reads the clock. The engine feeds it the bytes it read
//! ([`Session::decode`]; a large body it reads in place, `Session::body_to_fill`) and the
//! current time, writes out what it queued in [`Session::out`], and calls
//! [`Session::handle_timeout`] at [`Session::next_timeout`].
//! That makes handshake and heartbeat behaviour testable on virtual time.

mod heartbeat;
mod large_body;
pub mod mechanism;
mod outbuf;
mod reply_envelope;
mod shared_cipher;
mod short_frames;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};

pub use heartbeat::{Beat, Heartbeat, HeartbeatConfig};
pub(crate) use large_body::BodyFill;
pub use mechanism::{CookieJar, Security, ZapReply, ZapRequest};
pub use outbuf::{OutBuf, ZERO_COPY_MIN};
pub use reply_envelope::ReplyEnvelope;
pub use shared_cipher::{CurveOut, SharedCurveIn, SharedCurveOut};
pub(crate) use short_frames::FrameSink;

use mechanism::{Local, Mech, Step};

use crate::codec::command::{self, Command};
use crate::codec::curve::{FLAG_COMMAND, FLAG_MORE, MESSAGE_PLAINTEXT};
use crate::codec::frame::{self, decode_header};
use crate::codec::greeting::{Greeting, GreetingSender, GREETING_LEN};
use crate::codec::null::{self, PeerInfo};
use crate::codec::properties::parse_properties;
use crate::codec::CodecError;
use crate::message::{Message, Metadata};
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
    /// The security mechanism and its credentials.
    pub security: Security,
    /// Application metadata (draft ZMQ_METADATA, `X-Name` properties), already encoded; it
    /// follows Socket-Type and Identity in every mechanism's READY/INITIATE.
    pub app_metadata: Bytes,
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
    /// A server must ask ZAP about the peer, then call [`Session::zap_reply`].
    Zap(ZapRequest),
}

/// Why a session ended. Each closes its connection; the `Display` text is what gets logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Malformed or disallowed bytes.
    #[error("protocol error: {0}")]
    Protocol(#[from] CodecError),
    /// The peer wants a security mechanism we do not run.
    #[error("peer uses the {peer} mechanism, this socket uses {ours}")]
    MechanismMismatch {
        /// The peer's mechanism.
        peer: &'static str,
        /// Ours.
        ours: &'static str,
    },
    /// ZAP refused the peer, with this status code; an ERROR was queued for it (not for the
    /// temporary "300").
    #[error("authentication refused by ZAP (status {0})")]
    AuthFailed(String),
    /// A plain message frame on a CURVE connection: dropped, never delivered.
    #[error("unencrypted frame on a CURVE connection")]
    Unencrypted,
    /// No ZAP handler is bound, and the peer speaks PLAIN or ZAP_ENFORCE_DOMAIN is set: the
    /// peer is dropped without an ERROR, as libzmq does (monitor: HANDSHAKE_FAILED_NO_DETAIL
    /// with EFAULT).
    #[error("no ZAP handler bound to check this peer (PLAIN, or ZAP_ENFORCE_DOMAIN): peer dropped")]
    ZapUnavailable,
    /// The ZAP handler's reply was malformed (libzmq's `ZMQ_PROTOCOL_ERROR_ZAP_*` code): the
    /// peer is dropped without an ERROR.
    #[error("malformed ZAP reply (protocol error {0:#x})")]
    ZapMalformed(u32),
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
    /// No memory for the body of a frame this large (libzmq: `ENOMEM`); set MAXMSGSIZE to
    /// refuse such frames from their header.
    #[error("no memory for a frame of {0} bytes")]
    OutOfMemory(u64),
    /// A REQ socket's peer sent a message that is no reply in its envelope (an empty
    /// delimiter frame first, after a 4-byte request id or not): libzmq's
    /// `req_session_t` refuses it and its engine drops the peer.
    #[error("message to a REQ socket outside a reply's envelope (an empty delimiter frame first)")]
    ReplyOutsideEnvelope,
}

impl SessionError {
    /// Whether the failure happened during the handshake (for monitor events).
    pub fn is_handshake_failure(&self) -> bool {
        !matches!(
            self,
            SessionError::HeartbeatTimeout | SessionError::TtlExpired | SessionError::OutOfMemory(_)
        )
    }

    /// Whether libzmq's engine reports this as a protocol error, on which a connecting
    /// session ends instead of reconnecting (`session_base_t::engine_error`): a peer that
    /// broke the protocol, or cannot talk to us, fails the same way when asked again. Not
    /// the timeouts, which reconnect, nor a greeting that is not ZMTP 3.x: libzmq falls back
    /// to ZMTP 1.0/2.0 there (libsock has neither) and reconnects when such a peer hangs up.
    pub fn is_protocol_error(&self) -> bool {
        !matches!(
            self,
            SessionError::HandshakeTimeout(_)
                | SessionError::HeartbeatTimeout
                | SessionError::TtlExpired
                | SessionError::Protocol(CodecError::BadSignature | CodecError::UnsupportedVersion { .. })
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Greeting,
    Handshake,
    /// Waiting for [`Session::zap_reply`]; input stays buffered.
    Zap,
    Active,
}

/// The protocol state of one connection.
pub struct Session {
    cfg: SessionConfig,
    phase: Phase,
    out: OutBuf,
    events: VecDeque<SessionEvent>,
    heartbeat: Heartbeat,
    /// Our greeting, queued in libzmq's steps as the peer's arrives.
    greeting: GreetingSender,
    handshake_deadline: Option<Instant>,
    peer_minor: u8,
    /// Bytes of input the next frame needs in total (to size reads).
    wanted: usize,
    /// The handshake in progress (`None` once active).
    mech: Option<Mech>,
    /// CURVE: every frame after the handshake is encrypted by this (shared with the direct
    /// write side, see `shared_cipher`) ...
    curve_out: Option<SharedCurveOut>,
    /// ... and decrypted by this (shared with the direct read side).
    cipher: Option<SharedCurveIn>,
    /// Frames encrypted into `out` may not be written yet (`CurveOut::written` not called
    /// since): saves the lock when there is nothing to clear.
    curve_queued: bool,
    /// Reused buffer for commands that get encrypted.
    scratch: Vec<u8>,
    /// What ZAP said about the peer (user id, metadata).
    zap: Option<ZapReply>,
    /// The peer's address, for `Peer-Address` metadata.
    peer_address: String,
    /// The connection's file descriptor (-1: none), for `ZMQ_SRCFD`.
    peer_fd: i32,
    /// Attached to every received message (one shared `Arc` per connection, as libzmq's
    /// metadata: a reference count per message, no allocation).
    metadata: Option<Arc<Metadata>>,
    /// A large data frame's body being received (see `large_body`).
    body: Option<large_body::PartialBody>,
    /// A REQ's connection: where in a reply the next data frame falls.
    reply_envelope: Option<ReplyEnvelope>,
}

impl Session {
    /// Starts a session; the signature of our greeting is queued at once, before the peer's
    /// arrives, and the rest as [`Session::decode`] sees the peer's (libzmq's steps).
    pub fn new(cfg: SessionConfig, now: Instant) -> Session {
        let mut out = OutBuf::default();
        let greeting = Greeting {
            mechanism: cfg.security.mechanism(),
            as_server: cfg.security.as_server(),
            ..Greeting::ours()
        };
        let greeting = GreetingSender::start(&greeting, cfg.routing_id.len(), out.staging());
        let is_req = cfg.socket_type == SocketType::REQ;
        Session {
            heartbeat: Heartbeat::new(cfg.heartbeat),
            greeting,
            handshake_deadline: cfg.handshake_ivl.map(|d| now + d),
            cfg,
            phase: Phase::Greeting,
            out,
            events: VecDeque::new(),
            peer_minor: 0,
            wanted: GREETING_LEN,
            mech: None,
            curve_out: None,
            cipher: None,
            curve_queued: false,
            scratch: Vec::new(),
            zap: None,
            peer_address: String::new(),
            peer_fd: -1,
            metadata: None,
            body: None,
            reply_envelope: is_req.then_some(ReplyEnvelope::Bottom),
        }
    }

    /// Records the peer's address as libzmq writes it (tcp: its IP; ipc:
    /// `localhost:uid:gid:pid`), offered as `Peer-Address` metadata and in ZAP requests.
    pub fn set_peer_address(&mut self, address: &str) {
        self.peer_address = address.to_owned();
    }

    /// Whether libzmq's mechanism for our side reports a peer's bad properties on the
    /// monitor (HANDSHAKE_FAILED_PROTOCOL, INVALID_METADATA): only its PLAIN and CURVE
    /// clients do (`plain_client_t::process_ready`, `curve_client_t::process_ready`); NULL
    /// and the servers close without a word.
    pub fn reports_bad_metadata(&self) -> bool {
        self.cfg.security.mechanism() != crate::codec::Mechanism::Null && !self.cfg.security.as_server()
    }

    /// The peer's address, as recorded by [`Session::set_peer_address`].
    pub fn peer_address(&self) -> &str {
        &self.peer_address
    }

    /// Records the connection's file descriptor, offered as `ZMQ_SRCFD`.
    pub fn set_peer_fd(&mut self, fd: i32) {
        self.peer_fd = fd;
    }

    /// The ZAP handler's answer to the [`SessionEvent::Zap`] request. A refusal queues an
    /// ERROR for the peer and returns [`SessionError::AuthFailed`].
    pub fn zap_reply(&mut self, reply: ZapReply, now: Instant) -> Result<(), SessionError> {
        let Some(mech) = self.mech.as_mut().filter(|_| self.phase == Phase::Zap) else {
            return Err(SessionError::UnexpectedCommand("ZAP reply".into()));
        };
        let local = Local {
            socket_type: self.cfg.socket_type,
            routing_id: &self.cfg.routing_id,
            app_metadata: &self.cfg.app_metadata,
            now,
        };
        let step = mech.on_zap(&local, &reply, self.out.staging())?;
        self.zap = Some(reply);
        self.phase = Phase::Handshake;
        self.on_step(step, now)
    }

    /// CURVE: our direction, for the direct write side (`None` before READY, or without
    /// CURVE).
    pub fn curve_out(&self) -> Option<SharedCurveOut> {
        self.curve_out.clone()
    }

    /// CURVE: the peer's direction, for the direct read side (`None` as above).
    pub fn curve_in(&self) -> Option<SharedCurveIn> {
        self.cipher.clone()
    }

    /// The I/O thread has written [`Session::out`] out, under the stream's write lock: the
    /// frames encrypted into it are on the wire (see `shared_cipher`).
    #[inline]
    pub fn out_written(&mut self) {
        if self.curve_queued {
            self.curve_queued = false;
            if let Some(curve) = &self.curve_out {
                curve.lock().written();
            }
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
    /// greeting and commands on the way. The body of a large data frame that has not all
    /// arrived is moved out of `input` into a buffer of its own, where the rest is expected
    /// (`Session::body_to_fill`). `Ok(None)`: `input` holds no complete frame, or a
    /// command produced an event ([`Session::poll_event`]) that must be handled before the
    /// frames that follow it (a READY must attach the pipe before the first message).
    pub fn decode(&mut self, input: &mut BytesMut, now: Instant) -> Result<Option<Message>, SessionError> {
        let mut msg = self.decode_bare(input, now)?;
        if let (Some(msg), Some(meta)) = (&mut msg, &self.metadata) {
            msg.set_metadata(meta.clone());
        }
        Ok(msg)
    }

    /// The connection's metadata once the handshake is done: what [`Session::decode`]
    /// attaches to every message.
    pub fn metadata(&self) -> Option<&Arc<Metadata>> {
        self.metadata.as_ref()
    }

    /// [`Session::decode`] without attaching the metadata (the engine lets the pipe's reader
    /// attach it, on the application thread).
    pub(crate) fn decode_bare(
        &mut self,
        input: &mut BytesMut,
        now: Instant,
    ) -> Result<Option<Message>, SessionError> {
        loop {
            match self.phase {
                Phase::Greeting => {
                    let parsed = Greeting::decode(input)?;
                    // Our next step goes out only once what the peer sent so far is valid.
                    self.greeting.on_received(input.len(), self.out.staging());
                    let Some(greeting) = parsed else { return Ok(None) };
                    input.advance(GREETING_LEN);
                    self.on_greeting(greeting, now)?;
                    continue;
                }
                Phase::Zap => return Ok(None),
                Phase::Handshake | Phase::Active => {}
            }
            if self.body.is_some() {
                return Ok(self.move_into_body(input));
            }
            let encrypted = self.cipher.is_some();
            let limit = match (self.cfg.max_msg_size, encrypted) {
                (Some(max), true) => max.saturating_add(MESSAGE_PLAINTEXT as u64 + 1),
                (Some(max), false) => max,
                (None, _) => FRAME_SIZE_LIMIT,
            };
            let Some(header) = decode_header(input, Some(limit))? else {
                self.wanted = 9;
                return Ok(None);
            };
            if !header.command && self.phase != Phase::Active {
                return self.data_in_handshake(input.len(), header.header_len, header.size);
            }
            if header.command && !encrypted && header.size > frame::MAX_COMMAND_SIZE {
                return Err(
                    CodecError::FrameTooLarge { size: header.size, max: frame::MAX_COMMAND_SIZE }.into()
                );
            }
            let mut size = header.size as usize;
            if input.len() < header.header_len + size {
                if !header.command && self.takes_body_directly(size) {
                    self.check_reply_envelope(size, header.more)?;
                    input.advance(header.header_len);
                    self.start_body(size, header.more)?;
                    continue;
                }
                self.wanted = header.header_len + size;
                return Ok(None);
            }
            input.advance(header.header_len);
            let mut more = header.more;
            if let Some(cipher) = &self.cipher {
                // libzmq sends each MESSAGE as a plain frame (no MORE, no COMMAND bit); the
                // real flags are inside. Anything that is not a MESSAGE is plaintext: refused.
                if !input[..size].starts_with(b"\x07MESSAGE") {
                    return Err(SessionError::Unencrypted);
                }
                // Decrypt in the read buffer; the plaintext body follows the flags byte.
                let flags = cipher.lock().decrypt(&mut input[..size])?;
                if flags & FLAG_COMMAND != 0 {
                    let body = input.split_to(size);
                    self.on_command(&body[MESSAGE_PLAINTEXT + 1..], now)?;
                    if !self.events.is_empty() {
                        return Ok(None);
                    }
                    continue;
                }
                input.advance(MESSAGE_PLAINTEXT + 1);
                size -= MESSAGE_PLAINTEXT + 1;
                more = flags & FLAG_MORE != 0;
            } else if header.command {
                let body = input.split_to(size);
                self.on_command(&body, now)?;
                if !self.events.is_empty() {
                    return Ok(None);
                }
                continue;
            }
            // Bodies up to the read chunk are copied out (inline, or into a recycled buffer),
            // so the read buffer stays this connection's alone and is read into again in
            // place. Shared (`split_to`), they made it a fresh 64 KiB `malloc` every few
            // frames, freed later by the application thread into the I/O thread's arena,
            // which glibc trimmed and mapped anew (up to 29 k page faults a run of 2 M 1 KiB
            // messages), plus an atomic increment and decrement per frame on one cache line
            // across the cores; a retained small frame also pinned the whole chunk. A/B
            // (pinned PUSH/PULL floods, `benches` local/remote_thr): 300–600 B even,
            // 1 KiB +6 %, 4 KiB +19 %, 32 KiB +16 %, 64 KiB +3 % msg/s, less CPU on both
            // sides. Larger frames arrive into a body of their own (`large_body`) or, when
            // whole in a larger read, are still shared.
            self.check_reply_envelope(size, more)?;
            let mut msg = if size <= large_body::BODY_DIRECT_MIN {
                let m = Message::from_slice(&input[..size]);
                input.advance(size);
                m
            } else {
                Message::from_bytes(input.split_to(size).freeze())
            };
            msg.set_more(more);
            return Ok(Some(msg));
        }
    }

    /// A REQ's connection takes replies in their envelope only ([`ReplyEnvelope`]).
    #[inline]
    fn check_reply_envelope(&mut self, size: usize, more: bool) -> Result<(), SessionError> {
        if let Some(state) = &mut self.reply_envelope {
            *state = state.next(size, more).ok_or(SessionError::ReplyOutsideEnvelope)?;
        }
        Ok(())
    }

    /// A REQ's connection resumes decoding after `frames`, the first frames of a reply that a
    /// direct read side decoded (its hand-back: `engine::direct_rx`). None: that side read
    /// nothing, or whole messages only, which it begins at a message boundary (its rule 2);
    /// the state stays where this session left it either way.
    pub(crate) fn resume_reply(&mut self, frames: &[Message]) {
        if let (Some(state), false) = (&mut self.reply_envelope, frames.is_empty()) {
            *state = ReplyEnvelope::after(frames);
        }
    }

    /// A data frame in the handshake, `buffered` bytes of input there: refused once it is
    /// whole, as libzmq's mechanisms refuse it (they read any frame there as a command, and
    /// find it is none they expect). Apart, and cold, to keep the message path as it was.
    #[cold]
    fn data_in_handshake(
        &mut self,
        buffered: usize,
        header_len: usize,
        size: u64,
    ) -> Result<Option<Message>, SessionError> {
        if size > frame::MAX_COMMAND_SIZE {
            return Err(CodecError::FrameTooLarge { size, max: frame::MAX_COMMAND_SIZE }.into());
        }
        if buffered < header_len + size as usize {
            self.wanted = header_len + size as usize;
            return Ok(None);
        }
        Err(SessionError::DataBeforeReady)
    }

    /// Queues one message frame for the peer. Only valid once [`Session::is_active`].
    ///
    /// The common case (no CURVE, a body copied rather than shared) is inlined into the
    /// outbound pump; the rest is out of line.
    #[inline(always)]
    pub fn send(&mut self, msg: &Message) {
        if self.curve_out.is_none() && msg.len() < ZERO_COPY_MIN {
            frame::encode_frame(self.out.staging(), msg.get_more(), false, msg);
        } else {
            self.send_other(msg);
        }
    }

    /// [`Session::send`] of an encrypted frame or of a large body written from its own memory.
    #[inline(never)]
    fn send_other(&mut self, msg: &Message) {
        let more = msg.get_more();
        if let Some(curve) = &self.curve_out {
            // Encrypted in place in the outbound buffer: no other copy, no allocation.
            curve.lock().queue(self.out.staging(), if more { FLAG_MORE } else { 0 }, msg);
            self.curve_queued = true;
            return;
        }
        match msg.share_large(ZERO_COPY_MIN) {
            Some(body) => {
                frame::encode_header(self.out.staging(), more, false, body.len());
                self.out.push_shared(body);
            }
            None => frame::encode_frame(self.out.staging(), more, false, msg),
        }
    }

    /// Queues a command frame built by `encode`; on CURVE it goes inside a MESSAGE.
    fn send_command(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let Some(curve) = &self.curve_out else {
            encode(self.out.staging());
            return;
        };
        self.scratch.clear();
        encode(&mut self.scratch);
        if let Ok(Some(h)) = decode_header(&self.scratch, None) {
            curve.lock().queue(self.out.staging(), FLAG_COMMAND, &self.scratch[h.header_len..]);
            self.curve_queued = true;
        }
    }

    /// Queues a subscription change: a command for ZMTP 3.1 peers, a message for 3.0 peers.
    /// A DISH's "subscriptions" are its groups: JOIN/LEAVE commands, whatever the version.
    pub fn send_subscription(&mut self, subscribe: bool, topic: &[u8]) {
        #[cfg(feature = "draft")]
        if self.cfg.socket_type == SocketType::DISH {
            let name = if subscribe { "JOIN" } else { "LEAVE" };
            return self.send_command(|out| command::encode_command(out, name, &[topic]));
        }
        if self.peer_minor >= 1 {
            if subscribe {
                self.send_command(|out| command::encode_subscribe(out, topic));
            } else {
                self.send_command(|out| command::encode_cancel(out, topic));
            }
        } else {
            let mut body = Vec::with_capacity(topic.len() + 1);
            body.push(u8::from(subscribe));
            body.extend_from_slice(topic);
            self.send(&Message::from(body));
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
                self.send_command(|out| command::encode_ping(out, ttl, &[]));
                Ok(())
            }
            Beat::TimedOut => Err(SessionError::HeartbeatTimeout),
            Beat::TtlExpired => Err(SessionError::TtlExpired),
        }
    }

    /// Our PING went out and nothing has arrived from the peer since.
    pub fn awaiting_pong(&self) -> bool {
        self.heartbeat.awaiting_reply()
    }

    /// When [`Session::handle_timeout`] must next be called.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Active {
            self.heartbeat.next_deadline()
        } else {
            self.handshake_deadline
        }
    }

    fn on_greeting(&mut self, greeting: Greeting, now: Instant) -> Result<(), SessionError> {
        let ours = self.cfg.security.mechanism();
        if greeting.mechanism != ours {
            return Err(SessionError::MechanismMismatch {
                peer: greeting.mechanism.name(),
                ours: ours.name(),
            });
        }
        // The as-server byte is not checked: libzmq always sends 0 there. Two clients or two
        // servers fail on the first handshake command instead.
        self.peer_minor = if greeting.major > 3 { 1 } else { greeting.minor };
        let mut mech = Mech::new(&self.cfg.security);
        let local = Local {
            socket_type: self.cfg.socket_type,
            routing_id: &self.cfg.routing_id,
            app_metadata: &self.cfg.app_metadata,
            now,
        };
        let step = mech.start(&local, self.out.staging());
        self.mech = Some(mech);
        self.phase = Phase::Handshake;
        self.on_step(step, now)
    }

    /// A handshake step finished: wait, ask ZAP, or go active.
    fn on_step(&mut self, step: Step, now: Instant) -> Result<(), SessionError> {
        match step {
            Step::Wait => Ok(()),
            Step::Zap(request) => {
                self.phase = Phase::Zap;
                self.events.push_back(SessionEvent::Zap(request));
                Ok(())
            }
            Step::Ready { metadata, cipher } => {
                let props = parse_properties(&metadata)?;
                let peer = null::check_ready(self.cfg.socket_type, &props)?;
                self.metadata = Some(Arc::new(self.peer_metadata(&props)));
                self.mech = None;
                let (send, recv) = cipher.map(|c| c.split()).unzip();
                self.curve_out = send.map(CurveOut::shared);
                self.cipher = recv.map(|r| Arc::new(parking_lot::Mutex::new(r)));
                self.phase = Phase::Active;
                self.heartbeat.start(now);
                self.events.push_back(SessionEvent::Ready(peer));
                Ok(())
            }
        }
    }

    /// What received messages carry: the peer's properties, ZAP's user id and metadata, and
    /// the peer's address (libzmq's `zmq_msg_gets` names).
    fn peer_metadata(&self, props: &[crate::codec::Property<'_>]) -> Metadata {
        let mut meta = Metadata::default();
        for p in props {
            meta.insert(&String::from_utf8_lossy(p.name), p.value);
        }
        if let Some(zap) = &self.zap {
            if let Ok(extra) = parse_properties(&zap.metadata) {
                for p in extra {
                    meta.insert(&String::from_utf8_lossy(p.name), p.value);
                }
            }
            // As libzmq: the handler's user id, even an empty one.
            if let Some(user_id) = &zap.user_id {
                meta.insert("User-Id", user_id);
            }
        }
        if !self.peer_address.is_empty() {
            meta.insert("Peer-Address", self.peer_address.as_bytes());
        }
        if self.peer_fd >= 0 {
            meta.set_source_fd(self.peer_fd);
        }
        meta
    }

    fn on_command(&mut self, body: &[u8], now: Instant) -> Result<(), SessionError> {
        if self.phase == Phase::Handshake {
            if let Ok(Command::Error { reason }) = command::parse_command(body) {
                return Err(SessionError::PeerError(String::from_utf8_lossy(reason).into_owned()));
            }
            // libzmq 4.3's PLAIN servers write ERROR misspelt (`codec::plain::LIBZMQ_ERROR`):
            // accept that broken ERROR for what it means.
            if let Some(rest) = body.strip_prefix(crate::codec::plain::LIBZMQ_ERROR) {
                let reason = rest.get(1..1 + usize::from(rest.first().copied().unwrap_or(0))).unwrap_or(b"");
                return Err(SessionError::PeerError(String::from_utf8_lossy(reason).into_owned()));
            }
            let local = Local {
                socket_type: self.cfg.socket_type,
                routing_id: &self.cfg.routing_id,
                app_metadata: &self.cfg.app_metadata,
                now,
            };
            let mech = self.mech.as_mut().ok_or(SessionError::DataBeforeReady)?;
            let step = mech.on_command(&local, body, self.out.staging())?;
            return self.on_step(step, now);
        }
        // Once the handshake is done, libzmq's engine drops every command but PING, PONG,
        // SUBSCRIBE and CANCEL, and one it cannot read, and keeps the connection
        // (`zmtp_engine_t::process_command_message`'s answer is not looked at): a newer
        // peer's commands, an ERROR, a second READY. So do we.
        let Ok(cmd) = command::parse_command(body) else { return Ok(()) };
        match cmd {
            Command::Ping { ttl_deciseconds, context } => {
                self.send_command(|out| command::encode_pong(out, context));
                self.heartbeat.on_ping(ttl_deciseconds, now);
                Ok(())
            }
            Command::Pong { .. } => Ok(()),
            Command::Subscribe(topic) => {
                self.events.push_back(SessionEvent::Subscribe(Bytes::copy_from_slice(topic)));
                Ok(())
            }
            Command::Cancel(topic) => {
                self.events.push_back(SessionEvent::Cancel(Bytes::copy_from_slice(topic)));
                Ok(())
            }
            #[cfg(feature = "draft")]
            Command::Other { name: b"JOIN", data } if self.cfg.socket_type == SocketType::RADIO => {
                self.events.push_back(SessionEvent::Subscribe(Bytes::copy_from_slice(data)));
                Ok(())
            }
            #[cfg(feature = "draft")]
            Command::Other { name: b"LEAVE", data } if self.cfg.socket_type == SocketType::RADIO => {
                self.events.push_back(SessionEvent::Cancel(Bytes::copy_from_slice(data)));
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

pub(crate) fn command_name(cmd: &Command<'_>) -> String {
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
