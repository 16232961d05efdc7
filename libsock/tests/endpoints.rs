//! Endpoint strings and what unbind/disconnect/reconnect do with them, as libzmq 4.3 does
//! (found by running libzmq's own test programs against the C bindings: test_term_endpoint,
//! test_pair_ipc, test_abstract_ipc, test_reconnect_ivl, test_bind_src_address,
//! test_reqrep_tcp, test_connect_resolve).

mod common;

use common::*;
use libsock::{Context, Error, DEALER, DONTWAIT, PAIR, PUB, PULL, PUSH, STREAM};

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
    server.set_rcvtimeo(5000).unwrap();
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
    // A bind parses a source part as libzmq's does (as a bind address), then has no use
    // for it.
    a.bind("tcp://127.0.0.3:0;127.0.0.1:*").unwrap();
    assert!(a.get_last_endpoint().unwrap().starts_with("tcp://127.0.0.1:"));
    let no_nic = a.bind("tcp://no-such-nic0:0;127.0.0.1:*").unwrap_err();
    assert_eq!(no_nic.to_raw(), libc::ENODEV);
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

/// Waits until `s` reports POLLIN, then a little longer for the rest of a burst.
fn wait_for_input(s: &libsock::Socket) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while s.get_events().unwrap() & libsock::POLLIN == 0 {
        assert!(std::time::Instant::now() < deadline, "nothing arrived");
        std::thread::sleep(ms(5));
    }
    std::thread::sleep(ms(100));
}

/// Sends numbered probes until `sub` receives the last one sent: the subscription has
/// reached `publisher`, and no probe is left on its way.
fn until_subscribed(publisher: &libsock::Socket, sub: &libsock::Socket) {
    for i in 0..500 {
        let probe = format!("probe {i}");
        publisher.send(probe.as_str(), 0).unwrap();
        if sub.poll(libsock::POLLIN, 20).unwrap() > 0 {
            // Earlier probes that got through come first.
            while sub.recv_bytes(0).unwrap() != probe.as_bytes() {}
            return;
        }
    }
    panic!("the subscription never reached the publisher");
}

/// Every frame `s` has now.
fn drain(s: &libsock::Socket) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| s.recv_bytes(DONTWAIT).ok()).collect()
}

#[test]
fn unbind_still_delivers_what_accepted_peers_sent_then_ends_their_connections() {
    // libzmq's listener ends its sessions, each of which ends its pipe from its side: the
    // socket reads the pipe to its end first, and the connection closes only then. Before,
    // libsock dropped the messages with the pipe at once.
    for transport in ["tcp", "ipc"] {
        let ctx = Context::new();
        let pull = socket(&ctx, PULL);
        let push = socket(&ctx, PUSH);
        let ep = pair_up(&pull, &push, transport);
        let gone = push.monitor_events(libsock::SocketEvent::Disconnected.to_raw().into()).unwrap();
        for m in ["a", "b", "c"] {
            push.send(m, 0).unwrap();
        }
        wait_for_input(&pull);
        pull.unbind(&ep).unwrap();
        assert!(
            gone.recv_event(200).is_err(),
            "{transport}: the connection ended before its messages were read"
        );
        assert_eq!(drain(&pull), [b"a", b"b", b"c"], "{transport}");
        // Read to its end: the connection goes, and nothing more comes through it.
        assert_eq!(gone.recv_event(5000).unwrap().event, libsock::SocketEvent::Disconnected, "{transport}");
        assert_eq!(pull.get_events().unwrap() & libsock::POLLIN, 0);
    }
}

#[test]
fn disconnect_keeps_what_arrived_only_for_an_immediate_dialer_as_libzmq() {
    // libzmq's socket ends the pipe a connect made at once, with what it holds; with
    // IMMEDIATE the session made the pipe, and ends it from its side, so what it holds is
    // still received. Checked on libzmq (the `zmq` crate) and on libsock.
    for immediate in [false, true] {
        let ctx = Context::new();
        let push = socket(&ctx, PUSH);
        push.bind("tcp://127.0.0.1:*").unwrap();
        let ep = push.get_last_endpoint().unwrap();
        let pull = socket(&ctx, PULL);
        pull.set_immediate(immediate).unwrap();
        pull.connect(&ep).unwrap();
        push.send("a", 0).unwrap();
        push.send("b", 0).unwrap();
        wait_for_input(&pull);
        pull.disconnect(&ep).unwrap();
        let ours = drain(&pull);

        let zctx = zmq::Context::new();
        let zpush = zctx.socket(zmq::PUSH).unwrap();
        zpush.bind("tcp://127.0.0.1:*").unwrap();
        let zep = zpush.get_last_endpoint().unwrap().unwrap();
        let zpull = zctx.socket(zmq::PULL).unwrap();
        zpull.set_immediate(immediate).unwrap();
        zpull.connect(&zep).unwrap();
        zpush.send("a", 0).unwrap();
        zpush.send("b", 0).unwrap();
        zpull.poll(zmq::POLLIN, 5000).unwrap();
        std::thread::sleep(ms(100));
        zpull.disconnect(&zep).unwrap();
        let theirs: Vec<Vec<u8>> = std::iter::from_fn(|| zpull.recv_bytes(zmq::DONTWAIT).ok()).collect();
        assert_eq!(ours, theirs, "IMMEDIATE {immediate}");
        let expected: Vec<Vec<u8>> = if immediate { vec![b"a".to_vec(), b"b".to_vec()] } else { vec![] };
        assert_eq!(ours, expected, "IMMEDIATE {immediate}");
        for s in [&zpush, &zpull] {
            s.set_linger(0).unwrap();
        }
    }
}

#[test]
fn an_immediate_dialer_keeps_what_arrived_when_its_connection_breaks() {
    // A deliberate difference: libzmq's socket ends an IMMEDIATE connection's pipe when
    // it learns the connection broke (`socket_base_t::hiccuped`), and what the pipe holds
    // is gone once the socket has processed its commands (any poll does). libsock keeps it,
    // as it does for a disconnect (above) and for a peer that left.
    for immediate in [false, true] {
        let ctx = Context::new();
        let push = socket(&ctx, PUSH);
        push.set_linger(0).unwrap();
        push.bind("tcp://127.0.0.1:*").unwrap();
        let ep = push.get_last_endpoint().unwrap();
        let pull = socket(&ctx, PULL);
        pull.set_immediate(immediate).unwrap();
        pull.set_reconnect_ivl(60_000).unwrap();
        let events = pull.monitor_events(libsock::SocketEvent::Disconnected.to_raw().into()).unwrap();
        pull.connect(&ep).unwrap();
        push.send("a", 0).unwrap();
        push.send("b", 0).unwrap();
        wait_for_input(&pull);
        push.unbind(&ep).unwrap();
        assert_eq!(events.recv_event(5000).unwrap().event, libsock::SocketEvent::Disconnected);
        // Polled after the break is known, as a program's poll loop would.
        assert_eq!(pull.get_events().unwrap() & libsock::POLLIN, libsock::POLLIN, "IMMEDIATE {immediate}");
        assert_eq!(drain(&pull), [b"a", b"b"], "IMMEDIATE {immediate}");
    }
}

#[test]
fn a_disconnect_never_cuts_a_multipart_message_in_two() {
    // The socket drops what the pipe of a connect holds at its disconnect, as libzmq's
    // does, but for the rest of a message a receive is part way through: a SUB that read
    // the first frame ahead for a poll, or a program that took it. libzmq asserts at the
    // next receive (`fq.cpp`, `!_more`) once another pipe has messages; libsock before
    // glued the next message on to the first frame.
    use libsock::SocketEvent::{Disconnected, HandshakeSucceeded};
    use libsock::{POLLIN, SNDMORE, SUB};
    for (server_kind, client_kind, took_first) in [(PUB, SUB, false), (PUSH, PULL, true), (PUSH, PULL, false)]
    {
        let case = format!("{client_kind:?}, first frame taken: {took_first}");
        let ctx = Context::new();
        let server = socket(&ctx, server_kind);
        server.bind("tcp://127.0.0.1:*").unwrap();
        let ep = server.get_last_endpoint().unwrap();
        let links =
            server.monitor_events((Disconnected.to_raw() | HandshakeSucceeded.to_raw()) as i32).unwrap();
        let client = socket(&ctx, client_kind);
        if client_kind == SUB {
            client.set_subscribe(b"").unwrap();
        }
        client.connect(&ep).unwrap();
        assert_eq!(links.recv_event(10_000).unwrap().event, HandshakeSucceeded, "{case}");
        if server_kind == PUB {
            until_subscribed(&server, &client);
        }
        for (frame, flags) in [("a", SNDMORE), ("b", SNDMORE), ("c", 0), ("later", 0)] {
            server.send(frame, flags).unwrap();
        }
        wait_for_input(&client);
        let mut got = Vec::new();
        if took_first {
            got.push(client.recv_bytes(0).unwrap());
        }
        client.disconnect(&ep).unwrap();
        got.extend(drain(&client));
        // Nothing begun (a PULL reads nothing ahead): everything dropped, as by libzmq.
        let begun = took_first || client_kind == SUB;
        let expected: &[&[u8]] = if begun { &[b"a", b"b", b"c"] } else { &[] };
        assert_eq!(got, expected, "{case}");
        assert_eq!(client.get_events().unwrap() & POLLIN, 0, "{case}");
        // Connected again, the next message comes whole and alone.
        // The server learns that the first connection went (a PUSH would round-robin on to
        // it) and has the new one, and a PUB of the subscription.
        assert_eq!(links.recv_event(10_000).unwrap().event, Disconnected, "{case}");
        client.connect(&ep).unwrap();
        assert_eq!(links.recv_event(10_000).unwrap().event, HandshakeSucceeded, "{case}");
        std::thread::sleep(ms(50));
        server.get_events().unwrap();
        if server_kind == PUB {
            until_subscribed(&server, &client);
        }
        server.send("d", SNDMORE).unwrap();
        server.send("e", 0).unwrap();
        wait_for_input(&client);
        let first = client.recv_msg(0).unwrap();
        assert_eq!((&first[..], first.get_more()), (&b"d"[..], true), "{case}");
        assert_eq!(drain(&client), [b"e"], "{case}");
    }
}

#[test]
fn ipc_connects_at_once_or_reports_the_closed_attempt_as_libzmq() {
    use libsock::SocketEvent::*;
    // ZMTP and raw (STREAM) connections.
    for (client_kind, server_kind) in [(PUSH, PULL), (STREAM, STREAM)] {
        let ctx = Context::new();
        let client = socket(&ctx, client_kind);
        client.set_reconnect_ivl(60_000).unwrap();
        let events = client.monitor_events(libsock::EVENT_ALL).unwrap();
        let ep = scratch_endpoint("ipc");
        // Nobody listens: the attempt fails at once; libzmq closes its socket and says so.
        client.connect(&ep).unwrap();
        assert_eq!(events.recv_event(5000).unwrap().event, Closed, "{client_kind:?}");
        assert_eq!(events.recv_event(5000).unwrap().event, ConnectRetried, "{client_kind:?}");
        let server = socket(&ctx, server_kind);
        server.bind(&ep).unwrap();
        let other = socket(&ctx, client_kind);
        let events = other.monitor_events(libsock::EVENT_ALL).unwrap();
        other.connect(&ep).unwrap();
        // A Unix socket connects at once: no CONNECT_DELAYED before CONNECTED.
        assert_eq!(events.recv_event(5000).unwrap().event, Connected, "{client_kind:?}");
        assert_eq!(events.recv_event(5000).unwrap().event, HandshakeSucceeded, "{client_kind:?}");
    }
}

#[test]
fn a_first_connect_that_fails_under_reconnect_ivl_minus_one_keeps_its_endpoint_and_pipe() {
    // libzmq's connecter with no RECONNECT_IVL does not try again, but nothing ends the
    // session: its pipe takes messages (POLLOUT) and a disconnect finds the endpoint. (A
    // STREAM socket has no pipe before its connection is up; its endpoint stays too.)
    for kind in [PUSH, STREAM] {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let ep = format!("tcp://127.0.0.1:{port}");
        let ctx = Context::new();
        let client = socket(&ctx, kind);
        client.set_reconnect_ivl(-1).unwrap();
        let events = client.monitor_events(libsock::SocketEvent::Closed.to_raw().into()).unwrap();
        client.connect(&ep).unwrap();
        assert_eq!(events.recv_event(5000).unwrap().event, libsock::SocketEvent::Closed);
        std::thread::sleep(ms(50));
        if kind == PUSH {
            assert_eq!(client.get_events().unwrap() & libsock::POLLOUT, libsock::POLLOUT);
            client.send("queued", DONTWAIT).unwrap();
        }
        client.disconnect(&ep).unwrap();
    }
}

#[test]
fn a_connection_ended_by_unbind_closes_with_the_linger_of_when_it_is_read() {
    // The connection's end closes when the socket has read what it held, with the socket's
    // LINGER (0): what waits for a peer that does not read is dropped then, as libzmq's
    // session does. (Had the connection begun closing at the unbind itself, it would have
    // done so with no linger known yet, and delivered everything to the peer.)
    let ctx = Context::new();
    let server = socket(&ctx, DEALER);
    let client = socket(&ctx, DEALER);
    client.set_rcvhwm(1).unwrap();
    let ep = pair_up(&server, &client, "tcp");
    let gone = client.monitor_events(libsock::SocketEvent::Disconnected.to_raw().into()).unwrap();
    client.send("unread", 0).unwrap();
    wait_for_input(&server);
    // Far more than the kernel's buffers hold: the client reads nothing for now.
    let block = vec![0u8; 64 * 1024];
    let mut sent = 0;
    while sent < 1000 && server.send(&block[..], DONTWAIT).is_ok() {
        sent += 1;
    }
    std::thread::sleep(ms(200));
    server.unbind(&ep).unwrap();
    assert_eq!(server.recv_bytes(DONTWAIT).unwrap(), b"unread");
    assert!(server.recv_bytes(DONTWAIT).is_err());
    std::thread::sleep(ms(300));
    client.set_rcvtimeo(500).unwrap();
    let received = std::iter::from_fn(|| client.recv_bytes(0).ok()).count();
    assert!(received < sent / 2, "{received} of {sent} delivered after the unbind, LINGER 0");
    assert_eq!(gone.recv_event(5000).unwrap().event, libsock::SocketEvent::Disconnected);
}

#[test]
fn polling_ends_a_retired_connection_once_its_messages_are_read() {
    // libzmq's `has_in` reads the delimiter behind the last message: after receiving that
    // message, a poll is enough for the connection to end.
    let ctx = Context::new();
    let server = socket(&ctx, DEALER);
    let ep = {
        server.bind("tcp://127.0.0.1:*").unwrap();
        server.get_last_endpoint().unwrap()
    };
    let gone = server.monitor_events(libsock::SocketEvent::Disconnected.to_raw().into()).unwrap();
    let client = socket(&ctx, DEALER);
    client.set_immediate(true).unwrap();
    client.connect(&ep).unwrap();
    server.send("last", 0).unwrap();
    wait_for_input(&client);
    client.disconnect(&ep).unwrap();
    assert_eq!(client.get_events().unwrap() & libsock::POLLIN, libsock::POLLIN);
    assert_eq!(client.recv_bytes(DONTWAIT).unwrap(), b"last");
    assert_eq!(client.get_events().unwrap() & libsock::POLLIN, 0);
    assert_eq!(gone.recv_event(5000).unwrap().event, libsock::SocketEvent::Disconnected);
}

/// A server of `server_kind` over tcp with its DISCONNECTED events watched, and a client
/// of `client_kind` whose message "before" waits at the server when the server unbinds (its
/// connection is retired).
fn retired_pair(
    ctx: &Context,
    server_kind: libsock::SocketType,
    client_kind: libsock::SocketType,
) -> (libsock::Socket, libsock::Socket, libsock::Monitor) {
    let server = socket(ctx, server_kind);
    let client = socket(ctx, client_kind);
    let ep = pair_up(&server, &client, "tcp");
    let gone = server.monitor_events(libsock::SocketEvent::Disconnected.to_raw().into()).unwrap();
    client.send("before", 0).unwrap();
    wait_for_input(&server);
    server.unbind(&ep).unwrap();
    (server, client, gone)
}

#[test]
fn a_retired_connection_reads_nothing_more_from_its_peer() {
    // As libzmq's engine, whose session takes no more messages once its pipe is ending: the
    // peer's later messages and its leaving wait in the kernel until the socket has read
    // what the connection brought before.
    let ctx = Context::new();
    let (pull, push, gone) = retired_pair(&ctx, PULL, PUSH);
    push.send("after", 0).unwrap();
    drop(push);
    assert!(gone.recv_event(300).is_err(), "the connection read on after it was retired");
    assert_eq!(drain(&pull), [b"before"]);
}

#[test]
fn a_retired_connection_notices_a_peer_that_leaves_without_sending_more() {
    // libzmq's engine stops reading only when it has a message its session cannot take:
    // a peer that leaves without sending more is seen leaving.
    let ctx = Context::new();
    let (pull, push, gone) = retired_pair(&ctx, PULL, PUSH);
    drop(push);
    assert_eq!(gone.recv_event(5000).unwrap().event, libsock::SocketEvent::Disconnected);
    assert_eq!(drain(&pull), [b"before"]);
}

#[test]
fn a_connection_let_go_after_its_peer_left_is_not_reported_disconnected() {
    // The peer sent more after the unbind (the connection stopped reading) and left; once
    // the socket has read what the connection brought, the connection ends without reading
    // on, as libzmq's session ends its engine: no DISCONNECTED for it.
    let ctx = Context::new();
    let (server, client, gone) = retired_pair(&ctx, DEALER, DEALER);
    client.send("after", 0).unwrap();
    std::thread::sleep(ms(100));
    drop(client);
    std::thread::sleep(ms(100));
    assert_eq!(drain(&server), [b"before"]);
    assert_eq!(server.get_events().unwrap() & libsock::POLLIN, 0);
    assert!(gone.recv_event(300).is_err(), "reported DISCONNECTED");
}
