//! The bytes the `wire` family's peer writes: ZMTP pieces, drawn at random, some off the
//! norm.

use std::fmt;

use crate::twin::Rng;

/// The socket types, by their ZMTP names, with the peer types each accepts.
pub const KINDS: [(&str, &[&str]); 11] = [
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
pub struct Piece {
    pub label: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.label, escape(&self.bytes))
    }
}

/// Text for bytes: printable ASCII as it is, the rest escaped.
pub fn escape(bytes: &[u8]) -> String {
    bytes.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}

pub fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    if flags & 0x02 != 0 {
        out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    } else {
        out.push(body.len() as u8);
    }
    out.extend_from_slice(body);
    out
}

pub fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let long = if body.len() > 255 { 0x02 } else { 0 };
    frame(0x04 | long, &body)
}

pub fn property(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = vec![name.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value);
    out
}

pub fn piece(label: impl Into<String>, bytes: Vec<u8>) -> Piece {
    Piece { label: label.into(), bytes }
}

/// The greeting (64 bytes), now and then off the norm where libzmq accepts it or refuses.
pub fn greeting(rng: &mut Rng) -> Piece {
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
pub fn ready(rng: &mut Rng, server: &str, accepted: &[&str]) -> Piece {
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
pub fn traffic(rng: &mut Rng, server: &str, n: usize) -> Piece {
    match rng.below(40) {
        0..=17 => {
            let frames = 1 + rng.below(3);
            let mut bytes = Vec::new();
            let mut shown = Vec::new();
            if server == "REQ" {
                // A reply in its envelope, after a request id now and then (libzmq's session
                // takes one whether REQ_CORRELATE is set or not), or with none: a REQ then
                // drops the connection (`req_session_t::push_msg`).
                match rng.below(10) {
                    0 => {}
                    1 => {
                        bytes.extend(frame(0x01, b"\0\0\0\x07"));
                        shown.push(escape(b"\0\0\0\x07"));
                        bytes.extend(frame(0x01, b""));
                        shown.push(String::new());
                    }
                    _ => {
                        bytes.extend(frame(0x01, b""));
                        shown.push(String::new());
                    }
                }
            }
            for f in 0..frames {
                let body: Vec<u8> = match rng.below(8) {
                    0 => Vec::new(),
                    1 => vec![b'L'; 300],
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
