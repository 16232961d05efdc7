//! The ZMTP 3.0/3.1 wire codec (RFC 23, RFC 37), sans I/O.
//!
//! Everything here is a pure function over byte slices: decoders take whatever bytes have
//! arrived and answer "need more" (`Ok(None)`), a value borrowing from the input, or a
//! [`CodecError`]; encoders append to a caller-owned `Vec<u8>`. Nothing in this module touches
//! a socket, a timer or the clock, so the session layer above drives it by accumulating bytes
//! and re-parsing, and every rule can be tested with plain byte arrays.
//!
//! Layout, outermost first:
//! - [`greeting`]: the fixed 64-byte greeting, validated incrementally so garbage is refused on
//!   its first bad byte rather than after 64 (we must also never wait for the whole greeting
//!   before sending ours: libzmq sends its own in parts), and sent in libzmq's steps.
//! - [`frame`]: the 2- or 9-byte frame header; the hot path, hand-written and allocation-free.
//! - [`command`]: command frame bodies (`READY`, `ERROR`, `PING`, `PONG`, `SUBSCRIBE`, `CANCEL`,
//!   anything else passed through), parsed with `nom`.
//! - [`properties`]: the metadata property lists carried by `READY` (and later `INITIATE`).
//! - [`null`]: the NULL mechanism: our `READY` and the checks on the peer's.
//! - [`plain`] and [`curve`]: the PLAIN (RFC 24) and CURVE (RFC 26) command layouts, and
//!   CURVE's MESSAGE cipher.
//!
//! Invariants: decoders never panic and never allocate in proportion to a length claimed by
//! the peer (only to bytes actually present); sizes are checked against limits before anyone
//! could allocate for them.

use crate::socket_type::SocketType;

pub mod command;
pub mod curve;
pub mod frame;
pub mod greeting;
pub mod null;
pub mod plain;
pub mod properties;
pub mod ws;

pub use command::{parse_command, Command};
pub use frame::{decode_header, encode_frame, encode_header, FrameHeader};
pub use greeting::{Greeting, GreetingSender, Mechanism, GREETING_LEN, GREETING_VERSION_END, SIGNATURE_LEN};
pub use null::PeerInfo;
pub use properties::{parse_properties, Property};

/// Everything that can be wrong with bytes from a peer. Small and `Copy`.
///
/// Every variant is fatal for the connection: the session reports it and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// `ws://`: the peer's HTTP upgrade or WebSocket frames are not ZWS 2.0.
    #[error("WebSocket: {0}")]
    WebSocket(ws::WsFault),
    /// The greeting does not start with `0xFF … 0x7F` (not a ZMTP 3 peer, or garbage).
    #[error("bad greeting signature")]
    BadSignature,
    /// The peer speaks ZMTP 1.0 or 2.0, which we do not implement.
    #[error("unsupported ZMTP version {major}.{minor}")]
    UnsupportedVersion {
        /// The major version the peer sent.
        major: u8,
        /// The minor version the peer sent (0 if it had not arrived yet).
        minor: u8,
    },
    /// The greeting names a mechanism other than `NULL`, `PLAIN` or `CURVE`.
    #[error("unknown security mechanism")]
    UnknownMechanism,
    /// A frame's flags byte has reserved bits set; the byte is carried.
    #[error("reserved frame flag bits set: {0:#04x}")]
    BadFlags(u8),
    /// A frame is larger than the configured (or built-in) limit.
    #[error("frame of {size} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The size the frame header claims.
        size: u64,
        /// The limit it was checked against.
        max: u64,
    },
    /// A CURVE public key of low order: the shared secret would be all zero (libsodium
    /// refuses it, so libzmq does).
    #[error("weak CURVE key (low-order point)")]
    WeakKey,
    /// A command frame that does not follow the RFC grammar (a truncated name, say).
    #[error("malformed command")]
    MalformedCommand,
    /// A command of this name whose size or fields are wrong (a 6-byte CURVE HELLO, a
    /// version other than 1.0): libzmq's `MALFORMED_COMMAND_<name>` protocol errors.
    #[error("malformed {0} command")]
    Malformed(CommandName),
    /// A metadata property list that is truncated or has a bad name.
    #[error("malformed metadata property")]
    MalformedProperty,
    /// The peer's `READY` has no `Socket-Type`.
    #[error("missing Socket-Type property")]
    MissingSocketType,
    /// The peer's `Socket-Type` is not one we know.
    #[error("unknown socket type")]
    UnknownSocketType,
    /// The peer's socket type is not a valid partner for ours.
    #[error("socket type {ours} cannot talk to {peer}")]
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's socket type.
        peer: SocketType,
    },
    /// The peer's `Identity` is longer than 255 bytes.
    #[error("bad routing id")]
    BadRoutingId,
    /// A box did not open: wrong key, or bytes changed on the way (CURVE).
    #[error("cryptographic check failed (wrong key or tampered data)")]
    Cryptographic,
    /// A CURVE nonce that is not above the previous one: a replayed or reordered frame.
    #[error("replayed or out-of-order CURVE nonce")]
    NonceReplay,
    /// A well-formed command arrived where another was required.
    #[error("expected {expected}, got another command")]
    UnexpectedCommand {
        /// The name of the command that was expected.
        expected: &'static str,
    },
}

/// The commands whose malformed bodies libzmq's monitor tells apart
/// ([`CodecError::Malformed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandName {
    /// `HELLO` (PLAIN, CURVE).
    Hello,
    /// `WELCOME` (PLAIN, CURVE).
    Welcome,
    /// `INITIATE` (CURVE).
    Initiate,
    /// `READY` (CURVE's boxed one).
    Ready,
    /// `ERROR`.
    Error,
    /// `MESSAGE` (CURVE).
    Message,
}

impl std::fmt::Display for CommandName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CommandName::Hello => "HELLO",
            CommandName::Welcome => "WELCOME",
            CommandName::Initiate => "INITIATE",
            CommandName::Ready => "READY",
            CommandName::Error => "ERROR",
            CommandName::Message => "MESSAGE",
        })
    }
}

/// Entry points for fuzz targets. Not a stable API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing {
    use super::{command, frame, greeting, null, properties};
    use crate::socket_type::SocketType;

    /// Runs every decoder over `data`: greeting, frame headers in a loop, commands,
    /// properties, `null::check_ready`; must never panic.
    pub fn decode_all(data: &[u8]) {
        let _ = greeting::Greeting::decode(data);
        frames(data, Some(1 << 20));
        frames(data, None);
        command_body(data);
        if let Ok(props) = properties::parse_properties(data) {
            // The property encoding is canonical, so a successful parse must re-encode to
            // exactly the input.
            let mut out = Vec::with_capacity(data.len());
            for p in &props {
                let name = std::str::from_utf8(p.name).expect("names are ASCII");
                properties::encode_property(&mut out, name, p.value);
            }
            assert_eq!(out, data);
        }
    }

    /// Walks `data` as a stream of frames, parsing every complete command body.
    fn frames(mut data: &[u8], max: Option<u64>) {
        while let Ok(Some(h)) = frame::decode_header(data, max) {
            let rest = &data[h.header_len..];
            let Some(body) = usize::try_from(h.size).ok().and_then(|n| rest.get(..n)) else {
                return;
            };
            if h.command {
                command_body(body);
            }
            data = &rest[body.len()..];
        }
    }

    fn command_body(body: &[u8]) {
        if let Ok(command::Command::Ready(props)) = command::parse_command(body) {
            for ours in SocketType::ALL {
                let _ = null::check_ready(ours, &props);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: a tiny deterministic PRNG so the random test needs no extra crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Random bytes, biased toward values the decoders branch on.
        fn bytes(&mut self, len: usize) -> Vec<u8> {
            const INTERESTING: [u8; 8] = [0x00, 0x01, 0x02, 0x04, 0x06, 0x7F, 0xFF, 3];
            (0..len)
                .map(|_| match self.next() % 4 {
                    0 => INTERESTING[(self.next() % 8) as usize],
                    _ => self.next() as u8,
                })
                .collect()
        }
    }

    /// A valid session opening: greeting, READY, a two-part message, a PING.
    fn valid_stream() -> Vec<u8> {
        let mut out = Vec::new();
        Greeting::ours().encode(&mut out);
        null::encode_ready(&mut out, SocketType::PUSH, b"");
        encode_frame(&mut out, true, false, b"part one");
        encode_frame(&mut out, false, false, &[7; 300]);
        command::encode_ping(&mut out, 10, b"ctx");
        out
    }

    /// Decodes complete frames from `data` until one is incomplete; returns how many.
    /// Panics on any error: for a prefix of a valid stream there must be none.
    fn count_frames(mut data: &[u8]) -> usize {
        let mut n = 0;
        while let Some(h) = decode_header(data, Some(1024)).unwrap() {
            let Some(body) = data.get(h.header_len..h.header_len + h.size as usize) else {
                break;
            };
            if h.command {
                parse_command(body).unwrap();
            }
            data = &data[h.header_len + body.len()..];
            n += 1;
        }
        n
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let len = (rng.next() % 96) as usize;
            fuzzing::decode_all(&rng.bytes(len));
        }
    }

    #[test]
    fn mutated_valid_streams_never_panic() {
        let mut rng = XorShift(42);
        let valid = valid_stream();
        for _ in 0..5_000 {
            let mut data = valid.clone();
            for _ in 0..=rng.next() % 4 {
                let at = (rng.next() % data.len() as u64) as usize;
                data[at] = rng.bytes(1)[0];
            }
            // Feed the frames on their own as well, past the greeting.
            fuzzing::decode_all(&data);
            fuzzing::decode_all(&data[GREETING_LEN..]);
        }
    }

    #[test]
    fn every_prefix_of_a_valid_stream_is_ok() {
        let valid = valid_stream();
        for len in 0..=valid.len() {
            let prefix = &valid[..len];
            fuzzing::decode_all(prefix);
            assert!(Greeting::decode(prefix).is_ok(), "greeting prefix {len}");
            count_frames(prefix.get(GREETING_LEN..).unwrap_or(&[]));
        }
        assert_eq!(count_frames(&valid[GREETING_LEN..]), 4);
    }

    #[test]
    fn errors_are_small_copy_and_displayable() {
        assert!(std::mem::size_of::<CodecError>() <= 24);
        let e = CodecError::IncompatibleSocketType { ours: SocketType::PUSH, peer: SocketType::PUB };
        assert_eq!(e.to_string(), "socket type PUSH cannot talk to PUB");
        let too_large = CodecError::FrameTooLarge { size: 10, max: 5 };
        assert_eq!(too_large.to_string(), "frame of 10 bytes exceeds the limit of 5");
        assert_eq!(CodecError::BadFlags(8).to_string(), "reserved frame flag bits set: 0x08");
        let v = CodecError::UnsupportedVersion { major: 2, minor: 0 };
        assert_eq!(v.to_string(), "unsupported ZMTP version 2.0");
        let u = CodecError::UnexpectedCommand { expected: "READY" };
        assert_eq!(u.to_string(), "expected READY, got another command");
    }
}
