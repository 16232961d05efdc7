//! REQ/REP/DEALER/ROUTER between libsock sockets over every transport.

mod common;

use common::*;
use libsock::{Context, Error, DEALER, DONTWAIT, REP, REQ, ROUTER, SNDMORE};

#[test]
fn req_rep_round_trips_over_every_transport() {
    let ctx = Context::new();
    for transport in TRANSPORTS {
        let rep = socket(&ctx, REP);
        let req = socket(&ctx, REQ);
        pair_up(&rep, &req, transport);
        for i in 0..50 {
            req.send_multipart([format!("q{i}"), "part".into()], 0).unwrap();
            assert_eq!(rep.recv_multipart(0).unwrap(), vec![format!("q{i}").into_bytes(), b"part".to_vec()]);
            rep.send(format!("a{i}"), 0).unwrap();
            assert_eq!(req.recv_bytes(0).unwrap(), format!("a{i}").into_bytes(), "{transport}");
        }
    }
}

#[test]
fn req_and_rep_enforce_alternation() {
    let ctx = Context::new();
    let rep = socket(&ctx, REP);
    let req = socket(&ctx, REQ);
    pair_up(&rep, &req, "inproc");
    assert!(matches!(req.recv_bytes(DONTWAIT), Err(Error::InvalidState)));
    assert!(matches!(rep.send("x", 0), Err(Error::InvalidState)));
    req.send("q", 0).unwrap();
    assert!(matches!(req.send("q2", 0), Err(Error::InvalidState)));
    assert_eq!(Error::InvalidState.to_raw(), libsock::EFSM);
    rep.recv_bytes(0).unwrap();
    assert!(matches!(rep.recv_bytes(DONTWAIT), Err(Error::InvalidState)));
    rep.send("a", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"a");
}

#[test]
fn req_relaxed_and_correlate_ignore_stale_replies() {
    let ctx = Context::new();
    let rep = socket(&ctx, REP);
    let req = socket(&ctx, REQ);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    pair_up(&rep, &req, "tcp");
    req.send("first", 0).unwrap();
    req.send("second", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"first");
    rep.send("reply to first", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"second");
    rep.send("reply to second", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"reply to second");
}

/// libzmq's req_t drops what has arrived when a request begins: a reply that came in
/// before it (a stray one here; a late answer to an abandoned request with REQ_RELAXED) is
/// never taken for its reply.
#[test]
fn a_request_drops_replies_that_arrived_before_it() {
    let ctx = Context::new();
    for relaxed in [false, true] {
        let dealer = socket(&ctx, DEALER);
        let req = socket(&ctx, REQ);
        req.set_req_relaxed(relaxed).unwrap();
        pair_up(&dealer, &req, "inproc");
        if relaxed {
            req.send("abandoned", 0).unwrap();
            assert_eq!(dealer.recv_multipart(0).unwrap(), [&b""[..], b"abandoned"]);
        }
        dealer.send_multipart(["", "stale"], 0).unwrap();
        req.send("request", 0).unwrap();
        assert_eq!(dealer.recv_multipart(0).unwrap(), [&b""[..], b"request"]);
        dealer.send_multipart(["", "reply"], 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), b"reply", "REQ_RELAXED {relaxed}");
    }
}

/// What a peer sent before it left is still received, with its routing id, though the
/// ROUTER (or DEALER) found the peer gone while sending (which used to drop its pipe, and
/// the messages in it, at once). libzmq reads a pipe to its end before it lets it go.
#[test]
fn messages_from_a_peer_that_left_are_still_received() {
    let ctx = Context::new();
    for transport in TRANSPORTS {
        for server_kind in [ROUTER, DEALER] {
            let server = socket(&ctx, server_kind);
            server.set_router_mandatory(server_kind == ROUTER).ok();
            let client = socket(&ctx, DEALER);
            client.set_routing_id(b"leaver").unwrap();
            client.set_linger(5000).unwrap();
            pair_up(&server, &client, transport);
            for i in 0..3 {
                client.send(format!("m{i}"), 0).unwrap();
            }
            // All three are queued at the server (pipes deliver whole batches), unread.
            assert!(server.poll(libsock::POLLIN, 5000).unwrap() > 0, "{transport}");
            std::thread::sleep(ms(50));
            drop(client);
            // The server sends until it finds the peer gone.
            let gone = (0..500).any(|_| {
                let sent = if server_kind == ROUTER {
                    server.send_multipart(["leaver", "late"], DONTWAIT)
                } else {
                    server.send("late", DONTWAIT)
                };
                std::thread::sleep(ms(10));
                sent.is_err()
            });
            assert!(gone, "{transport}: the server noticed the peer left");
            for i in 0..3 {
                let got = server.recv_multipart(0).unwrap();
                let want = format!("m{i}").into_bytes();
                if server_kind == ROUTER {
                    assert_eq!(got, [b"leaver".to_vec(), want], "{transport}");
                } else {
                    assert_eq!(got, [want], "{transport}");
                }
            }
            assert!(server.recv_bytes(DONTWAIT).is_err(), "{transport}: nothing more");
        }
    }
}

/// As libzmq's router_t::xhas_out: a ROUTER is always writable (a message to an unknown
/// peer is dropped), but with ROUTER_MANDATORY only while some peer can take a message.
#[test]
fn router_mandatory_pollout_needs_a_peer_with_room() {
    let ctx = Context::new();
    for mandatory in [false, true] {
        let router = socket(&ctx, ROUTER);
        router.set_router_mandatory(mandatory).unwrap();
        let ep = scratch_endpoint("inproc");
        router.bind(&ep).unwrap();
        let pollout = |r: &libsock::Socket| r.get_events().unwrap() & libsock::POLLOUT != 0;
        assert_eq!(pollout(&router), !mandatory, "no peer, ROUTER_MANDATORY {mandatory}");
        let dealer = socket(&ctx, DEALER);
        dealer.set_routing_id(b"d").unwrap();
        dealer.connect(&ep).unwrap();
        dealer.send("hello", 0).unwrap();
        assert_eq!(router.recv_multipart(0).unwrap(), [&b"d"[..], b"hello"]);
        assert!(pollout(&router), "a peer, ROUTER_MANDATORY {mandatory}");
    }
}

#[test]
fn router_prefixes_ids_and_routes_replies() {
    let ctx = Context::new();
    for transport in TRANSPORTS {
        let router = socket(&ctx, ROUTER);
        let ep = {
            router.bind(&scratch_endpoint(transport)).unwrap();
            router.get_last_endpoint().unwrap()
        };
        let named = socket(&ctx, DEALER);
        named.set_routing_id(b"alice").unwrap();
        named.connect(&ep).unwrap();
        let anon = socket(&ctx, DEALER);
        anon.connect(&ep).unwrap();
        named.send("from alice", 0).unwrap();
        let parts = router.recv_multipart(0).unwrap();
        assert_eq!(parts, vec![b"alice".to_vec(), b"from alice".to_vec()], "{transport}");
        anon.send("from anon", 0).unwrap();
        let parts = router.recv_multipart(0).unwrap();
        assert_eq!(parts[0].len(), 5, "automatic ids are 5 bytes");
        assert_eq!(parts[0][0], 0);
        router.send_multipart([parts[0].clone(), b"to anon".to_vec()], 0).unwrap();
        router.send_multipart([b"alice".as_slice(), b"to alice"], 0).unwrap();
        assert_eq!(anon.recv_bytes(0).unwrap(), b"to anon");
        assert_eq!(named.recv_bytes(0).unwrap(), b"to alice");
        // Unknown peers: dropped quietly, or HostUnreachable with ROUTER_MANDATORY.
        router.send_multipart([b"nobody".as_slice(), b"x"], 0).unwrap();
        router.set_router_mandatory(true).unwrap();
        assert!(matches!(router.send(b"nobody".as_slice(), SNDMORE), Err(Error::HostUnreachable)));
    }
}

#[test]
fn rep_behind_router_and_dealer_keeps_the_envelope() {
    let ctx = Context::new();
    // REQ -> ROUTER (as a broker front) -> application replies through the same ROUTER.
    let router = socket(&ctx, ROUTER);
    let req = socket(&ctx, REQ);
    pair_up(&router, &req, "tcp");
    req.send("hello", 0).unwrap();
    let envelope = router.recv_multipart(0).unwrap();
    assert_eq!(envelope.len(), 3, "routing id, empty delimiter, body");
    assert!(envelope[1].is_empty());
    router.send_multipart([envelope[0].clone(), vec![], b"world".to_vec()], 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"world");
    // DEALER -> REP: the dealer must supply the delimiter itself.
    let rep = socket(&ctx, REP);
    let dealer = socket(&ctx, DEALER);
    pair_up(&rep, &dealer, "inproc");
    dealer.send_multipart([b"".as_slice(), b"ask"], 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"ask");
    rep.send("answer", 0).unwrap();
    assert_eq!(dealer.recv_multipart(0).unwrap(), vec![vec![], b"answer".to_vec()]);
}

#[test]
fn router_to_router_with_connect_routing_id() {
    let ctx = Context::new();
    let server = socket(&ctx, ROUTER);
    server.set_routing_id(b"server").unwrap();
    server.bind(&scratch_endpoint("tcp")).unwrap();
    let client = socket(&ctx, ROUTER);
    client.set_routing_id(b"client").unwrap();
    client.set_connect_routing_id(b"srv").unwrap();
    client.connect(&server.get_last_endpoint().unwrap()).unwrap();
    // The client names the server by the id it chose; retry until the handshake is done.
    client.set_router_mandatory(true).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while client.send_multipart([b"srv".as_slice(), b"hi"], 0).is_err() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(ms(5));
    }
    assert_eq!(server.recv_multipart(0).unwrap(), vec![b"client".to_vec(), b"hi".to_vec()]);
}

/// A ROUTER connect with CONNECT_ROUTING_ID can be sent to at once, as in libzmq (its
/// test_connect_rid sends right after zmq_connect): the message waits for the connection.
#[test]
fn router_connect_routing_id_is_routable_before_the_handshake() {
    let ctx = Context::new();
    let server = socket(&ctx, ROUTER);
    server.set_routing_id(b"server").unwrap();
    server.bind(&scratch_endpoint("tcp")).unwrap();
    let client = socket(&ctx, ROUTER);
    client.set_routing_id(b"client").unwrap();
    client.set_router_mandatory(true).unwrap();
    client.set_connect_routing_id(b"srv").unwrap();
    client.connect(&server.get_last_endpoint().unwrap()).unwrap();
    client.send_multipart([b"srv".as_slice(), b"early"], 0).unwrap();
    assert_eq!(server.recv_multipart(0).unwrap(), vec![b"client".to_vec(), b"early".to_vec()]);
    server.send_multipart([b"client".as_slice(), b"back"], 0).unwrap();
    assert_eq!(client.recv_multipart(0).unwrap(), vec![b"srv".to_vec(), b"back".to_vec()]);
}

#[test]
fn router_handover_and_duplicate_ids() {
    let ctx = Context::new();
    let router = socket(&ctx, ROUTER);
    router.bind(&scratch_endpoint("tcp")).unwrap();
    let ep = router.get_last_endpoint().unwrap();
    let first = socket(&ctx, DEALER);
    first.set_routing_id(b"dup").unwrap();
    first.connect(&ep).unwrap();
    first.send("1", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap()[1], b"1");
    let second = socket(&ctx, DEALER);
    second.set_routing_id(b"dup").unwrap();
    let second_events = second.monitor_events(libsock::EVENT_ALL).unwrap();
    second.connect(&ep).unwrap();
    second.send("2", 0).unwrap();
    router.set_rcvtimeo(200).unwrap();
    assert!(router.recv_multipart(0).is_err(), "a duplicate id is refused without handover");
    // The ROUTER has seen and refused it (the refused connection ends) before handover is
    // turned on, however late the connection came.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        router.get_events().unwrap();
        match second_events.recv_event(10) {
            Ok(e) if e.event == libsock::SocketEvent::Disconnected => break,
            _ => assert!(std::time::Instant::now() < deadline, "the duplicate was never refused"),
        }
    }
    // Gone before it dials again, which under handover would take the id over.
    drop(second);
    router.set_router_handover(true).unwrap();
    let third = socket(&ctx, DEALER);
    third.set_routing_id(b"dup").unwrap();
    third.connect(&ep).unwrap();
    third.send("3", 0).unwrap();
    router.set_rcvtimeo(5000).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), vec![b"dup".to_vec(), b"3".to_vec()]);
    router.send_multipart([b"dup".as_slice(), b"to third"], 0).unwrap();
    assert_eq!(third.recv_bytes(0).unwrap(), b"to third");
}

#[test]
fn dealer_round_robins_and_fair_queues() {
    let ctx = Context::new();
    let dealer = socket(&ctx, DEALER);
    dealer.bind(&scratch_endpoint("tcp")).unwrap();
    let ep = dealer.get_last_endpoint().unwrap();
    let peers: Vec<_> = (0..2).map(|_| socket(&ctx, DEALER)).collect();
    for p in &peers {
        p.connect(&ep).unwrap();
        p.send("hello", 0).unwrap();
    }
    for _ in 0..2 {
        assert_eq!(dealer.recv_bytes(0).unwrap(), b"hello");
    }
    for i in 0..4 {
        dealer.send(format!("{i}"), 0).unwrap();
    }
    for p in &peers {
        p.recv_bytes(0).unwrap();
        p.recv_bytes(0).unwrap();
    }
}

#[test]
fn replies_to_a_vanished_peer_are_dropped_quietly() {
    let ctx = Context::new();
    let rep = socket(&ctx, REP);
    rep.bind(&scratch_endpoint("tcp")).unwrap();
    let ep = rep.get_last_endpoint().unwrap();
    {
        let req = socket(&ctx, REQ);
        req.connect(&ep).unwrap();
        req.send("q", 0).unwrap();
        assert_eq!(rep.recv_bytes(0).unwrap(), b"q");
    }
    std::thread::sleep(ms(50));
    rep.send("nobody listens", 0).unwrap();
    let req = socket(&ctx, REQ);
    req.connect(&ep).unwrap();
    req.send("q2", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"q2");
    rep.send("a2", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"a2");
}

#[test]
fn busy_poll_is_opt_in_bounded_and_keeps_round_trips_and_timeouts() {
    let ctx = Context::new();
    let rep = socket(&ctx, REP);
    let req = socket(&ctx, REQ);
    assert_eq!(req.get_busy_poll_us().unwrap(), 0, "off by default");
    assert!(req.set_busy_poll_us(10_001).is_err(), "bounded");
    req.set_busy_poll_us(200).unwrap();
    rep.set_busy_poll_us(200).unwrap();
    assert_eq!(req.get_busy_poll_us().unwrap(), 200);
    pair_up(&rep, &req, "tcp");
    for i in 0..200 {
        req.send(format!("q{i}"), 0).unwrap();
        assert_eq!(rep.recv_bytes(0).unwrap(), format!("q{i}").into_bytes());
        rep.send(format!("a{i}"), 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), format!("a{i}").into_bytes());
    }
    // Spinning never outlasts RCVTIMEO.
    req.send("q", 0).unwrap();
    rep.recv_bytes(0).unwrap();
    req.set_rcvtimeo(30).unwrap();
    assert!(matches!(req.recv_bytes(0), Err(Error::TimedOut)));
}
