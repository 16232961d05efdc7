//! The ZAP client (RFC 27): a PLAIN or CURVE server asks the application's handler, a REP
//! or ROUTER bound at `inproc://zeromq.zap.01` in the same context, whether to admit a peer.
//!
//! The I/O thread must never block, so each request runs on a short-lived helper thread with
//! its own REQ socket; the answer comes back as an [`IoCmd::ZapReply`] for the connection.
//! Handshakes are rare next to messages, and this keeps the I/O loop free of inproc sockets.
//! The engine reaches the handler only through [`ZapHandler`], which the socket layer
//! implements for a context (`socket/zap_client.rs`): sockets sit above the engine, which
//! never imports them.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use mio::Token;

use super::{IoCmd, IoShared};
use crate::session::{ZapReply, ZapRequest};

/// Where ZAP handlers bind.
pub(crate) const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The application's ZAP handler, as a connection's helper thread asks it.
pub(crate) trait ZapHandler: Send + Sync {
    /// Whether a handler is bound at [`ZAP_ENDPOINT`] now.
    fn is_bound(&self) -> bool;
    /// One request/reply with the handler, the reply's frames unchecked. Blocks (with a
    /// timeout): called on the helper thread only.
    fn exchange(self: Arc<Self>, request: &[Vec<u8>]) -> crate::Result<Vec<Vec<u8>>>;
}

/// What a connection needs to ask ZAP.
#[derive(Clone)]
pub(crate) struct ZapConfig {
    /// The socket's context (weak: a connection must not keep its context alive).
    pub handler: Weak<dyn ZapHandler>,
    pub domain: Vec<u8>,
    pub enforce_domain: bool,
    /// Our socket's routing id (libzmq sends it as the request's "identity").
    pub routing_id: Vec<u8>,
}

impl fmt::Debug for ZapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZapConfig(domain {:?})", String::from_utf8_lossy(&self.domain))
    }
}

/// Tells apart requests, so a late reply for a connection that is gone is ignored.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// What [`ZapConfig::ask`] decided right away.
pub(crate) enum Asked {
    /// No handler: this is the answer.
    Now(ZapReply),
    /// No handler, and a PLAIN peer or ZAP_ENFORCE_DOMAIN: drop the peer without an answer.
    /// libzmq 4.3.5 sends nothing and reports HANDSHAKE_FAILED_NO_DETAIL (EFAULT).
    NoHandler,
    /// A helper asks; an `IoCmd::ZapReply` with this id will follow.
    Later(u64),
}

impl ZapConfig {
    /// Starts a ZAP request for a peer at `address` (an ip, without port, for tcp).
    pub fn ask(&self, request: ZapRequest, address: &str, io: &Arc<IoShared>, token: Token) -> Asked {
        let Some(handler) = self.handler.upgrade().filter(|h| h.is_bound()) else {
            // libzmq admits NULL and CURVE peers when no handler is bound (CURVE then still
            // encrypts: the "Stonehouse" case), unless ZAP_ENFORCE_DOMAIN; a PLAIN server
            // has nobody to check a password and always drops the peer (plain_server.cpp).
            if self.enforce_domain || request.mechanism == "PLAIN" {
                return Asked::NoHandler;
            }
            return Asked::Now(ZapReply::allow());
        };
        let id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        let mut frames: Vec<Vec<u8>> = vec![
            b"1.0".to_vec(),
            id.to_string().into_bytes(),
            self.domain.clone(),
            address.as_bytes().to_vec(),
            self.routing_id.clone(),
            request.mechanism.as_bytes().to_vec(),
        ];
        frames.extend(request.credentials);
        let io = io.clone();
        let spawned = std::thread::Builder::new().name("libsock-zap".into()).spawn(move || {
            crate::sys::block_signals();
            let reply = match handler.exchange(&frames) {
                Ok(reply) => parse_reply(&reply, &frames[1]),
                Err(e) => {
                    tracing::warn!("ZAP request failed: {e}");
                    Ok(ZapReply { status: "500".into(), ..ZapReply::allow() })
                }
            };
            io.send(IoCmd::ZapReply { token, id, reply });
        });
        match spawned {
            Ok(_) => Asked::Later(id),
            Err(e) => {
                tracing::warn!("cannot start a ZAP helper thread: {e}");
                Asked::Now(ZapReply { status: "500".into(), ..ZapReply::allow() })
            }
        }
    }
}

/// Reply frames: version, request id, status code, status text, user id, metadata. A bad
/// reply is libzmq's `ZMQ_PROTOCOL_ERROR_ZAP_*` code, checked in libzmq's order: the peer is
/// then dropped without an ERROR and the monitor gets HANDSHAKE_FAILED_PROTOCOL with it.
pub(crate) fn parse_reply(frames: &[Vec<u8>], request_id: &[u8]) -> Result<ZapReply, u32> {
    use crate::mailbox::events::{
        PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID as BAD_ID, PROTOCOL_ERROR_ZAP_BAD_VERSION as BAD_VERSION,
        PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE as BAD_STATUS,
        PROTOCOL_ERROR_ZAP_MALFORMED_REPLY as MALFORMED,
    };
    let bad = |code: u32, why: &str| {
        tracing::warn!("malformed ZAP reply: {why}");
        Err(code)
    };
    if frames.len() != 6 {
        return bad(MALFORMED, &format!("{} frames, expected 6", frames.len()));
    }
    if frames[0] != b"1.0" {
        return bad(BAD_VERSION, "version is not 1.0");
    }
    if frames[1] != request_id {
        return bad(BAD_ID, "request id does not match");
    }
    let status = String::from_utf8_lossy(&frames[2]).into_owned();
    if !matches!(status.as_str(), "200" | "300" | "400" | "500") {
        return bad(BAD_STATUS, &format!("status code {status:?}"));
    }
    if status != "200" {
        tracing::info!(status = %status, text = %String::from_utf8_lossy(&frames[3]), "ZAP refused a peer");
    }
    Ok(ZapReply { status, user_id: Some(frames[4].clone()), metadata: frames[5].clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&[u8]]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn replies_are_checked() {
        let ok = frames(&[b"1.0", b"7", b"200", b"OK", b"alice", b""]);
        let reply = parse_reply(&ok, b"7").unwrap();
        assert_eq!((reply.status.as_str(), reply.user_id.as_deref()), ("200", Some(&b"alice"[..])));
        assert_eq!(parse_reply(&ok, b"8").unwrap_err(), 0x2000_0002, "bad request id");
        assert_eq!(parse_reply(&ok[..5], b"7").unwrap_err(), 0x2000_0001, "malformed");
        let mut seven = ok.clone();
        seven.push(Vec::new());
        assert_eq!(parse_reply(&seven, b"7").unwrap_err(), 0x2000_0001, "malformed");
        let v2 = frames(&[b"2.0", b"7", b"200", b"", b"", b""]);
        assert_eq!(parse_reply(&v2, b"7").unwrap_err(), 0x2000_0003, "bad version");
        let s201 = frames(&[b"1.0", b"7", b"201", b"", b"", b""]);
        assert_eq!(parse_reply(&s201, b"7").unwrap_err(), 0x2000_0004, "bad status");
        assert_eq!(
            parse_reply(&frames(&[b"1.0", b"7", b"400", b"no", b"", b""]), b"7").unwrap().status,
            "400"
        );
    }
}
