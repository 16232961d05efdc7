//! Frame headers (RFC 23 §"Framing"): a flags byte, then the body size as one byte or as eight
//! bytes big-endian (LONG flag), then the body.
//!
//! This is the per-message hot path, so it is a hand-written slice match: no allocation, no
//! loops, every check one compare. The body is not touched here: the caller slices it out (or
//! streams a large one) once it knows the size.

use super::CodecError;

/// More frames of the same message follow.
pub const FLAG_MORE: u8 = 0x01;
/// The size field is 8 bytes (big-endian) instead of 1.
pub const FLAG_LONG: u8 = 0x02;
/// The frame is a command, not message data.
pub const FLAG_COMMAND: u8 = 0x04;
/// Bits a peer may set; the rest are reserved and must be zero.
const FLAG_MASK: u8 = FLAG_MORE | FLAG_LONG | FLAG_COMMAND;

/// Bound on a command frame when the caller gives no `max_size`. Commands are control
/// messages (READY, PING …), so there is no reason to buffer more than this for one.
pub const MAX_COMMAND_SIZE: u64 = 1 << 20;

/// Bound on a data frame when the caller gives no `max_size`: no Rust allocation can be larger
/// than `isize::MAX`, so anything above it is refused even without a configured limit.
pub(crate) const MAX_DATA_SIZE: u64 = isize::MAX as u64;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// More frames of this message follow (never set on a command).
    pub more: bool,
    /// The frame is a command.
    pub command: bool,
    /// Body size in bytes, already checked against the limit.
    pub size: u64,
    /// bytes the header itself took (2 or 9)
    pub header_len: usize,
}

/// Decodes a frame header from the start of `buf`; `Ok(None)` if it is not complete yet.
///
/// Errors: reserved flag bits → [`CodecError::BadFlags`] and a command with MORE →
/// [`CodecError::MalformedCommand`], both as soon as the flags byte is there;
/// a size above the limit → [`CodecError::FrameTooLarge`], before anyone allocates. The limit
/// is `max_size` for data frames and commands alike; without it, commands are bounded by
/// [`MAX_COMMAND_SIZE`] and data frames by `isize::MAX` (the caller must then not trust the
/// size for pre-allocation). A long-form size that would fit in one byte is accepted, as
/// libzmq accepts it.
#[inline]
pub fn decode_header(buf: &[u8], max_size: Option<u64>) -> Result<Option<FrameHeader>, CodecError> {
    let Some((&flags, rest)) = buf.split_first() else {
        return Ok(None);
    };
    if flags & !FLAG_MASK != 0 {
        return Err(CodecError::BadFlags(flags));
    }
    let command = flags & FLAG_COMMAND != 0;
    if command && flags & FLAG_MORE != 0 {
        return Err(CodecError::MalformedCommand);
    }
    let (size, header_len) = if flags & FLAG_LONG == 0 {
        match rest.first() {
            Some(&b) => (u64::from(b), 2),
            None => return Ok(None),
        }
    } else {
        match rest.first_chunk::<8>() {
            Some(b) => (u64::from_be_bytes(*b), 9),
            None => return Ok(None),
        }
    };
    let max = match (max_size, command) {
        (Some(max), _) => max,
        (None, true) => MAX_COMMAND_SIZE,
        (None, false) => MAX_DATA_SIZE,
    };
    if size > max {
        return Err(CodecError::FrameTooLarge { size, max });
    }
    Ok(Some(FrameHeader { more: flags & FLAG_MORE != 0, command, size, header_len }))
}

/// The flags byte of a data or command frame.
#[inline]
fn flags_of(more: bool, command: bool) -> u8 {
    (if more { FLAG_MORE } else { 0 }) | if command { FLAG_COMMAND } else { 0 }
}

/// Appends a frame header (short form if size <= 255, else long form 8-byte big-endian).
#[inline]
pub fn encode_header(out: &mut Vec<u8>, more: bool, command: bool, size: usize) {
    let flags = flags_of(more, command);
    match u8::try_from(size) {
        Ok(short) => out.extend_from_slice(&[flags, short]),
        Err(_) => {
            out.push(flags | FLAG_LONG);
            out.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
}

/// Bodies up to this size are framed by [`encode_frame`]'s small path: one capacity check for
/// header and body together, and the body copied with a few fixed-size moves instead of a
/// call to `memcpy` (which, for a 1-byte body, costs more than everything else here).
pub const SMALL_BODY_MAX: usize = 64;

/// Header + body in one go: the data path for every body that is not sent zero-copy
/// (inlined whole into the outbound pump: a call costs as much as framing a small body).
#[inline(always)]
pub fn encode_frame(out: &mut Vec<u8>, more: bool, command: bool, body: &[u8]) {
    let flags = flags_of(more, command);
    let n = body.len();
    if n > SMALL_BODY_MAX {
        return encode_frame_large(out, flags, body);
    }
    // Room for the largest small frame, zero-filled by fixed-size stores (the one capacity
    // check), then cut back to this frame's length: truncating bytes frees nothing.
    let start = out.len();
    out.extend_from_slice(&[0u8; SMALL_BODY_MAX + 2]);
    let frame = &mut out[start..start + 2 + n];
    frame[0] = flags;
    frame[1] = n as u8;
    copy_small(&mut frame[2..], body);
    out.truncate(start + 2 + n);
}

#[inline(never)]
fn encode_frame_large(out: &mut Vec<u8>, flags: u8, body: &[u8]) {
    out.reserve(9 + body.len());
    match u8::try_from(body.len()) {
        Ok(short) => out.extend_from_slice(&[flags, short]),
        Err(_) => {
            out.push(flags | FLAG_LONG);
            out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
}

/// Copies `src` (at most [`SMALL_BODY_MAX`] bytes) into `dst` of the same length with at most
/// four fixed-size moves, overlapping where the length is not a multiple of their size (as
/// `memcpy` does for small sizes, without the call for a variable length).
#[inline(always)]
pub(crate) fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    assert!(dst.len() == n && n <= SMALL_BODY_MAX);
    if n >= 16 {
        dst[..16].copy_from_slice(&src[..16]);
        dst[n - 16..].copy_from_slice(&src[n - 16..]);
        if n > 32 {
            dst[16..32].copy_from_slice(&src[16..32]);
            dst[n - 32..n - 16].copy_from_slice(&src[n - 32..n - 16]);
        }
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else if n > 0 {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(more: bool, command: bool, size: u64, header_len: usize) -> FrameHeader {
        FrameHeader { more, command, size, header_len }
    }

    #[test]
    fn small_and_large_frames_are_header_then_body_at_every_size() {
        let body: Vec<u8> = (0..=255u8).cycle().take(600).collect();
        let mut out = vec![0xAA];
        for n in 0..=300 {
            for more in [false, true] {
                out.truncate(1);
                encode_frame(&mut out, more, false, &body[..n]);
                let h = decode_header(&out[1..], None).unwrap().unwrap();
                assert_eq!((h.more, h.size as usize), (more, n), "size {n}");
                assert_eq!(&out[1 + h.header_len..], &body[..n], "size {n}");
                assert_eq!(out[0], 0xAA, "bytes before the frame are kept");
            }
        }
    }

    #[test]
    fn short_and_long_forms_byte_exact() {
        let mut out = Vec::new();
        encode_frame(&mut out, true, false, b"Hi");
        assert_eq!(out, [0x01, 0x02, b'H', b'i']);
        out.clear();
        encode_header(&mut out, false, false, 255);
        assert_eq!(out, [0x00, 0xFF]);
        out.clear();
        encode_header(&mut out, true, false, 256);
        assert_eq!(out, [0x03, 0, 0, 0, 0, 0, 0, 1, 0]);
        out.clear();
        encode_header(&mut out, false, true, 0x0102_0304);
        assert_eq!(out, [0x06, 0, 0, 0, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn round_trip_sizes_and_flags() {
        for size in [0usize, 1, 254, 255, 256, 65_535, 65_536, 1 << 20] {
            for (more, command) in [(false, false), (true, false), (false, true)] {
                let mut out = Vec::new();
                encode_header(&mut out, more, command, size);
                let want = header(more, command, size as u64, out.len());
                assert_eq!(decode_header(&out, None), Ok(Some(want)));
                // Only the header is consumed; trailing body bytes are not looked at.
                out.extend_from_slice(&[0xFF; 3]);
                assert_eq!(decode_header(&out, Some(1 << 20)), Ok(Some(want)));
            }
        }
    }

    #[test]
    fn every_prefix_needs_more() {
        let mut out = Vec::new();
        encode_header(&mut out, true, false, 300);
        for len in 0..out.len() {
            assert_eq!(decode_header(&out[..len], None), Ok(None), "prefix of {len}");
        }
        assert_eq!(decode_header(&[0x00], None), Ok(None));
    }

    #[test]
    fn long_form_with_small_size_is_accepted() {
        let buf = [0x02, 0, 0, 0, 0, 0, 0, 0, 5];
        assert_eq!(decode_header(&buf, None), Ok(Some(header(false, false, 5, 9))));
    }

    #[test]
    fn reserved_flags_are_rejected_on_the_first_byte() {
        for flags in 0x08..=0xFFu8 {
            assert_eq!(decode_header(&[flags], None), Err(CodecError::BadFlags(flags)));
        }
    }

    #[test]
    fn command_with_more_is_malformed() {
        for flags in [0x05, 0x07] {
            assert_eq!(decode_header(&[flags], None), Err(CodecError::MalformedCommand));
        }
    }

    #[test]
    fn huge_size_field_is_refused_before_allocation() {
        let mut buf = vec![0x02];
        buf.extend_from_slice(&(1u64 << 62).to_be_bytes());
        let too_large = |max| Err(CodecError::FrameTooLarge { size: 1 << 62, max });
        assert_eq!(decode_header(&buf, Some(1 << 30)), too_large(1 << 30));
        // Without a limit a data frame may be that large (the caller streams it) ...
        assert_eq!(decode_header(&buf, None), Ok(Some(header(false, false, 1 << 62, 9))));
        // ... but not a command, and nothing beyond isize::MAX.
        buf[0] = 0x06;
        assert_eq!(decode_header(&buf, None), too_large(MAX_COMMAND_SIZE));
        buf[0] = 0x02;
        buf[1..].copy_from_slice(&u64::MAX.to_be_bytes());
        let err = CodecError::FrameTooLarge { size: u64::MAX, max: MAX_DATA_SIZE };
        assert_eq!(decode_header(&buf, None), Err(err));
    }

    #[test]
    fn max_size_bounds_data_and_commands_alike() {
        let at = [0x00, 100];
        assert!(decode_header(&at, Some(100)).unwrap().is_some());
        let over = CodecError::FrameTooLarge { size: 100, max: 99 };
        assert_eq!(decode_header(&at, Some(99)), Err(over));
        assert_eq!(decode_header(&[0x04, 100], Some(99)), Err(over));
        // An explicit limit replaces the command default in both directions.
        let mut big = vec![0x06];
        big.extend_from_slice(&(MAX_COMMAND_SIZE + 1).to_be_bytes());
        assert!(decode_header(&big, Some(u64::MAX)).unwrap().is_some());
    }
}
