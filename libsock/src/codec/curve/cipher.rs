//! The CURVE session key and the MESSAGE cipher, with the XSalsa20 subkey derived once.
//!
//! A box is XSalsa20-Poly1305 under a key K (X25519 + HSalsa20, NaCl's `crypto_box_beforenm`)
//! and a 24-byte nonce; XSalsa20 is HSalsa20(K, nonce[..16]) → subkey, then Salsa20(subkey,
//! nonce[16..]). Every MESSAGE nonce is the constant "CurveZMQMESSAGEC" (or "…S") + an 8-byte
//! counter, so the subkey per direction never changes within a connection: [`CurveCipher`]
//! derives the two subkeys at READY with the `salsa20` crate's `hsalsa` and then composes
//! Salsa20 and `Poly1305` per message exactly as `crypto_secretbox` does (the first 32
//! keystream bytes key Poly1305, the rest encrypt): one HSalsa20 (~1 200 instructions) saved
//! per message. The Salsa20 keystream is `sys::salsa20`'s, four or eight blocks at a time (the
//! crate's is scalar, 2.3–2.5× slower). The test `message_cipher_matches_the_box` proves
//! byte-identical output to the plain XSalsa20-Poly1305 box.

use ::salsa20::cipher::consts::U10;
use ::salsa20::hsalsa;
use crypto_box::{PublicKey, SecretKey};
use crypto_secretbox::aead::generic_array::GenericArray;
use crypto_secretbox::{Key, KeyInit, XSalsa20Poly1305};
use curve25519_dalek::MontgomeryPoint;
use poly1305::Poly1305;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::{CodecError, CommandName, MAC_LEN, MESSAGE_HEADER, MESSAGE_PLAINTEXT};
use crate::codec::frame;
use crate::sys::salsa20::SecretboxStream;

/// A precomputed box key K = HSalsa20(X25519(secret, peer), 0): the same key RustCrypto's
/// `SalsaBox::new` and libsodium's `crypto_box_beforenm` compute, kept so the MESSAGE cipher
/// can derive its subkeys from it. Zeroed on drop.
pub struct BoxKey(Key);

impl BoxKey {
    /// The box key between our `secret` and a `peer` public key, refusing the key as
    /// libsodium's `crypto_box_beforenm` does when the X25519 shared secret is all zero: the
    /// key is a low-order point (0, 1, -1, an 8-torsion point, or a non-canonical form of one),
    /// and anyone could compute that "secret". The X25519 here is the real clamped one (as
    /// libsodium's); crypto_box's reduces the scalar, which only differs for such keys.
    pub fn new(peer: &PublicKey, secret: &SecretKey) -> Result<BoxKey, CodecError> {
        let shared = Zeroizing::new(MontgomeryPoint(*peer.as_bytes()).mul_clamped(secret.to_bytes()).0);
        if shared.iter().fold(0u8, |acc, b| acc | b) == 0 {
            return Err(CodecError::WeakKey);
        }
        Ok(BoxKey(hsalsa::<U10>(GenericArray::from_slice(&shared[..]), &GenericArray::default())))
    }

    /// The XSalsa20-Poly1305 box under this key (what `SalsaBox` would be).
    pub fn aead(&self) -> XSalsa20Poly1305 {
        XSalsa20Poly1305::new(&self.0)
    }
}

impl Drop for BoxKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// One MESSAGE's Salsa20 keystream and the Poly1305 keyed from its first 32 bytes
/// (`crypto_secretbox`'s construction with the HSalsa20 step already done).
///
/// Always inlined: out of line, the stream (its 256-byte block buffer) and the MAC state
/// were returned by copy, ~100 instructions a message.
#[inline(always)]
fn message_cipher(subkey: &Key, nonce: u64, len: usize) -> (SecretboxStream, Poly1305) {
    let stream = SecretboxStream::new(subkey.as_ref(), &nonce.to_be_bytes(), len);
    let mac = <Poly1305 as KeyInit>::new(poly1305::Key::from_slice(stream.mac_key()));
    (stream, mac)
}

/// Encrypts and decrypts the MESSAGE commands of an established connection.
///
/// Both directions work in place: [`CurveCipher::encrypt`] writes the frame straight into the
/// outbound buffer and encrypts it there; [`CurveCipher::decrypt`] opens a MESSAGE inside the
/// read buffer. Our nonces count up from where the handshake left them and never repeat; a
/// peer nonce that is not above the last one (a replay or reordering) is refused.
///
/// The two directions share nothing: [`CurveCipher::split`] parts them, so that a sending
/// thread other than the reading one can own (or share) the [`CurveSender`].
pub struct CurveCipher {
    send: CurveSender,
    recv: CurveReceiver,
}

/// Our direction of a [`CurveCipher`]: the send subkey and our next nonce.
pub struct CurveSender {
    key: Key,
    nonce: u64,
}

/// The peer's direction of a [`CurveCipher`]: the receive subkey and the peer's last nonce.
pub struct CurveReceiver {
    key: Key,
    nonce: u64,
}

impl CurveCipher {
    /// The cipher for one side: `as_server` picks the nonce prefixes; `send_nonce` is our next
    /// nonce, `recv_nonce` the last one the peer used in the handshake.
    pub fn new(session: BoxKey, as_server: bool, send_nonce: u64, recv_nonce: u64) -> CurveCipher {
        let (ours, theirs) = if as_server {
            (b"CurveZMQMESSAGES", b"CurveZMQMESSAGEC")
        } else {
            (b"CurveZMQMESSAGEC", b"CurveZMQMESSAGES")
        };
        CurveCipher {
            send: CurveSender { key: hsalsa::<U10>(&session.0, ours.into()), nonce: send_nonce },
            recv: CurveReceiver { key: hsalsa::<U10>(&session.0, theirs.into()), nonce: recv_nonce },
        }
    }

    /// [`CurveSender::encrypt`].
    #[inline]
    pub fn encrypt(&mut self, out: &mut Vec<u8>, flags: u8, body: &[u8]) {
        self.send.encrypt(out, flags, body);
    }

    /// [`CurveReceiver::decrypt`].
    #[inline]
    pub fn decrypt(&mut self, body: &mut [u8]) -> Result<u8, CodecError> {
        self.recv.decrypt(body)
    }

    /// The two directions, apart.
    pub fn split(self) -> (CurveSender, CurveReceiver) {
        (self.send, self.recv)
    }
}

impl CurveSender {
    /// Appends one MESSAGE frame carrying `flags` and `body`, encrypted in `out`.
    #[inline]
    pub fn encrypt(&mut self, out: &mut Vec<u8>, flags: u8, body: &[u8]) {
        let size = MESSAGE_PLAINTEXT + 1 + body.len();
        out.reserve(9 + size);
        // A plain frame, as libzmq sends it: the MORE and COMMAND flags travel encrypted.
        frame::encode_header(out, false, false, size);
        self.encrypt_command(out, flags, body);
    }

    /// Appends the MESSAGE command itself (name, nonce, box), without a ZMTP frame header:
    /// what a WebSocket frame carries.
    #[inline]
    pub fn encrypt_command(&mut self, out: &mut Vec<u8>, flags: u8, body: &[u8]) {
        let nonce = self.nonce;
        self.nonce += 1;
        out.reserve(MESSAGE_PLAINTEXT + 1 + body.len());
        out.extend_from_slice(b"\x07MESSAGE");
        out.extend_from_slice(&nonce.to_be_bytes());
        let mac_at = out.len();
        out.extend_from_slice(&[0; MAC_LEN]);
        out.push(flags);
        out.extend_from_slice(body);
        let (head, plain) = out[mac_at..].split_at_mut(MAC_LEN);
        let (stream, mac) = message_cipher(&self.key, nonce, plain.len());
        stream.apply(plain);
        head.copy_from_slice(&mac.compute_unpadded(plain));
    }
}

impl CurveReceiver {
    /// Opens a MESSAGE command body in place; returns its flags. The plaintext body is then
    /// `body[MESSAGE_PLAINTEXT + 1..]`. Not a MESSAGE: [`CodecError::UnexpectedCommand`];
    /// too short: `Malformed(Message)`; old nonce: `NonceReplay`; bad MAC: `Cryptographic`.
    #[inline]
    pub fn decrypt(&mut self, body: &mut [u8]) -> Result<u8, CodecError> {
        self.decrypt_if(body, |_| true).map(|flags| flags.unwrap_or_default())
    }

    /// [`CurveReceiver::decrypt`] of a MESSAGE whose flags `accept` takes: it is checked
    /// (name, nonce, MAC) and its flags byte read first. Refused (`Ok(None)`), or on an
    /// error, the body stays as it came and its nonce unused, so that another decoder (the
    /// I/O thread's session, for a command the direct read side leaves to it) opens it.
    #[inline]
    pub fn decrypt_if(
        &mut self,
        body: &mut [u8],
        accept: impl FnOnce(u8) -> bool,
    ) -> Result<Option<u8>, CodecError> {
        if !body.starts_with(b"\x07MESSAGE") {
            return Err(CodecError::UnexpectedCommand { expected: "MESSAGE" });
        }
        if body.len() < MESSAGE_PLAINTEXT + 1 {
            return Err(CodecError::Malformed(CommandName::Message));
        }
        let nonce = u64::from_be_bytes(body[8..16].try_into().expect("8 bytes"));
        if nonce <= self.nonce {
            return Err(CodecError::NonceReplay);
        }
        let (head, plain) = body.split_at_mut(MESSAGE_PLAINTEXT);
        let (stream, mac) = message_cipher(&self.key, nonce, plain.len());
        // Verify before decrypting (constant-time compare), as crypto_secretbox does.
        let tag = mac.compute_unpadded(plain);
        if !bool::from(tag.as_slice().ct_eq(&head[MESSAGE_HEADER..])) {
            return Err(CodecError::Cryptographic);
        }
        if !accept(plain[0] ^ stream.first_data_byte()) {
            return Ok(None);
        }
        stream.apply(plain);
        self.nonce = nonce;
        Ok(Some(plain[0]))
    }
}

impl Drop for CurveSender {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl Drop for CurveReceiver {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}
