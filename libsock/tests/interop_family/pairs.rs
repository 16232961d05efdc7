//! Every valid pair, libsock on each side, each side binding, over tcp and ipc.

use super::*;

/// The side of a pair: `A` starts the conversation (requester, publisher), `B` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Runs the scenario of the pair (`a`, `b`) for every (side libsock plays, side that binds):
/// four combinations, two when both sides have the same type.
fn matrix_case(a: SocketType, b: SocketType, transport: &str) {
    let mut combos = Vec::new();
    for libsock_side in [Side::A, Side::B] {
        if a == b && libsock_side == Side::B {
            continue;
        }
        for binder in [Side::A, Side::B] {
            combos.push((libsock_side, binder));
        }
    }
    for (libsock_side, binder) in combos {
        let started = Instant::now();
        let world = World::new();
        let (lib_a, lib_b) = match libsock_side {
            Side::A => (Lib::Libsock, Lib::Libzmq),
            Side::B => (Lib::Libzmq, Lib::Libsock),
        };
        let sa = world.socket(lib_a, a);
        let sb = world.socket(lib_b, b);
        let what = format!(
            "{} <-> {}, {binder:?} ({}) binds, {transport}",
            sa.label(),
            sb.label(),
            match binder {
                Side::A => sa.label(),
                Side::B => sb.label(),
            }
        );
        if (a, b) == (SocketType::ROUTER, SocketType::ROUTER) {
            // Each ROUTER must know the other's id: both announce one; the connecting side
            // sends first, retrying (ROUTER_MANDATORY) until the peer is identified.
            let (bound, connecting) = if binder == Side::A { (&sa, &sb) } else { (&sb, &sa) };
            bound.set_routing_id(b"bound-router");
            connecting.set_routing_id(b"connecting-router");
            connecting.set_router_mandatory(true);
        }
        if (a, b) == (SocketType::DEALER, SocketType::ROUTER) {
            sa.set_routing_id(b"dealer-7");
        }
        let (bound, connecting) = if binder == Side::A { (&sa, &sb) } else { (&sb, &sa) };
        let ep = bound.bind(&world, transport);
        connecting.connect(&ep);

        match (a, b) {
            (SocketType::REQ, SocketType::REP) => req_rep(&sa, &sb),
            (SocketType::REQ, SocketType::ROUTER) => req_router(&sa, &sb),
            (SocketType::DEALER, SocketType::REP) => dealer_rep(&sa, &sb),
            (SocketType::DEALER, SocketType::DEALER) => dealer_dealer(&sa, &sb),
            (SocketType::DEALER, SocketType::ROUTER) => dealer_router(&sa, &sb),
            (SocketType::ROUTER, SocketType::ROUTER) => router_router(bound, connecting),
            (SocketType::PUB, SocketType::SUB | SocketType::XSUB) => pub_sub(&sa, &sb),
            (SocketType::XPUB, SocketType::SUB | SocketType::XSUB) => xpub_sub(&sa, &sb),
            other => panic!("not a pair of this family: {other:?}"),
        }
        assert_no_io_panics();
        eprintln!("ok: {what} in {:?}", started.elapsed());
    }
}

fn req_rep(req: &Sock, rep: &Sock) {
    for i in 0..10usize {
        let request = vec![format!("q{i}").into_bytes(), body(i * 40, i), Vec::new()];
        req.send_parts(&request);
        assert_eq!(rep.recv_parts(), request, "request #{i}");
        let reply = vec![format!("a{i}").into_bytes(), body(300, i)];
        rep.send_parts(&reply);
        assert_eq!(req.recv_parts(), reply, "reply #{i}");
    }
}

fn req_router(req: &Sock, router: &Sock) {
    let mut seen_id: Option<Vec<u8>> = None;
    for i in 0..10usize {
        let q = format!("q{i}").into_bytes();
        req.send_parts(&[&q, &body(i * 10, i)]);
        let got = router.recv_parts();
        assert_eq!(got.len(), 4, "ROUTER sees [id, \"\", body...]: {:?}", show(got));
        assert_eq!(got[1], b"", "the REQ's empty delimiter");
        assert_eq!(got[2], q);
        assert_eq!(got[3], body(i * 10, i));
        assert_auto_id(&got[0], &router.label());
        if let Some(id) = &seen_id {
            assert_eq!(&got[0], id, "one peer keeps its routing id");
        }
        seen_id = Some(got[0].clone());
        let a = format!("a{i}").into_bytes();
        router.send_parts(&[&got[0][..], b"", &a]);
        assert_eq!(req.recv_parts(), vec![a], "reply #{i}");
    }
}

fn dealer_rep(dealer: &Sock, rep: &Sock) {
    // Requests pipelined: a DEALER does not wait for replies.
    for i in 0..5 {
        dealer.send_parts(&["", &format!("q{i}"), "tail"]);
    }
    for i in 0..5 {
        assert_eq!(rep.recv_parts(), parts(&[&format!("q{i}"), "tail"]), "request #{i}");
        rep.send_parts(&[format!("a{i}")]);
    }
    for i in 0..5 {
        assert_eq!(dealer.recv_parts(), parts(&["", &format!("a{i}")]), "reply #{i}, envelope restored");
    }
}

fn dealer_dealer(a: &Sock, b: &Sock) {
    for i in 0..5usize {
        a.send_parts(&[format!("a->b {i}").into_bytes(), Vec::new(), body(i * 100, i)]);
    }
    for i in 0..5usize {
        assert_eq!(b.recv_parts(), vec![format!("a->b {i}").into_bytes(), Vec::new(), body(i * 100, i)]);
        b.send(format!("b->a {i}"));
    }
    for i in 0..5 {
        assert_eq!(a.recv(), format!("b->a {i}").into_bytes());
    }
}

fn dealer_router(dealer: &Sock, router: &Sock) {
    for i in 0..5 {
        dealer.send_parts(&[format!("q{i}"), "x".into()]);
        assert_eq!(
            router.recv_parts(),
            parts(&["dealer-7", &format!("q{i}"), "x"]),
            "ROUTER sees the DEALER's id"
        );
        router.send_parts(&["dealer-7", &format!("a{i}")]);
        assert_eq!(dealer.recv_parts(), parts(&[&format!("a{i}")]));
    }
    // Without ROUTER_MANDATORY, unroutable messages vanish and routing goes on.
    router.send_parts(&["nobody", "lost"]);
    router.send_parts(&["dealer-7", "after"]);
    assert_eq!(dealer.recv(), b"after");
    dealer.assert_silent(50, "a message to an unknown id arrived");
}

fn router_router(bound: &Sock, connecting: &Sock) {
    let deadline = Instant::now() + ms(3000);
    loop {
        match connecting.try_send_parts(&["bound-router", "hello"]) {
            Ok(()) => break,
            Err(SendFail::Unreachable) if Instant::now() < deadline => std::thread::sleep(ms(5)),
            Err(e) => panic!("{}: cannot reach the bound ROUTER: {e:?}", connecting.label()),
        }
    }
    assert_eq!(bound.recv_parts(), parts(&["connecting-router", "hello"]));
    bound.send_parts(&["connecting-router", "welcome", ""]);
    assert_eq!(connecting.recv_parts(), parts(&["bound-router", "welcome", ""]));
    for i in 0..5 {
        connecting.send_parts(&["bound-router", &format!("m{i}")]);
        assert_eq!(bound.recv_parts(), parts(&["connecting-router", &format!("m{i}")]));
    }
}

fn pub_sub(publisher: &Sock, sub: &Sock) {
    sub.subscribe(b"weather.");
    sub.subscribe(b"news");
    sub.subscribe(b"sync");
    sync_probe(publisher, sub, b"sync");
    for m in ["sports.1", "weather.paris", "newsflash", "new", "weather", "weather.oslo", "news"] {
        publisher.send(m);
    }
    publisher.send_parts(&["weather.multi", "part 2", ""]);
    publisher.send_parts(&["sports.multi", "part 2"]);
    publisher.send("sync.end");
    let got = collect_until(sub, b"sync.end", b"sync");
    let want = vec![
        parts(&["weather.paris"]),
        parts(&["newsflash"]),
        parts(&["weather.oslo"]),
        parts(&["news"]),
        parts(&["weather.multi", "part 2", ""]),
    ];
    assert_eq!(got, want, "{} <- {}: only matching topics", sub.label(), publisher.label());

    // Unsubscribing stops delivery. A fresh subscription sent after the cancel shows when the
    // publisher has processed it (one connection keeps the order).
    sub.unsubscribe(b"weather.");
    sub.subscribe(b"after");
    sync_probe(publisher, sub, b"after");
    for m in ["weather.rome", "newsreel", "weather.", "after.end"] {
        publisher.send(m);
    }
    let got = collect_until(sub, b"after.end", b"after");
    assert_eq!(got, vec![parts(&["newsreel"])], "{}: unsubscribed topic still delivered", sub.label());
}

fn xpub_sub(xpub: &Sock, sub: &Sock) {
    sub.subscribe(b"alpha");
    assert_eq!(xpub.recv_poking(sub), b"\x01alpha", "{} sees the subscription", xpub.label());
    sub.subscribe(b"beta");
    assert_eq!(xpub.recv_poking(sub), b"\x01beta");
    // The XPUB applied each subscription before handing it up: no probing needed.
    for m in ["gamma.1", "alpha.1", "beta.1", "alph"] {
        xpub.send(m);
    }
    assert_eq!(sub.recv(), b"alpha.1");
    assert_eq!(sub.recv(), b"beta.1");
    sub.unsubscribe(b"alpha");
    assert_eq!(xpub.recv_poking(sub), b"\x00alpha", "{} sees the cancel", xpub.label());
    for m in ["alpha.2", "beta.2"] {
        xpub.send(m);
    }
    assert_eq!(sub.recv(), b"beta.2");
    if sub.kind == SocketType::XSUB {
        // Anything else an XSUB sends goes up to the XPUB's application as is.
        sub.send_parts(&["upstream", "two parts"]);
        assert_eq!(xpub.recv_parts(), parts(&["upstream", "two parts"]));
    }
    sub.assert_silent(50, "unsubscribed or unmatched topic delivered");
}

macro_rules! matrix_tests {
    ($($name:ident: $a:ident, $b:ident, $transport:literal;)*) => {
        $(
            #[test]
            fn $name() {
                matrix_case(SocketType::$a, SocketType::$b, $transport);
            }
        )*
    };
}

matrix_tests! {
    matrix_req_rep_tcp: REQ, REP, "tcp";
    matrix_req_router_tcp: REQ, ROUTER, "tcp";
    matrix_dealer_rep_tcp: DEALER, REP, "tcp";
    matrix_dealer_dealer_tcp: DEALER, DEALER, "tcp";
    matrix_dealer_router_tcp: DEALER, ROUTER, "tcp";
    matrix_router_router_tcp: ROUTER, ROUTER, "tcp";
    matrix_pub_sub_tcp: PUB, SUB, "tcp";
    matrix_pub_xsub_tcp: PUB, XSUB, "tcp";
    matrix_xpub_sub_tcp: XPUB, SUB, "tcp";
    matrix_xpub_xsub_tcp: XPUB, XSUB, "tcp";
    matrix_req_rep_ipc: REQ, REP, "ipc";
    matrix_req_router_ipc: REQ, ROUTER, "ipc";
    matrix_dealer_router_ipc: DEALER, ROUTER, "ipc";
    matrix_router_router_ipc: ROUTER, ROUTER, "ipc";
    matrix_pub_sub_ipc: PUB, SUB, "ipc";
    matrix_xpub_xsub_ipc: XPUB, XSUB, "ipc";
}
