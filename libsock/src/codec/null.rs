//! The NULL security mechanism (RFC 23 §"The NULL Security Mechanism"): both sides send
//! `READY` with their metadata and check the other's; there is no other step.
//!
//! The handshake state machine itself lives in the session layer; this module only builds our
//! `READY` and judges the peer's.

use bytes::Bytes;

use super::command;
use super::properties::{find, Property};
use super::CodecError;
use crate::socket_type::SocketType;

/// The metadata property naming the sender's socket type.
pub const SOCKET_TYPE: &str = "Socket-Type";
/// The metadata property carrying the sender's routing id.
pub const IDENTITY: &str = "Identity";
/// Longest routing id a peer may announce.
pub const MAX_ROUTING_ID: usize = 255;

/// Whether a socket of this type announces its `Identity`. libzmq 4.3 sends it only from the
/// types a ROUTER can talk to (`mechanism_t::add_basic_properties`), so our READY is byte for
/// byte what a libzmq socket of the same type and routing id would send.
pub fn sends_identity(ours: SocketType) -> bool {
    matches!(ours, SocketType::REQ | SocketType::DEALER | SocketType::ROUTER)
}

/// Appends our READY command frame: `Socket-Type` = `ours.as_str()`, then `Identity` =
/// `identity` (possibly empty) if [`sends_identity`] says so, as libzmq does.
pub fn encode_ready(out: &mut Vec<u8>, ours: SocketType, identity: &[u8]) {
    let socket_type = (SOCKET_TYPE, ours.as_str().as_bytes());
    if sends_identity(ours) {
        command::encode_ready(out, &[socket_type, (IDENTITY, identity)]);
    } else {
        command::encode_ready(out, &[socket_type]);
    }
}

/// Appends our metadata properties only (no frame): what PLAIN's INITIATE/READY and CURVE's
/// boxed INITIATE/READY carry, the same properties NULL's READY has.
pub fn encode_metadata(out: &mut Vec<u8>, ours: SocketType, identity: &[u8]) {
    super::properties::encode_property(out, SOCKET_TYPE, ours.as_str().as_bytes());
    if sends_identity(ours) {
        super::properties::encode_property(out, IDENTITY, identity);
    }
}

/// What the peer's READY told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type, known to be compatible with ours.
    pub socket_type: SocketType,
    /// empty when the peer sent none or an empty one
    pub identity: Bytes,
}

/// Validates a peer's READY property list: Socket-Type present (MissingSocketType), known
/// (UnknownSocketType), compatible with `ours` (IncompatibleSocketType).
///
/// Identity: if present it must be <= 255 bytes (BadRoutingId). One that starts with 0x00 is
/// taken, as libzmq 4.3 takes it, though such ids are reserved for generated ones (a ROUTER
/// generates none already in use). When Socket-Type appears twice the first counts, when
/// Identity does the last (as in libzmq). Other properties are ignored (the caller may keep them as metadata).
pub fn check_ready(ours: SocketType, props: &[Property<'_>]) -> Result<PeerInfo, CodecError> {
    let name = find(props, SOCKET_TYPE).ok_or(CodecError::MissingSocketType)?;
    let peer = SocketType::from_name(name).ok_or(CodecError::UnknownSocketType)?;
    if !ours.is_compatible(peer) {
        return Err(CodecError::IncompatibleSocketType { ours, peer });
    }
    // The last Identity counts, as libzmq's `parse_metadata` sets the routing id from each.
    let identity = props
        .iter()
        .rev()
        .find(|p| p.name.eq_ignore_ascii_case(IDENTITY.as_bytes()))
        .map_or(&[][..], |p| p.value);
    if identity.len() > MAX_ROUTING_ID {
        return Err(CodecError::BadRoutingId);
    }
    Ok(PeerInfo { socket_type: peer, identity: Bytes::copy_from_slice(identity) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::command::{parse_command, Command};
    use crate::codec::frame::decode_header;

    /// Encodes our READY and parses it back, as a peer would.
    fn ready_props(buf: &[u8]) -> Vec<Property<'_>> {
        let h = decode_header(buf, None).unwrap().unwrap();
        match parse_command(&buf[h.header_len..]) {
            Ok(Command::Ready(props)) => props,
            other => panic!("not a READY: {other:?}"),
        }
    }

    fn prop<'a>(name: &'a str, value: &'a [u8]) -> Property<'a> {
        Property { name: name.as_bytes(), value }
    }

    #[test]
    fn push_ready_is_libzmq_byte_exact() {
        let mut out = Vec::new();
        encode_ready(&mut out, SocketType::PUSH, b"ignored");
        // libzmq 4.3.4, PUSH: Socket-Type only. Body 1 + 5 + 1 + 11 + 4 + 4 = 26 = 0x1a bytes.
        let want = b"\x04\x1a\x05\x52\x45\x41\x44\x59\x0b\x53\x6f\x63\x6b\x65\x74\x2d\x54\x79\x70\x65\x00\x00\x00\x04\x50\x55\x53\x48";
        assert_eq!(out, want);
    }

    #[test]
    fn dealer_ready_carries_identity_even_empty() {
        let mut out = Vec::new();
        encode_ready(&mut out, SocketType::DEALER, b"");
        let tail: &[u8] = b"DEALER\x08Identity\x00\x00\x00\x00";
        assert!(out.ends_with(tail), "{out:?}");
        assert_eq!(out[1] as usize, out.len() - 2);
    }

    #[test]
    fn every_pair_round_trips_or_is_refused() {
        for ours in SocketType::ALL {
            for peer in SocketType::ALL {
                let mut out = Vec::new();
                encode_ready(&mut out, peer, b"id-1");
                let got = check_ready(ours, &ready_props(&out));
                if ours.is_compatible(peer) {
                    let id = if sends_identity(peer) { &b"id-1"[..] } else { b"" };
                    let want = PeerInfo { socket_type: peer, identity: Bytes::from(id) };
                    assert_eq!(got, Ok(want));
                } else {
                    assert_eq!(got, Err(CodecError::IncompatibleSocketType { ours, peer }));
                }
            }
        }
    }

    #[test]
    fn socket_type_must_be_present_and_known() {
        assert_eq!(check_ready(SocketType::PULL, &[]), Err(CodecError::MissingSocketType));
        let stream = [prop("Socket-Type", b"STREAM")];
        assert_eq!(check_ready(SocketType::PULL, &stream), Err(CodecError::UnknownSocketType));
        // Property names are case-insensitive.
        let lower = [prop("socket-type", b"PUSH")];
        assert!(check_ready(SocketType::PULL, &lower).is_ok());
    }

    #[test]
    fn identity_rules() {
        let check = |id: &[u8]| {
            let props = [prop("Socket-Type", b"DEALER"), prop("Identity", id)];
            check_ready(SocketType::ROUTER, &props).map(|p| p.identity)
        };
        assert_eq!(check(b""), Ok(Bytes::new()));
        assert_eq!(check(b"a\0b"), Ok(Bytes::from_static(b"a\0b")));
        assert_eq!(check(&[b'x'; 255]).map(|b| b.len()), Ok(255));
        assert_eq!(check(&[b'x'; 256]), Err(CodecError::BadRoutingId));
        assert_eq!(check(b"\0auto"), Ok(Bytes::from_static(b"\0auto")));
        // Of two, the last counts (libzmq sets the routing id from each in turn).
        let twice = [prop("Socket-Type", b"DEALER"), prop("Identity", b"first"), prop("identity", b"last")];
        assert_eq!(
            check_ready(SocketType::ROUTER, &twice).map(|p| p.identity),
            Ok(Bytes::from_static(b"last"))
        );
    }
}
