//! CURVE and PLAIN on the sockets a topology shows the world (`SocketSpout`, `SocketBolt`,
//! `DRPCSpout` and DRPC clients), as libzmq's socket options set them.
//!
//! A server that checks who connects (a PLAIN server, or a CURVE server with a list of client
//! keys) needs a ZAP handler, and a libsock context has one at most: such a socket gets a
//! context of its own with an [`Authenticator`] that admits exactly its accounts or keys, so
//! two edge sockets of one process (or the worker links' handler) never share a policy. A
//! CURVE server without a client list admits any client that knows its public key
//! (encryption and server authentication only), as libzmq does without a ZAP handler.
//! `inproc://` carries no security mechanism (libzmq ignores them there), so security with an
//! inproc endpoint is a configuration error rather than a silent no-op.

use std::fmt;
use std::ops::Deref;

use libsock::{Authenticator, Context, CurveClient, Socket};
use service::keys::public_key;

/// The security mechanism of one socket.
#[derive(Clone, Default, PartialEq)]
pub enum Security {
    /// None (ZMTP's NULL mechanism).
    #[default]
    Null,
    /// A CURVE server with this Z85 secret key; when `clients` is set, only those clients
    /// may connect.
    CurveServer {
        /// The server's secret key (40 Z85 characters).
        secret: String,
        /// The clients admitted (none: any client that knows the server's public key): keys,
        /// and certificate files and directories that the socket's ZAP handler reads again
        /// whenever they change.
        clients: Option<Vec<CurveClient>>,
    },
    /// A CURVE client of the server with this Z85 public key, with its own secret key (none:
    /// a fresh key pair each time the socket opens).
    CurveClient {
        /// The server's public key.
        server: String,
        /// This client's secret key.
        secret: Option<String>,
    },
    /// A PLAIN server admitting exactly these (user, password) accounts.
    PlainServer {
        /// The accounts.
        users: Vec<(String, String)>,
    },
    /// A PLAIN client logging in with this user name and password.
    PlainClient {
        /// The user name (1–255 bytes).
        user: String,
        /// The password (at most 255 bytes).
        password: String,
    },
}

/// Never prints a secret: only the mechanism and what is public.
impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Security::Null => f.write_str("Null"),
            Security::CurveServer { clients, .. } => {
                let n = clients.as_ref().map(Vec::len);
                f.debug_struct("CurveServer").field("clients", &n).finish_non_exhaustive()
            }
            Security::CurveClient { server, .. } => {
                f.debug_struct("CurveClient").field("server", server).finish_non_exhaustive()
            }
            Security::PlainServer { users } => {
                let names: Vec<&str> = users.iter().map(|(u, _)| u.as_str()).collect();
                f.debug_struct("PlainServer").field("users", &names).finish_non_exhaustive()
            }
            Security::PlainClient { user, .. } => {
                f.debug_struct("PlainClient").field("user", user).finish_non_exhaustive()
            }
        }
    }
}

/// Checks a Z85 secret key (its public key can be computed).
fn secret_key(text: &str) -> Result<(), String> {
    libsock::curve_public(text).map(drop).map_err(|e| format!("not a Z85 secret key: {e}"))
}

/// Checks a PLAIN user name and password against the protocol's limits.
pub fn check_account(user: &str, password: &str) -> Result<(), String> {
    if user.is_empty() || user.len() > 255 || password.len() > 255 {
        return Err("a PLAIN user name is 1-255 bytes and a password at most 255".into());
    }
    Ok(())
}

impl Security {
    /// Whether it is a mechanism other than NULL.
    pub fn is_set(&self) -> bool {
        *self != Security::Null
    }

    /// Checks the keys and accounts, and that no endpoint is `inproc://`.
    pub fn validate<'a>(&self, endpoints: impl IntoIterator<Item = &'a String>) -> Result<(), String> {
        match self {
            Security::Null => return Ok(()),
            Security::CurveServer { secret, .. } => secret_key(secret)?,
            Security::CurveClient { server, secret } => {
                public_key(server).map_err(|e| format!("the server's key: {e}"))?;
                if let Some(s) = secret {
                    secret_key(s)?;
                }
            }
            Security::PlainServer { users } if users.is_empty() => {
                return Err("a PLAIN server needs at least one account (user:password)".into())
            }
            Security::PlainServer { users } => {
                for (u, p) in users {
                    check_account(u, p)?;
                }
            }
            Security::PlainClient { user, password } => check_account(user, password)?,
        }
        match endpoints.into_iter().find(|ep| ep.starts_with("inproc://")) {
            Some(ep) => Err(format!(
                "{ep}: inproc:// has no security mechanism (CURVE and PLAIN are for tcp:// and ipc://)"
            )),
            None => Ok(()),
        }
    }

    /// Sets the socket options (before it binds or connects).
    pub fn apply(&self, socket: &Socket) -> libsock::Result<()> {
        match self {
            Security::Null => Ok(()),
            Security::CurveServer { secret, .. } => {
                socket.set_curve_server(true)?;
                socket.set_curve_secretkey(secret.as_bytes())
            }
            Security::CurveClient { server, secret } => {
                let (public, secret) = match secret {
                    Some(s) => (libsock::curve_public(s)?, s.clone()),
                    None => libsock::curve_keypair(),
                };
                socket.set_curve_serverkey(server.as_bytes())?;
                socket.set_curve_publickey(public.as_bytes())?;
                socket.set_curve_secretkey(secret.as_bytes())
            }
            Security::PlainServer { .. } => socket.set_plain_server(true),
            Security::PlainClient { user, password } => {
                socket.set_plain_username(user.as_bytes())?;
                socket.set_plain_password(password.as_bytes())
            }
        }
    }

    /// Whether the socket needs a ZAP handler of its own.
    fn checks_peers(&self) -> bool {
        matches!(self, Security::PlainServer { .. } | Security::CurveServer { clients: Some(_), .. })
    }

    /// Starts the ZAP handler admitting exactly this socket's accounts or keys, on `ctx`.
    fn authenticator(&self, ctx: &Context) -> Result<Option<Authenticator>, String> {
        if !self.checks_peers() {
            return Ok(None);
        }
        let auth = Authenticator::start(ctx).map_err(|e| format!("starting the ZAP handler: {e}"))?;
        match self {
            Security::PlainServer { users } => {
                auth.set_plain_users(users.iter().map(|(u, p)| (u.as_str(), p.as_str())));
            }
            Security::CurveServer { clients: Some(clients), .. } => auth
                .set_curve_clients(clients.iter().cloned())
                .map_err(|e| format!("the admitted CURVE clients: {e}"))?,
            _ => {}
        }
        Ok(Some(auth))
    }
}

/// An open socket with what it needs to keep running: its ZAP handler and its own context,
/// when it checks its peers. Derefs to the [`Socket`].
pub struct EdgeSocket {
    // Dropped in this order: the socket, then its handler, then the context.
    socket: Socket,
    _auth: Option<Authenticator>,
    _ctx: Option<Context>,
}

impl EdgeSocket {
    /// Opens a socket for `security`: on `shared` unless it checks its peers, then on a
    /// context of its own with its ZAP handler; `open` makes the socket on the context.
    pub(crate) fn open(
        shared: &Context,
        security: &Security,
        open: impl FnOnce(&Context) -> Result<Socket, String>,
    ) -> Result<EdgeSocket, String> {
        if !security.checks_peers() {
            return Ok(EdgeSocket { socket: open(shared)?, _auth: None, _ctx: None });
        }
        let ctx = Context::new();
        let auth = security.authenticator(&ctx)?;
        let socket = open(&ctx)?;
        Ok(EdgeSocket { socket, _auth: auth, _ctx: Some(ctx) })
    }

    /// The socket.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }
}

impl Deref for EdgeSocket {
    type Target = Socket;

    fn deref(&self) -> &Socket {
        &self.socket
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    #[test]
    fn keys_accounts_and_inproc_are_checked() {
        let tcp = ["tcp://127.0.0.1:5555".to_owned()];
        let server = Security::CurveServer { secret: SECRET.into(), clients: None };
        assert_eq!(server.validate(&tcp), Ok(()));
        let bad = Security::CurveServer { secret: "short".into(), clients: None };
        assert!(bad.validate(&tcp).unwrap_err().starts_with("not a Z85 secret key"));
        let client = Security::CurveClient { server: "short".into(), secret: None };
        assert!(client.validate(&tcp).unwrap_err().starts_with("the server's key: "));
        assert_eq!(
            Security::PlainServer { users: vec![] }.validate(&tcp).unwrap_err(),
            "a PLAIN server needs at least one account (user:password)"
        );
        let nobody = Security::PlainClient { user: String::new(), password: "p".into() };
        assert!(nobody.validate(&tcp).is_err());
        let inproc = ["inproc://x".to_owned()];
        assert_eq!(
            server.validate(&inproc).unwrap_err(),
            "inproc://x: inproc:// has no security mechanism (CURVE and PLAIN are for tcp:// and ipc://)"
        );
        assert_eq!(Security::Null.validate(&inproc), Ok(()));
        assert_eq!(public_key("short").unwrap_err(), "a key is 32 bytes (40 Z85 characters), got 4");
    }

    #[test]
    fn debug_output_has_no_secret() {
        let all = [
            Security::CurveServer { secret: SECRET.into(), clients: Some(vec![CurveClient::Key([0; 32])]) },
            Security::CurveClient { server: "P".into(), secret: Some(SECRET.into()) },
            Security::PlainServer { users: vec![("u".into(), "hunter2".into())] },
            Security::PlainClient { user: "u".into(), password: "hunter2".into() },
        ];
        for s in all {
            let text = format!("{s:?}");
            assert!(!text.contains(SECRET) && !text.contains("hunter2"), "{text}");
        }
    }
}
