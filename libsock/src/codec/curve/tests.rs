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
        public: &client.public_key(),
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
    let client_session = BoxKey::new(&welcome.cn_server, &cn).unwrap();
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
    assert_eq!(h.server_cipher.decrypt(&mut short), Err(CodecError::Malformed(CommandName::Message)));
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
    let malformed = Some(CodecError::Malformed(CommandName::Hello));
    for len in [6, 199] {
        assert_eq!(open_hello(&hello[..len], &server).err(), malformed);
    }
    let mut longer = hello.clone();
    longer.push(0);
    assert_eq!(open_hello(&longer, &server).err(), malformed);
    let mut version = hello.clone();
    version[6] = 2;
    assert_eq!(open_hello(&version, &server).err(), malformed);
    assert_eq!(
        open_hello(&hello[..5], &server).err(),
        Some(CodecError::UnexpectedCommand { expected: "HELLO" })
    );
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
        public: &client.public_key(),
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
        Some(CodecError::Malformed(CommandName::Initiate))
    );
}

/// The u-coordinates of X25519's low-order points, as libsodium lists them (`has_small_order`):
/// 0, 1, an 8-torsion point, its negation, p-1, p and p+1 (non-canonical 0 and 1).
fn low_order_points() -> Vec<[u8; 32]> {
    let mut one = [0u8; 32];
    one[0] = 1;
    let order8 = [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda,
        0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
    ];
    let order8b = [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04,
        0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57,
    ];
    let p_plus = |k: u8| {
        let mut v = [0xffu8; 32];
        v[0] = 0xed + k;
        v[31] = 0x7f;
        v
    };
    // p - 1 = ...ec, p = ...ed, p + 1 = ...ee (little endian, top byte 0x7f).
    let p_minus_1 = {
        let mut v = p_plus(0);
        v[0] = 0xec;
        v
    };
    vec![[0; 32], one, order8, order8b, p_minus_1, p_plus(0), p_plus(1)]
}

#[test]
fn low_order_client_keys_are_refused_at_hello() {
    use curve25519_dalek::MontgomeryPoint;
    let server = SecretKey::generate(&mut OsRng);
    for point in low_order_points() {
        // The list is right: each point has small order (or is 0 / on the twist, where
        // clamped X25519 gives zero).
        if let Some(e) = MontgomeryPoint(point).to_edwards(0) {
            assert!(e.is_small_order(), "{point:02x?} is not of small order");
        }
        assert_eq!(MontgomeryPoint(point).mul_clamped(server.to_bytes()).0, [0; 32]);
        // An attacker's best HELLO: signed with exactly the box the server would compute
        // (crypto_box reduces the scalar, so it is one of a handful of guessable keys).
        let cn_client = PublicKey::from(point);
        let guessed = SalsaBox::new(&cn_client, &server);
        let mut signature = Vec::new();
        seal(&guessed, &short_nonce(b"CurveZMQHELLO---", 1), &[0; 64], &mut signature);
        let parts: [&[u8]; 5] = [&[1, 0], &[0; 72], &point, &1u64.to_be_bytes(), &signature];
        let mut out = Vec::new();
        command::encode_command(&mut out, "HELLO", &parts);
        let hello = body(&out);
        assert_eq!(hello.len(), HELLO_SIZE);
        assert!(matches!(open_hello(&hello, &server), Err(CodecError::WeakKey)), "{point:02x?}");
    }
    // A real client key still passes.
    let mut out = Vec::new();
    encode_hello(&mut out, &server.public_key(), &SecretKey::generate(&mut OsRng), 1);
    assert!(open_hello(&body(&out), &server).is_ok());
}

#[test]
fn low_order_server_keys_are_refused_in_welcome() {
    let server = SecretKey::generate(&mut OsRng);
    let cn = SecretKey::generate(&mut OsRng);
    // A WELCOME (from a malicious server that knows its own key) carrying a low-order S'.
    for point in low_order_points() {
        let mut plain = point.to_vec();
        plain.extend_from_slice(&[0; 96]);
        let nonce = [3u8; 16];
        let mut boxed = Vec::new();
        seal(&SalsaBox::new(&cn.public_key(), &server), &long_nonce(b"WELCOME-", &nonce), &plain, &mut boxed);
        let mut out = Vec::new();
        command::encode_command(&mut out, "WELCOME", &[&nonce, &boxed]);
        let got = open_welcome(&body(&out), &server.public_key(), &cn);
        assert!(matches!(got, Err(CodecError::WeakKey)), "{point:02x?}");
    }
}

/// The MESSAGE cipher (HSalsa20 once per connection, then Salsa20 + Poly1305 per message) is
/// byte-identical to the plain XSalsa20-Poly1305 box with the full 24-byte nonce, on random
/// keys, nonces and sizes; and `BoxKey` is the key `SalsaBox` computes.
#[test]
fn message_cipher_matches_the_box() {
    let mut sizes: Vec<usize> = vec![0, 1, 15, 16, 30, 31, 32, 63, 64, 65, 127, 128, 1023, 1024, 4096];
    sizes.extend((0..60).map(|_| (OsRng.next_u32() % 3000) as usize));
    for (round, len) in sizes.into_iter().enumerate() {
        let (a, b) = (SecretKey::generate(&mut OsRng), SecretKey::generate(&mut OsRng));
        let reference = SalsaBox::new(&b.public_key(), &a);
        let mut body = vec![0u8; len];
        OsRng.fill_bytes(&mut body);
        let flags = (round % 4) as u8;
        let as_server = round % 2 == 0;
        // Any counter from 1 up (the peer's last nonce is n - 1).
        let n = 1 + (OsRng.next_u64() >> (round % 64));

        // The handshake boxes: BoxKey's box and SalsaBox seal the same bytes.
        let long = long_nonce(b"WELCOME-", &random16());
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        seal(&BoxKey::new(&b.public_key(), &a).unwrap().aead(), &long, &body, &mut ours);
        seal(&reference, &long, &body, &mut theirs);
        assert_eq!(ours, theirs, "box, {len} bytes");

        let mut cipher = CurveCipher::new(BoxKey::new(&b.public_key(), &a).unwrap(), as_server, n, 0);
        let mut out = Vec::new();
        cipher.encrypt(&mut out, flags, &body);
        let prefix = if as_server { b"CurveZMQMESSAGES" } else { b"CurveZMQMESSAGEC" };
        let mut plain = vec![flags];
        plain.extend_from_slice(&body);
        let mut boxed = Vec::new();
        seal(&reference, &short_nonce(prefix, n), &plain, &mut boxed);
        let mut expected = Vec::new();
        crate::codec::frame::encode_header(&mut expected, false, false, MESSAGE_HEADER + boxed.len());
        expected.extend_from_slice(b"\x07MESSAGE");
        expected.extend_from_slice(&n.to_be_bytes());
        expected.extend_from_slice(&boxed);
        assert_eq!(out, expected, "MESSAGE, {len} bytes, nonce {n}");

        // The peer opens it (and so opens what the plain box sealed), having first read its
        // flags and refused it, which changed nothing (the direct read side's way).
        let mut peer = CurveCipher::new(BoxKey::new(&a.public_key(), &b).unwrap(), !as_server, 1, n - 1);
        let mut message = super::tests::body(&out);
        let (sealed, mut seen) = (message.clone(), None);
        let (_, mut receiver) =
            CurveCipher::new(BoxKey::new(&a.public_key(), &b).unwrap(), !as_server, 1, n - 1).split();
        let refused = receiver.decrypt_if(&mut message, |f| {
            seen = Some(f);
            false
        });
        assert_eq!((refused.unwrap(), seen), (None, Some(flags)), "flags read, message refused");
        assert_eq!(message, sealed, "a refused message stays as it came");
        assert_eq!(receiver.decrypt_if(&mut message.clone(), |_| true).unwrap(), Some(flags), "nonce unused");
        assert_eq!(peer.decrypt(&mut message).unwrap(), flags);
        assert_eq!(&message[MESSAGE_PLAINTEXT + 1..], &body[..]);
    }
}
