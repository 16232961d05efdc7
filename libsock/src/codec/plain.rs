//! The PLAIN mechanism's commands (RFC 24): `HELLO` (user name, password), `WELCOME`,
//! `INITIATE` (metadata) and `READY` (metadata). Clear text: for trusted networks only.
//!
//! The state machines live in the session layer; this module only lays out and parses bytes.

use super::command;
use super::{CodecError, CommandName};

/// Appends a `HELLO` with these credentials (each at most 255 bytes; longer ones are cut,
/// the option setters refuse them first).
pub fn encode_hello(out: &mut Vec<u8>, username: &[u8], password: &[u8]) {
    let user = &username[..username.len().min(255)];
    let pass = &password[..password.len().min(255)];
    command::encode_command(out, "HELLO", &[&[user.len() as u8], user, &[pass.len() as u8], pass]);
}

/// The start of a PLAIN `ERROR` as libzmq 4.3 writes and reads it. Its sources spell the
/// name `"\x05ERROR"` in C, where `\x05E` is one hex escape (0x5E, `^`): the bytes are
/// `^RROR`, with no name length. Its PLAIN clients take only that form for an ERROR (RFC 24's
/// `\x05ERROR` is an unexpected command to them), its CURVE and NULL code the RFC's.
pub const LIBZMQ_ERROR: &[u8] = b"\x5eRROR";

/// Appends a PLAIN server's `ERROR` (a ZAP refusal) in libzmq's form ([`LIBZMQ_ERROR`]), so
/// that a libzmq client reports it as libzmq servers' refusals are (HANDSHAKE_FAILED_AUTH
/// with the status); libsock's clients read both forms.
pub fn encode_error_as_libzmq(out: &mut Vec<u8>, status: &str) {
    let status = &status.as_bytes()[..status.len().min(255)];
    let mut body = Vec::with_capacity(LIBZMQ_ERROR.len() + 1 + status.len());
    body.extend_from_slice(LIBZMQ_ERROR);
    body.push(status.len() as u8);
    body.extend_from_slice(status);
    command::encode_raw(out, &body);
}

/// Parses the data of a `HELLO` (after its name): `(username, password)`.
/// Truncated fields or trailing bytes are `Malformed(Hello)`, as in libzmq.
pub fn parse_hello(data: &[u8]) -> Result<(&[u8], &[u8]), CodecError> {
    const MALFORMED: CodecError = CodecError::Malformed(CommandName::Hello);
    let (&ulen, rest) = data.split_first().ok_or(MALFORMED)?;
    let user = rest.get(..ulen as usize).ok_or(MALFORMED)?;
    let rest = &rest[ulen as usize..];
    let (&plen, rest) = rest.split_first().ok_or(MALFORMED)?;
    if rest.len() != plen as usize {
        return Err(MALFORMED);
    }
    Ok((user, rest))
}

/// Appends an empty `WELCOME`.
pub fn encode_welcome(out: &mut Vec<u8>) {
    command::encode_command(out, "WELCOME", &[]);
}

/// Appends an `INITIATE` or `READY` carrying already encoded metadata.
pub fn encode_with_metadata(out: &mut Vec<u8>, name: &str, metadata: &[u8]) {
    command::encode_command(out, name, &[metadata]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_matches_rfc_24_and_round_trips() {
        let mut out = Vec::new();
        encode_hello(&mut out, b"admin", b"secret");
        assert_eq!(out, b"\x04\x13\x05HELLO\x05admin\x06secret");
        assert_eq!(parse_hello(b"\x05admin\x06secret"), Ok((&b"admin"[..], &b"secret"[..])));
        assert_eq!(parse_hello(b"\x00\x00"), Ok((&b""[..], &b""[..])));
    }

    #[test]
    fn malformed_hellos() {
        for bad in [&b""[..], b"\x05adm", b"\x01a", b"\x01a\x02b", b"\x01a\x01bc"] {
            assert_eq!(parse_hello(bad), Err(CodecError::Malformed(CommandName::Hello)), "{bad:?}");
        }
    }

    #[test]
    fn errors_are_written_as_libzmq_writes_them() {
        let mut out = Vec::new();
        encode_error_as_libzmq(&mut out, "400");
        assert_eq!(out, b"\x04\x09^RROR\x03400");
    }

    #[test]
    fn welcome_and_initiate() {
        let mut out = Vec::new();
        encode_welcome(&mut out);
        assert_eq!(out, b"\x04\x08\x07WELCOME");
        out.clear();
        encode_with_metadata(&mut out, "INITIATE", b"\x01a\x00\x00\x00\x01b");
        assert_eq!(out, b"\x04\x10\x08INITIATE\x01a\x00\x00\x00\x01b");
    }
}
