//! `wss://`: the TLS settings of a WebSocket listener or connect, made from libzmq's
//! `WSS_*` options when the endpoint is bound or connected (so a bad PEM is that call's
//! `EINVAL`, not a handshake that fails later).
//!
//! A listener needs `WSS_CERT_PEM` (its chain, first certificate its own) and `WSS_KEY_PEM`,
//! or libsock's `WSS_CERT_FILE` and `WSS_KEY_FILE`: files read again for new connections
//! when they change on disk, so a renewed certificate (certbot, cert-manager) is served
//! without a restart; a version that does not read leaves the previous one in use.
//! A connect trusts the authorities in `WSS_TRUST_PEM`, in libsock's `WSS_TRUST_FILE` (a
//! file read again for new connections when it changes, as the listener's) and, with
//! `WSS_TRUST_SYSTEM`, the system's; it checks the server's name against `WSS_HOSTNAME`, or the endpoint's host.
//! A certificate in `WSS_TRUST_PEM` that the server presents as its own is trusted as it is
//! (pinned): libzmq's own wss test trusts a self-signed certificate that names its host only
//! in its common name, which no WebPKI check accepts.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::sys::followed::Followed;

/// What a `wss://` connect needs for its TLS handshake.
#[derive(Debug, Clone)]
pub(crate) struct ClientTls {
    /// The verifier and protocol versions.
    pub config: Arc<ClientConfig>,
    /// The name the server's certificate must carry (sent as SNI when it is a DNS name).
    pub name: ServerName<'static>,
}

/// rustls over *ring* (which builds with a C compiler only, where aws-lc needs more).
/// rustls deprecated it for lacking post-quantum key exchange (X25519MLKEM768), which
/// libzmq's GnuTLS peers do not offer either.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS side of a `wss://` listener.
pub(crate) fn server_config(o: &Options) -> Result<Arc<ServerConfig>> {
    if !o.wss_cert_file.is_empty() || !o.wss_key_file.is_empty() {
        return followed_server_config(o);
    }
    if o.wss_cert_pem.is_empty() || o.wss_key_pem.is_empty() {
        return Err(Error::invalid(
            "a wss:// bind needs WSS_CERT_PEM and WSS_KEY_PEM (or WSS_CERT_FILE and WSS_KEY_FILE)",
        ));
    }
    let chain = certificates(&o.wss_cert_pem, "WSS_CERT_PEM")?;
    let key = PrivateKeyDer::from_pem_slice(&o.wss_key_pem)
        .map_err(|e| Error::invalid(format!("WSS_KEY_PEM holds no private key: {e}")))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::invalid(format!("WSS_CERT_PEM and WSS_KEY_PEM: {e}")))?;
    Ok(Arc::new(config))
}

/// A listener whose certificate and key files are followed.
fn followed_server_config(o: &Options) -> Result<Arc<ServerConfig>> {
    if o.wss_cert_file.is_empty() || o.wss_key_file.is_empty() {
        return Err(Error::invalid("WSS_CERT_FILE and WSS_KEY_FILE go together"));
    }
    let path = |b: &[u8]| PathBuf::from(std::ffi::OsStr::from_bytes(b));
    let files = Followed::new(vec![path(&o.wss_cert_file), path(&o.wss_key_file)]);
    let provider = provider();
    let key = certified_key(files.paths(), &provider)?;
    let resolver =
        FollowedCertificate { provider: provider.clone(), now: Mutex::new((files, Arc::new(key))) };
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    Ok(Arc::new(config))
}

/// The chain and key of `[certificate file, key file]`, checked to belong together.
fn certified_key(paths: &[PathBuf], provider: &CryptoProvider) -> Result<CertifiedKey> {
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| Error::invalid(format!("{}: cannot read it: {e}", p.display())))
    };
    let (cert_path, key_path) = (&paths[0], &paths[1]);
    let chain = certificates(&read(cert_path)?, &cert_path.display().to_string())?;
    let key = PrivateKeyDer::from_pem_slice(&read(key_path)?)
        .map_err(|e| Error::invalid(format!("{}: no private key in it: {e}", key_path.display())))?;
    CertifiedKey::from_der(chain, key, provider)
        .map_err(|e| Error::invalid(format!("{} and {}: {e}", cert_path.display(), key_path.display())))
}

/// A listener's certificate from files, read again when they change (looked at, at most
/// every 100 ms, as each TLS handshake asks for it).
#[derive(Debug)]
struct FollowedCertificate {
    provider: Arc<CryptoProvider>,
    now: Mutex<(Followed, Arc<CertifiedKey>)>,
}

impl ResolvesServerCert for FollowedCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut now = self.now.lock();
        let (files, key) = &mut *now;
        if files.changed(Instant::now()) {
            match certified_key(files.paths(), &self.provider) {
                Ok(fresh) => {
                    tracing::info!("{}: changed, served from now on", files.paths()[0].display());
                    *key = Arc::new(fresh);
                }
                Err(e) => tracing::warn!("{e}; the certificate read before stays in use"),
            }
        }
        Some(key.clone())
    }
}

/// The TLS side of a `wss://` connect to `host`.
pub(crate) fn client_tls(o: &Options, host: &str) -> Result<ClientTls> {
    let fixed = if o.wss_trust_pem.is_empty() {
        Vec::new()
    } else {
        certificates(&o.wss_trust_pem, "WSS_TRUST_PEM")?
    };
    let file =
        (!o.wss_trust_file.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(&o.wss_trust_file)));
    if fixed.is_empty() && file.is_none() && !o.wss_trust_system {
        return Err(Error::invalid(
            "a wss:// connect needs WSS_TRUST_PEM, WSS_TRUST_FILE or WSS_TRUST_SYSTEM",
        ));
    }
    let mut system = Vec::new();
    if o.wss_trust_system {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("WSS_TRUST_SYSTEM: {e}");
        }
        system = found.certs;
    }
    let provider = provider();
    let source = TrustSource { fixed, system, provider: provider.clone() };
    // Stamped before it is read: a change while reading is seen at the next look.
    let followed = file.map(|path| Followed::new(vec![path]));
    let trust = source.trust(followed.as_ref())?;
    let verifier = Verifier {
        source,
        now: Mutex::new((followed, Arc::new(trust))),
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let named = if o.wss_hostname.is_empty() {
        host.to_owned()
    } else {
        String::from_utf8_lossy(&o.wss_hostname).into_owned()
    };
    let name = ServerName::try_from(named.clone())
        .map_err(|_| Error::invalid(format!("{named:?} is no host name a certificate can carry")))?;
    Ok(ClientTls { config: Arc::new(config), name })
}

/// What a connect trusts, besides its followed file: `WSS_TRUST_PEM`'s certificates and the
/// system's authorities (read once, at connect).
#[derive(Debug)]
struct TrustSource {
    fixed: Vec<CertificateDer<'static>>,
    system: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl TrustSource {
    /// The trust with the file's certificates as they are now (an error names the file).
    fn trust(&self, file: Option<&Followed>) -> Result<Trust> {
        let mut pinned = self.fixed.clone();
        if let Some(path) = file.map(|f| &f.paths()[0]) {
            let pem = std::fs::read(path)
                .map_err(|e| Error::invalid(format!("{}: cannot read it: {e}", path.display())))?;
            pinned.extend(certificates(&pem, &path.display().to_string())?);
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(pinned.iter().cloned());
        roots.add_parsable_certificates(self.system.iter().cloned());
        let webpki = match roots.is_empty() {
            true => None,
            false => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                    .build()
                    .map_err(|e| Error::invalid(format!("wss:// trust: {e}")))?,
            ),
        };
        Ok(Trust { webpki, pinned })
    }
}

/// The authorities' check, and the certificates trusted as they are.
#[derive(Debug)]
struct Trust {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pinned: Vec<CertificateDer<'static>>,
}

/// Every certificate of a PEM text; none is an error.
fn certificates(pem: &[u8], option: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("{option}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!("{option} holds no PEM certificate")));
    }
    Ok(certs)
}

fn tls_error(e: rustls::Error) -> Error {
    Error::invalid(format!("TLS: {e}"))
}

/// WebPKI's check against the trusted authorities, or a pinned certificate as it is; with
/// `WSS_TRUST_FILE`, the file read again when it changes (looked at, at most every 100 ms, as
/// each handshake asks): a renewed authority bundle is trusted from the next connection on.
#[derive(Debug)]
struct Verifier {
    source: TrustSource,
    now: Mutex<(Option<Followed>, Arc<Trust>)>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Verifier {
    /// The trust in force, the file read again first if it changed.
    fn trust(&self) -> Arc<Trust> {
        let mut now = self.now.lock();
        let (file, trust) = &mut *now;
        if let Some(file) = file.as_mut() {
            if !file.changed(Instant::now()) {
                return trust.clone();
            }
            match self.source.trust(Some(file)) {
                Ok(fresh) => {
                    tracing::info!("{}: changed, trusted from now on", file.paths()[0].display());
                    *trust = Arc::new(fresh);
                }
                Err(e) => tracing::warn!("{e}; the certificates read before stay trusted"),
            }
        }
        trust.clone()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let trust = self.trust();
        if trust.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            // The very certificate trusted: the handshake's signature (checked below)
            // proves the server holds its key.
            return Ok(ServerCertVerified::assertion());
        }
        match &trust.webpki {
            Some(w) => w.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
            None => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
