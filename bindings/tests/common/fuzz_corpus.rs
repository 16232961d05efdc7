//! Inputs for libzmq's libFuzzer harnesses (`tests/test_*_fuzzer.cpp`).
//!
//! Built without a fuzzing engine, each harness replays every file of
//! `tests/libzmq-fuzz-corpora/<program>_seed_corpus/` through libzmq's public API: as an
//! endpoint to bind or connect, as the value of every socket option, as Z85 text, or as the
//! byte stream a raw tcp peer sends to a socket (NULL, CURVE or STREAM) that must then go on
//! serving. libzmq's corpora come from OSS-Fuzz and are not in its source release, so these are
//! written here: malformed, truncated, oversized and mis-typed variants of what each harness
//! feeds, plus deterministic noise. No input names a host: an endpoint that needs DNS would
//! wait on a resolver this machine cannot reach.

/// The inputs for `program`, or `None` if it is not one of the harnesses run.
pub fn corpus(program: &str) -> Option<Vec<Vec<u8>>> {
    Some(match program {
        "test_bind_fuzzer" | "test_connect_fuzzer" => endpoints(),
        "test_socket_options_fuzzer" => option_values(),
        "test_z85_decode_fuzzer" => z85_texts(),
        "test_bind_null_fuzzer" => null_streams(false),
        "test_connect_null_fuzzer" => null_streams(true),
        "test_bind_stream_fuzzer" | "test_connect_stream_fuzzer" => raw_streams(),
        "test_bind_curve_fuzzer" => curve_client_streams(),
        "test_connect_curve_fuzzer" => curve_server_streams(),
        "test_bind_ws_fuzzer" => ws_client_streams(),
        "test_connect_ws_fuzzer" => ws_server_streams(),
        _ => return None,
    })
}

/// Deterministic bytes (xorshift64), so a failure replays.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn endpoints() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = [
        "",
        "tcp://",
        "tcp://127.0.0.1:*",
        "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:65536",
        "tcp://127.0.0.1:-1",
        "tcp://[::1]:*",
        "tcp://[::1",
        "tcp://*:*",
        "tcp://127.0.0.1:1;127.0.0.1:2",
        "tcp://;:",
        "tcp://127.0.0.1:1",
        "tcp://0.0.0.0:*",
        "tcp://256.1.1.1:5",
        "ipc://",
        "ipc://@libsock-fuzz",
        "ipc://libsock-fuzz.sock",
        "inproc://",
        "inproc://libsock-fuzz",
        "udp://127.0.0.1:*",
        "pgm://lo;239.192.1.1:5555",
        "epgm://;:",
        "ws://127.0.0.1:*",
        "tipc://{5560,0,0}",
        "vmci://0:*",
        "://",
        "tcp:/127.0.0.1:5",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    all.push(b"tcp://127.0.0.1:\x00\xff\xfe".to_vec());
    all.push(format!("tcp://127.0.0.1:{}", "9".repeat(300)).into_bytes());
    all.push(format!("ipc://{}", "p".repeat(300)).into_bytes());
    all.push(format!("inproc://{}", "n".repeat(5000)).into_bytes());
    all.push(noise(1, 64));
    all
}

fn option_values() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = vec![
        vec![0],
        vec![1],
        0i32.to_ne_bytes().to_vec(),
        1i32.to_ne_bytes().to_vec(),
        (-1i32).to_ne_bytes().to_vec(),
        i32::MAX.to_ne_bytes().to_vec(),
        i32::MIN.to_ne_bytes().to_vec(),
        (-1i64).to_ne_bytes().to_vec(),
        i64::MAX.to_ne_bytes().to_vec(),
        i64::MIN.to_ne_bytes().to_vec(),
        vec![0; 32],
        b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\0".to_vec(),
        b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".to_vec(),
        vec![b'a'; 255],
        vec![b'a'; 256],
        vec![0; 3],
        b"127.0.0.1:1080".to_vec(),
    ];
    all.push(noise(2, 8192));
    all
}

fn z85_texts() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = vec![
        b"HelloWorld".to_vec(),
        b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".to_vec(),
        b"%%%%%".to_vec(),
        b"#####".to_vec(),
        b"     ".to_vec(),
        b"~~~~~".to_vec(),
        b"\x7f\x80\xff\x01\x00".to_vec(),
        b"0000000000".to_vec(),
    ];
    all.push(noise(3, 5000));
    all
}

/// A ZMTP 3.0 greeting.
fn greeting(mechanism: &str, as_server: bool) -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
    let mut name = [0u8; 20];
    name[..mechanism.len()].copy_from_slice(mechanism.as_bytes());
    g.extend_from_slice(&name);
    g.push(u8::from(as_server));
    g.extend_from_slice(&[0; 31]);
    g
}

/// A frame (`flags` 0x04 for a command; the long form when the body needs it).
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = if body.len() > 255 {
        let mut f = vec![flags | 0x02];
        f.extend_from_slice(&(body.len() as u64).to_be_bytes());
        f
    } else {
        vec![flags, body.len() as u8]
    };
    f.extend_from_slice(body);
    f
}

fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    frame(0x04, &body)
}

/// A READY with one property.
fn ready(name: &str, value: &[u8]) -> Vec<u8> {
    let mut data = vec![name.len() as u8];
    data.extend_from_slice(name.as_bytes());
    data.extend_from_slice(&(value.len() as u32).to_be_bytes());
    data.extend_from_slice(value);
    command("READY", &data)
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// What a raw peer of a NULL socket sends: the harness's socket is a PUB (bound) or a SUB
/// (connecting), so the peer claims to be the other one.
fn null_streams(peer_is_server: bool) -> Vec<Vec<u8>> {
    let hello = greeting("NULL", peer_is_server);
    let peer_type: &[u8] = if peer_is_server { b"PUB" } else { b"SUB" };
    let good_ready = ready("Socket-Type", peer_type);
    vec![
        // Well-formed, then a subscription and messages.
        cat(&[&hello, &good_ready, &command("SUBSCRIBE", b""), &frame(0, b"hello"), &frame(1, b"more")]),
        // A frame that claims 2^64 - 1 bytes.
        cat(&[&hello, &good_ready, &[0x02], &[0xff; 8], &noise(4, 100)]),
        // A property whose value runs past the command.
        cat(&[&hello, &command("READY", b"\x0bSocket-Type\x00\x00\x03\xe8PUB")]),
        // Reserved flag bits.
        cat(&[&hello, &good_ready, &[0xf0, 0x03], b"abc"]),
        // Another mechanism than ours.
        cat(&[&greeting("CURVE", peer_is_server), &noise(5, 200)]),
        // ZMTP 2.0 (version byte 1).
        cat(&[&hello[..10], &[1, 0], &noise(6, 80)]),
        // Less than a greeting.
        noise(7, 40),
        // An incompatible socket type.
        cat(&[&hello, &ready("Socket-Type", b"PUSH"), &frame(0, b"x")]),
        // No Socket-Type, then an ERROR whose reason is cut off.
        cat(&[&hello, &command("READY", b""), &command("ERROR", b"\x40short")]),
        // Noise after a valid start.
        cat(&[&hello, &good_ready, &noise(8, 3000)]),
    ]
}

/// Bytes for a STREAM socket: anything at all is data.
fn raw_streams() -> Vec<Vec<u8>> {
    vec![
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
        greeting("NULL", false),
        vec![0],
        noise(9, 100),
        noise(10, 70_000),
    ]
}

/// What a raw client of a CURVE server sends: the harness sends the greeting (64 bytes), then
/// HELLO (202), then INITIATE (301), then the rest.
fn curve_client_streams() -> Vec<Vec<u8>> {
    let hello = greeting("CURVE", false);
    let mut hello_body = b"\x05HELLO\x01\x00".to_vec();
    hello_body.extend_from_slice(&noise(11, 192));
    let shaped_hello = command_body(&hello_body);
    let mut initiate_body = b"\x08INITIATE".to_vec();
    initiate_body.extend_from_slice(&noise(12, 292 - 9));
    let shaped_initiate = command_body(&initiate_body);
    vec![
        // HELLO- and INITIATE-shaped commands that do not open.
        cat(&[&hello, &shaped_hello, &shaped_initiate, &frame(0, b"data")]),
        // A HELLO too short, then noise.
        cat(&[&hello, &command("HELLO", b""), &noise(13, 300)]),
        // Version 2.
        cat(&[&hello, &{
            let mut h = shaped_hello.clone();
            h[2 + 6] = 2;
            h
        }]),
        // Both sides servers; then another mechanism.
        cat(&[&greeting("CURVE", true), &noise(14, 600)]),
        cat(&[&greeting("PLAIN", false), &command("HELLO", b"\x01u\x01p")]),
        // Noise where HELLO belongs.
        cat(&[&hello, &noise(15, 600)]),
    ]
}

/// What a raw server sends to a CURVE client: greeting (64), WELCOME (170), READY (72), rest.
fn curve_server_streams() -> Vec<Vec<u8>> {
    let hello = greeting("CURVE", true);
    let mut welcome = b"\x07WELCOME".to_vec();
    welcome.extend_from_slice(&noise(16, 160));
    let mut ready_body = b"\x05READY".to_vec();
    ready_body.extend_from_slice(&noise(17, 64));
    vec![
        cat(&[&hello, &command_body(&welcome), &command_body(&ready_body), &frame(0, b"data")]),
        cat(&[&hello, &command("ERROR", b"\x04boom")]),
        cat(&[&hello, &command("ERROR", b"\x40cut")]),
        cat(&[&hello, &command("WELCOME", &noise(18, 10))]),
        cat(&[&greeting("NULL", true), &ready("Socket-Type", b"ROUTER")]),
        cat(&[&hello, &noise(19, 400)]),
    ]
}

/// A command frame around a body that already holds its name.
fn command_body(body: &[u8]) -> Vec<u8> {
    frame(0x04, body)
}

/// `head` padded with a header line to exactly `len` bytes (the ws harnesses send the first
/// 192 or 166 bytes as the HTTP part).
fn http_head(head: &str, len: usize) -> Vec<u8> {
    match len.checked_sub(head.len() + "X-Pad: \r\n\r\n".len()) {
        Some(pad) => format!("{head}X-Pad: {}\r\n\r\n", "p".repeat(pad)).into_bytes(),
        // (libzmq's own 101 response is exactly 166 bytes)
        None => format!("{head}\r\n").into_bytes(),
    }
}

/// A WebSocket frame: FIN, `opcode`, masked with the all-zero key (the bytes stay as they are)
/// when `masked`.
fn ws_frame(opcode: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
    let mask = if masked { 0x80 } else { 0 };
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n @ 0..=125 => out.push(mask | n as u8),
        n @ 126..=0xFFFF => {
            out.push(mask | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&[0; 4]);
    }
    out.extend_from_slice(payload);
    out
}

/// What a raw client of a bound ws DEALER sends: the upgrade (192 bytes), then frames.
fn ws_client_streams() -> Vec<Vec<u8>> {
    let request = |protocol: &str| {
        http_head(
            &format!(
                "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: {protocol}\r\n"
            ),
            192,
        )
    };
    let good = request("ZWS2.0/NULL");
    let ready = [&b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER"[..]].concat();
    vec![
        // Well-formed: READY, a message, a ping, a close.
        cat(&[
            &good,
            &ws_frame(2, true, &ready),
            &ws_frame(2, true, b"\x00abc"),
            &ws_frame(9, true, b"p"),
            &ws_frame(8, true, &[3, 0xE8]),
        ]),
        // Frames a client must not send, or ZWS does not use.
        cat(&[&good, &ws_frame(2, false, &ready)]),
        cat(&[&good, &ws_frame(2, true, &ready), &ws_frame(1, true, b"text")]),
        cat(&[&good, &ws_frame(2, true, &ready), &ws_frame(2, true, b"")]),
        cat(&[&good, &ws_frame(2, true, &ready), &[0x02, 0x81, 0, 0, 0, 0, 0]]),
        // A frame claiming 2^64 - 1 bytes, and one over MAXMSGSIZE's 64 MiB.
        cat(&[&good, &ws_frame(2, true, &ready), &[0x82, 0xFF], &[0xFF; 8], &noise(11, 100)]),
        cat(&[
            &good,
            &ws_frame(2, true, &ready),
            &[0x82, 0xFF],
            &(65u64 << 20).to_be_bytes(),
            &noise(12, 100),
        ]),
        // Another mechanism, another protocol, no upgrade at all.
        cat(&[&request("ZWS2.0/PLAIN"), &noise(13, 64)]),
        cat(&[&request("chat"), &noise(14, 64)]),
        http_head("POST / HTTP/1.1\r\n", 192),
        noise(15, 100),
        noise(16, 70_000),
    ]
}

/// What a raw server sends a connecting ws PULL: the response (166 bytes), READY (29 bytes),
/// then frames. No response can carry the accept value of the client's random key, which
/// libsock checks (libzmq does not): each is refused, and must be refused cleanly.
fn ws_server_streams() -> Vec<Vec<u8>> {
    let response = http_head(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: ZWS2.0/NULL\r\n",
        166,
    );
    let ready = ws_frame(2, false, b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH");
    vec![
        cat(&[&response, &ready, &ws_frame(2, false, b"\x00hello")]),
        cat(&[&response, &noise(17, 29), &noise(18, 1000)]),
        http_head("HTTP/1.1 400 Bad Request\r\n", 166),
        noise(19, 100),
        noise(20, 70_000),
    ]
}
