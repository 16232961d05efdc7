//! The CURVE key pair that secures links between a topology's workers
//! (`topology.worker.curve.secretkey`): one secret shared by every worker, so each is both the
//! server its peers check and a client that proves it holds the same key.

use std::collections::HashSet;
use std::fmt;

/// A topology's worker key pair, as Z85 text. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkerKey {
    public: String,
    secret: String,
}

/// Secret keys published in ZeroMQ's documentation and tests: anyone may hold them.
const PUBLISHED: [&str; 2] =
    ["JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"];

impl WorkerKey {
    /// A fresh random key pair (what `sockflow keygen` prints), whose secret has no `$`.
    ///
    /// Z85 has `$`, `{` and `}`, and a topology file's text goes through `${...}`
    /// substitution before it is parsed: a key written in the file (or the throwaway one
    /// `sockflow deploy` checks with) that held `${` would be read as a property and fail.
    /// About 62 % of keys have no `$`; skipping the others costs under a bit of the 256.
    pub fn generate() -> WorkerKey {
        loop {
            let (public, secret) = libsock::curve_keypair();
            if !secret.contains('$') {
                return WorkerKey { public, secret };
            }
        }
    }

    /// Checks a Z85 secret key (surrounding whitespace, as a file's final newline, is
    /// ignored) and derives its public key. Errors never quote the key.
    pub fn from_secret(z85: &str) -> Result<WorkerKey, String> {
        let z85 = z85.trim();
        if z85.len() != 40 {
            return Err(format!(
                "expected a Z85 CURVE secret key of 40 characters, got {} (make one with `sockflow keygen`)",
                z85.len()
            ));
        }
        let raw = libsock::z85_decode(z85).map_err(|_| "not a Z85 key (bad characters)".to_owned())?;
        if raw.iter().collect::<HashSet<_>>().len() < 12 || PUBLISHED.contains(&z85) {
            // A random key has about 31 distinct bytes of 32: this one was typed or copied.
            return Err(
                "this secret key is not random or is published: make one with `sockflow keygen`".into()
            );
        }
        let public = libsock::curve_public(z85).map_err(|e| format!("bad secret key: {e}"))?;
        Ok(WorkerKey { public, secret: z85.to_owned() })
    }

    /// The public key (Z85): every worker's server key, and the only client key admitted.
    pub fn public(&self) -> &str {
        &self.public
    }

    /// The secret key (Z85), for the sockets' options only: never log it.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for WorkerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerKey").field("public", &self.public).field("secret", &"<redacted>").finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_the_secret_never_shows() {
        let k = WorkerKey::generate();
        let again = WorkerKey::from_secret(&format!("{}\n", k.secret())).unwrap();
        assert_eq!(again, k);
        assert!(!format!("{k:?}").contains(k.secret()), "{k:?}");
        assert!(WorkerKey::from_secret(&k.secret()[1..]).unwrap_err().contains("40 characters"));
        assert!(WorkerKey::from_secret(&"a\"".repeat(20)).unwrap_err().contains("Z85"));
        assert!(WorkerKey::from_secret(&"0".repeat(40)).unwrap_err().contains("not random"));
        assert!(WorkerKey::from_secret(PUBLISHED[0]).unwrap_err().contains("published"));
    }

    #[test]
    fn generated_secrets_never_hold_a_dollar_so_substitution_leaves_them_alone() {
        // With any Z85 key, 1 000 draws hold a `$` with near certainty ((84/85)^40 = 0.62).
        for _ in 0..1000 {
            assert!(!WorkerKey::generate().secret().contains('$'));
        }
    }
}
