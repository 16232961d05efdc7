//! ZMTP metadata (RFC 23 §"Metadata"): a sequence of `name-len(1) name value-len(4, BE) value`.
//!
//! Names are 1..=255 bytes of `ALPHA | DIGIT | "-" | "_" | "." | "+"` and compare
//! case-insensitively. Values are opaque bytes. The encoding is canonical (fixed-width length
//! fields), so parse-then-encode reproduces the input exactly.

use nom::combinator::verify;
use nom::multi::length_data;
use nom::number::complete::{be_u32, be_u8};
use nom::{IResult, Parser};

use super::CodecError;

/// One metadata property, borrowing from the command body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property<'a> {
    /// The property name (ASCII, compare case-insensitively).
    pub name: &'a [u8],
    /// The property value (opaque bytes).
    pub value: &'a [u8],
}

/// Whether `b` may appear in a property name (RFC 23 `name-char`).
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+')
}

/// `name = OCTET 1*255name-char`: the length byte must cover the name exactly.
fn name(input: &[u8]) -> IResult<&[u8], &[u8]> {
    verify(length_data(be_u8), |n: &[u8]| !n.is_empty() && n.iter().all(|&b| is_name_char(b)))
        .parse_complete(input)
}

fn property(input: &[u8]) -> IResult<&[u8], Property<'_>> {
    let (input, name) = name(input)?;
    // `take` only slices: a huge claimed length fails on the bytes present, allocates nothing.
    let (input, value) = length_data(be_u32).parse_complete(input)?;
    Ok((input, Property { name, value }))
}

/// Parses a whole property list (the rest of a READY or INITIATE body).
///
/// Errors with [`CodecError::MalformedProperty`] on truncation, zero-length name, or bad name
/// characters. Never allocates proportional to claimed lengths (only to actual bytes): each
/// property takes at least 6 input bytes.
pub fn parse_properties(mut data: &[u8]) -> Result<Vec<Property<'_>>, CodecError> {
    let mut props = Vec::new();
    while !data.is_empty() {
        let (rest, p) = property(data).map_err(|_| CodecError::MalformedProperty)?;
        props.push(p);
        data = rest;
    }
    Ok(props)
}

/// Case-insensitive lookup; the first property with that name wins.
pub fn find<'a>(props: &[Property<'a>], name: &str) -> Option<&'a [u8]> {
    props.iter().find(|p| p.name.eq_ignore_ascii_case(name.as_bytes())).map(|p| p.value)
}

/// The number of bytes [`encode_property`] appends.
pub fn encoded_len(name: &str, value: &[u8]) -> usize {
    1 + name.len() + 4 + value.len()
}

/// Appends one property.
///
/// # Panics
/// If `name` is empty or longer than 255 bytes, or `value` is 4 GiB or more: both are
/// programming errors (names are our constants, values our own metadata).
pub fn encode_property(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    let name_len = u8::try_from(name.len()).expect("property name longer than 255 bytes");
    assert!(name_len > 0, "empty property name");
    let value_len = u32::try_from(value.len()).expect("property value of 4 GiB or more");
    out.reserve(encoded_len(name, value));
    out.push(name_len);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&value_len.to_be_bytes());
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOCKET_TYPE_PUSH: &[u8] = b"\x0bSocket-Type\x00\x00\x00\x04PUSH";
    const EMPTY_IDENTITY: &[u8] = b"\x08Identity\x00\x00\x00\x00";

    fn both() -> Vec<u8> {
        [SOCKET_TYPE_PUSH, EMPTY_IDENTITY].concat()
    }

    #[test]
    fn encodes_byte_exact() {
        let mut out = Vec::new();
        encode_property(&mut out, "Socket-Type", b"PUSH");
        encode_property(&mut out, "Identity", b"");
        assert_eq!(out, both());
        assert_eq!(encoded_len("Socket-Type", b"PUSH"), SOCKET_TYPE_PUSH.len());
    }

    #[test]
    fn parses_and_finds_case_insensitively() {
        let data = both();
        let props = parse_properties(&data).unwrap();
        assert_eq!(props.len(), 2);
        assert_eq!(find(&props, "socket-type"), Some(&b"PUSH"[..]));
        assert_eq!(find(&props, "IDENTITY"), Some(&b""[..]));
        assert_eq!(find(&props, "User-Id"), None);
        assert_eq!(parse_properties(&[]), Ok(vec![]));
    }

    #[test]
    fn round_trip_all_name_chars_and_long_values() {
        let name = "aZ09-_.+";
        let value = vec![0u8; 70_000];
        let mut out = Vec::new();
        encode_property(&mut out, name, &value);
        encode_property(&mut out, &"x".repeat(255), b"v");
        let props = parse_properties(&out).unwrap();
        assert_eq!(props[0], Property { name: name.as_bytes(), value: &value });
        assert_eq!(props[1].name.len(), 255);
    }

    #[test]
    fn every_proper_prefix_is_malformed() {
        // A property list is always a complete body, so a cut is truncation, not "need more".
        let data = both();
        for len in 1..data.len() {
            let want = if len == SOCKET_TYPE_PUSH.len() { Ok(1) } else { Err(CodecError::MalformedProperty) };
            assert_eq!(parse_properties(&data[..len]).map(|p| p.len()), want, "prefix {len}");
        }
    }

    #[test]
    fn bad_names_are_malformed() {
        let bad: [&[u8]; 4] = [
            b"\x00\x00\x00\x00\x00",         // zero-length name
            b"\x03a b\x00\x00\x00\x00",      // space
            b"\x03a\x00b\x00\x00\x00\x00",   // NUL
            b"\x02\xc3\xa9\x00\x00\x00\x00", // non-ASCII
        ];
        for data in bad {
            assert_eq!(parse_properties(data), Err(CodecError::MalformedProperty), "{data:?}");
        }
    }

    #[test]
    fn huge_claimed_value_length_fails_without_allocating() {
        let data = b"\x01a\xff\xff\xff\xffshort";
        assert_eq!(parse_properties(data), Err(CodecError::MalformedProperty));
    }

    #[test]
    #[should_panic(expected = "empty property name")]
    fn encoding_an_empty_name_panics() {
        encode_property(&mut Vec::new(), "", b"");
    }
}
