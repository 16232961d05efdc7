//! The security flags per side: `--frontend-curve-server SECRET`, `--backend-plain USER:PASS`,
//! ... are sockcat's flags ([`SecurityArgs`]) with a side prefix, and the config file takes
//! the same names as keys (`frontend-curve-server = "..."`).
//!
//! clap cannot flatten one struct twice under two prefixes, so each side spells its flags
//! out here and converts them to the shared [`SecurityArgs`], which checks and applies them.

use clap::Args as ClapArgs;
use serde::Deserialize;

use crate::security::SecurityArgs;

/// Declares one side's flags (clap) and config keys (serde), and the conversion.
macro_rules! side {
    ($name:ident, $side:literal, $server:ident, $client:ident, $serverkey:ident, $secret:ident,
     $plain:ident, $plain_server:ident, $plain_user:ident) => {
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
    frontend_plain_user
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
    backend_plain_user
);

/// One side's settings: the command line's if it sets any of that side's flags, else the
/// file's (a side's security is never half from one and half from the other). Checked, with
/// errors naming the side's flags.
pub fn merge(flags: SecurityArgs, file: SecurityArgs, side: &str) -> Result<SecurityArgs, String> {
    let chosen = if flags.is_set() { flags } else { file };
    chosen.check(&format!("--{side}-")).map_err(|e| e.to_string())?;
    Ok(chosen)
}
