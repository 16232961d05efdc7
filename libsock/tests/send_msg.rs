//! `Socket::send_msg` and `Socket::send_from`: a send that did not happen hands the message
//! back, or leaves it where it was (the C API relies on it so that `zmq_msg_send` need not
//! copy a message to leave it unchanged on failure). `Socket::recv` into a message: the old
//! frame is released first, as `zmq_msg_recv` does; `Socket::recv_into` a buffer.

use std::io::Write;
use std::net::TcpStream;

use libsock::codec::greeting::Greeting;
use libsock::codec::{frame, null};
use libsock::{
    Context, Error, Message, Socket, SocketType, DEALER, DONTWAIT, PAIR, PULL, PUSH, REP, REQ, SNDMORE, SUB,
};

fn body(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

#[test]
fn would_block_timeout_and_eterm_hand_the_message_back() {
    let ctx = Context::new();
    let push = ctx.socket(PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.set_sndtimeo(10).unwrap();
    for size in [0, 1, 38, 39, 1000, 100_000] {
        // No peer: DONTWAIT fails at once, a blocking send after SNDTIMEO.
        for flags in [DONTWAIT, 0, SNDMORE | DONTWAIT] {
            let (err, back) = push.send_msg(Message::from(body(size)), flags).unwrap_err();
            assert!(matches!(err, Error::WouldBlock | Error::TimedOut), "{size} {flags}: {err:?}");
            let back = back.expect("the message comes back");
            assert_eq!(&back[..], &body(size)[..]);
            assert_eq!(back.get_more(), flags & SNDMORE != 0);
        }
    }
    // Once a peer is there the same kind of message is delivered.
    let pull = ctx.socket(PULL).unwrap();
    pull.bind("inproc://send-msg-back").unwrap();
    push.connect("inproc://send-msg-back").unwrap();
    push.send_msg(Message::from(body(1000)), 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), body(1000));

    let idle = ctx.socket(PUSH).unwrap();
    idle.set_linger(0).unwrap();
    ctx.shutdown();
    let (err, back) = idle.send_msg(Message::from(body(64)), 0).unwrap_err();
    assert!(matches!(err, Error::ContextTerminated), "{err:?}");
    assert_eq!(&back.expect("the message comes back")[..], &body(64)[..]);
}

#[test]
fn a_message_refused_for_good_is_not_handed_back() {
    let ctx = Context::new();
    let req = ctx.socket(REQ).unwrap();
    let rep = ctx.socket(REP).unwrap();
    rep.bind("inproc://send-msg-refused").unwrap();
    req.connect("inproc://send-msg-refused").unwrap();
    req.send("first", 0).unwrap();
    // REQ out of turn: EFSM, and the message is gone (the C layer shares such types' messages
    // before sending them).
    let (err, back) = req.send_msg(Message::from("second"), 0).unwrap_err();
    assert!(matches!(err, Error::InvalidState), "{err:?}");
    assert!(back.is_none());
    // PULL cannot send at all.
    let pull = ctx.socket(PULL).unwrap();
    let (err, back) = pull.send_msg(Message::from("x"), DONTWAIT).unwrap_err();
    assert!(matches!(err, Error::NotSupported), "{err:?}");
    assert!(back.is_none());
}

#[test]
fn send_from_empties_the_message_once_sent_and_leaves_it_when_not() {
    let ctx = Context::new();
    let push = ctx.socket(PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.set_sndtimeo(10).unwrap();
    for size in [0, 1, 38, 39, 1000, 100_000] {
        for flags in [DONTWAIT, 0, SNDMORE | DONTWAIT] {
            let mut msg = Message::from(body(size));
            let err = push.send_from(&mut msg, flags).unwrap_err();
            assert!(matches!(err, Error::WouldBlock | Error::TimedOut), "{size} {flags}: {err:?}");
            assert_eq!(&msg[..], &body(size)[..], "{size} {flags}: left as it was");
            assert_eq!(msg.get_more(), flags & SNDMORE != 0);
        }
    }
    let pull = ctx.socket(PULL).unwrap();
    pull.bind("inproc://send-from").unwrap();
    push.connect("inproc://send-from").unwrap();
    for size in [1, 1000, 100_000] {
        let mut msg = Message::from(body(size));
        push.send_from(&mut msg, 0).unwrap();
        assert!(msg.is_empty(), "{size}: an empty message is left once sent");
        assert_eq!(pull.recv_bytes(0).unwrap(), body(size));
    }

    let idle = ctx.socket(PUSH).unwrap();
    idle.set_linger(0).unwrap();
    ctx.shutdown();
    let mut msg = Message::from(body(64));
    assert!(matches!(idle.send_from(&mut msg, 0), Err(Error::ContextTerminated)));
    assert_eq!(&msg[..], &body(64)[..]);

    // Refused for good: gone, the message left empty.
    let ctx = Context::new();
    let pull = ctx.socket(PULL).unwrap();
    let mut msg = Message::from("x");
    assert!(matches!(pull.send_from(&mut msg, DONTWAIT), Err(Error::NotSupported)));
    assert!(msg.is_empty());
}

#[test]
fn recv_into_a_message_releases_the_old_frame_first_and_a_failure_leaves_it_empty() {
    let ctx = Context::new();
    let pull = ctx.socket(PULL).unwrap();
    pull.set_rcvtimeo(10).unwrap();
    pull.bind("inproc://recv-into").unwrap();
    let push = ctx.socket(PUSH).unwrap();
    push.connect("inproc://recv-into").unwrap();
    // Inline, pooled and large bodies, received with MORE set, and shared with a clone.
    for size in [3, 100, 5000, 100_000] {
        for flags in [DONTWAIT, 0] {
            push.send_multipart([body(size), b"end".to_vec()], 0).unwrap();
            let mut msg = Message::new();
            pull.recv(&mut msg, 0).unwrap();
            assert!(msg.get_more());
            assert_eq!(pull.recv_bytes(0).unwrap(), b"end");
            let keep = msg.clone();
            let err = pull.recv(&mut msg, flags).unwrap_err();
            assert!(matches!(err, Error::WouldBlock | Error::TimedOut), "{size} {flags}: {err:?}");
            assert!(msg.is_empty() && !msg.get_more(), "{size} {flags}: left empty, as libzmq");
            assert_eq!(&keep[..], &body(size)[..], "{size}: a clone keeps the body");
            // The next frame goes into the same message.
            push.send(body(size + 1), 0).unwrap();
            pull.recv(&mut msg, 0).unwrap();
            assert_eq!(&msg[..], &body(size + 1)[..]);
        }
    }
    // A terminated context leaves the message as it was (libzmq checks that first).
    let mut msg = Message::from(body(100));
    drop(push);
    pull.set_linger(0).unwrap();
    ctx.shutdown();
    assert!(matches!(pull.recv(&mut msg, DONTWAIT), Err(Error::ContextTerminated)));
    assert_eq!(&msg[..], &body(100)[..]);
}

/// PULL, DEALER and PAIR read a frame straight into the caller's message: whole multipart
/// messages from each of several peers in turn, MORE and `get_rcvmore` per frame, the
/// connection's metadata on every frame, and the other peers still read once one is gone.
#[test]
fn recv_into_a_message_through_the_fair_queue() {
    let ctx = Context::new();
    for (kind, peer_kind, peer_name) in
        [(PULL, PUSH, "PUSH"), (DEALER, DEALER, "DEALER"), (PAIR, PAIR, "PAIR")]
    {
        let receiver = ctx.socket(kind).unwrap();
        receiver.set_rcvtimeo(5000).unwrap();
        receiver.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = receiver.get_last_endpoint().unwrap();
        let peers = if kind == PAIR { 1 } else { 3 };
        let mut senders: Vec<(usize, Socket)> = (0..peers)
            .map(|i| {
                let s = ctx.socket(peer_kind).unwrap();
                s.set_linger(5000).unwrap();
                s.connect(&endpoint).unwrap();
                (i, s)
            })
            .collect();
        let send_round = |senders: &[(usize, Socket)], round: usize| {
            for (i, s) in senders {
                let parts = vec![format!("{i}:{round}").into_bytes(), body(round * 40), b"end".to_vec()];
                s.send_multipart(parts, 0).unwrap();
            }
        };
        let mut msg = Message::new();
        let mut next = vec![0usize; peers];
        let mut receive = |count: usize, next: &mut Vec<usize>| {
            for _ in 0..count {
                receiver.recv(&mut msg, 0).unwrap_or_else(|e| panic!("{peer_name}: {e:?}"));
                assert!(msg.get_more() && receiver.get_rcvmore().unwrap(), "{peer_name}");
                assert_eq!(msg.gets("Socket-Type"), Some(peer_name));
                let head = String::from_utf8(msg.to_vec()).unwrap();
                let (i, round) = head.split_once(':').unwrap();
                let (i, round): (usize, usize) = (i.parse().unwrap(), round.parse().unwrap());
                assert_eq!(round, next[i], "{peer_name}: peer {i}'s messages in order");
                next[i] += 1;
                receiver.recv(&mut msg, 0).unwrap();
                assert_eq!(&msg[..], &body(round * 40)[..], "{peer_name}: the same message's body");
                assert!(msg.get_more() && msg.gets("Socket-Type") == Some(peer_name));
                receiver.recv(&mut msg, 0).unwrap();
                assert_eq!(&msg[..], b"end");
                assert!(!msg.get_more() && !receiver.get_rcvmore().unwrap(), "{peer_name}");
            }
        };
        let rounds = 50;
        for round in 0..rounds {
            send_round(&senders, round);
        }
        receive(rounds * peers, &mut next);
        assert!(next.iter().all(|&n| n == rounds), "{peer_name}: {next:?}");
        if peers > 1 {
            // One peer gone: its pipe is reaped, the others' messages still come.
            drop(senders.remove(0));
            std::thread::sleep(std::time::Duration::from_millis(100));
            for round in rounds..rounds + 5 {
                send_round(&senders, round);
            }
            receive(5 * (peers - 1), &mut next);
            assert_eq!(&next[1..], &vec![rounds + 5; peers - 1][..], "{peer_name}");
        }
    }
}

/// SUB receives into the caller's message too, and drops what it is not subscribed to whole
/// (every frame of it) when the publisher does not filter: here a raw ZMTP peer announcing
/// PUB that sends everything.
#[test]
fn recv_into_a_message_on_sub_drops_unsubscribed_messages_whole() {
    let ctx = Context::new();
    let sub = ctx.socket(SUB).unwrap();
    sub.set_subscribe(b"yes").unwrap();
    sub.set_rcvtimeo(5000).unwrap();
    sub.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = sub.get_last_endpoint().unwrap();
    let mut publisher = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    let mut wire = Vec::new();
    Greeting::ours().encode(&mut wire);
    null::encode_ready(&mut wire, SocketType::PUB, b"");
    for i in 0..20usize {
        let topic: &[u8] = if i % 3 == 0 { b"yes" } else { b"no" };
        frame::encode_frame(&mut wire, true, false, topic);
        frame::encode_frame(&mut wire, true, false, &body(i * 50));
        frame::encode_frame(&mut wire, false, false, format!("end {i}").as_bytes());
    }
    publisher.write_all(&wire).unwrap();
    let mut msg = Message::new();
    for i in (0..20).filter(|i| i % 3 == 0) {
        sub.recv(&mut msg, 0).unwrap();
        assert_eq!(&msg[..], b"yes");
        assert!(msg.get_more());
        sub.recv(&mut msg, 0).unwrap();
        assert_eq!(&msg[..], &body(i * 50)[..]);
        sub.recv(&mut msg, 0).unwrap();
        assert_eq!(&msg[..], format!("end {i}").as_bytes());
        assert!(!msg.get_more() && !sub.get_rcvmore().unwrap());
    }
    assert!(sub.recv(&mut msg, DONTWAIT).is_err() && msg.is_empty(), "nothing unsubscribed came");
}

#[test]
fn recv_into_a_buffer_copies_what_fits_and_returns_the_frame_size() {
    let ctx = Context::new();
    let pull = ctx.socket(PULL).unwrap();
    pull.bind("inproc://recv-into-buffer").unwrap();
    let push = ctx.socket(PUSH).unwrap();
    push.connect("inproc://recv-into-buffer").unwrap();
    let large = body(100_000);
    for m in [&b"hello world"[..], &b"hello world"[..], &large[..], &[][..]] {
        push.send(m, 0).unwrap();
    }
    let mut small = [0u8; 5];
    assert_eq!(pull.recv_into(&mut small, 0).unwrap(), 11, "the whole frame's size");
    assert_eq!(&small, b"hello", "what fits");
    let mut roomy = [0u8; 64];
    assert_eq!(pull.recv_into(&mut roomy, 0).unwrap(), 11);
    assert_eq!(&roomy[..11], b"hello world");
    assert_eq!(&roomy[11..], &[0u8; 53][..], "nothing written beyond the frame");
    let mut exact = vec![0u8; large.len()];
    assert_eq!(pull.recv_into(&mut exact, 0).unwrap(), large.len());
    assert_eq!(exact, large);
    assert_eq!(pull.recv_into(&mut [], 0).unwrap(), 0, "an empty frame");
    assert!(matches!(pull.recv_into(&mut roomy, DONTWAIT), Err(Error::WouldBlock)));
}
