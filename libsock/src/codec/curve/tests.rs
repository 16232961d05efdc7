use super::*;
use crate::codec::frame::decode_header;

/// Strips the frame header off one encoded command frame.
fn body(frame: &[u8]) -> Vec<u8> {
    let h = decode_header(frame, None).unwrap().unwrap();
    // Handshake commands are command frames; MESSAGEs are plain frames (as libzmq sends them).
    assert_eq!(h.command, !frame[h.header_len..].starts_with(b"\x07MESSAGE"));
    assert_eq!(h.header_len + h.size as usize, frame.len());
    frame[h.header_len..].to_vec()
}

struct Handshake {
    client_cipher: CurveCipher,
    server_cipher: CurveCipher,
    client_key: PublicKey,
    client_meta: Vec<u8>,
    server_meta: Vec<u8>,
}

fn handshake(server_secret: &SecretKey, server_public_known: &PublicKey) -> Result<Handshake, CodecError> {
    let client = SecretKey::generate(&mut OsRng);
    let cn = SecretKey::generate(&mut OsRng);
    let mut out = Vec::new();
    encode_hello(&mut out, server_public_known, &cn, 1);
    let hello = body(&out);
    assert_eq!(hello.len(), HELLO_SIZE);
    let (cn_client, _) = open_hello(&hello, server_secret)?;
    let cookie_key = [7u8; 32];
    out.clear();
    let cookie_nonce = encode_welcome(&mut out, &cn_client, server_secret, &cookie_key);
    let welcome = open_welcome(&body(&out), server_public_known, &cn)?;
    out.clear();
    let params = InitiateParams {
        secret: &client,
        cn_secret: &cn,
        server: server_public_known,
        welcome: &welcome,
        nonce: 2,
        metadata: b"client-meta",
    };
    encode_initiate(&mut out, &params);
    let init = open_initiate(&body(&out), &[cookie_key], &cookie_nonce, &server_secret.public_key())?;
    out.clear();
    encode_ready(&mut out, &init.session, 1, b"server-meta");
    let client_session = SalsaBox::new(&welcome.cn_server, &cn);
    let (ready_nonce, server_meta) = open_ready(&body(&out), &client_session)?;
    Ok(Handshake {
        client_cipher: CurveCipher::new(client_session, false, 3, ready_nonce),
        server_cipher: CurveCipher::new(init.session, true, 2, init.nonce),
        client_key: init.client,
        client_meta: init.metadata,
        server_meta,
    })
}

#[test]
fn full_handshake_then_messages_both_ways() {
    let server = SecretKey::generate(&mut OsRng);
    let mut h = handshake(&server, &server.public_key()).unwrap();
    assert_eq!(h.client_meta, b"client-meta");
    assert_eq!(h.server_meta, b"server-meta");
    assert_eq!(h.client_key.as_bytes().len(), 32);
    for (i, size) in [0usize, 1, 64, 1024, 70_000].into_iter().enumerate() {
        let data = vec![i as u8; size];
        let mut out = Vec::new();
        h.client_cipher.encrypt(&mut out, FLAG_MORE, &data);
        let mut b = body(&out);
        assert!(size == 0 || b[MESSAGE_PLAINTEXT + 1..] != data[..], "ciphertext is not the plaintext");
        assert_eq!(h.server_cipher.decrypt(&mut b), Ok(FLAG_MORE));
        assert_eq!(&b[MESSAGE_PLAINTEXT + 1..], &data[..]);
        out.clear();
        h.server_cipher.encrypt(&mut out, 0, &data);
        let mut b = body(&out);
        assert_eq!(h.client_cipher.decrypt(&mut b), Ok(0));
        assert_eq!(&b[MESSAGE_PLAINTEXT + 1..], &data[..]);
    }
}

#[test]
fn tampered_and_replayed_messages_are_refused() {
    let server = SecretKey::generate(&mut OsRng);
    let mut h = handshake(&server, &server.public_key()).unwrap();
    let mut out = Vec::new();
    h.client_cipher.encrypt(&mut out, 0, b"hello");
    let original = body(&out);
    for at in 8..original.len() {
        let mut tampered = original.clone();
        tampered[at] ^= 0x20;
        let got = h.server_cipher.decrypt(&mut tampered);
        assert!(matches!(got, Err(CodecError::Cryptographic)), "byte {at}: {got:?}");
    }
    let mut good = original.clone();
    assert_eq!(h.server_cipher.decrypt(&mut good), Ok(0));
    let mut replay = original.clone();
    assert_eq!(h.server_cipher.decrypt(&mut replay), Err(CodecError::NonceReplay));
    let mut short = original[..MESSAGE_PLAINTEXT].to_vec();
    assert_eq!(h.server_cipher.decrypt(&mut short), Err(CodecError::MalformedCommand));
}

#[test]
fn wrong_server_key_fails_at_hello() {
    let server = SecretKey::generate(&mut OsRng);
    let other = SecretKey::generate(&mut OsRng).public_key();
    assert!(matches!(handshake(&server, &other), Err(CodecError::Cryptographic)));
}

#[test]
fn wrong_size_hello_is_malformed_before_any_crypto() {
    let server = SecretKey::generate(&mut OsRng);
    let cn = SecretKey::generate(&mut OsRng);
    let mut out = Vec::new();
    encode_hello(&mut out, &server.public_key(), &cn, 1);
    let hello = body(&out);
    for len in [0, 6, 199] {
        assert_eq!(open_hello(&hello[..len], &server).err(), Some(CodecError::MalformedCommand));
    }
    let mut longer = hello.clone();
    longer.push(0);
    assert_eq!(open_hello(&longer, &server).err(), Some(CodecError::MalformedCommand));
    let mut version = hello.clone();
    version[6] = 2;
    assert_eq!(open_hello(&version, &server).err(), Some(CodecError::MalformedCommand));
}

#[test]
fn cookie_is_bound_to_its_connection_and_key() {
    let server = SecretKey::generate(&mut OsRng);
    let client = SecretKey::generate(&mut OsRng);
    let cn = SecretKey::generate(&mut OsRng);
    let mut out = Vec::new();
    let cookie_nonce = encode_welcome(&mut out, &cn.public_key(), &server, &[1; 32]);
    let welcome = open_welcome(&body(&out), &server.public_key(), &cn).unwrap();
    out.clear();
    let params = InitiateParams {
        secret: &client,
        cn_secret: &cn,
        server: &server.public_key(),
        welcome: &welcome,
        nonce: 2,
        metadata: b"",
    };
    encode_initiate(&mut out, &params);
    let init = body(&out);
    let public = server.public_key();
    assert!(open_initiate(&init, &[[1; 32]], &cookie_nonce, &public).is_ok());
    assert_eq!(
        open_initiate(&init, &[[2; 32]], &cookie_nonce, &public).err(),
        Some(CodecError::Cryptographic)
    );
    assert_eq!(open_initiate(&init, &[[1; 32]], &[0; 16], &public).err(), Some(CodecError::Cryptographic));
    // The previous key still opens it (rotation keeps one old key).
    assert!(open_initiate(&init, &[[2; 32], [1; 32]], &cookie_nonce, &public).is_ok());
    assert_eq!(
        open_initiate(&init[..200], &[[1; 32]], &cookie_nonce, &public).err(),
        Some(CodecError::MalformedCommand)
    );
}
