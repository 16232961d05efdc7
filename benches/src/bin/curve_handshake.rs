//! `curve_handshake [count]`: the CPU cost of a CURVE handshake in libsock.
//!
//! A client and a server session are wired back to back in memory (the sans-I/O session, no
//! sockets, no I/O threads) and complete `count` handshakes (default 2000): greeting, HELLO,
//! WELCOME, INITIATE, READY, then one encrypted message each way. CPU time comes from
//! `/proc/self/stat` (user + system, this single-threaded process); printed per handshake,
//! for both ends together and per end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use libsock::session::{
    CookieJar, HeartbeatConfig, Security, Session, SessionConfig, SessionEvent, ZapReply,
};
use libsock::{Message, SocketType};

fn cfg(socket_type: SocketType, security: Security) -> SessionConfig {
    SessionConfig {
        socket_type,
        routing_id: bytes::Bytes::new(),
        max_msg_size: None,
        handshake_ivl: Some(Duration::from_secs(30)),
        heartbeat: HeartbeatConfig::default(),
        security,
        app_metadata: bytes::Bytes::new(),
    }
}

/// Moves `from`'s output into `to`.
fn transfer(from: &mut Session, to: &mut BytesMut) {
    let mut bytes = Vec::new();
    while !from.out().is_empty() {
        from.out().write_to(&mut bytes).expect("writing to a Vec");
    }
    to.extend_from_slice(&bytes);
}

/// Runs `s` over its input, approving ZAP requests; returns how many messages arrived.
fn run(s: &mut Session, input: &mut BytesMut, now: Instant) -> usize {
    let mut got = 0;
    loop {
        let before = input.len();
        let msg = s.decode(input, now).expect("handshake failed");
        let mut evented = false;
        while let Some(ev) = s.poll_event() {
            evented = true;
            if let SessionEvent::Zap(_) = ev {
                s.zap_reply(ZapReply::allow(), now).expect("zap");
            }
        }
        match msg {
            Some(_) => got += 1,
            None if input.len() == before && !evented => return got,
            None => {}
        }
    }
}

fn key(z85: &str) -> [u8; 32] {
    libsock::z85_decode(z85).expect("z85").try_into().expect("32 bytes")
}

/// One complete handshake and a message each way.
fn handshake(server: &Security, client: &Security) {
    let now = Instant::now();
    let mut c = Session::new(cfg(SocketType::DEALER, client.clone()), now);
    let mut s = Session::new(cfg(SocketType::ROUTER, server.clone()), now);
    let (mut ic, mut is) = (BytesMut::new(), BytesMut::new());
    while !(c.is_active() && s.is_active()) {
        transfer(&mut c, &mut is);
        transfer(&mut s, &mut ic);
        run(&mut c, &mut ic, now);
        run(&mut s, &mut is, now);
    }
    c.send(&Message::from("ping"));
    s.send(&Message::from("pong"));
    transfer(&mut c, &mut is);
    transfer(&mut s, &mut ic);
    assert_eq!(run(&mut s, &mut is, now) + run(&mut c, &mut ic, now), 2);
}

/// User + system CPU time of this process, from `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

fn main() {
    let count: u32 = std::env::args().nth(1).map_or(2000, |a| a.parse().expect("count"));
    let (server_public, server_secret) = libsock::curve_keypair();
    let (_, client_secret) = libsock::curve_keypair();
    let server = Security::CurveServer { secret: key(&server_secret), cookies: Arc::new(CookieJar::new()) };
    let client =
        Security::CurveClient { secret: key(&client_secret), public: None, server: key(&server_public) };
    handshake(&server, &client); // warm up
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    for _ in 0..count {
        handshake(&server, &client);
    }
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let per = cpu.as_secs_f64() * 1e6 / f64::from(count);
    println!("handshakes: {count}");
    println!("cpu per handshake, both ends: {per:.1} [us]");
    println!("cpu per handshake, per end: {:.1} [us]", per / 2.0);
    println!("wall per handshake: {:.1} [us]", wall.as_secs_f64() * 1e6 / f64::from(count));
}
