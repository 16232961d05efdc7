//! Options that change what a peer sees, checked against libzmq peers (or inproc where the
//! point is exact queue contents).

mod common;

use common::{init_logging, ms, socket};
use libsock::{Context, Error, SocketEvent, DEALER, EVENT_ALL, PUB, PULL, PUSH, REP, ROUTER, SUB, XPUB};

fn zsock(z: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = z.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(5000).unwrap();
    s.set_sndtimeo(5000).unwrap();
    s
}

#[test]
fn conflate_delivers_only_the_newest_message() {
    let ctx = Context::new();
    // Inproc: exact, the queue holds one message whatever was sent.
    let pull = socket(&ctx, PULL);
    pull.set_conflate(true).unwrap();
    pull.bind("inproc://conflate").unwrap();
    let push = socket(&ctx, PUSH);
    push.connect("inproc://conflate").unwrap();
    for i in 0..100 {
        push.send(format!("{i}").as_str(), 0).unwrap();
    }
    assert_eq!(pull.recv_bytes(0).unwrap(), b"99");
    assert!(matches!(pull.recv_bytes(libsock::DONTWAIT), Err(Error::WouldBlock)));

    // Outbound to libzmq: queued while nobody listens, only the newest survives.
    let dir = tempfile::tempdir().unwrap();
    let ep = format!("ipc://{}/conflate.ipc", dir.path().display());
    let push = socket(&ctx, PUSH);
    push.set_conflate(true).unwrap();
    push.set_sndhwm(1).unwrap();
    push.connect(&ep).unwrap();
    for i in 0..100 {
        push.send(format!("{i}").as_str(), libsock::DONTWAIT).unwrap();
    }
    let z = zmq::Context::new();
    let zpull = zsock(&z, zmq::PULL);
    zpull.bind(&ep).unwrap();
    assert_eq!(zpull.recv_bytes(0).unwrap(), b"99");
    zpull.set_rcvtimeo(300).unwrap();
    assert!(zpull.recv_bytes(0).is_err(), "nothing older follows");
}

/// libzmq's CONFLATE does not support multipart messages (its queue keeps one frame, so a
/// multipart message arrives torn); libsock deliberately keeps the newest whole message.
#[test]
fn conflate_keeps_the_newest_whole_multipart_message() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    pull.set_conflate(true).unwrap();
    pull.bind("inproc://conflate-multipart").unwrap();
    let push = socket(&ctx, PUSH);
    push.connect("inproc://conflate-multipart").unwrap();
    for i in 0..10 {
        push.send_multipart([format!("topic{i}"), format!("body{i}"), "end".into()], 0).unwrap();
    }
    let got = pull.recv_multipart(0).unwrap();
    assert_eq!(got, [b"topic9".to_vec(), b"body9".to_vec(), b"end".to_vec()]);
    assert!(matches!(pull.recv_bytes(libsock::DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn probe_router_announces_a_dealer_to_a_libzmq_router() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let router = zsock(&z, zmq::ROUTER);
    router.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = socket(&ctx, DEALER);
    dealer.set_routing_id(b"probe").unwrap();
    dealer.set_probe_router(true).unwrap();
    assert!(dealer.get_probe_router().unwrap());
    dealer.connect(&router.get_last_endpoint().unwrap().unwrap()).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), vec![b"probe".to_vec(), vec![]]);
    // The ROUTER can now talk first.
    router.send_multipart(["probe", "hello"], 0).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"hello");
}

/// A REP with PROBE_ROUTER probes too, as libzmq's (a ROUTER underneath): the libzmq DEALER
/// that connects receives an empty message once the REP takes the connection (at its next
/// call, as in libzmq), and the REP then serves its request.
#[test]
fn probe_router_on_a_rep_greets_a_libzmq_dealer() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let rep = socket(&ctx, REP);
    rep.set_probe_router(true).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = zsock(&z, zmq::DEALER);
    dealer.set_rcvtimeo(20).unwrap();
    dealer.connect(&rep.get_last_endpoint().unwrap()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let probe = loop {
        rep.get_events().unwrap();
        if let Ok(parts) = dealer.recv_multipart(0) {
            break parts;
        }
        assert!(std::time::Instant::now() < deadline, "no probe from the REP");
    };
    assert_eq!(probe, vec![Vec::<u8>::new()], "the probe");
    dealer.set_rcvtimeo(5000).unwrap();
    dealer.send_multipart(["", "ping"], 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"ping");
    rep.send("pong", 0).unwrap();
    assert_eq!(dealer.recv_multipart(0).unwrap(), vec![b"".to_vec(), b"pong".to_vec()]);
}

#[test]
fn router_notify_announces_libzmq_peers_coming_and_going() {
    init_logging();
    let ctx = Context::new();
    let z = zmq::Context::new();
    let router = socket(&ctx, ROUTER);
    router.set_router_notify(3).unwrap();
    assert!(router.set_router_notify(4).is_err());
    router.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = zsock(&z, zmq::DEALER);
    dealer.set_identity(b"d1").unwrap();
    dealer.connect(&router.get_last_endpoint().unwrap()).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), vec![b"d1".to_vec(), vec![]], "connect notification");
    dealer.send("work", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), vec![b"d1".to_vec(), b"work".to_vec()]);
    drop(dealer);
    assert_eq!(router.recv_multipart(0).unwrap(), vec![b"d1".to_vec(), vec![]], "disconnect notification");
}

#[test]
fn xpub_nodrop_blocks_instead_of_dropping() {
    let ctx = Context::new();
    for nodrop in [false, true] {
        let xpub = socket(&ctx, XPUB);
        xpub.set_xpub_nodrop(nodrop).unwrap();
        xpub.set_sndhwm(10).unwrap();
        let ep = format!("inproc://nodrop-{nodrop}");
        xpub.bind(&ep).unwrap();
        let sub = socket(&ctx, SUB);
        sub.set_rcvhwm(10).unwrap();
        sub.connect(&ep).unwrap();
        sub.set_subscribe(b"").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01");
        let sent = (0..1000).take_while(|_| xpub.send("m", libsock::DONTWAIT).is_ok()).count();
        if nodrop {
            assert!(sent < 1000, "NODROP: a full subscriber makes send fail with EAGAIN");
            assert!(matches!(xpub.send("m", libsock::DONTWAIT), Err(Error::WouldBlock)));
            assert_eq!(xpub.get_events().unwrap() & libsock::POLLOUT, 0);
            let received = (0..sent).filter(|_| sub.recv_bytes(0).is_ok()).count();
            assert_eq!(received, sent, "nothing was dropped");
            xpub.send("again", libsock::DONTWAIT).unwrap();
        } else {
            assert_eq!(sent, 1000, "without NODROP sends never block; the excess is dropped");
        }
    }
}

#[test]
fn xpub_verboser_passes_every_subscribe_and_unsubscribe() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.set_xpub_verboser(true).unwrap();
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let ep = xpub.get_last_endpoint().unwrap();
    let subs: Vec<zmq::Socket> = (0..2).map(|_| zsock(&z, zmq::SUB)).collect();
    for s in &subs {
        s.connect(&ep).unwrap();
        s.set_subscribe(b"t").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01t");
    }
    for s in &subs {
        s.set_unsubscribe(b"t").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00t", "each unsubscribe is passed up");
    }
}

/// As libzmq's `mtrie_t::rm` without `call_on_uniq`: with XPUB_VERBOSER a subscriber that
/// leaves is cancelled topic by topic, including the topics others still hold.
#[test]
fn xpub_verboser_cancels_every_topic_of_a_subscriber_that_leaves() {
    let ctx = Context::new();
    for verboser in [false, true] {
        let xpub = socket(&ctx, XPUB);
        xpub.set_xpub_verboser(verboser).unwrap();
        xpub.bind(&format!("inproc://verboser-leaves-{verboser}")).unwrap();
        let stays = socket(&ctx, SUB);
        let leaves = socket(&ctx, SUB);
        for (sub, topics) in [(&stays, &["shared"][..]), (&leaves, &["shared", "own"][..])] {
            sub.connect(&xpub.get_last_endpoint().unwrap()).unwrap();
            for t in topics {
                sub.set_subscribe(t.as_bytes()).unwrap();
            }
        }
        while xpub.recv_bytes(libsock::DONTWAIT).is_ok() {}
        drop(leaves);
        xpub.set_rcvtimeo(2000).unwrap();
        let mut cancels = vec![xpub.recv_bytes(0).unwrap()];
        xpub.set_rcvtimeo(100).unwrap();
        cancels.extend(xpub.recv_bytes(0).ok());
        let want: &[&[u8]] = if verboser { &[b"\x00own", b"\x00shared"] } else { &[b"\x00own"] };
        assert_eq!(cancels, want, "XPUB_VERBOSER {verboser}");
    }
}

#[test]
fn invert_matching_publisher_and_subscriber() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    // libsock PUB sends to subscribers that do not match; a libzmq XSUB (which does not
    // filter) shows exactly what went on the wire.
    let publ = socket(&ctx, PUB);
    publ.set_invert_matching(true).unwrap();
    publ.bind("tcp://127.0.0.1:*").unwrap();
    let zsub = zsock(&z, zmq::XSUB);
    zsub.connect(&publ.get_last_endpoint().unwrap()).unwrap();
    zsub.send(&b"\x01a"[..], 0).unwrap();
    zsub.set_rcvtimeo(50).unwrap();
    let got = (0..200).find_map(|_| {
        publ.send("a-skip", 0).unwrap();
        publ.send("b-take", 0).unwrap();
        zsub.recv_bytes(0).ok()
    });
    assert_eq!(got.as_deref(), Some(&b"b-take"[..]));
    while let Ok(m) = zsub.recv_bytes(0) {
        assert_eq!(m, b"b-take", "matching messages never go out");
    }

    // libsock SUB keeps what matches none of its subscriptions.
    let sub = socket(&ctx, SUB);
    sub.set_invert_matching(true).unwrap();
    sub.set_subscribe(b"a").unwrap();
    sub.connect(&publ.get_last_endpoint().unwrap()).unwrap();
    sub.set_rcvtimeo(50).unwrap();
    let got = (0..200).find_map(|_| {
        publ.send("a-skip", 0).unwrap();
        publ.send("b-take", 0).unwrap();
        sub.recv_bytes(0).ok()
    });
    assert_eq!(got.as_deref(), Some(&b"b-take"[..]));
    while let Ok(m) = sub.recv_bytes(0) {
        assert_eq!(m, b"b-take");
    }
}

#[test]
fn xpub_manual_last_value_sends_the_first_message_to_the_new_subscriber_only() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.set_xpub_manual_last_value(true).unwrap();
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let ep = xpub.get_last_endpoint().unwrap();
    let first = zsock(&z, zmq::SUB);
    first.connect(&ep).unwrap();
    first.set_subscribe(b"t").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01t");
    xpub.set_subscribe(b"t").unwrap();
    xpub.send("t-last-1", 0).unwrap();
    assert_eq!(first.recv_bytes(0).unwrap(), b"t-last-1");

    let second = zsock(&z, zmq::SUB);
    second.connect(&ep).unwrap();
    second.set_subscribe(b"t").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01t");
    xpub.set_subscribe(b"t").unwrap();
    xpub.send("t-last-2", 0).unwrap();
    xpub.send("t-live", 0).unwrap();
    assert_eq!(second.recv_bytes(0).unwrap(), b"t-last-2");
    assert_eq!(second.recv_bytes(0).unwrap(), b"t-live");
    assert_eq!(first.recv_bytes(0).unwrap(), b"t-live", "the old subscriber does not see t-last-2");
}

/// The monitor's events up to the first that `last` accepts (waiting as long as a loaded
/// machine may take), then any that follow within `quiet_ms` of each other; at most 10.
fn events_until(
    events: &libsock::Monitor,
    last: impl Fn(SocketEvent) -> bool,
    quiet_ms: i32,
) -> Vec<SocketEvent> {
    let mut seen = Vec::new();
    while let Ok(e) = events.recv_event(10_000) {
        seen.push(e.event);
        if last(e.event) || seen.len() == 10 {
            break;
        }
    }
    while seen.len() < 10 {
        match events.recv_event(quiet_ms) {
            Ok(e) => seen.push(e.event),
            Err(_) => break,
        }
    }
    seen
}

#[test]
fn reconnect_stop_on_refused_gives_up() {
    let ctx = Context::new();
    // A port nobody listens on: bind, learn it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let push = socket(&ctx, PUSH);
    push.set_reconnect_stop(1).unwrap();
    push.set_reconnect_ivl(10).unwrap();
    let events = push.monitor_events(EVENT_ALL).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let seen = events_until(&events, |e| e == SocketEvent::Closed, 300);
    assert!(!seen.contains(&SocketEvent::ConnectRetried), "no retry after ECONNREFUSED: {seen:?}");
    // As libzmq's connecter: the refused attempt's socket is reported CLOSED, last.
    assert_eq!(seen, [SocketEvent::ConnectDelayed, SocketEvent::Closed], "events of a refused connect");
    // And as libzmq's session, the socket forgets the endpoint (pyzmq 4.3.5: ENOENT too).
    let endpoint = format!("tcp://127.0.0.1:{port}");
    assert!(matches!(push.disconnect(&endpoint), Err(Error::NoSuchEndpoint(_))));

    let push = socket(&ctx, PUSH);
    push.set_reconnect_ivl(10).unwrap();
    let events = push.monitor_events(EVENT_ALL).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let seen: Vec<SocketEvent> =
        (0..4).filter_map(|_| events.recv_event(1000).ok()).map(|e| e.event).collect();
    // libzmq: each refused attempt is CONNECT_DELAYED, CLOSED, then CONNECT_RETRIED.
    assert_eq!(
        seen,
        [
            SocketEvent::ConnectDelayed,
            SocketEvent::Closed,
            SocketEvent::ConnectRetried,
            SocketEvent::ConnectDelayed
        ],
        "by default it keeps retrying"
    );
    push.disconnect(&endpoint).unwrap();
}

#[test]
fn connect_timeout_abandons_a_connect_that_hangs() {
    // A listener with a full accept queue drops further SYNs, so a connect hangs.
    let listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let fillers: Vec<_> =
        (0..4).filter_map(|_| std::net::TcpStream::connect_timeout(&addr, ms(200)).ok()).collect();
    assert!(!fillers.is_empty());
    let ctx = Context::new();
    let push = socket(&ctx, PUSH);
    push.set_connect_timeout(100).unwrap();
    push.set_reconnect_ivl(10_000).unwrap();
    let events = push.monitor_events(EVENT_ALL).unwrap();
    push.connect(&format!("tcp://{addr}")).unwrap();
    let retried =
        (0..10).filter_map(|_| events.recv_event(5000).ok()).any(|e| e.event == SocketEvent::ConnectRetried);
    assert!(retried, "the hanging connect was abandoned and a retry scheduled");
}

#[test]
fn reconnect_stop_after_a_failed_handshake_gives_up() {
    use std::io::Write;
    // Not a ZMTP peer: answers with HTTP and hangs up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let ctx = Context::new();
    for (stop, expect_retry) in [(2, false), (0, true)] {
        let push = socket(&ctx, PUSH);
        push.set_reconnect_stop(stop).unwrap();
        push.set_reconnect_ivl(10).unwrap();
        let events = push.monitor_events(EVENT_ALL).unwrap();
        push.connect(&format!("tcp://{addr}")).unwrap();
        let failed =
            |e| matches!(e, SocketEvent::HandshakeFailedProtocol | SocketEvent::HandshakeFailedNoDetail);
        let seen = events_until(&events, failed, 500);
        assert!(
            seen.iter().any(|e| matches!(
                e,
                SocketEvent::HandshakeFailedProtocol | SocketEvent::HandshakeFailedNoDetail
            )),
            "{seen:?}"
        );
        assert_eq!(
            seen.contains(&SocketEvent::ConnectRetried),
            expect_retry,
            "RECONNECT_STOP={stop}: {seen:?}"
        );
        // Stopped on a failed handshake, the endpoint stays (as in libzmq 4.3.5).
        push.disconnect(&format!("tcp://{addr}")).unwrap();
    }
}

/// The steps of [`xpub_takes_what_is_pending_before_reading_its_subscribers`] on one
/// library (its context, socket types and DONTWAIT): what each receive of the XPUB gives.
macro_rules! pending_before_subscribers {
    ($ctx:expr, $xpub:expr, $xsub:expr, $dontwait:expr) => {{
        let (xpub, xsub) = ($ctx.socket($xpub).unwrap(), $ctx.socket($xsub).unwrap());
        xpub.set_xpub_verbose(true).unwrap();
        xpub.bind("inproc://pending-first").unwrap();
        xsub.connect("inproc://pending-first").unwrap();
        let mut got = Vec::new();
        xsub.send(&b"\x01"[..], 0).unwrap();
        got.push(xpub.recv_bytes($dontwait).ok());
        xsub.send(&b"upstream"[..], 0).unwrap();
        xpub.get_events().unwrap(); // reads it: now pending
        xsub.send(&b"\x01"[..], 0).unwrap(); // the same subscription again
        got.push(xpub.recv_bytes($dontwait).ok()); // what was pending; the pipe not read
        xpub.set_xpub_verbose(false).unwrap();
        got.push(xpub.recv_bytes($dontwait).ok()); // the pipe read now, VERBOSE off
        got.push(xpub.recv_bytes($dontwait).ok());
        got
    }};
}

/// A receive on an XPUB gives what is pending before it reads its subscribers' pipes again,
/// as libzmq's (`socket_base_t::recv` processes commands only once `xpub_t::xrecv` found
/// nothing), so what they sent since is weighed with the options of when it is read: a
/// repeated subscription read after XPUB_VERBOSE went off is not passed up.
#[test]
fn xpub_takes_what_is_pending_before_reading_its_subscribers() {
    let want = [Some(b"\x01".to_vec()), Some(b"upstream".to_vec()), None, None];
    let z = zmq::Context::new();
    assert_eq!(pending_before_subscribers!(z, zmq::XPUB, zmq::XSUB, zmq::DONTWAIT), want, "libzmq");
    let ctx = Context::new();
    assert_eq!(pending_before_subscribers!(ctx, XPUB, libsock::XSUB, libsock::DONTWAIT), want);
}

/// A send on an XPUB takes in the subscriptions that came while a message waited for the
/// application (libsock's publisher reads its pipes before every first frame then; libzmq's
/// does when its once-a-millisecond command check falls on the send).
#[test]
fn xpub_send_applies_subscriptions_that_came_while_a_message_was_pending() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.bind("inproc://send-applies").unwrap();
    let (first, second) = (socket(&ctx, SUB), socket(&ctx, SUB));
    first.connect("inproc://send-applies").unwrap();
    second.connect("inproc://send-applies").unwrap();
    first.set_subscribe(b"a").unwrap();
    assert_eq!(xpub.get_events().unwrap() & libsock::POLLIN, libsock::POLLIN, "\\x01a pending");
    second.set_subscribe(b"b").unwrap();
    xpub.send("b topic", 0).unwrap();
    assert_eq!(second.recv_bytes(0).unwrap(), b"b topic");
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01a");
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01b");
}

/// XPUB_VERBOSE and XPUB_VERBOSER write the same two flags, as libzmq's `xpub_t`: VERBOSER
/// sets both (subscriptions and unsubscriptions go up), VERBOSE the first and clears the
/// second, so the one set last decides. (The C differential `api_sequences.c` sets them in
/// random order against libzmq.)
#[test]
fn xpub_verbose_and_verboser_write_the_same_flags_as_libzmq() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.bind("inproc://verbose-flags").unwrap();
    let (a, b) = (socket(&ctx, SUB), socket(&ctx, SUB));
    a.connect("inproc://verbose-flags").unwrap();
    b.connect("inproc://verbose-flags").unwrap();
    let up = || xpub.recv_bytes(libsock::DONTWAIT).ok();
    xpub.set_xpub_verbose(true).unwrap();
    xpub.set_xpub_verboser(false).unwrap(); // subscriptions not verbose either now
    assert_eq!((xpub.get_xpub_verbose().unwrap(), xpub.get_xpub_verboser().unwrap()), (false, false));
    a.set_subscribe(b"t").unwrap();
    assert_eq!(up(), Some(b"\x01t".to_vec()), "the first one goes up anyway");
    b.set_subscribe(b"t").unwrap();
    assert_eq!(up(), None, "VERBOSER 0 turned VERBOSE off");
    xpub.set_xpub_verboser(true).unwrap();
    xpub.set_xpub_verbose(true).unwrap(); // unsubscriptions not verbose any more
    assert_eq!((xpub.get_xpub_verbose().unwrap(), xpub.get_xpub_verboser().unwrap()), (true, false));
    a.set_unsubscribe(b"t").unwrap();
    assert_eq!(up(), None, "VERBOSE 1 turned VERBOSER off");
    b.set_subscribe(b"t").unwrap();
    assert_eq!(up(), Some(b"\x01t".to_vec()), "subscriptions are verbose");
}

/// A PUB takes XPUB_MANUAL, as libzmq's (its `pub_t` is an `xpub_t`), and then SUBSCRIBE
/// too, which finds no subscriber to apply to; it never has anything to receive.
#[test]
fn a_pub_takes_xpub_manual_and_has_nothing_to_receive() {
    let ctx = Context::new();
    let publisher = socket(&ctx, PUB);
    publisher.set_xpub_manual(true).unwrap();
    publisher.bind("inproc://manual-pub").unwrap();
    let sub = socket(&ctx, SUB);
    sub.connect("inproc://manual-pub").unwrap();
    sub.set_subscribe(b"").unwrap();
    assert_eq!(publisher.get_events().unwrap() & libsock::POLLIN, 0);
    publisher.set_subscribe(b"x").expect("taken, applied to nobody");
    assert!(matches!(publisher.recv_bytes(libsock::DONTWAIT), Err(Error::NotSupported)));
    sub.set_subscribe(b"").unwrap();
    assert_eq!(publisher.get_events().unwrap() & libsock::POLLIN, 0);
}

/// A receive the socket type refuses (a PUB's, a PUSH's) fails before the socket takes its
/// commands, as libzmq's `socket_base_t::recv` whose `xrecv` fails first: a PUB reads a
/// new subscriber's pipe at its next send then, with the options of then. Here XPUB_MANUAL,
/// set in between, keeps the subscription out of its filter (libzmq's `pub_t` is an
/// `xpub_t`, and it has no receive to hand subscriptions up).
#[test]
fn a_refused_receive_takes_no_commands_so_a_pub_reads_its_subscribers_at_its_send() {
    let ctx = Context::new();
    let publisher = socket(&ctx, PUB);
    publisher.bind("inproc://refused-recv").unwrap();
    let sub = socket(&ctx, SUB);
    sub.connect("inproc://refused-recv").unwrap();
    sub.set_subscribe(b"").unwrap();
    assert!(matches!(publisher.recv_bytes(libsock::DONTWAIT), Err(Error::NotSupported)));
    publisher.set_xpub_manual(true).unwrap();
    publisher.send("x", 0).unwrap();
    assert!(sub.recv_bytes(libsock::DONTWAIT).is_err(), "the subscription came in manual mode");
}

/// In XPUB_MANUAL mode each receive names the subscriber the next SUBSCRIBE applies to; a
/// receive made while the mode is off names none and leaves that subscriber's turn for the
/// next receive in manual mode, as libzmq's `xpub_t::xrecv` pops `_pending_pipes` only then.
#[test]
fn xpub_manual_receives_name_subscribers_only_in_manual_mode() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.bind("inproc://manual-turns").unwrap();
    let (a, b) = (socket(&ctx, SUB), socket(&ctx, SUB));
    for s in [&a, &b] {
        s.connect("inproc://manual-turns").unwrap();
    }
    xpub.set_xpub_manual(true).unwrap();
    // Both subscribers take "x"; which of them the XPUB's own SUBSCRIBE "x" applies to
    // decides who gets it.
    a.set_subscribe(b"x").unwrap();
    xpub.get_events().unwrap(); // attaches both, reads a's subscription in manual mode
    xpub.set_xpub_manual(false).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01x", "a's turn is not taken");
    xpub.set_xpub_manual(true).unwrap();
    b.set_subscribe(b"x").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01x", "b's, naming a, whose turn came first");
    xpub.set_subscribe(b"x").unwrap();
    xpub.send("x", 0).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"x");
    assert!(b.recv_bytes(libsock::DONTWAIT).is_err());
}
