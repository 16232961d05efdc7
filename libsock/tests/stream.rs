//! STREAM sockets against plain TCP peers, libzmq STREAM peers, and as an HTTP server.

mod common;

#[allow(dead_code)]
#[path = "../examples/http_stream.rs"]
mod http_stream;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use common::{ms, socket};
use libsock::{Context, Error, Socket, SNDMORE, STREAM};

fn port_of(endpoint: &str) -> String {
    endpoint.trim_start_matches("tcp://").to_string()
}

/// Receives `[id, data]`.
fn recv2(s: &Socket) -> (Vec<u8>, Vec<u8>) {
    let parts = s.recv_multipart(0).unwrap();
    assert_eq!(parts.len(), 2, "STREAM messages are [id, data]: {parts:?}");
    (parts[0].clone(), parts[1].clone())
}

fn send2(s: &Socket, id: &[u8], data: &[u8]) {
    s.send(id, SNDMORE).unwrap();
    s.send(data, 0).unwrap();
}

fn read_to_end(mut c: TcpStream) -> Vec<u8> {
    c.set_read_timeout(Some(ms(5000))).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    got
}

#[test]
fn tcp_client_connects_talks_and_is_closed_by_an_empty_frame() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let mut client = TcpStream::connect(port_of(&server.get_last_endpoint().unwrap())).unwrap();

    let (id, data) = recv2(&server);
    assert!(data.is_empty(), "a connect is announced as [id, empty]");
    assert_eq!(id.len(), 5, "generated ids are 5 bytes");
    assert_eq!(id[0], 0);

    client.write_all(b"hello").unwrap();
    let mut got = Vec::new();
    while got.len() < 5 {
        let (from, data) = recv2(&server);
        assert_eq!(from, id);
        got.extend(data);
    }
    assert_eq!(got, b"hello");

    send2(&server, &id, b"world");
    send2(&server, &id, b"");
    assert_eq!(read_to_end(client), b"world", "data, then EOF after [id, empty]");
    // The connection is gone: sending to it fails.
    assert!(matches!(server.send(&id[..], SNDMORE), Err(Error::HostUnreachable)));
}

#[test]
fn a_client_leaving_is_announced_and_ids_are_distinct() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let addr = port_of(&server.get_last_endpoint().unwrap());
    let a = TcpStream::connect(&addr).unwrap();
    let (id_a, _) = recv2(&server);
    let b = TcpStream::connect(&addr).unwrap();
    let (id_b, _) = recv2(&server);
    assert_ne!(id_a, id_b);
    drop(a);
    assert_eq!(recv2(&server), (id_a.clone(), vec![]), "a disconnect is announced as [id, empty]");
    drop(b);
    assert_eq!(recv2(&server), (id_b, vec![]));
}

#[test]
fn unknown_peer_is_unreachable_and_inproc_is_refused() {
    let ctx = Context::new();
    let s = socket(&ctx, STREAM);
    assert!(matches!(s.send(&b"nobody"[..], SNDMORE), Err(Error::HostUnreachable)));
    assert!(matches!(s.bind("inproc://raw"), Err(Error::ProtocolNotSupported(_))));
    assert!(matches!(s.connect("inproc://raw"), Err(Error::ProtocolNotSupported(_))));
    assert_eq!(s.get_socket_type().unwrap(), STREAM);
}

#[test]
fn without_stream_notify_only_data_arrives() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.set_stream_notify(false).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let mut client = TcpStream::connect(port_of(&server.get_last_endpoint().unwrap())).unwrap();
    client.write_all(b"x").unwrap();
    let (_, data) = recv2(&server);
    assert_eq!(data, b"x");
    drop(client);
    server.set_rcvtimeo(200).unwrap();
    assert!(matches!(server.recv_bytes(0), Err(Error::TimedOut)), "no disconnect notification");
}

#[test]
fn connecting_stream_reaches_a_plain_tcp_server_with_connect_routing_id() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = socket(&ctx, STREAM);
    client.set_connect_routing_id(b"srv").unwrap();
    client.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    assert_eq!(recv2(&client), (b"srv".to_vec(), vec![]), "connected, under the id we chose");
    send2(&client, b"srv", b"GET / HTTP/1.0\r\n\r\n");
    let mut buf = [0u8; 18];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"GET / HTTP/1.0\r\n\r\n");
    conn.write_all(b"pong").unwrap();
    drop(conn);
    let mut got = Vec::new();
    loop {
        let (id, data) = recv2(&client);
        assert_eq!(id, b"srv");
        if data.is_empty() {
            break;
        }
        got.extend(data);
    }
    assert_eq!(got, b"pong");
}

/// A connecting STREAM has its pipe and routing id from zmq_connect on, as in libzmq (its
/// test_connect_rid sends right after connecting): data sent before the connection is up is
/// written once it is, after the connect notification.
#[test]
fn connecting_stream_takes_data_before_the_connection_is_up() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = socket(&ctx, STREAM);
    client.set_connect_routing_id(b"srv").unwrap();
    client.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    send2(&client, b"srv", b"early");
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 5];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"early");
    assert_eq!(recv2(&client), (b"srv".to_vec(), vec![]), "connected, under the id we chose");
    conn.write_all(b"pong").unwrap();
    assert_eq!(recv2(&client), (b"srv".to_vec(), b"pong".to_vec()));
}

#[test]
fn large_transfers_arrive_whole_and_in_order() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let mut client = TcpStream::connect(port_of(&server.get_last_endpoint().unwrap())).unwrap();
    let (id, _) = recv2(&server);
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let writer = {
        let payload = payload.clone();
        let mut c = client.try_clone().unwrap();
        std::thread::spawn(move || c.write_all(&payload).unwrap())
    };
    let mut got = Vec::new();
    while got.len() < payload.len() {
        got.extend(recv2(&server).1);
    }
    writer.join().unwrap();
    assert!(got == payload);
    // And back: one big send is written whole.
    send2(&server, &id, &payload);
    send2(&server, &id, b"");
    client.set_read_timeout(Some(ms(5000))).unwrap();
    let mut back = Vec::new();
    client.read_to_end(&mut back).unwrap();
    assert!(back == payload);
}

#[test]
fn interop_with_libzmq_stream_sockets_both_ways() {
    common::init_logging();
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    // libzmq binds, libsock connects.
    let z = zctx.socket(zmq::STREAM).unwrap();
    z.set_rcvtimeo(5000).unwrap();
    z.bind("tcp://127.0.0.1:*").unwrap();
    let ours = socket(&ctx, STREAM);
    ours.connect(&z.get_last_endpoint().unwrap().unwrap()).unwrap();
    let zid = z.recv_multipart(0).unwrap();
    assert_eq!(zid.len(), 2);
    assert!(zid[1].is_empty(), "libzmq announces our connection");
    let (our_id, empty) = recv2(&ours);
    assert!(empty.is_empty());
    send2(&ours, &our_id, b"from libsock");
    let mut got: Vec<u8> = Vec::new();
    while got.len() < 12 {
        let parts = z.recv_multipart(0).unwrap();
        got.extend_from_slice(&parts[1]);
    }
    assert_eq!(got, b"from libsock");
    z.send(&zid[0], zmq::SNDMORE).unwrap();
    z.send("from libzmq", 0).unwrap();
    assert_eq!(recv2(&ours), (our_id.clone(), b"from libzmq".to_vec()));
    // libzmq closes the connection: we are told. (libzmq finishes the close only while its
    // socket processes commands, so keep touching it.)
    z.send(&zid[0], zmq::SNDMORE).unwrap();
    z.send("", 0).unwrap();
    ours.set_rcvtimeo(50).unwrap();
    let closed = (0..100).find_map(|_| {
        let _ = z.get_events();
        ours.recv_multipart(0).ok()
    });
    assert_eq!(closed, Some(vec![our_id, vec![]]));

    // libsock binds, libzmq connects.
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let zc = zctx.socket(zmq::STREAM).unwrap();
    zc.set_rcvtimeo(5000).unwrap();
    zc.set_linger(0).unwrap();
    zc.connect(&server.get_last_endpoint().unwrap()).unwrap();
    let (id, _) = recv2(&server);
    let zpeer = zc.recv_multipart(0).unwrap()[0].clone();
    zc.send(&zpeer, zmq::SNDMORE).unwrap();
    zc.send("hi", 0).unwrap();
    assert_eq!(recv2(&server), (id.clone(), b"hi".to_vec()));
    send2(&server, &id, b"ho");
    let parts = zc.recv_multipart(0).unwrap();
    assert_eq!(parts, vec![zpeer, b"ho".to_vec()]);
}

#[test]
fn http_example_answers_a_raw_request_and_curl() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let addr = port_of(&server.get_last_endpoint().unwrap());
    let curl = std::process::Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    let requests = if curl { 3 } else { 2 };
    let thread = std::thread::spawn(move || http_stream::serve(&server, Some(requests)));

    // A request in two pieces: the server waits for the whole head.
    let mut c = TcpStream::connect(&addr).unwrap();
    c.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(ms(50));
    c.write_all(b"\r\n").unwrap();
    let text = String::from_utf8(read_to_end(c)).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("You asked for /hello\n"), "{text}");

    // Garbage gets a 400, not a hang or a crash.
    let mut c = TcpStream::connect(&addr).unwrap();
    c.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
    assert!(String::from_utf8_lossy(&read_to_end(c)).starts_with("HTTP/1.1 400 "));

    if curl {
        let out = std::process::Command::new("curl")
            .args(["-s", "--max-time", "5", &format!("http://{addr}/via-curl")])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello from libsock! You asked for /via-curl\n");
    }
    thread.join().unwrap().unwrap();
}

#[test]
fn stream_over_ipc_talks_to_a_plain_unix_socket_client() {
    let ctx = Context::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.ipc");
    let server = socket(&ctx, STREAM);
    server.bind(&format!("ipc://{}", path.display())).unwrap();
    let mut client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let (id, _) = recv2(&server);
    client.write_all(b"over ipc").unwrap();
    let mut got = Vec::new();
    while got.len() < 8 {
        got.extend(recv2(&server).1);
    }
    assert_eq!(got, b"over ipc");
    send2(&server, &id, b"ok");
    send2(&server, &id, b"");
    let mut back = Vec::new();
    client.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"ok");
}

/// Messages from a raw peer carry `Peer-Address` (ZMQ_SRCFD too), the routing id frame as
/// well as the data, as libzmq's raw engine sets them (its test_stream reads them from the
/// id frame of the connect notification).
#[test]
fn raw_messages_carry_the_peer_address() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let mut client = TcpStream::connect(port_of(&server.get_last_endpoint().unwrap())).unwrap();
    for expect_data in [&b""[..], b"hi"] {
        if !expect_data.is_empty() {
            client.write_all(expect_data).unwrap();
        }
        let id = server.recv_msg(0).unwrap();
        let data = server.recv_msg(0).unwrap();
        assert_eq!(&*data, expect_data);
        for m in [&id, &data] {
            assert_eq!(m.gets("Peer-Address"), Some("127.0.0.1"), "{m:?}");
        }
    }
}

/// libzmq quirk kept for its programs: a generated peer id also becomes the STREAM socket's
/// own ROUTING_ID (`stream_t::identify_peer`), which its test_stream and
/// test_stream_disconnect read back to address the peer.
#[test]
fn routing_id_reads_the_last_generated_peer_id() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = socket(&ctx, STREAM);
    client.connect(&server.get_last_endpoint().unwrap()).unwrap();
    let (peer, notify) = recv2(&client);
    assert!(notify.is_empty());
    assert_eq!(client.get_routing_id().unwrap(), peer);
    send2(&client, &client.get_routing_id().unwrap(), b"via ROUTING_ID");
    let (_, connected) = recv2(&server);
    assert!(connected.is_empty());
    assert_eq!(recv2(&server).1, b"via ROUTING_ID");
}

#[test]
fn a_peer_that_left_is_unreachable_once_its_leaving_is_announced() {
    // A client may close before the server answers it (curl closes as soon as it has a whole
    // `Connection: close` response, before the server's closing frame). Once `[id, empty]`
    // announced that, a send to it fails at once with HostUnreachable (libzmq reports the same,
    // a little later) and the socket serves the others. Repeated: the order must always hold.
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let addr = port_of(&server.get_last_endpoint().unwrap());
    for _ in 0..20 {
        let mut c = TcpStream::connect(&addr).unwrap();
        let (id, hello) = recv2(&server);
        assert!(hello.is_empty());
        c.write_all(b"request").unwrap();
        let mut got = Vec::new();
        while got.len() < 7 {
            let (from, data) = recv2(&server);
            assert_eq!(from, id);
            got.extend(data);
        }
        drop(c);
        assert_eq!(recv2(&server), (id.clone(), vec![]));
        assert!(matches!(server.send(&id[..], SNDMORE), Err(Error::HostUnreachable)));
    }
    let c = TcpStream::connect(&addr).unwrap();
    let (id, _) = recv2(&server);
    send2(&server, &id, b"still serving");
    send2(&server, &id, b"");
    assert_eq!(read_to_end(c), b"still serving");
}

#[test]
fn http_example_skips_a_client_that_left_and_serves_the_next() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let addr = port_of(&server.get_last_endpoint().unwrap());

    // `reply` to a client whose leaving was announced: reported, not an error.
    let c = TcpStream::connect(&addr).unwrap();
    let (id, _) = recv2(&server);
    drop(c);
    assert_eq!(recv2(&server), (id.clone(), vec![]));
    assert!(!http_stream::reply(&server, &id, b"HTTP/1.1 204 No Content\r\n\r\n").unwrap());

    // `serve`: a client that sends its request and leaves at once, then one that waits.
    let thread = std::thread::spawn(move || http_stream::serve(&server, Some(2)));
    let mut gone = TcpStream::connect(&addr).unwrap();
    gone.write_all(b"GET /gone HTTP/1.1\r\n\r\n").unwrap();
    drop(gone);
    let mut c = TcpStream::connect(&addr).unwrap();
    c.write_all(b"GET /next HTTP/1.1\r\n\r\n").unwrap();
    let text = String::from_utf8(read_to_end(c)).unwrap();
    assert!(text.ends_with("You asked for /next\n"), "{text}");
    thread.join().unwrap().unwrap();
}

#[test]
fn an_id_frame_without_sndmore_is_ignored_with_the_frame_after_it_as_libzmq() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = TcpStream::connect(port_of(&server.get_last_endpoint().unwrap())).unwrap();
    let (id, _) = recv2(&server);
    // libzmq's stream_t: a lone frame succeeds and is dropped, and so is the next one.
    server.send(&id[..], 0).unwrap();
    server.send(&b"swallowed"[..], 0).unwrap();
    send2(&server, &id, b"delivered");
    send2(&server, &id, b"");
    assert_eq!(read_to_end(client), b"delivered");
}

/// A client that sends, then resets while the server is behind (RCVHWM reached, the rest in
/// the kernel): the reply that meets the reset does not cost the server the bytes the client
/// sent before. All of them arrive, then the leaving.
#[test]
fn bytes_sent_before_a_reset_arrive_though_a_reply_meets_it() {
    let ctx = Context::new();
    let server = socket(&ctx, STREAM);
    server.set_rcvhwm(2).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let mut client = TcpStream::connect(port_of(&server.get_last_endpoint().unwrap())).unwrap();
    // Every chunk leaves at once (a reset throws away what the client's kernel still holds).
    client.set_nodelay(true).unwrap();
    let (id, hello) = recv2(&server);
    assert!(hello.is_empty());
    let mut sent = Vec::new();
    for i in 0..20u8 {
        let chunk = vec![i; 100];
        client.write_all(&chunk).unwrap();
        sent.extend(chunk);
        // Apart, so that the server's reads take them one by one and stop at RCVHWM.
        std::thread::sleep(ms(5));
    }
    socket2::SockRef::from(&client).set_linger(Some(std::time::Duration::ZERO)).unwrap();
    drop(client);
    std::thread::sleep(ms(50));
    send2(&server, &id, b"a reply to a client that reset");
    std::thread::sleep(ms(50));
    server.set_rcvtimeo(5_000).unwrap();
    let mut got = Vec::new();
    loop {
        let (from, data) = recv2(&server);
        assert_eq!(from, id);
        if data.is_empty() {
            break;
        }
        got.extend(data);
    }
    assert_eq!(got.len(), sent.len(), "bytes lost before the leaving was announced");
    assert_eq!(got, sent);
}

#[test]
fn a_connecting_stream_without_reconnect_forgets_the_endpoint_its_peer_closed() {
    // As libzmq's session (and the ZMTP sockets): with RECONNECT_IVL -1 a lost connection
    // ends the endpoint, so disconnecting it fails with ENOENT; a refused connect under
    // RECONNECT_STOP too. With reconnects on, the endpoint stays.
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    for (ivl, forgotten) in [(-1, true), (100, false)] {
        let client = socket(&ctx, STREAM);
        client.set_reconnect_ivl(ivl).unwrap();
        client.set_connect_routing_id(b"srv").unwrap();
        client.connect(&endpoint).unwrap();
        let (conn, _) = listener.accept().unwrap();
        assert_eq!(recv2(&client), (b"srv".to_vec(), vec![]), "connected");
        drop(conn);
        assert_eq!(recv2(&client), (b"srv".to_vec(), vec![]), "the peer left");
        let outcome = client.disconnect(&endpoint);
        assert_eq!(matches!(outcome, Err(Error::NoSuchEndpoint(_))), forgotten, "ivl {ivl}: {outcome:?}");
    }

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = format!("tcp://127.0.0.1:{port}");
    let client = socket(&ctx, STREAM);
    client.set_reconnect_stop(1).unwrap();
    let events = client.monitor_events(libsock::EVENT_ALL).unwrap();
    client.connect(&refused).unwrap();
    let closed =
        (0..5).filter_map(|_| events.recv_event(2000).ok()).any(|e| e.event == libsock::SocketEvent::Closed);
    assert!(closed, "the refused attempt is reported");
    assert!(matches!(client.disconnect(&refused), Err(Error::NoSuchEndpoint(_))));
}
