//! The CURVE mechanism's command layouts (RFC 26, CurveZMQ) and the MESSAGE cipher.
//!
//! Boxes are NaCl `crypto_box` (X25519 + XSalsa20-Poly1305, from RustCrypto's `crypto_box`)
//! and the cookie is a `crypto_secretbox`; on the wire a box is its 16-byte MAC followed by
//! the ciphertext. Nonces are a 16-byte text prefix plus a big-endian 64-bit counter ("short"),
//! or an 8-byte prefix plus 16 random bytes ("long"):
//!
//! | command | size | layout after the name |
//! |---|---|---|
//! | HELLO | 200 | version `1 0`, 72 zero bytes (anti-amplification), C', short nonce, Box\[64 zeros\](C'→S) |
//! | WELCOME | 168 | 16-byte nonce, Box\[S' + cookie\](S→C'), cookie = 16-byte nonce + SecretBox\[C' + s'\](K) |
//! | INITIATE | ≥ 257 | cookie (96), short nonce, Box\[C + vouch nonce + vouch + metadata\](C'→S'), vouch = Box\[C' + S\](C→S') |
//! | READY | ≥ 30 | short nonce, Box\[metadata\](S'→C') |
//! | MESSAGE | ≥ 33 | short nonce, Box\[flags + body\](C'↔S') |
//!
//! The state machines that use these live in `session::mechanism`.

use crypto_box::aead::consts::{U16, U24};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{AeadInPlace, OsRng};
use crypto_box::{Nonce, PublicKey, SalsaBox, SecretKey};
use crypto_secretbox::{KeyInit, XSalsa20Poly1305};

use super::command;
use super::{CodecError, CommandName};

/// Poly1305 MAC length: every box is this much longer than its plaintext.
pub const MAC_LEN: usize = 16;
/// HELLO body size (name included), fixed.
pub const HELLO_SIZE: usize = 200;
/// WELCOME body size, fixed.
pub const WELCOME_SIZE: usize = 168;
/// Smallest INITIATE body (no metadata).
pub const INITIATE_MIN: usize = 257;
/// Smallest READY body.
pub const READY_MIN: usize = 30;
/// `\x07MESSAGE` + short nonce: where a MESSAGE's box starts.
pub const MESSAGE_HEADER: usize = 16;
/// A MESSAGE's plaintext (flags + body) starts here, after the MAC.
pub const MESSAGE_PLAINTEXT: usize = MESSAGE_HEADER + MAC_LEN;
/// Flag bits inside a MESSAGE's plaintext (libzmq's `msg_t::more` and `msg_t::command`).
pub const FLAG_MORE: u8 = 1;
/// The MESSAGE carries a command (PING, SUBSCRIBE, ...), not a message frame.
pub const FLAG_COMMAND: u8 = 2;

const COOKIE_LEN: usize = 96;

/// The boxes we use: 24-byte nonces, 16-byte tags.
trait Aead24: AeadInPlace<NonceSize = U24, TagSize = U16> {}
impl<T: AeadInPlace<NonceSize = U24, TagSize = U16>> Aead24 for T {}

/// A 24-byte nonce: 16-byte prefix + big-endian counter.
fn short_nonce(prefix: &[u8; 16], n: u64) -> Nonce {
    let mut nonce = Nonce::default();
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&n.to_be_bytes());
    nonce
}

/// A 24-byte nonce: 8-byte prefix + 16 given bytes.
fn long_nonce(prefix: &[u8; 8], rest: &[u8]) -> Nonce {
    let mut nonce = Nonce::default();
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(&rest[..16]);
    nonce
}

/// 16 bytes from the OS random generator.
fn random16() -> [u8; 16] {
    let mut r = [0u8; 16];
    OsRng.fill_bytes(&mut r);
    r
}

/// Appends MAC + ciphertext of `plaintext` to `out` (encrypted in place, no extra buffer).
fn seal(cipher: &impl Aead24, nonce: &Nonce, plaintext: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; MAC_LEN]);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(nonce, b"", &mut out[start + MAC_LEN..])
        .expect("XSalsa20-Poly1305 encrypts any length we send");
    out[start..start + MAC_LEN].copy_from_slice(&tag);
}

/// Opens MAC + ciphertext; a wrong key or a changed byte is [`CodecError::Cryptographic`].
fn open(cipher: &impl Aead24, nonce: &Nonce, boxed: &[u8]) -> Result<Vec<u8>, CodecError> {
    let (tag, ciphertext) = boxed.split_at_checked(MAC_LEN).ok_or(CodecError::MalformedCommand)?;
    let mut plain = ciphertext.to_vec();
    cipher
        .decrypt_in_place_detached(nonce, b"", &mut plain, GenericArray::from_slice(tag))
        .map_err(|_| CodecError::Cryptographic)?;
    Ok(plain)
}

/// The box with a key the peer sent; a low-order key is [`CodecError::WeakKey`] (see
/// [`BoxKey::new`]).
fn peer_box(peer: &PublicKey, secret: &SecretKey) -> Result<XSalsa20Poly1305, CodecError> {
    Ok(BoxKey::new(peer, secret)?.aead())
}

fn key32(bytes: &[u8]) -> [u8; 32] {
    bytes[..32].try_into().expect("caller checked the length")
}

/// Client: appends HELLO, signed with our short-term key for the server's long-term key.
pub fn encode_hello(out: &mut Vec<u8>, server: &PublicKey, cn_secret: &SecretKey, nonce: u64) {
    let mut signature = Vec::with_capacity(80);
    let cipher = SalsaBox::new(server, cn_secret);
    seal(&cipher, &short_nonce(b"CurveZMQHELLO---", nonce), &[0; 64], &mut signature);
    let cn_public = cn_secret.public_key();
    let parts: [&[u8]; 5] = [&[1, 0], &[0; 72], cn_public.as_bytes(), &nonce.to_be_bytes(), &signature];
    command::encode_command(out, "HELLO", &parts);
}

/// Server: checks a HELLO body (name included); returns the client's short-term key C' and
/// its nonce. Any size but 200, or a version but 1.0, is refused before any cryptography.
pub fn open_hello(body: &[u8], secret: &SecretKey) -> Result<(PublicKey, u64), CodecError> {
    if !body.starts_with(b"\x05HELLO") {
        return Err(CodecError::UnexpectedCommand { expected: "HELLO" });
    }
    if body.len() != HELLO_SIZE || body[6..8] != [1, 0] {
        return Err(CodecError::Malformed(CommandName::Hello));
    }
    let cn_client = PublicKey::from(key32(&body[80..112]));
    let nonce = u64::from_be_bytes(body[112..120].try_into().expect("8 bytes"));
    let cipher = peer_box(&cn_client, secret)?;
    open(&cipher, &short_nonce(b"CurveZMQHELLO---", nonce), &body[120..200])?;
    Ok((cn_client, nonce))
}

/// Server: appends WELCOME with a fresh short-term key S' whose secret travels only inside
/// the cookie, sealed with `cookie_key`. Returns the cookie's nonce (to bind INITIATE to
/// this connection). After this the server needs to remember nothing else.
pub fn encode_welcome(
    out: &mut Vec<u8>,
    cn_client: &PublicKey,
    secret: &SecretKey,
    cookie_key: &[u8; 32],
) -> [u8; 16] {
    let cn_secret = SecretKey::generate(&mut OsRng);
    let cookie_nonce = random16();
    let mut cookie_plain = [0u8; 64];
    cookie_plain[..32].copy_from_slice(cn_client.as_bytes());
    cookie_plain[32..].copy_from_slice(&cn_secret.to_bytes());
    let mut plain = Vec::with_capacity(128 + MAC_LEN);
    plain.extend_from_slice(cn_secret.public_key().as_bytes());
    plain.extend_from_slice(&cookie_nonce);
    let secretbox = XSalsa20Poly1305::new(cookie_key.into());
    seal(&secretbox, &long_nonce(b"COOKIE--", &cookie_nonce), &cookie_plain, &mut plain);
    let welcome_nonce = random16();
    let mut boxed = Vec::with_capacity(144);
    seal(&SalsaBox::new(cn_client, secret), &long_nonce(b"WELCOME-", &welcome_nonce), &plain, &mut boxed);
    command::encode_command(out, "WELCOME", &[&welcome_nonce, &boxed]);
    cookie_nonce
}

/// What a client learns from WELCOME.
pub struct Welcome {
    /// The server's short-term public key S'.
    pub cn_server: PublicKey,
    /// The opaque cookie to echo in INITIATE.
    pub cookie: [u8; COOKIE_LEN],
    /// The session key (C' and S') for INITIATE, READY and every MESSAGE.
    pub session: BoxKey,
}

/// Client: opens a WELCOME body (name included).
pub fn open_welcome(body: &[u8], server: &PublicKey, cn_secret: &SecretKey) -> Result<Welcome, CodecError> {
    if !body.starts_with(b"\x07WELCOME") {
        return Err(CodecError::UnexpectedCommand { expected: "WELCOME" });
    }
    if body.len() != WELCOME_SIZE {
        return Err(CodecError::Malformed(CommandName::Welcome));
    }
    let plain = open(&SalsaBox::new(server, cn_secret), &long_nonce(b"WELCOME-", &body[8..24]), &body[24..])?;
    let cookie = plain[32..128].try_into().expect("128-byte plaintext");
    let cn_server = PublicKey::from(key32(&plain));
    // Checked here, once, while making the session key.
    let session = BoxKey::new(&cn_server, cn_secret)?;
    Ok(Welcome { cn_server, cookie, session })
}

/// What the client proves and announces in INITIATE.
pub struct InitiateParams<'a> {
    /// Our long-term secret key c (it makes the vouch).
    pub secret: &'a SecretKey,
    /// Our long-term public key C, as configured (the box carries it; the server opens the
    /// vouch with it, so it must be c's).
    pub public: &'a PublicKey,
    /// Our short-term secret c'.
    pub cn_secret: &'a SecretKey,
    /// The server's long-term key S.
    pub server: &'a PublicKey,
    /// What WELCOME told us.
    pub welcome: &'a Welcome,
    /// Our short nonce for this command.
    pub nonce: u64,
    /// Our encoded metadata.
    pub metadata: &'a [u8],
}

/// Client: appends INITIATE: the cookie, and our long-term key vouching for C'.
pub fn encode_initiate(out: &mut Vec<u8>, p: &InitiateParams<'_>) {
    let vouch_nonce = random16();
    let mut vouch_plain = [0u8; 64];
    vouch_plain[..32].copy_from_slice(p.cn_secret.public_key().as_bytes());
    vouch_plain[32..].copy_from_slice(p.server.as_bytes());
    let mut plain = Vec::with_capacity(128 + p.metadata.len());
    plain.extend_from_slice(p.public.as_bytes());
    plain.extend_from_slice(&vouch_nonce);
    let vouch_box = SalsaBox::new(&p.welcome.cn_server, p.secret);
    seal(&vouch_box, &long_nonce(b"VOUCH---", &vouch_nonce), &vouch_plain, &mut plain);
    plain.extend_from_slice(p.metadata);
    let mut boxed = Vec::with_capacity(plain.len() + MAC_LEN);
    seal(&p.welcome.session.aead(), &short_nonce(b"CurveZMQINITIATE", p.nonce), &plain, &mut boxed);
    command::encode_command(out, "INITIATE", &[&p.welcome.cookie, &p.nonce.to_be_bytes(), &boxed]);
}

/// What a server learns from a valid INITIATE.
pub struct Initiate {
    /// The client's long-term public key C (what ZAP authorizes).
    pub client: PublicKey,
    /// The key for the rest of the connection (C' and s').
    pub session: BoxKey,
    /// The client's INITIATE nonce (its next MESSAGE must be higher).
    pub nonce: u64,
    /// The client's metadata, still encoded.
    pub metadata: Vec<u8>,
}

/// Server: opens an INITIATE body (name included), recovering C' and s' from the cookie.
/// `cookie_keys` are the current and previous cookie keys; `cookie_nonce` is the one this
/// connection's WELCOME used, so a cookie cannot be replayed onto another connection.
pub fn open_initiate(
    body: &[u8],
    cookie_keys: &[[u8; 32]],
    cookie_nonce: &[u8; 16],
    server: &PublicKey,
) -> Result<Initiate, CodecError> {
    if !body.starts_with(b"\x08INITIATE") {
        return Err(CodecError::UnexpectedCommand { expected: "INITIATE" });
    }
    if body.len() < INITIATE_MIN {
        return Err(CodecError::Malformed(CommandName::Initiate));
    }
    let (cookie, rest) = body[9..].split_at(COOKIE_LEN);
    if cookie[..16] != cookie_nonce[..] {
        return Err(CodecError::Cryptographic);
    }
    let nonce = long_nonce(b"COOKIE--", &cookie[..16]);
    let cookie_plain = cookie_keys
        .iter()
        .find_map(|k| open(&XSalsa20Poly1305::new(k.into()), &nonce, &cookie[16..]).ok())
        .ok_or(CodecError::Cryptographic)?;
    let cn_client = PublicKey::from(key32(&cookie_plain));
    let cn_secret = SecretKey::from_bytes(key32(&cookie_plain[32..]));
    let session = BoxKey::new(&cn_client, &cn_secret)?;
    let short = u64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
    let plain = open(&session.aead(), &short_nonce(b"CurveZMQINITIATE", short), &rest[8..])?;
    let client = PublicKey::from(key32(&plain));
    let vouch =
        open(&peer_box(&client, &cn_secret)?, &long_nonce(b"VOUCH---", &plain[32..48]), &plain[48..128])?;
    if vouch[..32] != cn_client.as_bytes()[..] || vouch[32..64] != server.as_bytes()[..] {
        return Err(CodecError::Cryptographic);
    }
    Ok(Initiate { client, session, nonce: short, metadata: plain[128..].to_vec() })
}

/// Server: appends READY with our metadata, under the session box.
pub fn encode_ready(out: &mut Vec<u8>, session: &BoxKey, nonce: u64, metadata: &[u8]) {
    let mut boxed = Vec::with_capacity(metadata.len() + MAC_LEN);
    seal(&session.aead(), &short_nonce(b"CurveZMQREADY---", nonce), metadata, &mut boxed);
    command::encode_command(out, "READY", &[&nonce.to_be_bytes(), &boxed]);
}

/// Client: opens a READY body (name included); returns the server's nonce and metadata.
pub fn open_ready(body: &[u8], session: &BoxKey) -> Result<(u64, Vec<u8>), CodecError> {
    if !body.starts_with(b"\x05READY") {
        return Err(CodecError::UnexpectedCommand { expected: "READY" });
    }
    if body.len() < READY_MIN {
        return Err(CodecError::Malformed(CommandName::Ready));
    }
    let nonce = u64::from_be_bytes(body[6..14].try_into().expect("8 bytes"));
    let metadata = open(&session.aead(), &short_nonce(b"CurveZMQREADY---", nonce), &body[14..])?;
    Ok((nonce, metadata))
}

mod cipher;

pub use cipher::{BoxKey, CurveCipher, CurveReceiver, CurveSender};

#[cfg(test)]
mod tests;
