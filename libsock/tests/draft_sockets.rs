//! The draft socket types (feature `draft`) between libsock sockets: CLIENT/SERVER routing
//! ids, RADIO/DISH groups, SCATTER/GATHER, PEER (`connect_peer`), CHANNEL, single-part rules,
//! type numbers and names.

mod common;

use common::{pair_up, scratch_endpoint, socket, TRANSPORTS};
use libsock::{
    Context, Error, Message, SocketType, CHANNEL, CLIENT, DISH, GATHER, PAIR, PEER, PUSH, RADIO, SCATTER,
    SERVER, SNDMORE,
};

#[test]
fn types_have_libzmq_numbers_and_names() {
    let expected = [
        (SERVER, 12, "SERVER"),
        (CLIENT, 13, "CLIENT"),
        (RADIO, 14, "RADIO"),
        (DISH, 15, "DISH"),
        (GATHER, 16, "GATHER"),
        (SCATTER, 17, "SCATTER"),
        (PEER, 19, "PEER"),
        (CHANNEL, 20, "CHANNEL"),
    ];
    for (kind, raw, name) in expected {
        assert_eq!(kind.to_raw(), raw);
        assert_eq!(SocketType::from_raw(raw), Some(kind));
        assert_eq!(kind.as_str(), name);
        assert_eq!(SocketType::from_name(name.to_lowercase().as_bytes()), Some(kind));
        assert!(kind.is_thread_safe());
    }
    assert!(SERVER.is_compatible(CLIENT) && RADIO.is_compatible(DISH) && SCATTER.is_compatible(GATHER));
    assert!(PEER.is_compatible(PEER) && CHANNEL.is_compatible(CHANNEL));
    assert!(
        !SERVER.is_compatible(SERVER)
            && !DISH.is_compatible(SocketType::SUB)
            && !SCATTER.is_compatible(SocketType::PULL)
            && !PEER.is_compatible(SERVER)
            && !PEER.is_compatible(CLIENT)
            && !CHANNEL.is_compatible(PAIR)
    );
    assert!(!PUSH.is_thread_safe());
    // DGRAM: raw udp, no ZMTP peer, one thread (as libzmq's dgram_t).
    let dgram = libsock::DGRAM;
    assert_eq!((dgram.to_raw(), dgram.as_str()), (18, "DGRAM"));
    assert_eq!(SocketType::from_raw(18), Some(dgram));
    assert!(!dgram.is_thread_safe() && !dgram.is_compatible(dgram));
    let ctx = Context::new();
    // ZMQ_THREAD_SAFE: a `Socket` is never shared by threads (`!Sync`), whatever its type.
    assert_eq!(ctx.socket(SERVER).unwrap().get_option_raw(81).unwrap(), libsock::OptionValue::Int(0));
    assert!(matches!(ctx.thread_safe_socket(PUSH), Err(Error::InvalidArgument(_))));
}

#[test]
fn server_answers_each_client_by_routing_id() {
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let server = socket(&ctx, SERVER);
        server.bind(&scratch_endpoint(transport)).unwrap();
        let ep = server.get_last_endpoint().unwrap();
        let clients: Vec<_> = (0..2).map(|_| socket(&ctx, CLIENT)).collect();
        for (i, c) in clients.iter().enumerate() {
            c.connect(&ep).unwrap();
            c.send(format!("hello from {i}"), 0).unwrap();
        }
        let mut ids = Vec::new();
        for _ in 0..2 {
            let request = server.recv_msg(0).unwrap();
            assert_ne!(request.routing_id(), 0, "{transport}");
            ids.push(request.routing_id());
            let mut reply = Message::from(format!("re: {}", request.as_str().unwrap()));
            reply.set_routing_id(request.routing_id()).unwrap();
            server.send(reply, 0).unwrap();
        }
        assert_ne!(ids[0], ids[1], "{transport}: each peer has its own id");
        for (i, c) in clients.iter().enumerate() {
            let reply = c.recv_msg(0).unwrap();
            assert_eq!(reply.as_str(), Some(format!("re: hello from {i}").as_str()), "{transport}");
            assert_eq!(reply.routing_id(), 0, "{transport}: ids stay on the server");
        }
    }
}

#[test]
fn server_refuses_unknown_ids_and_every_type_refuses_multipart() {
    let ctx = Context::new();
    let server = socket(&ctx, SERVER);
    let mut msg = Message::from("x");
    assert!(matches!(msg.set_routing_id(0), Err(Error::InvalidArgument(_))));
    msg.set_routing_id(12345).unwrap();
    assert!(matches!(server.send(msg, 0), Err(Error::HostUnreachable)));
    assert!(matches!(server.send("no id", 0), Err(Error::HostUnreachable)));
    for kind in [SERVER, CLIENT, RADIO, SCATTER, PEER, CHANNEL] {
        let s = socket(&ctx, kind);
        assert!(matches!(s.send("part", SNDMORE), Err(Error::InvalidArgument(_))), "{kind}");
    }
    for kind in [DISH, GATHER] {
        assert!(matches!(socket(&ctx, kind).send("x", 0), Err(Error::NotSupported)), "{kind}");
    }
}

#[test]
fn dish_gets_only_the_groups_it_joined() {
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let radio = socket(&ctx, RADIO);
        let dish = socket(&ctx, DISH);
        // Joined before the connection exists: the join goes out at the handshake.
        dish.join("weather").unwrap();
        pair_up(&radio, &dish, transport);
        let send = |group: &str, body: &str| {
            let mut m = Message::from(body);
            m.set_group(group).unwrap();
            radio.send(m, 0).unwrap();
        };
        // The join reaches the radio some time after the connection: send until it has.
        let mut tries = 0;
        let first = loop {
            tries += 1;
            assert!(tries < 4000, "{transport}: the join never took effect");
            send("sports", "ignored");
            send("weather", "sunny");
            if let Ok(m) = dish.recv_msg(libsock::DONTWAIT) {
                break m;
            }
            std::thread::sleep(common::ms(5));
        };
        assert_eq!((first.group(), first.as_str()), ("weather", Some("sunny")), "{transport}");
        // Joined on a live connection.
        dish.join("sports").unwrap();
        let goal = loop {
            tries += 1;
            assert!(tries < 8000, "{transport}: the second join never took effect");
            send("sports", "goal");
            match dish.recv_msg(libsock::DONTWAIT) {
                Ok(m) if m.group() == "sports" => break m,
                Ok(m) => assert_eq!(m.group(), "weather", "{transport}: {m:?}"),
                Err(_) => std::thread::sleep(common::ms(5)),
            }
        };
        assert_eq!(goal.as_str(), Some("goal"), "{transport}");
    }
}

#[test]
fn join_and_leave_follow_libzmq_rules() {
    let ctx = Context::new();
    let dish = socket(&ctx, DISH);
    dish.join("a").unwrap();
    assert!(matches!(dish.join("a"), Err(Error::InvalidArgument(_))), "joined twice");
    dish.leave("a").unwrap();
    assert!(matches!(dish.leave("a"), Err(Error::InvalidArgument(_))), "not joined");
    let long = "g".repeat(libsock::GROUP_MAX_LENGTH + 1);
    assert!(matches!(dish.join(&long), Err(Error::InvalidArgument(_))));
    dish.join(&long[1..]).unwrap();
    let mut m = Message::from("x");
    assert!(m.set_group(&long).is_err());
    assert_eq!(m.group(), "");
    m.set_group("news").unwrap();
    assert_eq!(m.group(), "news");
    assert!(matches!(socket(&ctx, RADIO).join("a"), Err(Error::NotSupported)));
}

#[test]
fn left_groups_stop_arriving() {
    let ctx = Context::new();
    let radio = socket(&ctx, RADIO);
    let dish = socket(&ctx, DISH);
    pair_up(&radio, &dish, "inproc");
    dish.join("a").unwrap();
    dish.join("b").unwrap();
    dish.leave("a").unwrap();
    for group in ["a", "b"] {
        let mut m = Message::from(group);
        m.set_group(group).unwrap();
        radio.send(m, 0).unwrap();
    }
    // inproc: joins and messages are in the pipes already, in order. Polling reports only
    // what recv will return (the "a" message is dropped, not announced).
    assert_eq!(dish.get_events().unwrap() & libsock::POLLIN, libsock::POLLIN);
    assert_eq!(dish.recv_msg(0).unwrap().group(), "b");
    assert_eq!(dish.get_events().unwrap() & libsock::POLLIN, 0);
    assert!(matches!(dish.recv_msg(libsock::DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn scatter_round_robins_to_gathers() {
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let scatter = socket(&ctx, SCATTER);
        scatter.bind(&scratch_endpoint(transport)).unwrap();
        let ep = scatter.get_last_endpoint().unwrap();
        let gathers: Vec<_> = (0..2).map(|_| socket(&ctx, GATHER)).collect();
        for g in &gathers {
            g.connect(&ep).unwrap();
        }
        // Wait until both are attached: each gets its first message.
        let mut got = [0usize; 2];
        let mut i = 0;
        while got.contains(&0) {
            assert!(i < 4000, "{transport}: a gather never got a message: {got:?}");
            scatter.send(format!("m{i}"), 0).unwrap();
            i += 1;
            for (k, g) in gathers.iter().enumerate() {
                while g.recv_msg(libsock::DONTWAIT).is_ok() {
                    got[k] += 1;
                }
            }
            std::thread::sleep(common::ms(2));
        }
        assert!(got.iter().all(|n| *n > 0), "{transport}: {got:?}");
    }
}

/// `zmq_socket_get_peer_state`: a ROUTER's view of one peer's outgoing room.
#[test]
fn router_peer_state_follows_the_peers_queue() {
    let ctx = Context::new();
    let router = socket(&ctx, libsock::ROUTER);
    let dealer = socket(&ctx, libsock::DEALER);
    router.set_sndhwm(5).unwrap();
    dealer.set_rcvhwm(5).unwrap();
    dealer.set_routing_id(b"X").unwrap();
    pair_up(&router, &dealer, "inproc");
    dealer.send("hi", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), vec![b"X".to_vec(), b"hi".to_vec()]);
    assert_eq!(router.peer_state(b"X").unwrap(), libsock::POLLOUT);
    assert!(matches!(router.peer_state(b"nobody"), Err(Error::HostUnreachable)));
    assert!(matches!(dealer.peer_state(b"X"), Err(Error::NotSupported)));
    // Fill the path to the dealer (it does not read): no more room for X.
    let mut sent = 0;
    while router.peer_state(b"X").unwrap() == libsock::POLLOUT {
        router.send_multipart(["X", "fill"], libsock::DONTWAIT).unwrap();
        sent += 1;
        assert!(sent < 1000, "never full");
    }
    assert_eq!(router.peer_state(b"X").unwrap(), 0);
    dealer.recv_bytes(0).unwrap();
    drop(dealer);
}

#[test]
fn peers_name_each_other_by_the_id_connect_peer_gives() {
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let (a, b, c) = (socket(&ctx, PEER), socket(&ctx, PEER), socket(&ctx, PEER));
        a.bind(&scratch_endpoint(transport)).unwrap();
        let ep = a.get_last_endpoint().unwrap();
        let id_b = b.connect_peer(&ep).unwrap();
        let id_c = c.connect_peer(&ep).unwrap();
        assert!(id_b != 0 && id_c != 0, "{transport}");
        // Sent by the id before anything came back: the pipe is there from connect_peer on.
        for (s, id, body) in [(&b, id_b, "from b"), (&c, id_c, "from c")] {
            let mut msg = Message::from(body);
            msg.set_routing_id(id).unwrap();
            s.send(msg, 0).unwrap();
        }
        let mut seen = Vec::new();
        for _ in 0..2 {
            let got = a.recv_msg(0).unwrap();
            assert_ne!(got.routing_id(), 0, "{transport}");
            seen.push((got.as_str().unwrap().to_owned(), got.routing_id()));
            let mut reply = Message::from(format!("re: {}", got.as_str().unwrap()));
            reply.set_routing_id(got.routing_id()).unwrap();
            a.send(reply, 0).unwrap();
        }
        assert_ne!(seen[0].1, seen[1].1, "{transport}: each peer has its own id on a");
        for (s, id, body) in [(&b, id_b, "re: from b"), (&c, id_c, "re: from c")] {
            let reply = s.recv_msg(0).unwrap();
            assert_eq!(reply.as_str(), Some(body), "{transport}");
            assert_eq!(reply.routing_id(), id, "{transport}: the answer comes from the id connect_peer gave");
        }
    }
}

#[test]
fn connect_peer_is_for_peers_without_immediate() {
    let ctx = Context::new();
    assert!(matches!(socket(&ctx, SERVER).connect_peer("tcp://127.0.0.1:5555"), Err(Error::NotSupported)));
    assert!(matches!(ctx.socket(PAIR).unwrap().connect_peer("inproc://x"), Err(Error::NotSupported)));
    let peer = socket(&ctx, PEER);
    peer.set_option(libsock::SocketOption::IMMEDIATE, libsock::OptionValue::Int(1)).unwrap();
    assert!(matches!(peer.connect_peer("tcp://127.0.0.1:5555"), Err(Error::InvalidArgument(_))));
    assert!(matches!(socket(&ctx, PEER).connect_peer("bogus://x"), Err(Error::ProtocolNotSupported(_))));
}

#[test]
fn channel_takes_a_new_peer_once_the_old_one_is_gone() {
    // A dialling CHANNEL whose peer closed connects elsewhere and only sends: the new peer
    // takes the place of the old, whose pipe ended with nothing left to read (libzmq keeps
    // it until a receive reads its end, and refuses the newcomer meanwhile).
    let ctx = Context::new();
    let b = socket(&ctx, CHANNEL);
    b.set_option(libsock::SocketOption::RECONNECT_IVL, libsock::OptionValue::Int(-1)).unwrap();
    b.set_option(libsock::SocketOption::SNDTIMEO, libsock::OptionValue::Int(2000)).unwrap();
    let events = b.monitor_events(libsock::EVENT_ALL).unwrap();
    let first = socket(&ctx, CHANNEL);
    pair_up(&first, &b, "tcp");
    b.send("one", 0).unwrap();
    assert_eq!(first.recv_bytes(0).unwrap(), b"one");
    drop(first);
    while events.recv_event(5000).unwrap().event != libsock::SocketEvent::Disconnected {}
    std::thread::sleep(std::time::Duration::from_millis(100));
    let second = socket(&ctx, CHANNEL);
    pair_up(&second, &b, "tcp");
    b.send("two", 0).expect("the new peer takes the message");
    assert_eq!(second.recv_bytes(0).unwrap(), b"two");
}

#[test]
fn channel_is_a_single_part_pair() {
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let (a, b) = (socket(&ctx, CHANNEL), socket(&ctx, CHANNEL));
        let ep = pair_up(&a, &b, transport);
        a.send("ping", 0).unwrap();
        assert_eq!(b.recv_bytes(0).unwrap(), b"ping", "{transport}");
        b.send("pong", 0).unwrap();
        assert_eq!(a.recv_bytes(0).unwrap(), b"pong", "{transport}");
        assert!(matches!(b.send("part", SNDMORE), Err(Error::InvalidArgument(_))), "{transport}");
        // One peer only: a second CHANNEL's messages never reach `a`.
        let third = socket(&ctx, CHANNEL);
        third.set_option(libsock::SocketOption::SNDTIMEO, libsock::OptionValue::Int(200)).unwrap();
        third.connect(&ep).unwrap();
        let _ = third.send("intruder", libsock::DONTWAIT);
        b.send("still b", 0).unwrap();
        assert_eq!(a.recv_bytes(0).unwrap(), b"still b", "{transport}");
        a.set_option(libsock::SocketOption::RCVTIMEO, libsock::OptionValue::Int(200)).unwrap();
        assert!(a.recv_bytes(0).is_err(), "{transport}: nothing from the refused peer");
    }
}
