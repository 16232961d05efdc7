//! PLAIN and CURVE handshakes between two sessions on virtual time: no sockets, no sleeps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::*;
use crate::codec::CodecError;
use crate::message::Message;
use crate::session::{HeartbeatConfig, Session, SessionConfig, SessionError, SessionEvent};
use crate::z85::curve_keypair;

fn cfg(t: SocketType, security: Security) -> SessionConfig {
    SessionConfig {
        socket_type: t,
        routing_id: bytes::Bytes::new(),
        max_msg_size: None,
        handshake_ivl: Some(Duration::from_secs(30)),
        heartbeat: HeartbeatConfig::default(),
        security,
        app_metadata: bytes::Bytes::new(),
    }
}

fn transfer(from: &mut Session, to: &mut BytesMut) {
    let mut bytes = Vec::new();
    while !from.out().is_empty() {
        from.out().write_to(&mut bytes).unwrap();
    }
    to.extend_from_slice(&bytes);
}

/// Runs `s` over its input; answers ZAP with `zap`; returns messages.
fn run(
    s: &mut Session,
    input: &mut BytesMut,
    zap: &ZapReply,
    now: Instant,
) -> Result<Vec<Message>, SessionError> {
    let mut got = Vec::new();
    loop {
        let before = input.len();
        let decoded = s.decode(input, now)?;
        let mut evented = false;
        while let Some(ev) = s.poll_event() {
            evented = true;
            if let SessionEvent::Zap(_) = ev {
                s.zap_reply(zap.clone(), now)?;
            }
        }
        match decoded {
            Some(m) => got.push(m),
            None if input.len() == before && !evented => return Ok(got),
            None => {}
        }
    }
}

/// Drives both sides until quiet; returns the first error.
fn handshake(a: &mut Session, b: &mut Session, zap: &ZapReply) -> Result<(BytesMut, BytesMut), SessionError> {
    let now = Instant::now();
    let (mut ia, mut ib) = (BytesMut::new(), BytesMut::new());
    // CURVE takes seven rounds: three greeting steps, HELLO, WELCOME, INITIATE, READY.
    for _ in 0..10 {
        transfer(a, &mut ib);
        transfer(b, &mut ia);
        run(a, &mut ia, zap, now)?;
        run(b, &mut ib, zap, now)?;
    }
    Ok((ia, ib))
}

fn key(z: &str) -> [u8; 32] {
    crate::z85::z85_decode(z).unwrap().try_into().unwrap()
}

fn curve_pair() -> (Security, Security) {
    let (server_pub, server_sec) = curve_keypair();
    let (_, client_sec) = curve_keypair();
    let server = Security::CurveServer { secret: key(&server_sec), cookies: Arc::new(CookieJar::new()) };
    let client = Security::CurveClient { secret: key(&client_sec), public: None, server: key(&server_pub) };
    (server, client)
}

#[test]
fn plain_handshake_carries_user_id_and_messages() {
    let now = Instant::now();
    let client = Security::PlainClient { username: b"admin".to_vec(), password: b"pw".to_vec() };
    let mut c = Session::new(cfg(SocketType::PUSH, client), now);
    let mut s = Session::new(cfg(SocketType::PULL, Security::PlainServer), now);
    s.set_peer_address("10.0.0.1");
    let zap = ZapReply { user_id: Some(b"admin-id".to_vec()), ..ZapReply::allow() };
    let (_, mut is) = handshake(&mut c, &mut s, &zap).unwrap();
    assert!(c.is_active() && s.is_active());
    c.send(&Message::from("hi"));
    transfer(&mut c, &mut is);
    let got = run(&mut s, &mut is, &zap, now).unwrap();
    assert_eq!(&*got[0], b"hi");
    assert_eq!(got[0].gets("User-Id"), Some("admin-id"));
    assert_eq!(got[0].gets("socket-type"), Some("PUSH"));
    assert_eq!(got[0].gets("Peer-Address"), Some("10.0.0.1"));
}

/// RFC 24's WELCOME is the bare name: one with data is `MALFORMED_COMMAND_WELCOME`, as in
/// libzmq; a HELLO with a cut-off password `MALFORMED_COMMAND_HELLO`.
#[test]
fn plain_malformed_welcome_and_hello_are_named() {
    let local =
        Local { socket_type: SocketType::PUSH, routing_id: b"", app_metadata: b"", now: Instant::now() };
    let client_security = Security::PlainClient { username: b"u".to_vec(), password: b"p".to_vec() };
    let mut client = plain::Plain::new(&client_security);
    client.start(&mut Vec::new());
    let got = client.on_command(&local, b"\x07WELCOMEx", &mut Vec::new()).err();
    assert_eq!(got, Some(SessionError::Protocol(CodecError::Malformed(crate::codec::CommandName::Welcome))));
    let mut client = plain::Plain::new(&client_security);
    assert!(client.on_command(&local, b"\x07WELCOME", &mut Vec::new()).is_ok());
    let mut server = plain::Plain::new(&Security::PlainServer);
    let got = server.on_command(&local, b"\x05HELLO\x01u\x05pw", &mut Vec::new()).err();
    assert_eq!(got, Some(SessionError::Protocol(CodecError::Malformed(crate::codec::CommandName::Hello))));
}

#[test]
fn plain_refusal_sends_error_and_fails_both_sides() {
    let now = Instant::now();
    let client = Security::PlainClient { username: b"admin".to_vec(), password: b"wrong".to_vec() };
    let mut c = Session::new(cfg(SocketType::PUSH, client), now);
    let mut s = Session::new(cfg(SocketType::PULL, Security::PlainServer), now);
    let deny = ZapReply { status: "400".into(), ..ZapReply::allow() };
    let err = handshake(&mut c, &mut s, &deny).unwrap_err();
    assert_eq!(err, SessionError::AuthFailed("400".into()));
    let mut ic = BytesMut::new();
    transfer(&mut s, &mut ic);
    assert_eq!(run(&mut c, &mut ic, &deny, now).unwrap_err(), SessionError::PeerError("400".into()));
}

#[test]
fn curve_handshake_then_encrypted_messages_and_commands() {
    let now = Instant::now();
    let (server, client) = curve_pair();
    let mut c = Session::new(cfg(SocketType::DEALER, client), now);
    let mut s = Session::new(cfg(SocketType::ROUTER, server), now);
    let (mut ic, mut is) = handshake(&mut c, &mut s, &ZapReply::allow()).unwrap();
    assert!(c.is_active() && s.is_active());
    let mut first = Message::from(vec![1u8; 100]);
    first.set_more(true);
    c.send(&first);
    c.send(&Message::from(vec![2u8; 100_000]));
    let mut wire = BytesMut::new();
    transfer(&mut c, &mut wire);
    assert!(!wire.windows(100).any(|w| w == [1u8; 100]), "plaintext on the wire");
    is.extend_from_slice(&wire);
    let got = run(&mut s, &mut is, &ZapReply::allow(), now).unwrap();
    assert_eq!(got.len(), 2);
    assert!(got[0].get_more() && !got[1].get_more());
    assert_eq!(&*got[1], &[2u8; 100_000][..]);
    assert_eq!(got[0].gets("User-Id"), None);
    // Commands travel encrypted too (inside MESSAGE, command flag set).
    s.send_subscription(true, b"topic");
    let mut wire = BytesMut::new();
    transfer(&mut s, &mut wire);
    assert!(!wire.windows(9).any(|w| w == b"SUBSCRIBE"), "plaintext command on the wire");
    ic.extend_from_slice(&wire);
    assert_eq!(c.decode(&mut ic, now), Ok(None));
    assert_eq!(c.poll_event(), Some(SessionEvent::Subscribe(bytes::Bytes::from_static(b"topic"))));
}

/// INITIATE announces CURVE_PUBLICKEY as set, as libzmq's client does: a key that is not the
/// secret key's (libzmq's test_null_client_public_key / _secret_key) fails at the server,
/// where the vouch does not open under it.
#[test]
fn curve_client_announces_the_public_key_it_was_given() {
    let now = Instant::now();
    let (client_pub, client_sec) = curve_keypair();
    let (other_pub, _) = curve_keypair();
    let cases = [
        (Some(key(&client_pub)), Ok(())),
        (Some(key(&other_pub)), Err(CodecError::Cryptographic)),
        // A zero key is refused as the low-order point it is, before any box is opened.
        (Some([0; 32]), Err(CodecError::WeakKey)),
    ];
    for (public, expected) in cases {
        let (server, client) = curve_pair();
        let Security::CurveClient { server: server_key, .. } = client else { unreachable!() };
        let client = Security::CurveClient { secret: key(&client_sec), public, server: server_key };
        let mut c = Session::new(cfg(SocketType::PUSH, client), now);
        let mut s = Session::new(cfg(SocketType::PULL, server), now);
        let got = handshake(&mut c, &mut s, &ZapReply::allow()).map(|_| ());
        assert_eq!(got, expected.map_err(SessionError::Protocol), "public key {public:?}");
    }
}

#[test]
fn curve_wrong_server_key_fails_at_hello() {
    let now = Instant::now();
    let (server, _) = curve_pair();
    let (_, client) = curve_pair();
    let mut c = Session::new(cfg(SocketType::PUSH, client), now);
    let mut s = Session::new(cfg(SocketType::PULL, server), now);
    let err = handshake(&mut c, &mut s, &ZapReply::allow()).unwrap_err();
    assert_eq!(err, SessionError::Protocol(crate::codec::CodecError::Cryptographic));
}

#[test]
fn curve_plaintext_replayed_and_tampered_frames_are_never_delivered() {
    let now = Instant::now();
    for attack in 0..3 {
        let (server, client) = curve_pair();
        let mut c = Session::new(cfg(SocketType::PUSH, client), now);
        let mut s = Session::new(cfg(SocketType::PULL, server), now);
        let (_, mut is) = handshake(&mut c, &mut s, &ZapReply::allow()).unwrap();
        c.send(&Message::from("secret"));
        let mut wire = BytesMut::new();
        transfer(&mut c, &mut wire);
        let input: Vec<u8> = match attack {
            0 => b"\x00\x05plain".to_vec(),
            1 => [&wire[..], &wire[..]].concat(),
            _ => {
                let mut t = wire.to_vec();
                let last = t.len() - 1;
                t[last] ^= 1;
                t
            }
        };
        is.extend_from_slice(&input);
        let mut delivered = Vec::new();
        let result = loop {
            match s.decode(&mut is, now) {
                Ok(Some(m)) => delivered.push(m),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let expected = match attack {
            0 => SessionError::Unencrypted,
            1 => SessionError::Protocol(crate::codec::CodecError::NonceReplay),
            _ => SessionError::Protocol(crate::codec::CodecError::Cryptographic),
        };
        assert_eq!(result, Err(expected), "attack {attack}");
        assert!(delivered.iter().all(|m| &**m == b"secret"), "attack {attack}: {delivered:?}");
        assert!(attack == 1 || delivered.is_empty());
    }
}

#[test]
fn mechanism_and_role_mismatches_are_refused() {
    let now = Instant::now();
    let (server, client) = curve_pair();
    let mut a = Session::new(cfg(SocketType::PUSH, client.clone()), now);
    let mut b = Session::new(cfg(SocketType::PULL, client), now);
    let err = handshake(&mut a, &mut b, &ZapReply::allow()).unwrap_err();
    assert_eq!(err, SessionError::UnexpectedCommand("HELLO".into()));
    let mut a = Session::new(cfg(SocketType::PUSH, Security::Null), now);
    let mut b = Session::new(cfg(SocketType::PULL, server), now);
    let err = handshake(&mut a, &mut b, &ZapReply::allow()).unwrap_err();
    assert_eq!(err, SessionError::MechanismMismatch { peer: "CURVE", ours: "NULL" });
}

#[test]
fn half_done_curve_handshakes_hold_no_keys_and_time_out() {
    let now = Instant::now();
    let (server, client) = curve_pair();
    let mut c = Session::new(cfg(SocketType::PUSH, client), now);
    let mut s = Session::new(cfg(SocketType::PULL, server), now);
    let (mut ic, mut is) = (BytesMut::new(), BytesMut::new());
    // The greetings in their three steps each way, then HELLO: WELCOME queued, not sent.
    for _ in 0..4 {
        transfer(&mut c, &mut is);
        transfer(&mut s, &mut ic);
        run(&mut c, &mut ic, &ZapReply::allow(), now).unwrap();
        run(&mut s, &mut is, &ZapReply::allow(), now).unwrap();
    }
    assert!(!s.out().is_empty());
    // Between WELCOME and INITIATE the server's CURVE state is the cookie nonce only.
    match s.mech.as_ref() {
        Some(Mech::Curve(curve)) => assert!(curve.holds_no_session_keys()),
        _ => panic!("expected a CURVE handshake in progress"),
    }
    let later = now + Duration::from_secs(31);
    assert!(matches!(s.handle_timeout(later), Err(SessionError::HandshakeTimeout(_))));
}

#[test]
fn null_messages_carry_metadata_and_the_source_fd() {
    let now = Instant::now();
    let mut c = Session::new(cfg(SocketType::PUSH, Security::Null), now);
    let mut s = Session::new(cfg(SocketType::PULL, Security::Null), now);
    s.set_peer_address("10.0.0.2");
    s.set_peer_fd(17);
    let (_, mut is) = handshake(&mut c, &mut s, &ZapReply::allow()).unwrap();
    c.send(&Message::from("a"));
    c.send(&Message::from("b"));
    transfer(&mut c, &mut is);
    let got = run(&mut s, &mut is, &ZapReply::allow(), now).unwrap();
    assert_eq!(got[0].gets("Peer-Address"), Some("10.0.0.2"));
    assert_eq!(got[0].gets("Socket-Type"), Some("PUSH"));
    assert_eq!(got[0].metadata().unwrap().source_fd(), Some(17));
    // One metadata object per connection, shared by every message.
    assert!(std::ptr::eq(got[0].metadata().unwrap(), got[1].metadata().unwrap()));
}

#[test]
fn null_with_zap_waits_for_the_handler_before_ready() {
    let now = Instant::now();
    let mut c = Session::new(cfg(SocketType::PUSH, Security::Null), now);
    let mut s = Session::new(cfg(SocketType::PULL, Security::NullZap), now);
    let (mut ic, mut is) = (BytesMut::new(), BytesMut::new());
    let mut from_server = 0;
    // The greetings, in their three steps each way.
    for _ in 0..3 {
        assert!(s.poll_event().is_none());
        transfer(&mut c, &mut is);
        let before = ic.len();
        transfer(&mut s, &mut ic);
        from_server += ic.len() - before;
        assert!(c.decode(&mut ic, now).unwrap().is_none());
        assert!(s.decode(&mut is, now).unwrap().is_none());
    }
    let request = match s.poll_event() {
        Some(SessionEvent::Zap(r)) => r,
        other => panic!("expected a ZAP request, got {other:?}"),
    };
    assert_eq!(request, ZapRequest { mechanism: "NULL", credentials: vec![] });
    // Only the greeting so far: no READY before the handler answers.
    let before = ic.len();
    transfer(&mut s, &mut ic);
    from_server += ic.len() - before;
    assert_eq!(from_server, crate::codec::greeting::GREETING_LEN);
    let zap = ZapReply { user_id: Some(b"null-user".to_vec()), ..ZapReply::allow() };
    s.zap_reply(zap.clone(), now).unwrap();
    run(&mut s, &mut is, &zap, now).unwrap();
    run(&mut c, &mut ic, &zap, now).unwrap();
    let (_, mut is) = handshake(&mut c, &mut s, &zap).unwrap();
    assert!(c.is_active() && s.is_active());
    c.send(&Message::from("hi"));
    transfer(&mut c, &mut is);
    let got = run(&mut s, &mut is, &zap, now).unwrap();
    assert_eq!(got[0].gets("User-Id"), Some("null-user"));
}

#[test]
fn null_with_zap_refusal_sends_error() {
    let now = Instant::now();
    let mut c = Session::new(cfg(SocketType::PUSH, Security::Null), now);
    let mut s = Session::new(cfg(SocketType::PULL, Security::NullZap), now);
    let deny = ZapReply { status: "400".into(), ..ZapReply::allow() };
    let err = handshake(&mut c, &mut s, &deny).unwrap_err();
    assert_eq!(err, SessionError::AuthFailed("400".into()));
    let mut ic = BytesMut::new();
    transfer(&mut s, &mut ic);
    assert_eq!(run(&mut c, &mut ic, &deny, now).unwrap_err(), SessionError::PeerError("400".into()));
}

/// ZAP "300" (temporary failure) refuses without an ERROR in every mechanism, as libzmq 4.3.5
/// does (checked with pyzmq): the peer sees the connection close and reconnects.
#[test]
fn zap_300_refuses_without_an_error() {
    let now = Instant::now();
    let (curve_server, curve_client) = curve_pair();
    let pairs = [(Security::Null, Security::NullZap), (curve_client, curve_server)];
    for (client, server) in pairs {
        let mut c = Session::new(cfg(SocketType::PUSH, client), now);
        let mut s = Session::new(cfg(SocketType::PULL, server), now);
        let retry = ZapReply { status: "300".into(), ..ZapReply::allow() };
        let err = handshake(&mut c, &mut s, &retry).unwrap_err();
        assert_eq!(err, SessionError::AuthFailed("300".into()));
        let mut ic = BytesMut::new();
        transfer(&mut s, &mut ic);
        // Whatever handshake bytes were already due, no ERROR: the client is still waiting.
        assert!(run(&mut c, &mut ic, &retry, now).is_ok());
        assert!(!c.is_active());
    }
}
