//! Polling many sockets and descriptors, the readiness descriptor inside a foreign event loop,
//! and monitor events.

mod common;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::*;
use libsock::{
    poll, Context, MonitorEvent, PollItem, SocketEvent, DEALER, DONTWAIT, EVENT_ALL, PAIR, POLLIN, POLLOUT,
    PULL, PUSH, ROUTER,
};

#[test]
fn poll_waits_for_the_first_ready_socket_or_fd() {
    let ctx = Context::new();
    let (a, b) = (socket(&ctx, PULL), socket(&ctx, PULL));
    let (pa, pb) = (socket(&ctx, PUSH), socket(&ctx, PUSH));
    pair_up(&a, &pa, "tcp");
    pair_up(&b, &pb, "inproc");
    let (mut raw_w, raw_r) = std::os::unix::net::UnixStream::pair().unwrap();

    let started = Instant::now();
    let mut items =
        [a.as_poll_item(POLLIN), b.as_poll_item(POLLIN), PollItem::from_fd(raw_r.as_raw_fd(), POLLIN)];
    assert_eq!(poll(&mut items, 50).unwrap(), 0);
    assert!(started.elapsed() >= ms(45));

    let sender = std::thread::spawn(move || {
        std::thread::sleep(ms(30));
        pa.send("hello", 0).unwrap();
        pa
    });
    let mut items =
        [a.as_poll_item(POLLIN), b.as_poll_item(POLLIN), PollItem::from_fd(raw_r.as_raw_fd(), POLLIN)];
    assert_eq!(poll(&mut items, 5000).unwrap(), 1);
    assert!(items[0].is_readable() && !items[1].is_readable() && !items[2].is_readable());
    let _pa = sender.join().unwrap();
    assert_eq!(a.recv_bytes(DONTWAIT).unwrap(), b"hello");

    raw_w.write_all(b"x").unwrap();
    let mut items =
        [a.as_poll_item(POLLIN), b.as_poll_item(POLLIN), PollItem::from_fd(raw_r.as_raw_fd(), POLLIN)];
    assert_eq!(poll(&mut items, 5000).unwrap(), 1);
    assert!(items[2].is_readable());

    // POLLOUT: a PUSH with a peer can send; one without cannot.
    let lonely = socket(&ctx, PUSH);
    let mut items = [pb.as_poll_item(POLLOUT), lonely.as_poll_item(POLLOUT)];
    assert_eq!(poll(&mut items, 0).unwrap(), 1);
    assert!(items[0].is_writable() && !items[1].is_writable());
}

/// A short timeout is waited out whole, as libzmq's `zmq_poll` does: a poll of 1 ms that
/// returned at once made a program's `while !poll(1) { .. }` loop spin, and under load kept
/// the I/O thread it waits for off the core (pyzmq's TestPubLog).
#[test]
fn poll_waits_out_a_timeout_of_a_few_milliseconds() {
    let ctx = Context::new();
    let (pull, push) = (socket(&ctx, PULL), socket(&ctx, PUSH));
    pair_up(&pull, &push, "tcp");
    let (_raw_w, raw_r) = std::os::unix::net::UnixStream::pair().unwrap();
    for timeout in [1, 2, 3] {
        for _ in 0..5 {
            let started = Instant::now();
            let mut items = [pull.as_poll_item(POLLIN), PollItem::from_fd(raw_r.as_raw_fd(), POLLIN)];
            assert_eq!(poll(&mut items, timeout).unwrap(), 0);
            let waited = started.elapsed();
            assert!(waited >= ms(timeout as u64), "poll({timeout}) returned after {waited:?}");
            let started = Instant::now();
            assert_eq!(pull.poll(POLLIN, timeout).unwrap(), 0);
            let waited = started.elapsed();
            assert!(waited >= ms(timeout as u64), "Socket::poll({timeout}) returned after {waited:?}");
        }
    }
}

#[test]
fn readiness_fd_drives_a_mio_event_loop() {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};

    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    let push = socket(&ctx, PUSH);
    pair_up(&pull, &push, "tcp");
    let fd = pull.get_fd().unwrap();
    let mut mio_poll = Poll::new().unwrap();
    mio_poll.registry().register(&mut SourceFd(&fd), Token(7), Interest::READABLE).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..500 {
            push.send(format!("{i}"), 0).unwrap();
            if i % 100 == 0 {
                std::thread::sleep(ms(5));
            }
        }
        push
    });
    // The edge-triggered contract: on each wake-up, drain while EVENTS says POLLIN.
    let mut events = Events::with_capacity(8);
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got < 500 {
        assert!(Instant::now() < deadline, "stalled at {got}");
        mio_poll.poll(&mut events, Some(Duration::from_secs(5))).unwrap();
        while pull.get_events().unwrap() & POLLIN != 0 {
            let m = pull.recv_bytes(DONTWAIT).unwrap();
            assert_eq!(m, got.to_string().into_bytes());
            got += 1;
        }
    }
    let _push = sender.join().unwrap();
}

#[test]
fn monitor_reports_the_life_of_connections() {
    let ctx = Context::new();
    let server = socket(&ctx, ROUTER);
    let server_events = server.monitor_events(EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let ep = server.get_last_endpoint().unwrap();
    let next = |m: &libsock::Monitor| m.recv_event(5000).unwrap();
    let e = next(&server_events);
    assert_eq!((e.event, e.endpoint.as_str()), (SocketEvent::Listening, ep.as_str()));

    let client = socket(&ctx, DEALER);
    let client_events = client.monitor_events(EVENT_ALL).unwrap();
    client.connect(&ep).unwrap();
    let kinds: Vec<SocketEvent> = (0..3).map(|_| next(&client_events).event).collect();
    assert_eq!(kinds, [SocketEvent::ConnectDelayed, SocketEvent::Connected, SocketEvent::HandshakeSucceeded]);
    let kinds: Vec<SocketEvent> = (0..2).map(|_| next(&server_events).event).collect();
    assert_eq!(kinds, [SocketEvent::Accepted, SocketEvent::HandshakeSucceeded]);

    drop(client);
    assert_eq!(next(&server_events).event, SocketEvent::Disconnected);
    server.unbind(&ep).unwrap();
    assert_eq!(next(&server_events).event, SocketEvent::Closed);

    // A bind that fails is reported too.
    let other = socket(&ctx, PULL);
    let other_events = other.monitor_events(EVENT_ALL).unwrap();
    let blocker = socket(&ctx, PULL);
    blocker.bind("tcp://127.0.0.1:*").unwrap();
    assert!(other.bind(&blocker.get_last_endpoint().unwrap()).is_err());
    // As libzmq's: the descriptor the listener closed, then the failure.
    assert_eq!(next(&other_events).event, SocketEvent::Closed);
    let e = next(&other_events);
    assert_eq!((e.event, e.value), (SocketEvent::BindFailed, 98));
}

#[test]
fn monitor_reports_retries_and_handshake_failures() {
    let ctx = Context::new();
    let push = socket(&ctx, PUSH);
    push.set_reconnect_ivl(20).unwrap();
    let events = push.monitor_events(SocketEvent::ConnectRetried.to_raw() as i32).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let e = events.recv_event(5000).unwrap();
    assert_eq!(e.event, SocketEvent::ConnectRetried);
    assert!(e.value >= 20 && e.value < 100, "interval {}", e.value);

    // An incompatible peer: whichever side reads the other's READY first closes the
    // connection without a HANDSHAKE_FAILED event (libzmq's NULL mechanism reports nothing
    // for bad metadata; only its PLAIN and CURVE clients do); both see it go down.
    let pull = socket(&ctx, PULL);
    let pull_events = pull.monitor_events(EVENT_ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let wrong = socket(&ctx, PULL);
    let wrong_events = wrong.monitor_events(EVENT_ALL).unwrap();
    wrong.connect(&pull.get_last_endpoint().unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut disconnected = [false, false];
    while disconnected != [true, true] {
        assert!(Instant::now() < deadline, "not both sides saw the connection end: {disconnected:?}");
        for (i, m) in [&pull_events, &wrong_events].into_iter().enumerate() {
            while let Ok(e) = m.recv_event(10) {
                assert_ne!(e.event, SocketEvent::HandshakeSucceeded);
                assert_ne!(e.event, SocketEvent::HandshakeFailedProtocol);
                disconnected[i] |= e.event == SocketEvent::Disconnected;
            }
        }
    }
}

#[test]
fn monitor_speaks_libzmqs_two_frame_format_on_a_pair() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    pull.monitor("inproc://mon-raw", EVENT_ALL).unwrap();
    let reader = socket(&ctx, PAIR);
    reader.connect("inproc://mon-raw").unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let frames = reader.recv_multipart(0).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].len(), 6);
    assert_eq!(u16::from_le_bytes([frames[0][0], frames[0][1]]), 0x0008);
    assert_eq!(String::from_utf8(frames[1].clone()).unwrap(), pull.get_last_endpoint().unwrap());
    let parsed = MonitorEvent::parse(&frames).unwrap();
    assert_eq!(parsed.event, SocketEvent::Listening);
    pull.monitor("", 0).unwrap();
    let stopped = MonitorEvent::parse(&reader.recv_multipart(0).unwrap()).unwrap();
    assert_eq!(stopped.event, SocketEvent::MonitorStopped);
}
