//! The handshake after the greeting: READY missing, Socket-Type checks, a peer that says nothing.

use super::*;

// ---------------------------------------------------------------------------------------------
// (4) Missing READY

#[test]
fn data_frame_before_ready_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = greeting();
            bytes.extend_from_slice(&data_frame(false, b"EVIL-before-ready"));
            // Even a READY after it must not let the frame through.
            bytes.extend_from_slice(&ready_cmd("PUSH"));
            bytes.extend_from_slice(&data_frame(false, b"EVIL-after-ready"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "message frame before the handshake"],
    );
}

#[test]
fn ping_before_ready_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = greeting();
            command::encode_ping(&mut bytes, 10, b"ctx");
            bytes.extend_from_slice(&data_frame(false, b"EVIL"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "unexpected command \"PING\""],
    );
}

// ---------------------------------------------------------------------------------------------
// (7) Socket-Type checks

#[test]
fn incompatible_socket_type_towards_pull() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = hello("PULL");
            bytes.extend_from_slice(&data_frame(false, b"EVIL-from-pull"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "socket type PULL cannot talk to PULL"],
    );
}

#[test]
fn incompatible_socket_type_towards_push() {
    // A raw peer claiming to be a PUSH connects to a PUSH: it must be refused, and in
    // particular must not take a share of the round robin away from the good PULL.
    one_attack(
        PUSH,
        no_config,
        |s| send_raw(s, &hello("PUSH")),
        PROMPTLY,
        WARN,
        &["closing connection", "socket type PUSH cannot talk to PUSH"],
    );
}

#[test]
fn incompatible_socket_type_towards_pair() {
    one_attack(
        PAIR,
        no_config,
        |s| {
            let mut bytes = hello("PUSH");
            bytes.extend_from_slice(&data_frame(false, b"EVIL-from-push"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "socket type PAIR cannot talk to PUSH"],
    );
}

#[test]
fn unknown_socket_type_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = hello("BOGUS");
            bytes.extend_from_slice(&data_frame(false, b"EVIL-from-bogus"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "unknown socket type"],
    );
}

#[test]
fn missing_socket_type_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = greeting();
            command::encode_ready(&mut bytes, &[("Identity", b"x")]);
            bytes.extend_from_slice(&data_frame(false, b"EVIL"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "missing Socket-Type property"],
    );
}

#[test]
fn second_pair_peer_is_refused_and_its_frames_dropped() {
    // PAIR takes one peer. A second, protocol-correct PAIR peer is refused by the socket: its
    // message must never surface and its connection must be closed.
    let mut bench = Bench::tcp(PAIR, no_config);
    let mut raw = bench.raw();
    let mut bytes = hello("PAIR");
    bytes.extend_from_slice(&data_frame(false, b"EVIL-second-pair"));
    send_raw(&mut raw, &bytes);
    read_libsock_hello(&mut raw, PAIR);
    // The socket only learns about the new pipe while it runs: keep it busy meanwhile.
    let closer = std::thread::spawn(move || expect_closed(&mut raw, PROMPTLY));
    bench.served("while the second PAIR peer knocks");
    closer.join().unwrap();
    bench.served("after the second PAIR peer");
}

// ---------------------------------------------------------------------------------------------
// (8) A peer that connects and says nothing

#[test]
fn silent_peer_is_closed_by_the_handshake_timeout() {
    let closed = one_attack(
        PULL,
        |s| s.set_handshake_ivl(200).unwrap(),
        |_| {},
        PROMPTLY,
        WARN,
        &["closing connection", "handshake not completed within 200ms"],
    );
    assert!(closed.after >= ms(150) && closed.after < ms(1500), "closed after {:?}", closed.after);
    // It got the first step of libsock's greeting (the signature; as libzmq, the rest waits
    // for the peer's), and nothing more.
    assert_eq!(closed.received, greeting()[..10], "{:?}", closed.received);
}
