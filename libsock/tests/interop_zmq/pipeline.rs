//! PUSH/PULL across the libraries: every direction, role and transport, frame sizes around
//! the length boundaries, bursts of 100 000 messages, and fair queuing of three libzmq pushers.

use super::*;

// ------------------------------------------------------------------------------------------
// 1. PUSH/PULL in every direction, role and transport, with sizes around the frame-length
//    boundaries, a large message and multipart messages.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Binder {
    Sender,
    Receiver,
}

/// Messages covering empty, short-frame (≤255), long-frame (≥256) bodies, bodies received
/// in place (over 64 KiB: into a pooled buffer up to 8 MiB, a heap block beyond), and
/// multipart messages with empty frames.
fn matrix_messages() -> Vec<Vec<Vec<u8>>> {
    let mut msgs: Vec<Vec<Vec<u8>>> =
        [0usize, 1, 255, 256, 1 << 20, 9 << 20].iter().enumerate().map(|(i, &n)| vec![body(n, i)]).collect();
    msgs.push(vec![b"head".to_vec(), Vec::new(), body(256, 9), body(255, 10)]);
    msgs.push(vec![Vec::new(), Vec::new(), Vec::new()]);
    msgs.push(vec![b"big".to_vec(), body(1 << 20, 11), Vec::new()]);
    for i in 0..20 {
        msgs.push(vec![format!("seq-{i}").into_bytes(), body(i * 13, i)]);
    }
    msgs.push(vec![b"end".to_vec()]);
    msgs
}

fn push_pull_case(sender_lib: Lib, binder: Binder, transport: &str) {
    let world = World::new();
    let receiver_lib = match sender_lib {
        Lib::Libsock => Lib::Libzmq,
        Lib::Libzmq => Lib::Libsock,
    };
    let push = world.socket(sender_lib, PUSH);
    let pull = world.socket(receiver_lib, PULL);
    let (bound, connecting) = match binder {
        Binder::Sender => (&push, &pull),
        Binder::Receiver => (&pull, &push),
    };
    let ep = bound.bind(&world, transport);
    connecting.connect(&ep);

    let msgs = matrix_messages();
    for m in &msgs {
        push.send_parts(m);
    }
    for (i, expected) in msgs.iter().enumerate() {
        let got = pull.recv_parts();
        assert!(
            got == *expected,
            "{sender_lib:?} PUSH -> {receiver_lib:?} PULL, {binder:?} binds, {transport}: \
             message #{i} differs: got {}, expected {}",
            short(&got),
            short(expected)
        );
    }
    // Nothing extra arrives.
    pull.set_rcvtimeo(50);
    assert!(pull.try_recv_parts().is_none(), "unexpected extra message");
    assert_no_io_panics();
}

macro_rules! push_pull_matrix {
    ($($name:ident: $sender:ident, $binder:ident, $transport:literal;)*) => {
        $(
            #[test]
            fn $name() {
                push_pull_case(Lib::$sender, Binder::$binder, $transport);
            }
        )*
    };
}

push_pull_matrix! {
    push_pull_libsock_to_zmq_sender_binds_tcp: Libsock, Sender, "tcp";
    push_pull_libsock_to_zmq_receiver_binds_tcp: Libsock, Receiver, "tcp";
    push_pull_libsock_to_zmq_sender_binds_ipc: Libsock, Sender, "ipc";
    push_pull_libsock_to_zmq_receiver_binds_ipc: Libsock, Receiver, "ipc";
    push_pull_zmq_to_libsock_sender_binds_tcp: Libzmq, Sender, "tcp";
    push_pull_zmq_to_libsock_receiver_binds_tcp: Libzmq, Receiver, "tcp";
    push_pull_zmq_to_libsock_sender_binds_ipc: Libzmq, Sender, "ipc";
    push_pull_zmq_to_libsock_receiver_binds_ipc: Libzmq, Receiver, "ipc";
}

// ------------------------------------------------------------------------------------------
// 3. Bursts of 100_000 small messages, in order (batching and framing at scale).
// ------------------------------------------------------------------------------------------

const BURST: u32 = 100_000;

fn burst_message(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.extend(std::iter::repeat_n(i as u8, (i % 13) as usize));
    m
}

fn burst_case(sender_lib: Lib) {
    let world = World::new();
    let receiver_lib = match sender_lib {
        Lib::Libsock => Lib::Libzmq,
        Lib::Libzmq => Lib::Libsock,
    };
    let push = world.socket(sender_lib, PUSH);
    let pull = world.socket(receiver_lib, PULL);
    let ep = pull.bind(&world, "tcp");
    push.connect(&ep);

    let started = Instant::now();
    std::thread::scope(|s| {
        let sender = s.spawn(move || {
            for i in 0..BURST {
                push.send(burst_message(i));
            }
            // Hand the socket back: closing it now (LINGER 0) would drop what is in flight.
            push
        });
        for i in 0..BURST {
            let got = pull.recv_parts();
            assert!(
                got.len() == 1 && got[0] == burst_message(i),
                "{sender_lib:?} -> {receiver_lib:?}: message #{i} is {got:?}"
            );
        }
        drop(sender.join().unwrap());
    });
    eprintln!("burst {sender_lib:?} -> {receiver_lib:?}: {BURST} messages in {:?}", started.elapsed());
    assert_no_io_panics();
}

#[test]
fn burst_libsock_push_to_zmq_pull_tcp() {
    burst_case(Lib::Libsock);
}

#[test]
fn burst_zmq_push_to_libsock_pull_tcp() {
    burst_case(Lib::Libzmq);
}

/// Message `i` of a mixed burst: bodies across every decoder boundary (inline 38/39 B, the
/// short form's 255/256 B) and every seventh message in three frames, so the receiver's run
/// decoder keeps stopping at long frames and multipart ends mid-run.
fn mixed_message(i: usize) -> Vec<Vec<u8>> {
    const SIZES: [usize; 13] = [0, 1, 37, 38, 39, 40, 64, 200, 254, 255, 256, 300, 1000];
    let first = body(SIZES[i % SIZES.len()], i);
    if i % 7 == 0 {
        vec![first, (i as u32).to_le_bytes().to_vec(), body(SIZES[(i / 7) % SIZES.len()], i + 1)]
    } else {
        let mut tagged = (i as u32).to_le_bytes().to_vec();
        tagged.extend(first);
        vec![tagged]
    }
}

/// libzmq floods a libsock PULL with the mixed burst: every message arrives whole, in order.
fn mixed_burst_case(transport: &str) {
    const COUNT: usize = 30_000;
    let world = World::new();
    let push = world.socket(Lib::Libzmq, PUSH);
    let pull = world.socket(Lib::Libsock, PULL);
    let ep = pull.bind(&world, transport);
    push.connect(&ep);
    std::thread::scope(|s| {
        let sender = s.spawn(move || {
            for i in 0..COUNT {
                push.send_parts(&mixed_message(i));
            }
            push
        });
        for i in 0..COUNT {
            let got = pull.recv_parts();
            assert!(got == mixed_message(i), "{transport}: message #{i} is {}", short(&got));
        }
        drop(sender.join().unwrap());
    });
    assert_no_io_panics();
}

#[test]
fn mixed_burst_zmq_push_to_libsock_pull_tcp() {
    mixed_burst_case("tcp");
}

#[test]
fn mixed_burst_zmq_push_to_libsock_pull_ipc() {
    mixed_burst_case("ipc");
}

// ------------------------------------------------------------------------------------------
// 7. One libsock PULL, three libzmq PUSH peers: fair queuing.
// ------------------------------------------------------------------------------------------

#[test]
fn libsock_pull_fair_queues_three_zmq_pushers() {
    let world = World::new();
    let pull = world.ls_socket(PULL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();

    const PEERS: usize = 3;
    const EACH: usize = 200;
    let pushers: Vec<zmq::Socket> = (0..PEERS)
        .map(|_| {
            let s = world.z_socket(PUSH);
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    // Everyone is connected once each hello arrived.
    for (k, p) in pushers.iter().enumerate() {
        p.send(format!("hello {k}").as_str(), 0).unwrap();
    }
    let mut hellos: Vec<Vec<u8>> = (0..PEERS).map(|_| pull.recv_bytes(0).unwrap()).collect();
    hellos.sort();
    let expected: Vec<Vec<u8>> = (0..PEERS).map(|k| format!("hello {k}").into_bytes()).collect();
    assert_eq!(hellos, expected);

    for i in 0..EACH {
        for (k, p) in pushers.iter().enumerate() {
            p.send_multipart([format!("{k}").into_bytes(), format!("{i}").into_bytes()], 0).unwrap();
        }
    }
    // Let all three queues fill on libsock's side, so fairness (not arrival order) decides.
    std::thread::sleep(ms(200));

    let mut next = [0usize; PEERS];
    let mut order = Vec::with_capacity(PEERS * EACH);
    for _ in 0..PEERS * EACH {
        let parts = pull.recv_multipart(0).unwrap();
        assert_eq!(parts.len(), 2, "{parts:?}");
        let k: usize = String::from_utf8_lossy(&parts[0]).parse().unwrap();
        let i: usize = String::from_utf8_lossy(&parts[1]).parse().unwrap();
        assert_eq!(i, next[k], "peer {k}'s messages out of order");
        next[k] += 1;
        order.push(k);
    }
    assert_eq!(next, [EACH; PEERS]);
    pull.set_rcvtimeo(50).unwrap();
    assert!(pull.recv_bytes(0).is_err(), "unexpected extra message");

    // Fair queuing: in every window of 30 consecutive messages (while all peers still have
    // messages queued), every peer is served.
    let window = 30;
    for (w, chunk) in order[..PEERS * EACH * 2 / 3].chunks_exact(window).enumerate() {
        for k in 0..PEERS {
            let n = chunk.iter().filter(|&&x| x == k).count();
            assert!(
                n >= window / PEERS / 2,
                "peer {k} got {n} of messages {}..{}: {chunk:?}",
                w * window,
                (w + 1) * window
            );
        }
    }
    assert_no_io_panics();
}
