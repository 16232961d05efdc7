//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not a stable API.

use std::time::{Duration, Instant};

use bytes::BytesMut;

pub use crate::codec::fuzzing::decode_all;
use crate::session::{HeartbeatConfig, Session, SessionConfig};
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
