//! Endpoint strings and what unbind/disconnect/reconnect do with them, as libzmq 4.3 does
//! (found by running libzmq's own test programs against the C bindings: test_term_endpoint,
//! test_pair_ipc, test_abstract_ipc, test_reconnect_ivl, test_bind_src_address,
//! test_reqrep_tcp, test_connect_resolve).

mod common;

use common::*;
use libsock::{Context, Error, DONTWAIT, PAIR, PULL, PUSH};

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
