//! Subscriptions reach a publisher without the subscriber's help, whenever they are made.

use std::sync::mpsc;
use std::time::Duration;

use crate::engine::pause;
use crate::{Context, Socket, SocketType, SUB, XPUB, XSUB};

/// `sub` subscribes to everything exactly while its I/O thread, in the handshake of the
/// connection that `connect` makes, has sent the subscription snapshot (without the topic)
/// and not yet told the socket that the peer is ready. Then `xpub` must see the subscription
/// with `sub` left alone, as libzmq's test_hwm_pubsub waits for it (and hung once in about
/// 200 runs before).
fn subscribe_during_the_handshake(sub: &Socket, xpub: &Socket, connect: impl FnOnce()) {
    let (reached, at_snapshot) = mpsc::channel();
    pause::after_snapshot(sub.core().shared(), reached, Duration::from_millis(300));
    connect();
    at_snapshot.recv_timeout(Duration::from_secs(10)).expect("the handshake never got to its snapshot");
    if sub.core().kind == XSUB {
        sub.send(vec![1u8], 0).unwrap();
    } else {
        sub.set_subscribe(b"").unwrap();
    }
    xpub.set_rcvtimeo(3000).unwrap();
    let got = xpub.recv_bytes(0);
    assert_eq!(got.ok(), Some(vec![1]), "the subscription made during the handshake never reached the XPUB");
}

fn xpub_and(kind: SocketType) -> (Context, Socket, Socket) {
    let ctx = Context::new();
    let (xpub, sub) = (ctx.socket(XPUB).unwrap(), ctx.socket(kind).unwrap());
    xpub.set_linger(0).unwrap();
    sub.set_linger(0).unwrap();
    (ctx, xpub, sub)
}

#[test]
fn a_subscription_made_as_a_connecting_subscriber_handshakes_reaches_the_publisher() {
    for kind in [SUB, XSUB] {
        let (_ctx, xpub, sub) = xpub_and(kind);
        xpub.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = xpub.get_last_endpoint().unwrap();
        subscribe_during_the_handshake(&sub, &xpub, || sub.connect(&endpoint).unwrap());
    }
}

#[test]
fn a_subscription_made_as_an_accepted_publisher_handshakes_reaches_it() {
    for kind in [SUB, XSUB] {
        let (_ctx, xpub, sub) = xpub_and(kind);
        sub.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = sub.get_last_endpoint().unwrap();
        subscribe_during_the_handshake(&sub, &xpub, || xpub.connect(&endpoint).unwrap());
    }
}
