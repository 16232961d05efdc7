//! PAIR with PAIR: ping-pong, each library binding, requests from both sides.

use super::*;

// ------------------------------------------------------------------------------------------
// 2. PAIR <-> PAIR ping-pong, each library binding, requests from both sides.
// ------------------------------------------------------------------------------------------

fn pair_ping_pong_case(binder: Lib, transport: &str) {
    let world = World::new();
    let ls = world.socket(Lib::Libsock, PAIR);
    let z = world.socket(Lib::Libzmq, PAIR);
    let (bound, connecting) = match binder {
        Lib::Libsock => (&ls, &z),
        Lib::Libzmq => (&z, &ls),
    };
    let ep = bound.bind(&world, transport);
    connecting.connect(&ep);

    for i in 0..300usize {
        // Alternate who asks, so both directions carry requests and replies.
        let (asker, answerer) = if i % 2 == 0 { (&ls, &z) } else { (&z, &ls) };
        let request = [format!("ping {i}").into_bytes(), body(i % 300, i)];
        asker.send_parts(&request);
        let got = answerer.recv_parts();
        assert_eq!(got, request, "request #{i} ({transport}, {binder:?} binds)");
        let reply = vec![format!("pong {i}").into_bytes()];
        answerer.send_parts(&reply);
        assert_eq!(asker.recv_parts(), reply, "reply #{i}");
    }
    assert_no_io_panics();
}

#[test]
fn pair_ping_pong_libsock_binds_tcp() {
    pair_ping_pong_case(Lib::Libsock, "tcp");
}

#[test]
fn pair_ping_pong_zmq_binds_tcp() {
    pair_ping_pong_case(Lib::Libzmq, "tcp");
}

#[test]
fn pair_ping_pong_libsock_binds_ipc() {
    pair_ping_pong_case(Lib::Libsock, "ipc");
}

#[test]
fn pair_ping_pong_zmq_binds_ipc() {
    pair_ping_pong_case(Lib::Libzmq, "ipc");
}
