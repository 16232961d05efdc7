//! CURVE keys as an operator gives them, in a flag or a settings file: the key itself (40 Z85
//! characters), or the path of a certificate file as czmq's `zcert_save` and pyzmq's
//! `zmq.auth.create_certificates` write it (`NAME.key` public, `NAME.key_secret` secret), or,
//! for the clients a server admits, a directory of certificates (the zguide's
//! Ironhouse layout, as czmq's `zauth` and pyzmq's `configure_curve` read it).
//!
//! A relative path is taken from `base` (the settings file's directory; `Path::new("")` for
//! the working directory). A value that is neither a key nor an existing file is reported as
//! a bad key: it is most likely a mistyped one.

use std::path::Path;

/// Whether `value` is a key itself (40 characters that decode as Z85), not a file name.
pub fn is_key(value: &str) -> bool {
    value.len() == 40 && libsock::z85_decode(value).is_ok()
}

/// `value` as a file name under `base`, when it is not a key and names an existing file.
fn as_file(value: &str, base: &Path) -> Option<std::path::PathBuf> {
    let path = base.join(value);
    (!is_key(value) && path.exists()).then_some(path)
}

/// A secret key setting's Z85 secret key: the value itself, or the secret of the certificate
/// file it names (a public certificate is refused: it has no secret).
pub fn secret_key_from(value: &str, base: &Path) -> Result<String, String> {
    let Some(path) = as_file(value, base) else {
        libsock::curve_public(value)
            .map_err(|e| format!("not a Z85 secret key (nor a certificate file): {e}"))?;
        return Ok(value.to_owned());
    };
    match libsock::load_certificate(&path).map_err(|e| e.to_string())? {
        (_, Some(secret)) => Ok(secret),
        (_, None) => {
            Err(format!("{} is a public certificate: give the secret one (NAME.key_secret)", path.display()))
        }
    }
}

/// A public key setting's Z85 public key: the value itself, or the public key of the
/// certificate file it names (public or secret).
pub fn public_key_from(value: &str, base: &Path) -> Result<String, String> {
    match as_file(value, base) {
        Some(path) => Ok(libsock::load_certificate(&path).map_err(|e| e.to_string())?.0),
        None => public_key(value).map(|_| value.to_owned()),
    }
}

/// The clients a server admits, from one setting's value: a Z85 public key, a certificate
/// file, or every certificate in a directory (`libsock::load_certificates`: pyzmq's `*.key`
/// files and czmq's other names; an empty one is an error: it would
/// admit nobody).
pub fn client_keys_from(value: &str, base: &Path) -> Result<Vec<String>, String> {
    match as_file(value, base) {
        Some(dir) if dir.is_dir() => {
            let keys = libsock::load_certificates(&dir).map_err(|e| e.to_string())?;
            if keys.is_empty() {
                return Err(format!("no certificate in {}: it would admit nobody", dir.display()));
            }
            Ok(keys)
        }
        _ => public_key_from(value, base).map(|k| vec![k]),
    }
}

/// The same clients as [`client_keys_from`], as a ZAP handler watches them
/// (`libsock::Authenticator::set_curve_clients`): a key as it is, a certificate file or a
/// directory of certificates by its path, read again by the handler whenever it changes, so
/// that a certificate added to a directory admits its client and one removed refuses it
/// without a restart. Checked now as [`client_keys_from`] checks it.
pub fn client_source_from(value: &str, base: &Path) -> Result<libsock::CurveClient, String> {
    client_keys_from(value, base)?;
    Ok(match as_file(value, base) {
        Some(dir) if dir.is_dir() => libsock::CurveClient::Directory(dir),
        Some(file) => libsock::CurveClient::Certificate(file),
        None => libsock::CurveClient::Key(public_key(value)?),
    })
}

/// A Z85 public key's 32 bytes, or why not.
pub fn public_key(text: &str) -> Result<[u8; 32], String> {
    let raw =
        libsock::z85_decode(text).map_err(|e| format!("not a Z85 key (nor a certificate file): {e}"))?;
    raw.try_into().map_err(|raw: Vec<u8>| format!("a key is 32 bytes (40 Z85 characters), got {}", raw.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_certificates_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let (public_cert, secret_cert) = libsock::create_certificates(base, "server").unwrap();
        let (public, secret) = libsock::load_certificate(&secret_cert).unwrap();
        let secret = secret.unwrap();
        std::fs::create_dir(base.join("clients")).unwrap();
        let (alice, _) = libsock::create_certificates(base.join("clients"), "alice").unwrap();
        let alice = libsock::load_certificate(alice).unwrap().0;

        // Relative names are read under `base`; keys are taken as they are.
        assert_eq!(secret_key_from("server.key_secret", base), Ok(secret.clone()));
        assert_eq!(secret_key_from(&secret, base), Ok(secret.clone()));
        assert_eq!(public_key_from("server.key", base), Ok(public.clone()));
        assert_eq!(public_key_from("server.key_secret", base), Ok(public.clone()));
        assert_eq!(public_key_from(&public, Path::new("/nonexistent")), Ok(public.clone()));
        assert_eq!(client_keys_from("clients", base), Ok(vec![alice]));
        assert_eq!(client_keys_from(&public, base), Ok(vec![public.clone()]));
        use libsock::CurveClient;
        assert_eq!(client_source_from("clients", base), Ok(CurveClient::Directory(base.join("clients"))));
        assert_eq!(
            client_source_from("server.key", base),
            Ok(CurveClient::Certificate(base.join("server.key")))
        );
        assert_eq!(client_source_from(&public, base), Ok(CurveClient::Key(public_key(&public).unwrap())));
        // An absolute path stays as it is.
        let absolute = public_cert.display().to_string();
        assert_eq!(public_key_from(&absolute, Path::new("elsewhere")), Ok(public));

        let err = secret_key_from("server.key", base).unwrap_err();
        assert!(err.contains("give the secret one"), "{err}");
        let err = secret_key_from("mistyped", base).unwrap_err();
        assert!(err.contains("not a Z85 secret key (nor a certificate file)"), "{err}");
        let err = public_key_from("mistyped", base).unwrap_err();
        assert!(err.contains("not a Z85 key (nor a certificate file)"), "{err}");
        std::fs::create_dir(base.join("empty")).unwrap();
        let err = client_keys_from("empty", base).unwrap_err();
        assert!(err.contains("admit nobody"), "{err}");
        assert_eq!(client_source_from("empty", base), Err(err));
        assert!(!is_key("server.key") && is_key(&secret));
    }
}
