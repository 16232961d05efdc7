//! `wss://` settings as an operator gives them: PEM files (a certificate chain, a private key,
//! the authorities or pinned certificates to trust), a host name and "trust the system's
//! authorities", turned into libsock's `WSS_*` options.
//!
//! The commands take *paths*, checked when the socket is opened: a file that cannot be read,
//! or holds no PEM block of the kind its setting needs, is an error naming the file, before
//! any endpoint is bound or connected (libsock's own error at bind or connect could name the
//! option only). They then go to libsock as files, which it follows: a listener's renewed
//! certificate is served, and a connect's renewed authority bundle trusted, without a
//! restart.

use std::path::{Path, PathBuf};

use libsock::Socket;

/// The `wss://` settings of one socket (all optional: no TLS settings without them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WssFiles {
    /// A listener's certificate chain (PEM, its own certificate first): `WSS_CERT_PEM`.
    pub cert: Option<PathBuf>,
    /// A listener's private key (PEM: PKCS#8, PKCS#1 or SEC1): `WSS_KEY_PEM`.
    pub key: Option<PathBuf>,
    /// A connect's authorities or pinned certificates (PEM): `WSS_TRUST_PEM`.
    pub trust: Option<PathBuf>,
    /// The name the server's certificate must carry (default: the endpoint's host).
    pub hostname: Option<String>,
    /// Trust the system's certificate authorities too.
    pub trust_system: bool,
}

/// One of [`WssFiles`]' settings, for the caller to name as its users spell it
/// (`--wss-cert`, `--frontend-wss-key`, `wssTrust`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// [`WssFiles::cert`].
    Cert,
    /// [`WssFiles::key`].
    Key,
    /// [`WssFiles::trust`].
    Trust,
    /// [`WssFiles::hostname`].
    Hostname,
}

/// The files, read and checked, ready for a socket. They go to libsock as files
/// (`WSS_CERT_FILE`, `WSS_KEY_FILE`, `WSS_TRUST_FILE`), which it follows: a certificate
/// renewed on disk is served to new connections, and a renewed bundle of trusted
/// certificates trusted for them, without a restart.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WssPem {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    trust: Option<PathBuf>,
    hostname: Option<String>,
    trust_system: bool,
}

/// Never prints the private key.
impl std::fmt::Debug for WssPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WssPem")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("trust", &self.trust)
            .field("hostname", &self.hostname)
            .field("trust_system", &self.trust_system)
            .finish()
    }
}

impl WssFiles {
    /// Whether any setting is given.
    pub fn is_set(&self) -> bool {
        *self != WssFiles::default()
    }

    /// Checks the combinations (a certificate and its key go together) and the host name;
    /// `name` spells a setting as the user wrote it.
    pub fn check(&self, name: impl Fn(Setting) -> String) -> Result<(), String> {
        if self.cert.is_some() != self.key.is_some() {
            return Err(format!("{} and {} go together", name(Setting::Cert), name(Setting::Key)));
        }
        match &self.hostname {
            Some(h) if h.is_empty() || h.len() > 255 => {
                Err(format!("{}: a host name is 1-255 bytes", name(Setting::Hostname)))
            }
            _ => Ok(()),
        }
    }

    /// The same settings with relative paths taken from `dir` (a config or topology file's
    /// directory).
    pub fn anchored(&self, dir: &Path) -> WssFiles {
        let anchor = |p: &Option<PathBuf>| p.as_ref().map(|p| dir.join(p));
        WssFiles {
            cert: anchor(&self.cert),
            key: anchor(&self.key),
            trust: anchor(&self.trust),
            ..self.clone()
        }
    }

    /// Reads and checks the files ([`WssFiles::check`] first); an error is one line naming
    /// the setting (as `name` spells it) and the file.
    pub fn load(&self, name: impl Fn(Setting) -> String) -> Result<WssPem, String> {
        self.check(&name)?;
        let read = |setting: Setting, path: &Option<PathBuf>, kind: Kind| {
            path.as_deref()
                .map(|p| read_pem(p, kind).map_err(|e| format!("{} {e}", name(setting))))
                .transpose()
        };
        // Read now for errors that name the flag; libsock reads them again at the bind (and
        // when they change), by absolute path whatever the process's directory then.
        let file = |setting: Setting, path: &Option<PathBuf>, kind: Kind| {
            read(setting, path, kind)?;
            path.as_deref()
                .map(|p| {
                    std::path::absolute(p).map_err(|e| format!("{} {}: {e}", name(setting), p.display()))
                })
                .transpose()
        };
        Ok(WssPem {
            cert: file(Setting::Cert, &self.cert, Kind::Certificates)?,
            key: file(Setting::Key, &self.key, Kind::PrivateKey)?,
            trust: file(Setting::Trust, &self.trust, Kind::Certificates)?,
            hostname: self.hostname.clone(),
            trust_system: self.trust_system,
        })
    }
}

impl WssPem {
    /// Whether a certificate and key are given (a `wss://` bind needs them).
    pub fn can_bind(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }

    /// Whether something is trusted (a `wss://` connect needs it).
    pub fn can_connect(&self) -> bool {
        self.trust.is_some() || self.trust_system
    }

    /// Sets the socket's `WSS_*` options (before it binds or connects).
    pub fn apply(&self, socket: &Socket) -> libsock::Result<()> {
        use std::os::unix::ffi::OsStrExt;
        if let Some(path) = &self.cert {
            socket.set_wss_cert_file(path.as_os_str().as_bytes())?;
        }
        if let Some(path) = &self.key {
            socket.set_wss_key_file(path.as_os_str().as_bytes())?;
        }
        if let Some(path) = &self.trust {
            socket.set_wss_trust_file(path.as_os_str().as_bytes())?;
        }
        if let Some(name) = &self.hostname {
            socket.set_wss_hostname(name.as_bytes())?;
        }
        if self.trust_system {
            socket.set_wss_trust_system(true)?;
        }
        Ok(())
    }
}

/// What a PEM file must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// At least one `CERTIFICATE` block.
    Certificates,
    /// A `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block.
    PrivateKey,
}

/// A PEM file's contents, if it holds a block of `kind`; the error starts with the path.
fn read_pem(path: &Path, kind: Kind) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: cannot read it: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let found = match kind {
        Kind::Certificates => text.contains("-----BEGIN CERTIFICATE-----"),
        Kind::PrivateKey => {
            text.lines().any(|l| l.starts_with("-----BEGIN ") && l.ends_with("PRIVATE KEY-----"))
        }
    };
    match (found, kind) {
        (true, _) => Ok(bytes),
        (false, Kind::Certificates) => {
            Err(format!("{shown}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)"))
        }
        (false, Kind::PrivateKey) => {
            Err(format!("{shown}: no PEM private key in it (-----BEGIN PRIVATE KEY-----)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(s: Setting) -> String {
        format!("--wss-{}", format!("{s:?}").to_lowercase())
    }

    #[test]
    fn files_are_read_and_checked_with_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n").unwrap();
        let key = dir.path().join("k.pem");
        std::fs::write(&key, "-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n").unwrap();
        let files = WssFiles { cert: Some("c.pem".into()), key: Some("k.pem".into()), ..Default::default() };
        let pem = files.anchored(dir.path()).load(flag).unwrap();
        assert!(pem.cert.is_some() && pem.key.is_some() && !format!("{pem:?}").contains("AA=="));

        let missing = WssFiles { trust: Some(dir.path().join("none.pem")), ..Default::default() };
        let e = missing.load(flag).unwrap_err();
        assert!(e.starts_with("--wss-trust ") && e.contains("none.pem: cannot read it: "), "{e}");
        let swapped = WssFiles { cert: Some(key.clone()), key: Some(cert.clone()), ..Default::default() };
        let e = swapped.load(flag).unwrap_err();
        assert!(e.starts_with("--wss-cert ") && e.contains("k.pem: no PEM certificate in it"), "{e}");
        let e = WssFiles { cert: Some(cert), ..Default::default() }.load(flag).unwrap_err();
        assert_eq!(e, "--wss-cert and --wss-key go together");
        let e = WssFiles { hostname: Some(String::new()), ..Default::default() }.check(flag).unwrap_err();
        assert_eq!(e, "--wss-hostname: a host name is 1-255 bytes");
        assert!(!WssFiles::default().is_set());
    }
}
