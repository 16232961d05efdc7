//! A ready-made ZAP handler, like pyzmq's `ThreadAuthenticator` and czmq's `zauth`.
//!
//! [`Authenticator::start`] binds a REP socket at `inproc://zeromq.zap.01` in a context and
//! answers every PLAIN and CURVE server of that context from a thread: addresses allowed or
//! denied, a PLAIN password file, a directory of allowed CURVE public keys (czmq's `.key`
//! certificates). The files are watched, as czmq's `zauth` watches them: a changed
//! certificate directory or file, or password file, is read again before the next
//! handshake that needs it ([`Authenticator::reload`] reads them at once). Admitted peers'
//! messages carry `User-Id`: the user name (PLAIN) or the Z85 public key (CURVE).
//!
//! ```no_run
//! let ctx = libsock::Context::new();
//! let auth = libsock::Authenticator::start(&ctx)?;
//! auth.allow("127.0.0.1");
//! auth.configure_curve("/etc/myapp/clients")?; // czmq or pyzmq certificates
//! let server = ctx.socket(libsock::PULL)?;
//! server.set_curve_server(true)?;
//! server.set_curve_secretkey(b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6")?;
//! server.bind("tcp://*:5555")?;
//! # Ok::<(), libsock::Error>(())
//! ```

mod certs;
mod clients;
mod policy;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::RwLock;

pub use certs::{
    create_certificates, load_certificate, load_certificates, parse_certificate, public_certificate,
    secret_certificate,
};
use clients::Clients;
pub use clients::CurveClient;
use policy::{CurvePolicy, Passwords, Policy};

use crate::error::{Error, Result};
use crate::{Context, Socket, REP};

/// How often the handler thread looks at its stop flag.
const POLL_MS: i32 = 100;

/// A running ZAP handler; stops when dropped.
pub struct Authenticator {
    policy: Arc<RwLock<Policy>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Authenticator {
    /// Binds `inproc://zeromq.zap.01` in `ctx` and starts answering. Fails with
    /// [`Error::AddrInUse`] if the context already has a ZAP handler.
    pub fn start(ctx: &Context) -> Result<Authenticator> {
        let rep = ctx.socket(REP)?;
        rep.set_linger(0)?;
        rep.set_rcvtimeo(POLL_MS)?;
        rep.bind("inproc://zeromq.zap.01")?;
        let policy = Arc::new(RwLock::new(Policy::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (policy.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("libsock-auth".into())
            .spawn(move || {
                crate::sys::block_signals();
                serve(rep, &p, &s)
            })
            .map_err(Error::from)?;
        Ok(Authenticator { policy, stop, thread: Some(thread) })
    }

    /// Admits only listed addresses from now on (the peer's IP, as ZAP receives it).
    pub fn allow(&self, address: &str) {
        self.policy.write().allow.insert(address.to_owned());
    }

    /// Refuses this address (when no address is explicitly allowed).
    pub fn deny(&self, address: &str) {
        self.policy.write().deny.insert(address.to_owned());
    }

    /// PLAIN: admits the users of a password file (`user=password` lines). The file is
    /// read again when it changes; a version that does not parse leaves the accounts before
    /// it in force (and is logged).
    pub fn configure_plain(&self, password_file: impl AsRef<Path>) -> Result<()> {
        let passwords = Passwords::read(password_file.as_ref())?;
        self.policy.write().passwords = Some(passwords);
        Ok(())
    }

    /// PLAIN: admits exactly these `(user, password)` pairs.
    pub fn set_plain_users<'a>(&self, users: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let map = users.into_iter().map(|(u, p)| (u.as_bytes().to_vec(), p.as_bytes().to_vec())).collect();
        self.policy.write().passwords = Some(Passwords::fixed(map));
    }

    /// CURVE: admits the public keys of the certificates in `directory` (pyzmq's `*.key`
    /// files and czmq's other names: [`crate::load_certificates`]), as they are from one
    /// handshake to the next: a certificate added is admitted, one removed refused.
    pub fn configure_curve(&self, directory: impl AsRef<Path>) -> Result<()> {
        self.set_curve_clients([CurveClient::Directory(directory.as_ref().to_owned())])
    }

    /// CURVE: admits exactly these public keys (32 bytes each), kept in memory: for keys
    /// that come from a program's own configuration rather than certificate files.
    pub fn set_curve_keys(&self, keys: impl IntoIterator<Item = [u8; 32]>) {
        let clients = Clients::read(keys.into_iter().map(CurveClient::Key)).expect("keys need no reading");
        self.policy.write().curve = Some(CurvePolicy::Clients(clients));
    }

    /// CURVE: admits the clients of these keys, certificate files and directories of
    /// certificates; the files are read now (an error names the one that does not read)
    /// and again whenever they change ([`CurveClient`]).
    pub fn set_curve_clients(&self, clients: impl IntoIterator<Item = CurveClient>) -> Result<()> {
        let clients = Clients::read(clients)?;
        self.policy.write().curve = Some(CurvePolicy::Clients(clients));
        Ok(())
    }

    /// CURVE: admits any client that completes the handshake (encryption without
    /// authentication of clients).
    pub fn configure_curve_allow_any(&self) {
        self.policy.write().curve = Some(CurvePolicy::AllowAny);
    }

    /// Reads the password file and the certificate directory again. On error the previous
    /// configuration stays in force.
    pub fn reload(&self) -> Result<()> {
        let mut fresh = self.policy.read().clone();
        fresh.reload()?;
        *self.policy.write() = fresh;
        Ok(())
    }
}

impl Drop for Authenticator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers requests until told to stop.
fn serve(rep: Socket, policy: &RwLock<Policy>, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        let request = match rep.recv_multipart(0) {
            Ok(r) => r,
            Err(Error::TimedOut | Error::WouldBlock) => continue,
            Err(e) => {
                tracing::debug!("authenticator stops: {e}");
                return;
            }
        };
        // Files that changed are read first, as czmq's zauth does for each request.
        policy.write().refresh(std::time::Instant::now());
        let reply = answer(&request, &policy.read());
        if let Err(e) = rep.send_multipart(reply, 0) {
            tracing::warn!("authenticator cannot reply: {e}");
        }
    }
}

/// The reply frames for one request (RFC 27).
fn answer(request: &[Vec<u8>], policy: &Policy) -> Vec<Vec<u8>> {
    let reply = |id: &[u8], status: &str, text: &str, user: &[u8]| {
        vec![b"1.0".to_vec(), id.to_vec(), status.into(), text.into(), user.to_vec(), Vec::new()]
    };
    if request.len() < 6 || request[0] != b"1.0" {
        tracing::warn!("authenticator: malformed ZAP request ({} frames)", request.len());
        return reply(request.get(1).map_or(&[][..], |v| v), "500", "malformed request", b"");
    }
    let address = String::from_utf8_lossy(&request[3]);
    let mechanism = &request[5];
    let v = policy.decide(&address, mechanism, &request[6..]);
    if v.status == "200" {
        tracing::debug!(address = %address, mechanism = %String::from_utf8_lossy(mechanism), "ZAP: admitted");
    } else {
        tracing::info!(address = %address, mechanism = %String::from_utf8_lossy(mechanism), "ZAP: refused: {}", v.text);
    }
    reply(&request[1], v.status, &v.text, &v.user_id)
}
