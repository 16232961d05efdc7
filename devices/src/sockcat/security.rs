//! sockcat's security: the shared flags ([`SecurityArgs`], also sockdev's per side) and
//! `sockcat keygen`.

use libsock::curve_keypair;

pub use crate::security::SecurityArgs;

/// `sockcat keygen`: a fresh CURVE key pair as `public: KEY` and `secret: KEY` lines.
pub fn keygen() -> String {
    let (public, secret) = curve_keypair();
    format!("public: {public}\nsecret: {secret}\n")
}

/// `sockcat keygen --cert PATH`: a fresh key pair as certificates `PATH.key` (public) and
/// `PATH.key_secret` (secret, mode 0600), czmq's and pyzmq's format; what it wrote.
pub fn keygen_certificates(path: &str) -> anyhow::Result<String> {
    let path = std::path::Path::new(path);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("{}: not a file name", path.display()))?;
    let (public, secret) = libsock::create_certificates(dir, name)?;
    let (key, _) = libsock::load_certificate(&public)?;
    Ok(format!("public: {key}\nwrote {} and {}\n", public.display(), secret.display()))
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
