//! Reconnection after the libzmq peer goes away and comes back on the same port.

use super::*;

// ------------------------------------------------------------------------------------------
// 5. Reconnect after the libzmq peer goes away and comes back on the same port.
// ------------------------------------------------------------------------------------------

/// A new libzmq socket bound to `ep`, the endpoint a closed one had. libzmq closes listeners
/// asynchronously, so the port may be busy for a moment: retry.
fn rebind_zmq(world: &World, kind: SocketType, ep: &str) -> zmq::Socket {
    let deadline = Instant::now() + ms(3000);
    loop {
        let s = world.z_socket(kind);
        match s.bind(ep) {
            Ok(()) => return s,
            Err(e) if Instant::now() < deadline => {
                eprintln!("rebind {ep}: {e:?}, retrying");
                std::thread::sleep(ms(10));
            }
            Err(e) => panic!("cannot rebind {ep}: {e:?}"),
        }
    }
}

#[test]
fn reconnects_to_a_restarted_zmq_peer() {
    let world = World::new();
    let pull = world.socket(Lib::Libzmq, PULL);
    let ep = pull.bind(&world, "tcp");

    let push = world.ls_socket(PUSH);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    push.send("before", 0).unwrap();
    assert_eq!(pull.recv(), b"before");

    drop(pull);
    let pull = rebind_zmq(&world, PULL, &ep);
    let restarted = Instant::now();

    // Probe until something gets through: messages written into the dead connection are lost.
    pull.set_rcvtimeo(50).unwrap();
    let deadline = Instant::now() + ms(4000);
    loop {
        push.send("probe", 0).unwrap();
        match pull.recv_bytes(0) {
            Ok(m) => {
                assert_eq!(m, b"probe");
                break;
            }
            Err(zmq::Error::EAGAIN) if Instant::now() < deadline => {}
            Err(e) => panic!("libsock did not reconnect within 4 s: {e:?}"),
        }
    }
    eprintln!("reconnected {:?} after the restart", restarted.elapsed());

    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    for i in 0..50 {
        push.send(format!("after-{i}").as_str(), 0).unwrap();
    }
    let mut next = 0;
    while next < 50 {
        let m = pull.recv_bytes(0).expect("lost messages after reconnect");
        if m == b"probe" {
            assert_eq!(next, 0, "probe after the sequence started");
            continue;
        }
        assert_eq!(String::from_utf8_lossy(&m), format!("after-{next}"));
        next += 1;
    }
    assert_no_io_panics();
}

#[test]
fn libsock_pull_reconnects_to_a_restarted_zmq_push() {
    let world = World::new();
    let push = world.socket(Lib::Libzmq, PUSH);
    let ep = push.bind(&world, "tcp");

    let pull = world.ls_socket(PULL);
    pull.set_reconnect_ivl(20).unwrap();
    pull.connect(&ep).unwrap();
    push.send(b"before");
    assert_eq!(pull.recv_bytes(0).unwrap(), b"before");

    drop(push);
    let push = rebind_zmq(&world, PUSH, &ep);
    let restarted = Instant::now();
    // libzmq's PUSH blocks (up to SNDTIMEO) until libsock has reconnected.
    for i in 0..50 {
        push.send(format!("after-{i}").as_str(), 0).expect("libsock did not reconnect");
    }
    for i in 0..50 {
        let m = pull.recv_bytes(0).expect("lost messages after reconnect");
        assert_eq!(String::from_utf8_lossy(&m), format!("after-{i}"));
    }
    eprintln!("pull side: all through {:?} after the restart", restarted.elapsed());
    assert_no_io_panics();
}
