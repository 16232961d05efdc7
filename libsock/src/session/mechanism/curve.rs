//! CURVE (RFC 26): HELLO, WELCOME (with the cookie), INITIATE (with the vouch), READY, then
//! every frame as a MESSAGE (see [`crate::codec::curve`] for the layouts).
//!
//! The server keeps no key material between WELCOME and INITIATE: its short-term secret
//! travels inside the cookie, sealed with a socket-wide cookie key that rotates every
//! [`COOKIE_KEY_LIFETIME`]. All a half-done handshake holds is the 16-byte cookie nonce, which
//! ties the INITIATE to the connection that received the WELCOME.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SecretKey};
use parking_lot::Mutex;

use super::{Local, Security, SessionError, Step, ZapRequest};
use crate::codec::curve::{self, BoxKey, CurveCipher, InitiateParams, Welcome};
use crate::codec::properties::parse_properties;

/// How long a cookie key seals new cookies; cookies sealed with the previous key still open,
/// so a handshake has at least this long between WELCOME and INITIATE.
pub const COOKIE_KEY_LIFETIME: Duration = Duration::from_secs(60);

/// The rotating cookie keys of one CURVE server socket.
pub struct CookieJar {
    keys: Mutex<Keys>,
}

struct Keys {
    current: [u8; 32],
    previous: [u8; 32],
    rotated: Option<Instant>,
}

fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    OsRng.fill_bytes(&mut k);
    k
}

impl CookieJar {
    /// Fresh random keys.
    pub fn new() -> CookieJar {
        CookieJar { keys: Mutex::new(Keys { current: random_key(), previous: random_key(), rotated: None }) }
    }

    /// The current and previous keys, rotating first if the current one is too old.
    fn keys(&self, now: Instant) -> [[u8; 32]; 2] {
        let mut k = self.keys.lock();
        match k.rotated {
            None => k.rotated = Some(now),
            Some(at) if now.saturating_duration_since(at) >= COOKIE_KEY_LIFETIME => {
                k.previous = k.current;
                k.current = random_key();
                k.rotated = Some(now);
            }
            Some(_) => {}
        }
        [k.current, k.previous]
    }
}

impl Default for CookieJar {
    fn default() -> Self {
        CookieJar::new()
    }
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieJar")
    }
}

enum State {
    /// Client: HELLO sent. Server: HELLO due.
    Hello,
    /// Client: INITIATE sent, READY due.
    ClientInitiate {
        session: BoxKey,
    },
    /// Server: WELCOME sent, INITIATE due.
    ServerInitiate {
        cookie_nonce: [u8; 16],
    },
    /// Server: INITIATE checked, ZAP asked.
    Zap {
        session: BoxKey,
        nonce: u64,
    },
    Done,
}

enum Role {
    Client { secret: SecretKey, public: PublicKey, server: PublicKey, cn_secret: SecretKey },
    Server { secret: SecretKey, public: PublicKey, cookies: Arc<CookieJar> },
}

pub(crate) struct Curve {
    role: Role,
    state: State,
    /// Server: the client's metadata, held while ZAP decides.
    pending_metadata: Option<Vec<u8>>,
}

/// Our first nonces, as libzmq: the client's HELLO is 1 and INITIATE 2, the server's READY 1.
const CLIENT_HELLO_NONCE: u64 = 1;
const CLIENT_INITIATE_NONCE: u64 = 2;
const SERVER_READY_NONCE: u64 = 1;

impl Curve {
    pub fn new(security: &Security) -> Curve {
        let role = match security {
            Security::CurveServer { secret, cookies } => {
                let secret = SecretKey::from_bytes(*secret);
                Role::Server { public: secret.public_key(), secret, cookies: cookies.clone() }
            }
            Security::CurveClient { secret, public, server } => {
                let secret = SecretKey::from_bytes(*secret);
                Role::Client {
                    public: public.map_or_else(|| secret.public_key(), PublicKey::from),
                    secret,
                    server: PublicKey::from(*server),
                    cn_secret: SecretKey::generate(&mut OsRng),
                }
            }
            _ => unreachable!("Mech::new picks Curve only for CURVE security"),
        };
        Curve { role, state: State::Hello, pending_metadata: None }
    }

    pub fn start(&mut self, out: &mut Vec<u8>) {
        if let Role::Client { server, cn_secret, .. } = &self.role {
            curve::encode_hello(out, server, cn_secret, CLIENT_HELLO_NONCE);
        }
    }

    pub fn on_command(
        &mut self,
        local: &Local<'_>,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Step, SessionError> {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (&self.role, state) {
            (Role::Client { secret, public, server, cn_secret }, State::Hello)
                if is(body, b"\x07WELCOME") =>
            {
                let welcome: Welcome = curve::open_welcome(body, server, cn_secret)?;
                let metadata = local.metadata();
                let params = InitiateParams {
                    secret,
                    public,
                    cn_secret,
                    server,
                    welcome: &welcome,
                    nonce: CLIENT_INITIATE_NONCE,
                    metadata: &metadata,
                };
                curve::encode_initiate(out, &params);
                self.state = State::ClientInitiate { session: welcome.session };
                Ok(Step::Wait)
            }
            (Role::Client { .. }, State::ClientInitiate { session }) if is(body, b"\x05READY") => {
                let (nonce, metadata) = curve::open_ready(body, &session)?;
                parse_properties(&metadata)?;
                let cipher = CurveCipher::new(session, false, CLIENT_INITIATE_NONCE + 1, nonce);
                Ok(Step::Ready { metadata, cipher: Some(cipher) })
            }
            (Role::Server { secret, cookies, .. }, State::Hello) if is(body, b"\x05HELLO") => {
                let (cn_client, _) = curve::open_hello(body, secret)?;
                let [key, _] = cookies.keys(local.now);
                let cookie_nonce = curve::encode_welcome(out, &cn_client, secret, &key);
                self.state = State::ServerInitiate { cookie_nonce };
                Ok(Step::Wait)
            }
            (Role::Server { public, cookies, .. }, State::ServerInitiate { cookie_nonce })
                if is(body, b"\x08INITIATE") =>
            {
                let init = curve::open_initiate(body, &cookies.keys(local.now), &cookie_nonce, public)?;
                parse_properties(&init.metadata)?;
                let credentials = vec![init.client.as_bytes().to_vec()];
                self.state = State::Zap { session: init.session, nonce: init.nonce };
                self.pending_metadata = Some(init.metadata);
                Ok(Step::Zap(ZapRequest { mechanism: "CURVE", credentials }))
            }
            _ => Err(SessionError::UnexpectedCommand(name_of(body))),
        }
    }

    pub fn on_zap(&mut self, local: &Local<'_>, out: &mut Vec<u8>) -> Result<Step, SessionError> {
        let State::Zap { session, nonce } = std::mem::replace(&mut self.state, State::Done) else {
            return Err(SessionError::UnexpectedCommand("ZAP reply".into()));
        };
        curve::encode_ready(out, &session, SERVER_READY_NONCE, &local.metadata());
        let metadata = self.pending_metadata.take().unwrap_or_default();
        let cipher = CurveCipher::new(session, true, SERVER_READY_NONCE + 1, nonce);
        Ok(Step::Ready { metadata, cipher: Some(cipher) })
    }
}

impl Curve {
    /// Whether this side holds no short-term secret or session box: true for a server between
    /// WELCOME and INITIATE (its secret is in the client's cookie).
    #[cfg(test)]
    pub fn holds_no_session_keys(&self) -> bool {
        matches!(self.state, State::ServerInitiate { .. } | State::Hello)
            && matches!(self.role, Role::Server { .. })
    }
}

/// Whether a command body starts with this length-prefixed name.
fn is(body: &[u8], name: &[u8]) -> bool {
    body.starts_with(name)
}

/// The command name of a body, for error messages.
fn name_of(body: &[u8]) -> String {
    let len = body.first().map_or(0, |&n| n as usize);
    String::from_utf8_lossy(body.get(1..1 + len).unwrap_or(b"?")).into_owned()
}
