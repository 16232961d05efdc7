//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not a stable API.

use std::time::{Duration, Instant};

use bytes::BytesMut;

pub use crate::codec::fuzzing::decode_all;
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
    let mut session = Session::new(cfg, now);
    let mut input = BytesMut::new();
    if mode & 1 != 0 {
        let mut hello = Vec::new();
        crate::codec::greeting::Greeting::ours().encode(&mut hello);
        crate::codec::null::encode_ready(&mut hello, SocketType::PUSH, b"");
        input.extend_from_slice(&hello);
    }
    let chunk = usize::from(mode >> 2).max(1);
    for piece in data.chunks(chunk) {
        input.extend_from_slice(piece);
        loop {
            let before = input.len();
            match session.decode(&mut input, now) {
                Ok(Some(_)) => {}
                Ok(None) if input.len() == before && session.poll_event().is_none() => break,
                Ok(None) => {}
                Err(_) => return,
            }
        }
        assert!(input.len() <= data.len() + 200, "buffered more than was fed");
    }
    let _ = session.handle_timeout(now + Duration::from_secs(2));
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

/// Everything a client session sends, as one byte string (greeting and first command).
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
    let mut greeting = Session::new(secure_cfg(SocketType::PUSH, peer), now);
    let mut input = BytesMut::new();
    input.extend_from_slice(&drain(&mut greeting));
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
    let client = Security::CurveClient { secret: [7; 32], server: server_public };
    let chunk = usize::from(mode >> 2);
    let mut input = BytesMut::new();
    let mut session = match mode & 3 {
        0 | 1 => {
            let mut peer = Session::new(secure_cfg(SocketType::PUSH, client), now);
            if mode & 3 == 1 {
                // Greeting + HELLO: the client queues HELLO once it has seen a greeting.
                let mut other = Session::new(secure_cfg(SocketType::PULL, server.clone()), now);
                let mut theirs = BytesMut::from(&drain(&mut other)[..]);
                let _ = peer.decode(&mut theirs, now);
            }
            input.extend_from_slice(&drain(&mut peer));
            Session::new(secure_cfg(SocketType::PULL, server), now)
        }
        _ => {
            let mut peer = Session::new(secure_cfg(SocketType::PULL, server), now);
            input.extend_from_slice(&drain(&mut peer));
            Session::new(secure_cfg(SocketType::PUSH, client), now)
        }
    };
    feed(&mut session, input, data, chunk, now);
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
}
