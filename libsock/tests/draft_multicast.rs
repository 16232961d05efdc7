//! RADIO/DISH over udp multicast (`udp://[source;]group:port`), as libzmq's udp engine
//! does it: every DISH that joined the group on the port hears a RADIO's datagrams;
//! MULTICAST_LOOP off keeps them from the sender's own host; a source names the interface.
//!
//! Multicast must not reach the machine's real network, so the test runs itself again
//! inside a network namespace of its own (`common/netns.rs`: loopback and a veth link to
//! a second namespace), and skips, saying why, where it may not make one.

#[path = "common/netns.rs"]
mod netns;

use std::time::{Duration, Instant};

use libsock::{Context, Message, Socket, DISH, DONTWAIT, RADIO};

const INSIDE: &str = "LIBSOCK_TEST_IN_NETNS";

#[test]
fn multicast_groups_reach_every_dish_on_their_port() {
    if std::env::var_os(INSIDE).is_some() {
        return inside();
    }
    let ns = match netns::Netns::create("mc") {
        Ok(ns) => ns,
        Err(why) => {
            println!("SKIP multicast: cannot make a network namespace here ({why})");
            return;
        }
    };
    let exe = std::env::current_exe().unwrap();
    let out = ns.run(
        &exe,
        &["--exact", "multicast_groups_reach_every_dish_on_their_port", "--nocapture"],
        &[(INSIDE, "1")],
    );
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "inside the namespace:\n{text}");
}

/// The cases, inside the namespace.
fn inside() {
    let ctx = Context::new();
    for (ipv6, group) in [(false, "226.8.5.5:5555"), (true, "[ff02::7a65:726f:6df1:a01]:5556")] {
        let url = format!("udp://{group}");
        // Two DISHes on one group and port: both hear it.
        let dishes = [dish(&ctx, ipv6, &url), dish(&ctx, ipv6, &url)];
        assert_eq!(dishes[0].get_last_endpoint().unwrap(), url);
        let looping = radio(&ctx, ipv6, &url, true);
        for d in &dishes {
            assert_eq!(first_heard(&looping, d, "loop"), "loop", "{url}");
        }
        drain(&dishes);
        // MULTICAST_LOOP off: nothing reaches this host's DISHes, while what a radio with
        // it on sends after does.
        let quiet = radio(&ctx, ipv6, &url, false);
        for i in 0..20 {
            send(&quiet, &format!("quiet{i}"));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(first_heard(&looping, &dishes[0], "after"), "after", "{url}: MULTICAST_LOOP 0 was heard");
        // The source names the interface: its name (v0), or for IPv4 its address.
        let sources: &[&str] = if ipv6 { &["v0"] } else { &["v0", "192.0.2.1", "*"] };
        for source in sources {
            let url = format!("udp://{source};{group}");
            let d = dish(&ctx, ipv6, &url);
            let r = radio(&ctx, ipv6, &url, true);
            assert_eq!(first_heard(&r, &d, "src"), "src", "{url}");
        }
    }
    wire_format(&ctx);
    dgram_in_a_group(&ctx);
    // An IPv6 group needs an interface, not an address, before it (ENODEV, as libzmq).
    let d = ctx.socket(DISH).unwrap();
    d.set_ipv6(true).unwrap();
    let err = d.bind("udp://::1;[ff02::1]:5557").unwrap_err();
    assert_eq!(err.to_raw(), 19, "ENODEV: {err}");
}

/// What goes over the link is libzmq's datagram, `group length | group | body`: a plain
/// udp socket in the group hears a RADIO's, and a DISH hears one written by hand.
fn wire_format(ctx: &Context) {
    let group: std::net::Ipv4Addr = "239.7.7.7".parse().unwrap();
    let plain = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    plain.set_reuse_address(true).unwrap();
    plain.set_reuse_port(true).unwrap();
    plain.bind(&std::net::SocketAddr::from(([0, 0, 0, 0], 5558)).into()).unwrap();
    plain.join_multicast_v4(&group, &std::net::Ipv4Addr::UNSPECIFIED).unwrap();
    let plain = std::net::UdpSocket::from(plain);
    plain.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let r = radio(ctx, false, "udp://239.7.7.7:5558", true);
    send(&r, "Friends");
    let mut buf = [0u8; 64];
    let n = plain.recv(&mut buf).expect("the RADIO's datagram");
    assert_eq!(&buf[..n], b"\x02TVFriends");
    let d = dish(ctx, false, "udp://239.7.7.7:5558");
    plain.send_to(b"\x02TVby hand", "239.7.7.7:5558").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let m = loop {
        match d.recv_msg(DONTWAIT) {
            Ok(m) if m.as_str() == Some("by hand") => break m,
            Ok(_) => {}
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("the hand-made datagram was not heard: {e}"),
        }
    };
    assert_eq!(m.group(), "TV");
}

/// A DGRAM bound to a group hears what is sent to it, with the sender's address, and
/// answers that address.
fn dgram_in_a_group(ctx: &Context) {
    let dgram = ctx.socket(libsock::DGRAM).unwrap();
    dgram.set_linger(0).unwrap();
    dgram.bind("udp://239.7.7.8:5559").unwrap();
    let plain = std::net::UdpSocket::bind("192.0.2.1:0").unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let (from, body) = loop {
        plain.send_to(b"to the group", "239.7.7.8:5559").unwrap();
        std::thread::sleep(Duration::from_millis(10));
        if let Ok(from) = dgram.recv_msg(DONTWAIT) {
            break (from, dgram.recv_msg(0).unwrap());
        }
        assert!(Instant::now() < deadline, "the DGRAM heard nothing from the group");
    };
    assert_eq!(&from[..], format!("{}\0", plain.local_addr().unwrap()).as_bytes());
    assert_eq!(&body[..], b"to the group");
    dgram.send(from, libsock::SNDMORE).unwrap();
    dgram.send(Message::from("answer"), 0).unwrap();
    let mut buf = [0u8; 16];
    let n = plain.recv(&mut buf).expect("the answer");
    assert_eq!(&buf[..n], b"answer");
}

fn dish(ctx: &Context, ipv6: bool, url: &str) -> Socket {
    let d = ctx.socket(DISH).unwrap();
    d.set_linger(0).unwrap();
    d.set_ipv6(ipv6).unwrap();
    d.bind(url).unwrap_or_else(|e| panic!("DISH bind {url}: {e}"));
    d.join("TV").unwrap();
    d
}

fn radio(ctx: &Context, ipv6: bool, url: &str, multicast_loop: bool) -> Socket {
    let r = ctx.socket(RADIO).unwrap();
    r.set_linger(0).unwrap();
    r.set_ipv6(ipv6).unwrap();
    r.set_multicast_loop(multicast_loop).unwrap();
    r.connect(url).unwrap_or_else(|e| panic!("RADIO connect {url}: {e}"));
    r
}

fn send(radio: &Socket, body: &str) {
    let mut m = Message::from(body);
    m.set_group("TV").unwrap();
    radio.send(m, 0).unwrap();
}

/// Sends `tag` until `dish` hears something; returns what it heard first, without the
/// counter (udp may drop, though not on this link).
fn first_heard(radio: &Socket, dish: &Socket, tag: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        send(radio, tag);
        std::thread::sleep(Duration::from_millis(10));
        if let Ok(m) = dish.recv_msg(DONTWAIT) {
            assert_eq!(m.group(), "TV");
            return m.as_str().unwrap().trim_end_matches(|c: char| c.is_ascii_digit()).to_string();
        }
    }
    panic!("{tag}: nothing heard in 5 s");
}

fn drain(dishes: &[Socket]) {
    std::thread::sleep(Duration::from_millis(50));
    for d in dishes {
        while d.recv_msg(DONTWAIT).is_ok() {}
    }
}
