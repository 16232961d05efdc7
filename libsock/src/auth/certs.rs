//! CURVE certificates as czmq's `zcert` saves them and pyzmq's `zmq.auth` writes and reads
//! them: a public certificate `NAME.key` (`public-key`) and a secret one `NAME.key_secret`
//! (`public-key` and `secret-key`), in ZPL (ZeroMQ Property Language, RFC 4): a `curve`
//! section whose indented lines are `name = "value"`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::z85::{curve_keypair, curve_public, z85_decode, z85_encode};

/// The keys in a certificate's text: the public key, and the secret key if it has one
/// (checked against each other). An error names the line (0: the whole text).
pub(crate) fn parse_keys(text: &str) -> std::result::Result<(String, Option<String>), (usize, String)> {
    let (mut public, mut secret) = (None, None);
    let mut section = "";
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let top_level = trimmed.len() == line.len();
        let Some((name, value)) = trimmed.split_once('=') else {
            if top_level {
                section = trimmed; // "metadata", "curve"
            }
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        // Keys in the `curve` section, or (as pyzmq reads them) at the top level; never the
        // ones a `metadata` section may hold.
        let slot = match (if top_level { "" } else { section }, name) {
            ("curve" | "", "public-key") => &mut public,
            ("curve" | "", "secret-key") => &mut secret,
            _ => continue,
        };
        let key = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        match z85_decode(key) {
            Ok(bytes) if bytes.len() == 32 => *slot = Some((i + 1, key.to_owned())),
            Ok(_) => return Err((i + 1, format!("{name} is not a 32-byte key"))),
            Err(e) => return Err((i + 1, format!("bad {name}: {e}"))),
        }
    }
    let Some((_, public)) = public else {
        return Err((0, "no public-key: not a CURVE certificate".into()));
    };
    if let Some((line, secret)) = &secret {
        let derived = curve_public(secret).map_err(|e| (*line, format!("bad secret-key: {e}")))?;
        if derived != public {
            return Err((*line, "secret-key is not public-key's secret".into()));
        }
    }
    Ok((public, secret.map(|(_, s)| s)))
}

/// The keys in a certificate's text (czmq's `zcert` format): its Z85 public key, and its
/// secret key if it has one (which must be that public key's). An error names the line.
pub fn parse_certificate(text: &str) -> Result<(String, Option<String>)> {
    parse_keys(text).map_err(|(line, why)| match line {
        0 => Error::invalid(why),
        n => Error::invalid(format!("line {n}: {why}")),
    })
}

fn invalid(path: &Path, (line, why): (usize, String)) -> Error {
    match line {
        0 => Error::invalid(format!("{}: {why}", path.display())),
        n => Error::invalid(format!("{}:{n}: {why}", path.display())),
    }
}

/// Reads a certificate file: its Z85 public key, and its secret key if it is a secret
/// certificate (pyzmq's `zmq.auth.load_certificate`).
pub fn load_certificate(path: impl AsRef<Path>) -> Result<(String, Option<String>)> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("{}: cannot read certificate: {e}", path.display())))?;
    parse_keys(&text).map_err(|e| invalid(path, e))
}

/// The Z85 public keys of the certificates in `dir`, sorted: what
/// [`crate::Authenticator::configure_curve`] admits. Both libraries' layouts are read:
/// pyzmq's (`zmq.auth.load_certificates`: every `*.key` file, each of which must read as a
/// certificate) and czmq's (`zcertstore`: every other regular file whose name does not end
/// in `_secret` and that reads as a certificate, e.g. the zguide's `client.pub` or
/// `mycert.txt`; a file that does not, such as a README, is skipped as czmq skips it).
/// Secret certificates (`*_secret`) are never read. Subdirectories are not read (czmq
/// flattens them).
pub fn load_certificates(dir: impl AsRef<Path>) -> Result<Vec<String>> {
    let keys = read_certificates(dir.as_ref())?;
    let mut keys: Vec<String> = keys.iter().map(|k| z85_encode(k).expect("32 is a multiple of 4")).collect();
    keys.sort();
    Ok(keys)
}

/// The largest file not named `*.key` that a certificate directory's reading looks into.
const MAX_OTHER_FILE: u64 = 64 * 1024;

/// [`load_certificates`] as raw keys: the first unreadable `*.key` file is an error.
pub(crate) fn read_certificates(dir: &Path) -> Result<HashSet<[u8; 32]>> {
    let scan = scan_certificates(dir)?;
    match scan.broken.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(scan.keys),
    }
}

/// What a certificate directory holds.
pub(crate) struct Scan {
    /// The public keys of the certificates that read.
    pub keys: HashSet<[u8; 32]>,
    /// Why each `*.key` file that does not read (pyzmq's name: it must be a certificate).
    pub broken: Vec<Error>,
}

/// Reads a certificate directory as [`load_certificates`] does, but goes on past `*.key`
/// files that do not read: a directory watched while an operator edits it has some.
pub(crate) fn scan_certificates(dir: &Path) -> Result<Scan> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::invalid(format!("{}: cannot read certificate directory: {e}", dir.display())))?;
    let mut scan = Scan { keys: HashSet::new(), broken: Vec::new() };
    for entry in entries {
        let entry = entry.map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // (metadata follows symlinks: a link to a certificate counts, as in czmq)
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if name.ends_with("_secret") || !meta.is_file() {
            continue;
        }
        let pyzmq = path.extension().is_some_and(|e| e == "key");
        // Any other file is read only if it could be a certificate (a few hundred bytes).
        if !pyzmq && meta.len() > MAX_OTHER_FILE {
            continue;
        }
        match (pyzmq, certificate_key(&path)) {
            (_, Ok(key)) => {
                scan.keys.insert(key);
            }
            (true, Err(e)) => scan.broken.push(e),
            (false, Err(_)) => {}
        }
    }
    Ok(scan)
}

/// The raw public key of the certificate file at `path`.
pub(crate) fn certificate_key(path: &Path) -> Result<[u8; 32]> {
    let (public, _) = load_certificate(path)?;
    let raw = z85_decode(&public).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    raw.try_into().map_err(|_| Error::invalid(format!("{}: not a key", path.display())))
}

const HEADER: &str = "#   ****  Generated by libsock  ****\n";

/// The text of a public certificate for `public_z85`, in czmq's format.
pub fn public_certificate(public_z85: &str) -> String {
    format!(
        "{HEADER}#   ZeroMQ CURVE Public Certificate\n\nmetadata\ncurve\n    public-key = \"{public_z85}\"\n"
    )
}

/// The text of a secret certificate for a key pair, in czmq's format.
pub fn secret_certificate(public_z85: &str, secret_z85: &str) -> String {
    format!(
        "{HEADER}#   ZeroMQ CURVE **Secret** Certificate\n\
         #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n\
         metadata\ncurve\n    public-key = \"{public_z85}\"\n    secret-key = \"{secret_z85}\"\n"
    )
}

/// Makes a fresh key pair and writes it as `dir/NAME.key` (public) and `dir/NAME.key_secret`
/// (secret, readable by its owner only), as pyzmq's `zmq.auth.create_certificates`; returns
/// the two paths. Existing files are not overwritten.
pub fn create_certificates(dir: impl AsRef<Path>, name: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = dir.as_ref();
    let (public, secret) = curve_keypair();
    let public_path = dir.join(format!("{name}.key"));
    let secret_path = dir.join(format!("{name}.key_secret"));
    write_new(&secret_path, &secret_certificate(&public, &secret), 0o600)?;
    if let Err(e) = write_new(&public_path, &public_certificate(&public), 0o644) {
        let _ = std::fs::remove_file(&secret_path); // no half pair left behind
        return Err(e);
    }
    Ok((public_path, secret_path))
}

fn write_new(path: &Path, text: &str, mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail =
        |e: std::io::Error| Error::invalid(format!("{}: cannot write certificate: {e}", path.display()));
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_round_trip_and_errors_name_the_line() {
        let (public, secret) = curve_keypair();
        assert_eq!(parse_keys(&public_certificate(&public)), Ok((public.clone(), None)));
        assert_eq!(
            parse_keys(&secret_certificate(&public, &secret)),
            Ok((public.clone(), Some(secret.clone())))
        );
        // As czmq writes them: metadata with values, unquoted names elsewhere ignored.
        let czmq = format!(
            "#   ****  Generated on 2026-01-01 by CZMQ  ****\n\nmetadata\n    name = \"public-key\"\n    \
             public-key = \"not this one\"\ncurve\n    public-key = \"{public}\"\n    secret-key = \"{secret}\"\n"
        );
        assert_eq!(parse_keys(&czmq), Ok((public.clone(), Some(secret.clone()))));
        assert_eq!(parse_keys("metadata\ncurve\n    public-key = \"short\"\n").unwrap_err().0, 3);
        assert_eq!(parse_keys("nothing here").unwrap_err().0, 0);
        assert_eq!(
            parse_keys(&format!("public-key = {public}\n")),
            Ok((public.clone(), None)),
            "pyzmq reads these"
        );
        let (_, other) = curve_keypair();
        let mismatched = secret_certificate(&public, &other);
        assert_eq!(parse_keys(&mismatched).unwrap_err(), (8, "secret-key is not public-key's secret".into()));
    }
}
