//! `wss://` (ZWS 2.0 over TLS) end to end between libsock peers: a certificate chain checked
//! by WebPKI against a trusted authority, a self-signed certificate trusted as it is (as
//! libzmq's own wss test does), and every refusal a client relies on (an untrusted
//! authority, a name the certificate does not carry, a plain `ws://` client, garbage), with
//! the listener serving after each. Python's TLS WebSocket client, and libzmq's own
//! `test_wss_transport` on the C API, are tested elsewhere (`websocket.rs`, the bindings).

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use libsock::{Context, Socket, SocketType};

const TIMEOUT_MS: i32 = 10_000;

fn pem(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/wss/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sock(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s
}

/// A REP serving `wss://127.0.0.1:*/path` with `cert` and `key`; its endpoint.
fn server(ctx: &Context, cert: &str, key: &str) -> (Socket, String) {
    let rep = sock(ctx, libsock::REP);
    rep.set_wss_cert_pem(&pem(cert)).unwrap();
    rep.set_wss_key_pem(&pem(key)).unwrap();
    rep.bind("wss://127.0.0.1:*/path").unwrap();
    let ep = rep.get_last_endpoint().unwrap();
    assert!(ep.starts_with("wss://127.0.0.1:") && ep.ends_with("/path"), "{ep}");
    (rep, ep)
}

/// A socket of `kind` bound to `endpoint` with the test server's certificate chain and key.
fn wss_bound(ctx: &Context, kind: SocketType, endpoint: &str) -> Socket {
    let s = sock(ctx, kind);
    s.set_wss_cert_pem(&pem("server_chain.pem")).unwrap();
    s.set_wss_key_pem(&pem("server.key")).unwrap();
    s.bind(endpoint).unwrap();
    s
}

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit_once(':').unwrap().1.split('/').next().unwrap().parse().unwrap()
}

/// A round trip of a short and a 200 KB message (several TLS records) each way.
fn bounce(rep: &Socket, req: &Socket) {
    let large: Vec<u8> = (0..200_000).map(|i| (i % 251) as u8).collect();
    for body in [&b"hello"[..], &large] {
        req.send(body, 0).unwrap();
        assert_eq!(rep.recv_bytes(0).unwrap(), body);
        rep.send(body, 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), body);
    }
}

/// Whether a REQ connecting with `setup` gets an answer within 600 ms. A refused handshake
/// ends the connection and its pipe (as libzmq's on a protocol error): a send that comes
/// after that (the test thread ran late) finds no peer, and times out.
fn is_served(ctx: &Context, to: &str, setup: impl Fn(&Socket)) -> bool {
    let req = sock(ctx, libsock::REQ);
    req.set_rcvtimeo(600).unwrap();
    req.set_sndtimeo(600).unwrap();
    setup(&req);
    req.connect(to).unwrap();
    req.send("ping", 0).is_ok() && req.recv_bytes(0).is_ok()
}

#[test]
fn a_chain_from_a_trusted_authority_is_checked_by_name() {
    let ctx = Context::new();
    let (rep, ep) = server(&ctx, "server_chain.pem", "server.key");
    let port = port_of(&ep);
    // By name and by address: the certificate carries both.
    for host in ["localhost", "127.0.0.1"] {
        let req = sock(&ctx, libsock::REQ);
        req.set_wss_trust_pem(&pem("ca.pem")).unwrap();
        let to = format!("wss://{host}:{port}/path");
        req.connect(&to).unwrap();
        assert_eq!(req.get_last_endpoint().unwrap(), to);
        bounce(&rep, &req);
    }
    // WSS_HOSTNAME replaces the endpoint's host in the check.
    let req = sock(&ctx, libsock::REQ);
    req.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    req.set_wss_hostname(b"localhost").unwrap();
    req.connect(&format!("wss://127.0.0.1:{port}/path")).unwrap();
    bounce(&rep, &req);
}

/// A listening PUSH's bodies of 64 KiB and more are encrypted by rustls from the message
/// (not copied into the link's frames first); what rustls and the kernel do not take at once
/// is copied behind. A flood of them, two to a message, among small messages, to a PULL
/// that stalls with a high water mark of 2, arrives whole and in order.
#[test]
fn a_servers_large_bodies_cross_tls_whole_and_in_order() {
    const MESSAGES: u32 = 300;
    let message = |i: u32| -> Vec<Vec<u8>> {
        let size = if i % 3 == 0 { 65_536 + (i as usize * 1999) % 300_000 } else { (i % 200) as usize };
        let mut body = i.to_be_bytes().to_vec();
        body.extend((0..size).map(|n| (n as u32 ^ i) as u8));
        vec![body.clone(), b"between".to_vec(), body]
    };
    let ctx = Context::new();
    let push = wss_bound(&ctx, libsock::PUSH, "wss://127.0.0.1:*");
    let pull = sock(&ctx, libsock::PULL);
    pull.set_rcvhwm(2).unwrap();
    pull.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    pull.connect(&push.get_last_endpoint().unwrap()).unwrap();
    let receiver = std::thread::spawn(move || {
        for i in 0..MESSAGES {
            if i == 0 || i == MESSAGES / 2 {
                std::thread::sleep(Duration::from_millis(300));
            }
            let got = pull.recv_multipart(0).unwrap_or_else(|e| panic!("message {i}: {e}"));
            assert!(got == message(i), "message {i} differs: {} frames", got.len());
        }
    });
    for i in 0..MESSAGES {
        push.send_multipart(message(i), 0).unwrap();
    }
    receiver.join().unwrap();
}

#[test]
fn a_self_signed_certificate_is_trusted_pinned_as_libzmq_tests_it() {
    let ctx = Context::new();
    let (rep, ep) = server(&ctx, "selfsigned.pem", "selfsigned.key");
    let req = sock(&ctx, libsock::REQ);
    req.set_wss_trust_pem(&pem("selfsigned.pem")).unwrap();
    req.set_wss_hostname(b"zeromq.org").unwrap();
    req.connect(&ep.replace("0.0.0.0", "127.0.0.1")).unwrap();
    bounce(&rep, &req);
}

#[test]
fn a_client_refuses_an_untrusted_or_misnamed_server_and_the_server_keeps_serving() {
    let ctx = Context::new();
    let (rep, ep) = server(&ctx, "server_chain.pem", "server.key");
    let port = port_of(&ep);
    let replies = std::thread::spawn(move || {
        // Answers whatever gets through, until the good client's last message.
        while let Ok(m) = rep.recv_bytes(0) {
            rep.send(&m, 0).unwrap();
            if m == b"last" {
                break;
            }
        }
    });
    let to = format!("wss://localhost:{port}/path");
    assert!(!is_served(&ctx, &to, |s| s.set_wss_trust_pem(&pem("other_ca.pem")).unwrap()), "other authority");
    assert!(
        !is_served(&ctx, &to, |s| {
            s.set_wss_trust_pem(&pem("ca.pem")).unwrap();
            s.set_wss_hostname(b"example.org").unwrap();
        }),
        "a name the certificate does not carry"
    );
    // The system's authorities do not know a test authority.
    assert!(!is_served(&ctx, &to, |s| s.set_wss_trust_system(true).unwrap()), "system trust");
    // A plain ws:// client gets no upgrade from a TLS listener.
    assert!(!is_served(&ctx, &format!("ws://127.0.0.1:{port}/path"), |_| {}), "ws:// to wss://");
    // Garbage, then a TLS ClientHello cut short.
    for bytes in [&b"GET / HTTP/1.1\r\n\r\n"[..], &[0x16, 0x03, 0x01, 0x00, 0xff, 0x01]] {
        let mut raw = TcpStream::connect(("127.0.0.1", port)).unwrap();
        raw.write_all(bytes).unwrap();
        drop(raw);
    }
    // Served after all of them.
    let req = sock(&ctx, libsock::REQ);
    req.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    req.connect(&to).unwrap();
    req.send("last", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"last");
    replies.join().unwrap();
}

#[test]
fn missing_or_bad_settings_fail_the_bind_or_connect() {
    let ctx = Context::new();
    let rep = sock(&ctx, libsock::REP);
    let err = rep.bind("wss://127.0.0.1:*").unwrap_err();
    assert!(err.to_string().contains("WSS_CERT_PEM"), "{err}");
    rep.set_wss_cert_pem(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").unwrap();
    rep.set_wss_key_pem(&pem("server.key")).unwrap();
    assert!(rep.bind("wss://127.0.0.1:*").is_err());
    // A key that is not the certificate's.
    rep.set_wss_cert_pem(&pem("server.pem")).unwrap();
    rep.set_wss_key_pem(&pem("selfsigned.key")).unwrap();
    assert!(rep.bind("wss://127.0.0.1:*").is_err());

    let req = sock(&ctx, libsock::REQ);
    let err = req.connect("wss://127.0.0.1:5555").unwrap_err();
    assert!(err.to_string().contains("WSS_TRUST"), "{err}");
    req.set_wss_trust_pem(b"no pem here").unwrap();
    assert!(req.connect("wss://127.0.0.1:5555").is_err());
    // STREAM speaks no WebSocket.
    let stream = sock(&ctx, libsock::STREAM);
    assert!(stream.connect("wss://127.0.0.1:5555").is_err());
}

#[test]
fn pub_sub_subscriptions_cross_tls() {
    let ctx = Context::new();
    let publisher = wss_bound(&ctx, libsock::PUB, "wss://127.0.0.1:*");
    let port = port_of(&publisher.get_last_endpoint().unwrap());
    let sub = sock(&ctx, libsock::SUB);
    sub.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    sub.set_subscribe(b"A").unwrap();
    sub.connect(&format!("wss://localhost:{port}/")).unwrap();
    // Publish until the subscription has arrived; only "A" messages get through.
    sub.set_rcvtimeo(50).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        publisher.send("B dropped", 0).unwrap();
        publisher.send("A kept", 0).unwrap();
        if let Ok(m) = sub.recv_bytes(0) {
            assert_eq!(m, b"A kept");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no message through wss");
    }
}

/// Runs `script` with Python; its stdout once it exits successfully, or panics with why
/// (naming the module to install when one is missing).
fn python(script: &str, args: &[String]) -> std::process::Child {
    std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3")
}

fn python_ok(child: std::process::Child) {
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("No module named"),
        "Python's websockets is missing (`pip install websockets`; .ci/run installs it): {err}"
    );
    assert!(out.status.success() && out.stdout == b"ok\n", "{err}");
}

/// Python's `websockets` over Python's `ssl` (OpenSSL: another TLS implementation, with its
/// own hostname check against the server certificate's names) speaks `ZWS2.0` to a libsock
/// PAIR, as a browser on an `https://` page must (it may only open `wss://`).
#[test]
fn a_browser_like_client_over_openssl_talks_to_a_libsock_wss_listener() {
    let ctx = Context::new();
    let pair = wss_bound(&ctx, libsock::PAIR, "wss://127.0.0.1:*/chat");
    let port = port_of(&pair.get_last_endpoint().unwrap());
    let script = r#"
import ssl, sys
from websockets.sync.client import connect
tls = ssl.create_default_context(cafile=sys.argv[2])
with connect(f"wss://localhost:{sys.argv[1]}/chat", ssl=tls, subprotocols=["ZWS2.0"], open_timeout=10) as ws:
    assert ws.subprotocol == "ZWS2.0", ws.subprotocol
    ws.send(b"\x00")
    assert ws.recv(timeout=10) == b"\x00", "routing id"
    ws.send(b"\x00hello over tls")
    assert ws.recv(timeout=10) == b"\x00" + b"r" * 100000, "the reply"
print("ok")
"#;
    let ca = format!("{}/tests/data/wss/ca.pem", env!("CARGO_MANIFEST_DIR"));
    let child = python(script, &[port.to_string(), ca]);
    let first = pair.recv_bytes(0);
    if first.is_err() {
        let out = child.wait_with_output().unwrap();
        panic!("nothing arrived; the client said: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(first.unwrap(), b"hello over tls");
    pair.send(vec![b'r'; 100_000], 0).unwrap();
    python_ok(child);
}

/// TLS terminated by another program in front of a plain `ws://` listener, the way wss is
/// often deployed (nginx, haproxy): a libsock `wss://` client through a Python (OpenSSL)
/// TLS proxy to a libsock `ws://` REP. So libsock's TLS client meets a TLS server that is
/// not rustls.
#[test]
fn a_libsock_wss_client_through_an_openssl_terminating_proxy() {
    let ctx = Context::new();
    let rep = sock(&ctx, libsock::REP);
    rep.bind("ws://127.0.0.1:*/behind").unwrap();
    let backend = port_of(&rep.get_last_endpoint().unwrap());
    let script = r#"
import socket, ssl, sys, threading
backend, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
outer, _ = listener.accept()
outer = tls.wrap_socket(outer, server_side=True)
inner = socket.create_connection(("127.0.0.1", backend))
def pump(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
t = threading.Thread(target=pump, args=(inner, outer))
t.start()
pump(outer, inner)
t.join()
"#;
    let dir = format!("{}/tests/data/wss", env!("CARGO_MANIFEST_DIR"));
    let mut proxy = python(
        script,
        &[backend.to_string(), format!("{dir}/server_chain.pem"), format!("{dir}/server.key")],
    );
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(proxy.stdout.as_mut().unwrap()), &mut line)
        .unwrap();
    let Ok(front) = line.trim().parse::<u16>() else {
        let out = proxy.wait_with_output().unwrap();
        panic!("the proxy did not start: {}", String::from_utf8_lossy(&out.stderr))
    };
    let req = sock(&ctx, libsock::REQ);
    req.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    req.connect(&format!("wss://localhost:{front}/behind")).unwrap();
    bounce(&rep, &req);
    drop(req);
    let _ = proxy.kill();
    let _ = proxy.wait();
}

/// HANDSHAKE_IVL covers the TLS handshake: a client that connects and says nothing, or
/// stops halfway through its ClientHello, is hung up on.
#[test]
fn a_silent_tls_client_is_dropped_after_the_handshake_interval() {
    use std::io::Read;
    let ctx = Context::new();
    let rep = sock(&ctx, libsock::REP);
    rep.set_handshake_ivl(200).unwrap();
    rep.set_wss_cert_pem(&pem("server_chain.pem")).unwrap();
    rep.set_wss_key_pem(&pem("server.key")).unwrap();
    rep.bind("wss://127.0.0.1:*").unwrap();
    let port = port_of(&rep.get_last_endpoint().unwrap());
    for opening in [&[][..], &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]] {
        let mut raw = TcpStream::connect(("127.0.0.1", port)).unwrap();
        raw.write_all(opening).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = std::time::Instant::now();
        let mut buf = [0u8; 64];
        // An alert may come first; then the end of the stream.
        loop {
            match raw.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("still open after {:?}: {e}", started.elapsed()),
            }
        }
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    }
}

/// WSS_CERT_FILE and WSS_KEY_FILE: a certificate renewed on disk (replaced by rename, as
/// certbot and Kubernetes' secret volumes do) is what new connections get, without a
/// restart; one that does not read leaves the previous one in use; connections made before
/// go on.
#[test]
fn certificate_files_are_followed_for_new_connections() {
    let ctx = Context::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let install = |c: &[u8], k: &[u8]| {
        // Written aside, then renamed over: a reader never sees half a file.
        std::fs::write(dir.path().join("new.crt"), c).unwrap();
        std::fs::write(dir.path().join("new.key"), k).unwrap();
        std::fs::rename(dir.path().join("new.crt"), &cert).unwrap();
        std::fs::rename(dir.path().join("new.key"), &key).unwrap();
    };
    install(&pem("server_chain.pem"), &pem("server.key"));
    let rep = sock(&ctx, libsock::REP);
    rep.set_wss_cert_file(cert.to_str().unwrap().as_bytes()).unwrap();
    rep.set_wss_key_file(key.to_str().unwrap().as_bytes()).unwrap();
    rep.bind("wss://127.0.0.1:*").unwrap();
    let to = format!("wss://localhost:{}/", port_of(&rep.get_last_endpoint().unwrap()));
    let replies = std::thread::spawn(move || {
        while let Ok(m) = rep.recv_bytes(0) {
            rep.send(&m, 0).unwrap();
            if m == b"last" {
                break;
            }
        }
    });
    let by_authority = |s: &Socket| s.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    let pinned = |s: &Socket| {
        s.set_wss_trust_pem(&pem("selfsigned.pem")).unwrap();
        s.set_wss_hostname(b"zeromq.org").unwrap();
    };
    let before = sock(&ctx, libsock::REQ);
    by_authority(&before);
    before.connect(&to).unwrap();
    before.send("before", 0).unwrap();
    assert_eq!(before.recv_bytes(0).unwrap(), b"before");

    install(&pem("selfsigned.pem"), &pem("selfsigned.key"));
    // Looked at again within 100 ms (and a stamp younger than a second is always re-read).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !is_served(&ctx, &to, pinned) {
        assert!(std::time::Instant::now() < deadline, "the renewed certificate is never served");
    }
    assert!(!is_served(&ctx, &to, by_authority), "the old certificate is still served");
    // A connection made before goes on.
    before.send("still", 0).unwrap();
    assert_eq!(before.recv_bytes(0).unwrap(), b"still");

    // Broken files: the certificate in use stays.
    std::fs::write(&cert, b"-----BEGIN CERTIFICATE-----\ntruncated").unwrap();
    std::thread::sleep(Duration::from_millis(250));
    assert!(is_served(&ctx, &to, pinned), "a broken file replaced the certificate in use");
    // Missing or mismatched files fail the bind.
    let other = sock(&ctx, libsock::REP);
    other.set_wss_cert_file(dir.path().join("missing.crt").to_str().unwrap().as_bytes()).unwrap();
    other.set_wss_key_file(key.to_str().unwrap().as_bytes()).unwrap();
    let err = other.bind("wss://127.0.0.1:*").unwrap_err();
    assert!(err.to_string().contains("missing.crt"), "{err}");
    let last = sock(&ctx, libsock::REQ);
    pinned(&last);
    last.connect(&to).unwrap();
    last.send("last", 0).unwrap();
    assert_eq!(last.recv_bytes(0).unwrap(), b"last");
    replies.join().unwrap();
}

/// WSS_TRUST_FILE: a connect's trusted certificates from a file that is followed. The
/// operator adds the new authority to the bundle (rename over, as Kubernetes' volumes do),
/// the server is replaced by one whose certificate only the new bundle trusts, and the same
/// socket's reconnection is trusted without a restart. A file that does not read at connect
/// fails the connect, naming it; one broken later leaves the trust read before.
#[test]
fn a_trusted_certificate_file_is_followed_for_reconnections() {
    let ctx = Context::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("trust.pem");
    let install = |pem: &[u8]| {
        std::fs::write(dir.path().join("new.pem"), pem).unwrap();
        std::fs::rename(dir.path().join("new.pem"), &bundle).unwrap();
    };
    install(&pem("ca.pem"));
    let (first, ep) = server(&ctx, "server_chain.pem", "server.key");
    let port = port_of(&ep);
    let to = format!("wss://localhost:{port}/path");
    let req = sock(&ctx, libsock::REQ);
    req.set_wss_trust_file(bundle.to_str().unwrap().as_bytes()).unwrap();
    req.set_reconnect_ivl(50).unwrap();
    req.connect(&to).unwrap();
    req.send("before", 0).unwrap();
    assert_eq!(first.recv_bytes(0).unwrap(), b"before");
    first.send("ok", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"ok");

    // The bundle gains the new server's (self-signed, so pinned) certificate.
    install(&[pem("ca.pem"), pem("selfsigned.pem")].concat());
    // Looked at, at most every 100 ms, as handshakes ask.
    std::thread::sleep(Duration::from_millis(150));
    drop(first);
    let second = rebind(&ctx, port, "selfsigned");
    req.send("after", 0).unwrap();
    assert_eq!(second.recv_bytes(0).unwrap(), b"after", "the renewed bundle is not trusted");
    second.send("ok", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"ok");

    // A bundle broken later: a new connect fails naming it, and the trust read before stays
    // for the socket's next reconnection.
    std::fs::write(&bundle, b"-----BEGIN CERTIFICATE-----\ntruncated").unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let other = sock(&ctx, libsock::REQ);
    other.set_wss_trust_file(bundle.to_str().unwrap().as_bytes()).unwrap();
    let err = other.connect(&to).unwrap_err();
    assert!(err.to_string().contains("trust.pem"), "{err}");
    drop(second);
    let third = rebind(&ctx, port, "selfsigned");
    req.send("broken", 0).unwrap();
    assert_eq!(third.recv_bytes(0).unwrap(), b"broken");
}

/// A REP on `wss://127.0.0.1:port/path` with the test certificate `name` (`.pem`, `.key`),
/// once the port is free again.
fn rebind(ctx: &Context, port: u16, name: &str) -> Socket {
    let rep = sock(ctx, libsock::REP);
    rep.set_wss_cert_pem(&pem(&format!("{name}.pem"))).unwrap();
    rep.set_wss_key_pem(&pem(&format!("{name}.key"))).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while let Err(e) = rep.bind(&format!("wss://127.0.0.1:{port}/path")) {
        assert!(std::time::Instant::now() < deadline, "port {port} never free again: {e}");
        std::thread::sleep(Duration::from_millis(20));
    }
    rep
}

/// A ZMTP mechanism inside the TLS, as over `ws://`: CURVE (`ZWS2.0/CURVE`) and PLAIN judged
/// by a ZAP handler, a wrong password refused.
#[test]
fn curve_and_plain_run_inside_tls() {
    let ctx = Context::new();
    let (server_public, server_secret) = libsock::curve_keypair();
    let (client_public, client_secret) = libsock::curve_keypair();
    let rep = sock(&ctx, libsock::REP);
    rep.set_wss_cert_pem(&pem("server_chain.pem")).unwrap();
    rep.set_wss_key_pem(&pem("server.key")).unwrap();
    rep.set_curve_server(true).unwrap();
    rep.set_curve_secretkey(server_secret.as_bytes()).unwrap();
    rep.bind("wss://127.0.0.1:*/curve").unwrap();
    let to = format!("wss://localhost:{}/curve", port_of(&rep.get_last_endpoint().unwrap()));
    let req = sock(&ctx, libsock::REQ);
    req.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    req.set_curve_serverkey(server_public.as_bytes()).unwrap();
    req.set_curve_publickey(client_public.as_bytes()).unwrap();
    req.set_curve_secretkey(client_secret.as_bytes()).unwrap();
    req.connect(&to).unwrap();
    bounce(&rep, &req);

    let auth = libsock::Authenticator::start(&ctx).unwrap();
    auth.set_plain_users([("alice", "secret")]);
    let rep = sock(&ctx, libsock::REP);
    rep.set_wss_cert_pem(&pem("server_chain.pem")).unwrap();
    rep.set_wss_key_pem(&pem("server.key")).unwrap();
    rep.set_plain_server(true).unwrap();
    rep.bind("wss://127.0.0.1:*/plain").unwrap();
    let to = format!("wss://localhost:{}/plain", port_of(&rep.get_last_endpoint().unwrap()));
    let login = |password: &'static str| {
        move |s: &Socket| {
            s.set_wss_trust_pem(&pem("ca.pem")).unwrap();
            s.set_plain_username(b"alice").unwrap();
            s.set_plain_password(password.as_bytes()).unwrap();
        }
    };
    let replies = std::thread::spawn(move || {
        let m = rep.recv_bytes(0).unwrap();
        rep.send(&m, 0).unwrap();
    });
    assert!(!is_served(&ctx, &to, login("wrong")), "a wrong password");
    assert!(is_served(&ctx, &to, login("secret")), "the right one");
    replies.join().unwrap();
}

/// The start of the Python clients below: arguments `port ca scheme`, and `upgrade(s, port,
/// path)`, which asks for `ZWS2.0` on the connected (and maybe wrapped) socket `s`, checks
/// the `101` and returns what followed it.
const PY_ZWS_CLIENT: &str = r#"
import base64, os, socket, ssl, sys
port, ca, scheme = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def upgrade(s, port, path):
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: ZWS2.0\r\n\r\n").encode())
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    head, got = got.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return got
"#;

/// Closing the socket ends each link as RFC 6455 and TLS ask: a close frame with status
/// 1000, then (over TLS) a close_notify before the TCP close. Seen by a client that checks
/// the bytes itself, over `ws://` and `wss://`: Python's `ssl` raises on an end without
/// close_notify (`suppress_ragged_eofs=False`), and the last frame must be the close.
#[test]
fn closing_the_socket_ends_websocket_and_tls_cleanly() {
    let script = PY_ZWS_CLIENT.to_string()
        + r#"
s = socket.create_connection(("127.0.0.1", port), timeout=10)
if scheme == "wss":
    tls = ssl.create_default_context(cafile=ca)
    s = tls.wrap_socket(s, server_hostname="localhost", suppress_ragged_eofs=False)
got = upgrade(s, port, "/chat")
# ZWS2.0: our routing id, then a message (masked with a zero key, so as it is).
s.sendall(b"\x82\x81\x00\x00\x00\x00\x00" + b"\x82\x86\x00\x00\x00\x00\x00hello")
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
assert got == b"\x82\x01\x00" + b"\x88\x02\x03\xe8", got
print("ok")
"#;
    let ca = format!("{}/tests/data/wss/ca.pem", env!("CARGO_MANIFEST_DIR"));
    for scheme in ["ws", "wss"] {
        let ctx = Context::new();
        let pair = sock(&ctx, libsock::PAIR);
        if scheme == "wss" {
            pair.set_wss_cert_pem(&pem("server_chain.pem")).unwrap();
            pair.set_wss_key_pem(&pem("server.key")).unwrap();
        }
        pair.bind(&format!("{scheme}://127.0.0.1:*/chat")).unwrap();
        let port = port_of(&pair.get_last_endpoint().unwrap());
        let child = python(&script, &[port.to_string(), ca.clone(), scheme.to_string()]);
        let first = pair.recv_bytes(0);
        if first.is_err() {
            let out = child.wait_with_output().unwrap();
            panic!("{scheme}: nothing arrived; the client said: {}", String::from_utf8_lossy(&out.stderr));
        }
        assert_eq!(first.unwrap(), b"hello", "{scheme}");
        drop(pair);
        python_ok(child);
    }
}

/// A client that sends a large message and its close_notify in one burst (Python over
/// OpenSSL): the listener reads the body out of rustls straight into the message, and still
/// delivers it whole before it sees the close; then the same from a second client that
/// hangs up without a close_notify after its message.
#[test]
fn a_large_message_just_before_the_tls_close_arrives_whole() {
    let script = PY_ZWS_CLIENT.to_string()
        + r#"
how = scheme
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="localhost")
upgrade(s, port, "/")
body = bytes(i % 251 for i in range(300_000))
mask = os.urandom(4)
payload = b"\x00" + body
masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
# ZWS2.0: our routing id (empty), then the message, then the close at once.
frame = b"\x82\x81" + mask + bytes([mask[0]]) + b"\x82\xff" + len(payload).to_bytes(8, "big") + mask + masked
s.sendall(frame)
if how == "close_notify":
    try:
        s.unwrap()
    except (ssl.SSLError, OSError):
        pass
else:
    # No close_notify: the TCP stream just ends (then what the server sends is read, so
    # that closing with unread bytes does not reset the connection).
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
s.close()
print("ok")
"#;
    let ca = format!("{}/tests/data/wss/ca.pem", env!("CARGO_MANIFEST_DIR"));
    let body: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
    let ctx = Context::new();
    let pair = wss_bound(&ctx, libsock::PAIR, "wss://127.0.0.1:*");
    let port = port_of(&pair.get_last_endpoint().unwrap());
    for how in ["close_notify", "hang_up"] {
        let child = python(&script, &[port.to_string(), ca.clone(), how.to_string()]);
        let got = pair.recv_bytes(0);
        python_ok(child);
        let got = got.unwrap_or_else(|e| panic!("{how}: nothing arrived: {e}"));
        assert!(got == body, "{how}: {} bytes differ", got.len());
    }
}

/// A receiver that leaves in the middle of a flood of large bodies (written from the message
/// behind their headers, the rest copied when the kernel is full) costs only its connection:
/// over `ws://` and `wss://` the listening PUSH goes on and serves the next receiver whole
/// messages.
#[test]
fn a_receiver_leaving_mid_flood_of_large_bodies_costs_only_its_connection() {
    let body = |i: u32| -> Vec<u8> {
        let mut b = i.to_be_bytes().to_vec();
        b.resize(200_000 + i as usize, i as u8);
        b
    };
    for scheme in ["ws", "wss"] {
        let ctx = Context::new();
        let push = sock(&ctx, libsock::PUSH);
        push.set_sndhwm(4).unwrap();
        if scheme == "wss" {
            push.set_wss_cert_pem(&pem("server_chain.pem")).unwrap();
            push.set_wss_key_pem(&pem("server.key")).unwrap();
        }
        push.bind(&format!("{scheme}://127.0.0.1:*")).unwrap();
        let endpoint = push.get_last_endpoint().unwrap();
        let pull = |hwm: i32| {
            let pull = sock(&ctx, libsock::PULL);
            pull.set_rcvhwm(hwm).unwrap();
            pull.set_wss_trust_pem(&pem("ca.pem")).unwrap();
            pull.connect(&endpoint).unwrap();
            pull
        };
        let first = pull(1);
        let sender = {
            let push = push;
            std::thread::spawn(move || {
                for i in 0..200 {
                    push.send(body(i), 0).unwrap_or_else(|e| panic!("{scheme}: message {i}: {e}"));
                }
                push
            })
        };
        // Read a few, then leave with the flood half sent (the kernel's buffers full).
        for _ in 0..3 {
            assert!(first.recv_bytes(0).unwrap().len() >= 200_000, "{scheme}");
        }
        drop(first);
        let second = pull(1000);
        let mut last = None;
        while let Ok(got) = second.recv_bytes(0) {
            let i = u32::from_be_bytes(got[..4].try_into().unwrap());
            assert!(got == body(i), "{scheme}: message {i} is not whole");
            assert!(last.is_none_or(|l| i > l), "{scheme}: {i} after {last:?}");
            last = Some(i);
            if i == 199 {
                break;
            }
        }
        assert_eq!(last, Some(199), "{scheme}: the flood's end reached the second receiver");
        sender.join().unwrap();
    }
}

/// Message `i` of a stream between the two PAIRs of the direct-sides test: its number, then
/// bytes derived from it, in one to three frames of sizes on both sides of the direct
/// sides' limits (8 KiB written, 64 KiB read) and beyond.
fn direct_race_message(i: u32) -> Vec<Vec<u8>> {
    let parts = 1 + (i % 5 == 0) as u32 + (i % 7 == 0) as u32;
    (0..parts)
        .map(|p| {
            let size = match (i.wrapping_mul(2_654_435_761) >> 8 ^ p) % 10 {
                0..=5 => (i % 64) as usize,
                6..=7 => 7_900 + (i as usize * 31) % 500,
                8 => 60_000 + (i as usize * 131) % 10_000,
                _ => 100_000 + (i as usize) % 5_000,
            };
            let mut body = [i.to_be_bytes(), p.to_be_bytes()].concat();
            body.extend((0..size).map(|n| (n as u32 ^ i ^ p) as u8));
            body
        })
        .collect()
}

/// The application thread's direct sides over `wss://`: a thread that waited writes its
/// next message through the link's TLS session itself, and one that waits in `recv` reads
/// and decrypts the records itself. Two PAIRs (server and client) send each other streams
/// that mix lone messages sent after a wait (direct) with bursts sent back to back (the
/// pipe and the I/O thread), across both direct sides' size limits, multipart, while the
/// other side alternates between waiting in `recv` (direct), polling first and taking what
/// is there already (the I/O thread): every message arrives whole and in order, both ways.
/// (That the direct sides run is seen in the latency, BENCHMARKS.md; breaking either one's
/// TLS path fails this test.)
#[test]
fn direct_sides_cross_tls_whole_and_in_order_both_ways() {
    exchange_across_the_direct_sides(3_000);
}

/// The same exchange, long (100 000 messages each way; run by hand: `cargo test -p libsock
/// --test websocket_tls -- --ignored`).
#[test]
#[ignore]
fn stress_wss_direct_sides() {
    exchange_across_the_direct_sides(100_000);
}

/// Two wss PAIRs exchanging `messages` messages each way, as the test above describes.
fn exchange_across_the_direct_sides(messages: u32) {
    let ctx = Context::new();
    let server = wss_bound(&ctx, libsock::PAIR, "wss://127.0.0.1:*/race");
    let client = sock(&ctx, libsock::PAIR);
    client.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    client.connect(&server.get_last_endpoint().unwrap()).unwrap();
    let run = |me: Socket, name: &'static str| {
        std::thread::spawn(move || {
            let (mut sent, mut got) = (0u32, 0u32);
            while sent < messages || got < messages {
                // A lone message after a wait, or a burst of up to four back to back.
                let burst = if sent % 9 < 4 { 1 } else { 4 };
                for _ in 0..burst {
                    if sent < messages {
                        me.send_multipart(direct_race_message(sent), 0)
                            .unwrap_or_else(|e| panic!("{name}: send {sent}: {e}"));
                        sent += 1;
                    }
                }
                // One message waited for in `recv` (direct), or after a poll (the I/O
                // thread's pipe); then up to three more if they are there already. Each
                // side sends before it waits, so neither waits for the other forever.
                if got < messages {
                    if got % 4 == 1 {
                        let mut items = [me.as_poll_item(libsock::POLLIN)];
                        libsock::poll(&mut items, 10_000).unwrap();
                    }
                    let m = me.recv_multipart(0).unwrap_or_else(|e| panic!("{name}: message {got}: {e}"));
                    assert!(
                        m == direct_race_message(got),
                        "{name}: message {got} differs ({} frames)",
                        m.len()
                    );
                    got += 1;
                }
                for _ in 0..3 {
                    let Ok(m) = me.recv_multipart(libsock::DONTWAIT) else { break };
                    assert!(
                        m == direct_race_message(got),
                        "{name}: message {got} differs ({} frames)",
                        m.len()
                    );
                    got += 1;
                }
            }
            me
        })
    };
    let a = run(server, "server");
    let b = run(client, "client");
    let (_server, _client) = (a.join().unwrap(), b.join().unwrap());
}

/// While a thread waits in `recv` on a `wss://` link, it reads and decrypts the records
/// itself (the direct read side); a ping that comes then goes to the I/O thread, which
/// answers it through the same TLS session, and the message behind it still reaches the
/// waiting thread, whose reply goes out directly. A close that comes while it waits is
/// echoed, then the TLS close and the end. The client is Python over OpenSSL, which checks
/// every record and the close_notify (`suppress_ragged_eofs=False`).
#[test]
fn a_waiting_receiver_over_tls_leaves_pings_and_closes_to_the_io_thread() {
    let script = PY_ZWS_CLIENT.to_string()
        + r#"
import time
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="localhost", suppress_ragged_eofs=False)
got = upgrade(s, port, "/")

def exactly(n):
    global got
    while len(got) < n:
        chunk = s.recv(65536)
        assert chunk, "the stream ended early"
        got += chunk
    out, got = got[:n], got[n:]
    return out

def frame():
    head = exactly(2)
    assert head[1] < 126, head
    return head + exactly(head[1])

# ZWS2.0: our routing id, empty (masked with a zero key, so as it is).
s.sendall(b"\x82\x81\x00\x00\x00\x00\x00")
assert frame() == b"\x82\x01\x00", "the server's routing id"
for round in range(3):
    time.sleep(0.2)  # the server's thread waits on the stream by now
    s.sendall(b"\x89\x84\x00\x00\x00\x00ping")
    pong = frame()
    assert pong == b"\x8a\x04ping", pong
    body = b"request %d" % round
    s.sendall(bytes([0x82, 0x80 | (len(body) + 1)]) + b"\x00\x00\x00\x00\x00" + body)
    reply = b"reply %d" % round
    assert frame() == bytes([0x82, len(reply) + 1, 0]) + reply, "the reply"
time.sleep(0.2)
s.sendall(b"\x88\x82\x00\x00\x00\x00\x03\xe8")
assert frame() == b"\x88\x02\x03\xe8", "the close echoed"
while True:
    chunk = s.recv(65536)  # raises without a close_notify
    if not chunk:
        break
    assert False, chunk
print("ok")
"#;
    let ca = format!("{}/tests/data/wss/ca.pem", env!("CARGO_MANIFEST_DIR"));
    let ctx = Context::new();
    let pair = wss_bound(&ctx, libsock::PAIR, "wss://127.0.0.1:*/");
    let port = port_of(&pair.get_last_endpoint().unwrap());
    let child = python(&script, &[port.to_string(), ca, "wss".to_string()]);
    for round in 0..3 {
        let got = pair.recv_bytes(0);
        if got.is_err() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "round {round}: nothing arrived; the client said: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(got.unwrap(), format!("request {round}").as_bytes());
        pair.send(format!("reply {round}").as_str(), 0).unwrap();
    }
    pair.set_rcvtimeo(3000).unwrap();
    assert!(pair.recv_bytes(0).is_err(), "nothing after the close");
    python_ok(child);
}

/// TLS 1.3 key updates (a client rolling its keys and asking the server to roll its own)
/// that come while the server's thread reads the link itself (the direct read side) are
/// taken by the link's TLS session there: the request behind each is read, and the reply,
/// encrypted with the new keys behind the server's own key update, is read by the client.
/// The client is rustls itself, driven by hand, since Python's `ssl` cannot update keys.
#[test]
fn key_updates_while_the_receiver_reads_the_link_itself() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::io::Read;

    let ctx = Context::new();
    let pair = wss_bound(&ctx, libsock::PAIR, "wss://127.0.0.1:*/");
    let port = port_of(&pair.get_last_endpoint().unwrap());
    let server = std::thread::spawn(move || {
        for round in 0..5 {
            let got = pair.recv_bytes(0).unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(got, format!("request {round}").as_bytes());
            pair.send(format!("reply {round}").as_str(), 0).unwrap();
        }
    });

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(&pem("ca.pem")).unwrap()).unwrap();
    // *ring*, as libsock's own (deprecated by rustls for lacking post-quantum exchange).
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: ZWS2.0\r\n\r\n"
    );
    tls.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut buf = [0u8; 4096];
        let n = tls.read(&mut buf).unwrap();
        assert!(n > 0, "no upgrade response");
        got.extend_from_slice(&buf[..n]);
    }
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(got.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&got));
    got.drain(..end);
    let mut frame = |tls: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>| -> Vec<u8> {
        let mut need = 2;
        loop {
            if got.len() >= 2 {
                need = 2 + got[1] as usize;
            }
            if got.len() >= need {
                return got.drain(..need).collect();
            }
            let mut buf = [0u8; 4096];
            let n = tls.read(&mut buf).unwrap();
            assert!(n > 0, "the stream ended early");
            got.extend_from_slice(&buf[..n]);
        }
    };
    // ZWS2.0: our routing id (empty, masked with a zero key), then the server's.
    tls.write_all(b"\x82\x81\x00\x00\x00\x00\x00").unwrap();
    assert_eq!(frame(&mut tls), b"\x82\x01\x00", "the server's routing id");
    for round in 0..5 {
        // Long enough for the server's thread to wait on the stream.
        std::thread::sleep(Duration::from_millis(100));
        tls.conn.refresh_traffic_keys().unwrap();
        let body = format!("request {round}");
        let mut wire = vec![0x82, 0x80 | (body.len() as u8 + 1), 0, 0, 0, 0, 0];
        wire.extend_from_slice(body.as_bytes());
        tls.write_all(&wire).unwrap();
        let reply = format!("reply {round}");
        let want = [&[0x82, reply.len() as u8 + 1, 0][..], reply.as_bytes()].concat();
        assert_eq!(frame(&mut tls), want, "round {round}");
    }
    server.join().unwrap();
}
