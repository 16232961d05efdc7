//! The authenticator's decisions, as pure functions over a ZAP request (testable without
//! sockets), and the PLAIN password file it reads (certificates: [`super::certs`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use std::time::Instant;

use super::clients::Clients;
use crate::error::{Error, Result};
use crate::sys::followed::Followed;
use crate::z85::z85_encode;

/// User name → password.
pub(crate) type Users = HashMap<Vec<u8>, Vec<u8>>;

/// Who may connect. Empty lists and no mechanism configuration mean: NULL peers are admitted,
/// PLAIN and CURVE peers refused (as pyzmq's and czmq's authenticators do).
#[derive(Debug, Default, Clone)]
pub(crate) struct Policy {
    /// If not empty, only these addresses may connect.
    pub allow: HashSet<String>,
    /// These addresses may not connect (ignored when `allow` is not empty).
    pub deny: HashSet<String>,
    /// PLAIN: user name → password.
    pub passwords: Option<Passwords>,
    /// CURVE: any key, or these clients.
    pub curve: Option<CurvePolicy>,
}

#[derive(Debug, Clone)]
pub(crate) enum CurvePolicy {
    AllowAny,
    Clients(Clients),
}

/// A decision: status code, status text, user id.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub status: &'static str,
    pub text: String,
    pub user_id: Vec<u8>,
}

fn verdict(status: &'static str, text: impl Into<String>, user_id: &[u8]) -> Verdict {
    Verdict { status, text: text.into(), user_id: user_id.to_vec() }
}

impl Policy {
    /// Judges one request: `address` and `mechanism` plus its credentials.
    pub fn decide(&self, address: &str, mechanism: &[u8], credentials: &[Vec<u8>]) -> Verdict {
        if !self.allow.is_empty() {
            if !self.allow.contains(address) {
                return verdict("400", "address not allowed", b"");
            }
        } else if self.deny.contains(address) {
            return verdict("400", "address denied", b"");
        }
        match (mechanism, credentials) {
            (b"NULL", _) => verdict("200", "OK", b""),
            (b"PLAIN", [user, pass]) => match &self.passwords {
                Some(p) if p.users.get(user) == Some(pass) => verdict("200", "OK", user),
                Some(_) => verdict("400", "invalid user name or password", b""),
                None => verdict("400", "PLAIN is not configured", b""),
            },
            (b"CURVE", [key]) if key.len() == 32 => {
                let text = z85_encode(key).unwrap_or_default();
                let known = match &self.curve {
                    Some(CurvePolicy::AllowAny) => true,
                    Some(CurvePolicy::Clients(clients)) => {
                        <[u8; 32]>::try_from(&key[..]).is_ok_and(|k| clients.admits(&k))
                    }
                    None => return verdict("400", "CURVE is not configured", b""),
                };
                if known {
                    verdict("200", "OK", text.as_bytes())
                } else {
                    verdict("400", "unknown public key", b"")
                }
            }
            _ => verdict("400", "unsupported mechanism or malformed credentials", b""),
        }
    }

    /// Reads the files again (after they changed on disk).
    pub fn reload(&mut self) -> Result<()> {
        if let Some(Passwords { file: Some(file), .. }) = &self.passwords {
            self.passwords = Some(Passwords::read(&file.paths()[0].clone())?);
        }
        if let Some(CurvePolicy::Clients(clients)) = &self.curve {
            self.curve = Some(CurvePolicy::Clients(clients.read_again()?));
        }
        Ok(())
    }

    /// Before a decision: reads again the certificates that changed on disk.
    pub fn refresh(&mut self, now: std::time::Instant) {
        if let Some(CurvePolicy::Clients(clients)) = &mut self.curve {
            clients.refresh(now);
        }
        if let Some(passwords) = &mut self.passwords {
            passwords.refresh(now);
        }
    }
}

/// PLAIN accounts, and the password file they come from (with what it looked like when read
/// and when it was last looked at), if any.
#[derive(Debug, Clone)]
pub(crate) struct Passwords {
    pub users: Users,
    /// The password file, if the accounts come from one.
    file: Option<Followed>,
}

impl Passwords {
    /// Accounts kept in memory.
    pub fn fixed(users: Users) -> Passwords {
        Passwords { users, file: None }
    }

    /// The accounts of a password file.
    pub fn read(path: &Path) -> Result<Passwords> {
        let file = Followed::new(vec![path.to_owned()]);
        let users = read_passwords(path)?;
        Ok(Passwords { users, file: Some(file) })
    }

    /// Reads the file again if it changed ([`Followed::changed`]); a version that does
    /// not read leaves the accounts in force and is logged.
    fn refresh(&mut self, now: Instant) {
        let Some(file) = &mut self.file else { return };
        if !file.changed(now) {
            return;
        }
        let path = &file.paths()[0];
        match read_passwords(path) {
            Ok(users) if users == self.users => {}
            Ok(users) => {
                tracing::info!(
                    "{} changed: {} PLAIN account(s) (were {})",
                    path.display(),
                    users.len(),
                    self.users.len()
                );
                self.users = users;
            }
            Err(e) => tracing::warn!("{e}; the accounts read before stay in force"),
        }
    }
}

/// A password file: one `user=password` per line; blank lines and `#` comments are skipped.
pub(crate) fn read_passwords(path: &Path) -> Result<Users> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("{}: cannot read password file: {e}", path.display())))?;
    parse_passwords(&text).map_err(|(line, why)| Error::invalid(format!("{}:{line}: {why}", path.display())))
}

/// Parses a password file's text; an error names the line.
pub(crate) fn parse_passwords(text: &str) -> std::result::Result<Users, (usize, String)> {
    let mut users = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, pass)) = line.split_once('=') else {
            return Err((i + 1, "expected user=password".into()));
        };
        if user.is_empty() || user.len() > 255 || pass.len() > 255 {
            return Err((i + 1, "user name must be 1-255 bytes, password at most 255".into()));
        }
        users.insert(user.as_bytes().to_vec(), pass.as_bytes().to_vec());
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(users: &[(&str, &str)]) -> Policy {
        let map = users.iter().map(|(u, p)| (u.as_bytes().to_vec(), p.as_bytes().to_vec())).collect();
        Policy { passwords: Some(Passwords::fixed(map)), ..Policy::default() }
    }

    #[test]
    fn plain_passwords_decide() {
        let p = plain(&[("admin", "secret")]);
        let ok = p.decide("1.2.3.4", b"PLAIN", &[b"admin".to_vec(), b"secret".to_vec()]);
        assert_eq!((ok.status, &ok.user_id[..]), ("200", &b"admin"[..]));
        assert_eq!(p.decide("1.2.3.4", b"PLAIN", &[b"admin".to_vec(), b"nope".to_vec()]).status, "400");
        assert_eq!(p.decide("1.2.3.4", b"PLAIN", &[b"eve".to_vec(), b"secret".to_vec()]).status, "400");
        assert_eq!(Policy::default().decide("1.2.3.4", b"PLAIN", &[vec![], vec![]]).status, "400");
        assert_eq!(p.decide("1.2.3.4", b"GSSAPI", &[]).status, "400");
    }

    #[test]
    fn addresses_allow_and_deny() {
        let mut p = Policy::default();
        assert_eq!(p.decide("1.2.3.4", b"NULL", &[]).status, "200");
        p.deny.insert("1.2.3.4".into());
        assert_eq!(p.decide("1.2.3.4", b"NULL", &[]).status, "400");
        assert_eq!(p.decide("5.6.7.8", b"NULL", &[]).status, "200");
        p.allow.insert("5.6.7.8".into());
        assert_eq!(p.decide("9.9.9.9", b"NULL", &[]).status, "400");
        assert_eq!(p.decide("5.6.7.8", b"NULL", &[]).status, "200");
    }

    #[test]
    fn curve_keys_decide_and_user_id_is_the_z85_key() {
        let key = [7u8; 32];
        let clients = Clients::read([super::super::CurveClient::Key(key)]).unwrap();
        let mut p = Policy { curve: Some(CurvePolicy::Clients(clients)), ..Policy::default() };
        let ok = p.decide("1.2.3.4", b"CURVE", &[key.to_vec()]);
        assert_eq!(ok.status, "200");
        assert_eq!(ok.user_id, z85_encode(&key).unwrap().into_bytes());
        assert_eq!(p.decide("1.2.3.4", b"CURVE", &[vec![8; 32]]).status, "400");
        p.curve = Some(CurvePolicy::AllowAny);
        assert_eq!(p.decide("1.2.3.4", b"CURVE", &[vec![8; 32]]).status, "200");
        assert_eq!(p.decide("1.2.3.4", b"CURVE", &[vec![8; 31]]).status, "400");
    }

    #[test]
    fn files_parse_with_line_numbers_on_errors() {
        let users = parse_passwords("# users\n\nadmin=secret\nbob=a=b\n").unwrap();
        assert_eq!(users.get(&b"bob"[..]), Some(&b"a=b".to_vec()));
        assert_eq!(parse_passwords("ok=1\nbroken\n").unwrap_err().0, 2);
    }
}
