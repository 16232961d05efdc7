//! The security flags per side: `--frontend-curve-server SECRET`, `--backend-plain USER:PASS`,
//! ... are sockcat's flags ([`SecurityArgs`]) with a side prefix, and the config file takes
//! the same names as keys (`frontend-curve-server = "..."`).
//!
//! The `wss://` flags come per side the same way (`--frontend-wss-cert FILE`,
//! `--backend-wss-trust FILE`, ...: sockcat's [`crate::wss::WssArgs`] with a side prefix).
//!
//! clap cannot flatten one struct twice under two prefixes, so each side spells its flags
//! out here and converts them to the shared [`SecurityArgs`] and [`WssFiles`], which check and
//! apply them.

use std::path::PathBuf;

use clap::Args as ClapArgs;
use serde::Deserialize;
use service::wss::WssFiles;

use crate::security::SecurityArgs;

/// Declares one side's flags (clap) and config keys (serde), and the conversion.
macro_rules! side {
    ($name:ident, $side:literal, $server:ident, $client:ident, $serverkey:ident, $secret:ident,
     $plain:ident, $plain_server:ident, $plain_user:ident,
     $wss_cert:ident, $wss_key:ident, $wss_trust:ident, $wss_hostname:ident, $wss_trust_system:ident) => {
        #[doc = concat!("The ", $side, "'s security flags (all optional: NULL without them).")]
        #[derive(Debug, Clone, Default, PartialEq, Eq, ClapArgs, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            #[doc = concat!("The ", $side, " is a CURVE server with this Z85 secret key.")]
            #[arg(long, value_name = "SECRET", allow_hyphen_values = true, help = concat!("The ", $side, " is a CURVE server with this Z85 secret key."))]
            pub $server: Option<String>,
            #[doc = concat!("With --", $side, "-curve-server: admit only this client's Z85 public key (repeatable).")]
            #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, help = concat!("With --", $side, "-curve-server: admit only this client's Z85 public key (repeatable)."))]
            #[serde(default)]
            pub $client: Vec<String>,
            #[doc = concat!("The ", $side, " is a CURVE client of the server with this Z85 public key.")]
            #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, help = concat!("The ", $side, " is a CURVE client of the server with this Z85 public key."))]
            pub $serverkey: Option<String>,
            #[doc = concat!("With --", $side, "-curve-serverkey: this Z85 secret key (default: a fresh pair).")]
            #[arg(long, value_name = "SECRET", allow_hyphen_values = true, help = concat!("With --", $side, "-curve-serverkey: this Z85 secret key (default: a fresh pair)."))]
            pub $secret: Option<String>,
            #[doc = concat!("The ", $side, " is a PLAIN client logging in as USER with password PASS.")]
            #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true, help = concat!("The ", $side, " is a PLAIN client logging in as USER with password PASS."))]
            pub $plain: Option<String>,
            #[doc = concat!("The ", $side, " is a PLAIN server admitting only the --", $side, "-plain-user accounts.")]
            #[arg(long, help = concat!("The ", $side, " is a PLAIN server admitting only the --", $side, "-plain-user accounts."))]
            #[serde(default)]
            pub $plain_server: bool,
            #[doc = concat!("With --", $side, "-plain-server: an account to admit (repeatable).")]
            #[arg(long, value_name = "USER:PASS", help = concat!("With --", $side, "-plain-server: an account to admit (repeatable)."))]
            #[serde(default)]
            pub $plain_user: Vec<String>,
            #[doc = concat!("wss:// bind: the ", $side, "'s certificate chain, a PEM file (its own certificate first).")]
            #[arg(long, value_name = "FILE", help = concat!("wss:// bind: the ", $side, "'s certificate chain, a PEM file (its own certificate first)."))]
            pub $wss_cert: Option<PathBuf>,
            #[doc = concat!("wss:// bind: the private key of --", $side, "-wss-cert, a PEM file.")]
            #[arg(long, value_name = "FILE", help = concat!("wss:// bind: the private key of --", $side, "-wss-cert, a PEM file."))]
            pub $wss_key: Option<PathBuf>,
            #[doc = concat!("wss:// connect: the ", $side, " trusts the authorities (or pinned server certificates) in this PEM file.")]
            #[arg(long, value_name = "FILE", help = concat!("wss:// connect: the ", $side, " trusts the authorities (or pinned server certificates) in this PEM file."))]
            pub $wss_trust: Option<PathBuf>,
            #[doc = concat!("wss:// connect: the name the server's certificate must carry (default: the ", $side, " endpoint's host).")]
            #[arg(long, value_name = "NAME", help = concat!("wss:// connect: the name the server's certificate must carry (default: the ", $side, " endpoint's host)."))]
            pub $wss_hostname: Option<String>,
            #[doc = concat!("wss:// connect: the ", $side, " trusts the system's certificate authorities too.")]
            #[arg(long, help = concat!("wss:// connect: the ", $side, " trusts the system's certificate authorities too."))]
            #[serde(default)]
            pub $wss_trust_system: bool,
        }

        impl $name {
            /// The shared form, which checks and applies the flags.
            pub fn to_args(&self) -> SecurityArgs {
                SecurityArgs {
                    curve_server: self.$server.clone(),
                    curve_client: self.$client.clone(),
                    curve_serverkey: self.$serverkey.clone(),
                    curve_secret: self.$secret.clone(),
                    plain: self.$plain.clone(),
                    plain_server: self.$plain_server,
                    plain_user: self.$plain_user.clone(),
                }
            }

            /// The side's `wss://` settings.
            pub fn wss(&self) -> WssFiles {
                WssFiles {
                    cert: self.$wss_cert.clone(),
                    key: self.$wss_key.clone(),
                    trust: self.$wss_trust.clone(),
                    hostname: self.$wss_hostname.clone(),
                    trust_system: self.$wss_trust_system,
                }
            }
        }
    };
}

side!(
    FrontendSecurity,
    "frontend",
    frontend_curve_server,
    frontend_curve_client,
    frontend_curve_serverkey,
    frontend_curve_secret,
    frontend_plain,
    frontend_plain_server,
    frontend_plain_user,
    frontend_wss_cert,
    frontend_wss_key,
    frontend_wss_trust,
    frontend_wss_hostname,
    frontend_wss_trust_system
);
side!(
    BackendSecurity,
    "backend",
    backend_curve_server,
    backend_curve_client,
    backend_curve_serverkey,
    backend_curve_secret,
    backend_plain,
    backend_plain_server,
    backend_plain_user,
    backend_wss_cert,
    backend_wss_key,
    backend_wss_trust,
    backend_wss_hostname,
    backend_wss_trust_system
);

/// One side's settings: the command line's if it sets any of that side's flags, else the
/// file's (a side's security is never half from one and half from the other). Checked, with
/// errors naming the side's flags.
pub fn merge(flags: SecurityArgs, file: SecurityArgs, side: &str) -> Result<SecurityArgs, String> {
    let chosen = if flags.is_set() { flags } else { file };
    chosen.check(&format!("--{side}-")).map_err(|e| e.to_string())?;
    Ok(chosen)
}

/// One side's `wss://` settings, as [`merge`] does it: the command line's if it sets any of
/// that side's `--…-wss-…` flags, else the file's. Checked, with errors naming the side's
/// flags (the files are read when the relay opens its sockets).
pub fn merge_wss(flags: WssFiles, file: WssFiles, side: &str) -> Result<WssFiles, String> {
    let chosen = if flags.is_set() { flags } else { file };
    crate::wss::check(&chosen, &format!("--{side}-")).map_err(|e| e.to_string())?;
    Ok(chosen)
}
