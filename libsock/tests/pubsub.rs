//! PUB/SUB/XPUB/XSUB between libsock sockets over every transport.

mod common;

use std::time::{Duration, Instant};

use common::*;
use libsock::{Context, Error, Socket, DONTWAIT, PUB, SUB, XPUB, XSUB};

/// Publishes `probe` until `sub` receives something (subscriptions propagate asynchronously),
/// then returns what it received.
fn sync_sub(publisher: &Socket, sub: &Socket, probe: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    sub.set_rcvtimeo(20).unwrap();
    loop {
        publisher.send(probe, 0).unwrap();
        if let Ok(m) = sub.recv_bytes(0) {
            sub.set_rcvtimeo(5000).unwrap();
            return m;
        }
        assert!(Instant::now() < deadline, "subscription never arrived");
    }
}

fn drain(sub: &Socket) {
    while sub.recv_bytes(DONTWAIT).is_ok() {}
}

/// The next message that is not `probe`: on a loaded machine [`sync_sub`]'s later probes may
/// still be on their way after the drain. They were all sent before what the test sends,
/// so only the first receive after a drain needs this.
fn recv_past_probes(sub: &Socket, probe: &str) -> Vec<u8> {
    loop {
        let m = sub.recv_bytes(0).unwrap();
        if m != probe.as_bytes() {
            return m;
        }
    }
}

#[test]
fn sub_receives_only_its_topics_over_every_transport() {
    let ctx = Context::new();
    for transport in TRANSPORTS {
        let publisher = socket(&ctx, PUB);
        let sub = socket(&ctx, SUB);
        sub.set_subscribe(b"weather.").unwrap();
        sub.set_subscribe(b"sync").unwrap();
        pair_up(&publisher, &sub, transport);
        sync_sub(&publisher, &sub, "sync");
        std::thread::sleep(ms(20));
        drain(&sub);
        for m in ["news.1", "weather.paris", "sports", "weather.oslo"] {
            publisher.send(m, 0).unwrap();
        }
        publisher.send_multipart(["weather.multi", "part2"], 0).unwrap();
        publisher.send_multipart(["other", "part2"], 0).unwrap();
        assert_eq!(recv_past_probes(&sub, "sync"), b"weather.paris", "{transport}");
        assert_eq!(sub.recv_bytes(0).unwrap(), b"weather.oslo");
        assert_eq!(sub.recv_multipart(0).unwrap(), vec![b"weather.multi".to_vec(), b"part2".to_vec()]);
        sub.set_rcvtimeo(100).unwrap();
        assert!(sub.recv_bytes(0).is_err(), "{transport}: unsubscribed topic leaked");
    }
}

#[test]
fn subscriptions_are_counted_and_cancel_stops_delivery() {
    let ctx = Context::new();
    let publisher = socket(&ctx, PUB);
    let sub = socket(&ctx, SUB);
    sub.set_subscribe(b"t").unwrap();
    sub.set_subscribe(b"t").unwrap();
    pair_up(&publisher, &sub, "tcp");
    sync_sub(&publisher, &sub, "t0");
    sub.set_unsubscribe(b"t").unwrap();
    std::thread::sleep(ms(100));
    drain(&sub);
    publisher.send("t1", 0).unwrap();
    assert_eq!(recv_past_probes(&sub, "t0"), b"t1", "one subscription is still there");
    sub.set_unsubscribe(b"t").unwrap();
    std::thread::sleep(ms(100));
    publisher.send("t2", 0).unwrap();
    sub.set_rcvtimeo(100).unwrap();
    assert!(sub.recv_bytes(0).is_err());
}

#[test]
fn pub_fans_out_to_every_subscriber() {
    let ctx = Context::new();
    let publisher = socket(&ctx, PUB);
    publisher.bind(&scratch_endpoint("tcp")).unwrap();
    let ep = publisher.get_last_endpoint().unwrap();
    let subs: Vec<Socket> = (0..4)
        .map(|_| {
            let s = socket(&ctx, SUB);
            s.set_subscribe(b"").unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    for s in &subs {
        sync_sub(&publisher, s, "sync");
    }
    std::thread::sleep(ms(50));
    subs.iter().for_each(drain);
    for i in 0..100 {
        publisher.send(format!("m{i}"), 0).unwrap();
    }
    for s in &subs {
        assert_eq!(recv_past_probes(s, "sync"), b"m0");
        for i in 1..100 {
            assert_eq!(s.recv_bytes(0).unwrap(), format!("m{i}").into_bytes());
        }
    }
}

#[test]
fn pub_drops_for_a_slow_subscriber_instead_of_blocking() {
    let ctx = Context::new();
    let publisher = socket(&ctx, PUB);
    publisher.set_sndhwm(10).unwrap();
    let sub = socket(&ctx, SUB);
    sub.set_rcvhwm(10).unwrap();
    sub.set_subscribe(b"").unwrap();
    pair_up(&publisher, &sub, "inproc");
    for i in 0..1000 {
        publisher.send(format!("{i}"), DONTWAIT).unwrap();
    }
    let mut got = 0;
    while sub.recv_bytes(DONTWAIT).is_ok() {
        got += 1;
    }
    assert_eq!(got, 20, "inproc PUB keeps SNDHWM + RCVHWM and drops the rest");
    assert!(matches!(publisher.recv_bytes(DONTWAIT), Err(Error::NotSupported)));
    assert!(matches!(sub.send("x", 0), Err(Error::NotSupported)));
}

#[test]
fn xpub_sees_subscriptions_and_xsub_sends_them() {
    let ctx = Context::new();
    for transport in TRANSPORTS {
        let xpub = socket(&ctx, XPUB);
        let xsub = socket(&ctx, XSUB);
        pair_up(&xpub, &xsub, transport);
        xsub.send(b"\x01topic".as_slice(), 0).unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01topic", "{transport}");
        xpub.send("topic.x", 0).unwrap();
        xpub.send("other", 0).unwrap();
        assert_eq!(xsub.recv_bytes(0).unwrap(), b"topic.x");
        // A second subscriber to the same topic is not news; its cancel is not either.
        let sub2 = socket(&ctx, SUB);
        sub2.set_subscribe(b"topic").unwrap();
        sub2.connect(&xpub.get_last_endpoint().unwrap()).unwrap();
        sync_sub(&xpub, &sub2, "topic.sync");
        xsub.send(b"\x00topic".as_slice(), 0).unwrap();
        xpub.set_rcvtimeo(200).unwrap();
        assert!(
            xpub.recv_bytes(0).is_err(),
            "{transport}: a still-subscribed topic must not be reported gone"
        );
        drop(sub2);
        xpub.set_rcvtimeo(5000).unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00topic", "{transport}");
    }
}

/// As in libzmq 4.3, every frame an XSUB sends that starts with 0 or 1 is a subscription
/// change, also inside a multipart message: the XPUB passes the user frames up with their
/// MORE flags and each change as a message of its own, and publishes to those topics.
#[test]
fn subscription_frames_inside_multipart_messages_count() {
    let ctx = Context::new();
    for transport in TRANSPORTS {
        let xpub = socket(&ctx, XPUB);
        let xsub = socket(&ctx, XSUB);
        pair_up(&xpub, &xsub, transport);
        xsub.send(b"\x01sync".as_slice(), 0).unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01sync", "{transport}");
        xsub.send_multipart([&b"x"[..], b"\x01a"], 0).unwrap();
        xsub.send_multipart([&b"\x01b"[..], b"hello"], 0).unwrap();
        let expected: [&[&[u8]]; 3] = [&[b"x", b"\x01a"], &[b"\x01b"], &[b"hello"]];
        for parts in expected {
            assert_eq!(xpub.recv_multipart(0).unwrap(), parts, "{transport}");
        }
        for topic in ["a.1", "b.1", "c.1", "sync.end"] {
            xpub.send(topic, 0).unwrap();
        }
        let got: Vec<Vec<u8>> = (0..3).map(|_| xsub.recv_bytes(0).unwrap()).collect();
        assert_eq!(got, [&b"a.1"[..], b"b.1", b"sync.end"], "{transport}");
    }
}

/// ONLY_FIRST_SUBSCRIBE on both sides, as libzmq 4.3 reads it (`xsub_t::xsend`,
/// `xpub_t::xread_activated`): a message whose first frame is data is all data, whatever
/// its later frames start with; in one whose first frame is a subscription change, the later
/// frames may be changes too.
#[test]
fn only_first_subscribe_leaves_the_frames_after_data_alone() {
    let ctx = Context::new();
    for transport in TRANSPORTS {
        let xpub = socket(&ctx, XPUB);
        let xsub = socket(&ctx, XSUB);
        xpub.set_only_first_subscribe(true).unwrap();
        xsub.set_only_first_subscribe(true).unwrap();
        pair_up(&xpub, &xsub, transport);
        xsub.send(b"\x01sync".as_slice(), 0).unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01sync", "{transport}");
        xsub.send_multipart([&b"x"[..], b"\x01a"], 0).unwrap();
        xsub.send_multipart([&b"\x01b"[..], b"\x01c"], 0).unwrap();
        let expected: [&[&[u8]]; 3] = [&[b"x", b"\x01a"], &[b"\x01b"], &[b"\x01c"]];
        for parts in expected {
            assert_eq!(xpub.recv_multipart(0).unwrap(), parts, "{transport}");
        }
        for topic in ["a.1", "b.1", "c.1", "sync.end"] {
            xpub.send(topic, 0).unwrap();
        }
        let got: Vec<Vec<u8>> = (0..3).map(|_| xsub.recv_bytes(0).unwrap()).collect();
        assert_eq!(got, [&b"b.1"[..], b"c.1", b"sync.end"], "{transport}");
    }
}

#[test]
fn xpub_verbose_passes_every_subscription() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.set_xpub_verbose(true).unwrap();
    let s1 = socket(&ctx, SUB);
    let s2 = socket(&ctx, SUB);
    let ep = pair_up(&xpub, &s1, "tcp");
    s2.connect(&ep).unwrap();
    s1.set_subscribe(b"a").unwrap();
    s2.set_subscribe(b"a").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01a");
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01a");
}

#[test]
fn xpub_manual_lets_the_application_decide() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.set_xpub_manual(true).unwrap();
    let sub = socket(&ctx, SUB);
    pair_up(&xpub, &sub, "inproc");
    // The subscriber asks for everything; the application grants one topic.
    sub.set_subscribe(b"").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01");
    xpub.set_subscribe(b"granted").unwrap();
    xpub.send("asked.1", 0).unwrap();
    xpub.send("granted.1", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"granted.1");
}

/// XPUB_MANUAL as libzmq's test_xpub_manual: ZMQ_SUBSCRIBE applies to the subscriber whose
/// message the application read last; when a subscriber leaves, the application gets a
/// cancel for each topic it still had asked for (not the translated ones), and a subscribe
/// with no subscriber left to apply it to succeeds and does nothing.
#[test]
fn xpub_manual_cancels_what_a_leaving_subscriber_asked_for() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.set_xpub_manual(true).unwrap();
    let first = socket(&ctx, XSUB);
    pair_up(&xpub, &first, "inproc");
    let second = socket(&ctx, XSUB);
    second.connect(&xpub.get_last_endpoint().unwrap()).unwrap();
    first.send(&b"\x01A"[..], 0).unwrap();
    first.send(&b"\x01B"[..], 0).unwrap();
    second.send(&b"\x01C"[..], 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01A");
    xpub.set_subscribe(b"XA").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01B");
    xpub.set_subscribe(b"XB").unwrap();
    // `second`'s subscription was queued behind: granting it reaches `second` only.
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01C");
    xpub.set_subscribe(b"XC").unwrap();
    first.send(&b"\x00A"[..], 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00A");
    xpub.set_unsubscribe(b"XA").unwrap();
    for topic in ["XA", "XB", "XC"] {
        xpub.send(topic, 0).unwrap();
    }
    assert_eq!(first.recv_bytes(0).unwrap(), b"XB");
    assert_eq!(second.recv_bytes(0).unwrap(), b"XC");
    drop(first);
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00B", "the topic it asked for, not XB");
    xpub.set_unsubscribe(b"XB").unwrap();
    xpub.send("XC", 0).unwrap();
    assert_eq!(second.recv_bytes(0).unwrap(), b"XC", "the other subscriber keeps its grant");
}

/// libzmq queues a subscriber for each (un)subscription only: a message an XSUB sends
/// upstream, read in between, leaves ZMQ_SUBSCRIBE applying to the subscriber it did
/// (and with none read yet, to nobody).
#[test]
fn xpub_manual_subscribes_the_last_subscription_sender_not_the_last_upstream_sender() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.set_xpub_manual(true).unwrap();
    let asker = socket(&ctx, XSUB);
    pair_up(&xpub, &asker, "inproc");
    let talker = socket(&ctx, XSUB);
    talker.connect(&xpub.get_last_endpoint().unwrap()).unwrap();
    talker.send("hello", 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"hello");
    xpub.set_subscribe(b"").unwrap();
    asker.send(&b"\x01A"[..], 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01A");
    talker.send("again", 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"again");
    xpub.set_subscribe(b"A").unwrap();
    xpub.send("A.1", 0).unwrap();
    assert_eq!(asker.recv_bytes(0).unwrap(), b"A.1");
    talker.set_rcvtimeo(50).unwrap();
    assert!(talker.recv_bytes(0).is_err(), "the upstream sender was subscribed to nothing");
}

#[test]
fn xpub_welcome_message_reaches_new_subscribers() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPUB);
    xpub.set_xpub_welcome_msg(b"hello").unwrap();
    let sub = socket(&ctx, SUB);
    sub.set_subscribe(b"hello").unwrap();
    pair_up(&xpub, &sub, "tcp");
    // As in libzmq, the XPUB attaches the new peer (and greets it) when the application
    // next uses it: here, reading the subscription.
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01hello");
    assert_eq!(sub.recv_bytes(0).unwrap(), b"hello");
}

#[test]
fn resubscribes_after_reconnect() {
    let ctx = Context::new();
    let sub = socket(&ctx, SUB);
    sub.set_reconnect_ivl(20).unwrap();
    sub.set_subscribe(b"k").unwrap();
    let publisher = socket(&ctx, PUB);
    publisher.bind(&scratch_endpoint("tcp")).unwrap();
    let ep = publisher.get_last_endpoint().unwrap();
    sub.connect(&ep).unwrap();
    sync_sub(&publisher, &sub, "k1");
    drop(publisher);
    let publisher = socket(&ctx, PUB);
    let deadline = Instant::now() + Duration::from_secs(2);
    while publisher.bind(&ep).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(ms(10));
    }
    // On a loaded machine a duplicate "k1" from the first sync may still be queued.
    let mut got = sync_sub(&publisher, &sub, "k2");
    while got == b"k1" {
        got = sync_sub(&publisher, &sub, "k2");
    }
    assert_eq!(got, b"k2");
}
