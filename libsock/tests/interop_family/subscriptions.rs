//! Subscriptions across the libraries: counting, XPUB_VERBOSE, cancels on disconnect, and
//! a libsock PUB filtering for a receiver that does not filter (libzmq's XSUB).

use super::*;

/// Two subscribers of one library subscribe to the same topic on an XPUB of the other; one
/// subscribes twice. Non-verbose XPUBs report a topic once, verbose ones every subscribe;
/// cancels come when the last reference goes, also when a subscriber disconnects.
fn xpub_subscription_messages_case(xpub_lib: Lib, verbose: bool) {
    let world = World::new();
    let xpub = world.socket(xpub_lib, XPUB);
    xpub.set_xpub_verbose(verbose);
    let ep = xpub.bind(&world, "tcp");
    let s1 = world.socket(xpub_lib.other(), SUB);
    let s2 = world.socket(xpub_lib.other(), SUB);
    s1.connect(&ep);
    s2.connect(&ep);

    s1.subscribe(b"topic");
    assert_eq!(xpub.recv(), b"\x01topic");
    s1.subscribe(b"topic");
    s2.subscribe(b"topic");
    if verbose {
        assert_eq!(xpub.recv(), b"\x01topic", "verbose: s1's second subscribe is passed up");
        assert_eq!(xpub.recv(), b"\x01topic", "verbose: s2's subscribe is passed up");
    }
    xpub.assert_silent(100, "duplicate subscription passed up");
    s2.subscribe(b"other");
    assert_eq!(xpub.recv(), b"\x01other", "a new topic is always passed up");

    // Counted: s1 needs two unsubscribes.
    s1.unsubscribe(b"topic");
    xpub.send("topic.1");
    assert_eq!(s1.recv(), b"topic.1", "s1 subscribed twice, unsubscribed once");
    assert_eq!(s2.recv(), b"topic.1");
    s1.unsubscribe(b"topic");
    xpub.send("other.sync");
    assert_eq!(s2.recv(), b"other.sync");
    xpub.send("topic.2");
    assert_eq!(s2.recv(), b"topic.2");
    s1.assert_silent(50, "fully unsubscribed");
    // s2 still holds "topic": nobody has cancelled it as far as the XPUB can tell.
    xpub.assert_silent(100, "a topic still subscribed elsewhere reported gone");

    // The last subscriber of both topics leaves: the XPUB reports them gone.
    drop(s2);
    let mut gone = BTreeSet::new();
    gone.insert(xpub.recv());
    gone.insert(xpub.recv());
    let want: BTreeSet<Vec<u8>> = [b"\x00topic".to_vec(), b"\x00other".to_vec()].into();
    assert_eq!(gone, want, "{}: cancels when the subscriber disconnects", xpub.label());
    assert_no_io_panics();
}

#[test]
fn libsock_xpub_sees_libzmq_sub_subscriptions() {
    xpub_subscription_messages_case(Lib::Libsock, false);
}

#[test]
fn libsock_xpub_verbose_sees_every_libzmq_subscribe() {
    xpub_subscription_messages_case(Lib::Libsock, true);
}

#[test]
fn libzmq_xpub_sees_libsock_sub_subscriptions() {
    xpub_subscription_messages_case(Lib::Libzmq, false);
}

#[test]
fn libzmq_xpub_verbose_sees_every_libsock_subscribe() {
    xpub_subscription_messages_case(Lib::Libzmq, true);
}

/// libzmq's XSUB does not filter: what it receives shows what libsock's PUB sent on the wire.
#[test]
fn libsock_pub_filters_for_an_unfiltering_libzmq_xsub() {
    for binder in [Lib::Libsock, Lib::Libzmq] {
        let world = World::new();
        let publisher = world.socket(Lib::Libsock, PUB);
        let xsub = world.socket(Lib::Libzmq, XSUB);
        let (bound, connecting) =
            if binder == Lib::Libsock { (&publisher, &xsub) } else { (&xsub, &publisher) };
        let ep = bound.bind(&world, "tcp");
        connecting.connect(&ep);
        xsub.subscribe(b"a");
        xsub.subscribe(b"sync");
        sync_probe(&publisher, &xsub, b"sync");
        for m in ["b.1", "a.1", "c", "a.2", "", "sync.end"] {
            publisher.send(m);
        }
        assert_eq!(collect_until(&xsub, b"sync.end", b"sync"), vec![parts(&["a.1"]), parts(&["a.2"])]);
        // Cancel "a"; a sentinel topic subscribed after it shows when the publisher applied it.
        xsub.unsubscribe(b"a");
        xsub.subscribe(b"s2");
        sync_probe(&publisher, &xsub, b"s2");
        for m in ["a.3", "s2.end"] {
            publisher.send(m);
        }
        assert!(collect_until(&xsub, b"s2.end", b"s2").is_empty(), "{binder:?} binds: cancelled topic sent");
        // Everything (the empty topic), and back out of it. The empty topic covers every
        // sentinel: wait until a probe outside the remaining topics stops coming.
        xsub.subscribe(b"");
        sync_probe(&publisher, &xsub, b"anything");
        xsub.unsubscribe(b"");
        let deadline = Instant::now() + ms(3000);
        for k in 0.. {
            publisher.send(format!("gone.{k}"));
            publisher.send(format!("sync.{k}"));
            let got = collect_until(&xsub, format!("sync.{k}").as_bytes(), b"sync");
            if !got.iter().any(|m| m[0] == format!("gone.{k}").as_bytes()) {
                break;
            }
            assert!(Instant::now() < deadline, "{binder:?} binds: the empty topic is never cancelled");
        }
        for m in ["a.4", "anything", "", "sync.end"] {
            publisher.send(m);
        }
        assert!(
            collect_until(&xsub, b"sync.end", b"sync").is_empty(),
            "{binder:?} binds: sent after cancels"
        );
        assert_no_io_panics();
    }
}

/// The publisher side of subscriptions made before the connection exists: both libraries
/// send them once the peer is there.
#[test]
fn subscriptions_made_before_connecting_reach_the_publisher() {
    for sub_lib in [Lib::Libsock, Lib::Libzmq] {
        let world = World::new();
        let sub = world.socket(sub_lib, SUB);
        sub.subscribe(b"early");
        let xpub = world.socket(sub_lib.other(), XPUB);
        let ep = xpub.bind(&world, "tcp");
        sub.connect(&ep);
        assert_eq!(xpub.recv(), b"\x01early", "{} subscribed before connecting", sub.label());
        xpub.send("early.bird");
        assert_eq!(sub.recv(), b"early.bird");
        assert_no_io_panics();
    }
}

/// An XSUB's multipart message: as in libzmq 4.3, every frame that starts with 0 or 1 is a
/// subscription change, also inside a multipart message. The XPUB of the other library
/// (over tcp, ZMTP 3.1) passes the user frames up with their MORE flags and each
/// subscription as a message of its own, and then publishes to the topics subscribed so.
#[test]
fn subscription_frames_inside_multipart_messages_count() {
    for xsub_lib in [Lib::Libsock, Lib::Libzmq] {
        let world = World::new();
        let xpub = world.socket(xsub_lib.other(), XPUB);
        let ep = xpub.bind(&world, "tcp");
        let xsub = world.socket(xsub_lib, XSUB);
        xsub.connect(&ep);
        xsub.subscribe(b"sync");
        assert_eq!(xpub.recv(), b"\x01sync", "{} connected", xsub.label());

        // A subscription ending a message (which libsock's engine must not turn into a
        // command between the message's frames) and one starting a message.
        xsub.send_parts(&[&b"x"[..], b"\x01a"]);
        xsub.send_parts(&[&b"\x01b"[..], b"hello"]);
        assert_eq!(xpub.recv_parts(), [b"x".to_vec(), b"\x01a".to_vec()], "{} sends", xsub.label());
        assert_eq!(xpub.recv_parts(), [b"\x01b".to_vec()]);
        assert_eq!(xpub.recv_parts(), [b"hello".to_vec()]);

        for topic in ["a.1", "b.1", "c.1", "sync.end"] {
            xpub.send(topic);
        }
        let got: Vec<Vec<u8>> = (0..3).map(|_| xsub.recv()).collect();
        assert_eq!(
            got,
            [b"a.1".to_vec(), b"b.1".to_vec(), b"sync.end".to_vec()],
            "{} receives",
            xsub.label()
        );
        assert_no_io_panics();
    }
}
