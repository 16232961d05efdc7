//! The ZWS (`ws://`) codec over arbitrary peer bytes: the upgrade request a listener reads,
//! or the response a connecting side reads, then frames.

use bytes::BytesMut;

use crate::codec::greeting::{Greeting, Mechanism, GREETING_LEN};
use crate::codec::ws::{self, Decoder, Encoder, MAX_HANDSHAKE};
use crate::message::INLINE_CAPACITY;

/// Feeds `data` to a listener's (even first byte) or a connecting side's (odd) ZWS layer in
/// chunks whose size the first byte picks: the upgrade, then frames, as the engine does.
/// Must never panic, never hold more than a handshake's worth before the upgrade, never
/// produce a ZMTP frame the session could not parse, and a frame it makes must go back out
/// through the encoder.
pub fn ws_stream(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else { return };
    let server = mode & 1 == 0;
    let mechanism = [Mechanism::Null, Mechanism::Plain, Mechanism::Curve][usize::from(mode >> 1) % 3];
    let key = ws::new_key([mode; 16]);
    let mut decoder = Decoder::new(server, (mode & 8 != 0).then_some(4096), mechanism);
    let (mut raw, mut zmtp, mut controls) = (BytesMut::new(), BytesMut::new(), Vec::new());
    let mut open = false;
    // The frames' bytes as they came, in pieces, for the direct read side's check.
    let (mut after_upgrade, mut failed) = (Vec::new(), false);
    for piece in data.chunks(usize::from(mode >> 4).max(1) * 7) {
        if open {
            after_upgrade.push(piece);
        }
        raw.extend_from_slice(piece);
        if !open {
            let done = match server {
                true => ws::answer_request(&raw, mechanism).map(|r| r.map(|a| a.used)),
                false => ws::check_response(&raw, &key, mechanism),
            };
            match done {
                Ok(None) => {
                    assert!(raw.len() < MAX_HANDSHAKE + 7 * 16, "unbounded upgrade buffer");
                    continue;
                }
                Ok(Some(used)) => {
                    after_upgrade.push(&piece[piece.len() - (raw.len() - used)..]);
                    let _ = raw.split_to(used);
                    zmtp.extend_from_slice(&ws::peer_greeting(mechanism, server));
                    open = true;
                }
                Err(_) => return,
            }
        }
        if decoder.decode(&mut raw, &mut zmtp, &mut controls).is_err() {
            failed = true;
            break;
        }
    }
    if !open {
        return;
    }
    if mechanism != Mechanism::Curve {
        // The engine takes no direct read side with CURVE (its MESSAGE data frames are
        // commands to the decoder).
        let max = (mode & 8 != 0).then_some(4096);
        let (direct, direct_failed) = direct_read_side(server, max, &after_upgrade);
        assert_eq!(direct_failed, failed, "the direct read side fails where the decoder does");
        if !failed {
            // Whole frames alike: a large body the decoder passes through as it comes, the
            // direct read side waits for whole.
            let (direct, alone) = (&direct[..], &zmtp[GREETING_LEN..]);
            let (direct, alone) = (&direct[..whole_frames(direct)], &alone[..whole_frames(alone)]);
            assert_eq!(direct, alone, "the direct read side decodes the same");
        }
    }
    if failed {
        return;
    }
    // What the decoder made is a greeting and whole ZMTP frames (the last short by what a
    // body passed through still lacks), which re-encode.
    assert!(Greeting::decode(&zmtp[..GREETING_LEN]).is_ok_and(|g| g.is_some()));
    let frames = &zmtp[GREETING_LEN..];
    let whole = whole_frames(frames);
    if whole < frames.len() {
        let h =
            crate::codec::decode_header(&frames[whole..], None).expect("a valid header").expect("a header");
        let short = h.header_len + usize::try_from(h.size).expect("sizes fit") - (frames.len() - whole);
        assert_eq!(short, decoder.through_left(), "whole frames, but a body passed through");
    }
    let mut enc = Encoder::new(!server, mechanism, 1);
    let mut out = Vec::new();
    enc.encode(&zmtp, &mut out);
    for c in &controls {
        enc.control(c, &mut out);
    }
}

/// The length of the whole ZMTP frames at the front of `zmtp`.
fn whole_frames(zmtp: &[u8]) -> usize {
    let mut at = 0;
    while let Ok(Some(h)) = crate::codec::decode_header(&zmtp[at..], None) {
        let end = at + h.header_len + usize::try_from(h.size).expect("sizes fit");
        if end > zmtp.len() {
            break;
        }
        at = end;
    }
    at
}

/// What the engine makes of `pieces` with the application thread reading directly while the
/// link's decoder holds nothing (`codec::ws::take_data_frames`), and the decoder taking
/// what it hands back: the ZMTP bytes, and whether the decoder failed.
fn direct_read_side(server: bool, max: Option<u64>, pieces: &[&[u8]]) -> (BytesMut, bool) {
    let mut decoder = Decoder::new(server, max, Mechanism::Null);
    let (mut app, mut io, mut zmtp, mut controls) =
        (BytesMut::new(), BytesMut::new(), BytesMut::new(), Vec::new());
    let app_max = max.map_or(64 * 1024, |m| m.min(64 * 1024)) as usize;
    for piece in pieces {
        if io.is_empty() && !decoder.in_fragments() && decoder.through_left() == 0 {
            app.extend_from_slice(piece);
            if !ws::take_data_frames(&mut app, server, app_max, INLINE_CAPACITY, &mut zmtp) {
                continue;
            }
            // Handed back, as it came.
            io = std::mem::take(&mut app);
        } else {
            io.extend_from_slice(piece);
        }
        if decoder.decode(&mut io, &mut zmtp, &mut controls).is_err() {
            return (zmtp, true);
        }
    }
    // Whatever the application still holds is a partial frame: the decoder would wait too.
    (zmtp, false)
}
