//! Greetings that are garbage, cut short, of a mechanism the socket does not run, or over ipc.

use super::*;

// ---------------------------------------------------------------------------------------------
// (1) Garbage greeting

#[test]
fn garbage_greeting_closes_that_connection() {
    let closed = one_attack(
        PULL,
        no_config,
        |s| send_raw(s, GARBAGE),
        PROMPTLY,
        WARN,
        &["closing connection", "bad greeting signature"],
    );
    // libsock greets first, and never sends a READY to a peer whose greeting was refused.
    assert!(closed.received.len() <= 64, "{:?}", closed.received);
    if !closed.received.is_empty() {
        assert_eq!(closed.received[0], 0xFF, "libsock's greeting signature");
    }
}

#[test]
fn garbage_greeting_towards_pair() {
    one_attack(PAIR, no_config, |s| send_raw(s, GARBAGE), PROMPTLY, WARN, &["bad greeting signature"]);
}

#[test]
fn old_zmtp_version_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut g = greeting();
            g[10] = 1; // ZMTP 2.0
            send_raw(s, &g);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "unsupported ZMTP version 1"],
    );
}

// ---------------------------------------------------------------------------------------------
// (2) Truncated greeting

#[test]
fn truncated_greeting_then_close() {
    one_attack(
        PULL,
        no_config,
        |s| {
            send_raw(s, &greeting()[..20]);
            s.shut_write();
        },
        PROMPTLY,
        WARN_INFO,
        &["peer closed the connection during the handshake"],
    );
}

#[test]
fn truncated_greeting_then_silence_times_out() {
    let closed = one_attack(
        PULL,
        |s| s.set_handshake_ivl(200).unwrap(),
        |s| send_raw(s, &greeting()[..20]),
        PROMPTLY,
        WARN,
        &["closing connection", "handshake not completed within 200ms"],
    );
    assert!(closed.after >= ms(100), "closed after {:?}", closed.after);
}

// ---------------------------------------------------------------------------------------------
// (3) Security mechanisms we do not run

#[test]
fn plain_mechanism_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| send_raw(s, &greeting_with(Mechanism::Plain)),
        PROMPTLY,
        WARN,
        &["closing connection", "peer uses the PLAIN mechanism"],
    );
}

#[test]
fn curve_mechanism_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = greeting_with(Mechanism::Curve);
            // What a CURVE client would send next: a HELLO command. Never a message.
            bytes.extend_from_slice(&command_frame("HELLO", &[0u8; 194]));
            bytes.extend_from_slice(&data_frame(false, b"EVIL-curve"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "peer uses the CURVE mechanism"],
    );
}

#[test]
fn unknown_mechanism_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut g = greeting();
            g[12..32].fill(0);
            g[12..18].copy_from_slice(b"GSSAPI");
            send_raw(s, &g);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "unknown security mechanism"],
    );
}

// ---------------------------------------------------------------------------------------------
// (10) Garbage greeting over ipc

#[test]
fn garbage_greeting_over_ipc() {
    let mut bench = Bench::new(PULL, "ipc", no_config);
    let path = bench.endpoint.strip_prefix("ipc://").unwrap().to_owned();
    let count = || {
        log_text()
            .lines()
            .filter(|l| {
                l.contains(" WARN ")
                    && names_endpoint(l, "ipc://")
                    && l.contains("closing connection: protocol error: bad greeting signature")
            })
            .count()
    };
    let before = count();
    let mut raw = UnixStream::connect(&path).unwrap();
    send_raw(&mut raw, GARBAGE);
    expect_closed(&mut raw, PROMPTLY);
    let deadline = Instant::now() + ms(2000);
    while count() <= before {
        assert!(Instant::now() < deadline, "no WARN line for the ipc peer");
        std::thread::sleep(ms(10));
    }
    bench.served("after the ipc attack");
}
