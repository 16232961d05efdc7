//! HELLO_MSG and DISCONNECT_MSG on CLIENT/SERVER (feature `draft`), between libsock sockets
//! over tcp, ipc and inproc (connect before bind too), as libzmq 4.3.4 does them: CLIENT
//! and SERVER send their hello first on every new pipe; a SERVER receives its disconnect
//! message, stamped with the leaving peer's routing id, from the peers it accepted (tcp,
//! ipc) or that connected to it (inproc), never from peers it connected to itself.

mod common;

use std::collections::HashMap;

use common::{scratch_endpoint, socket, TRANSPORTS};
use libsock::{Context, Error, Message, Socket, SocketEvent, CLIENT, EVENT_ALL, SERVER};

/// Receives one message and checks its body.
fn expect(s: &Socket, body: &str, why: &str) -> Message {
    let msg = s.recv_msg(0).unwrap_or_else(|e| panic!("{why}: waiting for {body:?}: {e}"));
    assert_eq!(msg.as_str(), Some(body), "{why}");
    msg
}

/// Nothing arrives within a short while.
fn expect_nothing(s: &Socket, why: &str) {
    s.set_rcvtimeo(300).unwrap();
    match s.recv_msg(0) {
        Err(Error::TimedOut) => {}
        other => panic!("{why}: expected nothing, got {other:?}"),
    }
    s.set_rcvtimeo(5000).unwrap();
}

fn server_with(ctx: &Context, hello: &[u8], disconnect: &[u8]) -> Socket {
    let server = socket(ctx, SERVER);
    server.set_hello_msg(hello).unwrap();
    server.set_disconnect_msg(disconnect).unwrap();
    server
}

fn client_with_hello(ctx: &Context, hello: &[u8]) -> Socket {
    let client = socket(ctx, CLIENT);
    client.set_hello_msg(hello).unwrap();
    client
}

/// The server answers a message by the routing id it carries: the id on a hello is a
/// usable one, the peer's.
fn answer(server: &Socket, to: &Message, body: &str) {
    let mut reply = Message::from(body);
    reply.set_routing_id(to.routing_id()).unwrap();
    server.send(reply, 0).unwrap();
}

#[test]
fn client_and_server_greet_each_new_peer_first() {
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let server = server_with(&ctx, b"W", b"");
        server.bind(&scratch_endpoint(transport)).unwrap();
        let ep = server.get_last_endpoint().unwrap();
        let clients: Vec<_> = (0..2).map(|i| client_with_hello(&ctx, format!("H{i}").as_bytes())).collect();
        for c in &clients {
            c.connect(&ep).unwrap();
            c.send("request", 0).unwrap();
        }
        for c in &clients {
            expect(c, "W", transport);
        }
        // The server fair-queues its peers: per peer, the hello comes before what it sent.
        let mut by_peer: HashMap<u32, Vec<String>> = HashMap::new();
        for _ in 0..4 {
            let msg = server.recv_msg(0).unwrap();
            assert_ne!(msg.routing_id(), 0, "{transport}");
            by_peer.entry(msg.routing_id()).or_default().push(msg.as_str().unwrap().to_owned());
        }
        assert_eq!(by_peer.len(), 2, "{transport}");
        let mut ids = [0; 2];
        for (id, got) in &by_peer {
            let i = if got[0] == "H0" { 0 } else { 1 };
            assert_eq!(got, &[format!("H{i}"), "request".to_owned()], "{transport}");
            ids[i] = *id;
            let mut reply = Message::from(format!("to {i}"));
            reply.set_routing_id(*id).unwrap();
            server.send(reply, 0).unwrap();
        }
        assert_ne!(ids[0], ids[1], "{transport}");
        for (i, c) in clients.iter().enumerate() {
            expect(c, &format!("to {i}"), transport);
        }
    }
}

#[test]
fn hellos_cross_when_the_client_connects_before_the_inproc_bind() {
    // libzmq's test_hello_msg test_inproc_late_bind, plus the order behind the hellos.
    let ctx = Context::new();
    let server = server_with(&ctx, b"W", b"");
    let client = client_with_hello(&ctx, b"H");
    client.connect("inproc://late-hello").unwrap();
    client.send("queued before the bind", 0).unwrap();
    server.bind("inproc://late-hello").unwrap();
    expect(&client, "W", "late bind");
    let hello = expect(&server, "H", "late bind");
    let queued = expect(&server, "queued before the bind", "late bind");
    assert_eq!(hello.routing_id(), queued.routing_id());
    answer(&server, &hello, "welcome");
    expect(&client, "welcome", "late bind");
}

#[test]
fn server_hears_its_disconnect_msg_when_a_client_closes() {
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let server = server_with(&ctx, b"", b"D");
        server.bind(&scratch_endpoint(transport)).unwrap();
        let ep = server.get_last_endpoint().unwrap();
        let stays = client_with_hello(&ctx, b"H-stays");
        stays.connect(&ep).unwrap();
        let stays_id = expect(&server, "H-stays", transport).routing_id();
        let leaves = client_with_hello(&ctx, b"H-leaves");
        leaves.connect(&ep).unwrap();
        let leaves_id = expect(&server, "H-leaves", transport).routing_id();
        leaves.send("last words", 0).unwrap();
        assert_eq!(expect(&server, "last words", transport).routing_id(), leaves_id);
        drop(leaves);
        // After the peer's last message, with the peer's routing id.
        assert_eq!(expect(&server, "D", transport).routing_id(), leaves_id, "{transport}");
        expect_nothing(&server, transport);
        // The other peer is still there, and the leaver's id now names no one.
        let mut gone = Message::from("anyone?");
        gone.set_routing_id(leaves_id).unwrap();
        assert!(matches!(server.send(gone, 0), Err(Error::HostUnreachable)), "{transport}");
        let mut still = Message::from("still here");
        still.set_routing_id(stays_id).unwrap();
        server.send(still, 0).unwrap();
        expect(&stays, "still here", transport);
    }
}

#[test]
fn inproc_disconnect_sends_the_servers_disconnect_msg() {
    // libzmq's test_disconnect_msg test_inproc_disconnect, and the same after a late bind.
    for late in [false, true] {
        let ctx = Context::new();
        let server = server_with(&ctx, b"", b"D");
        let client = client_with_hello(&ctx, b"H");
        let ep = format!("inproc://disconnect-msg-{late}");
        if !late {
            server.bind(&ep).unwrap();
        }
        client.connect(&ep).unwrap();
        if late {
            server.bind(&ep).unwrap();
        }
        let id = expect(&server, "H", &ep).routing_id();
        client.disconnect(&ep).unwrap();
        assert_eq!(expect(&server, "D", &ep).routing_id(), id, "{ep}");
        expect_nothing(&server, &ep);
    }
}

#[test]
fn no_disconnect_msg_from_peers_the_server_connected_to() {
    // libzmq sends it only on the accepting side (session_base.cpp: `!_active`), and over
    // inproc only when the binder has it set.
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let client = client_with_hello(&ctx, b"H");
        client.bind(&scratch_endpoint(transport)).unwrap();
        let server = server_with(&ctx, b"", b"D");
        server.connect(&client.get_last_endpoint().unwrap()).unwrap();
        expect(&server, "H", transport);
        drop(client);
        expect_nothing(&server, transport);
    }
}

#[test]
fn empty_options_send_nothing() {
    for transport in TRANSPORTS {
        let ctx = Context::new();
        let server = server_with(&ctx, b"W", b"D");
        server.set_hello_msg(b"").unwrap();
        server.set_disconnect_msg(b"").unwrap();
        server.bind(&scratch_endpoint(transport)).unwrap();
        let client = socket(&ctx, CLIENT);
        client.connect(&server.get_last_endpoint().unwrap()).unwrap();
        client.send("first", 0).unwrap();
        expect(&server, "first", transport);
        drop(client);
        expect_nothing(&server, transport);
    }
}

#[test]
fn a_reconnected_client_greets_the_new_server_first() {
    // libzmq's hello_msg_session_t sends the hello again on every new connection of a
    // session, ahead of what waited in the pipe meanwhile.
    for transport in ["tcp", "ipc"] {
        let ctx = Context::new();
        let first = server_with(&ctx, b"", b"");
        first.bind(&scratch_endpoint(transport)).unwrap();
        let ep = first.get_last_endpoint().unwrap();
        let client = client_with_hello(&ctx, b"H");
        client.set_reconnect_ivl(20).unwrap();
        let events = client.monitor_events(EVENT_ALL).unwrap();
        client.connect(&ep).unwrap();
        expect(&first, "H", transport);
        drop(first);
        // Queued once the client knows the server is gone (before, it could go out on the
        // dying connection and be lost with it).
        while events.recv_event(5000).unwrap().event != SocketEvent::Disconnected {}
        client.send("waited", 0).unwrap();
        let second = server_with(&ctx, b"", b"");
        // The first server's listener closes on its I/O thread, a moment after the drop.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while let Err(e) = second.bind(&ep) {
            assert!(std::time::Instant::now() < deadline, "{transport}: rebinding {ep}: {e}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        expect(&second, "H", transport);
        expect(&second, "waited", transport);
        expect_nothing(&second, transport);
    }
}
