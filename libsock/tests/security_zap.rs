//! libsock to libsock over tcp: our [`Authenticator`] with a directory of CURVE certificates
//! (reloaded at run time, and watched) and a watched password file, hostile handshakes (a HELLO of the wrong size, a flood of
//! half-done handshakes) refused while a real client still gets through.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use libsock::{curve_keypair, public_certificate, Authenticator, Context, Socket};

fn curve_server(ctx: &Context, secret: &str) -> Socket {
    let s = ctx.socket(libsock::PULL).unwrap();
    s.set_curve_server(true).unwrap();
    s.set_curve_secretkey(secret.as_bytes()).unwrap();
    s.set_rcvtimeo(3000).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    s
}

fn curve_client(ctx: &Context, server_public: &str, keys: &(String, String), ep: &str) -> Socket {
    let s = ctx.socket(libsock::PUSH).unwrap();
    s.set_linger(0).unwrap();
    s.set_curve_serverkey(server_public.as_bytes()).unwrap();
    s.set_curve_publickey(keys.0.as_bytes()).unwrap();
    s.set_curve_secretkey(keys.1.as_bytes()).unwrap();
    s.connect(ep).unwrap();
    s
}

#[test]
fn certificate_directory_admits_known_keys_and_reload_picks_up_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (curve_keypair(), curve_keypair());
    std::fs::write(dir.path().join("alice.key"), public_certificate(&alice.0)).unwrap();
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_curve(dir.path()).unwrap();
    let (server_public, server_secret) = curve_keypair();
    let pull = curve_server(&ctx, &server_secret);
    let ep = pull.get_last_endpoint().unwrap();
    drop(only_alice_gets_through(&ctx, &pull, &server_public, &alice, &bob));

    // Bob's certificate arrives; after reload he is admitted.
    std::fs::write(dir.path().join("bob.key"), public_certificate(&bob.0)).unwrap();
    auth.reload().unwrap();
    pull.set_rcvtimeo(3000).unwrap();
    let bob_push = curve_client(&ctx, &server_public, &bob, &ep);
    bob_push.send("bob again", 0).unwrap();
    let msg = pull.recv_msg(0).unwrap();
    assert_eq!((&*msg, msg.gets("User-Id")), (&b"bob again"[..], Some(bob.0.as_str())));

    // A broken certificate is reported with its file name and the old policy stays.
    std::fs::write(dir.path().join("broken.key"), "public-key = \"tooshort\"\n").unwrap();
    let err = auth.reload().unwrap_err().to_string();
    assert!(err.contains("broken.key:1"), "{err}");
}

#[test]
fn keys_set_in_memory_admit_only_those_and_survive_a_reload() {
    let (alice, bob) = (curve_keypair(), curve_keypair());
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    let alice_key: [u8; 32] = libsock::z85_decode(&alice.0).unwrap().try_into().unwrap();
    auth.set_curve_keys([alice_key]);
    let (server_public, server_secret) = curve_keypair();
    let pull = curve_server(&ctx, &server_secret);
    let alice_push = only_alice_gets_through(&ctx, &pull, &server_public, &alice, &bob);
    // No directory to read again: a reload keeps the keys.
    auth.reload().unwrap();
    alice_push.send("again", 0).unwrap();
    pull.set_rcvtimeo(3000).unwrap();
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"again");
}

/// Whether a CURVE client with `keys` gets a message through to `pull` now (a fresh
/// connection, so a fresh handshake), within `within`.
fn admitted(ctx: &Context, pull: &Socket, server_public: &str, keys: &(String, String), within: i32) -> bool {
    let push = curve_client(ctx, server_public, keys, &pull.get_last_endpoint().unwrap());
    // Refused before this thread sends (a loaded host), the connection and its pipe are gone.
    if push.send(keys.0.as_str(), libsock::DONTWAIT).is_err() {
        return false;
    }
    pull.set_rcvtimeo(within).unwrap();
    match pull.recv_msg(0) {
        Ok(msg) => {
            assert_eq!(msg.gets("User-Id"), Some(keys.0.as_str()), "only the client tried sends");
            true
        }
        Err(_) => false,
    }
}

/// czmq's zauth looks at its certificate store before each handshake: a certificate added
/// to the directory admits its client, one removed refuses it, without a reload; a
/// half-written `*.key` file neither stops the others nor admits anyone.
#[test]
fn a_watched_directory_admits_and_refuses_without_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (curve_keypair(), curve_keypair());
    std::fs::write(dir.path().join("alice.key"), public_certificate(&alice.0)).unwrap();
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_curve(dir.path()).unwrap();
    let (server_public, server_secret) = curve_keypair();
    let pull = curve_server(&ctx, &server_secret);
    assert!(admitted(&ctx, &pull, &server_public, &alice, 3000));
    assert!(!admitted(&ctx, &pull, &server_public, &bob, 300), "bob has no certificate yet");

    // Bob's certificate, as czmq names one; a broken pyzmq file beside it.
    std::fs::write(dir.path().join("bob.pub"), public_certificate(&bob.0)).unwrap();
    std::fs::write(dir.path().join("carol.key"), "public-key = \"half").unwrap();
    std::thread::sleep(Duration::from_millis(150)); // the handler's look interval
    assert!(admitted(&ctx, &pull, &server_public, &bob, 3000), "bob's certificate was added");
    assert!(admitted(&ctx, &pull, &server_public, &alice, 3000));

    std::fs::remove_file(dir.path().join("alice.key")).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    assert!(!admitted(&ctx, &pull, &server_public, &alice, 300), "alice's certificate was removed");
    assert!(admitted(&ctx, &pull, &server_public, &bob, 3000));
    // A reload, though, still reports the broken file and leaves things as they are.
    let err = auth.reload().unwrap_err().to_string();
    assert!(err.contains("carol.key"), "{err}");
    assert!(admitted(&ctx, &pull, &server_public, &bob, 3000));
}

/// A PLAIN password file is watched the same way; a version that does not parse leaves the
/// accounts read before it.
#[test]
fn a_watched_password_file_follows_its_edits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwords");
    std::fs::write(&file, "alice=one\n").unwrap();
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_plain(&file).unwrap();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_plain_server(true).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let gets_through = |user: &str, password: &str, within: i32| {
        let push = ctx.socket(libsock::PUSH).unwrap();
        push.set_linger(0).unwrap();
        push.set_plain_username(user.as_bytes()).unwrap();
        push.set_plain_password(password.as_bytes()).unwrap();
        push.connect(&ep).unwrap();
        push.send(user, libsock::DONTWAIT).unwrap();
        pull.set_rcvtimeo(within).unwrap();
        pull.recv_msg(0).map(|m| m.gets("User-Id").map(str::to_owned)).ok().flatten()
    };
    assert_eq!(gets_through("alice", "one", 3000).as_deref(), Some("alice"));
    // Rewritten in place at once (the same size: only the time tells, and it may not).
    std::fs::write(&file, "alice=two\n").unwrap();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(gets_through("alice", "one", 300), None, "the old password is gone");
    assert_eq!(gets_through("alice", "two", 3000).as_deref(), Some("alice"));
    std::fs::write(&file, "alice=two\nbroken line\n").unwrap();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(gets_through("alice", "two", 3000).as_deref(), Some("alice"), "a broken file changes nothing");
}

/// Bob and then Alice connect to `pull` and send: only Alice's message arrives, with her
/// public key as its user id. Returns Alice's socket.
fn only_alice_gets_through(
    ctx: &Context,
    pull: &Socket,
    server_public: &str,
    alice: &(String, String),
    bob: &(String, String),
) -> Socket {
    let ep = pull.get_last_endpoint().unwrap();
    let bob_push = curve_client(ctx, server_public, bob, &ep);
    bob_push.send("from bob", libsock::DONTWAIT).unwrap();
    let alice_push = curve_client(ctx, server_public, alice, &ep);
    alice_push.send("from alice", 0).unwrap();
    let msg = pull.recv_msg(0).unwrap();
    assert_eq!(&*msg, b"from alice");
    assert_eq!(msg.gets("User-Id"), Some(alice.0.as_str()), "CURVE user id is the Z85 public key");
    pull.set_rcvtimeo(300).unwrap();
    assert!(pull.recv_msg(0).is_err(), "bob's key is not admitted");
    alice_push
}

#[test]
fn address_deny_list_refuses_before_credentials() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_curve_allow_any();
    auth.deny("127.0.0.1");
    let (server_public, server_secret) = curve_keypair();
    let pull = curve_server(&ctx, &server_secret);
    pull.set_rcvtimeo(500).unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let push = curve_client(&ctx, &server_public, &curve_keypair(), &ep);
    push.send("denied", libsock::DONTWAIT).unwrap();
    assert!(pull.recv_msg(0).is_err());
}

/// Reads until the peer closes; returns what arrived (bounded).
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 || all.len() > 1 << 20 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    all
}

fn curve_greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    g.extend_from_slice(b"CURVE");
    g.extend_from_slice(&[0; 15]);
    g.push(0);
    g.extend_from_slice(&[0; 31]);
    g
}

#[test]
fn hello_of_the_wrong_size_closes_only_that_connection() {
    let ctx = Context::new();
    let (server_public, server_secret) = curve_keypair();
    let pull = curve_server(&ctx, &server_secret);
    let ep = pull.get_last_endpoint().unwrap();
    let mut raw = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    let mut bytes = curve_greeting();
    // A HELLO one byte short (199 bytes instead of 200).
    bytes.extend_from_slice(&[0x04, 199, 5]);
    bytes.extend_from_slice(b"HELLO");
    bytes.extend_from_slice(&[0; 193]);
    raw.write_all(&bytes).unwrap();
    let got = read_until_closed(&mut raw);
    // At most our greeting (the close may be a reset that discards even that): no WELCOME.
    assert!(got.len() <= 64, "only our greeting, no WELCOME: {} bytes", got.len());
    // The server still serves real clients.
    let push = curve_client(&ctx, &server_public, &curve_keypair(), &ep);
    push.send("still fine", 0).unwrap();
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"still fine");
}

#[test]
fn flood_of_half_done_handshakes_is_bounded_and_times_out() {
    let ctx = Context::new();
    let (server_public, server_secret) = curve_keypair();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_curve_server(true).unwrap();
    pull.set_curve_secretkey(server_secret.as_bytes()).unwrap();
    pull.set_handshake_ivl(500).unwrap();
    pull.set_rcvtimeo(3000).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    // 200 peers that send a greeting and a valid-size HELLO that does not open (random
    // bytes: a HELLO needs the server's key), or a real HELLO and then nothing.
    let mut floods = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
        let mut bytes = curve_greeting();
        bytes.extend_from_slice(&[0x04, 200, 5]);
        bytes.extend_from_slice(b"HELLO\x01\x00");
        bytes.extend(std::iter::repeat_n((i % 251) as u8, 193));
        s.write_all(&bytes).unwrap();
        floods.push(s);
    }
    // Meanwhile a real client gets through.
    let push = curve_client(&ctx, &server_public, &curve_keypair(), &ep);
    push.send("through the flood", 0).unwrap();
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"through the flood");
    // Every flooding connection is closed by the server (bad HELLO, or handshake timeout),
    // having received at most our greeting.
    for mut s in floods {
        let got = read_until_closed(&mut s);
        assert!(got.len() <= 64, "{} bytes", got.len());
    }
}

/// Events up to (and including) the first `until`, or all that come within 10 s.
fn events_until(mon: &libsock::Monitor, until: libsock::SocketEvent) -> Vec<libsock::MonitorEvent> {
    let mut seen = Vec::new();
    while let Ok(ev) = mon.recv_event(10_000) {
        let done = ev.event == until;
        seen.push(ev);
        if done {
            break;
        }
    }
    seen
}

/// ZAP_ENFORCE_DOMAIN with no handler bound: as libzmq 4.3.5 (checked with pyzmq's, PLAIN,
/// CURVE and NULL), the server sends the peer nothing (no ERROR, so the client sees no
/// HANDSHAKE_FAILED_AUTH) and reports HANDSHAKE_FAILED_NO_DETAIL with EFAULT; nothing is
/// delivered.
#[test]
fn enforced_domain_without_a_handler_drops_peers_without_an_error() {
    use libsock::{SocketEvent, EVENT_ALL};
    for mechanism in ["CURVE", "PLAIN"] {
        let ctx = Context::new();
        let (server_public, server_secret) = curve_keypair();
        let pull = ctx.socket(libsock::PULL).unwrap();
        if mechanism == "CURVE" {
            pull.set_curve_server(true).unwrap();
            pull.set_curve_secretkey(server_secret.as_bytes()).unwrap();
        } else {
            pull.set_plain_server(true).unwrap();
        }
        pull.set_zap_domain(b"strict").unwrap();
        pull.set_zap_enforce_domain(true).unwrap();
        pull.set_rcvtimeo(300).unwrap();
        let server_mon = pull.monitor_events(EVENT_ALL).unwrap();
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ep = pull.get_last_endpoint().unwrap();

        let push = ctx.socket(libsock::PUSH).unwrap();
        push.set_linger(0).unwrap();
        if mechanism == "CURVE" {
            let keys = curve_keypair();
            push.set_curve_serverkey(server_public.as_bytes()).unwrap();
            push.set_curve_publickey(keys.0.as_bytes()).unwrap();
            push.set_curve_secretkey(keys.1.as_bytes()).unwrap();
        } else {
            push.set_plain_username(b"user").unwrap();
            push.set_plain_password(b"pass").unwrap();
        }
        let client_mon = push.monitor_events(EVENT_ALL).unwrap();
        push.connect(&ep).unwrap();
        push.send("never delivered", libsock::DONTWAIT).ok();

        let server_events = events_until(&server_mon, SocketEvent::HandshakeFailedNoDetail);
        let failed = server_events.last().expect("server events");
        assert_eq!((failed.event, failed.value), (SocketEvent::HandshakeFailedNoDetail, libc::EFAULT as u32));
        let client_events = events_until(&client_mon, SocketEvent::Disconnected);
        assert_eq!(client_events.last().map(|e| e.event), Some(SocketEvent::Disconnected), "{mechanism}");
        assert!(
            client_events.iter().all(|e| e.event != SocketEvent::HandshakeFailedAuth),
            "{mechanism}: the client got an ERROR: {client_events:?}"
        );
        assert!(pull.recv_msg(0).is_err(), "{mechanism}: nothing is delivered");
    }
}

/// How a test ZAP handler answers a request (its frames).
type Answer = fn(&[Vec<u8>]) -> Vec<Vec<u8>>;

/// A NULL server with a ZAP domain, a handler on its own thread that answers every request
/// with `reply(request)`, and a client that connects to it (linger 0, fast reconnects).
/// Returns the server, its monitor, the client, its monitor and the handler's request count.
fn null_zap_pair(
    ctx: &Context,
    reply: Answer,
) -> (Socket, libsock::Monitor, Socket, libsock::Monitor, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let asked = spawn_handler(ctx, reply);
    let server = ctx.socket(libsock::DEALER).unwrap();
    server.set_linger(0).unwrap();
    server.set_zap_domain(b"test").unwrap();
    let server_mon = server.monitor_events(libsock::EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(libsock::DEALER).unwrap();
    client.set_linger(0).unwrap();
    client.set_reconnect_ivl(20).unwrap();
    let client_mon = client.monitor_events(libsock::EVENT_ALL).unwrap();
    client.connect(&server.get_last_endpoint().unwrap()).unwrap();
    (server, server_mon, client, client_mon, asked)
}

/// A malformed ZAP reply drops the peer without an ERROR and reports libzmq's
/// `ZMQ_PROTOCOL_ERROR_ZAP_*` code with HANDSHAKE_FAILED_PROTOCOL (libzmq's
/// test_security_zap), not an authentication failure.
#[test]
fn malformed_zap_replies_report_libzmq_protocol_codes() {
    use libsock::protocol_error::*;
    use libsock::SocketEvent;
    let cases: [(Answer, u32); 4] = [
        (
            |r| vec![b"2.0".to_vec(), r[1].clone(), b"200".to_vec(), vec![], vec![], vec![]],
            PROTOCOL_ERROR_ZAP_BAD_VERSION,
        ),
        (
            |_| vec![b"1.0".to_vec(), b"x".to_vec(), b"200".to_vec(), vec![], vec![], vec![]],
            PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID,
        ),
        (
            |r| vec![b"1.0".to_vec(), r[1].clone(), b"2xx".to_vec(), vec![], vec![], vec![]],
            PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE,
        ),
        (
            |r| vec![b"1.0".to_vec(), r[1].clone(), b"200".to_vec(), vec![], vec![], vec![], vec![]],
            PROTOCOL_ERROR_ZAP_MALFORMED_REPLY,
        ),
    ];
    for (reply, code) in cases {
        let ctx = Context::new();
        let (_server, server_mon, _client, client_mon, _) = null_zap_pair(&ctx, reply);
        let events = events_until(&server_mon, SocketEvent::HandshakeFailedProtocol);
        let failed = events.last().expect("server events");
        assert_eq!((failed.event, failed.value), (SocketEvent::HandshakeFailedProtocol, code), "{events:?}");
        // No ERROR: the client sees the connection close (EPIPE, as libzmq reports it).
        let client_events = events_until(&client_mon, SocketEvent::HandshakeFailedNoDetail);
        let closed = client_events.last().expect("client events");
        assert_eq!((closed.event, closed.value), (SocketEvent::HandshakeFailedNoDetail, libc::EPIPE as u32));
        assert!(
            client_events.iter().all(|e| e.event != SocketEvent::HandshakeFailedAuth),
            "{client_events:?}"
        );
    }
}

/// After an ERROR (ZAP said 400/500) a client does not reconnect, as libzmq's session ends
/// on that protocol error: the handler is asked once, and the client reports the status.
#[test]
fn a_client_refused_with_an_error_does_not_reconnect() {
    use libsock::SocketEvent;
    use std::sync::atomic::Ordering;
    let ctx = Context::new();
    let (_server, server_mon, _client, client_mon, asked) = null_zap_pair(&ctx, |r| {
        vec![b"1.0".to_vec(), r[1].clone(), b"500".to_vec(), b"broken".to_vec(), vec![], vec![]]
    });
    let failed = events_until(&server_mon, SocketEvent::HandshakeFailedAuth);
    assert_eq!(failed.last().map(|e| e.value), Some(500));
    let refused = events_until(&client_mon, SocketEvent::HandshakeFailedAuth);
    assert_eq!(refused.last().map(|e| e.value), Some(500));
    // With a 20 ms reconnect interval, a retry would have shown up well within this.
    let mut later = Vec::new();
    while let Ok(ev) = client_mon.recv_event(500) {
        later.push(ev.event);
    }
    assert!(
        !later.contains(&SocketEvent::ConnectDelayed) && !later.contains(&SocketEvent::Connected),
        "{later:?}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

/// A ZAP handler on its own thread in `ctx` that answers every request with
/// `reply(request)`; returns its request count.
fn spawn_handler(
    ctx: &Context,
    reply: impl Fn(&[Vec<u8>]) -> Vec<Vec<u8>> + Send + 'static,
) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let handler = ctx.socket(libsock::REP).unwrap();
    handler.bind("inproc://zeromq.zap.01").unwrap();
    let asked = std::sync::Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    std::thread::spawn(move || {
        handler.set_rcvtimeo(20_000).unwrap();
        while let Ok(request) = handler.recv_multipart(0) {
            count.fetch_add(1, Ordering::SeqCst);
            if handler.send_multipart(reply(&request), 0).is_err() {
                break;
            }
        }
    });
    asked
}

/// [`spawn_handler`] answering `status` with an empty user id.
fn answering_handler(ctx: &Context, status: &'static str) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    spawn_handler(ctx, move |r| vec![b"1.0".to_vec(), r[1].clone(), status.into(), vec![], vec![], vec![]])
}

/// When the PLAIN server is the side that dials and ZAP refuses its peer (400), libzmq's
/// server sends the ERROR and takes the refused peer's hang-up as a lost connection: with
/// RECONNECT_IVL -1 its endpoint ends (`disconnect` says ENOENT), with an interval it dials
/// again and asks ZAP again. The same sockets on libzmq (the `zmq` crate) show the first.
#[test]
fn a_dialling_server_that_refuses_its_peer_dials_again_or_forgets_the_endpoint() {
    use libsock::SocketEvent;
    use std::sync::atomic::Ordering;
    // libzmq, the reference: a PLAIN client that binds, a PLAIN server that dials.
    let zctx = zmq::Context::new();
    let zhandler = zctx.socket(zmq::REP).unwrap();
    zhandler.bind("inproc://zeromq.zap.01").unwrap();
    let zclient = zctx.socket(zmq::DEALER).unwrap();
    zclient.set_plain_username(Some("u")).unwrap();
    zclient.set_plain_password(Some("p")).unwrap();
    zclient.bind("tcp://127.0.0.1:*").unwrap();
    let zserver = zctx.socket(zmq::DEALER).unwrap();
    zserver.set_plain_server(true).unwrap();
    zserver.set_reconnect_ivl(-1).unwrap();
    let zep = zclient.get_last_endpoint().unwrap().unwrap();
    zserver.connect(&zep).unwrap();
    let request = zhandler.recv_multipart(0).unwrap();
    zhandler.send_multipart([&b"1.0"[..], &request[1], b"400", b"", b"", b""], 0).unwrap();
    // One disconnect, once the refused peer has hung up (a successful one would end the
    // endpoint too).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        zserver.disconnect(&zep),
        Err(zmq::Error::ENOENT),
        "libzmq's dialling server forgets the endpoint"
    );

    for reconnect_ivl in [-1, 50] {
        let ctx = Context::new();
        let asked = answering_handler(&ctx, "400");
        let client = ctx.socket(libsock::DEALER).unwrap();
        client.set_plain_username(b"u").unwrap();
        client.set_plain_password(b"p").unwrap();
        client.bind("tcp://127.0.0.1:*").unwrap();
        let ep = client.get_last_endpoint().unwrap();
        let server = ctx.socket(libsock::DEALER).unwrap();
        server.set_linger(0).unwrap();
        server.set_plain_server(true).unwrap();
        server.set_reconnect_ivl(reconnect_ivl).unwrap();
        let mon = server.monitor_events(libsock::EVENT_ALL).unwrap();
        server.connect(&ep).unwrap();
        let refused = events_until(&mon, SocketEvent::HandshakeFailedAuth);
        assert_eq!(refused.last().map(|e| e.value), Some(400));
        if reconnect_ivl < 0 {
            events_until(&mon, SocketEvent::Disconnected);
            std::thread::sleep(Duration::from_millis(100));
            let answer = server.disconnect(&ep);
            assert!(
                matches!(answer, Err(libsock::Error::NoSuchEndpoint(_))),
                "the endpoint ends: {answer:?}"
            );
        } else {
            let deadline = Instant::now() + Duration::from_secs(5);
            while asked.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(asked.load(Ordering::SeqCst) >= 3, "the server dials again and asks ZAP again");
        }
    }
}

/// A handler's user id is `User-Id` on the peer's messages even when it is empty, as
/// libzmq's `mechanism_t::set_user_id` (the `security` differential tests compare it).
#[test]
fn an_empty_user_id_from_zap_is_still_a_user_id() {
    let ctx = Context::new();
    answering_handler(&ctx, "200");
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_plain_server(true).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(libsock::PUSH).unwrap();
    push.set_plain_username(b"u").unwrap();
    push.set_plain_password(b"p").unwrap();
    push.connect(&pull.get_last_endpoint().unwrap()).unwrap();
    push.send("hello", 0).unwrap();
    assert_eq!(pull.recv_msg(0).unwrap().gets("User-Id"), Some(""));
}
