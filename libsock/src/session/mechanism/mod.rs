//! Security mechanisms as sans-I/O state machines: NULL, PLAIN (RFC 24) and CURVE (RFC 26).
//!
//! A mechanism runs between the greeting and the moment messages flow. The session feeds it
//! each handshake command and it answers with a `Step`: wait for the next command, ask the
//! application's ZAP handler (RFC 27) about the peer, or finish with the peer's metadata (and,
//! for CURVE, the cipher every later frame goes through). Servers always ask ZAP; when no
//! handler is bound the engine answers at once, as libzmq: "200" for CURVE, the peer dropped
//! for PLAIN (and for any mechanism under ZAP_ENFORCE_DOMAIN). NULL
//! asks ZAP only when the socket has a ZAP_DOMAIN ([`Security::NullZap`], libzmq 4.3's rule),
//! and then sends its READY only once the handler admitted the peer.

mod curve;
mod plain;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

pub use curve::CookieJar;

use super::SessionError;
use crate::codec::command;
use crate::codec::curve::CurveCipher;
use crate::codec::greeting::Mechanism;
use crate::codec::null;
use crate::socket_type::SocketType;

/// Which mechanism a connection runs, and its credentials.
#[derive(Clone, Default)]
pub enum Security {
    /// No security (the default).
    #[default]
    Null,
    /// NULL, but the ZAP handler decides about each peer first (ZAP_DOMAIN is set). Either
    /// side of a NULL connection may ask, as in libzmq.
    NullZap,
    /// PLAIN client with these credentials.
    PlainClient {
        /// User name (at most 255 bytes).
        username: Vec<u8>,
        /// Password (at most 255 bytes).
        password: Vec<u8>,
    },
    /// PLAIN server: credentials go to ZAP.
    PlainServer,
    /// CURVE client.
    CurveClient {
        /// Our long-term secret key.
        secret: [u8; 32],
        /// Our long-term public key as CURVE_PUBLICKEY set it: what INITIATE announces, as
        /// libzmq's client does, so a key that is not the secret's fails the handshake.
        /// `None` (never set): the secret key's own.
        public: Option<[u8; 32]>,
        /// The server's long-term public key.
        server: [u8; 32],
    },
    /// CURVE server.
    CurveServer {
        /// Our long-term secret key.
        secret: [u8; 32],
        /// The rotating cookie keys shared by this socket's connections.
        cookies: Arc<CookieJar>,
    },
}

impl fmt::Debug for Security {
    /// Names the mechanism and role only: keys and passwords never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mech, server) = (self.mechanism().name(), self.as_server());
        write!(f, "Security({mech}{})", if server { ", server" } else { "" })
    }
}

impl Security {
    /// The mechanism named in our greeting.
    pub fn mechanism(&self) -> Mechanism {
        match self {
            Security::Null | Security::NullZap => Mechanism::Null,
            Security::PlainClient { .. } | Security::PlainServer => Mechanism::Plain,
            Security::CurveClient { .. } | Security::CurveServer { .. } => Mechanism::Curve,
        }
    }

    /// The as-server flag of our greeting.
    pub fn as_server(&self) -> bool {
        matches!(self, Security::PlainServer | Security::CurveServer { .. })
    }
}

/// What a server asks the ZAP handler (RFC 27) about a peer; the engine adds the domain,
/// address and routing id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// `"NULL"`, `"PLAIN"` or `"CURVE"`.
    pub mechanism: &'static str,
    /// NULL: none; PLAIN: user name and password; CURVE: the client's 32-byte long-term
    /// public key.
    pub credentials: Vec<Vec<u8>>,
}

/// The handler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapReply {
    /// `"200"` admits the peer; `"300"` (temporary: no ERROR, the peer retries), `"400"`,
    /// `"500"` refuse it.
    pub status: String,
    /// The user id attached to the peer's messages (`User-Id`): the handler's, even empty
    /// (as libzmq); `None` when no handler answered.
    pub user_id: Option<Vec<u8>>,
    /// Encoded ZMTP metadata attached to the peer's messages.
    pub metadata: Vec<u8>,
}

impl ZapReply {
    /// An approval with no user id: what happens when no handler is bound.
    pub fn allow() -> ZapReply {
        ZapReply { status: "200".into(), user_id: None, metadata: Vec::new() }
    }
}

/// What the session does after a handshake command.
pub(crate) enum Step {
    /// Wait for the peer's next command.
    Wait,
    /// Ask ZAP, then call [`Mech::on_zap`].
    Zap(ZapRequest),
    /// Done: the peer's encoded metadata, and the cipher for what follows (CURVE).
    Ready { metadata: Vec<u8>, cipher: Option<CurveCipher> },
}

/// Our socket's facts a mechanism needs.
pub(crate) struct Local<'a> {
    pub socket_type: SocketType,
    pub routing_id: &'a [u8],
    /// ZMQ_METADATA properties, encoded (empty = none).
    pub app_metadata: &'a [u8],
    pub now: Instant,
}

impl Local<'_> {
    /// Our encoded metadata (Socket-Type, Identity, then ZMQ_METADATA's), as every
    /// mechanism announces it.
    pub fn metadata(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.app_metadata.len());
        null::encode_metadata(&mut out, self.socket_type, self.routing_id);
        out.extend_from_slice(self.app_metadata);
        out
    }
}

/// A running mechanism.
pub(crate) enum Mech {
    Null,
    /// NULL after ZAP: READY waits for the handler's "200".
    NullZap,
    Plain(plain::Plain),
    Curve(Box<curve::Curve>),
}

impl Mech {
    pub fn new(security: &Security) -> Mech {
        match security {
            Security::Null => Mech::Null,
            Security::NullZap => Mech::NullZap,
            Security::PlainClient { .. } | Security::PlainServer => Mech::Plain(plain::Plain::new(security)),
            Security::CurveClient { .. } | Security::CurveServer { .. } => {
                Mech::Curve(Box::new(curve::Curve::new(security)))
            }
        }
    }

    /// The greeting arrived: queue our first command, if we speak first (NULL with a ZAP
    /// domain asks ZAP before it says anything).
    pub fn start(&mut self, local: &Local<'_>, out: &mut Vec<u8>) -> Step {
        match self {
            Mech::Null => command::encode_ready_raw(out, &local.metadata()),
            Mech::NullZap => return Step::Zap(ZapRequest { mechanism: "NULL", credentials: Vec::new() }),
            Mech::Plain(p) => p.start(out),
            Mech::Curve(c) => c.start(out),
        }
        Step::Wait
    }

    /// A handshake command (whole body, name included) other than ERROR.
    pub fn on_command(
        &mut self,
        local: &Local<'_>,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Step, SessionError> {
        match self {
            Mech::Null | Mech::NullZap => match command::parse_command(body) {
                Ok(command::Command::Ready(_)) => {
                    Ok(Step::Ready { metadata: body[6..].to_vec(), cipher: None })
                }
                Ok(other) => Err(SessionError::UnexpectedCommand(super::command_name(&other))),
                // As libzmq's null_mechanism_t: a bad READY or ERROR is reported as such; any
                // other command, well formed or not, is unexpected here.
                Err(e) if body.starts_with(b"\x05READY") || body.starts_with(b"\x05ERROR") => Err(e.into()),
                Err(_) => {
                    let name = body.get(1..).unwrap_or_default();
                    let name = &name[..name.len().min(usize::from(body.first().copied().unwrap_or(0)))];
                    Err(SessionError::UnexpectedCommand(String::from_utf8_lossy(name).into_owned()))
                }
            },
            Mech::Plain(p) => p.on_command(local, body, out),
            Mech::Curve(c) => c.on_command(local, body, out),
        }
    }

    /// The ZAP handler answered. A refusal queues ERROR and fails the handshake.
    pub fn on_zap(
        &mut self,
        local: &Local<'_>,
        reply: &ZapReply,
        out: &mut Vec<u8>,
    ) -> Result<Step, SessionError> {
        if reply.status != "200" {
            // 300 is a temporary failure: libzmq 4.3.5 (all mechanisms, as the CurveZMQ RFC
            // says) drops the peer without an ERROR, so it reconnects and asks again; after an
            // ERROR (400, 500) a libzmq peer gives up.
            match self {
                _ if reply.status == "300" => {}
                Mech::Plain(_) => crate::codec::plain::encode_error_as_libzmq(out, &reply.status),
                _ => command::encode_error(out, &reply.status),
            }
            return Err(SessionError::AuthFailed(reply.status.clone()));
        }
        match self {
            Mech::Null => Ok(Step::Wait),
            Mech::NullZap => {
                command::encode_ready_raw(out, &local.metadata());
                Ok(Step::Wait)
            }
            Mech::Plain(p) => p.on_zap(local, out),
            Mech::Curve(c) => c.on_zap(local, out),
        }
    }
}

#[cfg(test)]
mod tests;
