//! Monitor events across the libraries.

use super::*;

/// Reads libsock monitor events until `want` (true) or `within` passes (false).
fn ls_wait_event(
    mon: &libsock::Monitor,
    seen: &mut Vec<MonitorEvent>,
    want: SocketEvent,
    within: Duration,
) -> bool {
    if seen.iter().any(|e| e.event == want) {
        return true;
    }
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis() as i32;
        if left <= 0 {
            return false;
        }
        match mon.recv_event(left) {
            Ok(ev) => {
                let hit = ev.event == want;
                seen.push(ev);
                if hit {
                    return true;
                }
            }
            Err(libsock::Error::TimedOut | libsock::Error::WouldBlock) => return false,
            Err(e) => panic!("monitor recv failed: {e:?}"),
        }
    }
}

fn names(events: &[MonitorEvent]) -> Vec<String> {
    events.iter().map(|e| format!("{:?}({}) {}", e.event, e.value, e.endpoint)).collect()
}

#[test]
fn libsock_monitor_sees_a_libzmq_subscriber_come_and_go() {
    let world = World::new();
    let xpub = world.socket(Lib::Libsock, XPUB);
    let mon = xpub.ls().monitor_events(EVENT_ALL).unwrap();
    let ep = xpub.bind(&world, "tcp");
    let sub = world.socket(Lib::Libzmq, SUB);
    sub.connect(&ep);
    sub.subscribe(b"t");
    let mut seen = Vec::new();
    for want in [SocketEvent::Listening, SocketEvent::Accepted, SocketEvent::HandshakeSucceeded] {
        assert!(ls_wait_event(&mon, &mut seen, want, ms(3000)), "no {want:?}; events: {:?}", names(&seen));
    }
    assert_eq!(seen[0].event, SocketEvent::Listening, "{:?}", names(&seen));
    assert_eq!(seen[0].endpoint, ep);
    let accepted = seen.iter().position(|e| e.event == SocketEvent::Accepted).unwrap();
    let handshake = seen.iter().position(|e| e.event == SocketEvent::HandshakeSucceeded).unwrap();
    assert!(accepted < handshake, "{:?}", names(&seen));
    assert!(seen[handshake].endpoint.starts_with("tcp://127.0.0.1:"), "{:?}", names(&seen));
    assert_eq!(xpub.recv(), b"\x01t");

    drop(sub);
    assert!(
        ls_wait_event(&mon, &mut seen, SocketEvent::Disconnected, ms(3000)),
        "libzmq peer closed, no Disconnected; events: {:?}",
        names(&seen)
    );
    assert_eq!(xpub.recv(), b"\x00t", "the departed subscriber's topic is reported gone");
    assert_no_io_panics();
}

#[test]
fn libsock_monitor_sees_its_connect_to_a_libzmq_router() {
    let world = World::new();
    let router = world.socket(Lib::Libzmq, ROUTER);
    let ep = router.bind(&world, "tcp");
    let req = world.socket(Lib::Libsock, REQ);
    let mon = req.ls().monitor_events(EVENT_ALL).unwrap();
    req.connect(&ep);
    let mut seen = Vec::new();
    for want in [SocketEvent::Connected, SocketEvent::HandshakeSucceeded] {
        assert!(ls_wait_event(&mon, &mut seen, want, ms(3000)), "no {want:?}; events: {:?}", names(&seen));
    }
    for e in &seen {
        assert_eq!(e.endpoint, ep, "events name the endpoint connected to: {:?}", names(&seen));
    }
    req.send("ping");
    let m = router.recv_parts();
    router.send_parts(&[&m[0][..], b"", b"pong"]);
    assert_eq!(req.recv(), b"pong");
    assert_no_io_panics();
}

/// libzmq's own monitor frames, parsed with libsock's parser: one format.
#[test]
fn libzmq_monitor_frames_parse_as_libsock_events() {
    let world = World::new();
    let router = world.z_socket(ROUTER);
    router.monitor("inproc://family-zmq-monitor", zmq::SocketEvent::ALL as i32).unwrap();
    let mon = world.z.socket(zmq::PAIR).unwrap();
    mon.set_linger(0).unwrap();
    mon.set_rcvtimeo(TIMEO_MS).unwrap();
    mon.connect("inproc://family-zmq-monitor").unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.get_last_endpoint().unwrap().unwrap();

    let dealer = world.socket(Lib::Libsock, DEALER);
    dealer.set_routing_id(b"d");
    dealer.connect(&ep);
    dealer.send("hi");
    assert_eq!(router.recv_multipart(0).unwrap(), parts(&["d", "hi"]));

    let mut seen = Vec::new();
    while !seen.iter().any(|e: &MonitorEvent| e.event == SocketEvent::HandshakeSucceeded) {
        let frames = mon.recv_multipart(0).unwrap_or_else(|e| panic!("{e:?}; events: {:?}", names(&seen)));
        let ev =
            MonitorEvent::parse(&frames).unwrap_or_else(|| panic!("unparseable libzmq event {frames:?}"));
        let raw = u16::from_le_bytes([frames[0][0], frames[0][1]]);
        assert_eq!(ev.event.to_raw(), raw);
        assert_eq!(ev.value, u32::from_le_bytes(frames[0][2..6].try_into().unwrap()));
        seen.push(ev);
    }
    let kinds: Vec<SocketEvent> = seen.iter().map(|e| e.event).collect();
    assert_eq!(
        kinds,
        [SocketEvent::Listening, SocketEvent::Accepted, SocketEvent::HandshakeSucceeded],
        "{:?}",
        names(&seen)
    );
    assert_eq!(seen[0].endpoint, ep);
    assert!(MonitorEvent::parse(&[vec![0; 5], Vec::new()]).is_none(), "a short event frame");
    assert_no_io_panics();
}
