//! [`Encoder`]: the session's ZMTP bytes in, WebSocket frames out.

use super::{extend_masked, Control};
use super::{OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, WS_COMMAND, WS_MORE, ZMTP_COMMAND, ZMTP_LONG, ZMTP_MORE};
use crate::codec::greeting::{Mechanism, GREETING_LEN};
use crate::codec::properties::parse_properties;
use std::ops::Range;

/// ZMTP frames in, WebSocket frames out.
#[derive(Debug)]
pub struct Encoder {
    /// We are the client: every frame is masked.
    mask: bool,
    /// CURVE: `MESSAGE` commands go out flagged 0x00, as libzmq sends them.
    curve: bool,
    /// Bytes of our ZMTP greeting still to drop.
    greeting_left: usize,
    /// `ZWS2.0`: our READY goes out as a message holding our routing id.
    raw_ready: bool,
    /// ZMTP bytes of a frame not complete yet.
    staged: Vec<u8>,
    rng: fastrand::Rng,
}

impl Encoder {
    /// An encoder for one side of a connection; `seed` for the masks (the client's).
    pub fn new(client: bool, mechanism: Mechanism, seed: u64) -> Encoder {
        Encoder {
            mask: client,
            curve: mechanism == Mechanism::Curve,
            greeting_left: GREETING_LEN,
            raw_ready: false,
            staged: Vec::new(),
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Whether this encoder masks its frames (a client's).
    pub fn masks(&self) -> bool {
        self.mask
    }

    /// `ZWS2.0` was agreed: our READY is sent as our routing id.
    pub fn raw_mode(&mut self) {
        self.raw_ready = true;
    }

    /// Takes the session's ZMTP bytes; appends a WebSocket frame to `out` for each ZMTP
    /// frame completed (PING and PONG commands become ping and pong frames, SUBSCRIBE and
    /// CANCEL data frames as ZMTP 3.0 writes them).
    pub fn encode(&mut self, zmtp: &[u8], out: &mut Vec<u8>) {
        let body = self.encode_split(zmtp, out, usize::MAX);
        debug_assert!(body.is_none(), "no body is left in place");
    }

    /// As [`Encoder::encode`], but stops at a data frame whose body of at least `min`
    /// bytes lies whole in `zmtp`: that frame's header and flags byte go to `out`, its body
    /// is left where it is, and its place in `zmtp` is returned. The caller writes those
    /// bytes as they are right behind `out` (a server's frames are not masked: the body is
    /// the rest of the payload), then gives what follows them to this encoder again. A
    /// client's encoder never stops: it masks every body into `out`.
    pub fn encode_split(&mut self, zmtp: &[u8], out: &mut Vec<u8>, min: usize) -> Option<Range<usize>> {
        let min = if self.mask { usize::MAX } else { min };
        let mut at = self.greeting_left.min(zmtp.len());
        self.greeting_left -= at;
        if !self.staged.is_empty() {
            let (used, body) = self.finish_staged(&zmtp[at..], out, min);
            at += used;
            if let Some(len) = body {
                return Some(at..at + len);
            }
            if !self.staged.is_empty() {
                return None;
            }
        }
        let (used, body) = self.frames(&zmtp[at..], out, min);
        at += used;
        if let Some(len) = body {
            return Some(at..at + len);
        }
        self.staged.extend_from_slice(&zmtp[at..]);
        None
    }

    /// Completes the frame begun in `staged` with the front of `zmtp`. Returns how many
    /// bytes of `zmtp` it took (all of them while the frame is not complete) and, where the
    /// frame's body of at least `min` bytes is left in place, that body's length (it
    /// follows those bytes). A data frame of which only the header is staged takes its
    /// body straight from `zmtp` (the session writes a large body as a piece of its own:
    /// staged, it would be copied twice).
    fn finish_staged(&mut self, zmtp: &[u8], out: &mut Vec<u8>, min: usize) -> (usize, Option<usize>) {
        let header: usize = if self.staged[0] & ZMTP_LONG != 0 { 9 } else { 2 };
        let need = header.saturating_sub(self.staged.len()).min(zmtp.len());
        self.staged.extend_from_slice(&zmtp[..need]);
        let rest = &zmtp[need..];
        if self.staged.len() < header {
            return (zmtp.len(), None);
        }
        let size = match header {
            9 => u64::from_be_bytes(self.staged[1..9].try_into().expect("8 bytes")) as usize,
            _ => usize::from(self.staged[1]),
        };
        let have = self.staged.len() - header;
        let missing = size.saturating_sub(have);
        if rest.len() < missing {
            self.staged.extend_from_slice(rest);
            return (zmtp.len(), None);
        }
        let flags = self.staged[0];
        if have == 0 && flags & ZMTP_COMMAND == 0 {
            let more = if flags & ZMTP_MORE != 0 { WS_MORE } else { 0 };
            self.staged.clear();
            if missing >= min {
                self.header_only(&[more], missing, out);
                return (need, Some(missing));
            }
            self.frame(OP_BINARY, &[more], &rest[..missing], out);
        } else {
            self.staged.extend_from_slice(&rest[..missing]);
            let staged = std::mem::take(&mut self.staged);
            let (used, _) = self.frames(&staged, out, usize::MAX);
            debug_assert_eq!(used, staged.len(), "one whole frame staged");
            self.staged = staged;
            self.staged.clear();
        }
        (need + missing, None)
    }

    /// Encodes the complete ZMTP frames at the front of `zmtp`; returns the bytes they took
    /// and, where it stopped at a data frame whose body of at least `min` bytes it left in
    /// place, that body's length (the body follows the bytes taken).
    fn frames(&mut self, zmtp: &[u8], out: &mut Vec<u8>, min: usize) -> (usize, Option<usize>) {
        let mut at = 0;
        while let Some(&f) = zmtp.get(at) {
            let (size, header) = if f & ZMTP_LONG != 0 {
                let Some(b) = zmtp.get(at + 1..at + 9) else { break };
                (u64::from_be_bytes(b.try_into().expect("8 bytes")) as usize, 9)
            } else {
                let Some(&b) = zmtp.get(at + 1) else { break };
                (usize::from(b), 2)
            };
            let Some(body) = zmtp.get(at + header..at + header + size) else { break };
            let more = if f & ZMTP_MORE != 0 { WS_MORE } else { 0 };
            if f & ZMTP_COMMAND == 0 && size >= min {
                self.header_only(&[more], size, out);
                return (at + header, Some(size));
            }
            at += header + size;
            if f & ZMTP_COMMAND == 0 {
                self.frame(OP_BINARY, &[more], body, out);
                continue;
            }
            let name = body.get(1..1 + usize::from(body[0])).unwrap_or_default();
            let rest = body.get(1 + name.len()..).unwrap_or_default();
            if std::mem::take(&mut self.raw_ready) && name == b"READY" {
                let props = parse_properties(rest).unwrap_or_default();
                let id = props
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(b"Identity"))
                    .map_or(&[][..], |p| p.value);
                self.frame(OP_BINARY, &[0], id, out);
                continue;
            }
            match name {
                b"PING" => self.frame(OP_PING, &[], &[], out),
                b"PONG" => self.frame(OP_PONG, &[], &[], out),
                b"SUBSCRIBE" => self.frame(OP_BINARY, &[0, 1], rest, out),
                b"CANCEL" => self.frame(OP_BINARY, &[0, 0], rest, out),
                b"MESSAGE" if self.curve => self.frame(OP_BINARY, &[0], body, out),
                _ => self.frame(OP_BINARY, &[more | WS_COMMAND], body, out),
            }
        }
        (at, None)
    }

    /// One data frame of a message (`more`: frames follow), as [`Encoder::encode`] makes of
    /// a ZMTP message frame: for writers that frame messages themselves, not ZMTP bytes.
    pub fn data_frame(&mut self, more: bool, body: &[u8], out: &mut Vec<u8>) {
        self.frame(OP_BINARY, &[if more { WS_MORE } else { 0 }], body, out);
    }

    /// A CURVE `MESSAGE` command (`command`: its name, nonce and box, without the ZMTP
    /// frame header), as [`Encoder::encode`] makes of one: flagged 0x00, as libzmq sends it.
    /// For writers that encrypt messages themselves.
    pub fn curve_message(&mut self, command: &[u8], out: &mut Vec<u8>) {
        debug_assert!(self.curve && command.starts_with(b"\x07MESSAGE"));
        self.frame(OP_BINARY, &[0], command, out);
    }

    /// Our answer to a control frame: a pong, or the close echoed.
    pub fn control(&mut self, control: &Control, out: &mut Vec<u8>) {
        match control {
            Control::Ping(payload) => self.frame(OP_PONG, &[], payload, out),
            Control::Close(payload) => self.frame(OP_CLOSE, &[], payload, out),
        }
    }

    /// One frame: FIN, `opcode`, the payload `head` + `body`, masked if we are the client.
    fn frame(&mut self, opcode: u8, head: &[u8], body: &[u8], out: &mut Vec<u8>) {
        match self.header(opcode, head.len() + body.len(), out) {
            None => {
                out.extend_from_slice(head);
                out.extend_from_slice(body);
            }
            Some(key) => {
                extend_masked(out, head, key);
                // The body starts `head.len()` bytes into the payload: so into the key.
                let mut body_key = key;
                body_key.rotate_left(head.len() % 4);
                extend_masked(out, body, body_key);
            }
        }
    }

    /// An unmasked binary frame's header and `head`, for a body of `body_len` bytes that
    /// the caller writes behind them.
    fn header_only(&mut self, head: &[u8], body_len: usize, out: &mut Vec<u8>) {
        let key = self.header(OP_BINARY, head.len() + body_len, out);
        debug_assert!(key.is_none(), "a masked body is never left in place");
        out.extend_from_slice(head);
    }

    /// A frame's header for a payload of `len` bytes: FIN, `opcode`, the length and, if we
    /// are the client, a mask key (returned).
    fn header(&mut self, opcode: u8, len: usize, out: &mut Vec<u8>) -> Option<[u8; 4]> {
        let mask_bit = if self.mask { 0x80 } else { 0 };
        out.push(0x80 | opcode);
        match len {
            0..=125 => out.push(mask_bit | len as u8),
            126..=0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        if !self.mask {
            return None;
        }
        let key = self.rng.u32(..).to_be_bytes();
        out.extend_from_slice(&key);
        Some(key)
    }
}
