//! The security flags both tools take: `--curve-server`, `--curve-serverkey`/`--curve-secret`,
//! `--plain`, `--plain-server` with `--plain-user` (sockcat as is, sockdev once per side with
//! a `--frontend-`/`--backend-` prefix), and `sockcat keygen`.
//!
//! A CURVE server admits any client that knows its public key (encryption and server
//! authentication), or with `--curve-client` only those keys; a PLAIN server admits the
//! `--plain-user` pairs. Checking peers runs libsock's [`Authenticator`] (ZAP) in the
//! socket's context, which refuses everyone else.

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args as ClapArgs;
use libsock::{curve_keypair, curve_public, Authenticator, Context, Socket};

/// The security flags (all optional; NULL without them).
#[derive(Debug, Clone, Default, PartialEq, Eq, ClapArgs)]
pub struct SecurityArgs {
    /// Be a CURVE server with this Z85 secret key (40 characters; see `sockcat keygen`).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, conflicts_with_all = ["curve_serverkey", "plain", "plain_server"])]
    pub curve_server: Option<String>,

    /// With --curve-server: admit only the client with this Z85 public key (repeatable;
    /// without it, any client that knows the server's public key).
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, requires = "curve_server")]
    pub curve_client: Vec<String>,

    /// Be a CURVE client of the server with this Z85 public key.
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, conflicts_with_all = ["plain", "plain_server"])]
    pub curve_serverkey: Option<String>,

    /// With --curve-serverkey: use this Z85 secret key (default: a fresh key pair).
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

/// A Z85 public key's 32 bytes.
fn public_key(text: &str) -> Result<[u8; 32]> {
    let raw = libsock::z85_decode(text).map_err(|e| anyhow!("not a Z85 key: {e}"))?;
    raw.try_into().map_err(|_| anyhow!("a key is 40 Z85 characters, got {}", text.len()))
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
        for k in &self.curve_client {
            public_key(k).map_err(|e| anyhow!("{} {k}: {e}", flag("curve-client")))?;
        }
        if self.plain_server == self.plain_user.is_empty() {
            bail!("{} and {} go together", flag("plain-server"), flag("plain-user USER:PASS"));
        }
        for (name, key) in [("curve-server", &self.curve_server), ("curve-secret", &self.curve_secret)] {
            if let Some(k) = key {
                curve_public(k).map_err(|e| anyhow!("{}: not a Z85 secret key: {e}", flag(name)))?;
            }
        }
        if let Some(k) = &self.curve_serverkey {
            let raw = libsock::z85_decode(k)
                .map_err(|e| anyhow!("{}: not a Z85 key: {e}", flag("curve-serverkey")))?;
            if raw.len() != 32 {
                bail!("{}: a key is 40 Z85 characters, got {}", flag("curve-serverkey"), k.len());
            }
        }
        if let Some(p) = &self.plain {
            user_pass(p, &flag("plain"))?;
        }
        for p in &self.plain_user {
            user_pass(p, &flag("plain-user"))?;
        }
        Ok(())
    }

    /// Applies the flags to `socket` (before bind/connect); a PLAIN server also gets the
    /// authenticator, which must live as long as the socket.
    pub fn apply(&self, ctx: &Context, socket: &Socket) -> Result<Option<Authenticator>> {
        if let Some(secret) = &self.curve_server {
            socket.set_curve_server(true)?;
            socket.set_curve_secretkey(secret.as_bytes())?;
            tracing::info!(public = %curve_public(secret)?, clients = self.curve_client.len(), "CURVE server");
            if !self.curve_client.is_empty() {
                let keys = self.curve_client.iter().map(|k| public_key(k)).collect::<Result<Vec<_>>>()?;
                let auth = Authenticator::start(ctx).context("cannot start the CURVE authenticator")?;
                auth.set_curve_keys(keys);
                return Ok(Some(auth));
            }
        }
        if let Some(server) = &self.curve_serverkey {
            let (public, secret) = match &self.curve_secret {
                Some(s) => (curve_public(s)?, s.clone()),
                None => curve_keypair(),
            };
            socket.set_curve_serverkey(server.as_bytes())?;
            socket.set_curve_publickey(public.as_bytes())?;
            socket.set_curve_secretkey(secret.as_bytes())?;
            tracing::info!(public = %public, "CURVE client");
        }
        if let Some(p) = &self.plain {
            let (user, pass) = user_pass(p, "--plain")?;
            socket.set_plain_username(user.as_bytes())?;
            socket.set_plain_password(pass.as_bytes())?;
        }
        if !self.plain_server {
            return Ok(None);
        }
        socket.set_plain_server(true)?;
        let auth = Authenticator::start(ctx).context("cannot start the PLAIN authenticator")?;
        let users =
            self.plain_user.iter().map(|p| user_pass(p, "--plain-user")).collect::<Result<Vec<_>>>()?;
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
