//! The security flags both tools take: `--curve-server`, `--curve-serverkey`/`--curve-secret`,
//! `--plain`, `--plain-server` with `--plain-user` (sockcat as is, sockdev once per side with
//! a `--frontend-`/`--backend-` prefix), and `sockcat keygen`.
//!
//! A CURVE server admits any client that knows its public key (encryption and server
//! authentication), or with `--curve-client` only those keys; a PLAIN server admits the
//! `--plain-user` pairs. Keys may be given as certificate files (czmq's and pyzmq's format),
//! and allowed clients as a directory of them ([`SecurityArgs::resolved`]). Checking peers runs libsock's [`Authenticator`] (ZAP) in the
//! socket's context, which refuses everyone else.

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args as ClapArgs;
use libsock::{curve_keypair, curve_public, Authenticator, Context, CurveClient, Socket};
use service::keys::{client_keys_from, client_source_from, public_key_from, secret_key_from};

/// The security flags (all optional; NULL without them).
#[derive(Debug, Clone, Default, PartialEq, Eq, ClapArgs)]
pub struct SecurityArgs {
    /// Be a CURVE server with this Z85 secret key (40 characters; see `sockcat keygen`), or
    /// the key pair of this secret certificate file (NAME.key_secret: czmq, pyzmq).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, conflicts_with_all = ["curve_serverkey", "plain", "plain_server"])]
    pub curve_server: Option<String>,

    /// With --curve-server: admit only the client with this Z85 public key, certificate file,
    /// or every certificate in this directory (repeatable; without it, any client that
    /// knows the server's public key).
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, requires = "curve_server")]
    pub curve_client: Vec<String>,

    /// Be a CURVE client of the server with this Z85 public key (or certificate file).
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, conflicts_with_all = ["plain", "plain_server"])]
    pub curve_serverkey: Option<String>,

    /// With --curve-serverkey: use this Z85 secret key or secret certificate file (default: a
    /// fresh key pair).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, requires = "curve_serverkey")]
    pub curve_secret: Option<String>,

    /// Be a PLAIN client logging in as USER with password PASS.
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true, conflicts_with = "plain_server")]
    pub plain: Option<String>,

    /// Be a PLAIN server admitting only the --plain-user accounts.
    #[arg(long, requires = "plain_user")]
    pub plain_server: bool,

    /// With --plain-server: an account to admit (repeatable).
    #[arg(long, value_name = "USER:PASS", requires = "plain_server")]
    pub plain_user: Vec<String>,
}

/// A key setting's value as read from a file in `dir`: a relative certificate path (anything
/// but a key itself) is taken from `dir`, as the file's author meant it.
pub fn anchored(value: &str, dir: &std::path::Path) -> String {
    match service::keys::is_key(value) || std::path::Path::new(value).is_absolute() {
        true => value.to_owned(),
        false => dir.join(value).display().to_string(),
    }
}

/// `USER:PASS` split at the first colon.
fn user_pass(text: &str, flag: &str) -> Result<(String, String)> {
    let (user, pass) =
        text.split_once(':').ok_or_else(|| anyhow!("{flag} expects USER:PASS, got {text:?}"))?;
    if user.is_empty() || user.len() > 255 || pass.len() > 255 {
        bail!("{flag}: the user name must be 1-255 bytes and the password at most 255");
    }
    Ok((user.to_owned(), pass.to_owned()))
}

impl SecurityArgs {
    /// Checks the values (key syntax, USER:PASS) before anything is opened.
    pub fn validate(&self) -> Result<()> {
        self.check("--")
    }

    /// Whether the socket checks its peers (a PLAIN server, or a CURVE server with client
    /// keys): it needs the context's one ZAP handler.
    pub fn checks_peers(&self) -> bool {
        self.plain_server || !self.curve_client.is_empty()
    }

    /// Whether any flag is set (the socket is not NULL).
    pub fn is_set(&self) -> bool {
        *self != SecurityArgs::default()
    }

    /// [`SecurityArgs::validate`] plus the combinations clap checks for sockcat, with the
    /// flags named by `prefix` (`"--frontend-"`: `--frontend-curve-server`, ...), for
    /// callers that fill the struct themselves (sockdev's per-side flags and config file).
    pub fn check(&self, prefix: &str) -> Result<()> {
        let flag = |name: &str| format!("{prefix}{name}");
        let curve_client = self.curve_serverkey.is_some();
        let roles = [
            ("curve-server", self.curve_server.is_some()),
            ("curve-serverkey", curve_client),
            ("plain", self.plain.is_some()),
            ("plain-server", self.plain_server),
        ];
        let mut set = roles.iter().filter(|(_, on)| *on).map(|(name, _)| flag(name));
        if let (Some(a), Some(b)) = (set.next(), set.next()) {
            bail!("{a} and {b} cannot be used together (one mechanism per socket)");
        }
        if self.curve_secret.is_some() && !curve_client {
            bail!("{} needs {}", flag("curve-secret"), flag("curve-serverkey"));
        }
        if !self.curve_client.is_empty() && self.curve_server.is_none() {
            bail!("{} needs {}", flag("curve-client"), flag("curve-server"));
        }
        if self.plain_server == self.plain_user.is_empty() {
            bail!("{} and {} go together", flag("plain-server"), flag("plain-user USER:PASS"));
        }
        self.resolved(prefix)?;
        if let Some(p) = &self.plain {
            user_pass(p, &flag("plain"))?;
        }
        for p in &self.plain_user {
            user_pass(p, &flag("plain-user"))?;
        }
        Ok(())
    }

    /// The same flags with every key as Z85 text: a value that is not a 40-character Z85 key
    /// is read as a certificate file (czmq's `zcert` format, as `sockcat keygen --cert` and
    /// pyzmq's `zmq.auth.create_certificates` write it: a secret one, `NAME.key_secret`, for
    /// `--curve-server`/`--curve-secret`; either for `--curve-serverkey`), and a
    /// `--curve-client` directory stands for every certificate in it (as czmq's
    /// `zauth` and pyzmq's `configure_curve` take one).
    pub fn resolved(&self, prefix: &str) -> Result<SecurityArgs> {
        let flag = |name: &str| format!("{prefix}{name}");
        // Paths on the command line are the working directory's (a config file's were
        // anchored to its own directory when it was read).
        let cwd = std::path::Path::new("");
        let secret = |name: &str, v: &Option<String>| -> Result<Option<String>> {
            v.as_deref()
                .map(|v| secret_key_from(v, cwd).map_err(|e| anyhow!("{} {v}: {e}", flag(name))))
                .transpose()
        };
        let mut clients = Vec::new();
        for v in &self.curve_client {
            clients
                .extend(client_keys_from(v, cwd).map_err(|e| anyhow!("{} {v}: {e}", flag("curve-client")))?);
        }
        let serverkey = self
            .curve_serverkey
            .as_deref()
            .map(|v| public_key_from(v, cwd).map_err(|e| anyhow!("{} {v}: {e}", flag("curve-serverkey"))))
            .transpose()?;
        Ok(SecurityArgs {
            curve_server: secret("curve-server", &self.curve_server)?,
            curve_client: clients,
            curve_serverkey: serverkey,
            curve_secret: secret("curve-secret", &self.curve_secret)?,
            ..self.clone()
        })
    }

    /// The `--plain-user` accounts as (user, password) pairs.
    pub fn plain_accounts(&self) -> Result<Vec<(String, String)>> {
        self.plain_user.iter().map(|p| user_pass(p, "--plain-user")).collect()
    }

    /// Where the `--curve-client` keys come from, checked: keys, and certificate files and
    /// directories that the ZAP handler reads again whenever they change. Empty when no
    /// client list is given.
    pub fn client_sources(&self) -> Result<Vec<CurveClient>> {
        let cwd = std::path::Path::new("");
        let source = |v: &String| client_source_from(v, cwd).map_err(|e| anyhow!("--curve-client {v}: {e}"));
        self.curve_client.iter().map(source).collect()
    }

    /// Applies the flags to `socket` (before bind/connect); a PLAIN server also gets the
    /// authenticator, which must live as long as the socket.
    pub fn apply(&self, ctx: &Context, socket: &Socket) -> Result<Option<Authenticator>> {
        let resolved = self.resolved("--")?;
        let this = &resolved;
        if let Some(secret) = &this.curve_server {
            socket.set_curve_server(true)?;
            socket.set_curve_secretkey(secret.as_bytes())?;
            tracing::info!(public = %curve_public(secret)?, clients = this.curve_client.len(), "CURVE server");
            if !this.curve_client.is_empty() {
                let auth = Authenticator::start(ctx).context("cannot start the CURVE authenticator")?;
                auth.set_curve_clients(self.client_sources()?)?;
                return Ok(Some(auth));
            }
        }
        if let Some(server) = &this.curve_serverkey {
            let (public, secret) = match &this.curve_secret {
                Some(s) => (curve_public(s)?, s.clone()),
                None => curve_keypair(),
            };
            socket.set_curve_serverkey(server.as_bytes())?;
            socket.set_curve_publickey(public.as_bytes())?;
            socket.set_curve_secretkey(secret.as_bytes())?;
            tracing::info!(public = %public, "CURVE client");
        }
        if let Some(p) = &this.plain {
            let (user, pass) = user_pass(p, "--plain")?;
            socket.set_plain_username(user.as_bytes())?;
            socket.set_plain_password(pass.as_bytes())?;
        }
        if !this.plain_server {
            return Ok(None);
        }
        socket.set_plain_server(true)?;
        let auth = Authenticator::start(ctx).context("cannot start the PLAIN authenticator")?;
        let users = this.plain_accounts()?;
        auth.set_plain_users(users.iter().map(|(u, p)| (u.as_str(), p.as_str())));
        Ok(Some(auth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        let bad_key = SecurityArgs { curve_server: Some("short".into()), ..Default::default() };
        assert!(bad_key.validate().unwrap_err().to_string().contains("--curve-server"));
        let bad_plain = SecurityArgs { plain: Some("nocolon".into()), ..Default::default() };
        assert!(bad_plain.validate().unwrap_err().to_string().contains("USER:PASS"));
        let ok = SecurityArgs { plain: Some("u:p:q".into()), ..Default::default() };
        assert!(ok.validate().is_ok());
        assert_eq!(user_pass("u:p:q", "x").unwrap(), ("u".into(), "p:q".into()));
    }

    #[test]
    fn keys_may_start_with_a_hyphen() {
        // '-' is a Z85 digit: about one random key in 85 starts with it.
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            security: SecurityArgs,
        }
        let key = "-ii4rp5hjZv+(6b3Zph>0pZ5rp5hjZv+(6b3Zph>";
        let cli =
            <Cli as clap::Parser>::try_parse_from(["t", "--curve-serverkey", key, "--curve-secret", key])
                .unwrap();
        assert_eq!(cli.security.curve_serverkey.as_deref(), Some(key));
        assert_eq!(cli.security.curve_secret.as_deref(), Some(key));
    }
}
