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

#[test]
fn udp_is_for_radio_connect_and_dish_bind_only() {
    let ctx = Context::new();
    let push = ctx.socket(PUSH).unwrap();
    assert!(matches!(push.bind("udp://127.0.0.1:0"), Err(Error::ProtocolNotSupported(_))));
    assert!(matches!(push.connect("udp://127.0.0.1:5555"), Err(Error::ProtocolNotSupported(_))));
    assert!(matches!(
        ctx.socket(RADIO).unwrap().bind("udp://127.0.0.1:0"),
        Err(Error::ProtocolNotSupported(_))
    ));
    assert!(matches!(
        ctx.socket(DISH).unwrap().connect("udp://127.0.0.1:5555"),
        Err(Error::ProtocolNotSupported(_))
    ));
    assert!(ctx.socket(RADIO).unwrap().connect("udp://127.0.0.1:0").is_err());
}
