//! `Socket::send_msg` and `Socket::send_from`: a send that did not happen hands the message
//! back, or leaves it where it was (the C API relies on it so that `zmq_msg_send` need not
//! copy a message to leave it unchanged on failure). `Socket::recv` into a message: the old
//! frame is released first, as `zmq_msg_recv` does.

use libsock::{Context, Error, Message, DONTWAIT, PULL, PUSH, REP, REQ, SNDMORE};

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
