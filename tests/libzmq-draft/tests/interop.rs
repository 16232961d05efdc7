//! libsock's draft socket types against libzmq 4.3 built with its draft API, both ways: over
//! tcp CLIENT/SERVER (with HELLO_MSG and DISCONNECT_MSG too), RADIO/DISH (groups, JOIN
//! commands, group frames), SCATTER/GATHER, PEER (`zmq_connect_peer`) and CHANNEL; over udp
//! RADIO/DISH (libzmq's datagrams), unicast and multicast.

use libsock::{Context, Message, OptionValue, SocketOption, SocketType, ThreadSafeSocket};
use libzmq_draft::Peer;

fn socket(ctx: &Context, kind: SocketType) -> ThreadSafeSocket {
    let s = ctx.thread_safe_socket(kind).unwrap();
    for opt in [SocketOption::RCVTIMEO, SocketOption::SNDTIMEO] {
        s.set_option(opt, OptionValue::Int(10_000)).unwrap();
    }
    s.set_option(SocketOption::LINGER, OptionValue::Int(0)).unwrap();
    s
}

fn bind_any(s: &ThreadSafeSocket) -> String {
    s.bind("tcp://127.0.0.1:*").unwrap();
    s.get_last_endpoint().unwrap()
}

#[test]
fn libzmq_client_talks_to_libsock_server() {
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::SERVER);
    let ep = bind_any(&server);
    let peer = Peer::start("client", &ep, 5, None);
    for _ in 0..5 {
        let request = server.recv_msg(0).unwrap();
        assert_ne!(request.routing_id(), 0, "a SERVER stamps each message with its peer");
        let mut reply = Message::from(format!("re:{}", request.as_str().unwrap()));
        reply.set_routing_id(request.routing_id()).unwrap();
        server.send_msg(reply, 0).unwrap();
    }
    assert!(peer.wait_success(), "the libzmq CLIENT got every reply");
}

#[test]
fn libsock_client_talks_to_libzmq_server() {
    let ctx = Context::new();
    let mut peer = Peer::start("server", "tcp://127.0.0.1:*", 5, None);
    let ep = peer.line().expect("the peer's endpoint");
    let client = socket(&ctx, SocketType::CLIENT);
    client.connect(&ep).unwrap();
    for i in 0..5 {
        client.send(format!("req-{i}"), 0).unwrap();
        assert_eq!(client.recv_bytes(0).unwrap(), format!("re:req-{i}").into_bytes());
    }
    assert!(peer.wait_success());
}

/// Sets HELLO_MSG and, if given, DISCONNECT_MSG (draft options 110 and 111).
fn greet(s: &ThreadSafeSocket, hello: &str, disconnect: Option<&str>) {
    s.set_option(SocketOption::HELLO_MSG, OptionValue::Bytes(hello.into())).unwrap();
    if let Some(d) = disconnect {
        s.set_option(SocketOption::DISCONNECT_MSG, OptionValue::Bytes(d.into())).unwrap();
    }
}

#[test]
fn libsock_client_and_libzmq_server_exchange_hellos_and_a_disconnect_msg() {
    let ctx = Context::new();
    let mut peer = Peer::start("hello-server", "tcp://127.0.0.1:*", 3, None);
    let ep = peer.line().expect("the peer's endpoint");
    let client = socket(&ctx, SocketType::CLIENT);
    greet(&client, "H", None);
    client.set_option(SocketOption::LINGER, OptionValue::Int(1000)).unwrap();
    client.connect(&ep).unwrap();
    assert_eq!(client.recv_bytes(0).unwrap(), b"W", "the libzmq SERVER's hello");
    client.send("bye", 0).unwrap();
    drop(client);
    drop(ctx);
    // Our hello first, then our message, then the SERVER's DISCONNECT_MSG, all with our id.
    let lines: Vec<_> = (0..3).map(|_| peer.line().expect("a message line")).collect();
    let id = lines[0].strip_prefix("H ").expect("the hello first");
    assert_ne!(id, "0");
    assert_eq!(lines[1..], [format!("bye {id}"), format!("D {id}")]);
    assert!(peer.wait_success());
}

#[test]
fn libzmq_client_and_libsock_server_exchange_hellos_and_a_disconnect_msg() {
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::SERVER);
    greet(&server, "W", Some("D"));
    let ep = bind_any(&server);
    let mut peer = Peer::start("hello-client", &ep, 1, None);
    assert_eq!(peer.line().as_deref(), Some("W"), "the libzmq CLIENT got our hello");
    let hello = server.recv_msg(0).unwrap();
    assert_eq!(hello.as_str(), Some("H"));
    assert_ne!(hello.routing_id(), 0);
    let bye = server.recv_msg(0).unwrap();
    assert_eq!((bye.as_str(), bye.routing_id()), (Some("bye"), hello.routing_id()));
    let gone = server.recv_msg(0).unwrap();
    assert_eq!((gone.as_str(), gone.routing_id()), (Some("D"), hello.routing_id()));
    assert!(peer.wait_success());
}

#[test]
fn libzmq_radio_reaches_libsock_dish_by_group() {
    let ctx = Context::new();
    let mut peer = Peer::start("radio", "tcp://127.0.0.1:*", 0, Some("weather"));
    let ep = peer.line().expect("the peer's endpoint");
    let dish = socket(&ctx, SocketType::DISH);
    dish.join("weather").unwrap();
    dish.connect(&ep).unwrap();
    // The radio sends "weather-N" and "noise" (group "other") in turns: only the first arrive.
    for _ in 0..3 {
        let msg = dish.recv_msg(0).unwrap();
        assert_eq!(msg.group(), "weather");
        assert!(msg.as_str().unwrap().starts_with("weather-"), "{msg:?}");
    }
    dish.leave("weather").unwrap();
    peer.close_stdin();
    assert!(peer.wait_success());
}

#[test]
fn libsock_radio_reaches_libzmq_dish_by_group() {
    let ctx = Context::new();
    let radio = socket(&ctx, SocketType::RADIO);
    let ep = bind_any(&radio);
    let mut peer = Peer::start("dish", &ep, 3, Some("news"));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let seen = std::thread::scope(|s| {
        let sender = s.spawn(|| {
            // The DISH's JOIN arrives some time after it connects: send until it has enough.
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 2000 {
                for (group, body) in [("news", format!("news-{i}")), ("other", "noise".to_string())] {
                    let mut msg = Message::from(body);
                    msg.set_group(group).unwrap();
                    radio.send_msg(msg, 0).unwrap();
                }
                i += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        let lines: Vec<String> = (0..3).map_while(|_| peer.line()).collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        sender.join().unwrap();
        lines
    });
    assert_eq!(seen.len(), 3, "{seen:?}");
    for line in &seen {
        assert!(line.starts_with("news news-"), "the libzmq DISH sees group and body: {line}");
    }
    assert!(peer.wait_success());
}

#[test]
fn libzmq_scatter_feeds_libsock_gather() {
    let ctx = Context::new();
    let gather = socket(&ctx, SocketType::GATHER);
    let ep = bind_any(&gather);
    let peer = Peer::start("scatter", &ep, 4, None);
    for i in 0..4 {
        assert_eq!(gather.recv_bytes(0).unwrap(), format!("part-{i}").into_bytes());
    }
    assert!(peer.wait_success());
}

#[test]
fn libsock_scatter_feeds_libzmq_gather() {
    let ctx = Context::new();
    let mut peer = Peer::start("gather", "tcp://127.0.0.1:*", 4, None);
    let ep = peer.line().expect("the peer's endpoint");
    let scatter = socket(&ctx, SocketType::SCATTER);
    scatter.connect(&ep).unwrap();
    for i in 0..4 {
        scatter.send(format!("part-{i}"), 0).unwrap();
    }
    let got: Vec<String> = (0..4).map_while(|_| peer.line()).collect();
    assert_eq!(got, ["part-0", "part-1", "part-2", "part-3"]);
    assert!(peer.wait_success());
}

/// A free UDP port on 127.0.0.1 (taken and released; good enough for a test).
fn free_udp_endpoint() -> String {
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    format!("udp://{}", probe.local_addr().unwrap())
}

#[test]
fn libzmq_radio_reaches_libsock_dish_over_udp() {
    let ctx = Context::new();
    let dish = socket(&ctx, SocketType::DISH);
    dish.bind("udp://127.0.0.1:0").unwrap();
    dish.join("weather").unwrap();
    let mut peer = Peer::start("udp-radio", &dish.get_last_endpoint().unwrap(), 0, Some("weather"));
    for _ in 0..3 {
        let msg = dish.recv_msg(0).unwrap();
        assert_eq!(msg.group(), "weather");
        assert!(msg.as_str().unwrap().starts_with("weather-"), "{msg:?}");
    }
    peer.close_stdin();
    assert!(peer.wait_success());
}

#[test]
fn libsock_radio_reaches_libzmq_dish_over_udp() {
    let ctx = Context::new();
    let ep = free_udp_endpoint();
    let mut peer = Peer::start("udp-dish", &ep, 3, Some("news"));
    assert_eq!(peer.line().as_deref(), Some("bound"));
    let radio = socket(&ctx, SocketType::RADIO);
    radio.connect(&ep).unwrap();
    let seen = broadcast_while(&radio, || (0..3).map_while(|_| peer.line()).collect::<Vec<_>>());
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|l| l.starts_with("news news-")), "{seen:?}");
    assert!(peer.wait_success());
}

/// Has `radio` send "news-I" to group "news" and "noise" to group "other" every 10 ms
/// (udp may drop some) while `listen` runs, at most 2 000 times; returns what it returned.
fn broadcast_while<T>(radio: &ThreadSafeSocket, listen: impl FnOnce() -> T) -> T {
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 2000 {
                for (group, body) in [("news", format!("news-{i}")), ("other", "noise".to_string())] {
                    let mut msg = Message::from(body);
                    msg.set_group(group).unwrap();
                    radio.send_msg(msg, 0).unwrap();
                }
                i += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        let heard = listen();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        heard
    })
}

/// Answers `count` messages on a bound PEER or CHANNEL with "re:" + body (to the routing id
/// each came from, on a PEER).
fn answer(s: &ThreadSafeSocket, count: usize) {
    for _ in 0..count {
        let request = s.recv_msg(0).unwrap();
        let mut reply = Message::from(format!("re:{}", request.as_str().unwrap()));
        if request.routing_id() != 0 {
            reply.set_routing_id(request.routing_id()).unwrap();
        }
        s.send_msg(reply, 0).unwrap();
    }
}

#[test]
fn libzmq_peer_connects_to_a_libsock_peer_by_the_id_zmq_connect_peer_gave() {
    let ctx = Context::new();
    let peer = socket(&ctx, SocketType::PEER);
    let ep = bind_any(&peer);
    let other = Peer::start("peer-connect", &ep, 5, None);
    let first = peer.recv_msg(0).unwrap();
    assert_ne!(first.routing_id(), 0, "a PEER stamps each message with the peer it came from");
    let mut reply = Message::from(format!("re:{}", first.as_str().unwrap()));
    reply.set_routing_id(first.routing_id()).unwrap();
    peer.send_msg(reply, 0).unwrap();
    answer(&peer, 4);
    assert!(other.wait_success(), "the libzmq PEER got every reply from the id it connected to");
}

#[test]
fn libsock_peer_connects_to_a_libzmq_peer_by_the_id_connect_peer_gave() {
    let ctx = Context::new();
    let mut other = Peer::start("peer-bind", "tcp://127.0.0.1:*", 5, None);
    let ep = other.line().expect("the peer's endpoint");
    let peer = socket(&ctx, SocketType::PEER);
    let id = peer.connect_peer(&ep).unwrap();
    assert_ne!(id, 0);
    for i in 0..5 {
        // Addressed before the connection is even up: the pipe exists from connect_peer on.
        let mut request = Message::from(format!("req-{i}"));
        request.set_routing_id(id).unwrap();
        peer.send_msg(request, 0).unwrap();
        let reply = peer.recv_msg(0).unwrap();
        assert_eq!(reply.routing_id(), id, "the reply comes from the peer connect_peer named");
        assert_eq!(&reply[..], format!("re:req-{i}").as_bytes());
    }
    assert!(other.wait_success());
}

#[test]
fn libzmq_channel_talks_to_libsock_channel() {
    let ctx = Context::new();
    let channel = socket(&ctx, SocketType::CHANNEL);
    let ep = bind_any(&channel);
    let other = Peer::start("channel-connect", &ep, 5, None);
    answer(&channel, 5);
    assert!(other.wait_success(), "the libzmq CHANNEL got every reply");
}

#[test]
fn libsock_channel_talks_to_libzmq_channel() {
    let ctx = Context::new();
    let mut other = Peer::start("channel-bind", "tcp://127.0.0.1:*", 5, None);
    let ep = other.line().expect("the peer's endpoint");
    let channel = socket(&ctx, SocketType::CHANNEL);
    channel.connect(&ep).unwrap();
    for i in 0..5 {
        channel.send(format!("req-{i}"), 0).unwrap();
        assert_eq!(channel.recv_bytes(0).unwrap(), format!("re:req-{i}").into_bytes());
    }
    assert!(other.wait_success());
}

/// A DGRAM (not thread-safe, as libzmq's) bound on a free loopback udp port, and its
/// `ip:port`.
fn dgram(ctx: &Context) -> (libsock::Socket, String) {
    let s = ctx.socket(SocketType::DGRAM).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(10_000).unwrap();
    s.bind("udp://127.0.0.1:0").unwrap();
    let addr = s.get_last_endpoint().unwrap().strip_prefix("udp://").unwrap().to_owned();
    (s, addr)
}

#[test]
fn libzmq_dgram_and_libsock_dgram_answer_each_other_by_address() {
    let ctx = Context::new();
    let (ours, our_addr) = dgram(&ctx);
    let ep = free_udp_endpoint();
    let their_addr = ep.strip_prefix("udp://").unwrap().to_owned();
    let mut echo = Peer::start("dgram-echo", &ep, 0, None);
    assert_eq!(echo.line().as_deref(), Some("bound"));
    // libzmq binds udp in its I/O thread: ask until the first answer comes.
    ours.set_rcvtimeo(200).unwrap();
    let mut first = None;
    for _ in 0..50 {
        ours.send(their_addr.as_str(), libsock::SNDMORE).unwrap();
        ours.send("ping", 0).unwrap();
        if let Ok(parts) = ours.recv_multipart(0) {
            first = Some(parts);
            break;
        }
    }
    let first = first.expect("libzmq's DGRAM answered");
    // libzmq's and libsock's address frames alike: "ip:port" and a NUL.
    assert_eq!(first, vec![format!("{their_addr}\0").into_bytes(), b"re:ping".to_vec()]);
    ours.set_rcvtimeo(10_000).unwrap();
    while ours.recv_msg(libsock::DONTWAIT).is_ok() {} // answers to repeated pings
    for body in ["a", "b", "stop"] {
        ours.send(their_addr.as_str(), libsock::SNDMORE).unwrap();
        ours.send(body, 0).unwrap();
        let parts = ours.recv_multipart(0).unwrap();
        assert_eq!(parts[1], format!("re:{body}").into_bytes());
    }
    assert!(echo.wait_success());

    // Now libzmq asks and libsock answers to the address each question came from.
    let ask = Peer::start("dgram-ask", &free_udp_endpoint(), 3, Some(&our_addr));
    for _ in 0..3 {
        let parts = ours.recv_multipart(0).unwrap();
        assert!(parts[0].ends_with(b"\0"), "{parts:?}");
        ours.send(parts[0].clone(), libsock::SNDMORE).unwrap();
        ours.send(format!("re:{}", String::from_utf8_lossy(&parts[1])), 0).unwrap();
    }
    assert!(ask.wait_success(), "libzmq got each answer from the address it asked");
}

#[path = "../../../libsock/tests/common/netns.rs"]
mod netns;

const IN_NETNS: &str = "LIBSOCK_TEST_IN_NETNS";

/// RADIO/DISH over udp multicast both ways, libzmq and libsock DISHes side by side on one
/// group: every one of them hears every RADIO. Multicast stays inside a network namespace
/// made for the test (it runs itself again there), and the test skips, saying why, where
/// one cannot be made.
#[test]
fn multicast_radio_and_dish_both_ways_in_a_network_namespace() {
    if std::env::var_os(IN_NETNS).is_none() {
        let ns = match netns::Netns::create("lzd") {
            Ok(ns) => ns,
            Err(why) => {
                println!("SKIP multicast interop: cannot make a network namespace here ({why})");
                return;
            }
        };
        let exe = std::env::current_exe().unwrap();
        let name = "multicast_radio_and_dish_both_ways_in_a_network_namespace";
        let out = ns.run(&exe, &["--exact", name, "--nocapture"], &[(IN_NETNS, "1")]);
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("1 passed"), "inside the namespace:\n{text}");
        return;
    }
    let ctx = Context::new();
    // libzmq's RADIO to the group; two libsock DISHes on it.
    let group = "udp://239.1.1.1:5560";
    let dishes: Vec<ThreadSafeSocket> = (0..2)
        .map(|_| {
            let dish = socket(&ctx, SocketType::DISH);
            dish.bind(group).unwrap();
            dish.join("weather").unwrap();
            dish
        })
        .collect();
    let mut radio = Peer::start("udp-radio", group, 0, Some("weather"));
    for dish in &dishes {
        for _ in 0..3 {
            let msg = dish.recv_msg(0).unwrap();
            assert_eq!(msg.group(), "weather");
            assert!(msg.as_str().unwrap().starts_with("weather-"), "{msg:?}");
        }
    }
    radio.close_stdin();
    assert!(radio.wait_success());
    // libsock's RADIO to a group that a libzmq DISH and a libsock one joined.
    let group = "udp://239.1.1.1:5561";
    let mut libzmq_dish = Peer::start("udp-dish", group, 3, Some("news"));
    assert_eq!(libzmq_dish.line().as_deref(), Some("bound"));
    let ours = socket(&ctx, SocketType::DISH);
    ours.bind(group).unwrap();
    ours.join("news").unwrap();
    let radio = socket(&ctx, SocketType::RADIO);
    radio.connect(group).unwrap();
    let seen = broadcast_while(&radio, || {
        let lines: Vec<String> = (0..3).map_while(|_| libzmq_dish.line()).collect();
        let ours: Vec<String> =
            (0..3).map(|_| ours.recv_msg(0).unwrap().as_str().unwrap().to_owned()).collect();
        (lines, ours)
    });
    assert_eq!(seen.0.len(), 3, "{seen:?}");
    assert!(seen.0.iter().all(|l| l.starts_with("news news-")), "{seen:?}");
    assert!(seen.1.iter().all(|l| l.starts_with("news-")), "{seen:?}");
    assert!(libzmq_dish.wait_success());
}
