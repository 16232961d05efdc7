//! RADIO/DISH and DGRAM over `udp://` between libsock sockets: libzmq's datagram format
//! (`group length | group | body`), the DISH filtering by its groups; DGRAM's `[address,
//! body]` messages.

use std::net::UdpSocket;
use std::time::Duration;

use libsock::{Context, Error, Message, DGRAM, DISH, DONTWAIT, PUSH, RADIO, SNDMORE};

#[test]
fn radio_reaches_dish_over_udp() {
    let ctx = Context::new();
    let dish = ctx.socket(DISH).unwrap();
    dish.set_linger(0).unwrap();
    dish.bind("udp://127.0.0.1:0").unwrap();
    let ep = dish.get_last_endpoint().unwrap();
    assert!(ep.starts_with("udp://127.0.0.1:") && !ep.ends_with(":0"), "{ep}");
    dish.join("temps").unwrap();
    let radio = ctx.socket(RADIO).unwrap();
    radio.set_linger(0).unwrap();
    radio.connect(&ep).unwrap();
    // UDP may drop: send until one arrives; the other group must never arrive.
    let mut got = None;
    for i in 0..2000 {
        for (group, body) in [("winds", format!("w{i}")), ("temps", format!("t{i}"))] {
            let mut m = Message::from(body);
            m.set_group(group).unwrap();
            radio.send(m, 0).unwrap();
        }
        if let Ok(m) = dish.recv_msg(libsock::DONTWAIT) {
            got = Some(m);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let m = got.expect("a datagram arrived");
    assert_eq!(m.group(), "temps");
    assert!(m.as_str().unwrap().starts_with('t'));
}

/// Sends to `dish` through a new RADIO (IPV6 as given) until one datagram arrives.
fn arrives(ctx: &Context, dish: &libsock::Socket, radio_ipv6: bool, endpoint: &str) -> bool {
    let radio = ctx.socket(RADIO).unwrap();
    radio.set_linger(0).unwrap();
    radio.set_ipv6(radio_ipv6).unwrap();
    radio.connect(endpoint).unwrap();
    for i in 0..400 {
        let mut m = Message::from(format!("m{i}"));
        m.set_group("g").unwrap();
        radio.send(m, 0).unwrap();
        if dish.recv_msg(libsock::DONTWAIT).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// With IPV6 set, a DISH bound to `udp://*:port` listens on IPv6 and IPv4 (libzmq's
/// test_radio_dish_udp_ipv6 binds so and sends from `[::1]`).
#[test]
fn a_dish_with_ipv6_binds_the_wildcard_dual_stack() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let ctx = Context::new();
    let dish = ctx.socket(DISH).unwrap();
    dish.set_linger(0).unwrap();
    dish.set_ipv6(true).unwrap();
    dish.bind("udp://*:0").unwrap();
    let ep = dish.get_last_endpoint().unwrap();
    let port = ep.rsplit(':').next().unwrap();
    dish.join("g").unwrap();
    assert!(arrives(&ctx, &dish, true, &format!("udp://[::1]:{port}")), "nothing from [::1] to {ep}");
    assert!(
        arrives(&ctx, &dish, false, &format!("udp://127.0.0.1:{port}")),
        "nothing from 127.0.0.1 to {ep}"
    );
}

/// libzmq's socket_base_t: ENOCOMPATPROTO for other types and for the wrong direction
/// (its test_radio_dish asserts both directions).
#[test]
fn udp_is_for_radio_connect_and_dish_or_dgram_bind_only() {
    let ctx = Context::new();
    let incompatible = |r: libsock::Result<()>| matches!(&r, Err(e @ Error::IncompatibleProtocol(_)) if e.to_raw() == libsock::ENOCOMPATPROTO);
    let push = ctx.socket(PUSH).unwrap();
    assert!(incompatible(push.bind("udp://127.0.0.1:0")));
    assert!(incompatible(push.connect("udp://127.0.0.1:5555")));
    assert!(incompatible(ctx.socket(RADIO).unwrap().bind("udp://127.0.0.1:0")));
    assert!(incompatible(ctx.socket(DISH).unwrap().connect("udp://127.0.0.1:5555")));
    assert!(ctx.socket(RADIO).unwrap().connect("udp://127.0.0.1:0").is_err());
    assert!(incompatible(ctx.socket(DGRAM).unwrap().connect("udp://127.0.0.1:5555")));
}

/// A DGRAM socket bound on a free loopback port, and that port's `ip:port`.
fn dgram(ctx: &Context) -> (libsock::Socket, String) {
    let s = ctx.socket(DGRAM).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(5000).unwrap();
    s.bind("udp://127.0.0.1:0").unwrap();
    let ep = s.get_last_endpoint().unwrap();
    let addr = ep.strip_prefix("udp://").unwrap().to_owned();
    (s, addr)
}

#[test]
fn dgram_sockets_exchange_datagrams_named_by_address_frames() {
    let ctx = Context::new();
    let ((a, a_addr), (b, b_addr)) = (dgram(&ctx), dgram(&ctx));
    assert!(!DGRAM.is_thread_safe(), "as libzmq's dgram_t");
    // Loopback udp does not drop when nothing else runs, but a first datagram can race the
    // receiving thread's start: retry a few times.
    let mut got = None;
    for _ in 0..50 {
        a.send(b_addr.as_str(), SNDMORE).unwrap();
        a.send("question", 0).unwrap();
        if let Ok(parts) = b.recv_multipart(0) {
            got = Some(parts);
            break;
        }
    }
    let parts = got.expect("the datagram arrived");
    // libzmq's address frame: "ip:port" and a terminating NUL.
    assert_eq!(parts, vec![format!("{a_addr}\0").into_bytes(), b"question".to_vec()]);
    // Answered to the address as received (its NUL too), as libzmq's test_dgram does.
    b.send(parts[0].clone(), SNDMORE).unwrap();
    b.send("answer", 0).unwrap();
    assert_eq!(a.recv_multipart(0).unwrap(), vec![format!("{b_addr}\0").into_bytes(), b"answer".to_vec()]);
}

#[test]
fn dgram_messages_are_an_address_and_a_body() {
    let ctx = Context::new();
    let unbound = ctx.socket(DGRAM).unwrap();
    assert!(matches!(unbound.send("127.0.0.1:9", SNDMORE), Err(Error::HostUnreachable)), "no udp endpoint");
    let (a, _) = dgram(&ctx);
    // The body first, or a third frame: EINVAL, and the socket still works.
    assert!(matches!(a.send("body", 0), Err(Error::InvalidArgument(_))));
    a.send("127.0.0.1:9", SNDMORE).unwrap();
    assert!(matches!(a.send("more", SNDMORE), Err(Error::InvalidArgument(_))));
    a.send("body", 0).unwrap();
    // Bad addresses are dropped by the udp side (libzmq drops them too); a good one after
    // them still goes out.
    let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let to = raw.local_addr().unwrap().to_string();
    for bad in ["nonsense", "127.0.0.1", "127.0.0.1:0", "host.example:80"] {
        a.send(bad, SNDMORE).unwrap();
        a.send("lost", 0).unwrap();
    }
    a.send(to.as_str(), SNDMORE).unwrap();
    a.send("kept", 0).unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = raw.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"kept", "only the body goes on the wire");
    // A datagram from anywhere arrives with its source's address.
    let (b, b_addr) = dgram(&ctx);
    raw.send_to(b"hello", &b_addr).unwrap();
    assert_eq!(b.recv_multipart(0).unwrap(), vec![format!("{to}\0").into_bytes(), b"hello".to_vec()]);
    assert!(b.recv_msg(DONTWAIT).is_err());
}

/// A DISH's close frees its port at once (its thread is woken and joined), as libzmq's
/// close does once the I/O thread ends the engine: a socket bound without SO_REUSEADDR
/// takes the port right after. (Before, the thread held it until its next 100 ms look.)
#[test]
fn a_closed_dish_leaves_its_port_free() {
    let ctx = Context::new();
    for _ in 0..20 {
        let dish = ctx.socket(DISH).unwrap();
        dish.bind("udp://127.0.0.1:0").unwrap();
        let ep = dish.get_last_endpoint().unwrap();
        let port = ep.rsplit(':').next().unwrap().to_owned();
        drop(dish);
        UdpSocket::bind(format!("127.0.0.1:{port}"))
            .unwrap_or_else(|e| panic!("port {port} after close: {e}"));
    }
}

/// `unbind` ends a DISH's udp endpoint (named as bound or as `last_endpoint` says): its
/// port is free and nothing more arrives; `disconnect` ends a RADIO's; an endpoint not
/// there is ENOENT, as in libzmq, where udp endpoints are endpoints like the others.
#[test]
fn udp_endpoints_unbind_and_disconnect() {
    let ctx = Context::new();
    let dish = ctx.socket(DISH).unwrap();
    dish.join("g").unwrap();
    for name_by_last_endpoint in [false, true] {
        dish.bind("udp://127.0.0.1:0").unwrap();
        let ep = dish.get_last_endpoint().unwrap();
        let radio = ctx.socket(RADIO).unwrap();
        radio.connect(&ep).unwrap();
        assert!(arrives_from(&radio, &dish), "{ep}");
        dish.unbind(if name_by_last_endpoint { &ep } else { "udp://127.0.0.1:0" }).unwrap();
        let port = ep.rsplit(':').next().unwrap();
        let plain = UdpSocket::bind(format!("127.0.0.1:{port}")).expect("the port is free after unbind");
        drop(plain);
        assert!(matches!(dish.unbind(&ep), Err(Error::NoSuchEndpoint(_))));
        radio.disconnect(&ep).unwrap();
        assert!(matches!(radio.disconnect(&ep), Err(Error::NoSuchEndpoint(_))));
    }
    // A RADIO disconnected sends nowhere: its messages are dropped, the socket still works.
    dish.bind("udp://127.0.0.1:0").unwrap();
    let ep = dish.get_last_endpoint().unwrap();
    let radio = ctx.socket(RADIO).unwrap();
    radio.connect(&ep).unwrap();
    assert!(arrives_from(&radio, &dish));
    radio.disconnect(&ep).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    while dish.recv_msg(DONTWAIT).is_ok() {}
    for _ in 0..20 {
        let mut m = Message::from("after");
        m.set_group("g").unwrap();
        radio.send(m, 0).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(dish.recv_msg(DONTWAIT).is_err(), "a disconnected RADIO still sends");
}

/// Sends to group "g" until `dish` hears one.
fn arrives_from(radio: &libsock::Socket, dish: &libsock::Socket) -> bool {
    for _ in 0..400 {
        let mut m = Message::from("ping");
        m.set_group("g").unwrap();
        radio.send(m, 0).unwrap();
        if dish.recv_msg(DONTWAIT).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}
