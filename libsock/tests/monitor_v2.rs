//! `Socket::monitor_versioned` (libzmq's draft `zmq_socket_monitor_versioned`): version 2
//! events with both endpoints, through PAIR, PUB (subscription-filtered) and PUSH (dealt
//! round-robin) monitor sockets; version 1 through the same call; libzmq's errors; and
//! `monitor_pipes_stats`.

mod common;

use common::socket;
use libsock::{
    Context, Error, MonitorEvent, MonitorEventV2, Socket, SocketEvent, SocketType, DEALER, EVENT_ALL,
    EVENT_PIPES_STATS, PAIR, PULL, PUSH, SUB,
};

fn raw(e: SocketEvent) -> u64 {
    u64::from(e.to_raw())
}

fn reader(ctx: &Context, kind: SocketType, endpoint: &str) -> Socket {
    let s = socket(ctx, kind);
    s.set_rcvtimeo(5000).unwrap();
    s.connect(endpoint).unwrap();
    s
}

fn next_v2(reader: &Socket) -> MonitorEventV2 {
    MonitorEventV2::parse(&reader.recv_multipart(0).unwrap()).expect("a version 2 event")
}

/// Waits for `event` on a version 2 reader.
fn expect_v2(reader: &Socket, event: SocketEvent) -> MonitorEventV2 {
    loop {
        let e = next_v2(reader);
        if e.event == raw(event) {
            return e;
        }
    }
}

#[test]
fn version_2_names_both_ends_of_a_tcp_connection() {
    let ctx = Context::new();
    let (server, client) = (socket(&ctx, PULL), socket(&ctx, PUSH));
    server.monitor_versioned("inproc://v2-server", EVENT_ALL as u64, 2, PAIR).unwrap();
    client.monitor_versioned("inproc://v2-client", EVENT_ALL as u64, 2, PAIR).unwrap();
    let (smon, cmon) = (reader(&ctx, PAIR, "inproc://v2-server"), reader(&ctx, PAIR, "inproc://v2-client"));
    server.bind("tcp://127.0.0.1:*").unwrap();
    let ep = server.get_last_endpoint().unwrap();
    client.connect(&ep).unwrap();

    let listening = expect_v2(&smon, SocketEvent::Listening);
    assert_eq!((listening.local.as_str(), listening.remote.as_str()), (ep.as_str(), ""));
    assert_eq!(listening.values.len(), 1);
    let connected = expect_v2(&cmon, SocketEvent::Connected);
    assert_eq!(connected.remote, ep);
    assert!(connected.local.starts_with("tcp://127.0.0.1:") && connected.local != ep, "{connected:?}");
    let accepted = expect_v2(&smon, SocketEvent::Accepted);
    assert_eq!((accepted.local.as_str(), accepted.remote.as_str()), (ep.as_str(), connected.local.as_str()));
    let up = expect_v2(&smon, SocketEvent::HandshakeSucceeded);
    assert_eq!((up.local, up.remote, up.values), (ep.clone(), connected.local.clone(), vec![0]));

    drop(server);
    let down = expect_v2(&cmon, SocketEvent::Disconnected);
    assert_eq!((down.local.as_str(), down.remote.as_str()), (connected.local.as_str(), ep.as_str()));
    // A retry has no local end yet (libzmq's unconnected endpoint pair).
    let retry = expect_v2(&cmon, SocketEvent::ConnectRetried);
    assert_eq!((retry.local.as_str(), retry.remote.as_str()), ("", ep.as_str()));
}

#[test]
fn a_pub_monitor_sends_each_subscriber_the_events_it_subscribed_to() {
    let ctx = Context::new();
    let s = socket(&ctx, PULL);
    s.monitor_versioned("inproc://v2-pub", EVENT_ALL as u64, 2, SocketType::PUB).unwrap();
    let all = reader(&ctx, SUB, "inproc://v2-pub");
    all.set_subscribe(b"").unwrap();
    let accepted_only = reader(&ctx, SUB, "inproc://v2-pub");
    // Events start with their number as a little-endian u64.
    accepted_only.set_subscribe(&raw(SocketEvent::Accepted).to_le_bytes()).unwrap();
    std::thread::sleep(common::ms(100));
    s.bind("tcp://127.0.0.1:*").unwrap();
    let peer = socket(&ctx, PUSH);
    peer.connect(&s.get_last_endpoint().unwrap()).unwrap();

    assert_eq!(next_v2(&all).event, raw(SocketEvent::Listening));
    assert_eq!(next_v2(&all).event, raw(SocketEvent::Accepted));
    assert_eq!(next_v2(&accepted_only).event, raw(SocketEvent::Accepted));
    accepted_only.set_rcvtimeo(200).unwrap();
    assert!(
        matches!(accepted_only.recv_multipart(0), Err(Error::WouldBlock | Error::TimedOut)),
        "only ACCEPTED"
    );
}

#[test]
fn a_push_monitor_deals_events_to_its_readers_in_turn() {
    let ctx = Context::new();
    let s = socket(&ctx, DEALER);
    s.monitor_versioned("inproc://v2-push", EVENT_ALL as u64, 2, PUSH).unwrap();
    let readers = [reader(&ctx, PULL, "inproc://v2-push"), reader(&ctx, PULL, "inproc://v2-push")];
    // Four LISTENING events, two to each reader, none twice.
    let mut eps = Vec::new();
    for _ in 0..4 {
        s.bind("tcp://127.0.0.1:*").unwrap();
        eps.push(s.get_last_endpoint().unwrap());
    }
    let mut got: Vec<String> = Vec::new();
    for r in &readers {
        for _ in 0..2 {
            let e = next_v2(r);
            assert_eq!(e.event, raw(SocketEvent::Listening));
            got.push(e.local);
        }
        r.set_rcvtimeo(200).unwrap();
        assert!(matches!(r.recv_multipart(0), Err(Error::WouldBlock | Error::TimedOut)), "two events each");
    }
    got.sort();
    eps.sort();
    assert_eq!(got, eps);
}

#[test]
fn version_1_through_the_versioned_call_is_the_classic_format() {
    let ctx = Context::new();
    let s = socket(&ctx, PULL);
    s.monitor_versioned("inproc://v1-versioned", EVENT_ALL as u64, 1, PAIR).unwrap();
    let r = reader(&ctx, PAIR, "inproc://v1-versioned");
    s.bind("tcp://127.0.0.1:*").unwrap();
    let e = MonitorEvent::parse(&r.recv_multipart(0).unwrap()).unwrap();
    assert_eq!((e.event, e.endpoint), (SocketEvent::Listening, s.get_last_endpoint().unwrap()));
}

#[test]
fn bad_versions_types_and_endpoints_fail_as_in_libzmq() {
    let ctx = Context::new();
    let s = socket(&ctx, DEALER);
    let einval = |r: libsock::Result<()>| assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    einval(s.monitor_versioned("inproc://x", 0, 2, DEALER));
    einval(s.monitor_versioned("inproc://x", EVENT_PIPES_STATS, 1, PAIR));
    einval(s.monitor_versioned("inproc://x", 0, 3, PAIR));
    let r = s.monitor_versioned("tcp://127.0.0.1:*", 0, 2, PAIR);
    assert!(matches!(r, Err(Error::ProtocolNotSupported(_))), "{r:?}");
    // Stats need a monitor that takes them, then at least one pipe.
    einval(s.monitor_pipes_stats());
    s.monitor_versioned("inproc://stats", EVENT_PIPES_STATS, 2, PAIR).unwrap();
    assert!(matches!(s.monitor_pipes_stats(), Err(Error::WouldBlock)));
}

#[test]
fn pipes_stats_count_what_waits_each_way() {
    let ctx = Context::new();
    let (a, b) = (socket(&ctx, DEALER), socket(&ctx, DEALER));
    a.monitor_versioned("inproc://stats-a", EVENT_PIPES_STATS, 2, PAIR).unwrap();
    let mon = reader(&ctx, PAIR, "inproc://stats-a");
    a.bind("tcp://127.0.0.1:*").unwrap();
    let ep = a.get_last_endpoint().unwrap();
    b.connect(&ep).unwrap();
    // b's 7 messages wait in a's inbound queue; nothing waits outbound once b has taken a's 3.
    for _ in 0..7 {
        b.send("in", 0).unwrap();
    }
    for _ in 0..3 {
        a.send("out", 0).unwrap();
    }
    for _ in 0..3 {
        b.recv_msg(0).unwrap();
    }
    std::thread::sleep(common::ms(200));
    a.monitor_pipes_stats().unwrap();
    let e = next_v2(&mon);
    assert_eq!(e.event, EVENT_PIPES_STATS);
    assert_eq!(e.values, [0, 7]);
    assert_eq!(e.local, ep);
    assert!(e.remote.starts_with("tcp://127.0.0.1:") && e.remote != ep, "{e:?}");
}
