//! RADIO/DISH over `udp://` between libsock sockets: libzmq's datagram format
//! (`group length | group | body`), the DISH filtering by its groups.

use libsock::{Context, Error, Message, DISH, PUSH, RADIO};

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
fn udp_is_for_radio_connect_and_dish_bind_only() {
    let ctx = Context::new();
    let incompatible = |r: libsock::Result<()>| matches!(&r, Err(e @ Error::IncompatibleProtocol(_)) if e.to_raw() == libsock::ENOCOMPATPROTO);
    let push = ctx.socket(PUSH).unwrap();
    assert!(incompatible(push.bind("udp://127.0.0.1:0")));
    assert!(incompatible(push.connect("udp://127.0.0.1:5555")));
    assert!(incompatible(ctx.socket(RADIO).unwrap().bind("udp://127.0.0.1:0")));
    assert!(incompatible(ctx.socket(DISH).unwrap().connect("udp://127.0.0.1:5555")));
    assert!(ctx.socket(RADIO).unwrap().connect("udp://127.0.0.1:0").is_err());
}
