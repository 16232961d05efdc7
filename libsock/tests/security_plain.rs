//! PLAIN against libzmq 4.3 (the `zmq` crate, built without libsodium but with PLAIN): both
//! directions, each side binding, with libzmq's ZAP handler and with our [`Authenticator`];
//! wrong passwords are refused with ERROR and `HANDSHAKE_FAILED_AUTH`, nothing delivered.

use std::time::{Duration, Instant};

use libsock::{Authenticator, Context, MonitorEvent, SocketEvent, EVENT_ALL};

fn wait_event(mon: &libsock::Monitor, want: SocketEvent, within: Duration) -> Option<MonitorEvent> {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match mon.recv_event(left.as_millis().max(1) as i32) {
            Ok(ev) if ev.event == want => return Some(ev),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// A libzmq ZAP handler thread admitting `user`/`pass` only; answers `n` requests.
fn zmq_zap_handler(ctx: &zmq::Context, n: usize) -> std::thread::JoinHandle<()> {
    let rep = ctx.socket(zmq::REP).unwrap();
    rep.bind("inproc://zeromq.zap.01").unwrap();
    std::thread::spawn(move || {
        for _ in 0..n {
            let req = rep.recv_multipart(0).unwrap();
            let ok = req[5] == b"PLAIN" && req[6] == b"admin" && req[7] == b"secret";
            let status: &[u8] = if ok { b"200" } else { b"400" };
            let user: &[u8] = if ok { b"admin-user" } else { b"" };
            rep.send_multipart([&b"1.0"[..], &req[1], status, b"", user, b""], 0).unwrap();
        }
    })
}

#[test]
fn libsock_plain_client_to_libzmq_server_with_zap() {
    let zctx = zmq::Context::new();
    let handler = zmq_zap_handler(&zctx, 2);
    let pull = zctx.socket(zmq::PULL).unwrap();
    pull.set_plain_server(true).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    let ctx = Context::new();
    // Wrong password first: refused, the monitor says why, nothing arrives.
    let bad = ctx.socket(libsock::PUSH).unwrap();
    bad.set_plain_username(b"admin").unwrap();
    bad.set_plain_password(b"guess").unwrap();
    bad.set_linger(0).unwrap();
    let mon = bad.monitor_events(EVENT_ALL).unwrap();
    bad.connect(&ep).unwrap();
    bad.send("from intruder", libsock::DONTWAIT).unwrap();
    let ev = wait_event(&mon, SocketEvent::HandshakeFailedAuth, Duration::from_secs(5))
        .expect("auth failed event");
    assert_eq!(ev.value, 400);
    drop(bad);
    let push = ctx.socket(libsock::PUSH).unwrap();
    assert_eq!(push.get_mechanism().unwrap(), 0);
    push.set_plain_username(b"admin").unwrap();
    push.set_plain_password(b"secret").unwrap();
    assert_eq!(push.get_mechanism().unwrap(), 1);
    push.connect(&ep).unwrap();
    push.send("hello", 0).unwrap();
    let mut msg = zmq::Message::new();
    pull.recv(&mut msg, 0).unwrap();
    assert_eq!(&*msg, b"hello");
    assert_eq!(msg.gets("User-Id"), Some("admin-user"));
    handler.join().unwrap();
}

#[test]
fn libzmq_plain_client_to_libsock_server_with_our_authenticator() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.set_plain_users([("admin", "secret")]);
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_plain_server(true).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    let mon = pull.monitor_events(EVENT_ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let zctx = zmq::Context::new();
    let bad = zctx.socket(zmq::PUSH).unwrap();
    bad.set_plain_username(Some("admin")).unwrap();
    bad.set_plain_password(Some("nope")).unwrap();
    bad.set_linger(0).unwrap();
    bad.monitor("inproc://plain-bad-client", zmq::SocketEvent::ALL as i32).unwrap();
    let bad_mon = zctx.socket(zmq::PAIR).unwrap();
    bad_mon.set_rcvtimeo(5000).unwrap();
    bad_mon.connect("inproc://plain-bad-client").unwrap();
    bad.connect(&ep).unwrap();
    bad.send("intruder", zmq::DONTWAIT).ok();
    let ev = wait_event(&mon, SocketEvent::HandshakeFailedAuth, Duration::from_secs(5))
        .expect("auth failed event");
    assert_eq!(ev.value, 400);
    // The libzmq client reads the refusal as an ERROR 400, as from a libzmq server: libsock
    // writes PLAIN's ERROR the way libzmq 4.3 does (until it did, libzmq saw an unexpected
    // command: HANDSHAKE_FAILED_PROTOCOL).
    let (event, value) = loop {
        let frames = bad_mon.recv_multipart(0).expect("a handshake event on the libzmq client");
        let event = u16::from_le_bytes([frames[0][0], frames[0][1]]);
        let value = u32::from_le_bytes(frames[0][2..6].try_into().unwrap());
        if event
            & (zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as u16
                | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as u16)
            != 0
        {
            break (event, value);
        }
    };
    assert_eq!((event, value), (zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as u16, 400));
    let push = zctx.socket(zmq::PUSH).unwrap();
    push.set_plain_username(Some("admin")).unwrap();
    push.set_plain_password(Some("secret")).unwrap();
    push.connect(&ep).unwrap();
    push.send_multipart(["a", "b"], 0).unwrap();
    let first = pull.recv_msg(0).unwrap();
    assert_eq!(&*first, b"a", "the intruder's message must never arrive");
    assert_eq!(first.gets("User-Id"), Some("admin"));
    assert_eq!(first.gets("Peer-Address"), Some("127.0.0.1"));
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"b");
}

#[test]
fn libsock_plain_server_connects_to_libzmq_client_that_binds() {
    // Roles and binding are independent: the PLAIN server may be the one that connects.
    let zctx = zmq::Context::new();
    let push = zctx.socket(zmq::PUSH).unwrap();
    push.set_plain_username(Some("u")).unwrap();
    push.set_plain_password(Some("p")).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.get_last_endpoint().unwrap().unwrap();
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.set_plain_users([("u", "p")]);
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_plain_server(true).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.connect(&ep).unwrap();
    push.send("over plain", 0).unwrap();
    let msg = pull.recv_msg(0).unwrap();
    assert_eq!(&*msg, b"over plain");
    assert_eq!(msg.gets("User-Id"), Some("u"));
}

/// A PLAIN server with no ZAP handler bound has nobody to check a password: it drops every
/// peer without an ERROR and reports HANDSHAKE_FAILED_NO_DETAIL with EFAULT, as libzmq's
/// `plain_server_t` (run here too); nothing is delivered. (NULL and CURVE admit peers then.)
/// Until this was found by the `security` differential tests, libsock admitted everyone.
#[test]
fn a_plain_server_without_a_zap_handler_admits_nobody() {
    // libzmq's server, the reference.
    let zctx = zmq::Context::new();
    let zpull = zctx.socket(zmq::PULL).unwrap();
    zpull.set_plain_server(true).unwrap();
    zpull.set_rcvtimeo(300).unwrap();
    zpull.bind("tcp://127.0.0.1:*").unwrap();
    let zmon_ep = "inproc://plain-no-handler-libzmq";
    zpull.monitor(zmon_ep, zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as i32).unwrap();
    let zmon = zctx.socket(zmq::PAIR).unwrap();
    zmon.connect(zmon_ep).unwrap();
    zmon.set_rcvtimeo(5000).unwrap();

    let ctx = Context::new();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_plain_server(true).unwrap();
    pull.set_rcvtimeo(300).unwrap();
    let mon = pull.monitor_events(EVENT_ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();

    let endpoints = [pull.get_last_endpoint().unwrap(), zpull.get_last_endpoint().unwrap().unwrap()];
    for ep in &endpoints {
        let push = ctx.socket(libsock::PUSH).unwrap();
        push.set_linger(0).unwrap();
        push.set_plain_username(b"admin").unwrap();
        push.set_plain_password(b"secret").unwrap();
        let client_mon = push.monitor_events(EVENT_ALL).unwrap();
        push.connect(ep).unwrap();
        push.send("never delivered", libsock::DONTWAIT).ok();
        // No ERROR: the client sees the connection close, and is not told why.
        if ep != &endpoints[0] {
            // libzmq 4.3.4's server (the `zmq` crate's) reports EFAULT, but then now and then
            // leaves the connection open; pyzmq's 4.3.5 closes it, as libsock does.
            let values: Vec<u32> = (0..4)
                .map_while(|_| zmon.recv_bytes(0).ok())
                .map(|e| u32::from_le_bytes(e[2..6].try_into().unwrap()))
                .take_while(|&v| v != libc::EFAULT as u32)
                .collect();
            assert!(values.len() < 4, "libzmq's server never said EFAULT: {values:?}");
            continue;
        }
        // No ERROR: the client sees the connection close, is not told why, and tries again.
        let mut seen = Vec::new();
        while let (true, Ok(e)) = (seen.len() < 12, client_mon.recv_event(5000)) {
            seen.push((e.event, e.value));
        }
        assert!(seen.contains(&(SocketEvent::HandshakeFailedNoDetail, libc::EPIPE as u32)), "{ep}: {seen:?}");
        assert!(seen.iter().all(|e| e.0 != SocketEvent::HandshakeFailedAuth), "{ep}: {seen:?}");
    }
    let failed = wait_event(&mon, SocketEvent::HandshakeFailedNoDetail, Duration::from_secs(5));
    assert_eq!(failed.map(|e| e.value), Some(libc::EFAULT as u32));
    assert!(pull.recv_msg(0).is_err(), "nothing is delivered");
    assert!(zpull.recv_bytes(0).is_err(), "nor by libzmq");
}

/// Both ends of a mechanism mismatch say so (HANDSHAKE_FAILED_PROTOCOL with
/// ZMTP_MECHANISM_MISMATCH), as two libzmq sockets do: the side that finds it first sends
/// the rest of its greeting before it hangs up, so the other side finds it too.
#[test]
fn both_ends_of_a_mechanism_mismatch_report_it() {
    use libsock::protocol_error::PROTOCOL_ERROR_MECHANISM_MISMATCH as MISMATCH;
    for round in 0..5 {
        let ctx = Context::new();
        let server = ctx.socket(libsock::DEALER).unwrap();
        server.set_plain_server(true).unwrap();
        let server_mon = server.monitor_events(EVENT_ALL).unwrap();
        server.bind("tcp://127.0.0.1:*").unwrap();
        let client = ctx.socket(libsock::DEALER).unwrap(); // NULL
        client.set_linger(0).unwrap();
        client.set_reconnect_ivl(-1).unwrap();
        let client_mon = client.monitor_events(EVENT_ALL).unwrap();
        client.connect(&server.get_last_endpoint().unwrap()).unwrap();
        for (who, mon) in [("server", &server_mon), ("client", &client_mon)] {
            let failed = wait_event(mon, SocketEvent::HandshakeFailedProtocol, Duration::from_secs(5));
            assert_eq!(failed.map(|e| e.value), Some(MISMATCH), "{who}, round {round}");
        }
    }
}

#[test]
fn mechanism_mismatch_is_refused() {
    let ctx = Context::new();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_plain_server(true).unwrap();
    pull.set_rcvtimeo(300).unwrap();
    let mon = pull.monitor_events(EVENT_ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let zctx = zmq::Context::new();
    let push = zctx.socket(zmq::PUSH).unwrap(); // NULL
    push.set_linger(0).unwrap();
    push.connect(&ep).unwrap();
    push.send("x", zmq::DONTWAIT).ok();
    // libzmq hangs up as soon as it reads our mechanism, often before its own greeting is
    // complete; then the failure has no detail (the session tests check the mismatch code).
    wait_event(&mon, SocketEvent::Disconnected, Duration::from_secs(5)).expect("disconnected");
    assert!(pull.recv_bytes(0).is_err(), "nothing from a NULL peer reaches a PLAIN server");
}
