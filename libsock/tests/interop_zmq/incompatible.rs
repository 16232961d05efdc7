//! Incompatible socket types never exchange messages.

use super::*;

// ------------------------------------------------------------------------------------------
// 6. Incompatible socket types never exchange messages.
// ------------------------------------------------------------------------------------------

/// What libzmq 4.3 reports when the peer's READY names an incompatible socket type: the
/// metadata check fails without a HANDSHAKE_FAILED_* detail (mechanism.cpp sets EINVAL), so
/// the session ends with DISCONNECTED. If libsock's own check closes the stream first, libzmq
/// may instead see the close during the handshake (HANDSHAKE_FAILED_NO_DETAIL, then
/// DISCONNECTED). Either way: a DISCONNECTED and never HANDSHAKE_SUCCEEDED.
fn assert_rejected(mon: &mut Monitor) {
    let disconnected = zmq::SocketEvent::DISCONNECTED.to_raw();
    assert!(
        mon.wait_for(ms(3000), |id| id == disconnected),
        "libzmq never dropped the incompatible peer; events: {}",
        mon.log()
    );
    // Let libsock retry a few times (reconnect_ivl 20 ms): still never a handshake.
    mon.collect_for(ms(300));
    assert!(
        !mon.saw(zmq::SocketEvent::HANDSHAKE_SUCCEEDED),
        "handshake between incompatible types succeeded; events: {}",
        mon.log()
    );
    eprintln!("libzmq events: {}", mon.log());
}

/// libsock and libzmq still work after the rejected connection attempts.
fn assert_still_works(world: &World) {
    let pull = world.socket(Lib::Libzmq, PULL);
    let push = world.socket(Lib::Libsock, PUSH);
    let ep = pull.bind(world, "tcp");
    push.connect(&ep);
    push.send(b"still alive");
    assert_eq!(pull.recv(), b"still alive");
    assert_no_io_panics();
}

#[test]
fn incompatible_libsock_push_to_zmq_push() {
    let world = World::new();
    let z = world.z_socket(PUSH);
    let mut mon = Monitor::attach(&world, &z);
    z.bind("tcp://127.0.0.1:*").unwrap();
    let ep = z.get_last_endpoint().unwrap().unwrap();

    let push = world.ls_socket(PUSH);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    // Queues into the connect-time pipe; must never go anywhere.
    push.send("never delivered", libsock::DONTWAIT).unwrap();
    assert_rejected(&mut mon);
    assert!(mon.count(zmq::SocketEvent::ACCEPTED) >= 1, "{}", mon.log());
    assert_still_works(&world);
}

#[test]
fn incompatible_libsock_pair_to_zmq_pull_delivers_nothing() {
    let world = World::new();
    let z = world.z_socket(PULL);
    let mut mon = Monitor::attach(&world, &z);
    z.bind("tcp://127.0.0.1:*").unwrap();
    let ep = z.get_last_endpoint().unwrap().unwrap();

    let pair = world.ls_socket(PAIR);
    pair.set_reconnect_ivl(20).unwrap();
    pair.connect(&ep).unwrap();
    pair.send("never delivered", libsock::DONTWAIT).unwrap();
    assert_rejected(&mut mon);
    z.set_rcvtimeo(100).unwrap();
    assert!(matches!(z.recv_bytes(0), Err(zmq::Error::EAGAIN)), "libzmq PULL received from a PAIR");
    assert_still_works(&world);
}

#[test]
fn incompatible_zmq_push_to_libsock_pair_delivers_nothing() {
    let world = World::new();
    let pair = world.ls_socket(PAIR);
    pair.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pair.get_last_endpoint().unwrap();

    let z = world.z_socket(PUSH);
    z.set_reconnect_ivl(20).unwrap();
    let mut mon = Monitor::attach(&world, &z);
    z.connect(&ep).unwrap();
    // libzmq queues it in the connect-time pipe.
    z.send("never delivered", zmq::DONTWAIT).unwrap();
    assert_rejected(&mut mon);
    assert!(mon.saw(zmq::SocketEvent::CONNECTED), "{}", mon.log());
    pair.set_rcvtimeo(100).unwrap();
    assert!(matches!(pair.recv_bytes(0), Err(libsock::Error::TimedOut)), "libsock PAIR received from a PUSH");
    assert_still_works(&world);
}
