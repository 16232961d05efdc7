//! A connection's ZWS layer (`ws://`): the HTTP upgrade, then WebSocket frames both ways
//! around the connection's ZMTP session, which runs unchanged (`codec::ws` translates).
//!
//! Reading: bytes from the stream gather in `raw`; the upgrade, once complete, puts a ZMTP
//! greeting for the negotiated mechanism into the read buffer, and every complete frame
//! after it goes there as a ZMTP frame; a large data frame's body is passed through as it
//! comes, or read into the session's body in place ([`WsLink::read_body`]).
//! Writing: the session's ZMTP bytes become frames in `pending`, written as the stream takes
//! them; pongs and the echo of a close go there too. A server's bodies of 64 KiB and more
//! are written from the session's buffer behind their header ([`BODY_IN_PLACE_MIN`]).
//!
//! The application thread's direct sides (`direct`, `direct_rx`) work on `ws://` and
//! `wss://` links too: it writes data frames of its own encoder, and reads whole data frames
//! itself, handing back the rest, which [`WsLink::take_over`] decodes here.
//!
//! `wss://`: a rustls connection sits between those buffers and the stream. Its handshake
//! comes first (the client's upgrade request waits in rustls until it is done); reading
//! decrypts into `raw` (a large body's bytes straight into the message: [`WsLink::read_body`]),
//! writing encrypts `pending` (and a server's large bodies from the message); whatever
//! rustls has to send (handshake replies, alerts) goes out with `pending`. The connection is
//! shared with the direct sides, which encrypt and decrypt through it (`ws_tls`).

use std::io::{self, IoSlice, Write};
use std::os::fd::AsFd;

use bytes::{Buf, BytesMut};
use rustls::pki_types::ServerName;

use super::spare;
use super::ws_tls::{self, SharedTls};
use crate::codec::greeting::Mechanism;
use crate::codec::ws::{self, Control, Decoder, Encoder, WsFault};
use crate::codec::CodecError;
use crate::session::{BodyFill, SessionConfig, SessionError};
use crate::socket_type::SocketType;
use crate::sys;
use crate::transport::Stream;

/// Frames waiting for the stream beyond this refuse more of the session's bytes (as a full
/// kernel buffer would), so a peer that reads nothing costs bounded memory.
const PENDING_MAX: usize = 256 * 1024;

/// A server's data bodies at least this large are written from the session's buffer (the
/// message's own memory) behind their frame's header, not copied into `pending` first: as
/// over tcp, where a body this large is one `writev` slice anyway (over TLS, rustls encrypts
/// them from there). Only what the kernel (or rustls) does not take at once is copied.
/// Smaller bodies are copied, so that many frames leave in one write.
const BODY_IN_PLACE_MIN: usize = 64 * 1024;

/// `wss://`: the least and the most read from the stream at once while a large body is read
/// out of rustls (`read_tls_into`): twice what the body still needs, in between, so that a
/// body that has arrived is read in one call (as the engine sizes its reads to a body).
const TLS_BODY_READ_MIN: usize = 64 * 1024;
const TLS_BODY_READ_MAX: usize = 8 * 1024 * 1024;

/// The close frame's statuses (RFC 6455 §7.4.1, and IANA's registry for 1013): an orderly
/// close, a protocol error, a peer refused by policy (ZAP), a message too large to take, a
/// peer to try again later (ZAP's temporary "300").
const NORMAL_CLOSURE: u16 = 1000;
const PROTOCOL_ERROR: u16 = 1002;
const POLICY_VIOLATION: u16 = 1008;
const MESSAGE_TOO_BIG: u16 = 1009;
const TRY_AGAIN_LATER: u16 = 1013;

/// Why reading failed.
pub(crate) enum WsError {
    /// The stream failed.
    Io(io::Error),
    /// The peer's bytes are no ZWS.
    Fault(WsFault),
}

/// Where the upgrade stands.
enum Upgrade {
    /// Client: our request is out, the response awaited; the key it must answer.
    Requested(String),
    /// Server: the request awaited.
    Awaited,
    /// Frames flow.
    Done,
}

/// One connection's ZWS state.
pub(crate) struct WsLink {
    upgrade: Upgrade,
    mechanism: Mechanism,
    /// Our mechanism role (PLAIN/CURVE server), for the greeting shown to the session.
    mechanism_server: bool,
    /// Our socket's type: a `ZWS2.0` peer announces none and is taken for one it may talk to.
    socket_type: SocketType,
    decoder: Decoder,
    encoder: Encoder,
    /// Bytes read and not decoded yet.
    raw: BytesMut,
    /// Bytes to write, from `sent` on.
    pending: Vec<u8>,
    sent: usize,
    /// The peer sent a close frame: hang up once its echo is written.
    closed: bool,
    /// A frame that breaks the protocol, behind frames already made ZMTP bytes: reported by
    /// the next read, once the session has decoded those (as over tcp, where it decodes up
    /// to the bad bytes).
    fault: Option<WsFault>,
    /// `wss://`: the TLS session (`Err`: it could not be set up, and the link fails),
    /// shared with the direct sides (`ws_tls`: its lock is always taken last).
    tls: Option<Result<SharedTls, rustls::Error>>,
    /// `wss://`: records read from the stream and not given to rustls yet.
    cipher: BytesMut,
}

impl WsLink {
    /// The connecting side: its request is queued at once (behind the TLS handshake, for
    /// `wss://`).
    pub(crate) fn client(
        host: &str,
        path: &str,
        cfg: &SessionConfig,
        tls: Option<(std::sync::Arc<rustls::ClientConfig>, ServerName<'static>)>,
    ) -> WsLink {
        let (mut random, mut seed) = ([0u8; 16], [0u8; 8]);
        rand_bytes(&mut random);
        rand_bytes(&mut seed);
        let key = ws::new_key(random);
        let mechanism = cfg.security.mechanism();
        let mut link = WsLink::new(Upgrade::Requested(key.clone()), cfg, u64::from_le_bytes(seed));
        link.pending = ws::request(host, path, &key, mechanism);
        link.tls = tls.map(|(config, name)| rustls::ClientConnection::new(config, name).map(ws_tls::shared));
        link
    }

    /// The listening side (`tls`: a `wss://` listener's).
    pub(crate) fn server(cfg: &SessionConfig, tls: Option<std::sync::Arc<rustls::ServerConfig>>) -> WsLink {
        let mut link = WsLink::new(Upgrade::Awaited, cfg, 0);
        link.tls = tls.map(|config| rustls::ServerConnection::new(config).map(ws_tls::shared));
        link
    }

    fn new(upgrade: Upgrade, cfg: &SessionConfig, seed: u64) -> WsLink {
        let (security, max_body) = (&cfg.security, cfg.max_msg_size);
        let mechanism = security.mechanism();
        let client = matches!(upgrade, Upgrade::Requested(_));
        WsLink {
            upgrade,
            mechanism,
            mechanism_server: security.as_server(),
            socket_type: cfg.socket_type,
            decoder: Decoder::new(!client, max_body, mechanism),
            encoder: Encoder::new(client, mechanism, seed),
            raw: BytesMut::new(),
            pending: Vec::new(),
            sent: 0,
            closed: false,
            fault: None,
            tls: None,
            cipher: BytesMut::new(),
        }
    }

    /// Reads what the stream has (at most `want` bytes) and appends the ZMTP bytes it makes
    /// to `zmtp`. `Ok(0)`: the peer hung up, or closed with a close frame (whose echo is
    /// then pending: [`WsLink::flush`] before hanging up) or a close_notify. Messages that
    /// came in the same read as the close are returned first: the call after says `Ok(0)`.
    pub(crate) fn read(
        &mut self,
        stream: &mut Stream,
        zmtp: &mut BytesMut,
        want: usize,
    ) -> Result<usize, WsError> {
        if let Some(fault) = self.fault.take() {
            return Err(WsError::Fault(fault));
        }
        if self.closed {
            return Ok(0);
        }
        spare::take(&mut self.raw);
        let read = match &mut self.tls {
            None => sys::read_into(stream.as_fd(), &mut self.raw, want),
            Some(Err(e)) => {
                tracing::debug!("wss: no TLS session: {e}");
                return Err(WsError::Fault(WsFault::Tls));
            }
            Some(Ok(tls)) => {
                let mut conn = tls.lock();
                let fd = stream.as_fd();
                let read = ws_tls::read_tls(
                    &mut conn,
                    |b, n| sys::read_into(fd, b, n),
                    &mut self.cipher,
                    &mut self.raw,
                    want,
                );
                let answer = conn.wants_write();
                drop(conn);
                // Handshake replies and alerts go out at once: the peer waits for them.
                if answer {
                    self.flush(stream).map_err(WsError::Io)?;
                }
                match read {
                    Err(WsError::Io(e)) => Err(e),
                    Err(fault) => return Err(fault),
                    Ok((n, peer_closed)) => {
                        // Its close_notify: what came before it is decoded, then the end.
                        self.closed |= peer_closed;
                        Ok(n)
                    }
                }
            }
        };
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock && self.raw.is_empty() {
                    // Idle: hold no read buffer until bytes arrive again (as the engine's own).
                    spare::give_back(&mut self.raw);
                }
                return Err(WsError::Io(e));
            }
        };
        if n == 0 {
            return Ok(0);
        }
        spare::take(zmtp);
        self.decode(zmtp).map_err(WsError::Fault)?;
        Ok(n)
    }

    fn decode(&mut self, zmtp: &mut BytesMut) -> Result<(), WsFault> {
        match &self.upgrade {
            Upgrade::Done => {}
            Upgrade::Awaited => match ws::answer_request(&self.raw, self.mechanism) {
                Ok(None) => return Ok(()),
                Ok(Some(answer)) => {
                    self.raw.advance(answer.used);
                    self.pending.extend_from_slice(&answer.response);
                    if answer.raw {
                        self.decoder.raw_mode(self.socket_type.a_peer());
                        self.encoder.raw_mode();
                    }
                    self.opened(zmtp);
                }
                Err(fault) => {
                    // Told why in HTTP, for a browser's console (libzmq just hangs up).
                    self.pending.extend_from_slice(ws::REFUSAL);
                    return Err(fault);
                }
            },
            Upgrade::Requested(key) => match ws::check_response(&self.raw, key, self.mechanism)? {
                None => return Ok(()),
                Some(used) => {
                    self.raw.advance(used);
                    self.opened(zmtp);
                }
            },
        }
        let mut controls = Vec::new();
        let decoded = self.decoder.decode(&mut self.raw, zmtp, &mut controls);
        for c in &controls {
            self.encoder.control(c, &mut self.pending);
            self.closed |= matches!(c, Control::Close(_));
        }
        match decoded {
            // The messages before the bad frame are the session's first.
            Err(fault) if !zmtp.is_empty() => {
                self.fault = Some(fault);
                Ok(())
            }
            other => other,
        }
    }

    /// The upgrade is done: the session sees the greeting it expects, and frames flow.
    fn opened(&mut self, zmtp: &mut BytesMut) {
        self.upgrade = Upgrade::Done;
        zmtp.extend_from_slice(&ws::peer_greeting(self.mechanism, self.mechanism_server));
    }

    /// Whether frames (or TLS records) wait to be written.
    pub(crate) fn has_pending(&self) -> bool {
        self.sent < self.pending.len() || matches!(&self.tls, Some(Ok(tls)) if tls.lock().wants_write())
    }

    /// Writes what is pending; `Ok(true)` once all of it is out.
    pub(crate) fn flush(&mut self, stream: &mut Stream) -> io::Result<bool> {
        if let Some(Ok(tls)) = &self.tls {
            return ws_tls::flush_tls(&mut tls.lock(), stream, &mut self.pending, &mut self.sent);
        }
        while self.has_pending() {
            match stream.write(&self.pending[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pending.clear();
        self.sent = 0;
        Ok(true)
    }

    /// Writes what is pending and then `body` (the rest of the frame whose header ends
    /// `pending`): in one `writev`, or over TLS encrypted by rustls from where it lies; the
    /// part of `body` the stream (or rustls's buffer) does not take is copied behind
    /// `pending`, to go out with it.
    fn write_behind(&mut self, stream: &mut Stream, body: &[u8]) -> io::Result<()> {
        if let Some(Ok(tls)) = &self.tls {
            let mut rest = body;
            ws_tls::flush_tls_with(&mut tls.lock(), stream, &mut self.pending, &mut self.sent, &mut rest)?;
            self.pending.extend_from_slice(rest);
            return Ok(());
        }
        let head = self.pending.len() - self.sent;
        let slices = [IoSlice::new(&self.pending[self.sent..]), IoSlice::new(body)];
        let written = match stream.write_vectored(&slices) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => 0,
            Err(e) => return Err(e),
        };
        if written < head {
            self.sent += written;
            self.pending.extend_from_slice(body);
        } else {
            self.pending.clear();
            self.sent = 0;
            self.pending.extend_from_slice(&body[written - head..]);
        }
        Ok(())
    }

    /// Our end of an orderly close (the socket closed, unbound or disconnected): a close
    /// frame with status 1000 (RFC 6455 §7.4.1) and, over TLS, a close_notify, written as far
    /// as the stream takes them now: the connection is going, nothing waits for them. A
    /// browser then reports a clean close, not 1006, and a TLS peer no truncation. Not after
    /// the peer's own close (its echo is the answer), nor before the upgrade, nor behind
    /// frames still waiting (the close would cut one).
    pub(crate) fn say_goodbye(&mut self, stream: &mut Stream) {
        if self.closed || !matches!(self.upgrade, Upgrade::Done) || !matches!(self.flush(stream), Ok(true)) {
            return;
        }
        self.close(stream, NORMAL_CLOSURE);
    }

    /// The peer ended the link (a close frame, a close_notify, or a hang-up): what is
    /// pending (a close frame's echo) goes out as far as the stream takes it now and, over
    /// TLS, a close_notify behind it, so that a TLS peer sees an orderly end, not a
    /// truncation.
    pub(crate) fn hang_up(&mut self, stream: &mut Stream) {
        if !matches!(self.flush(stream), Ok(true)) {
            return;
        }
        if let Some(Ok(tls)) = &self.tls {
            tls.lock().send_close_notify();
            let _ = self.flush(stream);
        }
    }

    /// The connection fails (`why`): the peer is told with a close frame of the matching
    /// status (1002 a protocol error, 1008 refused by ZAP, 1009 too large, 1013 ZAP's "300"),
    /// behind what is pending, as far as the stream takes it now. libzmq just hangs up; a
    /// browser then reports why instead of 1006. Nothing for a broken TLS session or a
    /// silent peer, nor before the upgrade (a refused one was answered in HTTP).
    pub(crate) fn fail(&mut self, stream: &mut Stream, why: &SessionError) {
        if self.closed || !matches!(self.upgrade, Upgrade::Done) {
            return;
        }
        if let Some(status) = close_status(why) {
            self.close(stream, status);
        }
    }

    /// Queues a close frame with `status` and, over TLS, a close_notify behind it, and
    /// writes them as far as the stream takes them.
    fn close(&mut self, stream: &mut Stream, status: u16) {
        self.closed = true;
        self.encoder.control(&Control::Close(status.to_be_bytes().to_vec()), &mut self.pending);
        let _ = self.flush(stream);
        if let Some(Ok(tls)) = &self.tls {
            // Behind the close frame, once rustls holds all of it.
            if self.sent == self.pending.len() {
                tls.lock().send_close_notify();
                let _ = self.flush(stream);
            }
        }
    }

    /// Whether this is the listening side (its peer masks what it sends).
    pub(crate) fn is_server(&self) -> bool {
        !self.encoder.masks()
    }

    /// Whether input waits here that the application thread's direct read side must not
    /// overtake (`direct_rx` rule 2): bytes of a partial frame, a message in fragments, a
    /// body passed through, a fault to report, or (`wss://`) records or plaintext not
    /// read out of rustls.
    pub(crate) fn holds_input(&self) -> bool {
        !self.raw.is_empty()
            || self.decoder.in_fragments()
            || self.decoder.through_left() > 0
            || self.fault.is_some()
            || self.tls_holds_input()
    }

    fn tls_holds_input(&self) -> bool {
        match &self.tls {
            None => false,
            Some(Ok(tls)) => ws_tls::holds_input(&mut tls.lock(), &self.cipher),
            Some(Err(_)) => true,
        }
    }

    /// Reads the rest of a large frame's body straight into `fill`, the session's body (the
    /// decoder passes it through: `codec::ws::through`), and unmasks it there; over TLS,
    /// rustls decrypts it and its bytes are read out of rustls into the body. `None` where
    /// this link may not: with bytes read ahead, no body passed through, or a body beyond
    /// 8 MiB over TLS (a heap block's spare capacity); the bytes then come by
    /// [`WsLink::read`], through the read buffer.
    pub(crate) fn read_body(&mut self, stream: &mut Stream, fill: BodyFill<'_>) -> Option<io::Result<usize>> {
        let left = self.decoder.through_left();
        if left == 0 || !self.raw.is_empty() || self.fault.is_some() || self.closed {
            return None;
        }
        if let Some(tls) = &self.tls {
            // Over TLS: rustls decrypts the records, and the body's bytes are read out of it
            // into the body (a heap body's spare capacity takes the way through `raw`).
            let (Ok(tls), BodyFill::Slice(body)) = (tls, fill) else { return None };
            let room = body.len().min(left);
            let want = left.saturating_mul(2).clamp(TLS_BODY_READ_MIN, TLS_BODY_READ_MAX);
            let mut conn = tls.lock();
            let read =
                ws_tls::read_tls_into(&mut conn, stream.as_fd(), &mut self.cipher, &mut body[..room], want);
            let answer = conn.wants_write();
            drop(conn);
            let read = match read {
                Ok(n) => {
                    self.decoder.passed_in_place(&mut body[..n]);
                    Ok(n)
                }
                Err(WsError::Io(e)) => Err(e),
                Err(WsError::Fault(fault)) => {
                    // Reported by the next read, as any fault behind what came before it.
                    self.fault = Some(fault);
                    return None;
                }
            };
            // Handshake replies and alerts go out at once.
            if answer {
                if let Err(e) = self.flush(stream) {
                    return Some(Err(e));
                }
            }
            return Some(read);
        }
        let fd = stream.as_fd();
        Some(match fill {
            BodyFill::Slice(body) => {
                let room = body.len().min(left);
                let read = sys::read_slice(fd, &mut body[..room]);
                if let Ok(n) = read {
                    self.decoder.passed_in_place(&mut body[..n]);
                }
                read
            }
            BodyFill::Spare { bytes, max } => {
                let before = bytes.len();
                let read = sys::read_spare(fd, bytes, max.min(left));
                if let Ok(n) = read {
                    self.decoder.passed_in_place(&mut bytes[before..before + n]);
                }
                read
            }
        })
    }

    /// Whether a flood may go to the application thread's read side (`direct_rx` rule 8):
    /// frames flow, no message is in fragments here (the read side takes none), and the
    /// link is not closing.
    pub(crate) fn can_hand_over(&self) -> bool {
        matches!(self.upgrade, Upgrade::Done)
            && !self.closed
            && self.fault.is_none()
            && !self.decoder.in_fragments()
            && self.decoder.through_left() == 0
            && !self.tls_holds_input()
    }

    /// The bytes read and not decoded yet (a partial frame), for the application thread's
    /// read side that takes the flood over ([`WsLink::can_hand_over`]).
    pub(crate) fn take_raw(&mut self) -> BytesMut {
        std::mem::take(&mut self.raw)
    }

    /// Takes over what the application thread's read side read and left (`direct_rx` rule
    /// 1: a partial frame, or a frame only this decoder takes, and what followed it), and
    /// decodes it into `zmtp` as if just read. This link held no input then (rule 2).
    pub(crate) fn take_over(&mut self, raw: BytesMut, zmtp: &mut BytesMut) -> Result<(), WsFault> {
        if raw.is_empty() {
            return Ok(());
        }
        if self.raw.is_empty() {
            self.raw = raw;
        } else {
            let mut all = raw;
            all.extend_from_slice(&self.raw);
            self.raw = all;
        }
        self.decode(zmtp)
    }

    /// An encoder for the application thread's direct write side (`engine::direct`): data
    /// frames as this link's, masked with keys of its own on a client (over TLS, through
    /// [`WsLink::direct_tls`]).
    pub(crate) fn direct_encoder(&self) -> Encoder {
        let mut seed = [0u8; 8];
        rand_bytes(&mut seed);
        let client = self.encoder.masks();
        Encoder::new(client, self.mechanism, u64::from_le_bytes(seed))
    }

    /// `wss://`: the TLS session, for the application thread's direct sides to encrypt
    /// and decrypt through (`ws_tls`). `Err`: this link has no session to share (it failed).
    pub(crate) fn direct_tls(&self) -> Result<Option<SharedTls>, ()> {
        match &self.tls {
            None => Ok(None),
            Some(Ok(tls)) => Ok(Some(tls.clone())),
            Some(Err(_)) => Err(()),
        }
    }

    /// The session's side of the stream: what it writes goes out as frames.
    pub(crate) fn writer<'a>(&'a mut self, stream: &'a mut Stream) -> WsWriter<'a> {
        WsWriter { link: self, stream }
    }
}

/// [`WsLink::writer`]: takes ZMTP bytes as a stream would, and writes them as frames.
pub(crate) struct WsWriter<'a> {
    link: &'a mut WsLink,
    stream: &'a mut Stream,
}

impl Write for WsWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let link = &mut *self.link;
        link.flush(self.stream)?;
        if link.pending.len() - link.sent >= PENDING_MAX {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut taken = 0;
        for b in bufs {
            let mut piece: &[u8] = b;
            while let Some(body) = link.encoder.encode_split(piece, &mut link.pending, BODY_IN_PLACE_MIN) {
                link.write_behind(self.stream, &piece[body.clone()])?;
                piece = &piece[body.end..];
            }
            taken += b.len();
        }
        link.flush(self.stream)?;
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.link.flush(self.stream).map(drop)
    }
}

/// The close status that tells a peer why its connection fails; `None`: nothing to tell
/// (a silent peer, a broken TLS session).
fn close_status(why: &SessionError) -> Option<u16> {
    match why {
        SessionError::HandshakeTimeout(_) | SessionError::HeartbeatTimeout | SessionError::TtlExpired => None,
        SessionError::Protocol(CodecError::WebSocket(WsFault::Tls)) => None,
        SessionError::Protocol(
            CodecError::WebSocket(WsFault::TooLarge { .. }) | CodecError::FrameTooLarge { .. },
        ) => Some(MESSAGE_TOO_BIG),
        SessionError::AuthFailed(status) if status == "300" => Some(TRY_AGAIN_LATER),
        SessionError::AuthFailed(_) | SessionError::ZapUnavailable | SessionError::ZapMalformed(_) => {
            Some(POLICY_VIOLATION)
        }
        // It refused us: the end is its choice, and orderly.
        SessionError::PeerError(_) => Some(NORMAL_CLOSURE),
        _ => Some(PROTOCOL_ERROR),
    }
}

/// Random bytes from the system: the upgrade's key, and the seed of the masks (which must
/// not be guessable from what is on the wire, RFC 6455 §10.3).
fn rand_bytes(out: &mut [u8]) {
    use crypto_box::aead::rand_core::RngCore;
    crypto_box::aead::OsRng.fill_bytes(out);
}
