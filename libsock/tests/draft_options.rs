//! libzmq 4.3's draft socket options that libsock accepts: METADATA, HELLO_MSG,
//! DISCONNECT_MSG, PRIORITY, IN/OUT_BATCH_SIZE, LOOPBACK_FASTPATH. The wire-visible ones are checked against
//! libzmq peers (which need no draft support to receive them).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{init_logging, socket};
use libsock::codec::command;
use libsock::codec::greeting::Greeting;
use libsock::{Context, OptionValue, DEALER, PUSH, ROUTER};

fn zsock(z: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = z.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(5000).unwrap();
    s.set_sndtimeo(5000).unwrap();
    s
}

#[test]
fn hello_msg_is_the_first_message_a_libzmq_router_gets() {
    init_logging();
    let ctx = Context::new();
    let z = zmq::Context::new();
    let router = zsock(&z, zmq::ROUTER);
    router.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = socket(&ctx, DEALER);
    dealer.set_routing_id(b"d1").unwrap();
    dealer.set_option_raw(110, OptionValue::Bytes(b"hello".to_vec())).unwrap();
    dealer.connect(&router.get_last_endpoint().unwrap().unwrap()).unwrap();
    dealer.send("work", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), [b"d1".to_vec(), b"hello".to_vec()]);
    assert_eq!(router.recv_multipart(0).unwrap(), [b"d1".to_vec(), b"work".to_vec()]);
}

#[test]
fn hello_msg_goes_first_again_after_a_reconnect_to_a_new_libzmq_router() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let first = zsock(&z, zmq::ROUTER);
    first.bind("tcp://127.0.0.1:*").unwrap();
    let ep = first.get_last_endpoint().unwrap().unwrap();
    let dealer = socket(&ctx, DEALER);
    dealer.set_routing_id(b"d1").unwrap();
    dealer.set_hello_msg(b"hello").unwrap();
    dealer.set_reconnect_ivl(20).unwrap();
    let events = dealer.monitor_events(libsock::EVENT_ALL).unwrap();
    dealer.connect(&ep).unwrap();
    assert_eq!(first.recv_multipart(0).unwrap(), [b"d1".to_vec(), b"hello".to_vec()]);
    drop(first);
    // Queued once the dealer knows the router is gone: it waits in the pipe.
    while events.recv_event(5000).unwrap().event != libsock::SocketEvent::Disconnected {}
    dealer.send("waited", 0).unwrap();
    let second = zsock(&z, zmq::ROUTER);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while let Err(e) = second.bind(&ep) {
        assert!(std::time::Instant::now() < deadline, "rebinding {ep}: {e}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(second.recv_multipart(0).unwrap(), [b"d1".to_vec(), b"hello".to_vec()]);
    assert_eq!(second.recv_multipart(0).unwrap(), [b"d1".to_vec(), b"waited".to_vec()]);
}

#[test]
fn hello_msg_from_a_router_reaches_each_libzmq_dealer() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let router = socket(&ctx, ROUTER);
    router.set_hello_msg(b"welcome").unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.get_last_endpoint().unwrap();
    let dealers: Vec<_> = (0..2).map(|_| zsock(&z, zmq::DEALER)).collect();
    for d in &dealers {
        d.connect(&ep).unwrap();
    }
    for d in &dealers {
        assert_eq!(d.recv_bytes(0).unwrap(), b"welcome");
    }
    // Over inproc too (libzmq sends it on every new pipe).
    let inproc = socket(&ctx, DEALER);
    router.bind("inproc://hello").unwrap();
    inproc.connect("inproc://hello").unwrap();
    assert_eq!(inproc.recv_bytes(0).unwrap(), b"welcome");
}

#[test]
fn disconnect_msg_arrives_after_an_accepted_libzmq_peer_leaves() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let router = socket(&ctx, ROUTER);
    router.set_option_raw(111, OptionValue::Bytes(b"gone".to_vec())).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = zsock(&z, zmq::DEALER);
    dealer.set_identity(b"z1").unwrap();
    dealer.connect(&router.get_last_endpoint().unwrap()).unwrap();
    dealer.send("last words", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), [b"z1".to_vec(), b"last words".to_vec()]);
    drop(dealer);
    assert_eq!(router.recv_multipart(0).unwrap(), [b"z1".to_vec(), b"gone".to_vec()]);
}

#[test]
fn disconnect_msg_arrives_when_an_inproc_peer_closes_or_disconnects() {
    // libzmq writes the binder's DISCONNECT_MSG on the connector's pipe end when the
    // connector closes (socket_base.cpp process_term) or disconnects (inprocs_t::erase_pipes).
    let ctx = Context::new();
    let router = socket(&ctx, ROUTER);
    router.set_disconnect_msg(b"gone").unwrap();
    router.bind("inproc://farewell").unwrap();
    for (name, close) in [(&b"closes"[..], true), (b"disconnects", false)] {
        let dealer = socket(&ctx, DEALER);
        dealer.set_routing_id(name).unwrap();
        dealer.connect("inproc://farewell").unwrap();
        dealer.send("last words", 0).unwrap();
        assert_eq!(router.recv_multipart(0).unwrap(), [name.to_vec(), b"last words".to_vec()]);
        match close {
            true => drop(dealer),
            false => dealer.disconnect("inproc://farewell").unwrap(),
        }
        assert_eq!(router.recv_multipart(0).unwrap(), [name.to_vec(), b"gone".to_vec()]);
    }
    // Once per pipe: nothing more.
    router.set_rcvtimeo(300).unwrap();
    assert!(matches!(router.recv_msg(0), Err(libsock::Error::TimedOut)));
}

#[test]
fn draft_options_store_with_libzmq_defaults_and_ranges() {
    let ctx = Context::new();
    let s = socket(&ctx, DEALER);
    let int = |raw| s.get_option_raw(raw).unwrap();
    // libzmq 4.3.4 options.cpp defaults.
    assert_eq!(int(94), OptionValue::Int(0), "LOOPBACK_FASTPATH");
    assert_eq!(int(101), OptionValue::Int(8192), "IN_BATCH_SIZE");
    assert_eq!(int(102), OptionValue::Int(8192), "OUT_BATCH_SIZE");
    assert_eq!(int(112), OptionValue::Int(0), "PRIORITY");
    // Accepted on Linux as libzmq does (it only acts on Windows).
    s.set_option_raw(94, OptionValue::Int(1)).unwrap();
    // Batch sizes must be positive, PRIORITY non-negative.
    for (raw, bad) in [(101, 0), (102, -1), (112, -1)] {
        let err = s.set_option_raw(raw, OptionValue::Int(bad)).unwrap_err();
        assert_eq!(err.to_raw(), 22, "option {raw} = {bad}");
    }
    s.set_priority(3).unwrap();
    assert_eq!(s.get_priority().unwrap(), 3);
    // An empty HELLO_MSG / DISCONNECT_MSG switches it off again.
    s.set_hello_msg(b"x").unwrap();
    s.set_hello_msg(b"").unwrap();
    assert!(s.get_hello_msg().unwrap().is_empty());
}

#[test]
fn metadata_goes_into_ready_exactly_as_libzmq_encodes_it() {
    let ctx = Context::new();
    let push = socket(&ctx, PUSH);
    push.set_option_raw(95, OptionValue::Bytes(b"X-Colour:blue".to_vec())).unwrap();
    push.set_metadata(b"X-Colour:red").unwrap(); // a name set twice keeps its first value
    push.set_metadata(b"X-Url:tcp://a:1").unwrap(); // the value may hold colons
    for bad in [&b"Colour:blue"[..], b"X-Colour", b"X-Colour:", b":x"] {
        assert_eq!(push.set_metadata(bad).unwrap_err().to_raw(), 22);
    }
    assert_eq!(push.get_option_raw(95).unwrap_err().to_raw(), 22, "write-only, as in libzmq");
    push.bind("tcp://127.0.0.1:*").unwrap();
    let addr = push.get_last_endpoint().unwrap().trim_start_matches("tcp://").to_string();
    let mut peer = TcpStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut ours = Vec::new();
    Greeting::ours().encode(&mut ours);
    command::encode_ready(&mut ours, &[("Socket-Type", b"PULL")]);
    peer.write_all(&ours).unwrap();
    // libzmq's READY: Socket-Type, (Identity,) then the application metadata.
    let mut want = Vec::new();
    Greeting::ours().encode(&mut want);
    command::encode_ready(
        &mut want,
        &[("Socket-Type", b"PUSH"), ("X-Colour", b"blue"), ("X-Url", b"tcp://a:1")],
    );
    let mut got = vec![0; want.len()];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(got, want);
}

#[test]
fn metadata_is_readable_on_a_libzmq_peers_messages() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let router = zsock(&z, zmq::ROUTER);
    router.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = socket(&ctx, DEALER);
    dealer.set_metadata(b"X-Colour:blue").unwrap();
    dealer.connect(&router.get_last_endpoint().unwrap().unwrap()).unwrap();
    dealer.send("hi", 0).unwrap();
    let _id = router.recv_msg(0).unwrap();
    let mut body = router.recv_msg(0).unwrap();
    assert_eq!(&body[..], b"hi");
    assert_eq!(body.gets("X-Colour"), Some("blue"));
}

#[test]
fn metadata_between_libsock_sockets_over_null_and_ipc() {
    let ctx = Context::new();
    let dir = tempfile::tempdir().unwrap();
    let router = socket(&ctx, ROUTER);
    router.set_metadata(b"X-Role:server").unwrap();
    router.bind(&format!("ipc://{}/meta.ipc", dir.path().display())).unwrap();
    let dealer = socket(&ctx, DEALER);
    dealer.set_metadata(b"X-Role:client").unwrap();
    dealer.connect(&router.get_last_endpoint().unwrap()).unwrap();
    dealer.send("ping", 0).unwrap();
    let id = router.recv_msg(0).unwrap();
    let body = router.recv_msg(0).unwrap();
    assert_eq!(body.gets("X-Role"), Some("client"));
    assert_eq!(body.gets("Socket-Type"), Some("DEALER"));
    router.send(id, libsock::SNDMORE).unwrap();
    router.send("pong", 0).unwrap();
    assert_eq!(dealer.recv_msg(0).unwrap().gets("X-Role"), Some("server"));
}
