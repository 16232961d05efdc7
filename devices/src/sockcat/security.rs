//! sockcat's security: the shared flags ([`SecurityArgs`], also sockdev's per side) and
//! `sockcat keygen`.

use libsock::curve_keypair;

pub use crate::security::SecurityArgs;

/// `sockcat keygen`: a fresh CURVE key pair as `public: KEY` and `secret: KEY` lines.
pub fn keygen() -> String {
    let (public, secret) = curve_keypair();
    format!("public: {public}\nsecret: {secret}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_prints_a_consistent_pair() {
        let text = keygen();
        let lines: Vec<&str> = text.lines().collect();
        let public = lines[0].strip_prefix("public: ").unwrap();
        let secret = lines[1].strip_prefix("secret: ").unwrap();
        assert_eq!(libsock::curve_public(secret).unwrap(), public);
    }
}
