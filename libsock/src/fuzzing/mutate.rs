//! The man in the middle of the stream targets: mutations of the real frames one side sent,
//! each chosen by four bytes of fuzz input, before they reach the other side.
//!
//! Op `[kind, a, b, c]`, `at` = `a | b << 8` modulo the frame length; by `kind % 10`: 0 pass,
//! 1 xor byte `at` with `c`, 2 set it to `c`, 3 truncate to `at`, 4 drop, 5 replay (this
//! frame, then the one `a` frames back), 6 swap with the next, 7 splice (`b & 2`: a plaintext
//! frame, `b & 4` a command, else another connection's frame `a`; `b & 1`: insert before this
//! one instead of replacing it), 8 rewrite the header (`a % 3`: size, short/long form, flag
//! bits), 9 shift the nonce counter by `c as i8` (0: -1).

use crate::codec::frame::{decode_header, encode_frame};
use crate::codec::{GREETING_LEN, GREETING_VERSION_END, SIGNATURE_LEN};

/// Where each step of a greeting ends (signature, major version, the rest): a session sends
/// each once the peer's previous one arrived, so each is a frame of its own here.
pub(super) const GREETING_STEPS: [usize; 3] = [SIGNATURE_LEN, GREETING_VERSION_END, GREETING_LEN];

/// Which part of a conversation a frame belongs to, in the order frames are sent.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Step {
    Greeting,
    Hello,
    Welcome,
    Initiate,
    Ready,
    /// A CURVE MESSAGE, a PLAIN data frame, or anything else after the handshake.
    Message,
}

impl Step {
    /// The steps by number, for the first byte of the fuzz input.
    pub(super) const ALL: [Step; 6] =
        [Step::Greeting, Step::Hello, Step::Welcome, Step::Initiate, Step::Ready, Step::Message];

    /// The step of one of our own frames (`greeting`: a step of the first 64 bytes a side sent).
    pub(super) fn of(frame: &[u8], greeting: bool) -> Step {
        if greeting {
            return Step::Greeting;
        }
        let body = match decode_header(frame, None) {
            Ok(Some(h)) if h.command => &frame[h.header_len..],
            _ => return Step::Message,
        };
        match body {
            [5, b'H', b'E', b'L', b'L', b'O', ..] => Step::Hello,
            [7, b'W', b'E', b'L', b'C', b'O', b'M', b'E', ..] => Step::Welcome,
            [8, b'I', b'N', b'I', b'T', b'I', b'A', b'T', b'E', ..] => Step::Initiate,
            [5, b'R', b'E', b'A', b'D', b'Y', ..] => Step::Ready,
            _ => Step::Message,
        }
    }
}

/// Where the 8-byte nonce counter of a CURVE command sits in its frame, if it has one
/// (RFC 26 layouts: name, then HELLO's version, padding and C', INITIATE's cookie; WELCOME's
/// nonce is 16 random bytes, of which the last 8 are taken).
fn nonce_at(frame: &[u8]) -> Option<usize> {
    let h = decode_header(frame, None).ok()??;
    let body = &frame[h.header_len..];
    let after_name = match Step::of(frame, false) {
        Step::Hello => 6 + 2 + 72 + 32,
        Step::Welcome => 8 + 8,
        Step::Initiate => 9 + 96,
        Step::Ready => 6,
        Step::Message if body.starts_with(b"\x07MESSAGE") => 8,
        _ => return None,
    };
    (body.len() >= after_name + 8).then_some(h.header_len + after_name)
}

/// The mutations, applied one per frame from the first frame of the chosen step on; when the
/// input runs out, the rest of the traffic passes untouched.
pub(super) struct Mitm<'a> {
    ops: std::slice::ChunksExact<'a, u8>,
    /// A frame held back to go out after the next one (a swap).
    held: Option<Vec<u8>>,
    /// Some frame the sender produced never reached the receiver whole, in its place: the
    /// receiver may legitimately skip messages (CURVE only requires nonces to increase).
    pub(super) skipped: bool,
}

impl<'a> Mitm<'a> {
    pub(super) fn new(ops: &'a [u8]) -> Mitm<'a> {
        Mitm { ops: ops.chunks_exact(4), held: None, skipped: false }
    }

    /// The frame held back by a swap, if the traffic stopped before the next frame.
    pub(super) fn flush(&mut self) -> Option<Vec<u8>> {
        self.held.take()
    }

    /// Appends to `out` what the receiver gets for the last frame of `tape` (everything this
    /// sender sent so far; `tape[..3]` are its greeting's steps). `foreign` is what another
    /// connection's sender sent in the same direction.
    pub(super) fn pass(&mut self, tape: &[Vec<u8>], foreign: &[Vec<u8>], out: &mut Vec<Vec<u8>>) {
        let mut frame = tape.last().cloned().unwrap_or_default();
        let held = self.held.take();
        let Some(&[kind, a, b, c]) = self.ops.next() else {
            out.push(frame);
            out.extend(held);
            return;
        };
        let at = usize::from(u16::from_le_bytes([a, b])) % frame.len().max(1);
        let greeting = tape.len() <= GREETING_STEPS.len();
        match kind % 10 {
            0 => {}
            1 if !frame.is_empty() => frame[at] ^= c.max(1),
            2 if !frame.is_empty() => frame[at] = c,
            3 => {
                frame.truncate(at);
                self.skipped = true;
            }
            4 => {
                frame.clear();
                self.skipped = true;
            }
            5 => {
                // A replay: this frame, then a copy of it or of an earlier one.
                out.push(frame);
                frame = tape[tape.len() - 1 - usize::from(a) % tape.len()].clone();
            }
            6 => {
                // A swap: this frame goes out after the next one.
                out.extend(held);
                self.held = Some(frame);
                self.skipped = true;
                return;
            }
            7 => {
                let other = if b & 2 != 0 || foreign.is_empty() {
                    plaintext(b & 4 != 0)
                } else {
                    foreign[usize::from(a) % foreign.len()].clone()
                };
                if b & 1 == 0 {
                    frame = other;
                    self.skipped = true;
                } else {
                    out.push(other);
                }
            }
            8 if !greeting => relength(&mut frame, a, c),
            9 if !greeting => match nonce_at(&frame) {
                Some(i) => {
                    let old = u64::from_be_bytes(frame[i..i + 8].try_into().expect("8 bytes"));
                    let delta = match c as i8 {
                        0 => -1,
                        d => i64::from(d),
                    };
                    frame[i..i + 8].copy_from_slice(&old.wrapping_add_signed(delta).to_be_bytes());
                }
                None if !frame.is_empty() => frame[at] ^= c.max(1),
                None => {}
            },
            _ if !frame.is_empty() => frame[at] ^= c.max(1),
            _ => {}
        }
        out.push(frame);
        out.extend(held);
    }
}

/// A frame in the clear, as anyone on the path could inject it: a message, or a READY.
fn plaintext(command: bool) -> Vec<u8> {
    let mut frame = Vec::new();
    if command {
        encode_frame(&mut frame, false, true, b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PAIR");
    } else {
        encode_frame(&mut frame, false, false, b"plaintext, injected");
    }
    frame
}

/// Rewrites a frame header: the size's low byte shifted by `c`, the same size in the other
/// (short or long) form, or flag bits flipped.
fn relength(frame: &mut Vec<u8>, a: u8, c: u8) {
    let Ok(Some(h)) = decode_header(frame, None) else { return };
    match a % 3 {
        0 => {
            let low = h.header_len - 1;
            frame[low] = frame[low].wrapping_add(c.max(1));
        }
        1 if h.header_len == 2 => {
            let mut long = vec![frame[0] | 0x02];
            long.extend_from_slice(&h.size.to_be_bytes());
            frame.splice(..2, long);
        }
        1 => {
            // Long to short: only a faithful rewrite when the size fits in a byte.
            let short = [frame[0] & !0x02, h.size as u8];
            frame.splice(..9, short);
        }
        _ => frame[0] ^= (c & 0x07).max(1),
    }
}
