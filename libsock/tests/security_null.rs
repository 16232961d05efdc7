//! NULL connections against libzmq 4.3 (the `zmq` crate): received messages carry the
//! connection's metadata (`Peer-Address`, the peer's READY properties, the source fd); with a
//! ZAP_DOMAIN, NULL peers go through the ZAP handler both ways (libsock's handler judging a
//! libzmq client, libzmq's judging a libsock client); the PLAIN/CURVE option set last picks
//! the mechanism, as in libzmq.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libsock::{Context, MonitorEvent, OptionValue, Socket, SocketEvent, EVENT_ALL};

const TIMEOUT_MS: i32 = 10_000;

fn wait_event(mon: &libsock::Monitor, want: SocketEvent) -> Option<MonitorEvent> {
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS as u64);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match mon.recv_event(left.as_millis().max(1) as i32) {
            Ok(ev) if ev.event == want => return Some(ev),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// ZAP frames for a NULL request: domain "deny" is refused (400), any other admitted as
/// `anon-<domain>`. Checks the request has libzmq's shape (no credentials after "NULL").
fn judge(req: &[Vec<u8>]) -> Vec<Vec<u8>> {
    assert_eq!(req[0], b"1.0");
    assert_eq!(req[5], b"NULL", "mechanism frame");
    assert_eq!(req.len(), 6, "NULL sends no credentials");
    assert_eq!(req[3], b"127.0.0.1", "address frame");
    let (status, user): (&[u8], Vec<u8>) =
        if req[2] == b"deny" { (b"400", vec![]) } else { (b"200", [b"anon-", &req[2][..]].concat()) };
    vec![b"1.0".to_vec(), req[1].clone(), status.to_vec(), b"".to_vec(), user, vec![]]
}

/// A libsock ZAP handler answering every request with [`judge`] until `stop` is set; joined,
/// it returns the domains it was asked about. (Not a fixed count: a refused libzmq client may
/// come back, e.g. when the connection is reset before it reads the ERROR, and ask again.)
fn libsock_handler(ctx: &Context, stop: Arc<AtomicBool>) -> JoinHandle<Vec<Vec<u8>>> {
    let rep = ctx.socket(libsock::REP).unwrap();
    rep.set_rcvtimeo(50).unwrap();
    rep.bind("inproc://zeromq.zap.01").unwrap();
    std::thread::spawn(move || {
        let mut domains = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let Ok(req) = rep.recv_multipart(0) else { continue };
            rep.send_multipart(judge(&req), 0).unwrap();
            domains.push(req[2].clone());
        }
        domains
    })
}

fn libsock_pull(ctx: &Context, domain: &str) -> (Socket, String) {
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_rcvtimeo(TIMEOUT_MS).unwrap();
    pull.set_linger(0).unwrap();
    pull.set_zap_domain(domain.as_bytes()).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    (pull, ep)
}

#[test]
fn null_messages_from_libzmq_carry_connection_metadata() {
    let ctx = Context::new();
    let router = ctx.socket(libsock::ROUTER).unwrap();
    router.set_rcvtimeo(TIMEOUT_MS).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.get_last_endpoint().unwrap();
    let zctx = zmq::Context::new();
    let dealer = zctx.socket(zmq::DEALER).unwrap();
    dealer.set_identity(b"dlr").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("one", 0).unwrap();
    dealer.send("two", 0).unwrap();
    let id = router.recv_msg(0).unwrap();
    assert_eq!(&*id, b"dlr");
    // The routing id frame carries the connection's metadata too, as libzmq's router_t
    // gives it (what zmq_msg_gets is asked of first).
    assert_eq!(id.gets("Peer-Address"), Some("127.0.0.1"));
    assert_eq!(id.gets("Socket-Type"), Some("DEALER"));
    assert!(id.metadata().unwrap().source_fd().is_some());
    let body = router.recv_msg(0).unwrap();
    assert_eq!(&*body, b"one");
    assert_eq!(body.gets("Peer-Address"), Some("127.0.0.1"));
    assert_eq!(body.gets("Socket-Type"), Some("DEALER"));
    assert_eq!(body.gets("Identity"), Some("dlr"));
    assert_eq!(body.gets("User-Id"), None);
    let fd = body.metadata().unwrap().source_fd().expect("source fd");
    assert!(fd >= 0);
    router.recv_msg(0).unwrap();
    let second = router.recv_msg(0).unwrap();
    assert_eq!(second.metadata().unwrap().source_fd(), Some(fd));
    // Locally made messages carry nothing.
    assert!(libsock::Message::from("x").metadata().is_none());
}

#[test]
fn libsock_zap_handler_judges_libzmq_null_clients_when_a_domain_is_set() {
    let ctx = Context::new();
    let stop = Arc::new(AtomicBool::new(false));
    let handler = libsock_handler(&ctx, stop.clone());
    let zctx = zmq::Context::new();
    let push_to = |ep: &str| {
        let push = zctx.socket(zmq::PUSH).unwrap();
        push.set_linger(0).unwrap();
        push.connect(ep).unwrap();
        push.send("hello", 0).unwrap();
        push
    };

    // Refused: HANDSHAKE_FAILED_AUTH with the status, nothing delivered.
    let (denying, ep) = libsock_pull(&ctx, "deny");
    let mon = denying.monitor_events(EVENT_ALL).unwrap();
    let _refused = push_to(&ep);
    assert_eq!(wait_event(&mon, SocketEvent::HandshakeFailedAuth).expect("auth failure").value, 400);
    denying.set_rcvtimeo(300).unwrap();
    assert!(denying.recv_msg(0).is_err(), "a refused peer's message was delivered");

    // Admitted: the handler's user id reaches the application.
    let (admitting, ep) = libsock_pull(&ctx, "ok");
    let _admitted = push_to(&ep);
    let msg = admitting.recv_msg(0).unwrap();
    assert_eq!(&*msg, b"hello");
    assert_eq!(msg.gets("User-Id"), Some("anon-ok"));

    // No domain: ZAP is not asked, and no User-Id comes with the message.
    let (plain_null, ep) = libsock_pull(&ctx, "");
    let _free = push_to(&ep);
    let msg = plain_null.recv_msg(0).unwrap();
    assert_eq!(msg.gets("User-Id"), None);
    stop.store(true, Ordering::Relaxed);
    let asked = handler.join().unwrap();
    assert!(asked.contains(&b"deny".to_vec()) && asked.contains(&b"ok".to_vec()), "{asked:?}");
    assert!(!asked.contains(&Vec::new()), "ZAP was asked about a socket without a domain: {asked:?}");
}

#[test]
fn without_a_handler_a_domain_admits_unless_enforced() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let (pull, ep) = libsock_pull(&ctx, "nobody-home");
    let push = zctx.socket(zmq::PUSH).unwrap();
    push.connect(&ep).unwrap();
    push.send("in", 0).unwrap();
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"in");

    let strict = ctx.socket(libsock::PULL).unwrap();
    strict.set_zap_domain(b"nobody-home").unwrap();
    strict.set_zap_enforce_domain(true).unwrap();
    strict.bind("tcp://127.0.0.1:*").unwrap();
    let mon = strict.monitor_events(EVENT_ALL).unwrap();
    let push = zctx.socket(zmq::PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&strict.get_last_endpoint().unwrap()).unwrap();
    push.send("refused", 0).unwrap();
    // As libzmq: no ERROR for the peer, HANDSHAKE_FAILED_NO_DETAIL with EFAULT.
    let failed = wait_event(&mon, SocketEvent::HandshakeFailedNoDetail).expect("handshake failure");
    assert_eq!(failed.value, libc::EFAULT as u32);
}

#[test]
fn libzmq_zap_handler_judges_libsock_null_clients() {
    let zctx = zmq::Context::new();
    let rep = zctx.socket(zmq::REP).unwrap();
    rep.set_rcvtimeo(TIMEOUT_MS).unwrap();
    rep.bind("inproc://zeromq.zap.01").unwrap();
    let handler = std::thread::spawn(move || {
        for _ in 0..2 {
            let req = rep.recv_multipart(0).unwrap();
            rep.send_multipart(judge(&req), 0).unwrap();
        }
    });
    let zpull = |domain: &str| {
        let pull = zctx.socket(zmq::PULL).unwrap();
        pull.set_zap_domain(domain).unwrap();
        pull.set_rcvtimeo(TIMEOUT_MS).unwrap();
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ep = pull.get_last_endpoint().unwrap().unwrap();
        (pull, ep)
    };
    let ctx = Context::new();
    let (_denying, ep) = zpull("deny");
    let bad = ctx.socket(libsock::PUSH).unwrap();
    bad.set_linger(0).unwrap();
    let mon = bad.monitor_events(EVENT_ALL).unwrap();
    bad.connect(&ep).unwrap();
    bad.send("must not arrive", libsock::DONTWAIT).ok();
    assert_eq!(wait_event(&mon, SocketEvent::HandshakeFailedAuth).expect("ERROR from libzmq").value, 400);

    let (admitting, ep) = zpull("fine");
    let good = ctx.socket(libsock::PUSH).unwrap();
    good.connect(&ep).unwrap();
    good.send("welcome", 0).unwrap();
    let mut msg = zmq::Message::new();
    admitting.recv(&mut msg, 0).unwrap();
    assert_eq!(&*msg, b"welcome");
    assert_eq!(msg.gets("User-Id"), Some("anon-fine"));
    handler.join().unwrap();
}

/// zmq.h numbers.
const MECHANISM: i32 = 43;
const PLAIN_SERVER: i32 = 44;
const PLAIN_USERNAME: i32 = 45;
const PLAIN_PASSWORD: i32 = 46;
const CURVE_SERVER: i32 = 47;
const CURVE_SECRETKEY: i32 = 49;
const CURVE_SERVERKEY: i32 = 50;

#[test]
fn the_option_set_last_picks_the_mechanism() {
    let ctx = Context::new();
    let s = ctx.socket(libsock::DEALER).unwrap();
    let get = |opt| match s.get_option_raw(opt).unwrap() {
        OptionValue::Int(v) => v,
        other => panic!("{other:?}"),
    };
    let (public, secret) = libsock::curve_keypair();
    s.set_option_raw(CURVE_SERVER, OptionValue::Int(1)).unwrap();
    s.set_option_raw(CURVE_SECRETKEY, OptionValue::Bytes(secret.into_bytes())).unwrap();
    assert_eq!((get(MECHANISM), get(CURVE_SERVER), get(PLAIN_SERVER)), (2, 1, 0));
    // A PLAIN user name after CURVE_SERVER: a PLAIN client now.
    s.set_option_raw(PLAIN_USERNAME, OptionValue::Bytes(b"u".to_vec())).unwrap();
    assert_eq!((get(MECHANISM), get(CURVE_SERVER), get(PLAIN_SERVER)), (1, 0, 0));
    // An empty user name or password is EINVAL (as libzmq's for a non-NULL empty value) and
    // changes nothing; PLAIN_SERVER = 0 (or C's (NULL, 0) user name) returns to NULL.
    for opt in [PLAIN_USERNAME, PLAIN_PASSWORD] {
        let err = s.set_option_raw(opt, OptionValue::Bytes(Vec::new())).unwrap_err();
        assert_eq!(err.to_raw(), libc::EINVAL, "{err}");
        assert!(s.set_plain_username(b"").is_err() && s.set_plain_password(b"").is_err());
    }
    assert_eq!(get(MECHANISM), 1);
    s.set_option_raw(PLAIN_SERVER, OptionValue::Int(0)).unwrap();
    assert_eq!(get(MECHANISM), 0);
    s.set_option_raw(PLAIN_SERVER, OptionValue::Int(1)).unwrap();
    assert_eq!((get(MECHANISM), get(PLAIN_SERVER)), (1, 1));
    s.set_option_raw(CURVE_SERVER, OptionValue::Int(1)).unwrap();
    assert_eq!((get(MECHANISM), get(CURVE_SERVER), get(PLAIN_SERVER)), (2, 1, 0));
    // The server key makes it a CURVE client.
    s.set_option_raw(CURVE_SERVERKEY, OptionValue::Bytes(public.into_bytes())).unwrap();
    assert_eq!((get(MECHANISM), get(CURVE_SERVER)), (2, 0));
    s.set_option_raw(PLAIN_SERVER, OptionValue::Int(0)).unwrap();
    assert_eq!(get(MECHANISM), 0);

    // The same PLAIN sequence on libzmq gives the same answers.
    let zctx = zmq::Context::new();
    let z = zctx.socket(zmq::DEALER).unwrap();
    z.set_plain_server(true).unwrap();
    assert_eq!(z.get_mechanism().unwrap(), zmq::Mechanism::ZMQ_PLAIN);
    z.set_plain_username(Some("u")).unwrap();
    assert!(!z.is_plain_server().unwrap());
    assert_eq!(z.set_plain_username(Some("")), Err(zmq::Error::EINVAL));
    assert_eq!(z.set_plain_password(Some("")), Err(zmq::Error::EINVAL));
    assert_eq!(z.get_mechanism().unwrap(), zmq::Mechanism::ZMQ_PLAIN);
    z.set_plain_username(None).unwrap();
    assert_eq!(z.get_mechanism().unwrap(), zmq::Mechanism::ZMQ_NULL);
}

#[test]
fn last_set_mechanism_is_what_connects() {
    // CURVE_SERVER first, then PLAIN credentials: the socket logs in to a libzmq PLAIN server
    // (which needs a ZAP handler: this one admits "any").
    let zctx = zmq::Context::new();
    let rep = zctx.socket(zmq::REP).unwrap();
    rep.set_rcvtimeo(TIMEOUT_MS).unwrap();
    rep.bind("inproc://zeromq.zap.01").unwrap();
    let handler = std::thread::spawn(move || {
        let req = rep.recv_multipart(0).unwrap();
        assert_eq!((&req[5][..], &req[6][..]), (&b"PLAIN"[..], &b"any"[..]));
        rep.send_multipart([&b"1.0"[..], &req[1], b"200", b"", b"any", b""], 0).unwrap();
    });
    let pull = zctx.socket(zmq::PULL).unwrap();
    pull.set_plain_server(true).unwrap();
    pull.set_rcvtimeo(TIMEOUT_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    let ctx = Context::new();
    let push = ctx.socket(libsock::PUSH).unwrap();
    push.set_sndtimeo(TIMEOUT_MS).unwrap();
    let (_, secret) = libsock::curve_keypair();
    push.set_curve_server(true).unwrap();
    push.set_curve_secretkey(secret.as_bytes()).unwrap();
    push.set_plain_username(b"any").unwrap();
    push.set_plain_password(b"thing").unwrap();
    push.connect(&ep).unwrap();
    push.send("via plain", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"via plain");
    handler.join().unwrap();
}

/// ZAP "300" is a temporary failure: the libzmq client gets no ERROR, so it reconnects and is
/// asked about again; the second answer admits it and its message arrives. (After an ERROR a
/// libzmq peer stops reconnecting, so this only passes without one.)
#[test]
fn zap_300_makes_a_libzmq_client_retry() {
    let ctx = Context::new();
    let rep = ctx.socket(libsock::REP).unwrap();
    rep.set_rcvtimeo(TIMEOUT_MS).unwrap();
    rep.bind("inproc://zeromq.zap.01").unwrap();
    let handler = std::thread::spawn(move || {
        for status in [&b"300"[..], b"200"] {
            let req = rep.recv_multipart(0).unwrap();
            rep.send_multipart([&b"1.0"[..], &req[1], status, b"", b"second-try", b""], 0).unwrap();
        }
    });
    let (pull, ep) = libsock_pull(&ctx, "retry");
    let mon = pull.monitor_events(EVENT_ALL).unwrap();
    let zctx = zmq::Context::new();
    let push = zctx.socket(zmq::PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.set_reconnect_ivl(50).unwrap();
    push.connect(&ep).unwrap();
    push.send("after a retry", 0).unwrap();
    assert_eq!(wait_event(&mon, SocketEvent::HandshakeFailedAuth).expect("first refusal").value, 300);
    let msg = pull.recv_msg(0).unwrap();
    assert_eq!((&*msg, msg.gets("User-Id")), (&b"after a retry"[..], Some("second-try")));
    handler.join().unwrap();
}

/// `Peer-Address` is what libzmq writes: a tcp peer's numeric IP (also when the endpoint
/// named a host), and for ipc `localhost` followed by the peer process's `:uid:gid:pid`
/// (SO_PEERCRED; pyzmq's libzmq 4.3.5 writes the same, the `zmq` crate's build only
/// `localhost`), on both the bound and the connecting side. A ZAP handler gets the same
/// text as the request's address.
#[test]
fn peer_address_names_the_peer_as_libzmq_does() {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata("/proc/self").unwrap();
    let local = format!("localhost:{}:{}:{}", me.uid(), me.gid(), std::process::id());
    let ctx = Context::new();
    let handler = ctx.socket(libsock::REP).unwrap();
    handler.bind("inproc://zeromq.zap.01").unwrap();
    handler.set_rcvtimeo(TIMEOUT_MS).unwrap();
    let path = std::env::temp_dir().join(format!("peer-address-{}.ipc", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cases = [
        (format!("ipc://{}", path.display()), format!("ipc://{}", path.display()), local.as_str()),
        (format!("tcp://127.0.0.1:{port}"), format!("tcp://localhost:{port}"), "127.0.0.1"),
    ];
    for (bind, connect, address) in &cases {
        let server = ctx.socket(libsock::PAIR).unwrap();
        server.set_zap_domain(b"global").unwrap();
        server.set_rcvtimeo(TIMEOUT_MS).unwrap();
        server.bind(bind).unwrap();
        let client = ctx.socket(libsock::PAIR).unwrap();
        client.set_rcvtimeo(TIMEOUT_MS).unwrap();
        client.connect(connect).unwrap();
        let request = handler.recv_multipart(0).unwrap();
        assert_eq!(std::str::from_utf8(&request[3]).unwrap(), *address, "ZAP address, {connect}");
        let reply: Vec<Vec<u8>> =
            vec![b"1.0".to_vec(), request[1].clone(), b"200".to_vec(), b"OK".to_vec(), vec![], vec![]];
        handler.send_multipart(reply, 0).unwrap();
        client.send("to the server", 0).unwrap();
        let got = server.recv_msg(0).unwrap();
        assert_eq!(got.gets("Peer-Address"), Some(*address), "bound side, {connect}");
        server.send("to the client", 0).unwrap();
        let got = client.recv_msg(0).unwrap();
        assert_eq!(got.gets("Peer-Address"), Some(*address), "connecting side, {connect}");
    }
    let _ = std::fs::remove_file(&path);
}
