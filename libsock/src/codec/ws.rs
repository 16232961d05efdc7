//! ZWS 2.0: ZMTP over WebSocket (RFC 6455), as libzmq 4.3's `ws://` transport speaks it.
//!
//! The connecting side sends an HTTP/1.1 upgrade request offering the subprotocol of its
//! mechanism (`ZWS2.0/NULL`, `ZWS2.0/PLAIN`, `ZWS2.0/CURVE`); the listening side answers
//! `101 Switching Protocols` with that subprotocol. There is no ZMTP greeting: the mechanism
//! handshake starts at once, each ZMTP frame one binary WebSocket frame whose payload is a
//! flags byte (`0x01` more, `0x02` command) and the frame's body. Heartbeats are WebSocket
//! ping and pong frames; subscriptions are data frames `0x01`/`0x00` + topic, as in ZMTP 3.0;
//! a CURVE `MESSAGE` travels with flags `0x00`. The client masks every frame, the server none.
//! libzmq never fragments a message and refuses fragments; libsock reassembles them (control
//! frames may come between), as RFC 6455 asks of every endpoint, and never sends any.
//!
//! A browser cannot offer those (a `/` is no token character in a subprotocol name): it
//! offers `ZWS2.0`, libzmq's mode without a mechanism, which a NULL listener takes: no
//! READY either way, each side's first message is its routing id instead, and the peer is
//! taken for a type that may talk to ours.
//!
//! The engine runs its ZMTP session unchanged over this: [`Decoder`] turns WebSocket frames
//! into ZMTP 3.1 frames (after a [`peer_greeting`] made up for the negotiated mechanism) and
//! [`Encoder`] turns the session's ZMTP bytes into WebSocket frames (dropping its greeting).
//! Sans-I/O: bytes in, bytes out.

use base64::Engine as _;
use bytes::{Buf, BytesMut};
use sha1::{Digest, Sha1};

use super::greeting::{Greeting, Mechanism, GREETING_LEN};
use crate::socket_type::SocketType;

mod encode;
mod through;
pub use encode::Encoder;
use through::Through;
pub use through::PASS_THROUGH_MIN;

/// The longest HTTP upgrade request or response taken (libzmq's header limits are per line;
/// a browser's request is well under 2 KiB).
pub const MAX_HANDSHAKE: usize = 16 * 1024;

/// RFC 6455's GUID, appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const OP_CONTINUATION: u8 = 0x0;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// ZWS flags byte bits.
const WS_MORE: u8 = 0x01;
const WS_COMMAND: u8 = 0x02;

/// ZMTP frame flags bits.
const ZMTP_MORE: u8 = 0x01;
const ZMTP_LONG: u8 = 0x02;
const ZMTP_COMMAND: u8 = 0x04;

/// What is wrong with a peer's WebSocket bytes. Each closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WsFault {
    /// The upgrade request or response is longer than [`MAX_HANDSHAKE`].
    #[error("HTTP upgrade longer than {MAX_HANDSHAKE} bytes")]
    HandshakeTooLong,
    /// Not a `GET … HTTP/1.1` request, or a header line without a colon.
    #[error("malformed HTTP upgrade request")]
    BadRequest,
    /// Not an `HTTP/1.1 101` response, or a malformed header line.
    #[error("malformed or refused HTTP upgrade response")]
    BadResponse,
    /// `Upgrade: websocket` or `Connection: Upgrade` is missing.
    #[error("not a WebSocket upgrade")]
    NotAnUpgrade,
    /// No `Sec-WebSocket-Key`, or a `Sec-WebSocket-Version` other than 13.
    #[error("missing Sec-WebSocket-Key or unsupported Sec-WebSocket-Version")]
    BadKey,
    /// The server's `Sec-WebSocket-Accept` is not the key's.
    #[error("wrong Sec-WebSocket-Accept")]
    BadAccept,
    /// No subprotocol offered (or chosen) is this socket's mechanism.
    #[error("no ZWS2.0 subprotocol for this socket's mechanism")]
    NoProtocol,
    /// A frame from a client without a mask, or from a server with one.
    #[error("WebSocket frame masked the wrong way")]
    Masking,
    /// Reserved bits, a text frame, an unknown opcode, a fragmented control frame, or a
    /// continuation out of place: none is ZWS.
    #[error("WebSocket frame not used by ZWS (reserved bits, text, unknown opcode, fragment out of place)")]
    Unsupported,
    /// A binary frame without its flags byte, or a control frame over 125 bytes.
    #[error("malformed WebSocket frame")]
    Malformed,
    /// A binary frame announcing a body over MAXMSGSIZE.
    #[error("frame of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The body size the frame announces.
        size: u64,
        /// MAXMSGSIZE.
        max: u64,
    },
    /// `wss://`: the TLS under the WebSocket failed (an untrusted certificate, a wrong
    /// name, a bad record; the reason is logged).
    #[error("TLS failed")]
    Tls,
}

/// The Sec-WebSocket-Accept for a Sec-WebSocket-Key.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// A fresh Sec-WebSocket-Key: 16 random bytes in base64.
pub fn new_key(random: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(random)
}

/// The subprotocol naming a mechanism.
pub fn protocol(mechanism: Mechanism) -> &'static str {
    match mechanism {
        Mechanism::Null => "ZWS2.0/NULL",
        Mechanism::Plain => "ZWS2.0/PLAIN",
        Mechanism::Curve => "ZWS2.0/CURVE",
    }
}

/// The connecting side's upgrade request, as libzmq writes it (`Host` without the port).
pub fn request(host: &str, path: &str, key: &str, mechanism: Mechanism) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        protocol(mechanism)
    )
    .into_bytes()
}

/// The listening side's answer to a request it cannot take (libzmq just closes).
pub const REFUSAL: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n";

/// The end of an HTTP head in `buf`: the length of the head with its blank line, once there.
fn head_len(buf: &[u8]) -> Result<Option<usize>, WsFault> {
    match buf.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) if at + 4 <= MAX_HANDSHAKE => Ok(Some(at + 4)),
        Some(_) => Err(WsFault::HandshakeTooLong),
        None if buf.len() >= MAX_HANDSHAKE => Err(WsFault::HandshakeTooLong),
        None => Ok(None),
    }
}

/// An HTTP head: its first line, and its headers (names as written, values trimmed).
type Head<'a> = (&'a str, Vec<(&'a str, &'a str)>);

/// An HTTP head's first line and its headers.
fn split_head(head: &[u8], bad: WsFault) -> Result<Head<'_>, WsFault> {
    let text = std::str::from_utf8(head).map_err(|_| bad)?;
    let mut lines = text.trim_end_matches("\r\n").split("\r\n");
    let first = lines.next().ok_or(bad)?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(bad)?;
        if name.is_empty() || name.contains([' ', '\t', '\n', '\r']) || value.contains(['\n', '\r']) {
            return Err(bad);
        }
        headers.push((name, value.trim_matches([' ', '\t'])));
    }
    Ok((first, headers))
}

/// The value of header `name` (the last one), compared without case.
fn header<'a>(headers: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
}

/// Whether a comma-separated header value holds `token` (without case).
fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// The subprotocol without a mechanism (what a browser can offer; NULL sockets only).
pub const RAW_PROTOCOL: &str = "ZWS2.0";

/// A listener's answer to a complete upgrade request.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// The 101 response to send.
    pub response: Vec<u8>,
    /// The bytes the request took (frames may follow).
    pub used: usize,
    /// `ZWS2.0` was agreed: no mechanism, routing ids as first messages.
    pub raw: bool,
}

/// A complete upgrade request at the start of `buf`, checked and answered: ours
/// (`ZWS2.0/<mechanism>`) if offered, else `ZWS2.0` for a NULL socket; `Ok(None)` until its
/// blank line has arrived.
pub fn answer_request(buf: &[u8], mechanism: Mechanism) -> Result<Option<Answer>, WsFault> {
    let Some(len) = head_len(buf)? else { return Ok(None) };
    let (first, headers) = split_head(&buf[..len], WsFault::BadRequest)?;
    let mut words = first.split(' ');
    let (Some("GET"), Some(target), Some("HTTP/1.1"), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(WsFault::BadRequest);
    };
    if target.is_empty() {
        return Err(WsFault::BadRequest);
    }
    if !has_token(header(&headers, "Upgrade"), "websocket")
        || !has_token(header(&headers, "Connection"), "upgrade")
    {
        return Err(WsFault::NotAnUpgrade);
    }
    let key = header(&headers, "Sec-WebSocket-Key").filter(|k| !k.is_empty()).ok_or(WsFault::BadKey)?;
    if header(&headers, "Sec-WebSocket-Version").is_some_and(|v| v != "13") {
        return Err(WsFault::BadKey);
    }
    // Every offer (possibly over several headers) is looked at.
    let offers = || {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Protocol"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
    };
    let (ours, raw) = if offers().any(|t| t == protocol(mechanism)) {
        (protocol(mechanism), false)
    } else if mechanism == Mechanism::Null && offers().any(|t| t == RAW_PROTOCOL) {
        (RAW_PROTOCOL, true)
    } else {
        return Err(WsFault::NoProtocol);
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {ours}\r\n\r\n",
        accept_key(key)
    );
    Ok(Some(Answer { response: response.into_bytes(), used: len, raw }))
}

/// A complete upgrade response at the start of `buf`, checked against the request's `key`:
/// `Ok(Some(used))` once its blank line has arrived (frames may follow).
pub fn check_response(buf: &[u8], key: &str, mechanism: Mechanism) -> Result<Option<usize>, WsFault> {
    let Some(len) = head_len(buf)? else { return Ok(None) };
    let (first, headers) = split_head(&buf[..len], WsFault::BadResponse)?;
    let mut words = first.split(' ').filter(|w| !w.is_empty());
    if (words.next(), words.next()) != (Some("HTTP/1.1"), Some("101")) {
        return Err(WsFault::BadResponse);
    }
    if !has_token(header(&headers, "Upgrade"), "websocket")
        || !has_token(header(&headers, "Connection"), "upgrade")
    {
        return Err(WsFault::NotAnUpgrade);
    }
    if header(&headers, "Sec-WebSocket-Accept") != Some(accept_key(key).as_str()) {
        return Err(WsFault::BadAccept);
    }
    if header(&headers, "Sec-WebSocket-Protocol") != Some(protocol(mechanism)) {
        return Err(WsFault::NoProtocol);
    }
    Ok(Some(len))
}

/// The ZMTP 3.1 greeting the session is shown for a ZWS peer: the negotiated mechanism, and
/// the as-server role opposite to ours (NULL has none).
pub fn peer_greeting(mechanism: Mechanism, we_are_server: bool) -> [u8; GREETING_LEN] {
    let as_server = mechanism != Mechanism::Null && !we_are_server;
    Greeting { major: 3, minor: 1, mechanism, as_server }.to_bytes()
}

/// What a decoded control frame asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Answer with a pong carrying this payload.
    Ping(Vec<u8>),
    /// The peer closes: echo its close frame (this payload), then hang up.
    Close(Vec<u8>),
}

/// A frame's header: its opcode, the header's length, the payload's, and the mask.
struct FrameStart {
    opcode: u8,
    /// The last frame of its message.
    fin: bool,
    header: usize,
    len: usize,
    mask: Option<[u8; 4]>,
}

/// WebSocket frames in, ZMTP 3.1 frames out.
#[derive(Debug)]
pub struct Decoder {
    /// We are the server: frames must be masked.
    server: bool,
    /// MAXMSGSIZE: a frame announcing a larger body is refused before it arrives.
    max_body: Option<u64>,
    /// CURVE: a data frame holding `MESSAGE` is a command (libzmq sends them flagged 0x00).
    curve: bool,
    /// `ZWS2.0`: the peer's first message is its routing id, shown to the session as the
    /// READY of a peer of this type.
    raw_peer: Option<SocketType>,
    /// A binary message sent in fragments (RFC 6455 §5.4), its payload so far: libzmq and
    /// browsers never fragment, other clients do (Go's gorilla/websocket beyond its 4 KiB
    /// write buffer, Python's `websockets` for an iterable).
    fragments: Option<Vec<u8>>,
    /// A large frame's body, passed through as it arrives (`through`).
    through: Option<Through>,
}

impl Decoder {
    /// A decoder for one side of a connection.
    pub fn new(server: bool, max_body: Option<u64>, mechanism: Mechanism) -> Decoder {
        let curve = mechanism == Mechanism::Curve;
        Decoder { server, max_body, curve, raw_peer: None, fragments: None, through: None }
    }

    /// Bytes of a large frame's body still to come (it is passed through: see
    /// [`PASS_THROUGH_MIN`]): the engine may read them straight into the session's body,
    /// and shows them to [`Decoder::passed_in_place`] then. 0 when no body is passed
    /// through.
    pub fn through_left(&self) -> usize {
        self.through.as_ref().map_or(0, |t| t.left)
    }

    /// `bytes` of the passed-through body (at most [`Decoder::through_left`]) were read in
    /// place, after everything [`Decoder::decode`] took: unmasks them where they lie.
    pub fn passed_in_place(&mut self, bytes: &mut [u8]) {
        if let Some(t) = &mut self.through {
            t.arrived(bytes);
            if t.left == 0 {
                self.through = None;
            }
        }
    }

    /// Whether a message sent in fragments is under way (its first fragments decoded).
    pub fn in_fragments(&self) -> bool {
        self.fragments.is_some()
    }

    /// `ZWS2.0` was agreed: the peer (a socket of no known type) is taken for `peer`.
    pub fn raw_mode(&mut self, peer: SocketType) {
        self.raw_peer = Some(peer);
    }

    /// Decodes every complete frame at the front of `raw` (which keeps the rest): data
    /// frames are appended to `zmtp` as ZMTP frames, pings and a close go to `controls`.
    /// Stops after a close frame. A large data frame is passed through as it arrives
    /// (see [`PASS_THROUGH_MIN`]): its ZMTP header first, then its body's bytes as they come.
    pub fn decode(
        &mut self,
        raw: &mut BytesMut,
        zmtp: &mut BytesMut,
        controls: &mut Vec<Control>,
    ) -> Result<(), WsFault> {
        loop {
            if !self.pass_through(raw, zmtp) {
                return Ok(());
            }
            let Some(start) = self.header(raw)? else { break };
            if self.starts_through(&start, raw, zmtp) {
                continue;
            }
            let FrameStart { opcode, fin, header, len, mask } = start;
            let Some(total) = header.checked_add(len).filter(|t| *t <= raw.len()) else { break };
            // Unmasked where it lies: the read buffer is ours, and a data frame's body is then
            // copied once, into the ZMTP bytes.
            if let Some(key) = mask {
                xor_mask(&mut raw[header..total], key);
            }
            let result = match opcode {
                OP_BINARY if fin => self.data(&raw[header..total], zmtp),
                OP_BINARY | OP_CONTINUATION => {
                    let part = &raw[header..total];
                    let so_far = self.fragments.get_or_insert_with(Vec::new);
                    so_far.extend_from_slice(part);
                    match fin {
                        true => {
                            let whole = self.fragments.take().unwrap_or_default();
                            self.data(&whole, zmtp)
                        }
                        false => Ok(()),
                    }
                }
                OP_PING => {
                    controls.push(Control::Ping(raw[header..total].to_vec()));
                    Ok(())
                }
                OP_PONG => Ok(()), // reading anything proves the peer alive
                _ => {
                    controls.push(Control::Close(raw[header..total].to_vec()));
                    raw.advance(total);
                    return Ok(());
                }
            };
            raw.advance(total);
            result?;
        }
        Ok(())
    }

    /// Appends what `raw` holds of a passed-through body to `zmtp`; `true` once no body is
    /// passed through (the next frame may be decoded).
    fn pass_through(&mut self, raw: &mut BytesMut, zmtp: &mut BytesMut) -> bool {
        let Some(t) = &mut self.through else { return true };
        let n = t.left.min(raw.len());
        let start = zmtp.len();
        zmtp.extend_from_slice(&raw[..n]);
        raw.advance(n);
        t.arrived(&mut zmtp[start..]);
        if t.left > 0 {
            return false;
        }
        self.through = None;
        true
    }

    /// Starts passing a frame through if it is a large data frame of one message, not all
    /// here, whose flags byte is: its ZMTP header goes to `zmtp`, the header and flags byte
    /// are taken from `raw`. Not for CURVE (a `MESSAGE` is told by its first bytes) nor for
    /// a `ZWS2.0` peer's first message.
    fn starts_through(&mut self, start: &FrameStart, raw: &mut BytesMut, zmtp: &mut BytesMut) -> bool {
        let &FrameStart { opcode, fin, header, len, mask } = start;
        let plain_data = opcode == OP_BINARY && fin && self.fragments.is_none();
        if !plain_data || self.curve || self.raw_peer.is_some() || len <= PASS_THROUGH_MIN + 1 {
            return false;
        }
        if len as u64 - 1 > super::frame::MAX_DATA_SIZE {
            return false; // no ZMTP frame could say it (it waits for its bytes as before)
        }
        if raw.len() <= header || raw.len() >= header + len {
            return false; // the flags byte not in yet, or all of the frame: decoded whole
        }
        let flags = raw[header] ^ mask.map_or(0, |k| k[0]);
        if flags & !WS_MORE != 0 {
            return false; // a command, or bad flags: the usual path refuses it
        }
        let body = len - 1;
        push_zmtp_header(if flags & WS_MORE != 0 { ZMTP_MORE } else { 0 }, body, zmtp);
        raw.advance(header + 1);
        self.through = Some(Through::new(body, mask));
        true
    }

    /// The next frame's header, once all of it is in.
    fn header(&self, raw: &[u8]) -> Result<Option<FrameStart>, WsFault> {
        let [b0, b1, ..] = raw[..] else { return Ok(None) };
        let (opcode, fin) = (b0 & 0x0F, b0 & 0x80 != 0);
        let control = matches!(opcode, OP_CLOSE | OP_PING | OP_PONG);
        let data = match opcode {
            // A new message while one is in fragments, or a continuation of none: RFC 6455
            // §5.4 has the connection failed.
            OP_BINARY => self.fragments.is_none(),
            OP_CONTINUATION => self.fragments.is_some(),
            _ => false,
        };
        if b0 & 0x70 != 0 || !(control && fin || data) {
            return Err(WsFault::Unsupported);
        }
        if (b1 & 0x80 != 0) != self.server {
            return Err(WsFault::Masking);
        }
        let (len, mut at) = match b1 & 0x7F {
            126 if raw.len() >= 4 => (u64::from(u16::from_be_bytes([raw[2], raw[3]])), 4),
            127 if raw.len() >= 10 => (u64::from_be_bytes(raw[2..10].try_into().expect("8 bytes")), 10),
            126 | 127 => return Ok(None),
            n => (u64::from(n), 2),
        };
        if control && len > 125 {
            return Err(WsFault::Malformed);
        }
        if let Some(max) = self.max_body.filter(|_| data) {
            // A fragmented message counts whole: what came before, and this part.
            let size = (self.fragments.as_ref().map_or(0, Vec::len) as u64).saturating_add(len);
            if size.saturating_sub(1) > max {
                // Refused before the bytes are buffered, not once they all are.
                return Err(WsFault::TooLarge { size: size - 1, max });
            }
        }
        let len = usize::try_from(len).map_err(|_| WsFault::Malformed)?;
        let mask = match self.server {
            true if raw.len() < at + 4 => return Ok(None),
            true => {
                at += 4;
                Some(raw[at - 4..at].try_into().expect("4 bytes"))
            }
            false => None,
        };
        Ok(Some(FrameStart { opcode, fin, header: at, len, mask }))
    }

    /// A binary frame's payload as a ZMTP frame.
    fn data(&mut self, payload: &[u8], zmtp: &mut BytesMut) -> Result<(), WsFault> {
        let (&flags, body) = payload.split_first().ok_or(WsFault::Malformed)?;
        if let Some(peer) = self.raw_peer.take() {
            let mut ready = Vec::new();
            super::null::encode_ready(&mut ready, peer, body);
            zmtp.extend_from_slice(&ready);
            return Ok(());
        }
        if flags & (WS_COMMAND | WS_MORE) == WS_COMMAND | WS_MORE {
            return Err(WsFault::Malformed); // a command is never part of a message
        }
        let command = flags & WS_COMMAND != 0 || (self.curve && body.starts_with(b"\x07MESSAGE"));
        let f = match command {
            true => ZMTP_COMMAND,
            false if flags & WS_MORE != 0 => ZMTP_MORE,
            false => 0,
        };
        push_zmtp_frame(f, body, zmtp);
        Ok(())
    }
}

/// A whole binary data frame at the front of a read buffer that the direct read side may
/// take itself (see [`front_data_frame`]): unfragmented, no command, within the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFrame {
    /// The ZWS MORE flag: frames of the same message follow.
    pub more: bool,
    /// Where the payload (the flags byte, then the body) starts.
    payload: usize,
    /// The payload's length (at least 1: the flags byte).
    len: usize,
    /// The client's masking key, for frames that come masked.
    mask: Option<[u8; 4]>,
}

impl DataFrame {
    /// The body's length (the payload less its flags byte).
    pub fn body_len(&self) -> usize {
        self.len - 1
    }

    /// The whole frame's length: its header and payload.
    pub fn total(&self) -> usize {
        self.payload + self.len
    }

    /// Where the body starts in the frame.
    pub fn body_start(&self) -> usize {
        self.payload + 1
    }

    /// Unmasks the frame's payload in `frame` (the buffer it was found at the front of), in
    /// place: its body is then `frame[self.body_start()..self.total()]`.
    pub fn unmask(&self, frame: &mut [u8]) {
        if let Some(key) = self.mask {
            xor_mask(&mut frame[self.payload..self.total()], key);
        }
    }

    /// Copies the frame's body out of `frame` (as found, still masked) into `body`, of
    /// [`DataFrame::body_len`] bytes, unmasking it on the way: one pass, where [`Self::unmask`]
    /// and a copy make two.
    pub fn copy_body(&self, frame: &[u8], body: &mut [u8]) {
        let src = &frame[self.body_start()..self.total()];
        match self.mask {
            None => body.copy_from_slice(src),
            Some(mut key) => {
                key.rotate_left(1); // the body starts one byte (the flags) into the payload
                copy_masked(body, src, key);
            }
        }
    }
}

/// What is at the front of a read buffer, for the direct read side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// A whole data frame it may take.
    Data(DataFrame),
    /// Part of a frame: read more.
    Partial,
    /// A frame only the connection's [`Decoder`] takes (a control frame, a command, a
    /// fragment, a larger or a malformed frame): left as it is.
    Other,
}

/// The direct read side's part of [`Decoder`] (the application thread reads a `ws://`
/// stream itself): whether the frame at the front of `raw` is a whole data frame that
/// carries no command, is not fragmented and holds at most `max_body` bytes. Nothing is
/// changed: a frame left for the connection's own decoder must stay as it came. `server`:
/// frames come masked, from a client.
pub fn front_data_frame(raw: &[u8], server: bool, max_body: usize) -> Front {
    let [b0, b1, ..] = raw[..] else { return Front::Partial };
    if b0 != 0x80 | OP_BINARY || (b1 & 0x80 != 0) != server {
        return Front::Other;
    }
    let (len, mut at) = match b1 & 0x7F {
        126 if raw.len() >= 4 => (u64::from(u16::from_be_bytes([raw[2], raw[3]])), 4),
        127 if raw.len() >= 10 => (u64::from_be_bytes(raw[2..10].try_into().expect("8 bytes")), 10),
        126 | 127 => return Front::Partial,
        n => (u64::from(n), 2),
    };
    let Some(len) = usize::try_from(len).ok().filter(|l| (1..=max_body.saturating_add(1)).contains(l)) else {
        return Front::Other;
    };
    let mask = match server {
        true if raw.len() < at + 4 => return Front::Partial,
        true => {
            at += 4;
            Some(<[u8; 4]>::try_from(&raw[at - 4..at]).expect("4 bytes"))
        }
        false => None,
    };
    if raw.len() < at + len {
        return Front::Partial;
    }
    // The flags byte, read without unmasking in place.
    let flags = raw[at] ^ mask.map_or(0, |k| k[0]);
    if flags & !WS_MORE != 0 {
        return Front::Other;
    }
    Front::Data(DataFrame { more: flags & WS_MORE != 0, payload: at, len, mask })
}

/// The whole data frames at the front of `raw` ([`front_data_frame`]), appended to `zmtp`
/// as ZMTP frames and taken from `raw`: what the direct read side takes, in the form the
/// connection's [`Decoder`] gives them (the fuzz target compares the two). Returns `true`
/// when it stopped at any other frame (it stays in `raw`, untouched), `false` when `raw`
/// is used up or ends in a partial frame. Bodies over `copy_over` bytes are copied out
/// unmasked ([`DataFrame::copy_body`]), as the read side copies a flood's; the others are
/// unmasked in place.
#[cfg(any(test, feature = "fuzzing"))]
pub fn take_data_frames(
    raw: &mut BytesMut,
    server: bool,
    max_body: usize,
    copy_over: usize,
    zmtp: &mut BytesMut,
) -> bool {
    loop {
        let frame = match front_data_frame(raw, server, max_body) {
            Front::Data(frame) => frame,
            Front::Partial => return false,
            Front::Other => return true,
        };
        let more = if frame.more { ZMTP_MORE } else { 0 };
        if frame.body_len() > copy_over {
            let mut body = vec![0; frame.body_len()];
            frame.copy_body(raw, &mut body);
            push_zmtp_frame(more, &body, zmtp);
        } else {
            frame.unmask(raw);
            push_zmtp_frame(more, &raw[frame.body_start()..frame.total()], zmtp);
        }
        raw.advance(frame.total());
    }
}

/// Appends a ZMTP frame with `flags` (MORE, COMMAND) and `body`, in its short or long form.
fn push_zmtp_frame(flags: u8, body: &[u8], zmtp: &mut BytesMut) {
    push_zmtp_header(flags, body.len(), zmtp);
    zmtp.extend_from_slice(body);
}

/// Appends the header of a ZMTP frame with `flags` and a body of `len` bytes.
fn push_zmtp_header(flags: u8, len: usize, zmtp: &mut BytesMut) {
    if len > 255 {
        zmtp.extend_from_slice(&[flags | ZMTP_LONG]);
        zmtp.extend_from_slice(&(len as u64).to_be_bytes());
    } else {
        zmtp.extend_from_slice(&[flags, len as u8]);
    }
}

/// Appends `src` masked with `key` (its first byte at the key's phase 0): the copy and
/// [`xor_mask`] in one pass over the bytes, eight at a time (a client's frames, whose
/// bodies were copied first and then masked in place: half the speed at 64 KiB).
fn extend_masked(out: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let chunks = src.chunks_exact(8);
    let tail = chunks.remainder();
    out.reserve(src.len());
    out.extend(
        chunks.flat_map(|c| (u64::from_ne_bytes(c.try_into().expect("8 bytes")) ^ wide).to_ne_bytes()),
    );
    // The tail starts at a multiple of 8, so of 4: the key's phase is 0 there.
    out.extend(tail.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
}

/// Writes `src` masked with `key` (its first byte at the key's phase 0) into `dst`, of the
/// same length: [`extend_masked`] into a slice.
fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut to = dst.chunks_exact_mut(8);
    let from = src.chunks_exact(8);
    let tail = from.remainder();
    for (d, s) in (&mut to).zip(from) {
        d.copy_from_slice(&(u64::from_ne_bytes(s.try_into().expect("8 bytes")) ^ wide).to_ne_bytes());
    }
    for (i, (d, s)) in to.into_remainder().iter_mut().zip(tail).enumerate() {
        *d = s ^ key[i % 4];
    }
}

/// RFC 6455 §5.3 masking (its own inverse): byte `i` XOR `key[i % 4]`, eight bytes at a time.
fn xor_mask(buf: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes(c.try_into().expect("8 bytes")) ^ wide;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    // The tail starts at a multiple of 8, so of 4: the key's phase is 0 there.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

#[cfg(test)]
mod tests;
