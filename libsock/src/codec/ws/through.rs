//! Large data frames passed through as they arrive: once the header and flags byte of a
//! binary frame with a body over [`PASS_THROUGH_MIN`] bytes are in, [`super::Decoder`]
//! writes the ZMTP frame's header at once and then the body's bytes as they come, unmasked,
//! instead of waiting to hold the whole frame. The session then takes the frame into a body
//! of its own (its `large_body`, for frames over the same size), and the engine may read
//! the rest of the body straight into it ([`super::Decoder::through_left`],
//! [`super::Decoder::passed_in_place`]): the kernel copies those bytes into the message,
//! as over tcp, where a whole frame would have been copied twice (into the read buffer's
//! ZMTP bytes, then into the message).

use super::xor_mask;

/// Data frames whose bodies are larger than this are passed through as they arrive: the
/// ZMTP header once the flags byte is in, then the body's bytes as they come, which the
/// engine may read straight into the session's body (the session's `BODY_DIRECT_MIN`:
/// smaller frames come whole in one read with their neighbours).
#[cfg(not(feature = "fuzzing"))]
pub const PASS_THROUGH_MIN: usize = 64 * 1024;
/// Fuzzed, small: the fuzzer's inputs (a few KiB) pass bodies through too.
#[cfg(feature = "fuzzing")]
pub const PASS_THROUGH_MIN: usize = 64;

/// The body of a frame being passed through: what is left of it, and its mask.
#[derive(Debug)]
pub(super) struct Through {
    /// Body bytes still to come.
    pub(super) left: usize,
    /// The client's masking key, and the key byte the next payload byte takes.
    mask: Option<([u8; 4], usize)>,
}

impl Through {
    /// A body of `left` bytes, after the flags byte (the payload's first, masked with the
    /// key's first byte).
    pub(super) fn new(left: usize, mask: Option<[u8; 4]>) -> Through {
        Through { left, mask: mask.map(|key| (key, 1)) }
    }

    /// `bytes` of the body arrived (no more than are left): unmasks them in place.
    pub(super) fn arrived(&mut self, bytes: &mut [u8]) {
        debug_assert!(bytes.len() <= self.left, "more than the frame's body");
        self.left -= bytes.len();
        if let Some((key, phase)) = &mut self.mask {
            let p = *phase;
            xor_mask(bytes, [key[p % 4], key[(p + 1) % 4], key[(p + 2) % 4], key[(p + 3) % 4]]);
            *phase = (p + bytes.len()) % 4;
        }
    }
}
