//! Large data frames, received straight into a body of their own.
//!
//! Gathered in the engine's read buffer, a frame of hundreds of KiB needed a fresh read
//! buffer for every few frames, and the system allocator mapped each anew: on 1 MiB floods
//! the receiver took 127 page faults per message and three times libzmq's CPU; above 8 MiB
//! the buffer also grew by copies. So once the header of a data frame over
//! [`BODY_DIRECT_MIN`] bytes is decoded and its body has not all arrived, the session takes
//! a buffer of the frame's size, moves in what the read buffer holds of it, and shows the
//! engine the rest to read into ([`Session::body_to_fill`]): the kernel copies the bytes
//! into the message, as libzmq's decoder does.
//!
//! Up to [`POOLED_MAX`] the buffer is a recycled one from the pool; beyond, a heap block
//! reserved without zeroing (filled before it is read), [`HEAP_FIRST`] bytes at most at
//! first and doubled as the bytes arrive (a size field alone reserves no more), and refused,
//! not aborted on, when the system has no memory for it: the peer is dropped for it.
//!
//! Only plaintext links: a CURVE frame is decrypted in the read buffer.

use bytes::{Buf, BytesMut};

use super::{Session, SessionError};
use crate::message::{Message, POOLED_MAX};

/// Data frames larger than this are read into a body of their own (the engine's read
/// chunk: smaller ones arrive in one read with their neighbours).
pub(crate) const BODY_DIRECT_MIN: usize = 64 * 1024;

/// What a body beyond the pool reserves before its bytes arrive.
const HEAP_FIRST: usize = 64 * 1024 * 1024;

/// A body being received.
pub(super) struct PartialBody {
    store: Store,
    more: bool,
}

enum Store {
    /// A pooled body of the frame's size, of which the first `filled` bytes are the frame's.
    Pooled { msg: Message, filled: usize },
    /// A heap block for the frame's `size` bytes; its length is what arrived, and it has
    /// spare capacity until all has.
    Heap { bytes: Vec<u8>, size: usize },
}

/// Where the engine reads the rest of a large body.
pub(crate) enum BodyFill<'a> {
    /// Read into this slice, then report the count ([`Session::body_filled`]).
    Slice(&'a mut [u8]),
    /// Read into this vector's spare capacity, at most `max` bytes, extending its length;
    /// then report the count ([`Session::body_filled`]).
    Spare { bytes: &'a mut Vec<u8>, max: usize },
}

impl Session {
    /// Whether a data frame of `size` bytes whose body is not all in the read buffer gets a
    /// body of its own: large, and on a plaintext link.
    pub(super) fn takes_body_directly(&self, size: usize) -> bool {
        size > BODY_DIRECT_MIN && self.cipher.is_none()
    }

    /// Starts receiving a body of `size` bytes (the frame's header already consumed; the
    /// next [`Session::decode`] moves in what the read buffer holds of it). Fails when there
    /// is no memory for it.
    pub(super) fn start_body(&mut self, size: usize, more: bool) -> Result<(), SessionError> {
        let store = if size <= POOLED_MAX {
            Store::Pooled { msg: Message::for_overwrite(size), filled: 0 }
        } else {
            let mut bytes = Vec::new();
            reserve(&mut bytes, size.min(HEAP_FIRST), size)?;
            Store::Heap { bytes, size }
        };
        self.body = Some(PartialBody { store, more });
        self.wanted = 0;
        Ok(())
    }

    /// Moves what `input` holds of the body in progress into it; returns the body once
    /// complete.
    pub(super) fn move_into_body(&mut self, input: &mut BytesMut) -> Option<Message> {
        let body = self.body.as_mut()?;
        let complete = match &mut body.store {
            Store::Pooled { msg, filled } => {
                let Some(dest) = msg.data_mut() else {
                    // Cannot happen: the pool's buffer is ours alone until handed on.
                    unreachable!("a body in progress is not shared")
                };
                let n = input.len().min(dest.len() - *filled);
                dest[*filled..*filled + n].copy_from_slice(&input[..n]);
                input.advance(n);
                *filled += n;
                *filled == msg.len()
            }
            Store::Heap { bytes, size } => {
                let n = input.len().min(*size - bytes.len());
                bytes.extend_from_slice(&input[..n]);
                input.advance(n);
                bytes.len() == *size
            }
        };
        if !complete {
            return None;
        }
        let body = self.body.take()?;
        let mut msg = match body.store {
            Store::Pooled { msg, .. } => msg,
            Store::Heap { bytes, .. } => Message::from(bytes),
        };
        msg.set_more(body.more);
        Some(msg)
    }

    /// Where the rest of the body in progress goes, for the engine to read into; `None`
    /// when no body is in progress.
    pub(crate) fn body_to_fill(&mut self) -> Option<BodyFill<'_>> {
        match &mut self.body.as_mut()?.store {
            Store::Pooled { msg, filled } => {
                let filled = *filled;
                msg.data_mut().map(|d| BodyFill::Slice(&mut d[filled..]))
            }
            Store::Heap { bytes, size } => {
                let max = *size - bytes.len();
                Some(BodyFill::Spare { bytes, max })
            }
        }
    }

    /// `n` more bytes of the body were read into what [`Session::body_to_fill`] gave.
    /// Fails when a heap body needs more room and the system has none.
    pub(crate) fn body_filled(&mut self, n: usize) -> Result<(), SessionError> {
        match self.body.as_mut().map(|b| &mut b.store) {
            Some(Store::Pooled { msg, filled }) => *filled = (*filled + n).min(msg.len()),
            Some(Store::Heap { bytes, size }) if bytes.len() == bytes.capacity() && bytes.len() < *size => {
                // Doubled, as the bytes arrive (glibc moves large blocks by remapping).
                let more = bytes.len().min(*size - bytes.len());
                reserve(bytes, more, *size)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether a body is being received (the bytes that follow are its own).
    pub(crate) fn is_receiving_body(&self) -> bool {
        self.body.is_some()
    }
}

/// Room for `more` bytes in `bytes`, for a frame of `size`.
fn reserve(bytes: &mut Vec<u8>, more: usize, size: usize) -> Result<(), SessionError> {
    bytes.try_reserve_exact(more).map_err(|_| SessionError::OutOfMemory(size as u64))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bytes::BytesMut;

    use super::HEAP_FIRST;
    use crate::message::Message;
    use crate::message::POOLED_MAX;
    use crate::session::tests::connected_pair;
    use crate::session::{BodyFill, FrameSink, OutBuf, SessionError};

    struct Count(usize);

    impl FrameSink for Count {
        fn has_room(&mut self) -> bool {
            true
        }
        fn deliver(&mut self, _: Message) {
            self.0 += 1;
        }
    }

    fn wire(out: &mut OutBuf) -> Vec<u8> {
        let mut bytes = Vec::new();
        while !out.is_empty() {
            out.write_to(&mut bytes).unwrap();
        }
        bytes
    }

    #[test]
    fn a_large_body_is_filled_in_place_and_the_frames_after_it_decode_as_usual() {
        let now = Instant::now();
        let (mut tx, mut rx) = connected_pair(None);
        // Zeros from byte 2000: read as frames, they would be empty ones (flags 0, size 0).
        let mut body: Vec<u8> = (0..300_000u32).map(|i| if i < 2000 { (i % 251) as u8 } else { 0 }).collect();
        body[299_999] = 9;
        let mut first = Message::from(&body[..]);
        first.set_more(true);
        tx.send(&first);
        tx.send(&Message::from("after"));
        let bytes = wire(tx.out());
        // The header and the body's first 1000 bytes arrive with the read buffer ...
        let header_len = 9;
        let mut input = BytesMut::from(&bytes[..header_len + 1000]);
        assert!(rx.decode(&mut input, now).unwrap().is_none());
        assert!(input.is_empty(), "what arrived of the body moved into it");
        assert!(rx.is_receiving_body());
        // ... short frames must not be parsed out of the body's bytes ...
        let mut sink = Count(0);
        assert_eq!(rx.decode_short_frames(&bytes[header_len + 3000..], &mut sink), 0);
        assert_eq!(sink.0, 0);
        // ... and the rest is read into the body in pieces of any size.
        let mut at = header_len + 1000;
        for piece in [1usize, 4095, 100_000] {
            let Some(BodyFill::Slice(dest)) = rx.body_to_fill() else { panic!("a pooled body in progress") };
            dest[..piece].copy_from_slice(&bytes[at..at + piece]);
            rx.body_filled(piece).unwrap();
            at += piece;
        }
        let rest = header_len + body.len() - at;
        let Some(BodyFill::Slice(dest)) = rx.body_to_fill() else { panic!("a pooled body in progress") };
        assert_eq!(dest.len(), rest);
        dest.copy_from_slice(&bytes[at..at + rest]);
        rx.body_filled(rest).unwrap();
        at += rest;
        assert!(
            matches!(rx.body_to_fill(), Some(BodyFill::Slice(d)) if d.is_empty()),
            "complete, until decoded"
        );
        let mut input = BytesMut::from(&bytes[at..]);
        let got = rx.decode(&mut input, now).unwrap().expect("the large frame");
        assert_eq!(&*got, &body[..]);
        assert!(got.get_more());
        assert!(got.metadata().is_some(), "the connection's metadata, as on any frame");
        assert!(!rx.is_receiving_body() && rx.body_to_fill().is_none());
        let after = rx.decode(&mut input, now).unwrap().expect("the frame after it");
        assert_eq!(&*after, b"after");
        assert!(!after.get_more());
    }

    #[test]
    fn a_body_beyond_the_pool_fills_a_heap_block_that_no_memory_refuses() {
        let now = Instant::now();
        let (mut tx, mut rx) = connected_pair(None);
        let size = POOLED_MAX + 3;
        let body: Vec<u8> = (0..size).map(|i| (i % 249) as u8).collect();
        tx.send(&Message::from(&body[..]));
        let bytes = wire(tx.out());
        let mut input = BytesMut::from(&bytes[..50_000]);
        assert!(rx.decode(&mut input, now).unwrap().is_none());
        let mut at = 50_000;
        while at < bytes.len() {
            let Some(BodyFill::Spare { bytes: dest, max }) = rx.body_to_fill() else { panic!("a heap body") };
            assert_eq!(max, bytes.len() - at);
            let n = max.min(1 << 20).min(dest.capacity() - dest.len());
            assert!(n > 0, "room for the next read");
            dest.extend_from_slice(&bytes[at..at + n]);
            rx.body_filled(n).unwrap();
            at += n;
        }
        let got = rx.decode(&mut BytesMut::new(), now).unwrap().expect("the frame");
        assert!(*got == body[..], "intact");
        // A size the system cannot reserve drops the link instead of aborting the process
        // (512 GiB: refused unless the kernel is told to grant every request).
        if std::fs::read_to_string("/proc/sys/vm/overcommit_memory").is_ok_and(|m| m.trim() == "1") {
            return;
        }
        let (_, mut rx) = connected_pair(None);
        let mut header = Vec::new();
        crate::codec::frame::encode_header(&mut header, false, false, 1 << 39);
        let mut input = BytesMut::from(&header[..]);
        input.extend_from_slice(b"first bytes");
        assert!(rx.decode(&mut input, now).unwrap().is_none(), "a size field alone reserves 64 MiB");
        let Some(BodyFill::Spare { bytes: dest, .. }) = rx.body_to_fill() else { panic!("a heap body") };
        assert_eq!(dest.capacity(), HEAP_FIRST);
        // Once the bytes have filled it, the room doubles.
        dest.resize(HEAP_FIRST, 7);
        rx.body_filled(HEAP_FIRST - 11).unwrap();
        let Some(BodyFill::Spare { bytes: dest, max }) = rx.body_to_fill() else { panic!("a heap body") };
        assert_eq!((dest.capacity(), max), (2 * HEAP_FIRST, (1 << 39) - HEAP_FIRST));
        // What the system cannot grant is an error, not an abort.
        assert_eq!(
            super::reserve(&mut Vec::new(), 1 << 39, 1 << 39),
            Err(SessionError::OutOfMemory(1 << 39))
        );
    }

    #[test]
    fn a_body_that_arrives_whole_or_is_small_stays_in_the_read_buffer() {
        let now = Instant::now();
        let (mut tx, mut rx) = connected_pair(None);
        tx.send(&Message::from(vec![5u8; 200_000]));
        tx.send(&Message::from(vec![6u8; 60_000]));
        let bytes = wire(tx.out());
        let mut input = BytesMut::from(&bytes[..]);
        assert_eq!(rx.decode(&mut input, now).unwrap().unwrap().len(), 200_000);
        assert!(!rx.is_receiving_body());
        // 60 000 bytes, header and 10 bytes of body: below the threshold, it waits.
        let mut partial = BytesMut::from(&input[..19]);
        assert!(rx.decode(&mut partial, now).unwrap().is_none());
        assert!(!rx.is_receiving_body());
        assert_eq!(rx.wanted(), 9 + 60_000);
    }
}
