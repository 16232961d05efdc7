//! Endpoint strings and what unbind/disconnect/reconnect do with them, as libzmq 4.3 does
//! (found by running libzmq's own test programs against the C bindings: test_term_endpoint,
//! test_pair_ipc, test_abstract_ipc, test_reconnect_ivl, test_bind_src_address,
//! test_reqrep_tcp, test_connect_resolve).

mod common;

use common::*;
use libsock::{Context, Error, DEALER, DONTWAIT, PAIR, PULL, PUSH, STREAM};

/// Sends `msg` from `from` and expects it at `to`.
fn roundtrip(from: &libsock::Socket, to: &libsock::Socket, msg: &str) {
    from.send(msg, 0).unwrap();
    assert_eq!(to.recv_bytes(0).unwrap(), msg.as_bytes());
}

#[test]
fn unbind_drops_the_peers_the_listener_accepted() {
    let ctx = Context::new();
    let push = socket(&ctx, PUSH);
    let pull = socket(&ctx, PULL);
    let ep = pair_up(&push, &pull, "tcp");
    roundtrip(&push, &pull, "ABC");
    push.unbind(&ep).unwrap();
    // The accepted connection's pipe goes at once: nothing left to send to.
    assert!(matches!(push.send("ABC", DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn a_wildcard_endpoint_does_not_unbind_only_its_resolved_form_does() {
    let ctx = Context::new();
    let a = socket(&ctx, PULL);
    a.bind("tcp://127.0.0.1:*").unwrap();
    assert!(matches!(a.unbind("tcp://127.0.0.1:*"), Err(Error::NoSuchEndpoint(_))));
    let b = socket(&ctx, PULL);
    b.bind("ipc://*").unwrap();
    assert!(matches!(b.unbind("ipc://*"), Err(Error::NoSuchEndpoint(_))));
    b.unbind(&b.get_last_endpoint().unwrap()).unwrap();
    // A name that resolves to the bound address names it too.
    let port = a.get_last_endpoint().unwrap().rsplit(':').next().unwrap().to_owned();
    a.unbind(&format!("tcp://localhost:{port}")).unwrap();
}

#[test]
fn ipc_names_too_long_or_empty_are_refused() {
    let ctx = Context::new();
    let s = socket(&ctx, PAIR);
    let long = format!("ipc://{}", "a".repeat(108));
    assert_eq!(s.bind(&long).unwrap_err().to_raw(), libc::ENAMETOOLONG);
    assert_eq!(s.connect(&long).unwrap_err().to_raw(), libc::ENAMETOOLONG);
    assert!(matches!(s.bind("ipc://@"), Err(Error::InvalidArgument(_))));
}

#[test]
fn reconnect_ivl_minus_one_never_redials() {
    let ctx = Context::new();
    let server = socket(&ctx, PAIR);
    let client = socket(&ctx, PAIR);
    client.set_reconnect_ivl(-1).unwrap();
    let ep = pair_up(&server, &client, "tcp");
    roundtrip(&client, &server, "one");
    server.unbind(&ep).unwrap();
    server.set_rcvtimeo(300).unwrap();
    // The port may linger in the kernel for a moment after the listener closed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server.bind(&ep).is_err() {
        assert!(std::time::Instant::now() < deadline, "cannot bind {ep} again");
        std::thread::sleep(ms(10));
    }
    let _ = client.send("lost", DONTWAIT);
    assert!(matches!(server.recv_bytes(0), Err(Error::TimedOut | Error::WouldBlock)));
    // An explicit connect works again.
    client.connect(&ep).unwrap();
    roundtrip(&client, &server, "two");
}

#[test]
fn reconnect_ivl_zero_never_redials_as_libzmq() {
    // libzmq 4.3.4 reconnects only when RECONNECT_IVL > 0 (session_base.cpp engine_error,
    // stream_connecter_base.cpp add_reconnect_timer): 0 means never, like -1. Checked for a
    // ZMTP and a raw (STREAM) connection; IVL 1 is the control that does come back.
    use std::net::TcpListener;
    let ctx = Context::new();
    for kind in [DEALER, STREAM] {
        for ivl in [0, 1] {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let s = socket(&ctx, kind);
            s.set_reconnect_ivl(ivl).unwrap();
            s.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
            // The peer drops the connection: the socket sees it end.
            drop(listener.accept().unwrap().0);
            if ivl > 0 {
                drop(listener.accept().unwrap().0);
                continue;
            }
            // Without the fix a new attempt came within milliseconds; give it plenty of time.
            listener.set_nonblocking(true).unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
            while std::time::Instant::now() < deadline {
                let again = listener.accept();
                assert!(again.is_err(), "kind {kind:?}: RECONNECT_IVL 0 redialled");
                std::thread::sleep(ms(10));
            }
        }
    }
}

#[test]
fn tcp_names_resolve_when_dialing_as_libzmq_defers_them() {
    let ctx = Context::new();
    let s = socket(&ctx, PUSH);
    // IPV6 is off: the attempt fails and is retried, connect itself succeeds (libzmq too).
    s.connect("tcp://[::1]:1234").unwrap();
    // What is no address or name at all is still refused at once.
    for bad in ["tcp://in val id:1234", "tcp://localhost:invalid", "tcp://192.168.0.200:*", "tcp://"] {
        assert!(matches!(s.connect(bad), Err(Error::InvalidArgument(_))), "{bad}");
    }
    // A peer that appears later is reached by name.
    let pull = socket(&ctx, PULL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let port = pull.get_last_endpoint().unwrap().rsplit(':').next().unwrap().to_owned();
    let push = socket(&ctx, PUSH);
    push.connect(&format!("tcp://localhost:{port}")).unwrap();
    roundtrip(&push, &pull, "by name");
}

/// Accepts one connection on a plain listener and returns the peer's address.
fn accepted_from(listener: &std::net::TcpListener) -> std::net::SocketAddr {
    listener.accept().unwrap().1
}

#[test]
fn a_source_address_is_bound_before_connecting() {
    let ctx = Context::new();
    let l1 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = socket(&ctx, PUSH);
    // 127.0.0.3 is loopback too, and not the address the kernel would pick.
    let ep = format!("tcp://127.0.0.3:*;127.0.0.1:{}", l1.local_addr().unwrap().port());
    a.connect(&ep).unwrap();
    assert_eq!(a.get_last_endpoint().unwrap(), ep, "LAST_ENDPOINT is the endpoint as given");
    let from = accepted_from(&l1);
    assert_eq!(from.ip().to_string(), "127.0.0.3");
    // The same source port may connect to another peer (SO_REUSEADDR, as libzmq).
    let b = socket(&ctx, PUSH);
    b.connect(&format!("tcp://127.0.0.3:{};localhost:{}", from.port(), l2.local_addr().unwrap().port()))
        .unwrap();
    assert_eq!(accepted_from(&l2), from);
    a.disconnect(&ep).unwrap();
    // A source is for connect only.
    assert!(matches!(a.bind("tcp://127.0.0.1:0;127.0.0.1:0"), Err(Error::InvalidArgument(_))));
}

#[test]
fn a_source_addressed_connection_carries_messages_and_reconnects() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let push = socket(&ctx, PUSH);
    push.set_reconnect_ivl(10).unwrap();
    push.connect(&format!("tcp://127.0.0.1:0;{}", ep.trim_start_matches("tcp://"))).unwrap();
    roundtrip(&push, &pull, "from a source");
    // The peer goes and comes back: the dialer binds its source again for the new attempt.
    pull.unbind(&ep).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while pull.bind(&ep).is_err() {
        assert!(std::time::Instant::now() < deadline, "cannot bind {ep} again");
        std::thread::sleep(ms(10));
    }
    roundtrip(&push, &pull, "after the reconnect");
}
