//! The hold of the direct receive path (`engine::direct_rx` rule 7): after a blocking `recv`
//! read its connection directly, readability stays out of the I/O thread's poll set until the
//! application does something that relies on the I/O thread reading (`poll`, `ZMQ_EVENTS`,
//! `ZMQ_FD`, DONTWAIT, close) or stays away from `recv` for a few milliseconds. These tests
//! check that nothing is lost or stuck in each of those states: messages still arrive,
//! heartbeats are still answered, a peer's disconnect is still seen, against libsock and
//! libzmq peers.

mod common;

use std::time::{Duration, Instant};

use libsock::{Context, Error, Socket, SocketEvent, DEALER, DONTWAIT, EVENT_ALL, PAIR, POLLIN, REP, REQ};

/// Far longer than the hold's tick (2–4 ms) and than the heartbeat timeouts set below.
const AWAY: Duration = Duration::from_millis(1500);
/// Heartbeat timeout: shorter than [`AWAY`], so an unanswered PING would end the link.
const HB_TIMEOUT: i32 = 600;

/// Some way of waiting, other than a blocking `recv`, until `s` has a message, then takes
/// it with DONTWAIT. `how` picks the way: `poll`, a `ZMQ_EVENTS` loop, a DONTWAIT loop, or
/// the `ZMQ_FD` contract (check `ZMQ_EVENTS`, poll the descriptor, check again).
fn recv_other_way(s: &Socket, how: u32) -> Vec<u8> {
    let give_up = Instant::now() + Duration::from_secs(20);
    match how % 4 {
        0 => {
            let mut items = [s.as_poll_item(POLLIN)];
            assert_eq!(libsock::poll(&mut items, 20_000).unwrap(), 1, "poll never saw the message");
        }
        1 => {
            while s.get_events().unwrap() & POLLIN == 0 {
                assert!(Instant::now() < give_up, "ZMQ_EVENTS never said POLLIN");
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        2 => loop {
            match s.recv_bytes(DONTWAIT) {
                Ok(m) => return m,
                Err(Error::WouldBlock) => {
                    assert!(Instant::now() < give_up, "DONTWAIT never found the message");
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(e) => panic!("DONTWAIT recv: {e}"),
            }
        },
        _ => {
            let fd = s.get_fd().unwrap();
            while s.get_events().unwrap() & POLLIN == 0 {
                assert!(Instant::now() < give_up, "ZMQ_FD never signalled the message");
                let mut items = [libsock::PollItem::from_fd(fd, POLLIN)];
                libsock::poll(&mut items, 1000).unwrap();
            }
        }
    }
    s.recv_bytes(DONTWAIT).expect("POLLIN without a message")
}

/// `b` sends `msg` a little after `a` started a blocking receive, which so (very likely)
/// reads it directly and takes the hold; returns `b`.
fn recv_directly(a: &Socket, b: Socket, msg: &str) -> Socket {
    let m = msg.to_string();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        b.send(m.as_str(), 0).unwrap();
        b
    });
    assert_eq!(a.recv_bytes(0).unwrap(), msg.as_bytes());
    sender.join().unwrap()
}

/// Asserts that the monitor reported no disconnection so far.
fn assert_no_disconnect(events: &libsock::Monitor, what: &str) {
    while let Ok(e) = events.recv_event(0) {
        assert_ne!(e.event, SocketEvent::Disconnected, "{what}: the link went down: {e:?}");
    }
}

/// Waits (generously) for the monitor to report a disconnection.
fn wait_disconnect(events: &libsock::Monitor, what: &str) {
    loop {
        match events.recv_event(20_000) {
            Ok(e) if e.event == SocketEvent::Disconnected => return,
            Ok(_) => {}
            Err(e) => panic!("{what}: no DISCONNECTED event: {e}"),
        }
    }
}

/// A receiver that alternates blocking receives (which take the hold) with every other way
/// of receiving, in both directions of a REQ/REP pair and one way on PAIR.
#[test]
fn blocking_recv_alternates_with_poll_events_fd_and_dontwait() {
    let ctx = Context::new();
    for transport in ["tcp", "ipc"] {
        let a = common::socket(&ctx, PAIR);
        let b = common::socket(&ctx, PAIR);
        a.set_rcvtimeo(20_000).unwrap();
        common::pair_up(&a, &b, transport);
        for round in 0..200u32 {
            b.send(format!("{round} blocking"), 0).unwrap();
            assert_eq!(a.recv_bytes(0).unwrap(), format!("{round} blocking").as_bytes());
            // Sent while `a` may still hold the stream: found only if the other ways
            // re-arm the I/O thread (or read themselves).
            let burst = 1 + round % 5;
            for i in 0..burst {
                b.send(format!("{round} other {i}"), 0).unwrap();
            }
            for i in 0..burst {
                let got = recv_other_way(&a, round + i);
                assert_eq!(got, format!("{round} other {i}").as_bytes(), "{transport}: lost or reordered");
            }
            assert!(matches!(a.recv_bytes(DONTWAIT), Err(Error::WouldBlock)), "a message arrived twice");
        }

        let req = common::socket(&ctx, REQ);
        let rep = common::socket(&ctx, REP);
        common::pair_up(&rep, &req, transport);
        for round in 0..200u32 {
            req.send(format!("q{round}"), 0).unwrap();
            let q = if round % 2 == 0 { rep.recv_bytes(0).unwrap() } else { recv_other_way(&rep, round / 2) };
            assert_eq!(q, format!("q{round}").as_bytes());
            rep.send(format!("r{round}"), 0).unwrap();
            let r = if round % 3 == 0 { recv_other_way(&req, round / 3) } else { req.recv_bytes(0).unwrap() };
            assert_eq!(r, format!("r{round}").as_bytes());
        }
    }
}

/// The receiver stops receiving (holding the stream) for longer than the heartbeat timeout
/// while the peer sends messages and both sides PING: the link stays up (the PINGs are
/// answered), and the messages are all there when it comes back.
#[test]
fn receiver_away_keeps_heartbeats_and_messages() {
    let ctx = Context::new();
    for transport in ["tcp", "ipc"] {
        let a = common::socket(&ctx, PAIR);
        let b = common::socket(&ctx, PAIR);
        for s in [&a, &b] {
            s.set_heartbeat_ivl(10).unwrap();
            s.set_heartbeat_timeout(HB_TIMEOUT).unwrap();
            s.set_rcvtimeo(20_000).unwrap();
        }
        let a_events = a.monitor_events(EVENT_ALL).unwrap();
        let b_events = b.monitor_events(EVENT_ALL).unwrap();
        common::pair_up(&a, &b, transport);
        let mut b = b;
        for round in 0..3u32 {
            b = recv_directly(&a, b, &format!("{round} first"));
            // `a` holds the stream now, and is away (this thread only drives `b`); `b` keeps
            // sending meanwhile.
            for i in 0..20 {
                b.send(format!("{round} away {i}"), 0).unwrap();
                std::thread::sleep(AWAY / 20);
            }
            for i in 0..20 {
                let got = if i % 2 == 0 { a.recv_bytes(0).unwrap() } else { recv_other_way(&a, i) };
                assert_eq!(got, format!("{round} away {i}").as_bytes(), "{transport}: lost or reordered");
            }
            assert_no_disconnect(&a_events, transport);
            assert_no_disconnect(&b_events, transport);
        }
    }
}

/// The peer goes away while the receiver, having received directly, is busy elsewhere: the
/// receiver's monitor still reports DISCONNECTED (the end of stream is read by the I/O
/// thread once the hold ends), and a later blocking receive times out cleanly.
#[test]
fn peer_disconnect_while_receiver_away_is_reported() {
    let ctx = Context::new();
    for transport in ["tcp", "ipc"] {
        let a = common::socket(&ctx, PAIR);
        let b = common::socket(&ctx, PAIR);
        // A graceful close (FIN, no RST): only reading the stream finds it.
        b.set_linger(1000).unwrap();
        let events = a.monitor_events(EVENT_ALL).unwrap();
        common::pair_up(&a, &b, transport);
        a.set_rcvtimeo(20_000).unwrap();
        let b = recv_directly(&a, b, "hello");
        // `a` holds the stream and does not touch the socket again until the event came.
        drop(b);
        wait_disconnect(&events, transport);
        a.set_rcvtimeo(50).unwrap();
        assert!(matches!(a.recv_bytes(0), Err(Error::TimedOut)));
    }
}

/// libzmq on the other side, both roles: round trips where the libsock side sometimes stays
/// away longer than libzmq's heartbeat timeout between a receive and the next, and sometimes
/// uses poll/DONTWAIT; libzmq PINGs must be answered meanwhile (no disconnect), and libzmq
/// closing its socket must be reported while the libsock side is away.
#[test]
fn libzmq_peer_in_both_roles_while_holding() {
    let zctx = zmq::Context::new();
    let ctx = Context::new();

    // libsock REQ → libzmq REP.
    let zrep = zctx.socket(zmq::REP).unwrap();
    zrep.set_heartbeat_ivl(10).unwrap();
    zrep.set_heartbeat_timeout(HB_TIMEOUT).unwrap();
    zrep.set_linger(0).unwrap();
    zrep.bind("tcp://127.0.0.1:*").unwrap();
    let zep = zrep.get_last_endpoint().unwrap().unwrap();
    let rounds = 30u32;
    let echo = std::thread::spawn(move || {
        for _ in 0..rounds {
            let m = zrep.recv_bytes(0).unwrap();
            zrep.send(m, 0).unwrap();
        }
        zrep
    });
    let req = common::socket(&ctx, REQ);
    req.set_rcvtimeo(20_000).unwrap();
    let req_events = req.monitor_events(EVENT_ALL).unwrap();
    req.connect(&zep).unwrap();
    for round in 0..rounds {
        req.send(format!("z{round}"), 0).unwrap();
        let r = if round % 4 == 3 { recv_other_way(&req, round) } else { req.recv_bytes(0).unwrap() };
        assert_eq!(r, format!("z{round}").as_bytes());
        if round % 10 == 0 {
            std::thread::sleep(AWAY);
        }
    }
    assert_no_disconnect(&req_events, "libsock REQ");
    let zrep = echo.join().unwrap();
    // The last reply was received directly; libzmq now goes away while REQ is idle.
    drop(zrep);
    wait_disconnect(&req_events, "libsock REQ");

    // libzmq REQ → libsock REP.
    let rep = common::socket(&ctx, REP);
    rep.set_rcvtimeo(20_000).unwrap();
    let rep_events = rep.monitor_events(EVENT_ALL).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.get_last_endpoint().unwrap();
    let client = std::thread::spawn(move || {
        let zreq = zctx.socket(zmq::REQ).unwrap();
        zreq.set_heartbeat_ivl(10).unwrap();
        zreq.set_heartbeat_timeout(HB_TIMEOUT).unwrap();
        zreq.set_linger(0).unwrap();
        zreq.set_rcvtimeo(20_000).unwrap();
        zreq.connect(&ep).unwrap();
        for round in 0..rounds {
            zreq.send(format!("q{round}").as_bytes(), 0).unwrap();
            assert_eq!(zreq.recv_bytes(0).unwrap(), format!("q{round}").as_bytes(), "reply {round}");
        }
    });
    for round in 0..rounds {
        let q = if round % 4 == 3 { recv_other_way(&rep, round) } else { rep.recv_bytes(0).unwrap() };
        assert_eq!(q, format!("q{round}").as_bytes());
        if round % 10 == 0 {
            // Holding the stream with a request answered late: libzmq's PINGs wait in the
            // kernel until the hold ends.
            std::thread::sleep(AWAY);
        }
        rep.send(q, 0).unwrap();
    }
    client.join().unwrap();
    // libzmq's socket and context are gone now; the REP may still hold from its last
    // receive, and must see the disconnect.
    wait_disconnect(&rep_events, "libsock REP");
}

/// A peer that goes silent (no PONG, no close: a host that vanished) while the application
/// waits in a blocking `recv`, holding the stream, is still dropped by the heartbeat timeout
/// during that wait. The I/O thread reads what the kernel holds before it judges a timeout
/// (a late thread must not drop a live peer); that read must not take the application's
/// hold for traffic.
#[test]
fn silent_peer_is_dropped_while_the_application_waits_in_recv() {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use libsock::codec::greeting::Greeting;
    use libsock::codec::{command, frame};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = Context::new();
    let dealer = common::socket(&ctx, DEALER);
    dealer.set_heartbeat_ivl(20).unwrap();
    dealer.set_heartbeat_timeout(100).unwrap();
    dealer.set_reconnect_ivl(10_000).unwrap();
    let events = dealer.monitor_events(EVENT_ALL).unwrap();
    dealer.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    let mut hello = Vec::new();
    Greeting::ours().encode(&mut hello);
    command::encode_ready(&mut hello, &[("Socket-Type", b"DEALER")]);
    peer.write_all(&hello).unwrap();
    let mut theirs = [0u8; 64];
    peer.read_exact(&mut theirs).unwrap();

    // One message while the application waits: it reads it directly and takes the hold.
    let mut msg = Vec::new();
    frame::encode_frame(&mut msg, false, false, b"only");
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        peer.write_all(&msg).unwrap();
        peer // kept open and silent: its PINGs go unanswered
    });
    dealer.set_rcvtimeo(10_000).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"only");
    let _peer = sender.join().unwrap();

    dealer.set_rcvtimeo(1500).unwrap();
    let waited = Instant::now();
    let got = dealer.recv_bytes(0);
    assert!(matches!(got, Err(Error::WouldBlock | Error::TimedOut)), "{got:?}");
    let disconnected =
        std::iter::from_fn(|| events.recv_event(0).ok()).any(|e| e.event == SocketEvent::Disconnected);
    assert!(
        disconnected,
        "the silent peer was still connected after {:?} with a 100 ms heartbeat timeout",
        waited.elapsed()
    );
}
