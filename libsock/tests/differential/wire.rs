//! A hand-driven ZMTP peer on a raw tcp connection against a bound socket of each library:
//! the same bytes, written in the same pieces, go to a libsock socket and to a libzmq one.
//! The bytes are ZMTP 3.x with variations: greetings (padding, version, mechanism, the
//! as-server flag, filler), READY commands (socket types that fit or not, an Identity,
//! metadata of the peer's own, malformed properties), messages (short and long frames, more
//! flags, empty frames, frames over MAXMSGSIZE), PING (a TTL, a context up to and beyond 16
//! bytes), PONG, SUBSCRIBE and CANCEL as commands and as messages, ERROR, unknown commands,
//! and a peer that hangs up; pieces are cut anywhere, so either library reads them a part at
//! a time. The bound socket sends, receives and subscribes in between.
//!
//! Compared after each step (once both sides have been quiet): the bytes each library wrote
//! to the peer (its greeting in its stages, READY, PONGs, subscriptions, messages) and
//! whether it hung up; its monitor events (with HANDSHAKE_FAILED_PROTOCOL's code); every call's
//! answer and the messages the socket received, with the peer's Socket-Type, Routing-Id and
//! own metadata; ZMQ_EVENTS.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::twin::{Frames, Maker, Rng, Twin};
use crate::watch::{server_endpoint, Watch};

mod fixed;

const ROUTING_ID: i32 = 5;
const SUBSCRIBE: i32 = 6;
const UNSUBSCRIBE: i32 = 7;
const LINGER: i32 = 17;
const MAXMSGSIZE: i32 = 22;

/// How long both sides must be quiet (no byte to the peer, no monitor event) before a
/// step's observations are compared.
const QUIET: Duration = Duration::from_millis(80);

/// The connection properties a received message is reported with (`X-Hello` is the peer's
/// own metadata, when its READY has it).
const PROPERTIES: [&str; 3] = ["Socket-Type", "Routing-Id", "X-Hello"];

/// The socket types, by their ZMTP names, with the peer types each accepts.
const KINDS: [(&str, &[&str]); 11] = [
    ("PAIR", &["PAIR"]),
    ("PUB", &["SUB", "XSUB"]),
    ("SUB", &["PUB", "XPUB"]),
    ("REQ", &["REP", "ROUTER"]),
    ("REP", &["REQ", "DEALER"]),
    ("DEALER", &["REP", "DEALER", "ROUTER"]),
    ("ROUTER", &["REQ", "DEALER", "ROUTER"]),
    ("PULL", &["PUSH"]),
    ("PUSH", &["PULL"]),
    ("XPUB", &["SUB", "XSUB"]),
    ("XSUB", &["PUB", "XPUB"]),
];

/// Bytes for the peer to write, named for the log.
#[derive(Clone)]
struct Piece {
    label: String,
    bytes: Vec<u8>,
}

impl fmt::Debug for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.label, escape(&self.bytes))
    }
}

/// The bound socket and the peer's script.
#[derive(Debug)]
struct Setup {
    server: &'static str,
    routing_id: Option<&'static str>,
    max_msg_size: Option<i32>,
    /// The SUB server's subscriptions before the peer connects.
    subscribed: Vec<&'static str>,
    /// What the peer writes, in order (ops cut and join the pieces).
    script: Vec<Piece>,
}

#[derive(Debug)]
enum Op {
    /// The peer writes these bytes (a piece, part of one, or several).
    Write(Vec<Piece>),
    /// The peer closes its side (shutdown of writes).
    Hangup,
    /// The server sends a message (a ROUTER: to the routing id it last received from).
    Send(Frames),
    /// The server receives everything there is.
    Drain,
    /// SUBSCRIBE (or UNSUBSCRIBE when false) on a SUB server, a subscription message on an
    /// XSUB one.
    Subscribe(&'static str, bool),
}

/// Text for bytes: printable ASCII as it is, the rest escaped.
fn escape(bytes: &[u8]) -> String {
    bytes.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    if flags & 0x02 != 0 {
        out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    } else {
        out.push(body.len() as u8);
    }
    out.extend_from_slice(body);
    out
}

fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let long = if body.len() > 255 { 0x02 } else { 0 };
    frame(0x04 | long, &body)
}

fn property(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = vec![name.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value);
    out
}

fn piece(label: impl Into<String>, bytes: Vec<u8>) -> Piece {
    Piece { label: label.into(), bytes }
}

/// The greeting (64 bytes), now and then off the norm where libzmq accepts it or refuses.
fn greeting(rng: &mut Rng) -> Piece {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1];
    let mut label = vec!["greeting"];
    let mut mechanism = "NULL";
    match rng.below(24) {
        0 => {
            // Padding is "not significant" (RFC 23); libzmq's own carries its routing id
            // length for ZMTP 1.0 peers.
            g[1..9].copy_from_slice(b"padding!");
            label.push("padding");
        }
        1 => {
            // The low bit of byte 9 is what libzmq looks at.
            g[9] = 0x01;
            label.push("byte 9 = 1");
        }
        2 => {
            g[11] = 0;
            label.push("3.0");
        }
        3 => {
            g[10] = *rng.pick(&[2, 4]);
            label.push("another major version");
        }
        4 => {
            g[11] = 7;
            label.push("3.7");
        }
        5 => {
            mechanism = *rng.pick(&["PLAIN", "CURVE", "null", "NULL\0X", "BOGUS"]);
            label.push("another mechanism");
        }
        6 => {
            label.push("as-server 1");
        }
        7 => {
            label.push("filler");
        }
        // Not a signature that is not ZMTP 3's: libzmq speaks ZMTP 1.0 to such a peer,
        // libsock refuses it.
        _ => {}
    }
    g.extend_from_slice(&{
        let mut m = [0u8; 20];
        m[..mechanism.len()].copy_from_slice(mechanism.as_bytes());
        m
    });
    g.push(u8::from(label.contains(&"as-server 1")));
    g.extend_from_slice(&[if label.contains(&"filler") { 0xaa } else { 0 }; 31]);
    piece(label.join(" "), g)
}

/// The peer's READY (or what it sends in its place).
fn ready(rng: &mut Rng, server: &str, accepted: &[&str]) -> Piece {
    let peer = rng.pick(accepted);
    let mut props = Vec::new();
    let mut label = format!("READY {peer}");
    match rng.below(30) {
        0 => {
            let wrong = KINDS.iter().map(|k| k.0).find(|k| !accepted.contains(k)).unwrap_or("PAIR");
            props.extend(property("Socket-Type", wrong.as_bytes()));
            label = format!("READY {wrong} (not accepted)");
        }
        1 => {
            props.extend(property("Socket-Type", b"BOGUS"));
            label = "READY BOGUS".into();
        }
        // Not a READY without Socket-Type: libsock refuses it (RFC 37: the property is
        // required), libzmq takes the peer for whatever it needs.
        // Not a lower-case property name: RFC 37 makes names case-insensitive, and libsock
        // reads them so (`zmq_msg_gets` too); libzmq compares them exactly.
        4 => {
            props.extend(property("Socket-Type", peer.as_bytes()));
            props.extend_from_slice(&[11, b'X']);
            label.push_str(" + a name cut short");
        }
        5 => {
            props.extend(property("Socket-Type", peer.as_bytes()));
            props.extend_from_slice(&[7, b'X', b'-', b'H', b'e', b'l', b'l', b'o', 0, 0, 0, 9, b'w']);
            label.push_str(" + a value cut short");
        }
        6 => return piece("ERROR instead of READY", command("ERROR", b"\x04nope")),
        7 => return piece("a message instead of READY", frame(0, b"early")),
        8 => return piece("PING instead of READY", command("PING", &[0, 0])),
        9 => {
            return piece(
                "READX instead of READY",
                command("READX", &property("Socket-Type", peer.as_bytes())),
            )
        }
        _ => props.extend(property("Socket-Type", peer.as_bytes())),
    }
    if rng.chance(30) {
        let id: &[u8] = rng.pick::<&[u8]>(&[b"peer", b"", b"\0zero", b"p2"]);
        props.extend(property("Identity", id));
        label.push_str(&format!(" Identity {}", escape(id)));
    }
    if rng.chance(30) {
        props.extend(property("X-Hello", b"World"));
        label.push_str(" X-Hello");
    }
    if server == "ROUTER" && rng.chance(10) {
        // A second Identity: which one counts.
        props.extend(property("Identity", b"again"));
        label.push_str(" Identity again");
    }
    piece(label, command("READY", &props))
}

/// A message or command after the handshake.
fn traffic(rng: &mut Rng, server: &str, n: usize) -> Piece {
    match rng.below(40) {
        0..=17 => {
            let frames = 1 + rng.below(3);
            let mut bytes = Vec::new();
            let mut shown = Vec::new();
            if server == "REQ" {
                // A reply in its envelope: libzmq's REQ drops the connection of a peer whose
                // message has none (`req_session_t::push_msg`), libsock's REQ drops the
                // message.
                bytes.extend(frame(0x01, b""));
                shown.push(String::new());
            }
            for f in 0..frames {
                let body: Vec<u8> = match rng.below(8) {
                    0 => Vec::new(),
                    // Not to a REQ: libzmq's REQ dropped the connection after a reply whose
                    // last frame was 300 bytes long (40 bytes pass; not explained yet).
                    1 if server != "REQ" => vec![b'L'; 300],
                    _ => format!("m{n}.{f}").into_bytes(),
                };
                let more = if f + 1 < frames { 0x01 } else { 0 };
                let long = if body.len() > 255 || rng.chance(10) { 0x02 } else { 0 };
                shown.push(if body.len() > 20 {
                    format!("{}x{}", body[0] as char, body.len())
                } else {
                    escape(&body)
                });
                bytes.extend(frame(more | long, &body));
            }
            piece(format!("message {shown:?}"), bytes)
        }
        18..=20 => {
            let ttl: u16 = *rng.pick(&[0, 3000]);
            let context: &[u8] =
                rng.pick::<&[u8]>(&[b"", b"ctx", b"0123456789abcdef", b"0123456789abcdefXYZ"]);
            let mut data = ttl.to_be_bytes().to_vec();
            data.extend_from_slice(context);
            piece(format!("PING ttl {ttl} context {}", escape(context)), command("PING", &data))
        }
        // Not a PING without its TTL: libzmq 4.3.4 reads two bytes past it and answers a
        // PONG with 16 bytes of whatever its buffer held (`process_heartbeat_message`);
        // libsock ignores it.
        22 => piece("PONG", command("PONG", b"ctx")),
        23..=26 => {
            let topic: &str = rng.pick::<&str>(&["", "m", "a", "m1"]);
            piece(format!("SUBSCRIBE {topic:?}"), command("SUBSCRIBE", topic.as_bytes()))
        }
        27..=28 => {
            let topic: &str = rng.pick::<&str>(&["", "m", "a"]);
            piece(format!("CANCEL {topic:?}"), command("CANCEL", topic.as_bytes()))
        }
        29..=31 => {
            let (sub, topic): (bool, &str) = *rng.pick(&[(true, ""), (true, "m"), (false, "m"), (false, "")]);
            let mut body = vec![u8::from(sub)];
            body.extend_from_slice(topic.as_bytes());
            let envelope = if server == "REQ" { frame(0x01, b"") } else { Vec::new() };
            piece(format!("message {}", escape(&body)), [envelope, frame(0, &body)].concat())
        }
        32 => piece("ERROR", command("ERROR", b"\x04nope")),
        33 => piece("unknown command", command("HELLO", b"x")),
        // Not a command with the MORE flag: RFC 23's grammar has none, and libsock refuses
        // it as it refuses reserved flag bits; libzmq takes the command.
        35 => piece("an empty command", frame(0x04, b"")),
        36 => piece("a command name longer than its body", frame(0x04, b"\x09PIN")),
        37 => piece("READY again", command("READY", &property("Socket-Type", b"PAIR"))),
        _ => piece("a long frame of 2^62 bytes", {
            let mut f = vec![0x02];
            f.extend_from_slice(&(1u64 << 62).to_be_bytes());
            f
        }),
    }
}

fn setup(rng: &mut Rng) -> Setup {
    let (server, accepted) = *rng.pick(&KINDS);
    let mut script = vec![greeting(rng), ready(rng, server, accepted)];
    let count = 4 + rng.below(10);
    script.extend((0..count).map(|n| traffic(rng, server, n)));
    Setup {
        server,
        routing_id: rng.chance(30).then_some("srv"),
        max_msg_size: rng.chance(20).then_some(100),
        subscribed: if server == "SUB" { vec![*rng.pick(&["", "m", "m1"])] } else { Vec::new() },
        script,
    }
}

/// What the generator knows while it draws ops.
struct State {
    /// Script bytes not yet written: the index of the next piece and how far into it.
    next: usize,
    offset: usize,
    hung_up: bool,
    sent: usize,
}

fn take(s: &Setup, st: &mut State, rng: &mut Rng) -> Vec<Piece> {
    let rest = &s.script[st.next];
    let left = rest.bytes.len() - st.offset;
    let cut = match rng.below(10) {
        // A greeting with another mechanism is cut after its version: libzmq reads all that
        // is there before it writes, so a peer whose mechanism arrives with its version
        // never sees the rest of libzmq's greeting, where libsock writes it (so that the
        // peer learns of the mismatch).
        _ if rest.label.contains("another mechanism") => {
            if st.offset == 0 {
                12 + rng.below(left - 12)
            } else {
                left
            }
        }
        0..=2 if left > 1 => 1 + rng.below(left - 1),
        _ => left,
    };
    let mut out = vec![piece(
        if cut < left || st.offset > 0 {
            format!("{} [{}..{}]", rest.label, st.offset, st.offset + cut)
        } else {
            rest.label.clone()
        },
        rest.bytes[st.offset..st.offset + cut].to_vec(),
    )];
    st.offset += cut;
    if st.offset == rest.bytes.len() {
        st.next += 1;
        st.offset = 0;
        // Now and then the next piece goes in the same write; not the one after the
        // greeting: an ERROR that arrives with the greeting finds libzmq's READY not yet
        // sent, and libzmq then sends it and waits for the handshake timeout (30 s) to
        // close, where libsock closes at once.
        // Nor a PING with the READY: libzmq answers it before its SUB's subscriptions go out,
        // libsock after (both orders are the protocol's).
        let ping_after_ready = st.next == 2 && s.script.get(2).is_some_and(|p| p.label.starts_with("PING"));
        if st.next >= 2 && st.next < s.script.len() && !ping_after_ready && rng.chance(25) {
            out.push(s.script[st.next].clone());
            st.next += 1;
        }
    }
    out
}

fn op(rng: &mut Rng, s: &Setup, st: &mut State) -> Op {
    loop {
        let writing = !st.hung_up && st.next < s.script.len();
        let op = match rng.below(100) {
            0..=54 if writing => Op::Write(take(s, st, rng)),
            55..=56 if !st.hung_up => {
                st.hung_up = true;
                Op::Hangup
            }
            57..=74 if !matches!(s.server, "SUB" | "PULL") => {
                st.sent += 1;
                let body = format!("m{}", st.sent).into_bytes();
                let frames = match s.server {
                    "ROUTER" => vec![b"PEER".to_vec(), body],
                    // Data: a subscription message an XSUB's program sends goes out as a
                    // SUBSCRIBE command to a ZMTP 3.1 peer in libsock, as a message in
                    // libzmq 4.3.4 (whose own XSUB sends a command when it resubscribes).
                    "XSUB" => vec![body],
                    _ if rng.chance(20) => vec![body, b"second".to_vec()],
                    _ => vec![body],
                };
                Op::Send(frames)
            }
            75..=89 if !matches!(s.server, "PUB" | "PUSH") => Op::Drain,
            90..=99 if s.server == "SUB" => Op::Subscribe(rng.pick::<&str>(&["", "m", "a"]), rng.chance(70)),
            _ if !writing => Op::Drain,
            _ => continue,
        };
        return op;
    }
}

/// The peer: a raw tcp connection and what it has read since the last step.
struct Peer {
    stream: TcpStream,
    read: Vec<u8>,
    /// The library hung up (end of stream or reset).
    closed: bool,
}

impl Peer {
    fn connect(endpoint: &str) -> Peer {
        let address = endpoint.strip_prefix("tcp://").expect("a tcp endpoint");
        let stream = TcpStream::connect(address).expect("peer connects");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        Peer { stream, read: Vec::new(), closed: false }
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        let deadline = Instant::now() + Duration::from_secs(2);
        while !rest.is_empty() && Instant::now() < deadline {
            match self.stream.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(1)),
                // The library hung up: what it saw is in the report.
                Err(_) => return,
            }
        }
    }

    /// Reads what is there; says whether anything came (bytes or the end).
    fn poll(&mut self) -> bool {
        if self.closed {
            return false;
        }
        let mut buf = [0u8; 4096];
        let before = self.read.len();
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.closed = true;
                    return true;
                }
                Ok(n) => self.read.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return self.read.len() > before,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    return true;
                }
            }
        }
    }
}

/// One library's side of a case.
struct Side {
    sockets: Vec<Option<Twin>>,
    watch: Watch,
    peer: Peer,
    /// The routing id of the last message a ROUTER server received.
    last_id: Vec<u8>,
}

fn open(libsock: bool, s: &Setup, seed: u64) -> Side {
    let maker = Maker::new(libsock);
    let mut server = maker.socket_named(s.server);
    let (endpoint, names) = server_endpoint(libsock, false, &format!("wire-{seed}"));
    let mut watch = Watch::new(names);
    server.set_int(LINGER, 0).expect("LINGER");
    if let Some(id) = s.routing_id {
        server.set_bytes(ROUTING_ID, id.as_bytes()).expect("ROUTING_ID");
    }
    if let Some(max) = s.max_msg_size {
        server.set_int64(MAXMSGSIZE, max.into()).expect("MAXMSGSIZE");
    }
    for topic in &s.subscribed {
        server.set_bytes(SUBSCRIBE, topic.as_bytes()).expect("SUBSCRIBE");
    }
    watch.attach(&maker, &server, &format!("inproc://diff-wire-monitor-{seed}"));
    server.bind(&endpoint).expect("bind");
    let peer = Peer::connect(&endpoint);
    Side { sockets: vec![Some(server)], watch, peer, last_id: Vec::new() }
}

/// A received message's frames as text, a ROUTER's routing id made up by the library
/// (a zero byte and four more) shown as `GENERATED`.
fn shown(server: &str, frames: &[Vec<u8>]) -> Vec<String> {
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if i == 0 && server == "ROUTER" && f.len() == 5 && f[0] == 0 {
                "GENERATED".to_string()
            } else {
                escape(f)
            }
        })
        .collect()
}

fn step(s: &Setup, side: &mut Side, op: Option<&Op>) -> String {
    let server = side.sockets[0].as_ref().expect("the server");
    let answer = match op {
        Some(Op::Write(pieces)) => {
            let bytes: Vec<u8> = pieces.iter().flat_map(|p| p.bytes.iter().copied()).collect();
            side.peer.write(&bytes);
            String::new()
        }
        Some(Op::Hangup) => {
            let _ = side.peer.stream.shutdown(std::net::Shutdown::Write);
            String::new()
        }
        Some(Op::Send(frames)) => {
            let mut frames = frames.clone();
            if s.server == "ROUTER" {
                frames[0] = side.last_id.clone();
            }
            format!("{:?}", server.send(&frames))
        }
        Some(Op::Drain) => {
            let mut all = Vec::new();
            let end = loop {
                match receive(server) {
                    Ok((frames, properties)) => {
                        if s.server == "ROUTER" {
                            side.last_id = frames[0].clone();
                        }
                        all.push((shown(s.server, &frames), properties));
                    }
                    Err(e) => break e,
                }
            };
            format!("{all:?} then errno {end}")
        }
        Some(Op::Subscribe(topic, on)) => {
            let option = if *on { SUBSCRIBE } else { UNSUBSCRIBE };
            let sub = side.sockets[0].as_mut().expect("the server");
            format!("{:?}", sub.set_bytes(option, topic.as_bytes()))
        }
        None => String::new(),
    };
    let Side { sockets, watch, peer, .. } = side;
    let events = watch.settle(sockets, QUIET, || peer.poll(), |_, _| false);
    let server = sockets[0].as_ref().expect("the server");
    let mut report = format!("answer {answer}\n");
    report.push_str(&format!("peer read {}\n", escape(&std::mem::take(&mut peer.read))));
    if peer.closed {
        report.push_str("peer: the library hung up\n");
    }
    report.push_str(&format!("monitor {:?}\n", events[0]));
    report.push_str(&format!("events {:?}\n", server.events()));
    side.watch.normalise(&report)
}

/// One whole message with the properties of its last frame, or the errno that ended it.
fn receive(socket: &Twin) -> Result<(Frames, Vec<Option<String>>), i32> {
    let mut frames = Vec::new();
    loop {
        let (frame, more, properties) = socket.recv_frame_with(&PROPERTIES)?;
        frames.push(frame);
        if !more {
            return Ok((frames, properties));
        }
    }
}

fn run_case(seed: u64, steps: usize) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let s = setup(&mut rng);
    let mut sides = [open(true, &s, seed), open(false, &s, seed)];
    let log = format!("seed {seed}\nsetup {s:?}\n");
    let mut st = State { next: 0, offset: 0, hung_up: false, sent: 0 };
    let next = || op(&mut rng, &s, &mut st);
    crate::lockstep(log, &mut sides, steps, next, |side, op| step(&s, side, op))
}

#[test]
fn raw_zmtp_peers_meet_libsock_as_they_meet_libzmq() {
    crate::run_cases(1, 30, |seed| run_case(seed, 14));
}

#[test]
#[ignore = "stress: many more cases, by hand"]
fn stress_raw_zmtp_peers_meet_libsock_as_they_meet_libzmq() {
    crate::run_cases(2_000_000, 2_000, |seed| run_case(seed, 24));
}
