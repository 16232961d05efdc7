//! Command frame bodies (RFC 23 §"Commands", RFC 37 for PING/PONG/SUBSCRIBE/CANCEL).
//!
//! A body is `name-len(1) name data`, the name 1..=255 ASCII letters. The commands the NULL
//! mechanism and a running session need are decoded into [`Command`]; any other well-formed
//! command (the PLAIN/CURVE handshake, unknown extensions) is handed over as
//! [`Command::Other`] so the caller decides whether it is an error.

use nom::bytes::complete::take;
use nom::combinator::{rest, verify};
use nom::multi::length_data;
use nom::number::complete::{be_u16, be_u8};
use nom::{IResult, Parser};

use super::frame::encode_header;
use super::properties::{encode_property, encoded_len, parse_properties, Property};
use super::{CodecError, CommandName};

/// Longest PING/PONG context (RFC 37).
pub const MAX_PING_CONTEXT: usize = 16;

/// A decoded command, borrowing from the frame body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `READY` with its metadata.
    Ready(Vec<Property<'a>>),
    /// `ERROR`: the peer refuses us; fatal.
    Error {
        /// The reason text (at most 255 bytes).
        reason: &'a [u8],
    },
    /// `PING` (ZMTP 3.1 heartbeat).
    Ping {
        /// How long the receiver may go without any traffic from the sender before it closes
        /// the connection, in tenths of a second (0: no limit).
        ttl_deciseconds: u16,
        /// Up to 16 bytes to echo in the `PONG`.
        context: &'a [u8],
    },
    /// `PONG`, answering a `PING`.
    Pong {
        /// The echoed context (up to 16 bytes).
        context: &'a [u8],
    },
    /// `SUBSCRIBE` (ZMTP 3.1) with its topic prefix.
    Subscribe(&'a [u8]),
    /// `CANCEL` (ZMTP 3.1) with its topic prefix.
    Cancel(&'a [u8]),
    /// Any other well-formed name (HELLO, WELCOME, INITIATE, unknown ...): the caller decides.
    Other {
        /// The command name.
        name: &'a [u8],
        /// Everything after the name.
        data: &'a [u8],
    },
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// `command-name = OCTET 1*255command-name-char`, `command-name-char = ALPHA`.
fn name(input: &[u8]) -> Res<'_, &[u8]> {
    verify(length_data(be_u8), |n: &[u8]| !n.is_empty() && n.iter().all(u8::is_ascii_alphabetic))
        .parse_complete(input)
}

/// The PING/PONG context: the rest of the body, cut to its first 16 bytes. RFC 37 allows
/// 16; libzmq 4.3 truncates a longer one and echoes the first 16 (its own test sends 58),
/// so a peer that overfills it keeps its connection here too.
fn context(input: &[u8]) -> Res<'_, &[u8]> {
    let (input, all) = rest(input)?;
    Ok((input, &all[..all.len().min(MAX_PING_CONTEXT)]))
}

fn ping(input: &[u8]) -> Res<'_, Command<'_>> {
    let (input, ttl_deciseconds) = be_u16(input)?;
    let (input, context) = context(input)?;
    Ok((input, Command::Ping { ttl_deciseconds, context }))
}

/// `error-reason = OCTET 0*255VCHAR`. Bytes after the reason are ignored, as libzmq does.
fn error(input: &[u8]) -> Res<'_, Command<'_>> {
    let (input, len) = be_u8(input)?;
    let (input, reason) = take(len).parse_complete(input)?;
    Ok((input, Command::Error { reason }))
}

/// Parses one command frame body (the bytes after the frame header).
///
/// Names are compared exactly as the RFCs spell them; an empty body, a truncated or non-alpha
/// name or a PING under 2 bytes of data is [`CodecError::MalformedCommand`] (a PING/PONG
/// context over 16 bytes is cut to 16); a truncated ERROR reason is `Malformed(Error)`; a
/// bad READY property list is [`CodecError::MalformedProperty`].
pub fn parse_command(body: &[u8]) -> Result<Command<'_>, CodecError> {
    let malformed = |_| CodecError::MalformedCommand;
    let (data, name) = name(body).map_err(malformed)?;
    Ok(match name {
        b"READY" => Command::Ready(parse_properties(data)?),
        b"ERROR" => error(data).map_err(|_| CodecError::Malformed(CommandName::Error))?.1,
        b"PING" => ping(data).map_err(malformed)?.1,
        b"PONG" => Command::Pong { context: context(data).map_err(malformed)?.1 },
        b"SUBSCRIBE" => Command::Subscribe(data),
        b"CANCEL" => Command::Cancel(data),
        _ => Command::Other { name, data },
    })
}

/// Appends a command frame header and the name; `data_len` bytes of data must follow.
fn begin(out: &mut Vec<u8>, name: &str, data_len: usize) {
    debug_assert!(!name.is_empty() && name.len() <= 255);
    let body_len = 1 + name.len() + data_len;
    out.reserve(9 + body_len);
    encode_header(out, false, true, body_len);
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

/// Appends a command frame whose data is the concatenation of `parts` (PLAIN and CURVE
/// handshake commands are fixed layouts of byte strings).
pub fn encode_command(out: &mut Vec<u8>, name: &str, parts: &[&[u8]]) {
    begin(out, name, parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// Appends a `READY` command frame with these properties, in order.
pub fn encode_ready(out: &mut Vec<u8>, props: &[(&str, &[u8])]) {
    let data_len = props.iter().map(|(n, v)| encoded_len(n, v)).sum();
    begin(out, "READY", data_len);
    for (name, value) in props {
        encode_property(out, name, value);
    }
}

/// Appends a `READY` command frame whose property list is already encoded.
pub fn encode_ready_raw(out: &mut Vec<u8>, properties: &[u8]) {
    begin(out, "READY", properties.len());
    out.extend_from_slice(properties);
}

/// Appends an `ERROR` command frame; the reason is truncated to 255 bytes.
pub fn encode_error(out: &mut Vec<u8>, reason: &str) {
    let reason = &reason.as_bytes()[..reason.len().min(255)];
    begin(out, "ERROR", 1 + reason.len());
    out.push(reason.len() as u8);
    out.extend_from_slice(reason);
}

/// Appends a command frame whose body (name length, name and data) is `body` as is.
pub fn encode_raw(out: &mut Vec<u8>, body: &[u8]) {
    out.reserve(9 + body.len());
    encode_header(out, false, true, body.len());
    out.extend_from_slice(body);
}

/// Appends a `PING` command frame; a context over 16 bytes is truncated (as libzmq does).
pub fn encode_ping(out: &mut Vec<u8>, ttl_deciseconds: u16, context: &[u8]) {
    let context = &context[..context.len().min(MAX_PING_CONTEXT)];
    begin(out, "PING", 2 + context.len());
    out.extend_from_slice(&ttl_deciseconds.to_be_bytes());
    out.extend_from_slice(context);
}

/// Appends a `PONG` command frame; a context over 16 bytes is truncated.
pub fn encode_pong(out: &mut Vec<u8>, context: &[u8]) {
    let context = &context[..context.len().min(MAX_PING_CONTEXT)];
    begin(out, "PONG", context.len());
    out.extend_from_slice(context);
}

/// Appends a `SUBSCRIBE` command frame (ZMTP 3.1 peers only).
pub fn encode_subscribe(out: &mut Vec<u8>, topic: &[u8]) {
    begin(out, "SUBSCRIBE", topic.len());
    out.extend_from_slice(topic);
}

/// Appends a `CANCEL` command frame (ZMTP 3.1 peers only).
pub fn encode_cancel(out: &mut Vec<u8>, topic: &[u8]) {
    begin(out, "CANCEL", topic.len());
    out.extend_from_slice(topic);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::frame::decode_header;

    /// Splits one encoded command frame into its body, checking the header on the way.
    fn body(frame: &[u8]) -> &[u8] {
        let h = decode_header(frame, None).unwrap().unwrap();
        assert!(h.command && !h.more);
        assert_eq!(h.header_len as u64 + h.size, frame.len() as u64);
        &frame[h.header_len..]
    }

    #[test]
    fn ready_matches_libzmq_bytes() {
        // Size 0x27 = 1 + 5 + (1 + 11 + 4 + 4) + (1 + 8 + 4 + 0).
        let want = b"\x04\x27\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH\x08Identity\x00\x00\x00\x00";
        let mut out = Vec::new();
        encode_ready(&mut out, &[("Socket-Type", b"PUSH"), ("Identity", b"")]);
        assert_eq!(out, want);
        let props = vec![
            Property { name: b"Socket-Type", value: b"PUSH" },
            Property { name: b"Identity", value: b"" },
        ];
        assert_eq!(parse_command(body(&out)), Ok(Command::Ready(props)));
    }

    #[test]
    fn heartbeats_match_rfc_37_bytes() {
        let mut out = Vec::new();
        encode_ping(&mut out, 0x0102, b"ctx");
        assert_eq!(out, b"\x04\x0a\x04PING\x01\x02ctx");
        out.clear();
        encode_pong(&mut out, b"ctx");
        assert_eq!(out, b"\x04\x08\x04PONGctx");
        out.clear();
        encode_ping(&mut out, 7, &[9; 20]); // over-long context is cut to 16
        let ping = Command::Ping { ttl_deciseconds: 7, context: &[9; 16] };
        assert_eq!(parse_command(body(&out)), Ok(ping));
        out.clear();
        encode_pong(&mut out, &[9; 20]);
        assert_eq!(parse_command(body(&out)), Ok(Command::Pong { context: &[9; 16] }));
        // A peer's over-long context is cut, not refused (libzmq's test_heartbeats sends 58).
        let long = [b"\x04PING\x00\x05".as_slice(), &[7; 58]].concat();
        let ping = Command::Ping { ttl_deciseconds: 5, context: &[7; 16] };
        assert_eq!(parse_command(&long), Ok(ping));
    }

    #[test]
    fn error_subscribe_cancel_round_trip() {
        let mut out = Vec::new();
        encode_error(&mut out, "Invalid socket type");
        assert_eq!(out, b"\x04\x1a\x05ERROR\x13Invalid socket type");
        let reason = &b"Invalid socket type"[..];
        assert_eq!(parse_command(body(&out)), Ok(Command::Error { reason }));
        out.clear();
        encode_subscribe(&mut out, b"topic");
        assert_eq!(out, b"\x04\x0f\x09SUBSCRIBEtopic");
        assert_eq!(parse_command(body(&out)), Ok(Command::Subscribe(b"topic")));
        out.clear();
        encode_cancel(&mut out, b"");
        assert_eq!(parse_command(body(&out)), Ok(Command::Cancel(b"")));
    }

    #[test]
    fn long_error_reason_is_truncated_and_long_topics_use_long_frames() {
        let mut out = Vec::new();
        encode_error(&mut out, &"r".repeat(300));
        match parse_command(body(&out)) {
            Ok(Command::Error { reason }) => assert_eq!(reason.len(), 255),
            other => panic!("{other:?}"),
        }
        out.clear();
        let topic = vec![b't'; 1000];
        encode_subscribe(&mut out, &topic);
        assert_eq!(out[0], 0x06);
        assert_eq!(parse_command(body(&out)), Ok(Command::Subscribe(&topic)));
    }

    #[test]
    fn other_names_pass_through_and_compare_exactly() {
        assert_eq!(parse_command(b"\x05HELLOabc"), Ok(Command::Other { name: b"HELLO", data: b"abc" }));
        assert_eq!(parse_command(b"\x05ready"), Ok(Command::Other { name: b"ready", data: b"" }));
    }

    #[test]
    fn malformed_commands() {
        let bad: [&[u8]; 7] = [
            b"",                 // empty body
            b"\x00",             // empty name
            b"\x05REA",          // truncated name
            b"\x04PI-G\x00\x00", // non-alpha name
            b"\x04PING",         // no TTL
            b"\x04PING\x01",     // half a TTL
            b"\xffSUBSCRIBE",    // name length past the end
        ];
        for data in bad {
            assert_eq!(parse_command(data), Err(CodecError::MalformedCommand), "{data:?}");
        }
        for data in [&b"\x05ERROR"[..], b"\x05ERROR\x05abc"] {
            // no reason length; a truncated reason
            assert_eq!(parse_command(data), Err(CodecError::Malformed(CommandName::Error)), "{data:?}");
        }
        let bad_props = b"\x05READY\x0bSocket-Type\x00\x00";
        assert_eq!(parse_command(bad_props), Err(CodecError::MalformedProperty));
    }

    #[test]
    fn minimal_valid_commands() {
        assert_eq!(parse_command(b"\x05READY"), Ok(Command::Ready(vec![])));
        assert_eq!(parse_command(b"\x05ERROR\x00trailing"), Ok(Command::Error { reason: b"" }));
        let ping = Command::Ping { ttl_deciseconds: 0, context: b"" };
        assert_eq!(parse_command(b"\x04PING\x00\x00"), Ok(ping));
        assert_eq!(parse_command(b"\x04PONG"), Ok(Command::Pong { context: b"" }));
    }
}
