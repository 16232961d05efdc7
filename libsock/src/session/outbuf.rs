//! [`OutBuf`]: bytes waiting to be written to a stream.
//!
//! Headers and small bodies are copied into one staging vector, so thousands of small
//! messages leave in one `write`. Large bodies are kept as the caller's [`Bytes`] and written
//! with `writev` straight from their own memory: no copy.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use bytes::{Buf, Bytes};

/// Bodies at least this large are written from their own buffer rather than copied.
pub const ZERO_COPY_MIN: usize = 8 * 1024;

/// How many slices one `writev` is given.
const MAX_SLICES: usize = 64;

/// An ordered byte queue of staged bytes and shared bodies.
#[derive(Default)]
pub struct OutBuf {
    staging: Vec<u8>,
    /// Closed segments, in order; the open staged region `staging[open_from..]` follows them.
    segs: VecDeque<Seg>,
    open_from: usize,
    /// Unwritten bytes in `segs`.
    segs_len: usize,
    /// Unwritten bytes of the shared bodies among them (not copied here).
    shared_len: usize,
}

enum Seg {
    Staged { start: usize, end: usize },
    Body(Bytes),
}

impl Seg {
    fn len(&self) -> usize {
        match self {
            Seg::Staged { start, end } => end - start,
            Seg::Body(b) => b.len(),
        }
    }
}

impl OutBuf {
    /// Unwritten bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.segs_len + self.staging.len() - self.open_from
    }

    /// Unwritten bytes copied into the staging vector (headers and small bodies): what the
    /// buffer itself holds, as opposed to large bodies it only refers to.
    #[inline]
    pub fn copied_len(&self) -> usize {
        self.len() - self.shared_len
    }

    /// Whether everything has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The staging vector, for encoders that append to a `Vec<u8>`.
    #[inline]
    pub fn staging(&mut self) -> &mut Vec<u8> {
        &mut self.staging
    }

    /// Queues a body without copying it.
    pub fn push_shared(&mut self, body: Bytes) {
        if self.staging.len() > self.open_from {
            let seg = Seg::Staged { start: self.open_from, end: self.staging.len() };
            self.segs_len += seg.len();
            self.segs.push_back(seg);
            self.open_from = self.staging.len();
        }
        self.segs_len += body.len();
        self.shared_len += body.len();
        self.segs.push_back(Seg::Body(body));
    }

    /// Writes as much as `w` takes in one vectored write. Returns the bytes written.
    pub fn write_to<W: Write>(&mut self, w: &mut W) -> io::Result<usize> {
        if self.segs.is_empty() {
            let n = w.write(&self.staging[self.open_from..])?;
            self.advance(n);
            return Ok(n);
        }
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let mut count = 0;
        for seg in self.segs.iter().take(MAX_SLICES - 1) {
            slices[count] = IoSlice::new(match seg {
                Seg::Staged { start, end } => &self.staging[*start..*end],
                Seg::Body(b) => b,
            });
            count += 1;
        }
        // The open region comes after every segment: only when they all fit before it.
        if count == self.segs.len() && self.open_from < self.staging.len() {
            slices[count] = IoSlice::new(&self.staging[self.open_from..]);
            count += 1;
        }
        let n = w.write_vectored(&slices[..count])?;
        self.advance(n);
        Ok(n)
    }

    /// How many bytes the next [`OutBuf::write_to`] offers the stream (fewer than
    /// [`OutBuf::len`] only when more slices are queued than one `writev` takes). A write
    /// that returns less than this found the kernel's buffer full.
    pub fn next_write_len(&self) -> usize {
        if self.segs.is_empty() {
            return self.staging.len() - self.open_from;
        }
        let mut count = 0;
        let mut len = 0;
        for seg in self.segs.iter().take(MAX_SLICES - 1) {
            len += seg.len();
            count += 1;
        }
        if count == self.segs.len() && self.open_from < self.staging.len() {
            len += self.staging.len() - self.open_from;
        }
        len
    }

    /// Drops the first `n` bytes (they were written).
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.segs.front_mut() else {
                self.open_from += n;
                break;
            };
            let len = front.len();
            if n >= len {
                if let Some(Seg::Body(_)) = self.segs.pop_front() {
                    self.shared_len -= len;
                }
                self.segs_len -= len;
                n -= len;
                continue;
            }
            match front {
                Seg::Staged { start, .. } => *start += n,
                Seg::Body(b) => {
                    b.advance(n);
                    self.shared_len -= n;
                }
            }
            self.segs_len -= n;
            n = 0;
        }
        if self.segs.is_empty() && self.open_from >= self.staging.len() {
            self.staging.clear();
            self.open_from = 0;
        }
    }

    /// Forgets everything unwritten.
    pub fn clear(&mut self) {
        self.segs.clear();
        self.segs_len = 0;
        self.shared_len = 0;
        self.staging.clear();
        self.open_from = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `limit` bytes per call, to exercise partial writes.
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.limit);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn staged_and_shared_bytes_leave_in_order_across_partial_writes() {
        let mut buf = OutBuf::default();
        let mut expected = Vec::new();
        for i in 0..50u8 {
            buf.staging().extend_from_slice(&[i; 3]);
            expected.extend_from_slice(&[i; 3]);
            if i % 7 == 0 {
                let body = Bytes::from(vec![i; 1000]);
                expected.extend_from_slice(&body);
                buf.push_shared(body);
            }
        }
        assert_eq!(buf.len(), expected.len());
        assert_eq!(buf.copied_len(), 150, "only the staged bytes count as copied");
        let mut w = Trickle { out: Vec::new(), limit: 333 };
        while !buf.is_empty() {
            buf.write_to(&mut w).unwrap();
            assert!(buf.copied_len() <= buf.len());
        }
        assert_eq!(buf.copied_len(), 0);
        assert_eq!(w.out, expected);
        assert!(buf.staging().is_empty(), "fully written buffers are recycled");
    }

    /// More segments than one `writev` takes, then staged bytes still open: the open bytes
    /// must wait for the segments before them (they once went out in the first `writev`,
    /// ahead of the segments that did not fit).
    #[test]
    fn bytes_after_more_segments_than_one_writev_takes_stay_in_order() {
        let mut buf = OutBuf::default();
        let mut expected = Vec::new();
        for i in 0..(MAX_SLICES as u8) {
            buf.staging().extend_from_slice(&[i; 2]);
            expected.extend_from_slice(&[i; 2]);
            let body = Bytes::from(vec![i; 100]);
            expected.extend_from_slice(&body);
            buf.push_shared(body);
        }
        buf.staging().extend_from_slice(b"tail");
        expected.extend_from_slice(b"tail");
        assert!(buf.next_write_len() < buf.len(), "one writev cannot take it all");
        // A `Vec` takes every slice of a vectored write, as a socket with room does.
        let mut w = Vec::new();
        while !buf.is_empty() {
            let offered = buf.next_write_len();
            assert_eq!(buf.write_to(&mut w).unwrap(), offered);
        }
        assert_eq!(w, expected);
    }

    /// A vectored writer that takes a pseudo-random number of bytes across the slices.
    struct Ragged {
        out: Vec<u8>,
        seed: u64,
    }

    impl Ragged {
        fn next(&mut self, below: u64) -> u64 {
            self.seed =
                self.seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.seed >> 33) % below
        }
    }

    impl Write for Ragged {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            // Sometimes all of it, as a socket with room takes.
            let mut room = if self.next(4) == 0 { usize::MAX } else { self.next(70_000) as usize };
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(room);
                self.out.extend_from_slice(&b[..take]);
                n += take;
                room -= take;
                if room == 0 {
                    break;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Staged bytes and shared bodies of random sizes, queued between random partial
    /// vectored writes (often more segments than one `writev` takes): the stream comes out
    /// in order, and `copied_len` never counts the shared bodies.
    #[test]
    fn random_queues_and_partial_writes_keep_the_order() {
        for seed in 0..50u64 {
            let mut buf = OutBuf::default();
            let mut w = Ragged { out: Vec::new(), seed };
            let mut expected = Vec::new();
            let mut shared = 0usize;
            for i in 0..400u32 {
                let byte = (i % 251) as u8;
                // Writes are rare, so more segments pile up than one writev takes.
                match w.next(20) {
                    0..=9 => {
                        let n = 1 + w.next(40) as usize;
                        buf.staging().extend(std::iter::repeat_n(byte, n));
                        expected.extend(std::iter::repeat_n(byte, n));
                    }
                    10..=18 => {
                        let body = Bytes::from(vec![byte; 1 + w.next(20_000) as usize]);
                        expected.extend_from_slice(&body);
                        shared += body.len();
                        buf.push_shared(body);
                    }
                    _ => {
                        let before = buf.len();
                        let n = buf.write_to(&mut w).unwrap();
                        assert_eq!(buf.len(), before - n);
                    }
                }
                assert!(buf.copied_len() <= buf.len());
                assert!(buf.len() - buf.copied_len() <= shared);
            }
            while !buf.is_empty() {
                buf.write_to(&mut w).unwrap();
            }
            assert_eq!(buf.copied_len(), 0);
            assert!(w.out == expected, "seed {seed}: the stream came out reordered");
        }
    }

    #[test]
    fn next_write_len_is_what_one_writev_offers() {
        let mut buf = OutBuf::default();
        buf.staging().extend_from_slice(b"abc");
        assert_eq!(buf.next_write_len(), 3);
        for _ in 0..100 {
            buf.staging().extend_from_slice(b"hdr");
            buf.push_shared(Bytes::from(vec![1u8; 10_000]));
        }
        // 100 headers and 100 bodies queued: one writev takes the first 63 slices.
        assert_eq!(buf.len(), 3 + 100 * 10_003);
        assert_eq!(buf.next_write_len(), 3 + 31 * 10_003 + 3);
        // (A `Vec` takes every slice of a vectored write, as a socket with room does.)
        let mut w = Vec::new();
        assert_eq!(buf.write_to(&mut w).unwrap(), 3 + 31 * 10_003 + 3);
    }

    #[test]
    fn shared_bodies_are_not_copied_into_staging() {
        let mut buf = OutBuf::default();
        buf.staging().extend_from_slice(b"hdr");
        buf.push_shared(Bytes::from(vec![0u8; 100_000]));
        assert_eq!(buf.staging().len(), 3);
        assert_eq!(buf.len(), 100_003);
    }
}
