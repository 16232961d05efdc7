//! Scripted cases of the `wire` family: one per difference it found, and the dialling side's
//! basics. The same steps run on both libraries, which must agree, and each case asserts the
//! observation that matters (for a difference: what was fixed in libsock).

use std::sync::atomic::{AtomicU64, Ordering};

use super::script::{command, frame, piece, property};
use super::{open, step, Dialing, Op, Setup};

/// A name of its own for each case's endpoints and monitors.
static CASE: AtomicU64 = AtomicU64::new(9_000_000);

fn server(kind: &'static str) -> Setup {
    Setup {
        server: kind,
        dials: None,
        routing_id: None,
        max_msg_size: None,
        probe_router: false,
        subscribed: Vec::new(),
        script: Vec::new(),
    }
}

/// A ZMTP greeting of this version and mechanism.
fn greeting(major: u8, mechanism: &str) -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, major, 1];
    let mut field = [0u8; 20];
    field[..mechanism.len()].copy_from_slice(mechanism.as_bytes());
    g.extend_from_slice(&field);
    g.extend_from_slice(&[0; 32]);
    g
}

fn ready(properties: &[(&str, &[u8])]) -> Vec<u8> {
    command("READY", &properties.iter().flat_map(|(n, v)| property(n, v)).collect::<Vec<u8>>())
}

fn write(label: &str, bytes: Vec<u8>) -> Op {
    Op::Write(vec![piece(label, bytes)])
}

/// Runs `ops` on libsock and on libzmq; they must report the same after every step (step 0
/// first, before any op). Returns the reports.
fn agreed(s: &Setup, ops: &[Op]) -> Vec<String> {
    let case = CASE.fetch_add(1, Ordering::Relaxed);
    let mut sides = [open(true, s, case), open(false, s, case)];
    let mut reports = Vec::new();
    for op in std::iter::once(None).chain(ops.iter().map(Some)) {
        let seen: Vec<String> = sides.iter_mut().map(|side| step(s, side, op)).collect();
        assert_eq!(seen[0], seen[1], "after {op:?}\n--- libsock:\n{}--- libzmq:\n{}", seen[0], seen[1]);
        reports.push(seen[0].clone());
    }
    reports
}

fn assert_has(report: &str, text: &str) {
    assert!(report.contains(text), "expected {text:?} in:\n{report}");
}

/// Padding is not significant, but libzmq's holds a ZMTP 1.0 identity length (routing id + 1).
#[test]
fn the_greeting_padding_holds_the_routing_id_length() {
    let s = Setup { routing_id: Some("srv"), ..server("DEALER") };
    let reports = agreed(&s, &[]);
    assert_has(&reports[0], r"peer read \xff\x00\x00\x00\x00\x00\x00\x00\x04\x7f");
}

/// libzmq speaks ZMTP 3.1 to a major version of 2, as to one above 3.
#[test]
fn a_major_version_of_2_is_spoken_to_as_3_1() {
    let ops =
        [write("greeting 2.1", greeting(2, "NULL")), write("READY", ready(&[("Socket-Type", b"PUSH")]))];
    let reports = agreed(&server("PULL"), &ops);
    assert_has(&reports[2], "HANDSHAKE_SUCCEEDED");
}

/// A mechanism no library knows is a mismatch, judged once the greeting is whole.
#[test]
fn an_unknown_mechanism_is_a_mechanism_mismatch() {
    let g = greeting(3, "BOGUS");
    let ops = [write("greeting [0..14]", g[..14].to_vec()), write("greeting [14..64]", g[14..].to_vec())];
    let reports = agreed(&server("PULL"), &ops);
    assert!(!reports[1].contains("hung up"), "{}", reports[1]);
    assert_has(&reports[2], "HANDSHAKE_FAILED_PROTOCOL 285212674");
}

/// A data frame in the handshake is an unexpected command, refused once it is whole.
#[test]
fn a_message_before_ready_is_an_unexpected_command() {
    let early = frame(0, b"early");
    let ops = [
        write("greeting", greeting(3, "NULL")),
        write("message [0..3]", early[..3].to_vec()),
        write("message [3..7]", early[3..].to_vec()),
    ];
    let reports = agreed(&server("PULL"), &ops);
    assert!(!reports[2].contains("hung up"), "{}", reports[2]);
    assert_has(&reports[3], "HANDSHAKE_FAILED_PROTOCOL 268435457");
}

/// libzmq's NULL mechanism closes on bad metadata without a HANDSHAKE_FAILED event.
#[test]
fn bad_metadata_under_null_ends_the_connection_without_a_handshake_event() {
    let ops =
        [write("greeting", greeting(3, "NULL")), write("READY BOGUS", ready(&[("Socket-Type", b"BOGUS")]))];
    let reports = agreed(&server("PULL"), &ops);
    assert_has(&reports[2], r#"monitor ["DISCONNECTED tcp://127.0.0.1:SERVER"]"#);
}

/// After the handshake, commands other than PING, PONG, SUBSCRIBE and CANCEL, and those that
/// cannot be read, are dropped and the connection kept.
#[test]
fn other_commands_after_the_handshake_are_dropped() {
    let mut commands = command("HELLO", b"x");
    commands.extend(command("ERROR", b"\x04nope"));
    commands.extend(frame(0x04, b""));
    commands.extend(frame(0x04, b"\x09PIN"));
    commands.extend(frame(0, b"after"));
    let ops = [
        write("greeting", greeting(3, "NULL")),
        write("READY", ready(&[("Socket-Type", b"PUSH")])),
        write("commands, then a message", commands),
        Op::Drain,
    ];
    let reports = agreed(&server("PULL"), &ops);
    assert_has(&reports[4], r#"answer [(["after"]"#);
    assert!(!reports[4].contains("hung up"), "{}", reports[4]);
}

/// A socket that takes no subscriptions receives the command itself, with the metadata.
#[test]
fn a_subscribe_command_reaches_a_dealer_as_a_message() {
    let ops = [
        write("greeting", greeting(3, "NULL")),
        write("READY", ready(&[("Socket-Type", b"DEALER"), ("X-Hello", b"World")])),
        write("SUBSCRIBE m", command("SUBSCRIBE", b"m")),
        Op::Drain,
    ];
    let reports = agreed(&server("DEALER"), &ops);
    assert_has(&reports[4], r#"answer [(["\\tSUBSCRIBEm"], [Some("DEALER"), None, Some("World")])]"#);
}

/// An XPUB passes up the cancel of a topic it never had (libzmq's mtrie: `not_found`).
#[test]
fn an_xpub_passes_up_a_cancel_of_a_topic_it_never_had() {
    let ops = [
        write("greeting", greeting(3, "NULL")),
        write("READY", ready(&[("Socket-Type", b"SUB")])),
        write("CANCEL a", command("CANCEL", b"a")),
        Op::Drain,
    ];
    let reports = agreed(&server("XPUB"), &ops);
    assert_has(&reports[4], r#"answer [(["\\x00a"]"#);
}

/// Of two Identity properties, a ROUTER takes the last.
#[test]
fn a_router_takes_the_last_identity() {
    let ops = [
        write("greeting", greeting(3, "NULL")),
        write("READY", ready(&[("Socket-Type", b"DEALER"), ("Identity", b"first"), ("Identity", b"last")])),
        write("message", frame(0, b"m")),
        Op::Drain,
    ];
    let reports = agreed(&server("ROUTER"), &ops);
    assert_has(&reports[4], r#"answer [(["last", "m"]"#);
}

/// A PING read before a frame that ends the connection is answered first.
#[test]
fn a_ping_is_answered_before_a_bad_frame_ends_the_connection() {
    let mut ping_then_too_large = command("PING", b"\x00\x00ctx");
    ping_then_too_large.extend(frame(0, &[b'x'; 200]));
    let ops = [
        write("greeting", greeting(3, "NULL")),
        write("READY", ready(&[("Socket-Type", b"PUSH")])),
        write("PING, then a frame over MAXMSGSIZE", ping_then_too_large),
    ];
    let reports = agreed(&Setup { max_msg_size: Some(100), ..server("PULL") }, &ops);
    assert_has(&reports[3], r"peer read \x04\x08\x04PONGctx");
    assert_has(&reports[3], "hung up");
}

/// A dialling ROUTER with PROBE_ROUTER and CONNECT_ROUTING_ID queues its probe and what it
/// sends to that routing id from the connect, and writes both once the peer is ready; the
/// peer's messages arrive under the given routing id, not its READY's Identity.
#[test]
fn a_dialling_router_writes_its_probe_and_queued_message_once_the_peer_is_ready() {
    let s = Setup {
        dials: Some(Dialing { reconnect_ivl: 60_000, immediate: false, connect_routing_id: Some("given") }),
        probe_router: true,
        ..server("ROUTER")
    };
    let ops = [
        Op::Send(vec![b"given".to_vec(), b"early".to_vec()]),
        write("greeting", greeting(3, "NULL")),
        write("READY", ready(&[("Socket-Type", b"DEALER"), ("Identity", b"theirs")])),
        write("message", frame(0, b"m")),
        Op::Drain,
    ];
    let reports = agreed(&s, &ops);
    assert_has(
        &reports[0],
        r#"monitor ["CONNECT_DELAYED 115 tcp://127.0.0.1:PEER", "CONNECTED tcp://127.0.0.1:PEER"]"#,
    );
    assert_has(&reports[1], "answer Ok(())");
    assert_has(&reports[3], r"peer read \x00\x00\x00\x05early");
    assert_has(&reports[5], r#"answer [(["given", "m"]"#);
}

/// A dialling PUSH with IMMEDIATE has nowhere to send until the handshake is done; once the
/// peer hangs up, its endpoint ends under RECONNECT_IVL -1, and no retry is announced.
#[test]
fn an_immediate_push_sends_only_once_ready_and_ends_its_endpoint_at_a_hangup() {
    let s = Setup {
        dials: Some(Dialing { reconnect_ivl: -1, immediate: true, connect_routing_id: None }),
        ..server("PUSH")
    };
    let ops = [
        Op::Send(vec![b"early".to_vec()]),
        write("greeting", greeting(3, "NULL")),
        write("READY", ready(&[("Socket-Type", b"PULL")])),
        Op::Send(vec![b"late".to_vec()]),
        Op::Hangup,
    ];
    let reports = agreed(&s, &ops);
    assert_has(&reports[1], "answer Err(11)");
    assert_has(&reports[4], r"peer read \x00\x04late");
    assert_has(&reports[5], r#"monitor ["DISCONNECTED tcp://127.0.0.1:PEER"]"#);
}

/// A REQ takes replies in their envelope; a peer that sends anything else is dropped and,
/// as a peer that broke the protocol, not dialled again (libzmq's `req_session_t`).
#[test]
fn a_req_drops_a_peer_whose_reply_has_no_envelope() {
    let s = Setup {
        dials: Some(Dialing { reconnect_ivl: 60_000, immediate: false, connect_routing_id: None }),
        ..server("REQ")
    };
    let ops = [
        write("greeting", greeting(3, "NULL")),
        write("READY", ready(&[("Socket-Type", b"REP")])),
        Op::Send(vec![b"one".to_vec()]),
        write("reply", [frame(0x01, b""), frame(0, b"ok")].concat()),
        Op::Drain,
        Op::Send(vec![b"two".to_vec()]),
        write("a bare message", frame(0, b"bare")),
        Op::Drain,
    ];
    let reports = agreed(&s, &ops);
    assert_has(&reports[5], r#"answer [(["ok"]"#);
    assert_has(&reports[7], "peer: the library hung up");
    assert_has(&reports[7], r#"monitor ["DISCONNECTED tcp://127.0.0.1:PEER"]"#);
    assert_has(&reports[8], "answer [] then errno 11");
}
