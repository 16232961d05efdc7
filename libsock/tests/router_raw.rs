//! ROUTER_RAW (libzmq 4.3's deprecated form of STREAM): a ROUTER that talks plain tcp, as
//! `zmq_setsockopt(3)` describes it, against plain tcp peers.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use common::{ms, socket};
use libsock::{Context, Error, OptionValue, Socket, DEALER, ROUTER, SNDMORE};

const ROUTER_RAW: i32 = 41;

/// Receives `[id, data]`.
fn recv2(s: &Socket) -> (Vec<u8>, Vec<u8>) {
    let parts = s.recv_multipart(0).unwrap();
    assert_eq!(parts.len(), 2, "raw messages are [id, data]: {parts:?}");
    (parts[0].clone(), parts[1].clone())
}

fn send2(s: &Socket, id: &[u8], data: &[u8]) -> libsock::Result<()> {
    s.send(id, SNDMORE)?;
    s.send(data, 0)
}

fn raw_router(ctx: &Context) -> Socket {
    let router = socket(ctx, ROUTER);
    // By number, as a C program sets it.
    router.set_option_raw(ROUTER_RAW, OptionValue::Int(1)).unwrap();
    router.set_rcvtimeo(5000).unwrap();
    router
}

#[test]
fn a_raw_router_serves_plain_tcp_clients() {
    let ctx = Context::new();
    let router = raw_router(&ctx);
    router.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = router.get_last_endpoint().unwrap();
    let mut client = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    client.set_read_timeout(Some(ms(5000))).unwrap();

    let (id, data) = recv2(&router);
    assert!(data.is_empty(), "a connect is announced as [id, empty]");
    assert_eq!((id.len(), id[0]), (5, 0), "integral 5-byte routing ids, as libzmq gives raw peers");

    // No ZMTP greeting: the client's bytes arrive as they are.
    client.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut got = Vec::new();
    while got.len() < 18 {
        let (from, data) = recv2(&router);
        assert_eq!(from, id);
        got.extend(data);
    }
    assert_eq!(got, b"GET / HTTP/1.0\r\n\r\n");

    // SNDMORE on a data frame means nothing; an empty frame closes the connection.
    router.send(&id[..], SNDMORE).unwrap();
    router.send("HTTP/1.0 200 OK\r\n\r\nhi", SNDMORE).unwrap();
    send2(&router, &id, b"").unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"HTTP/1.0 200 OK\r\n\r\nhi", "no framing, then the close");
}

#[test]
fn a_raw_router_connects_to_a_plain_tcp_server() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let router = raw_router(&ctx);
    router.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(ms(5000))).unwrap();

    let (id, data) = recv2(&router);
    assert!(data.is_empty(), "the connection is announced as [id, empty]");
    send2(&router, &id, b"ping").unwrap();
    let mut buf = [0u8; 4];
    peer.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    peer.write_all(b"pong").unwrap();
    let (from, data) = recv2(&router);
    assert_eq!((from, data), (id.clone(), b"pong".to_vec()));

    drop(peer);
    let (from, data) = recv2(&router);
    assert_eq!(from, id);
    assert!(data.is_empty(), "the peer's close is announced as [id, empty]");
}

#[test]
fn a_raw_router_drops_messages_to_unknown_peers_unless_mandatory() {
    let ctx = Context::new();
    let router = raw_router(&ctx);
    router.bind("tcp://127.0.0.1:*").unwrap();
    // As any ROUTER (libzmq's router.cpp): dropped, the data frame with it.
    send2(&router, b"\0nobody", b"lost").unwrap();
    router.set_router_mandatory(true).unwrap();
    let e = router.send("\0nobody", SNDMORE).unwrap_err();
    assert!(matches!(e, Error::HostUnreachable), "{e}");
}

#[test]
fn router_raw_is_for_a_router_before_it_binds_or_connects() {
    let ctx = Context::new();
    let dealer = socket(&ctx, DEALER);
    let e = dealer.set_option_raw(ROUTER_RAW, OptionValue::Int(1)).unwrap_err();
    assert_eq!(e.to_raw(), 22, "{e} (EINVAL)");

    let router = socket(&ctx, ROUTER);
    router.set_option_raw(ROUTER_RAW, OptionValue::Int(0)).unwrap();
    assert!(router.set_option_raw(ROUTER_RAW, OptionValue::Int(-1)).is_err(), "libzmq: an int >= 0");
    assert_eq!(router.get_option_raw(ROUTER_RAW).unwrap_err().to_raw(), 22, "write-only");
    router.bind("tcp://127.0.0.1:*").unwrap();
    let e = router.set_router_raw(true).unwrap_err();
    assert_eq!(e.to_raw(), 22, "{e}");

    let raw = raw_router(&ctx);
    raw.set_router_raw(true).unwrap();
    assert!(raw.set_router_raw(false).is_err(), "a raw ROUTER stays raw");
    let e = raw.bind("inproc://raw-router").unwrap_err();
    assert!(matches!(e, Error::ProtocolNotSupported(_)), "raw sockets have no inproc: {e}");
}
