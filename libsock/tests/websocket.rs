//! `ws://` (ZWS 2.0, ZMTP over WebSocket) end to end: libsock with libsock, and libsock with
//! libzmq 4.3's own `ws://` transport (the `zmq` crate's build has it), both ways: the cases
//! of libzmq's `test_ws_transport.cpp` (round trips with and without a path, 255 and 65 536
//! byte messages, heartbeats as WebSocket pings, PUB/SUB subscriptions, DEALER pairs), PLAIN,
//! CURVE between libsock peers, a WebSocket client that is not libzmq's (Python's
//! `websockets`, as a browser would speak), and hostile bytes on a listener that keeps
//! serving.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use libsock::{Context, Socket, SocketType};

const TIMEOUT_MS: i32 = 10_000;

fn sock(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s
}

fn zsock(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s
}

/// The port of a bound endpoint (`ws://0.0.0.0:PORT/path`).
fn port_of(endpoint: &str) -> u16 {
    let after = endpoint.rsplit_once(':').unwrap().1;
    after.split('/').next().unwrap().parse().unwrap()
}

#[test]
fn libsock_req_rep_round_trip_with_and_without_a_path() {
    let ctx = Context::new();
    for (bind, path) in [("ws://127.0.0.1:*", "/"), ("ws://*:*/roundtrip", "/roundtrip")] {
        let rep = sock(&ctx, libsock::REP);
        rep.bind(bind).unwrap();
        let ep = rep.get_last_endpoint().unwrap();
        assert!(ep.starts_with("ws://") && ep.ends_with(path), "{ep}");
        let req = sock(&ctx, libsock::REQ);
        let to = format!("ws://127.0.0.1:{}{path}", port_of(&ep));
        req.connect(&to).unwrap();
        req.send_multipart(["bounce", "twice"], 0).unwrap();
        assert_eq!(rep.recv_multipart(0).unwrap(), [b"bounce".to_vec(), b"twice".to_vec()]);
        rep.send("back", 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), b"back");
        req.disconnect(&to).unwrap();
        rep.unbind(&ep).unwrap();
    }
}

#[test]
fn libzmq_client_and_libsock_server_both_ways_with_every_length_form() {
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    let short: Vec<u8> = (0..255).collect();
    let large: Vec<u8> = (0..65_536).map(|i| (i % 255) as u8).collect();
    // libzmq connects to libsock.
    let rep = sock(&ctx, libsock::REP);
    rep.bind("ws://127.0.0.1:*/roundtrip").unwrap();
    let req = zsock(&zctx, zmq::REQ);
    req.connect(&rep.get_last_endpoint().unwrap()).unwrap();
    for body in [&b"hello"[..], &short, &large] {
        req.send(body, 0).unwrap();
        assert_eq!(rep.recv_bytes(0).unwrap(), body);
        rep.send(body, 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), body);
    }
    // libsock connects to libzmq.
    let zrep = zsock(&zctx, zmq::REP);
    zrep.bind("ws://127.0.0.1:*").unwrap();
    let zep = zrep.get_last_endpoint().unwrap().unwrap();
    assert!(zep.ends_with('/'), "{zep}");
    let lreq = sock(&ctx, libsock::REQ);
    lreq.connect(&zep).unwrap();
    for body in [&b"hello"[..], &short, &large] {
        lreq.send_multipart([&b"two"[..], body], 0).unwrap();
        assert_eq!(zrep.recv_multipart(0).unwrap(), [b"two".to_vec(), body.to_vec()]);
        zrep.send(body, 0).unwrap();
        assert_eq!(lreq.recv_bytes(0).unwrap(), body);
    }
}

/// Frames over 64 KiB are read into their message's body as they arrive (the decoder passes
/// them through; `codec::ws::through`), on either side of the mask: from libzmq to libsock
/// and back, libsock to libsock, in multipart messages, beyond the pool's 8 MiB, with small
/// messages between them; a SUB (no direct read side) and a DEALER that waits.
#[test]
fn large_frames_are_read_into_their_bodies_whole_both_ways() {
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    let body =
        |size: usize, seed: usize| -> Vec<u8> { (0..size).map(|i| ((i * 7 + seed) % 253) as u8).collect() };
    let sizes = [65_537, 100_000, 1 << 20, 9 << 20];
    // libzmq PUB (a server: unmasked) to a libsock SUB (the I/O thread reads).
    let zpub = zsock(&zctx, zmq::PUB);
    zpub.bind("ws://127.0.0.1:*").unwrap();
    let sub = sock(&ctx, libsock::SUB);
    sub.set_subscribe(b"").unwrap();
    sub.connect(&zpub.get_last_endpoint().unwrap().unwrap()).unwrap();
    let probe = |s: &Socket| {
        s.set_rcvtimeo(100).unwrap();
        let got = s.recv_bytes(0).is_ok();
        s.set_rcvtimeo(TIMEOUT_MS).unwrap();
        got
    };
    while !probe(&sub) {
        zpub.send("probe", 0).unwrap();
    }
    while sub.recv_bytes(libsock::DONTWAIT).is_ok() {}
    for (n, &size) in sizes.iter().enumerate() {
        zpub.send_multipart([body(size, n), b"small".to_vec(), body(size, n + 1)], 0).unwrap();
        zpub.send("between", 0).unwrap();
    }
    for (n, &size) in sizes.iter().enumerate() {
        let got = sub.recv_multipart(0).unwrap();
        assert!(got == [body(size, n), b"small".to_vec(), body(size, n + 1)], "SUB, {size} bytes");
        assert_eq!(sub.recv_bytes(0).unwrap(), b"between");
    }
    // A libsock DEALER (a client: masked) to a libsock ROUTER and back, and a libzmq DEALER
    // (masked) to the same ROUTER.
    let router = sock(&ctx, libsock::ROUTER);
    router.bind("ws://127.0.0.1:*").unwrap();
    let endpoint = router.get_last_endpoint().unwrap();
    let dealer = sock(&ctx, libsock::DEALER);
    dealer.connect(&endpoint).unwrap();
    let zdealer = zsock(&zctx, zmq::DEALER);
    zdealer.connect(&endpoint).unwrap();
    for (n, &size) in sizes.iter().enumerate() {
        dealer.send(body(size, n), 0).unwrap();
        let got = router.recv_multipart(0).unwrap();
        assert!(got[1] == body(size, n), "libsock DEALER to ROUTER, {size} bytes");
        router.send_multipart([&got[0][..], &body(size, n + 2)[..]], 0).unwrap();
        assert!(dealer.recv_bytes(0).unwrap() == body(size, n + 2), "ROUTER to libsock DEALER, {size} bytes");
        zdealer.send_multipart([body(size, n + 3), b"tail".to_vec()], 0).unwrap();
        let got = router.recv_multipart(0).unwrap();
        assert!(got[1] == body(size, n + 3) && got[2] == b"tail", "libzmq DEALER to ROUTER, {size} bytes");
        router.send_multipart([&got[0][..], &body(size, n + 4)[..]], 0).unwrap();
        assert!(zdealer.recv_bytes(0).unwrap() == body(size, n + 4), "ROUTER to libzmq DEALER, {size} bytes");
    }
}

/// Replies and requests a thread sends after waiting go out from that thread (the direct
/// write side, as over tcp): framed and, on a client, masked there. libzmq checks what it
/// gets (masks, flags, lengths) both ways, and the order holds where direct messages and
/// queued ones (back to back, or over 8 KiB) meet.
#[test]
fn direct_sends_reach_libzmq_whole_and_in_order() {
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    let large = vec![0x6B; 20_000];
    // libsock DEALER (a client: masks) against a libzmq ROUTER.
    let router = zsock(&zctx, zmq::ROUTER);
    router.bind("ws://127.0.0.1:*").unwrap();
    let dealer = sock(&ctx, libsock::DEALER);
    dealer.connect(&router.get_last_endpoint().unwrap().unwrap()).unwrap();
    // libzmq DEALER against a libsock ROUTER (a server: no masks).
    let lrouter = sock(&ctx, libsock::ROUTER);
    lrouter.bind("ws://127.0.0.1:*").unwrap();
    let zdealer = zsock(&zctx, zmq::DEALER);
    zdealer.connect(&lrouter.get_last_endpoint().unwrap()).unwrap();
    dealer.send("hi", 0).unwrap();
    let dealer_id = router.recv_multipart(0).unwrap().remove(0);
    for round in 0..50u32 {
        let tag = round.to_be_bytes();
        // Told to go, the DEALER waits for it: then one message (direct), a burst behind it
        // (queued), a large one, a multipart.
        router.send_multipart([&dealer_id[..], b"go"], 0).unwrap();
        assert_eq!(dealer.recv_bytes(0).unwrap(), b"go");
        dealer.send(&tag[..], 0).unwrap();
        for i in 0..5u8 {
            dealer.send(&[tag[3], i][..], 0).unwrap();
        }
        dealer.send(&large[..], 0).unwrap();
        dealer.send_multipart([&b"a"[..], &tag[..]], 0).unwrap();
        let mut got = Vec::new();
        for _ in 0..8 {
            let mut m = router.recv_multipart(0).unwrap();
            m.remove(0);
            got.push(m);
        }
        let mut want = vec![vec![tag.to_vec()]];
        want.extend((0..5u8).map(|i| vec![vec![tag[3], i]]));
        want.push(vec![large.clone()]);
        want.push(vec![b"a".to_vec(), tag.to_vec()]);
        assert_eq!(got, want, "round {round}: libsock client to libzmq");
        // Answered from the thread that waited: direct from the libsock server.
        zdealer.send(&tag[..], 0).unwrap();
        let m = lrouter.recv_multipart(0).unwrap();
        let id = m[0].clone();
        lrouter.send_multipart([&id[..], b"re", &m[1]], 0).unwrap();
        lrouter.send_multipart([&id[..], &large[..]], 0).unwrap();
        assert_eq!(zdealer.recv_multipart(0).unwrap(), [b"re".to_vec(), tag.to_vec()], "round {round}");
        assert_eq!(zdealer.recv_bytes(0).unwrap(), large);
    }
}

/// libsock ends its links with a close frame (status 1000), which libzmq echoes before it
/// hangs up: a libzmq client of a libsock server that went away reconnects to the next one
/// on the port, and a libzmq server whose libsock client disconnected serves the next.
#[test]
fn libzmq_takes_our_close_frames_and_goes_on() {
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    let pull = sock(&ctx, libsock::PULL);
    pull.bind("ws://127.0.0.1:*/again").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let push = zsock(&zctx, zmq::PUSH);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    push.send("before", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"before");
    drop(pull);
    // The port is free once the listener is closed (by the I/O thread: retry a moment).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let pull = loop {
        let next = sock(&ctx, libsock::PULL);
        match next.bind(&ep) {
            Ok(()) => break next,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("cannot bind {ep} again: {e}"),
        }
    };
    push.send("after", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"after");

    let zpull = zsock(&zctx, zmq::PULL);
    zpull.bind("ws://127.0.0.1:*").unwrap();
    let zep = zpull.get_last_endpoint().unwrap().unwrap();
    for n in 0..3 {
        let lpush = sock(&ctx, libsock::PUSH);
        lpush.connect(&zep).unwrap();
        lpush.send(format!("client {n}").as_str(), 0).unwrap();
        assert_eq!(zpull.recv_bytes(0).unwrap(), format!("client {n}").as_bytes());
        lpush.disconnect(&zep).unwrap();
    }
}

/// libzmq's client pings every 10 ms and gives up on a link silent for as long: libsock must
/// answer its WebSocket pings (and libsock's own heartbeats reach libzmq as pings it answers).
#[test]
fn heartbeats_are_websocket_pings_both_ways() {
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    let rep = sock(&ctx, libsock::REP);
    rep.bind("ws://127.0.0.1:*/heartbeat").unwrap();
    let req = zsock(&zctx, zmq::REQ);
    req.set_heartbeat_ivl(10).unwrap();
    req.set_reconnect_ivl(-1).unwrap();
    req.connect(&rep.get_last_endpoint().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    req.send("still there", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"still there");
    rep.send("yes", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"yes");

    // libsock pings libzmq: with a 50 ms timeout the link lives only if libzmq answers.
    let zrep = zsock(&zctx, zmq::REP);
    zrep.bind("ws://127.0.0.1:*").unwrap();
    let lreq = sock(&ctx, libsock::REQ);
    lreq.set_heartbeat_ivl(20).unwrap();
    lreq.set_heartbeat_timeout(50).unwrap();
    lreq.set_reconnect_ivl(-1).unwrap();
    let mon = lreq.monitor_events(libsock::EVENT_ALL).unwrap();
    lreq.connect(&zrep.get_last_endpoint().unwrap().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    while let Ok(ev) = mon.recv_event(1) {
        assert_ne!(ev.event, libsock::SocketEvent::Disconnected, "the link was dropped for want of pongs");
    }
    lreq.send("ping?", 0).unwrap();
    assert_eq!(zrep.recv_bytes(0).unwrap(), b"ping?");
}

/// Subscriptions cross as ZMTP 3.0's messages (`0x01` + topic), both ways.
#[test]
fn subscriptions_reach_publishers_both_ways() {
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    // libzmq subscribes to a libsock XPUB (libzmq's test_pub_sub).
    let xpub = sock(&ctx, libsock::XPUB);
    xpub.bind("ws://127.0.0.1:*").unwrap();
    let sub = zsock(&zctx, zmq::SUB);
    sub.set_subscribe(b"A").unwrap();
    sub.set_subscribe(b"B").unwrap();
    sub.connect(&xpub.get_last_endpoint().unwrap()).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01A");
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01B");
    xpub.send("A", 0).unwrap();
    xpub.send("C", 0).unwrap();
    xpub.send("B", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"A");
    assert_eq!(sub.recv_bytes(0).unwrap(), b"B");
    // libsock subscribes to a libzmq XPUB, and cancels.
    let zxpub = zsock(&zctx, zmq::XPUB);
    zxpub.bind("ws://127.0.0.1:*").unwrap();
    let lsub = sock(&ctx, libsock::SUB);
    lsub.set_subscribe(b"topic").unwrap();
    lsub.connect(&zxpub.get_last_endpoint().unwrap().unwrap()).unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x01topic");
    zxpub.send("topic 1", 0).unwrap();
    zxpub.send("other", 0).unwrap();
    assert_eq!(lsub.recv_bytes(0).unwrap(), b"topic 1");
    lsub.set_unsubscribe(b"topic").unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x00topic");
}

/// libzmq's test_mask_shared_msg: a DEALER client (the masking side) sends a message shared
/// with a copy it keeps, and one of constant data; the other side reads them unmasked.
#[test]
fn masked_frames_leave_the_senders_messages_alone() {
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    let server = zsock(&zctx, zmq::DEALER);
    server.bind("ws://127.0.0.1:*/mask-shared").unwrap();
    let client = sock(&ctx, libsock::DEALER);
    client.connect(&server.get_last_endpoint().unwrap().unwrap()).unwrap();
    let body: Vec<u8> = (0..255).collect();
    let msg = libsock::Message::from(body.clone());
    let kept = msg.clone();
    client.send(msg, 0).unwrap();
    assert_eq!(server.recv_bytes(0).unwrap(), body);
    assert_eq!(&kept[..], &body[..], "the copy the sender kept is not masked");
    client.send(&b"HELLO"[..], 0).unwrap();
    assert_eq!(server.recv_bytes(0).unwrap(), b"HELLO");
    server.send("back", 0).unwrap();
    assert_eq!(client.recv_bytes(0).unwrap(), b"back");
}

#[test]
fn plain_over_websocket_with_libzmq_both_ways() {
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    // libsock PLAIN server (its own ZAP handler) and a libzmq client.
    let auth = libsock::Authenticator::start(&ctx).unwrap();
    auth.set_plain_users([("admin", "secret")]);
    let pull = sock(&ctx, libsock::PULL);
    pull.set_plain_server(true).unwrap();
    pull.bind("ws://127.0.0.1:*").unwrap();
    let push = zsock(&zctx, zmq::PUSH);
    push.set_plain_username(Some("admin")).unwrap();
    push.set_plain_password(Some("secret")).unwrap();
    push.connect(&pull.get_last_endpoint().unwrap()).unwrap();
    push.send("over plain", 0).unwrap();
    let msg = pull.recv_msg(0).unwrap();
    assert_eq!((&msg[..], msg.gets("User-Id")), (&b"over plain"[..], Some("admin")));
    // A wrong password: refused.
    let bad = zsock(&zctx, zmq::PUSH);
    bad.set_plain_username(Some("admin")).unwrap();
    bad.set_plain_password(Some("wrong")).unwrap();
    bad.connect(&pull.get_last_endpoint().unwrap()).unwrap();
    bad.send("nope", 0).unwrap();
    pull.set_rcvtimeo(500).unwrap();
    assert!(pull.recv_bytes(0).is_err());
    // A libsock PLAIN client of a libzmq server, whose own ZAP handler admits it.
    let zap = zsock(&zctx, zmq::REP);
    zap.bind("inproc://zeromq.zap.01").unwrap();
    let handler = std::thread::spawn(move || {
        let req = zap.recv_multipart(0).unwrap();
        assert_eq!(req[5], b"PLAIN");
        let ok = req[6] == b"alice" && req[7] == b"pw";
        let status: &[u8] = if ok { b"200" } else { b"400" };
        zap.send_multipart([&b"1.0"[..], &req[1], status, b"", b"alice", b""], 0).unwrap();
    });
    let zpull = zsock(&zctx, zmq::PULL);
    zpull.set_plain_server(true).unwrap();
    zpull.bind("ws://127.0.0.1:*").unwrap();
    let lpush = sock(&ctx, libsock::PUSH);
    lpush.set_plain_username(b"alice").unwrap();
    lpush.set_plain_password(b"pw").unwrap();
    lpush.connect(&zpull.get_last_endpoint().unwrap().unwrap()).unwrap();
    lpush.send("to libzmq", 0).unwrap();
    assert_eq!(zpull.recv_bytes(0).unwrap(), b"to libzmq");
    handler.join().unwrap();
}

/// CURVE between libsock peers (against libzmq: `tests/libzmq-draft/tests/curve_ws.rs`, the
/// one libzmq build here with both CURVE and ws): MESSAGE commands go
/// out flagged 0x00, as libzmq sends them, and are read back as commands.
#[test]
fn curve_over_websocket_between_libsock_peers() {
    let ctx = Context::new();
    let (server_public, server_secret) = libsock::curve_keypair();
    let (client_public, client_secret) = libsock::curve_keypair();
    let rep = sock(&ctx, libsock::REP);
    rep.set_curve_server(true).unwrap();
    rep.set_curve_secretkey(server_secret.as_bytes()).unwrap();
    rep.bind("ws://127.0.0.1:*/roundtrip").unwrap();
    let req = sock(&ctx, libsock::REQ);
    req.set_curve_serverkey(server_public.as_bytes()).unwrap();
    req.set_curve_publickey(client_public.as_bytes()).unwrap();
    req.set_curve_secretkey(client_secret.as_bytes()).unwrap();
    req.connect(&rep.get_last_endpoint().unwrap()).unwrap();
    let large = vec![7u8; 100_000];
    req.send_multipart([&b"head"[..], &large], 0).unwrap();
    assert_eq!(rep.recv_multipart(0).unwrap(), [b"head".to_vec(), large.clone()]);
    rep.send("sealed", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"sealed");
}

/// Garbage, a plain HTTP request, an unmasked frame from a client: each of those
/// connections is dropped, and a real client is still served.
#[test]
fn hostile_bytes_drop_only_their_connection() {
    let ctx = Context::new();
    let pull = sock(&ctx, libsock::PULL);
    pull.set_maxmsgsize(1000).unwrap();
    pull.bind("ws://127.0.0.1:*").unwrap();
    let port = port_of(&pull.get_last_endpoint().unwrap());
    let upgrade = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ZWS2.0/NULL\r\n\
                   Sec-WebSocket-Version: 13\r\n\r\n";
    let tries: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", vec![0xFF; 20_000]),
        ("plain HTTP", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("no upgrade", b"POST /x HTTP/1.0\r\n\r\n".to_vec()),
        ("an unmasked frame", [upgrade.as_bytes(), &[0x82, 2, 0, b'x']].concat()),
        ("a text frame", [upgrade.as_bytes(), &[0x81, 0x82, 0, 0, 0, 0, 0, b'x']].concat()),
        ("a huge frame", [upgrade.as_bytes(), &[0x82, 0xFF], &u64::MAX.to_be_bytes()].concat()),
        ("over MAXMSGSIZE", [upgrade.as_bytes(), &[0x82, 0xFE, 0x10, 0, 1, 2, 3, 4]].concat()),
    ];
    for (what, bytes) in tries {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(&bytes);
        let mut got = Vec::new();
        // Closed by the listener (what it said before, if anything, is read first).
        let _ = s.read_to_end(&mut got);
        let said = String::from_utf8_lossy(&got);
        assert!(
            !said.contains("101") || what.contains("frame") || what.contains("MAXMSGSIZE"),
            "{what}: {said}"
        );
        if what == "plain HTTP" || what == "no upgrade" {
            assert!(said.starts_with("HTTP/1.1 400"), "{what}: {said}");
        }
        // A bad frame after the upgrade: a close frame says why (1002 protocol error, 1009
        // too big), after our READY.
        let status: u16 = match what {
            "an unmasked frame" | "a text frame" => 1002,
            "a huge frame" | "over MAXMSGSIZE" => 1009,
            _ => continue,
        };
        assert!(got.ends_with(&close_frame(status)), "{what}: no close {status}: {got:?}");
    }
    let zctx = zmq::Context::new();
    let push = zsock(&zctx, zmq::PUSH);
    push.connect(&pull.get_last_endpoint().unwrap()).unwrap();
    push.send("still serving", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"still serving");
}

/// A peer's last message and its close frame, read at once: the message is delivered, then
/// the close echoed and the connection ended (the message was lost before).
#[test]
fn a_message_read_with_the_close_frame_is_delivered() {
    let ctx = Context::new();
    let pair = sock(&ctx, libsock::PAIR);
    pair.bind("ws://127.0.0.1:*").unwrap();
    let port = port_of(&pair.get_last_endpoint().unwrap());
    let mut s = upgraded(port, "ZWS2.0");
    // `ZWS2.0`: a routing id, a message, a close with status 1000; masked with a zero key.
    let mut frames = vec![0x82, 0x81, 0, 0, 0, 0, 0x00];
    frames.extend_from_slice(&[0x82, 0x86, 0, 0, 0, 0, 0x00]);
    frames.extend_from_slice(b"hello");
    frames.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
    s.write_all(&frames).unwrap();
    assert_eq!(pair.recv_bytes(0).unwrap(), b"hello");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.ends_with(&[0x88, 0x02, 0x03, 0xE8]), "no echo of the close: {rest:?}");
}

/// A connection that fails after the upgrade ends with a close frame saying why, as RFC
/// 6455 has it (libzmq just hangs up; a browser then reports 1006): a malformed command or a
/// message before the handshake is a protocol error (1002), a peer ZAP refuses gets its
/// ERROR and a policy violation (1008).
#[test]
fn a_failed_connection_is_closed_with_a_status_that_says_why() {
    let ctx = Context::new();
    let pull = sock(&ctx, libsock::PULL);
    pull.bind("ws://127.0.0.1:*").unwrap();
    let port = port_of(&pull.get_last_endpoint().unwrap());
    let ready = zws_frame(0x02, b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH");
    let tries: [(&str, Vec<u8>); 2] = [
        ("a malformed command", zws_frame(0x02, b"\x05READY\x0b")),
        ("a message before READY", zws_frame(0x00, b"early")),
    ];
    for (what, frames) in tries {
        let mut s = upgraded(port, "ZWS2.0/NULL");
        s.write_all(&frames).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert!(got.ends_with(&close_frame(1002)), "{what}: {got:?}");
    }
    // With READY the same client is served (the frames above are what made the difference).
    let mut s = upgraded(port, "ZWS2.0/NULL");
    s.write_all(&[ready.clone(), zws_frame(0x00, b"served")].concat()).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"served");

    // NULL through ZAP, and the handler denies the address.
    let auth = libsock::Authenticator::start(&ctx).unwrap();
    auth.deny("127.0.0.1");
    let guarded = sock(&ctx, libsock::PULL);
    guarded.set_zap_domain(b"global").unwrap();
    guarded.bind("ws://127.0.0.1:*").unwrap();
    let mut s = upgraded(port_of(&guarded.get_last_endpoint().unwrap()), "ZWS2.0/NULL");
    s.write_all(&ready).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(got.windows(6).any(|w| w == b"\x05ERROR"), "no ERROR: {got:?}");
    assert!(got.ends_with(&close_frame(1008)), "{got:?}");
}

/// While a thread waits in `recv`, it reads the ws stream itself (the direct read side); a
/// ping that comes then goes to the I/O thread, which answers it, and the message after it
/// is still received; a close that comes then is echoed as the link ends.
#[test]
fn a_waiting_receiver_leaves_pings_and_closes_to_the_io_thread() {
    let ctx = Context::new();
    let rep = sock(&ctx, libsock::REP);
    rep.bind("ws://127.0.0.1:*").unwrap();
    let mut s = upgraded(port_of(&rep.get_last_endpoint().unwrap()), "ZWS2.0/NULL");
    s.write_all(&zws_frame(0x02, b"\x05READY\x0bSocket-Type\x00\x00\x00\x03REQ")).unwrap();
    assert_eq!(server_frame(&mut s)[..7], [0x82, 26, 0x02, 5, b'R', b'E', b'A'], "the server's READY");
    let request = |body: &[u8]| [zws_frame(0x01, b""), zws_frame(0x00, body)].concat();
    let mut rep = rep;
    for round in 0..3 {
        // The socket goes to a thread that waits in `recv`, and comes back with the message.
        let waiter = std::thread::spawn(move || {
            let got = rep.recv_bytes(0);
            (rep, got)
        });
        // Long enough for the thread to be waiting on the stream.
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(&[0x89, 0x84, 0, 0, 0, 0]).unwrap();
        s.write_all(b"ping").unwrap();
        assert_eq!(server_frame(&mut s), [&[0x8A, 4][..], b"ping"].concat(), "round {round}: the pong");
        s.write_all(&request(b"after the ping")).unwrap();
        let (back, got) = waiter.join().unwrap();
        rep = back;
        assert_eq!(got.unwrap(), b"after the ping", "round {round}");
        rep.send("reply", 0).unwrap();
        assert_eq!(server_frame(&mut s), [0x82, 1, 0x01], "round {round}: the delimiter");
        assert_eq!(server_frame(&mut s), [&[0x82, 6, 0x00][..], b"reply"].concat(), "round {round}");
    }
    rep.set_rcvtimeo(2000).unwrap();
    let waiter = std::thread::spawn(move || rep.recv_bytes(0).is_err());
    std::thread::sleep(Duration::from_millis(100));
    s.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, close_frame(1000), "the close echoed, then the end");
    assert!(waiter.join().unwrap(), "nothing more to receive");
}

/// A flood into a PULL that receives by blocking calls goes to its thread (`direct_rx` rule
/// 8, ws as tcp): every message arrives whole and in order though the flood mixes in what
/// only the link's own decoder takes (pings, answered; messages in fragments; frames over
/// 64 KiB; multipart messages), pauses now and then (the hold ends and is taken again), and
/// ends with a frame that breaks the protocol: what came before it is delivered, the link
/// closes with 1002.
#[test]
fn a_pull_flood_with_pings_and_fragments_arrives_whole_and_in_order() {
    let ctx = Context::new();
    let pull = sock(&ctx, libsock::PULL);
    pull.set_rcvhwm(20).unwrap();
    pull.bind("ws://127.0.0.1:*").unwrap();
    let mut s = upgraded(port_of(&pull.get_last_endpoint().unwrap()), "ZWS2.0/NULL");
    s.write_all(&zws_frame(0x02, b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH")).unwrap();
    assert_eq!(server_frame(&mut s)[..7], [0x82, 27, 0x02, 5, b'R', b'E', b'A'], "the server's READY");
    // The server's frames from here on: pongs (their payloads), then a close.
    let mut from_server = s.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut pongs = Vec::new();
        loop {
            let frame = server_frame(&mut from_server);
            match frame[0] {
                0x8A => pongs.push(frame[2..].to_vec()),
                0x88 => return (pongs, frame),
                other => panic!("unexpected frame {other:#x}"),
            }
        }
    });
    const MESSAGES: u32 = 12_000;
    let receiver = std::thread::spawn(move || {
        for i in 0..MESSAGES {
            let got = pull.recv_multipart(0).unwrap_or_else(|e| panic!("message {i}: {e}"));
            assert!(got == flood_message(i), "message {i} differs: {} frames", got.len());
        }
        pull
    });
    let mut pings = Vec::new();
    let mut wire = Vec::new();
    for i in 0..MESSAGES {
        let key = (i.wrapping_mul(2_654_435_761) | 1).to_be_bytes();
        let parts = flood_message(i);
        for (n, part) in parts.iter().enumerate() {
            let flags = if n + 1 < parts.len() { 0x01 } else { 0x00 };
            let payload = [&[flags][..], part].concat();
            if i % 97 == 5 {
                // In three fragments: the link's decoder puts them together.
                let third = payload.len() / 3;
                wire.extend(client_frame(false, 0x2, key, &payload[..third]));
                wire.extend(client_frame(false, 0x0, key, &payload[third..2 * third]));
                wire.extend(client_frame(true, 0x0, key, &payload[2 * third..]));
            } else {
                wire.extend(client_frame(true, 0x2, key, &payload));
            }
        }
        if i % 251 == 7 {
            pings.push(i.to_be_bytes().to_vec());
            wire.extend(client_frame(true, 0x9, key, &i.to_be_bytes()));
        }
        if i % 3000 == 2999 {
            s.write_all(&wire).unwrap();
            wire.clear();
            // Long enough for the receiver's hold to end (the I/O thread's tick).
            std::thread::sleep(Duration::from_millis(30));
        }
    }
    // An unmasked frame: a client must mask every frame.
    wire.extend_from_slice(&[0x82, 2, 0x00, b'x']);
    s.write_all(&wire).unwrap();
    let pull = receiver.join().unwrap();
    let (pongs, close) = reader.join().unwrap();
    assert_eq!(pongs, pings, "every ping answered, in order");
    assert_eq!(close, close_frame(1002), "the bad frame ends the link");
    pull.set_rcvtimeo(200).unwrap();
    assert!(pull.recv_bytes(0).is_err(), "nothing after the bad frame");
}

/// The same flood from libzmq's PUSH and from libsock's (a client: its frames are masked
/// by the direct write side's encoder and the I/O thread's alike): whole and in order.
#[test]
fn pull_floods_from_libzmq_and_libsock_arrive_whole_and_in_order() {
    const MESSAGES: u32 = 20_000;
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    for from_libzmq in [true, false] {
        let pull = sock(&ctx, libsock::PULL);
        pull.set_rcvhwm(10).unwrap();
        pull.bind("ws://127.0.0.1:*").unwrap();
        let endpoint = pull.get_last_endpoint().unwrap();
        let receiver = std::thread::spawn(move || {
            for i in 0..MESSAGES {
                let got = pull.recv_multipart(0).unwrap_or_else(|e| panic!("message {i}: {e}"));
                assert!(got == flood_message(i), "message {i} differs ({from_libzmq}): {} frames", got.len());
            }
        });
        if from_libzmq {
            let push = zsock(&zctx, zmq::PUSH);
            push.connect(&endpoint).unwrap();
            for i in 0..MESSAGES {
                push.send_multipart(flood_message(i), 0).unwrap();
            }
            receiver.join().unwrap();
        } else {
            let push = sock(&ctx, libsock::PUSH);
            push.connect(&endpoint).unwrap();
            for i in 0..MESSAGES {
                push.send_multipart(flood_message(i), 0).unwrap();
            }
            receiver.join().unwrap();
        }
    }
}

/// A listening PUSH (a server: its frames are not masked) writes bodies of 64 KiB and more
/// from the message behind their frame's header, copying only what the kernel does not take
/// at once: a flood of them among small messages, to receivers that stall with a high water
/// mark of 2 (the kernel's buffer fills mid-body), reaches libzmq's PULL and libsock's whole
/// and in order.
#[test]
fn a_servers_large_bodies_reach_libzmq_and_libsock_whole_and_in_order() {
    const MESSAGES: u32 = 600;
    let message = |i: u32| -> Vec<Vec<u8>> {
        let large = i % 3 == 0;
        let size = if large { 65_536 + (i as usize * 997) % 250_000 } else { (i % 300) as usize };
        let mut body = i.to_be_bytes().to_vec();
        body.extend((0..size).map(|n| (n as u32 ^ i) as u8));
        // Two large bodies in one message: the kernel's buffer often fills in the first,
        // and the second is then copied behind its tail.
        match large {
            true => vec![body.clone(), b"between".to_vec(), body],
            false => vec![body],
        }
    };
    // Reads the flood, stalling at the start and halfway.
    let read = move |peer: &str, mut recv: Box<dyn FnMut() -> Result<Vec<Vec<u8>>, String> + Send>| {
        for i in 0..MESSAGES {
            if i == 0 || i == MESSAGES / 2 {
                std::thread::sleep(Duration::from_millis(300));
            }
            let got = recv().unwrap_or_else(|e| panic!("message {i}: {e}"));
            assert!(got == message(i), "message {i} differs at {peer}: {} frames", got.len());
        }
    };
    let (ctx, zctx) = (Context::new(), zmq::Context::new());
    for to_libzmq in [true, false] {
        let push = sock(&ctx, libsock::PUSH);
        push.bind("ws://127.0.0.1:*").unwrap();
        let endpoint = push.get_last_endpoint().unwrap();
        let receiver = if to_libzmq {
            let pull = zsock(&zctx, zmq::PULL);
            pull.set_rcvhwm(2).unwrap();
            pull.connect(&endpoint).unwrap();
            std::thread::spawn(move || {
                read("libzmq", Box::new(move || pull.recv_multipart(0).map_err(|e| e.to_string())))
            })
        } else {
            let pull = sock(&ctx, libsock::PULL);
            pull.set_rcvhwm(2).unwrap();
            pull.connect(&endpoint).unwrap();
            std::thread::spawn(move || {
                read("libsock", Box::new(move || pull.recv_multipart(0).map_err(|e| e.to_string())))
            })
        };
        for i in 0..MESSAGES {
            push.send_multipart(message(i), 0).unwrap();
        }
        receiver.join().unwrap();
    }
}

/// Message `i` of [`a_pull_flood_with_pings_and_fragments_arrives_whole_and_in_order`]: its
/// number and a body of a size that varies, up to over 64 KiB; every 13th in two parts.
fn flood_message(i: u32) -> Vec<Vec<u8>> {
    let size = match i % 11 {
        0 => 1500,
        1 if i % 5 == 1 => 70_000,
        2 => 65_530,
        _ => (i % 60) as usize,
    };
    let mut body = i.to_be_bytes().to_vec();
    body.extend((0..size).map(|n| (n as u32 ^ i) as u8));
    match i % 13 {
        0 => vec![body, i.to_le_bytes().to_vec()],
        _ => vec![body],
    }
}

/// A client's frame: FIN or not, `opcode`, `payload` masked with `key`, in the shortest
/// length form.
fn client_frame(fin: bool, opcode: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(n, b)| b ^ key[n % 4]));
    frame
}

/// One frame from the server (unmasked, payload under 126 bytes), whole.
fn server_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    assert!(head[1] < 126, "{head:?}");
    let mut frame = vec![0u8; 2 + usize::from(head[1])];
    frame[..2].copy_from_slice(&head);
    s.read_exact(&mut frame[2..]).unwrap();
    frame
}

/// A raw client's connection to `port`, upgraded with `subprotocol`.
fn upgraded(port: u16, subprotocol: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: {subprotocol}\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(request.as_bytes()).unwrap();
    // The response head only, byte by byte: what follows it is the test's to read.
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        let n = s.read(&mut byte).unwrap();
        assert!(n > 0, "closed before the upgrade: {}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    assert!(got.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&got));
    s
}

/// A client's binary frame (masked with a zero key) carrying a ZWS flags byte and `body`.
fn zws_frame(flags: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 125);
    [&[0x82, 0x80 | (body.len() as u8 + 1), 0, 0, 0, 0, flags][..], body].concat()
}

/// A server's close frame with `status`.
fn close_frame(status: u16) -> [u8; 4] {
    let [hi, lo] = status.to_be_bytes();
    [0x88, 0x02, hi, lo]
}

#[test]
fn endpoints_are_checked_as_tcp_ones() {
    let ctx = Context::new();
    let s = sock(&ctx, libsock::PUSH);
    assert!(s.connect("ws://*:5555/x").is_err(), "no wildcard to connect to");
    assert!(s.connect("ws://127.0.0.1/x").is_err(), "a port is needed");
    assert!(s.bind("ws://127.0.0.1:99999").is_err());
    let raw = sock(&ctx, libsock::STREAM);
    assert!(matches!(raw.bind("ws://127.0.0.1:*"), Err(libsock::Error::ProtocolNotSupported(_))));
    assert_eq!(
        libsock::Endpoint::parse("ws://[::1]:5/a/b").map(|e| e.to_string()).ok().as_deref(),
        Some("ws://[::1]:5/a/b")
    );
}

/// Python's `websockets` (an RFC 6455 implementation of its own: it checks the accept key,
/// the subprotocol, the masking) speaks ZWS by hand to a libsock PAIR as a browser's
/// JavaScript would: `ZWS2.0`, the one subprotocol a browser can offer (`ZWS2.0/NULL` is no
/// valid token, and this library refuses it as browsers do), so routing ids instead of
/// READY; a message each way, a multipart one, a ping, one sent in fragments; then a text
/// frame, which ends the connection with close status 1002 (protocol error).
#[test]
fn a_websocket_client_that_is_not_libzmq_talks_to_libsock() {
    let ctx = Context::new();
    let pair = sock(&ctx, libsock::PAIR);
    pair.bind("ws://127.0.0.1:*/chat").unwrap();
    let port = port_of(&pair.get_last_endpoint().unwrap());
    let script = format!(
        r#"
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect
with connect("ws://127.0.0.1:{port}/chat", subprotocols=["ZWS2.0"], open_timeout=10) as ws:
    assert ws.subprotocol == "ZWS2.0", ws.subprotocol
    ws.send(b"\x00")
    routing_id = ws.recv(timeout=10)
    assert routing_id == b"\x00", routing_id
    ws.ping(b"are you there").wait(timeout=10)
    ws.send(b"\x00hello from a browser")
    ws.send(b"\x01part one")
    ws.send(b"\x00part two")
    # An iterable goes out as one message in three fragments (RFC 6455 §5.4).
    ws.send([b"\x00frag", b"mented ", b"hello"])
    assert ws.recv(timeout=10) == b"\x00reply", "the reply"
    # A text frame is no ZWS: the server says so with a close status, 1002.
    ws.send("text")
    try:
        ws.recv(timeout=10)
        raise SystemExit("still served after a text frame")
    except ConnectionClosedError as e:
        assert e.rcvd is not None and e.rcvd.code == 1002, e
print("ok")
"#
    );
    let child = std::process::Command::new("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let first = pair.recv_bytes(0);
    if first.is_err() {
        let out = child.wait_with_output().unwrap();
        panic!("nothing arrived; the client said: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(first.unwrap(), b"hello from a browser");
    assert_eq!(pair.recv_multipart(0).unwrap(), [b"part one".to_vec(), b"part two".to_vec()]);
    assert_eq!(pair.recv_bytes(0).unwrap(), b"fragmented hello");
    pair.send("reply", 0).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("No module named"),
        "Python's websockets is missing (`pip install websockets`; .ci/run installs it): {err}"
    );
    assert!(out.status.success() && out.stdout == b"ok\n", "{err}");
}
