//! The stream targets' mutation driver on chosen attacks, and on a few thousand random ones
//! (a fixed-seed RNG, so CI exercises it without cargo-fuzz).

use super::stream::{self, run, Kind};

/// Modes: mutations start at the client's first MESSAGE (5), the server's (11), the client's
/// HELLO (1), its INITIATE (3).
const CLIENT_MESSAGES: u8 = 5;
const SERVER_MESSAGES: u8 = 11;
const CLIENT_HELLO: u8 = 1;
const CLIENT_INITIATE: u8 = 3;

/// Client-to-server traffic under `ops`; returns (message parts the server got, server active).
fn attack(kind: Kind, mode: u8, ops: &[[u8; 4]]) -> (usize, bool) {
    let data: Vec<u8> = [mode, 0].into_iter().chain(ops.iter().flatten().copied()).collect();
    let out = run(kind, &data, 0, stream::foreign(kind));
    (out.received[1], out.active[1])
}

#[test]
fn clean_conversations_deliver_every_message_both_ways() {
    for kind in [Kind::Curve, Kind::Plain] {
        for (receiver, mode) in [(1, CLIENT_MESSAGES), (0, SERVER_MESSAGES)] {
            let out = run(kind, &[mode, 0], 0, &Default::default());
            assert_eq!(out.active, [true, true], "{kind:?}");
            assert_eq!(out.received[receiver], 5, "{kind:?} to side {receiver}");
        }
    }
}

#[test]
fn chunked_reads_deliver_every_message() {
    for chunk in [1, 7, 100] {
        let out = run(Kind::Curve, &[CLIENT_MESSAGES, chunk], 0, &Default::default());
        assert_eq!(out.received[1], 5, "chunk {chunk}");
    }
}

#[test]
fn replayed_curve_message_is_refused() {
    // The first message passes, the second goes out twice: the copy's nonce is not above.
    assert_eq!(attack(Kind::Curve, CLIENT_MESSAGES, &[[0; 4], [5, 0, 0, 0]]), (2, true));
    // An earlier message replayed after a later one.
    assert_eq!(attack(Kind::Curve, CLIENT_MESSAGES, &[[0; 4], [0; 4], [5, 2, 0, 0]]), (3, true));
}

#[test]
fn reordered_curve_messages_are_refused() {
    // The first message held back behind the second: the second arrives, the first is refused.
    assert_eq!(attack(Kind::Curve, CLIENT_MESSAGES, &[[6, 0, 0, 0]]), (1, true));
}

#[test]
fn tampered_curve_message_is_never_delivered() {
    for offset in [0u8, 1, 5, 12, 20, 40] {
        let (got, _) = attack(Kind::Curve, CLIENT_MESSAGES, &[[1, offset, 0, 0x80]]);
        assert_eq!(got, 0, "byte {offset} flipped");
    }
    // Nonce counter one up (the box no longer opens) and one down (a replayed nonce).
    for delta in [1, 0xff] {
        assert_eq!(attack(Kind::Curve, CLIENT_MESSAGES, &[[9, 0, 0, delta]]).0, 0, "nonce {delta:#x}");
    }
    // Length one longer, truncated, or re-encoded with a long header (which is harmless).
    assert_eq!(attack(Kind::Curve, CLIENT_MESSAGES, &[[8, 0, 0, 1]]).0, 0);
    assert_eq!(attack(Kind::Curve, CLIENT_MESSAGES, &[[3, 30, 0, 0]]).0, 0);
    assert_eq!(attack(Kind::Curve, CLIENT_MESSAGES, &[[8, 1, 0, 0]]).0, 5);
}

#[test]
fn plaintext_injected_into_curve_is_never_delivered() {
    // A data frame or a READY in the clear, in place of the first MESSAGE or before it.
    for b in [2, 3, 6, 7] {
        assert_eq!(attack(Kind::Curve, CLIENT_MESSAGES, &[[7, 0, b, 0]]), (0, true), "splice {b}");
    }
    // A READY in the clear in place of the server's: the client never becomes active.
    let out = run(Kind::Curve, &[4, 0, 7, 0, 6, 0], 0, stream::foreign(Kind::Curve));
    assert_eq!(out.active, [false, true]);
    // PLAIN has no integrity: the same injection is delivered (the oracle allows it).
    assert_eq!(attack(Kind::Plain, CLIENT_MESSAGES, &[[7, 0, 2, 0]]).0, 5);
}

#[test]
fn initiate_spliced_from_another_connection_is_refused() {
    // Another client's INITIATE, sealed under the same cookie keys, for the same server: its
    // cookie was issued on the other connection.
    assert_eq!(attack(Kind::Curve, CLIENT_INITIATE, &[[7, 2, 0, 0]]), (0, false));
    // HELLO from the other connection: the WELCOME goes to a key this client does not hold.
    assert_eq!(attack(Kind::Curve, CLIENT_HELLO, &[[7, 1, 0, 0]]), (0, false));
}

#[test]
fn tampered_plain_credentials_are_refused_by_zap() {
    // HELLO is [flags, size, 5 "HELLO", 5 "admin", 6 "secret"]: flip the user and password.
    for offset in [9u8, 15, 17] {
        assert_eq!(attack(Kind::Plain, CLIENT_HELLO, &[[1, offset, 0, 0x20]]), (0, false), "byte {offset}");
    }
    // Another client's HELLO (other credentials) in place of ours.
    assert_eq!(attack(Kind::Plain, CLIENT_HELLO, &[[7, 1, 0, 0]]), (0, false));
    // Untouched, the same run admits.
    assert_eq!(attack(Kind::Plain, CLIENT_HELLO, &[[0; 4]]), (5, true));
}

/// Random modes, read sizes and mutation lists through both targets, whose oracles assert.
#[test]
fn random_stream_mutations_hold_the_invariants() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut delivered, mut refused) = ([0; 2], [0; 2]);
    for i in 0..2000 {
        let mode = next() as u8;
        let chunk = if i % 4 == 0 { (next() % 64) as u8 } else { 0 };
        let ops = (next() % 7) as usize;
        let mut data = vec![mode, chunk];
        for _ in 0..ops {
            let r = next();
            // Mostly passes and small offsets, so mutations land on every frame and field.
            let kind = if r % 3 == 0 { 0 } else { (r >> 8) as u8 };
            data.extend_from_slice(&[kind, (r >> 16) as u8 % 200, (r >> 24) as u8 & 7, (r >> 32) as u8]);
        }
        for (k, kind) in [Kind::Curve, Kind::Plain].into_iter().enumerate() {
            let out = run(kind, &data, 0, stream::foreign(kind));
            delivered[k] += usize::from(out.received.iter().any(|&n| n > 0));
            refused[k] += usize::from(out.active != [true, true]);
        }
    }
    // The driver must not degenerate: both outcomes are common for both mechanisms.
    eprintln!("delivered {delivered:?}, refused {refused:?} of 2000");
    for k in 0..2 {
        assert!(delivered[k] > 200 && refused[k] > 200, "delivered {delivered:?}, refused {refused:?}");
    }
}
