//! Routing ids chosen by either side.

use super::*;

/// A DEALER of `dealer_lib` named `id` is known by that id to a ROUTER of the other library.
fn dealer_identity_case(dealer_lib: Lib, id: &[u8]) {
    for router_binds in [true, false] {
        let world = World::new();
        let router = world.socket(dealer_lib.other(), ROUTER);
        let dealer = world.socket(dealer_lib, DEALER);
        dealer.set_routing_id(id);
        if router_binds {
            dealer.connect(&router.bind(&world, "tcp"));
        } else {
            router.connect(&dealer.bind(&world, "tcp"));
        }
        dealer.send("hi");
        assert_eq!(router.recv_parts(), vec![id.to_vec(), b"hi".to_vec()], "router binds: {router_binds}");
        router.send_parts(&[id, b"hello"]);
        assert_eq!(dealer.recv(), b"hello");
        assert_no_io_panics();
    }
}

#[test]
fn libzmq_dealer_identity_abc_seen_by_libsock_router() {
    dealer_identity_case(Lib::Libzmq, b"abc");
}

#[test]
fn libsock_dealer_routing_id_xyz_seen_by_libzmq_router() {
    dealer_identity_case(Lib::Libsock, b"xyz");
}

/// A binary id that starts with a zero byte (a random one does, one time in 256): libzmq 4.3
/// takes it from ROUTING_ID and from a peer, though the man page reserves such ids.
#[test]
fn routing_id_with_a_leading_zero_byte_either_way() {
    let id = b"\0\x01uuid-bytes";
    dealer_identity_case(Lib::Libzmq, id);
    dealer_identity_case(Lib::Libsock, id);
}

#[test]
fn binary_routing_id_of_255_bytes_either_way() {
    let id: Vec<u8> = (0..255u32).map(|i| (i % 255 + 1) as u8).collect();
    dealer_identity_case(Lib::Libzmq, &id);
    dealer_identity_case(Lib::Libsock, &id);
}

#[test]
fn libsock_router_gives_libzmq_dealers_distinct_automatic_ids() {
    let world = World::new();
    let router = world.socket(Lib::Libsock, ROUTER);
    let ep = router.bind(&world, "tcp");
    let dealers: Vec<Sock> = (0..3)
        .map(|_| {
            let d = world.socket(Lib::Libzmq, DEALER);
            d.connect(&ep);
            d
        })
        .collect();
    let mut ids = std::collections::HashMap::new();
    for (k, d) in dealers.iter().enumerate() {
        d.send(format!("dealer {k}"));
        let m = router.recv_parts();
        assert_eq!(m.len(), 2);
        assert_auto_id(&m[0], "libsock ROUTER");
        assert_eq!(m[1], format!("dealer {k}").into_bytes());
        assert!(ids.insert(m[0].clone(), k).is_none(), "two peers got the same automatic id");
    }
    for (id, k) in &ids {
        router.send_parts(&[&id[..], format!("for {k}").as_bytes()]);
    }
    for (k, d) in dealers.iter().enumerate() {
        assert_eq!(d.recv(), format!("for {k}").into_bytes());
    }
    assert_no_io_panics();
}

#[test]
fn libsock_router_mandatory_reports_unknown_ids() {
    let world = World::new();
    let router = world.socket(Lib::Libsock, ROUTER);
    router.set_router_mandatory(true);
    let ep = router.bind(&world, "tcp");
    let dealer = world.socket(Lib::Libzmq, DEALER);
    dealer.set_routing_id(b"known");
    dealer.connect(&ep);

    let err = router.ls().send_multipart(["unknown", "x"], 0).unwrap_err();
    assert!(matches!(err, libsock::Error::HostUnreachable), "{err:?}");
    assert_eq!(err.to_raw(), 113, "EHOSTUNREACH");
    // Nothing of the refused message lingers: the next message routes normally.
    dealer.send("here");
    assert_eq!(router.recv_parts(), parts(&["known", "here"]));
    router.send_parts(&["known", "reply"]);
    assert_eq!(dealer.recv(), b"reply");
    assert!(matches!(router.ls().send_multipart(["unknown", "x"], 0), Err(libsock::Error::HostUnreachable)));
    assert_no_io_panics();
}

/// A ROUTER_MANDATORY ROUTER of `router_lib` whose DEALER peer (of the other library)
/// disconnects: sends to the departed id must fail with EHOSTUNREACH. libzmq drops the pipe
/// as soon as the connection ends. With `recv_first` the application also tries to receive
/// before each send.
fn departed_peer_case(router_lib: Lib, recv_first: bool) {
    let world = World::new();
    let router = world.socket(router_lib, ROUTER);
    router.set_router_mandatory(true);
    router.set_routing_id(b"router");
    let ep = router.bind(&world, "tcp");
    let dealer = world.socket(router_lib.other(), DEALER);
    dealer.set_routing_id(b"known");
    dealer.connect(&ep);
    dealer.send("here");
    assert_eq!(router.recv_parts(), parts(&["known", "here"]));
    drop(dealer);
    let deadline = Instant::now() + ms(3000);
    let mut last = None;
    loop {
        if recv_first {
            assert!(router.recv_nowait().is_none());
        }
        let result = match &router.inner {
            Inner::Ls(s) => s.send_multipart(["known", "anyone?"], libsock::DONTWAIT).map_err(|e| e.to_raw()),
            Inner::Z(s) => s.send_multipart(["known", "anyone?"], zmq::DONTWAIT).map_err(|e| e.to_raw()),
        };
        match result {
            Err(113) => break, // EHOSTUNREACH
            other if Instant::now() < deadline => {
                last = Some(other);
                std::thread::sleep(ms(10));
            }
            other => panic!("{} still routes to a departed peer after 3 s: {other:?}", router.label()),
        }
    }
    eprintln!("{}: departed peer unreachable; before that: {last:?}", router.label());
    assert_no_io_panics();
}

#[test]
fn libzmq_router_mandatory_forgets_a_departed_libsock_peer() {
    departed_peer_case(Lib::Libzmq, false);
}

#[test]
fn libsock_router_mandatory_forgets_a_departed_libzmq_peer() {
    departed_peer_case(Lib::Libsock, false);
}

/// The same once the application receives: the dead pipe is found then.
#[test]
fn libsock_router_mandatory_forgets_a_departed_libzmq_peer_after_receiving() {
    departed_peer_case(Lib::Libsock, true);
}

/// Mirror of the above with libzmq's ROUTER and a libsock DEALER.
#[test]
fn libzmq_router_mandatory_with_libsock_dealer() {
    let world = World::new();
    let router = world.socket(Lib::Libzmq, ROUTER);
    router.set_router_mandatory(true);
    let ep = router.bind(&world, "tcp");
    let dealer = world.socket(Lib::Libsock, DEALER);
    dealer.set_routing_id(b"known");
    dealer.connect(&ep);
    assert!(matches!(router.try_send_parts(&["unknown", "x"]), Err(SendFail::Unreachable)));
    dealer.send("here");
    assert_eq!(router.recv_parts(), parts(&["known", "here"]));
    router.send_parts(&["known", "reply"]);
    assert_eq!(dealer.recv(), b"reply");
    assert_no_io_panics();
}

/// Sends `msg` from a ROUTER with ROUTER_MANDATORY, retrying until the peer is identified.
fn send_when_routable(router: &Sock, msg: &[&str]) {
    let deadline = Instant::now() + ms(3000);
    loop {
        match router.try_send_parts(msg) {
            Ok(()) => return,
            Err(SendFail::Unreachable) if Instant::now() < deadline => std::thread::sleep(ms(5)),
            Err(e) => panic!("{}: {:?} never became routable: {e:?}", router.label(), msg[0]),
        }
    }
}

#[test]
fn libsock_router_connect_routing_id_to_libzmq_router() {
    let world = World::new();
    let zr = world.socket(Lib::Libzmq, ROUTER);
    let ep = zr.bind(&world, "tcp");
    let lr = world.socket(Lib::Libsock, ROUTER);
    lr.set_routing_id(b"libsock-side");
    lr.set_router_mandatory(true);
    // libzmq's ROUTER announces no identity: the id is ours to choose.
    lr.ls().set_connect_routing_id(b"srv").unwrap();
    lr.connect(&ep);
    send_when_routable(&lr, &["srv", "hello"]);
    assert_eq!(zr.recv_parts(), parts(&["libsock-side", "hello"]), "libzmq ROUTER uses libsock's ROUTING_ID");
    zr.send_parts(&["libsock-side", "welcome"]);
    assert_eq!(lr.recv_parts(), parts(&["srv", "welcome"]), "libsock ROUTER uses its CONNECT_ROUTING_ID");
    assert_no_io_panics();
}

#[test]
fn libsock_router_connect_routing_ids_name_two_libzmq_dealers() {
    let world = World::new();
    let lr = world.socket(Lib::Libsock, ROUTER);
    lr.set_router_mandatory(true);
    let dealers: Vec<Sock> = ["d1", "d2"]
        .iter()
        .map(|name| {
            let d = world.socket(Lib::Libzmq, DEALER);
            // The DEALER's own identity is overridden by the connecting ROUTER's choice.
            d.set_routing_id(format!("self-{name}").as_bytes());
            let ep = d.bind(&world, "tcp");
            lr.ls().set_connect_routing_id(name.as_bytes()).unwrap();
            lr.connect(&ep);
            d
        })
        .collect();
    send_when_routable(&lr, &["d2", "for d2"]);
    send_when_routable(&lr, &["d1", "for d1"]);
    assert_eq!(dealers[0].recv(), b"for d1");
    assert_eq!(dealers[1].recv(), b"for d2");
    dealers[1].send("from d2");
    assert_eq!(lr.recv_parts(), parts(&["d2", "from d2"]));
    let err = lr.ls().send_multipart(["self-d1", "x"], 0).unwrap_err();
    assert!(
        matches!(err, libsock::Error::HostUnreachable),
        "the peer's own identity is not its id here: {err:?}"
    );
    assert_no_io_panics();
}
