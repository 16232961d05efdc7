//! The flood path of the decoder: runs of short data frames decoded in one pass.
//!
//! A PUSH/PULL or PUB/SUB flood of small messages is mostly frames of 2 + n bytes (flags,
//! size, body). [`Session::decode_bare`] pays per frame for what a run of them shares: the
//! phase and cipher checks, the size limit, two advances of the read buffer (each updates
//! its length, capacity and pointer) and a 56-byte `Message` returned through an `Option`
//! and a `Result`. Here those are checked once per run, the buffer is advanced once at its
//! end, and each frame is built straight into the sink. Anything else (a command, a
//! long-form frame, a frame not yet complete, an invalid flag) ends the run and is left to
//! `decode_bare`, which also reports every error: this path never rejects.
//!
//! Bodies here are copied (inline, or into a recycled buffer), as `decode_bare` copies them
//! up to 64 KiB: sharing the read buffer costs an atomic increment on the I/O thread and a decrement on the
//! application thread of the same count for every message, a cache line that then moves
//! between the cores per message, and the buffer cannot be reused for the next read. A/B
//! on 64 B floods (3 M messages, alternating runs): receiver CPU 386–401 → 322–348 ms,
//! 1 B–255 B in callgrind: fewer instructions too.

use super::{Phase, Session};
use crate::codec::frame::FLAG_MORE;
use crate::message::{Message, INLINE_CAPACITY};

/// Where [`Session::decode_short_frames`] puts the frames it decodes.
pub(crate) trait FrameSink {
    /// Whether another frame may be delivered now (false: the run stops before it, unread).
    fn has_room(&mut self) -> bool;
    /// Takes one decoded frame.
    fn deliver(&mut self, frame: Message);
}

impl Session {
    /// Decodes the complete short-form data frames (bodies up to 255 bytes) at the front of
    /// `input` into `sink`, while it has room; returns how many bytes they took (the caller
    /// advances its buffer by that much). Returns 0 unless the handshake is done, the link is
    /// not encrypted, no large body is being received and the socket is no REQ (whose
    /// replies `decode_bare` checks frame by frame: they come one at a time, not in floods).
    #[inline]
    pub(crate) fn decode_short_frames(&self, input: &[u8], sink: &mut impl FrameSink) -> usize {
        if self.phase != Phase::Active
            || self.cipher.is_some()
            || self.body.is_some()
            || self.reply_envelope.is_some()
        {
            return 0;
        }
        // A body over MAXMSGSIZE is left to `decode_bare`, which drops the link.
        let max = self.cfg.max_msg_size.map_or(255, |max| max.min(255) as usize);
        let mut used = 0;
        while let [flags, size, ref rest @ ..] = input[used..] {
            let size = usize::from(size);
            // Only MORE may be set: LONG, COMMAND and invalid bits go the general way.
            if flags & !FLAG_MORE != 0 || size > max || rest.len() < size || !sink.has_room() {
                break;
            }
            let more = flags & FLAG_MORE != 0;
            let frame = match rest.first_chunk::<INLINE_CAPACITY>() {
                Some(window) if size <= INLINE_CAPACITY => Message::inline_from_window(window, size, more),
                _ => {
                    let mut frame = Message::from_slice(&rest[..size]);
                    frame.set_more(more);
                    frame
                }
            };
            sink.deliver(frame);
            used += 2 + size;
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bytes::BytesMut;

    use super::*;
    use crate::session::tests::connected_pair;

    struct Collect {
        room: usize,
        got: Vec<Message>,
    }

    impl FrameSink for Collect {
        fn has_room(&mut self) -> bool {
            self.got.len() < self.room
        }
        fn deliver(&mut self, frame: Message) {
            self.got.push(frame);
        }
    }

    fn parts(got: &[Message]) -> Vec<(Vec<u8>, bool)> {
        got.iter().map(|m| (m.to_vec(), m.get_more())).collect()
    }

    #[test]
    fn a_run_stops_at_the_first_frame_it_does_not_take_and_at_the_sinks_limit() {
        let (session, _) = connected_pair(None);
        let mut input = vec![1, 2, b'h', b'i', 0, 0, 0, 1, b'x', 0, 255];
        input.extend_from_slice(&[7u8; 255]);
        let mut sink = Collect { room: 10, got: Vec::new() };
        assert_eq!(session.decode_short_frames(&input, &mut sink), input.len());
        assert_eq!(
            parts(&sink.got),
            vec![(b"hi".to_vec(), true), (vec![], false), (b"x".to_vec(), false), (vec![7; 255], false)]
        );

        // A command, a long-form size, a reserved flag bit, an incomplete body.
        for stop in [&[0x04, 1, 0][..], &[0x02, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[0x08, 0], &[0, 5, 1, 2]] {
            let mut sink = Collect { room: 10, got: Vec::new() };
            let mut input = vec![0, 1, b'a'];
            input.extend_from_slice(stop);
            assert_eq!(session.decode_short_frames(&input, &mut sink), 3, "stops before {stop:?}");
            assert_eq!(sink.got.len(), 1);
        }

        let mut sink = Collect { room: 2, got: Vec::new() };
        assert_eq!(session.decode_short_frames(&[0, 0, 0, 0, 0, 0], &mut sink), 4, "no room for the third");
    }

    #[test]
    fn a_body_over_maxmsgsize_is_left_to_the_general_decoder_which_refuses_it() {
        let (mut session, _) = connected_pair(Some(100));
        let mut input = BytesMut::from(&[0, 100][..]);
        input.extend_from_slice(&[1; 100]);
        input.extend_from_slice(&[0, 101]);
        input.extend_from_slice(&[2; 101]);
        let mut sink = Collect { room: 10, got: Vec::new() };
        assert_eq!(session.decode_short_frames(&input, &mut sink), 102);
        assert_eq!(sink.got.len(), 1);
        bytes::Buf::advance(&mut input, 102);
        assert!(session.decode_bare(&mut input, Instant::now()).is_err());
    }

    /// The flood path followed by `decode_bare` (as the engine runs them) yields exactly what
    /// `decode_bare` alone yields, for random streams of short, inline-boundary, long and
    /// multipart frames and commands, cut at random points, with a sink that fills at random.
    #[test]
    fn the_flood_path_decodes_exactly_as_the_general_one() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for _round in 0..200 {
            let (mut general, mut flood) = connected_pair(None);
            let mut wire = Vec::new();
            for _ in 0..next(60) {
                match next(10) {
                    0 => wire.extend_from_slice(&[0x04, 7, 4, b'P', b'I', b'N', b'G', 0, 0]),
                    1 => {
                        let n = 200 + next(400) as usize;
                        wire.extend_from_slice(&[0x02 | next(2) as u8]);
                        wire.extend_from_slice(&(n as u64).to_be_bytes());
                        wire.extend(std::iter::repeat_n(next(256) as u8, n));
                    }
                    _ => {
                        let n = if next(3) == 0 { next(256) } else { next(45) } as usize;
                        wire.extend_from_slice(&[next(2) as u8, n as u8]);
                        wire.extend((0..n).map(|_| next(256) as u8));
                    }
                }
            }
            let now = Instant::now();
            let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
            let (mut want, mut got) = (Vec::new(), Vec::new());
            let mut fed = 0;
            while fed < wire.len() {
                let cut = (fed + 1 + next(300) as usize).min(wire.len());
                a.extend_from_slice(&wire[fed..cut]);
                b.extend_from_slice(&wire[fed..cut]);
                fed = cut;
                loop {
                    let before = a.len();
                    match general.decode_bare(&mut a, now).unwrap() {
                        Some(m) => want.push(m),
                        None if a.len() == before => break,
                        None => {}
                    }
                }
                loop {
                    let before = b.len();
                    let mut sink = Collect { room: next(8) as usize, got: Vec::new() };
                    let used = flood.decode_short_frames(&b, &mut sink);
                    bytes::Buf::advance(&mut b, used);
                    got.extend(sink.got);
                    match flood.decode_bare(&mut b, now).unwrap() {
                        Some(m) => got.push(m),
                        None if b.len() == before => break,
                        None => {}
                    }
                }
            }
            assert_eq!(parts(&got), parts(&want));
            assert!(a.is_empty() && b.is_empty());
        }
    }
}
