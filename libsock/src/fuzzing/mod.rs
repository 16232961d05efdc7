//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not a stable API.

use std::time::{Duration, Instant};

use bytes::BytesMut;

pub use crate::codec::fuzzing::decode_all;
pub use socks::socks_reply;
pub use stream::{curve_stream, plain_stream};
pub use ws::ws_stream;

mod mutate;
mod socks;
mod stream;
#[cfg(test)]
mod stream_tests;
mod ws;
use crate::session::{CookieJar, HeartbeatConfig, Security, Session, SessionConfig, SessionEvent, ZapReply};
use crate::SocketType;

/// Feeds `data` to a PULL session, in chunks whose sizes come from the data itself, the way
/// reads would deliver it; the first byte chooses whether a valid greeting and READY come
/// first (to reach the message phase). Must never panic, and must never buffer more than
/// was fed.
pub fn session_decode(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else { return };
    let cfg = SessionConfig {
        socket_type: SocketType::PULL,
        routing_id: bytes::Bytes::new(),
        max_msg_size: (mode & 2 != 0).then_some(4096),
        handshake_ivl: Some(Duration::from_secs(1)),
        heartbeat: HeartbeatConfig { interval: Some(Duration::from_millis(10)), ..Default::default() },
        security: Default::default(),
        app_metadata: bytes::Bytes::new(),
    };
    let now = Instant::now();
    let mut session = Session::new(cfg.clone(), now);
    // The same input through the engine's flood path (short frames in runs, then
    // `decode_bare`) must give the same frames and fail at the same point.
    let mut flood = Session::new(cfg, now);
    let (mut input, mut flood_input) = (BytesMut::new(), BytesMut::new());
    if mode & 1 != 0 {
        let mut hello = Vec::new();
        crate::codec::greeting::Greeting::ours().encode(&mut hello);
        crate::codec::null::encode_ready(&mut hello, SocketType::PUSH, b"");
        input.extend_from_slice(&hello);
        flood_input.extend_from_slice(&hello);
    }
    let (mut frames, mut flood_frames) = (Vec::new(), Vec::new());
    let chunk = usize::from(mode >> 2).max(1);
    for piece in data.chunks(chunk) {
        input.extend_from_slice(piece);
        flood_input.extend_from_slice(piece);
        let failed = loop {
            let before = input.len();
            match session.decode(&mut input, now) {
                Ok(Some(m)) => frames.push((m.to_vec(), m.get_more())),
                Ok(None) if input.len() == before && session.poll_event().is_none() => break false,
                Ok(None) => {}
                Err(_) => break true,
            }
        };
        let flood_failed = decode_flood(&mut flood, &mut flood_input, now, &mut flood_frames);
        assert_eq!(frames, flood_frames, "the flood path decoded differently");
        assert_eq!(failed, flood_failed, "the flood path failed differently");
        if failed {
            return;
        }
        assert!(input.len() <= data.len() + 200, "buffered more than was fed");
    }
    let _ = session.handle_timeout(now + Duration::from_secs(2));
}

/// Decodes as `Connection::decode_buffered` does; true if the session failed.
fn decode_flood(
    session: &mut Session,
    input: &mut BytesMut,
    now: Instant,
    out: &mut Vec<(Vec<u8>, bool)>,
) -> bool {
    struct Collect<'a>(&'a mut Vec<(Vec<u8>, bool)>);
    impl crate::session::FrameSink for Collect<'_> {
        fn has_room(&mut self) -> bool {
            true
        }
        fn deliver(&mut self, frame: crate::Message) {
            self.0.push((frame.to_vec(), frame.get_more()));
        }
    }
    loop {
        let used = session.decode_short_frames(input, &mut Collect(out));
        if used > 0 {
            bytes::Buf::advance(input, used);
            continue;
        }
        let before = input.len();
        match session.decode_bare(input, now) {
            Ok(Some(m)) => out.push((m.to_vec(), m.get_more())),
            Ok(None) if input.len() == before && session.poll_event().is_none() => return false,
            Ok(None) => {}
            Err(_) => return true,
        }
    }
}

/// A session config for the security fuzz targets.
fn secure_cfg(socket_type: SocketType, security: Security) -> SessionConfig {
    SessionConfig {
        socket_type,
        routing_id: bytes::Bytes::new(),
        max_msg_size: Some(1 << 16),
        handshake_ivl: Some(Duration::from_secs(1)),
        heartbeat: HeartbeatConfig::default(),
        security,
        app_metadata: bytes::Bytes::new(),
    }
}

/// Feeds `data` in `chunk`-sized pieces, answering ZAP with "200"; stops at the first error.
/// Must never panic and never buffer more than was fed.
fn feed(session: &mut Session, mut input: BytesMut, data: &[u8], chunk: usize, now: Instant) {
    let fed = input.len();
    for piece in data.chunks(chunk.max(1)) {
        input.extend_from_slice(piece);
        loop {
            let before = input.len();
            let result = session.decode(&mut input, now);
            let mut evented = false;
            while let Some(ev) = session.poll_event() {
                evented = true;
                if let SessionEvent::Zap(_) = ev {
                    if session.zap_reply(ZapReply::allow(), now).is_err() {
                        return;
                    }
                }
            }
            match result {
                Ok(Some(_)) => {}
                Ok(None) if input.len() == before && !evented => break,
                Ok(None) => {}
                Err(_) => return,
            }
        }
        assert!(input.len() <= fed + data.len(), "buffered more than was fed");
    }
    let _ = session.handle_timeout(now + Duration::from_secs(2));
}

/// The whole 64-byte greeting of a peer with `security` (a session queues it in steps, as the
/// other side's arrives).
fn greeting_of(security: &Security) -> Vec<u8> {
    let mut out = Vec::new();
    crate::codec::Greeting {
        mechanism: security.mechanism(),
        as_server: security.as_server(),
        ..crate::codec::Greeting::ours()
    }
    .encode(&mut out);
    out
}

/// Everything a session has queued, as one byte string.
fn drain(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    while !session.out().is_empty() {
        if session.out().write_to(&mut out).is_err() {
            break;
        }
    }
    out
}

const FUZZ_SERVER_SECRET: [u8; 32] = [0x42; 32];

/// PLAIN handshakes over arbitrary bytes: the first byte picks client or server and the chunk
/// size; the rest follows a valid PLAIN greeting from the peer.
pub fn plain_handshake(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else { return };
    let security = if mode & 1 == 0 {
        Security::PlainServer
    } else {
        Security::PlainClient { username: b"user".to_vec(), password: b"pass".to_vec() }
    };
    let now = Instant::now();
    let peer = if mode & 1 == 0 {
        Security::PlainClient { username: vec![], password: vec![] }
    } else {
        Security::PlainServer
    };
    let input = BytesMut::from(&greeting_of(&peer)[..]);
    let mut session = Session::new(secure_cfg(SocketType::PULL, security), now);
    feed(&mut session, input, data, usize::from(mode >> 1), now);
}

/// CURVE handshakes (and MESSAGE decoding) over arbitrary bytes. The first byte picks the
/// role and chunk size: a server fed a peer greeting, a server fed a valid greeting and HELLO
/// (so the bytes reach INITIATE), or a client fed a server greeting (the bytes reach WELCOME).
pub fn curve_handshake(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else { return };
    let now = Instant::now();
    let server_secret = crypto_box::SecretKey::from_bytes(FUZZ_SERVER_SECRET);
    let server_public = *server_secret.public_key().as_bytes();
    let server =
        Security::CurveServer { secret: FUZZ_SERVER_SECRET, cookies: std::sync::Arc::new(CookieJar::new()) };
    let client = Security::CurveClient { secret: [7; 32], public: None, server: server_public };
    let chunk = usize::from(mode >> 2);
    let mut input = BytesMut::new();
    let mut session = match mode & 3 {
        0 => {
            input.extend_from_slice(&greeting_of(&client));
            Session::new(secure_cfg(SocketType::PULL, server), now)
        }
        1 => {
            // Greeting + HELLO: the client queues the rest of its greeting, then HELLO, once
            // it has seen the server's whole greeting.
            let mut peer = Session::new(secure_cfg(SocketType::PUSH, client), now);
            let mut theirs = BytesMut::from(&greeting_of(&server)[..]);
            let _ = peer.decode(&mut theirs, now);
            input.extend_from_slice(&drain(&mut peer));
            Session::new(secure_cfg(SocketType::PULL, server), now)
        }
        _ => {
            input.extend_from_slice(&greeting_of(&server));
            Session::new(secure_cfg(SocketType::PUSH, client), now)
        }
    };
    feed(&mut session, input, data, chunk, now);
}

/// Pumps `input` through `session` until it stops making progress, answering ZAP with "200".
#[cfg(test)]
fn pump(session: &mut Session, input: &mut BytesMut, now: Instant) {
    loop {
        let before = input.len();
        let result = session.decode(input, now);
        let mut evented = false;
        while let Some(ev) = session.poll_event() {
            evented = true;
            if let SessionEvent::Zap(_) = ev {
                session.zap_reply(ZapReply::allow(), now).expect("ZAP reply");
            }
        }
        match result {
            Ok(Some(_)) => {}
            Ok(None) if input.len() == before && !evented => break,
            Ok(None) => {}
            Err(e) => panic!("seed conversation failed: {e}"),
        }
    }
}

/// A real conversation between two sessions: the handshake, then a few messages (one
/// multipart, one with a long frame header) from `a` to `b`. Returns everything each side
/// sent, greeting included, for seed corpora.
#[cfg(test)]
fn converse(a: SessionConfig, b: SessionConfig) -> (Vec<u8>, Vec<u8>) {
    use crate::Message;
    let now = Instant::now();
    let (mut a, mut b) = (Session::new(a, now), Session::new(b, now));
    let (mut a_sent, mut b_sent) = (Vec::new(), Vec::new());
    let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
    let mut sent = false;
    for _ in 0..50 {
        if !sent && a.is_active() && b.is_active() {
            let mut first = Message::from_slice(b"part one");
            first.set_more(true);
            for msg in [first, Message::from_slice(b"part two"), Message::from_slice(&[0x5a; 300])] {
                a.send(&msg);
            }
            sent = true;
        }
        let out = drain(&mut a);
        a_sent.extend_from_slice(&out);
        b_in.extend_from_slice(&out);
        let out = drain(&mut b);
        b_sent.extend_from_slice(&out);
        a_in.extend_from_slice(&out);
        pump(&mut a, &mut a_in, now);
        pump(&mut b, &mut b_in, now);
    }
    assert!(sent, "the handshake did not complete");
    (a_sent, b_sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random and mutated inputs through the security targets, so CI runs them too.
    #[test]
    fn security_targets_never_panic() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..600 {
            let len = (next() % 700) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if i % 3 == 0 && len > 10 {
                // Plausible command frames: a command flag and a HELLO/INITIATE-like name.
                data[1] = 0x04;
                data[2] = (len - 3).min(255) as u8;
                data[3] = 5;
                data[4..9.min(len)].copy_from_slice(&b"HELLO"[..(9.min(len) - 4)]);
            }
            plain_handshake(&data);
            curve_handshake(&data);
        }
    }

    /// The committed seed corpora (`fuzz/seeds/`) through their targets, so CI replays them.
    #[test]
    fn seeds_never_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 8] = [
            ("decode", decode_all),
            ("session", session_decode),
            ("plain", plain_handshake),
            ("curve", curve_handshake),
            ("plain_stream", plain_stream),
            ("curve_stream", curve_stream),
            ("socks", socks_reply),
            ("ws", ws_stream),
        ];
        for (name, target) in targets {
            let Ok(dir) = std::fs::read_dir(root.join(name)) else { continue };
            for entry in dir {
                target(&std::fs::read(entry.unwrap().path()).unwrap());
            }
        }
    }

    /// Writes seed corpora from real conversations into `$FUZZ_SEEDS/<target>/` (run by hand:
    /// `FUZZ_SEEDS=$PWD/fuzz/seeds cargo test -p libsock --lib write_fuzz_seeds -- --ignored`).
    #[test]
    #[ignore]
    fn write_fuzz_seeds() {
        use crate::codec::{command, frame};
        let Some(dir) = std::env::var_os("FUZZ_SEEDS") else { return };
        let dir = std::path::PathBuf::from(dir);
        let write = |target: &str, name: &str, bytes: &[u8]| {
            std::fs::create_dir_all(dir.join(target)).unwrap();
            std::fs::write(dir.join(target).join(name), bytes).unwrap();
        };
        let seeded = |mode: u8, rest: &[u8]| [&[mode][..], rest].concat();
        const GREETING: usize = 64;

        // NULL: a PUSH talking to a PULL.
        let null = |t| secure_cfg(t, Security::Null);
        let (push, _) = converse(null(SocketType::PUSH), null(SocketType::PULL));
        write("decode", "null-push", &push);
        write("session", "null-whole", &seeded(0, &push));
        write("session", "null-whole-chunked", &seeded(7 << 2, &push));
        // Mode 1: the target supplies greeting and READY; the seed is the messages.
        let mut ready = Vec::new();
        crate::codec::null::encode_ready(&mut ready, SocketType::PUSH, b"");
        write("session", "null-messages", &seeded(1, &push[GREETING + ready.len()..]));
        let mut cmds = Vec::new();
        command::encode_ping(&mut cmds, 10, b"ctx");
        command::encode_pong(&mut cmds, b"ctx");
        command::encode_subscribe(&mut cmds, b"topic");
        command::encode_cancel(&mut cmds, b"topic");
        command::encode_error(&mut cmds, "because");
        frame::encode_frame(&mut cmds, false, false, b"data");
        write("decode", "commands", &cmds);
        write("session", "commands", &seeded(1 | 2, &cmds));

        // PLAIN: client to server (the server target) and the server's replies (client target).
        let plain_client = Security::PlainClient { username: b"user".to_vec(), password: b"pass".to_vec() };
        let (client, server) = converse(
            secure_cfg(SocketType::PUSH, plain_client),
            secure_cfg(SocketType::PULL, Security::PlainServer),
        );
        write("decode", "plain-client", &client);
        write("decode", "plain-server", &server);
        write("plain", "server-side", &seeded(0, &client[GREETING..]));
        write("plain", "server-side-chunked", &seeded(5 << 1, &client[GREETING..]));
        write("plain", "client-side", &seeded(1, &server[GREETING..]));

        // CURVE with the target's keys: HELLO verifies against the fuzz server; the rest
        // was sealed with another run's ephemeral keys, which still gives the right shapes.
        let server_sec = Security::CurveServer {
            secret: FUZZ_SERVER_SECRET,
            cookies: std::sync::Arc::new(CookieJar::new()),
        };
        let server_public = *crypto_box::SecretKey::from_bytes(FUZZ_SERVER_SECRET).public_key().as_bytes();
        let client_sec = Security::CurveClient { secret: [7; 32], public: None, server: server_public };
        let (client, server) =
            converse(secure_cfg(SocketType::PUSH, client_sec), secure_cfg(SocketType::PULL, server_sec));
        write("decode", "curve-client", &client);
        write("decode", "curve-server", &server);
        let hello = frame::decode_header(&client[GREETING..], None).unwrap().unwrap();
        let after_hello = GREETING + hello.header_len + hello.size as usize;
        write("curve", "server-side", &seeded(0, &client[GREETING..]));
        write("curve", "server-after-hello", &seeded(1, &client[after_hello..]));
        write("curve", "client-side", &seeded(2, &server[GREETING..]));
    }
}
