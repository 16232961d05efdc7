//! Z85 (RFC 32), the text form of CURVE keys, and key pair helpers with libzmq's names.
//!
//! Z85 turns every 4 bytes into 5 printable characters, so a 32-byte key is 40 characters;
//! the input length must be a multiple of 4 (and the text's a multiple of 5).

use crypto_box::aead::OsRng;
use crypto_box::SecretKey;

use crate::error::{Error, Result};

const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// `DECODE[c - 32]` is the value of character `c`, or 0xFF if it is not in the alphabet.
const DECODE: [u8; 96] = {
    let mut table = [0xFFu8; 96];
    let mut i = 0;
    while i < 85 {
        table[(ALPHABET[i] - 32) as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes `data` (length a multiple of 4) as Z85 text, like `zmq_z85_encode`.
pub fn z85_encode(data: &[u8]) -> Result<String> {
    if data.len() % 4 != 0 {
        return Err(Error::invalid(format!("Z85 encodes multiples of 4 bytes, got {}", data.len())));
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        out.extend(digits.iter().map(|&b| b as char));
    }
    Ok(out)
}

/// Decodes Z85 text (length a multiple of 5), like `zmq_z85_decode`. Characters outside the
/// alphabet, groups whose value overflows 32 bits and empty text (as libzmq has it) are
/// errors.
pub fn z85_decode(text: &str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(Error::invalid("empty Z85 text"));
    }
    if bytes.len() % 5 != 0 {
        return Err(Error::invalid(format!("Z85 text length must be a multiple of 5, got {}", bytes.len())));
    }
    let mut out = Vec::with_capacity(bytes.len() / 5 * 4);
    for chunk in bytes.chunks_exact(5) {
        let mut value: u64 = 0;
        for &c in chunk {
            let digit = c.checked_sub(32).and_then(|i| DECODE.get(i as usize)).copied().unwrap_or(0xFF);
            if digit == 0xFF {
                return Err(Error::invalid(format!("invalid Z85 character {:?}", c as char)));
            }
            value = value * 85 + u64::from(digit);
        }
        let value = u32::try_from(value).map_err(|_| Error::invalid("Z85 group overflows 32 bits"))?;
        out.extend_from_slice(&value.to_be_bytes());
    }
    Ok(out)
}

/// A CURVE key as libzmq options take it: 32 raw bytes, or 40 Z85 characters.
pub(crate) fn parse_key(value: &[u8], name: &str) -> Result<[u8; 32]> {
    let raw = match value.len() {
        32 => value.to_vec(),
        40 | 41 if value.len() == 40 || value[40] == 0 => {
            let text =
                std::str::from_utf8(&value[..40]).map_err(|_| Error::invalid(format!("{name}: not Z85")))?;
            z85_decode(text)?
        }
        n => return Err(Error::invalid(format!("{name} takes 32 bytes or 40 Z85 characters, got {n}"))),
    };
    raw.try_into().map_err(|_| Error::invalid(format!("{name}: bad key")))
}

/// A fresh CURVE key pair from the OS random generator, as Z85 text `(public, secret)`,
/// like `zmq_curve_keypair`.
pub fn curve_keypair() -> (String, String) {
    let secret = SecretKey::generate(&mut OsRng);
    let public = secret.public_key();
    let z = |k: &[u8; 32]| z85_encode(k).expect("32 is a multiple of 4");
    (z(public.as_bytes()), z(&secret.to_bytes()))
}

/// A fresh CURVE key pair in raw bytes (the `zmq` crate's `CurveKeyPair`), for the
/// `set_curve_*key` options, which take raw or Z85 keys.
///
/// ```
/// let pair = libsock::CurveKeyPair::new()?;
/// let public = libsock::curve_public(&libsock::z85_encode(&pair.secret_key)?)?;
/// assert_eq!(libsock::z85_decode(&public)?, pair.public_key);
/// # Ok::<(), libsock::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CurveKeyPair {
    /// The public key (32 bytes).
    pub public_key: [u8; 32],
    /// The secret key (32 bytes).
    pub secret_key: [u8; 32],
}

impl CurveKeyPair {
    /// A new key pair from the OS random generator. The `Result` is the `zmq` crate's
    /// signature; it is always `Ok` here.
    pub fn new() -> Result<CurveKeyPair> {
        let secret = SecretKey::generate(&mut OsRng);
        Ok(CurveKeyPair { public_key: *secret.public_key().as_bytes(), secret_key: secret.to_bytes() })
    }
}

/// The public key of a Z85 secret key, like `zmq_curve_public`.
pub fn curve_public(secret_z85: &str) -> Result<String> {
    let secret = parse_key(secret_z85.as_bytes(), "secret key")?;
    let public = SecretKey::from_bytes(secret).public_key();
    z85_encode(public.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_32_test_vector() {
        let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(z85_encode(&data).unwrap(), "HelloWorld");
        assert_eq!(z85_decode("HelloWorld").unwrap(), data);
    }

    #[test]
    fn libzmq_test_keys_round_trip() {
        // The key pair from libzmq's tests/testutil_security.hpp.
        let public = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        let secret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
        assert_eq!(curve_public(secret).unwrap(), public);
        assert_eq!(z85_encode(&z85_decode(public).unwrap()).unwrap(), public);
    }

    #[test]
    fn keypairs_are_fresh_and_consistent() {
        let (p1, s1) = curve_keypair();
        let (p2, _) = curve_keypair();
        assert_ne!(p1, p2);
        assert_eq!((p1.len(), s1.len()), (40, 40));
        assert_eq!(curve_public(&s1).unwrap(), p1);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(z85_encode(&[1, 2, 3]).is_err());
        assert!(z85_decode("abcd").is_err());
        assert!(z85_decode("").is_err(), "libzmq refuses empty text (and encodes no bytes as it)");
        assert_eq!(z85_encode(&[]).unwrap(), "");
        assert!(z85_decode("abc\"d").is_err());
        assert!(z85_decode("%%%%%").is_err()); // overflows 32 bits
        assert!(z85_decode("é1234").is_err());
        assert!(parse_key(&[0; 31], "k").is_err());
        assert!(parse_key(b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\0", "k").is_ok());
    }
}
