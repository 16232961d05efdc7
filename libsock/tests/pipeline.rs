//! PUSH/PULL between libsock sockets over every transport.

mod common;

use common::*;
use libsock::{Context, Error, DONTWAIT, PULL, PUSH, SNDMORE};

#[test]
fn push_pull_every_transport_and_size() {
    init_logging();
    let ctx = Context::new();
    for transport in TRANSPORTS {
        let pull = socket(&ctx, PULL);
        let push = socket(&ctx, PUSH);
        pair_up(&pull, &push, transport);
        for size in [0usize, 1, 255, 256, 70_000, 1 << 20] {
            let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            push.send(body.clone(), 0).unwrap();
            assert_eq!(pull.recv_bytes(0).unwrap(), body, "{transport} {size}");
        }
    }
}

#[test]
fn copied_bodies_of_every_pooled_size_arrive_intact() {
    // Bodies sent from a slice are copied into recycled buffers up to POOLED_MAX; over tcp
    // and ipc the large ones are written without another copy, and those over 64 KiB are
    // received into recycled buffers too. Sent back to back, so the
    // buffers freed by the I/O thread are reused for the next bodies while earlier ones are
    // still queued: each must arrive with its own content.
    let ctx = Context::new();
    let sizes =
        [39usize, 64, 65, 512, 513, 4096, 8191, 8192, 8193, 20_000, 65_535, 65_536, 65_537, 131_073, 1 << 20];
    for transport in TRANSPORTS {
        let pull = socket(&ctx, PULL);
        let push = socket(&ctx, PUSH);
        pair_up(&pull, &push, transport);
        for round in 0..20u8 {
            for (i, size) in sizes.iter().enumerate() {
                let fill = round.wrapping_mul(31).wrapping_add(i as u8);
                push.send(&vec![fill; *size][..], SNDMORE).unwrap();
            }
            push.send("end", 0).unwrap();
        }
        for round in 0..20u8 {
            let parts = pull.recv_multipart(0).unwrap();
            let bodies: Vec<_> = parts.iter().filter(|p| p.as_slice() != b"end").collect();
            assert_eq!(bodies.len(), sizes.len(), "{transport} round {round}");
            for (i, (body, size)) in bodies.iter().zip(sizes).enumerate() {
                let fill = round.wrapping_mul(31).wrapping_add(i as u8);
                assert!(
                    body.len() == size && body.iter().all(|&b| b == fill),
                    "{transport} round {round} part {i}"
                );
            }
        }
    }
}

#[test]
fn multipart_arrives_whole_and_in_order() {
    let ctx = Context::new();
    for transport in TRANSPORTS {
        let pull = socket(&ctx, PULL);
        let push = socket(&ctx, PUSH);
        pair_up(&pull, &push, transport);
        for i in 0..100 {
            push.send_multipart([format!("a{i}"), String::new(), "x".repeat(i * 100)], 0).unwrap();
        }
        for i in 0..100 {
            let parts = pull.recv_multipart(0).unwrap();
            assert_eq!(parts, vec![format!("a{i}").into_bytes(), vec![], "x".repeat(i * 100).into_bytes()]);
        }
    }
}

#[test]
fn connect_before_bind_queues_messages() {
    let ctx = Context::new();
    for transport in ["ipc", "inproc"] {
        let ep = scratch_endpoint(transport);
        let push = socket(&ctx, PUSH);
        push.connect(&ep).unwrap();
        push.send("early", 0).unwrap();
        let pull = socket(&ctx, PULL);
        pull.bind(&ep).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"early", "{transport}");
    }
}

/// inproc has no handshake and libzmq joins any two socket types there, before or after the
/// bind (libzmq's test_inproc_connect has PAIRs on many threads connect to a PULL): a connect
/// must neither fail nor be dropped by the binder.
#[test]
fn inproc_joins_any_socket_types_in_either_order() {
    let ctx = Context::new();
    let ep = scratch_endpoint("inproc");
    let early = socket(&ctx, libsock::PAIR);
    early.connect(&ep).unwrap();
    early.send("early", 0).unwrap();
    let pull = socket(&ctx, PULL);
    pull.bind(&ep).unwrap();
    let late = std::thread::spawn({
        let ctx = ctx.clone();
        let ep = ep.clone();
        move || {
            let late = socket(&ctx, libsock::PAIR);
            late.connect(&ep).unwrap();
            late.send("late", 0).unwrap();
        }
    });
    let mut got = vec![pull.recv_bytes(0).unwrap(), pull.recv_bytes(0).unwrap()];
    got.sort();
    assert_eq!(got, vec![b"early".to_vec(), b"late".to_vec()]);
    late.join().unwrap();
}

#[test]
fn push_round_robins_and_pull_fair_queues() {
    let ctx = Context::new();
    let push = socket(&ctx, PUSH);
    push.bind(&scratch_endpoint("tcp")).unwrap();
    let ep = push.get_last_endpoint().unwrap();
    let pulls: Vec<_> = (0..3).map(|_| socket(&ctx, PULL)).collect();
    for p in &pulls {
        p.connect(&ep).unwrap();
    }
    // Wait until all three are connected: a message to each proves it.
    std::thread::sleep(ms(200));
    for i in 0..30 {
        push.send(format!("{i}"), 0).unwrap();
    }
    for p in &pulls {
        for _ in 0..10 {
            p.recv_bytes(0).unwrap();
        }
        assert!(matches!(p.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    }
}

#[test]
fn dontwait_and_timeouts_report_eagain() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    pull.bind(&scratch_endpoint("inproc")).unwrap();
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    pull.set_rcvtimeo(50).unwrap();
    let err = pull.recv_bytes(0).unwrap_err();
    assert!(matches!(err, Error::TimedOut));
    assert_eq!(err.to_raw(), 11);
    let push = socket(&ctx, PUSH);
    // No peer: PUSH blocks, so DONTWAIT fails.
    assert!(matches!(push.send("x", DONTWAIT), Err(Error::WouldBlock)));
    assert!(matches!(pull.send("x", 0), Err(Error::NotSupported)));
    assert!(matches!(push.recv_bytes(DONTWAIT), Err(Error::NotSupported)));
}

#[test]
fn sndhwm_blocks_the_sender() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    let push = socket(&ctx, PUSH);
    push.set_sndhwm(5).unwrap();
    pull.set_rcvhwm(5).unwrap();
    pair_up(&pull, &push, "inproc");
    let mut sent = 0;
    while push.send("m", DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent < 1000, "HWM never reached");
    }
    assert_eq!(sent, 10, "inproc holds SNDHWM + RCVHWM");
    // Room comes back a low water mark at a time ((10 + 1) / 2 taken), as in libzmq.
    pull.recv_bytes(0).unwrap();
    assert!(matches!(push.send("m", DONTWAIT), Err(Error::WouldBlock)));
    for _ in 0..4 {
        pull.recv_bytes(0).unwrap();
    }
    for _ in 0..5 {
        push.send("m", DONTWAIT).unwrap();
    }
    assert!(matches!(push.send("m", DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn multipart_send_with_sndmore_flag() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    let push = socket(&ctx, PUSH);
    pair_up(&pull, &push, "tcp");
    push.send("a", SNDMORE).unwrap();
    push.send("b", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"a");
    assert!(pull.get_rcvmore().unwrap());
    assert_eq!(pull.recv_bytes(0).unwrap(), b"b");
    assert!(!pull.get_rcvmore().unwrap());
}

/// A PUSH binds and a PULL connects to it (inproc); then the PUSH connects to a second PULL.
/// As libzmq's `bind` and `connect` take the socket's pending commands first, the PULL that
/// connected earlier is attached first and gets the first message of the round robin, in
/// libsock as in libzmq (the `zmq` crate runs the same steps).
#[test]
fn a_connect_attaches_the_peers_that_came_before_it_first() {
    let ctx = Context::new();
    let push = socket(&ctx, PUSH);
    push.bind("inproc://rr-first").unwrap();
    let early = socket(&ctx, PULL);
    early.connect("inproc://rr-first").unwrap();
    let late = socket(&ctx, PULL);
    late.bind("inproc://rr-second").unwrap();
    push.connect("inproc://rr-second").unwrap();
    push.send("1", DONTWAIT).unwrap();
    push.send("2", DONTWAIT).unwrap();
    let ours = [early.recv_bytes(DONTWAIT).unwrap(), late.recv_bytes(DONTWAIT).unwrap()];

    let z = zmq::Context::new();
    let zpush = z.socket(zmq::PUSH).unwrap();
    zpush.bind("inproc://rr-first").unwrap();
    let zearly = z.socket(zmq::PULL).unwrap();
    zearly.connect("inproc://rr-first").unwrap();
    let zlate = z.socket(zmq::PULL).unwrap();
    zlate.bind("inproc://rr-second").unwrap();
    zpush.connect("inproc://rr-second").unwrap();
    zpush.send("1", zmq::DONTWAIT).unwrap();
    zpush.send("2", zmq::DONTWAIT).unwrap();
    let theirs = [zearly.recv_bytes(zmq::DONTWAIT).unwrap(), zlate.recv_bytes(zmq::DONTWAIT).unwrap()];
    assert_eq!(ours, theirs);
    assert_eq!(ours, [b"1".to_vec(), b"2".to_vec()]);
}
