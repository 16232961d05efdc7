//! Subscriptions on the wire to crafted ZMTP 3.0 and 3.1 peers.

use super::*;

#[derive(Debug)]
struct Frame {
    more: bool,
    command: bool,
    body: Vec<u8>,
}

/// A minimal hand-written ZMTP peer (NULL mechanism) over a std TcpStream.
struct RawPeer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawPeer {
    /// Sends our greeting (version 3.`minor`) and READY at once, as libzmq does, then reads the
    /// other side's greeting and READY; returns the peer, its greeting and its Socket-Type.
    fn handshake(stream: TcpStream, minor: u8, ours: SocketType) -> (RawPeer, Greeting, Vec<u8>) {
        stream.set_nodelay(true).unwrap();
        let mut peer = RawPeer { stream, buf: Vec::new() };
        let mut out = Vec::new();
        Greeting { major: 3, minor, mechanism: Mechanism::Null, as_server: false }.encode(&mut out);
        encode_ready(&mut out, ours, b"");
        peer.stream.write_all(&out).unwrap();
        assert!(peer.fill(GREETING_LEN, ms(3000)), "no greeting from the peer");
        let greeting = Greeting::decode(&peer.buf[..GREETING_LEN]).unwrap().unwrap();
        peer.buf.drain(..GREETING_LEN);
        let ready = peer.read_frame(ms(3000)).expect("no READY from the peer");
        assert!(ready.command, "expected READY, got {ready:?}");
        let socket_type = match parse_command(&ready.body) {
            Ok(Command::Ready(props)) => {
                find(&props, "Socket-Type").expect("READY without Socket-Type").to_vec()
            }
            other => panic!("expected READY, got {other:?}"),
        };
        (peer, greeting, socket_type)
    }

    /// Reads until `n` bytes are buffered; false if `within` passes first.
    fn fill(&mut self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut chunk = [0u8; 4096];
        while self.buf.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("the peer closed the connection"),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
        true
    }

    /// The next frame, or `None` if none completes within `within`.
    fn read_frame(&mut self, within: Duration) -> Option<Frame> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match decode_header(&self.buf, None).expect("malformed frame header") {
                Some(h) => {
                    let total = h.header_len + h.size as usize;
                    if !self.fill(total, left) {
                        return None;
                    }
                    let raw: Vec<u8> = self.buf.drain(..total).collect();
                    return Some(Frame {
                        more: h.more,
                        command: h.command,
                        body: raw[h.header_len..].to_vec(),
                    });
                }
                None => {
                    if left.is_zero() || !self.fill(self.buf.len() + 1, left) {
                        return None;
                    }
                }
            }
        }
    }

    /// The next whole message (its frames' bodies), skipping heartbeat commands; panics on
    /// any other command.
    fn read_message(&mut self, within: Duration) -> Option<Vec<Vec<u8>>> {
        let deadline = Instant::now() + within;
        let mut msg = Vec::new();
        loop {
            let f = self.read_frame(deadline.saturating_duration_since(Instant::now()))?;
            if f.command {
                assert!(
                    f.body.starts_with(b"\x04PING") || f.body.starts_with(b"\x04PONG"),
                    "unexpected command between messages: {:?}",
                    String::from_utf8_lossy(&f.body)
                );
                continue;
            }
            msg.push(f.body);
            if !f.more {
                return Some(msg);
            }
        }
    }

    fn send_frame(&mut self, more: bool, command: bool, body: &[u8]) {
        let mut out = Vec::new();
        encode_frame(&mut out, more, command, body);
        self.stream.write_all(&out).unwrap();
    }

    fn send_message(&mut self, frames: &[&[u8]]) {
        for (i, f) in frames.iter().enumerate() {
            self.send_frame(i + 1 < frames.len(), false, f);
        }
    }
}

/// A command frame's body, written out by hand: name length, name, data.
fn command_body(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = vec![name.len() as u8];
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(data);
    b
}

/// Connects `sock` and a raw peer over tcp, `sock` binding or connecting.
fn raw_link(sock: &Sock, sock_binds: bool) -> TcpStream {
    if sock_binds {
        let ep = match &sock.inner {
            Inner::Ls(s) => {
                s.bind("tcp://127.0.0.1:*").unwrap();
                s.get_last_endpoint().unwrap()
            }
            Inner::Z(s) => {
                s.bind("tcp://127.0.0.1:*").unwrap();
                s.get_last_endpoint().unwrap().unwrap()
            }
        };
        let addr = ep.strip_prefix("tcp://").unwrap();
        TcpStream::connect(addr).unwrap()
    } else {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        sock.connect(&format!("tcp://{}", listener.local_addr().unwrap()));
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + ms(3000);
        loop {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    return s;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "{} never connected", sock.label());
                    std::thread::sleep(ms(2));
                }
                Err(e) => panic!("accept failed: {e}"),
            }
        }
    }
}

/// How subscription changes may look on the wire toward a ZMTP 3.1 peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// SUBSCRIBE/CANCEL commands only (what libsock sends, and libzmq's SUB).
    Commands,
    /// Commands or `0x01`/`0x00` messages: libzmq's XSUB forwards what the application sends
    /// as a message, as is (ZMTP 3.1 peers must accept both forms).
    Either,
}

/// What a subscription change must look like on the wire toward a peer of ZMTP 3.`minor`.
fn assert_subscription_frame(f: &Frame, minor: u8, expect: Expect, subscribe: bool, topic: &[u8]) {
    let message = [&[u8::from(subscribe)][..], topic].concat();
    if minor == 0 || (expect == Expect::Either && !f.command) {
        assert!(
            !f.command && !f.more && f.body == message,
            "a ZMTP 3.{minor} peer gets the message {:?}, got {f:?}",
            String::from_utf8_lossy(&message)
        );
    } else {
        let want = command_body(if subscribe { "SUBSCRIBE" } else { "CANCEL" }, topic);
        assert!(
            f.command && !f.more && f.body == want,
            "a ZMTP 3.1 peer gets the command {:?}, got {f:?}",
            String::from_utf8_lossy(&want)
        );
        assert_eq!(
            parse_command(&f.body).unwrap(),
            if subscribe { Command::Subscribe(topic) } else { Command::Cancel(topic) }
        );
    }
}

/// The next frame from `sock`'s side, while its application keeps using it.
fn read_frame_poking(peer: &mut RawPeer, sock: &Sock, what: &str) -> Frame {
    let deadline = Instant::now() + ms(3000);
    loop {
        sock.poke();
        if let Some(f) = peer.read_frame(ms(10)) {
            return f;
        }
        assert!(Instant::now() < deadline, "{what}: nothing sent within 3 s");
    }
}

/// A subscription change read off the wire, in either form: (subscribe?, topic).
fn decode_subscription(f: &Frame) -> Option<(bool, Vec<u8>)> {
    if f.command {
        match parse_command(&f.body) {
            Ok(Command::Subscribe(t)) => Some((true, t.to_vec())),
            Ok(Command::Cancel(t)) => Some((false, t.to_vec())),
            _ => None,
        }
    } else {
        match f.body.split_first() {
            Some((&k @ (0 | 1), t)) if !f.more => Some((k == 1, t.to_vec())),
            _ => None,
        }
    }
}

/// Follows the subscription frames a crafted publisher receives. A repeated subscribe for a
/// topic already subscribed is tolerated (publishers treat it as a no-op) and counted; the
/// strict check that there are none is `crafted_pub_peer_sees_each_subscription_once`.
struct SubscriptionReader<'a> {
    sock: &'a Sock,
    minor: u8,
    expect: Expect,
    what: String,
    active: BTreeSet<Vec<u8>>,
    repeats: usize,
}

impl SubscriptionReader<'_> {
    fn expect(&mut self, peer: &mut RawPeer, subscribe: bool, topic: &[u8], step: &str) {
        loop {
            let f = read_frame_poking(peer, self.sock, &format!("{}: {step}", self.what));
            if let Some((true, t)) = decode_subscription(&f) {
                if self.active.contains(&t) && !(subscribe && t == topic) {
                    self.repeats += 1;
                    continue;
                }
            }
            assert_subscription_frame(&f, self.minor, self.expect, subscribe, topic);
            if subscribe {
                self.active.insert(topic.to_vec());
            } else {
                self.active.remove(topic);
            }
            return;
        }
    }
}

/// A crafted ZMTP 3.`minor` PUB peer and a SUB or XSUB of `lib`: the subscriber's
/// subscriptions must arrive as messages (3.0) or commands (3.1), and messages flow.
fn crafted_publisher_case(lib: Lib, kind: SocketType, minor: u8, sub_binds: bool) {
    let world = World::new();
    let sub = world.socket(lib, kind);
    sub.subscribe(b"abc"); // before the connection: sent once the peer is known
    let stream = raw_link(&sub, sub_binds);
    let (mut peer, greeting, peer_type) = RawPeer::handshake(stream, minor, PUB);
    let what = format!(
        "{} ({}) with a ZMTP 3.{minor} PUB",
        sub.label(),
        if sub_binds { "binds" } else { "connects" }
    );
    assert_eq!((greeting.major, greeting.minor), (3, 1), "{what}: greeting");
    assert_eq!(peer_type, kind.as_str().as_bytes(), "{what}: Socket-Type");
    let expect = if (lib, kind) == (Lib::Libzmq, XSUB) { Expect::Either } else { Expect::Commands };

    let mut subs = SubscriptionReader {
        sock: &sub,
        minor,
        expect,
        what: what.clone(),
        active: BTreeSet::new(),
        repeats: 0,
    };
    subs.expect(&mut peer, true, b"abc", "subscription made before connecting");
    sub.subscribe(b"xyz");
    subs.expect(&mut peer, true, b"xyz", "second subscription");
    sub.subscribe(b"");
    subs.expect(&mut peer, true, b"", "empty subscription");
    sub.unsubscribe(b"");
    subs.expect(&mut peer, false, b"", "empty cancel");
    sub.unsubscribe(b"abc");
    subs.expect(&mut peer, false, b"abc", "cancel");
    if subs.repeats > 0 {
        eprintln!("{what}: {} repeated subscription frame(s)", subs.repeats);
    }

    // The peer publishes; what the subscriber hands its application.
    peer.send_message(&[b"xyz.1"]);
    peer.send_message(&[b"xyz.multi", b"", b"end"]);
    assert_eq!(sub.recv(), b"xyz.1", "{what}");
    assert_eq!(sub.recv_parts(), parts(&["xyz.multi", "", "end"]));
    assert_no_io_panics();
}

/// Each subscribe() reaches a crafted publisher exactly once, as libzmq sends it: a
/// subscription made before connecting, and one made after the handshake.
fn subscriptions_once_case(lib: Lib, minor: u8) {
    let world = World::new();
    let sub = world.socket(lib, SUB);
    sub.subscribe(b"before");
    let stream = raw_link(&sub, false);
    let (mut peer, _, _) = RawPeer::handshake(stream, minor, PUB);
    let mut seen = Vec::new();
    // Reads for `dur`, or until `count` subscriptions were seen.
    let mut read_for = |peer: &mut RawPeer, dur: Duration, count: usize| {
        let until = Instant::now() + dur;
        while Instant::now() < until && seen.len() < count {
            sub.poke();
            if let Some(f) = peer.read_frame(ms(10)) {
                seen.push(decode_subscription(&f).unwrap_or_else(|| panic!("not a subscription: {f:?}")));
            }
        }
    };
    read_for(&mut peer, ms(5000), 1);
    sub.subscribe(b"after");
    read_for(&mut peer, ms(5000), 2);
    // Then nothing more: each went once.
    read_for(&mut peer, ms(300), usize::MAX);
    let want = vec![(true, b"before".to_vec()), (true, b"after".to_vec())];
    assert_eq!(seen, want, "{} toward a ZMTP 3.{minor} peer", sub.label());
    assert_no_io_panics();
}

#[test]
fn crafted_pub_peer_sees_each_subscription_once_from_libzmq() {
    subscriptions_once_case(Lib::Libzmq, 0);
    subscriptions_once_case(Lib::Libzmq, 1);
}

#[test]
fn crafted_pub_peer_sees_each_subscription_once_from_libsock() {
    subscriptions_once_case(Lib::Libsock, 0);
    subscriptions_once_case(Lib::Libsock, 1);
}

#[test]
fn zmtp30_pub_peer_gets_subscription_messages_from_libsock_sub() {
    for sub_binds in [false, true] {
        crafted_publisher_case(Lib::Libsock, SUB, 0, sub_binds);
    }
}

#[test]
fn zmtp30_pub_peer_gets_subscription_messages_from_libsock_xsub() {
    for sub_binds in [false, true] {
        crafted_publisher_case(Lib::Libsock, XSUB, 0, sub_binds);
    }
}

#[test]
fn zmtp31_pub_peer_gets_subscribe_commands_from_libsock_sub() {
    for sub_binds in [false, true] {
        crafted_publisher_case(Lib::Libsock, SUB, 1, sub_binds);
    }
}

#[test]
fn zmtp31_pub_peer_gets_subscribe_commands_from_libsock_xsub() {
    for sub_binds in [false, true] {
        crafted_publisher_case(Lib::Libsock, XSUB, 1, sub_binds);
    }
}

/// The same crafted peers against libzmq: the expectations above are libzmq's behaviour.
#[test]
fn crafted_pub_peer_expectations_hold_for_libzmq() {
    for minor in [0, 1] {
        crafted_publisher_case(Lib::Libzmq, SUB, minor, true);
        crafted_publisher_case(Lib::Libzmq, XSUB, minor, false);
    }
}

/// How a crafted subscriber sends its subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SubForm {
    /// A message `0x01`/`0x00` + topic (ZMTP 3.0, also accepted from 3.1 peers).
    Message,
    /// A SUBSCRIBE/CANCEL command (ZMTP 3.1).
    Command,
}

fn raw_subscription(peer: &mut RawPeer, form: SubForm, subscribe: bool, topic: &[u8]) {
    match form {
        SubForm::Message => peer.send_message(&[&[&[u8::from(subscribe)][..], topic].concat()]),
        SubForm::Command => {
            let body = command_body(if subscribe { "SUBSCRIBE" } else { "CANCEL" }, topic);
            peer.send_frame(false, true, &body);
        }
    }
}

/// Publishes `probe` until the crafted peer receives it.
fn raw_sync_probe(publisher: &Sock, peer: &mut RawPeer, probe: &str) {
    let deadline = Instant::now() + ms(3000);
    loop {
        publisher.send(probe);
        if let Some(m) = peer.read_message(ms(20)) {
            assert!(m[0].starts_with(probe.as_bytes()), "expected the probe, got {:?}", show(m));
            return;
        }
        assert!(Instant::now() < deadline, "the crafted subscriber's subscription never took effect");
    }
}

/// Messages the crafted peer reads until `end`, without those starting with `skip`.
fn raw_collect_until(peer: &mut RawPeer, end: &str, skip: &str) -> Vec<Vec<Vec<u8>>> {
    let mut got = Vec::new();
    loop {
        let m = peer.read_message(ms(3000)).unwrap_or_else(|| {
            panic!(
                "{end:?} never arrived; got before: {:?}",
                got.iter().cloned().map(show).collect::<Vec<_>>()
            )
        });
        if m.len() == 1 && m[0] == end.as_bytes() {
            return got;
        }
        if !m[0].starts_with(skip.as_bytes()) {
            got.push(m);
        }
    }
}

/// A crafted ZMTP 3.`minor` SUB peer subscribing (in `form`) to a PUB or XPUB of `lib`,
/// which must send it only matching messages, and stop after a cancel.
fn crafted_subscriber_case(lib: Lib, kind: SocketType, minor: u8, form: SubForm, pub_binds: bool) {
    let world = World::new();
    let publisher = world.socket(lib, kind);
    let stream = raw_link(&publisher, pub_binds);
    let (mut peer, greeting, peer_type) = RawPeer::handshake(stream, minor, SUB);
    let what = format!("{} with a ZMTP 3.{minor} SUB sending {form:?}s", publisher.label());
    assert_eq!((greeting.major, greeting.minor), (3, 1), "{what}: greeting");
    assert_eq!(peer_type, kind.as_str().as_bytes(), "{what}: Socket-Type");

    raw_subscription(&mut peer, form, true, b"news");
    if kind == XPUB {
        assert_eq!(publisher.recv(), b"\x01news", "{what}: the XPUB hands up a subscription message");
    }
    raw_sync_probe(&publisher, &mut peer, "news.probe");
    for m in ["sports.1", "news.1", "new", "weather", "news.2"] {
        publisher.send(m);
    }
    publisher.send_parts(&["news.multi", "part 2"]);
    publisher.send_parts(&["sports.multi", "part 2"]);
    publisher.send("news.end");
    let got = raw_collect_until(&mut peer, "news.end", "news.probe");
    assert_eq!(got, vec![parts(&["news.1"]), parts(&["news.2"]), parts(&["news.multi", "part 2"])], "{what}");

    raw_subscription(&mut peer, form, false, b"news");
    raw_subscription(&mut peer, form, true, b"sync");
    if kind == XPUB {
        assert_eq!(publisher.recv(), b"\x00news", "{what}: the XPUB hands up the cancel");
        assert_eq!(publisher.recv(), b"\x01sync");
    }
    raw_sync_probe(&publisher, &mut peer, "sync.probe");
    for m in ["news.3", "sports.2", "sync.end"] {
        publisher.send(m);
    }
    let got = raw_collect_until(&mut peer, "sync.end", "sync.probe");
    assert!(
        got.is_empty(),
        "{what}: sent after the cancel: {:?}",
        got.into_iter().map(show).collect::<Vec<_>>()
    );
    assert_no_io_panics();
}

#[test]
fn zmtp30_sub_peer_subscribes_with_messages_to_libsock_pub() {
    for pub_binds in [true, false] {
        crafted_subscriber_case(Lib::Libsock, PUB, 0, SubForm::Message, pub_binds);
    }
}

#[test]
fn zmtp30_sub_peer_subscribes_with_messages_to_libsock_xpub() {
    for pub_binds in [true, false] {
        crafted_subscriber_case(Lib::Libsock, XPUB, 0, SubForm::Message, pub_binds);
    }
}

#[test]
fn zmtp31_sub_peer_subscribes_with_commands_to_libsock_pub_and_xpub() {
    for pub_binds in [true, false] {
        crafted_subscriber_case(Lib::Libsock, PUB, 1, SubForm::Command, pub_binds);
        crafted_subscriber_case(Lib::Libsock, XPUB, 1, SubForm::Command, pub_binds);
    }
}

#[test]
fn zmtp31_sub_peer_may_still_subscribe_with_messages_to_libsock() {
    crafted_subscriber_case(Lib::Libsock, PUB, 1, SubForm::Message, true);
    crafted_subscriber_case(Lib::Libsock, XPUB, 1, SubForm::Message, false);
}

#[test]
fn crafted_sub_peer_expectations_hold_for_libzmq() {
    crafted_subscriber_case(Lib::Libzmq, PUB, 0, SubForm::Message, true);
    crafted_subscriber_case(Lib::Libzmq, XPUB, 1, SubForm::Command, false);
    crafted_subscriber_case(Lib::Libzmq, PUB, 1, SubForm::Message, false);
}

/// A crafted publisher that does not filter sends an XSUB of `lib` a message it did not
/// subscribe to. libzmq's XSUB does not filter (only SUB sets `options.filter`), so it is
/// delivered.
fn unfiltered_xsub_case(lib: Lib) {
    let world = World::new();
    let xsub = world.socket(lib, XSUB);
    let stream = raw_link(&xsub, false);
    let (mut peer, _, _) = RawPeer::handshake(stream, 1, PUB);
    xsub.subscribe(b"wanted");
    let expect = if lib == Lib::Libzmq { Expect::Either } else { Expect::Commands };
    assert_subscription_frame(&peer.read_frame(ms(3000)).expect("subscription"), 1, expect, true, b"wanted");
    peer.send_message(&[b"unwanted.1"]);
    peer.send_message(&[b"wanted.1"]);
    let first = xsub.recv();
    assert_eq!(first, b"unwanted.1", "{}: an XSUB passes on whatever its publisher sends", xsub.label());
    assert_eq!(xsub.recv(), b"wanted.1");
    assert_no_io_panics();
}

#[test]
fn libzmq_xsub_does_not_filter() {
    unfiltered_xsub_case(Lib::Libzmq);
}

#[test]
fn libsock_xsub_does_not_filter_like_libzmq() {
    unfiltered_xsub_case(Lib::Libsock);
}
