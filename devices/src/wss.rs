//! The `wss://` flags both tools take: `--wss-cert FILE` and `--wss-key FILE` for a `wss://`
//! bind, `--wss-trust FILE`, `--wss-trust-system` and `--wss-hostname NAME` for a `wss://`
//! connect (sockcat as is, sockdev once per side with a `--frontend-`/`--backend-` prefix).
//!
//! The flags name PEM files; [`service::wss`] reads and checks them when the socket opens,
//! before it binds or connects, so a missing or wrong file is one line naming it.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::Args as ClapArgs;
use libsock::Socket;
use service::wss::{Setting, WssFiles};

/// The `wss://` flags (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, ClapArgs)]
pub struct WssArgs {
    /// wss:// bind: the certificate chain, a PEM file (the socket's own certificate first).
    #[arg(long, value_name = "FILE")]
    pub wss_cert: Option<PathBuf>,

    /// wss:// bind: the private key of --wss-cert, a PEM file.
    #[arg(long, value_name = "FILE")]
    pub wss_key: Option<PathBuf>,

    /// wss:// connect: trust the authorities (or pinned server certificates) in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub wss_trust: Option<PathBuf>,

    /// wss:// connect: the name the server's certificate must carry (default: the endpoint's
    /// host).
    #[arg(long, value_name = "NAME")]
    pub wss_hostname: Option<String>,

    /// wss:// connect: trust the system's certificate authorities too.
    #[arg(long)]
    pub wss_trust_system: bool,
}

impl WssArgs {
    /// The settings, for [`check`] and [`apply`].
    pub fn files(&self) -> WssFiles {
        WssFiles {
            cert: self.wss_cert.clone(),
            key: self.wss_key.clone(),
            trust: self.wss_trust.clone(),
            hostname: self.wss_hostname.clone(),
            trust_system: self.wss_trust_system,
        }
    }
}

/// A setting spelled as a flag with `prefix` (`"--"`, `"--frontend-"`).
pub fn flag(prefix: &str, setting: Setting) -> String {
    let name = match setting {
        Setting::Cert => "wss-cert",
        Setting::Key => "wss-key",
        Setting::Trust => "wss-trust",
        Setting::Hostname => "wss-hostname",
    };
    format!("{prefix}{name}")
}

/// Checks the combinations (`--wss-cert` with `--wss-key`), the flags named with `prefix`.
pub fn check(files: &WssFiles, prefix: &str) -> Result<()> {
    files.check(|s| flag(prefix, s)).map_err(|e| anyhow!(e))
}

/// Checks that a `wss://` bind has its certificate and a `wss://` connect something to trust,
/// naming the flags (libsock's own refusal at bind or connect names its options). The error
/// is about the endpoint, as libsock's would be: `invalid {what} "EP": … needs --wss-cert …`.
pub fn require(
    files: &WssFiles,
    binds: &[String],
    connects: &[String],
    prefix: &str,
    what: &str,
) -> Result<()> {
    let wss = |eps: &[String]| eps.iter().find(|ep| ep.starts_with("wss://")).cloned();
    if let (Some(ep), None) = (wss(binds), &files.cert) {
        bail!("invalid {what} {ep:?}: a wss:// bind needs {prefix}wss-cert FILE and {prefix}wss-key FILE");
    }
    if let (Some(ep), None, false) = (wss(connects), &files.trust, files.trust_system) {
        bail!("invalid {what} {ep:?}: a wss:// connect needs {prefix}wss-trust FILE or {prefix}wss-trust-system");
    }
    Ok(())
}

/// Reads the PEM files and sets the socket's `WSS_*` options (before bind/connect); an error
/// names the flag and the file.
pub fn apply(files: &WssFiles, socket: &Socket, prefix: &str) -> Result<()> {
    if !files.is_set() {
        return Ok(());
    }
    let pem = files.load(|s| flag(prefix, s)).map_err(|e| anyhow!(e))?;
    pem.apply(socket).map_err(|e| anyhow!("wss:// options: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_flag_and_the_file() {
        let ctx = libsock::Context::new();
        let socket = ctx.socket(libsock::PULL).unwrap();
        let files = WssFiles { trust: Some("/nonexistent/ca.pem".into()), ..Default::default() };
        let e = apply(&files, &socket, "--backend-").unwrap_err().to_string();
        assert!(e.starts_with("--backend-wss-trust /nonexistent/ca.pem: cannot read it: "), "{e}");
        let files = WssFiles { key: Some("k.pem".into()), ..Default::default() };
        assert_eq!(check(&files, "--").unwrap_err().to_string(), "--wss-cert and --wss-key go together");
        assert!(apply(&WssFiles::default(), &socket, "--").is_ok());
        let eps = |e: &str| vec![e.to_owned()];
        let none = WssFiles::default();
        let e = require(&none, &eps("wss://*:1/a"), &[], "--frontend-", "frontend endpoint").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid frontend endpoint \"wss://*:1/a\": a wss:// bind needs --frontend-wss-cert FILE and \
             --frontend-wss-key FILE"
        );
        let e = require(&none, &[], &eps("wss://h:1/a"), "--", "endpoint").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid endpoint \"wss://h:1/a\": a wss:// connect needs --wss-trust FILE or --wss-trust-system"
        );
        let system = WssFiles { trust_system: true, ..Default::default() };
        assert!(require(&system, &eps("tcp://*:1"), &eps("wss://h:1/a"), "--", "endpoint").is_ok());
    }
}
