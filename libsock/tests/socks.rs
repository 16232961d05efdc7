//! SOCKS_PROXY: tcp connects through a tiny SOCKS5 server started by the test.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

use common::socket;
use libsock::{Context, SocketEvent, DEALER, EVENT_ALL, ROUTER};

/// What the proxy saw: the methods offered, the credentials, and the requested target.
#[derive(Debug, Default, Clone)]
struct Seen {
    methods: Vec<u8>,
    auth: Option<(Vec<u8>, Vec<u8>)>,
    target: String,
    /// The address the client connected to the proxy from.
    client: Option<std::net::SocketAddr>,
}

/// A one-connection SOCKS5 proxy. `reply` is the CONNECT reply code it gives (0 = success).
/// Returns its address and a channel reporting what it saw.
fn proxy(reply: u8) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut c, client) = listener.accept().unwrap();
        let mut seen = Seen { client: Some(client), ..Seen::default() };
        let mut head = [0u8; 2];
        c.read_exact(&mut head).unwrap();
        seen.methods = vec![0; head[1] as usize];
        c.read_exact(&mut seen.methods).unwrap();
        if seen.methods.contains(&2) {
            c.write_all(&[5, 2]).unwrap();
            let mut b = [0u8; 2];
            c.read_exact(&mut b).unwrap();
            let mut user = vec![0; b[1] as usize];
            c.read_exact(&mut user).unwrap();
            let mut plen = [0u8; 1];
            c.read_exact(&mut plen).unwrap();
            let mut pass = vec![0; plen[0] as usize];
            c.read_exact(&mut pass).unwrap();
            c.write_all(&[1, 0]).unwrap();
            seen.auth = Some((user, pass));
        } else {
            c.write_all(&[5, 0]).unwrap();
        }
        let mut req = [0u8; 4];
        c.read_exact(&mut req).unwrap();
        let host = match req[3] {
            1 => {
                let mut ip = [0u8; 4];
                c.read_exact(&mut ip).unwrap();
                std::net::Ipv4Addr::from(ip).to_string()
            }
            3 => {
                let mut len = [0u8; 1];
                c.read_exact(&mut len).unwrap();
                let mut name = vec![0; len[0] as usize];
                c.read_exact(&mut name).unwrap();
                String::from_utf8(name).unwrap()
            }
            other => panic!("address type {other}"),
        };
        let mut port = [0u8; 2];
        c.read_exact(&mut port).unwrap();
        seen.target = format!("{host}:{}", u16::from_be_bytes(port));
        tx.send(seen.clone()).unwrap();
        if reply != 0 {
            c.write_all(&[5, reply, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
            return;
        }
        let upstream = TcpStream::connect(&seen.target).unwrap();
        c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).unwrap();
        let (mut a, mut b) = (c.try_clone().unwrap(), upstream.try_clone().unwrap());
        let (mut c2, mut up2) = (c, upstream);
        thread::spawn(move || std::io::copy(&mut a, &mut up2));
        let _ = std::io::copy(&mut b, &mut c2);
    });
    (addr, rx)
}

#[test]
fn connect_through_a_socks5_proxy_by_name_with_credentials() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let router = z.socket(zmq::ROUTER).unwrap();
    router.set_rcvtimeo(5000).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let port = router.get_last_endpoint().unwrap().unwrap().rsplit(':').next().unwrap().to_string();
    let (proxy_addr, seen) = proxy(0);

    let dealer = socket(&ctx, DEALER);
    dealer.set_routing_id(b"via-proxy").unwrap();
    dealer.set_socks_proxy(proxy_addr.as_bytes()).unwrap();
    dealer.set_socks_username(b"alice").unwrap();
    dealer.set_socks_password(b"secret").unwrap();
    dealer.connect(&format!("tcp://localhost:{port}")).unwrap();
    dealer.send("hello through the proxy", 0).unwrap();
    let got = router.recv_multipart(0).unwrap();
    assert_eq!(got, vec![b"via-proxy".to_vec(), b"hello through the proxy".to_vec()]);
    router.send_multipart(["via-proxy", "and back"], 0).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"and back");

    let seen = seen.recv().unwrap();
    assert_eq!(seen.methods, [0, 2], "offers no-auth and username/password");
    assert_eq!(seen.auth, Some((b"alice".to_vec(), b"secret".to_vec())));
    assert_eq!(seen.target, format!("localhost:{port}"), "the proxy resolves the name");
}

#[test]
fn a_proxy_refusal_is_retried_not_fatal() {
    let ctx = Context::new();
    let (proxy_addr, seen) = proxy(5);
    let dealer = socket(&ctx, DEALER);
    dealer.set_reconnect_ivl(10_000).unwrap();
    dealer.set_socks_proxy(proxy_addr.as_bytes()).unwrap();
    let events = dealer.monitor_events(EVENT_ALL).unwrap();
    dealer.connect("tcp://127.0.0.1:9").unwrap();
    let seen = seen.recv().unwrap();
    assert_eq!((seen.methods, seen.target), (vec![0], "127.0.0.1:9".to_string()));
    let retried =
        (0..10).filter_map(|_| events.recv_event(5000).ok()).any(|e| e.event == SocketEvent::ConnectRetried);
    assert!(retried);
    // Nonsense in SOCKS_PROXY is an error at connect, not a silent direct connection.
    let other = socket(&ctx, ROUTER);
    other.set_socks_proxy(b"no-port-here").unwrap();
    assert_eq!(other.connect("tcp://127.0.0.1:5555").unwrap_err().to_raw(), 22);
}

#[test]
fn stream_sockets_go_through_the_proxy_too() {
    let ctx = Context::new();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let (proxy_addr, seen) = proxy(0);
    let s = socket(&ctx, libsock::STREAM);
    s.set_socks_proxy(proxy_addr.as_bytes()).unwrap();
    s.connect(&format!("tcp://{}", server.local_addr().unwrap())).unwrap();
    let (mut conn, _) = server.accept().unwrap();
    let hello = s.recv_multipart(0).unwrap();
    assert!(hello[1].is_empty(), "connected (through the proxy)");
    s.send(&hello[0][..], libsock::SNDMORE).unwrap();
    s.send("raw bytes", 0).unwrap();
    let mut buf = [0u8; 9];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"raw bytes", "no SOCKS bytes leak to the target");
    conn.write_all(b"reply").unwrap();
    assert_eq!(s.recv_multipart(0).unwrap(), vec![hello[0].clone(), b"reply".to_vec()]);
    assert_eq!(seen.recv().unwrap().target, server.local_addr().unwrap().to_string());
}

#[test]
fn the_proxy_is_reached_from_the_source_address_socks_proxy_names() {
    // libzmq's test_socks_bind_before_connect: SOCKS_PROXY "source;proxy".
    let ctx = Context::new();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let (proxy_addr, seen) = proxy(0);
    let s = socket(&ctx, libsock::STREAM);
    s.set_socks_proxy(format!("127.0.0.4:0;{proxy_addr}").as_bytes()).unwrap();
    s.connect(&format!("tcp://{}", server.local_addr().unwrap())).unwrap();
    let _conn = server.accept().unwrap();
    assert_eq!(seen.recv().unwrap().client.unwrap().ip().to_string(), "127.0.0.4");
}
