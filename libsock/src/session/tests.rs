//! Session tests on virtual time: two sessions wired back to back, no sockets, no sleeps.

use super::*;
use crate::codec::command;
use crate::codec::frame;

fn cfg(t: SocketType) -> SessionConfig {
    SessionConfig {
        socket_type: t,
        routing_id: Bytes::new(),
        max_msg_size: None,
        handshake_ivl: Some(Duration::from_secs(30)),
        heartbeat: HeartbeatConfig::default(),
        security: Default::default(),
        app_metadata: bytes::Bytes::new(),
    }
}

/// Moves everything `from` queued into `to`'s input.
fn transfer(from: &mut Session, to: &mut BytesMut) {
    let mut bytes = Vec::new();
    while !from.out().is_empty() {
        from.out().write_to(&mut bytes).unwrap();
    }
    to.extend_from_slice(&bytes);
}

fn drain(s: &mut Session, input: &mut BytesMut, now: Instant) -> Result<Vec<Message>, SessionError> {
    let mut got = Vec::new();
    loop {
        let before = input.len();
        match s.decode(input, now)? {
            Some(m) => got.push(m),
            None if input.len() == before => return Ok(got),
            None => {}
        }
    }
}

/// Two sessions after a completed handshake, with their input buffers.
fn connected(a: SessionConfig, b: SessionConfig, now: Instant) -> (Session, BytesMut, Session, BytesMut) {
    let (mut sa, mut sb) = (Session::new(a, now), Session::new(b, now));
    let (mut ia, mut ib) = (BytesMut::new(), BytesMut::new());
    // Signatures, majors, the rest of the greetings, READYs.
    for _ in 0..4 {
        transfer(&mut sa, &mut ib);
        transfer(&mut sb, &mut ia);
        assert!(drain(&mut sa, &mut ia, now).unwrap().is_empty());
        assert!(drain(&mut sb, &mut ib, now).unwrap().is_empty());
    }
    assert!(sa.is_active() && sb.is_active());
    (sa, ia, sb, ib)
}

/// Everything `s` has queued, taken out.
fn take_out(s: &mut Session) -> Vec<u8> {
    let mut bytes = Vec::new();
    while !s.out().is_empty() {
        s.out().write_to(&mut bytes).unwrap();
    }
    bytes
}

/// Our greeting goes out in libzmq's steps, each due to a step of the peer's: the signature
/// unprompted, the major version after the peer's signature, the rest after its major, READY
/// after its whole greeting. A raw peer can read the signature alone, as libzmq's test_stream.
#[test]
fn greeting_goes_out_in_libzmq_steps() {
    let now = Instant::now();
    let mut s = Session::new(cfg(SocketType::DEALER), now);
    let mut ours = Vec::new();
    Greeting::ours().encode(&mut ours);
    assert_eq!(take_out(&mut s), ours[..10]);
    let mut peer = Vec::new();
    Greeting::ours().encode(&mut peer);
    let mut input = BytesMut::new();
    // The peer's greeting a byte at a time: what we send after each.
    for (i, &byte) in peer.iter().enumerate() {
        input.extend_from_slice(&[byte]);
        assert!(drain(&mut s, &mut input, now).unwrap().is_empty());
        let got = take_out(&mut s);
        match i + 1 {
            10 => assert_eq!(got, ours[10..11], "our major after the peer's signature"),
            11 => assert_eq!(got, ours[11..], "the rest after the peer's major"),
            64 => {
                let mut ready = Vec::new();
                null::encode_ready(&mut ready, SocketType::DEALER, b"");
                assert_eq!(got, ready, "READY after the peer's whole greeting");
            }
            n => assert!(got.is_empty(), "{} bytes sent after {n} peer bytes", got.len()),
        }
    }
    assert!(!s.is_active());
}

/// A peer's whole greeting in one read: the rest of ours and READY go out together.
#[test]
fn whole_peer_greeting_gets_the_rest_and_ready_at_once() {
    let now = Instant::now();
    let mut s = Session::new(cfg(SocketType::PUSH), now);
    let mut expected = Vec::new();
    Greeting::ours().encode(&mut expected);
    null::encode_ready(&mut expected, SocketType::PUSH, b"");
    let mut peer = Vec::new();
    Greeting::ours().encode(&mut peer);
    let mut input = BytesMut::from(&peer[..]);
    drain(&mut s, &mut input, now).unwrap();
    assert_eq!(take_out(&mut s), expected);
}

/// A peer refused on its signature or its version hears no further step of ours.
#[test]
fn refused_greeting_stops_our_steps() {
    let now = Instant::now();
    let mut s = Session::new(cfg(SocketType::PULL), now);
    take_out(&mut s);
    let mut bad = BytesMut::from(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7E][..]);
    assert!(drain(&mut s, &mut bad, now).is_err());
    assert!(take_out(&mut s).is_empty(), "no major after a bad signature");

    let mut s = Session::new(cfg(SocketType::PULL), now);
    take_out(&mut s);
    let mut v2 = BytesMut::from(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F][..]);
    drain(&mut s, &mut v2, now).unwrap();
    assert_eq!(take_out(&mut s), [3], "our major after a good signature");
    v2.extend_from_slice(&[1]);
    let err = drain(&mut s, &mut v2, now).unwrap_err();
    assert!(matches!(err, SessionError::Protocol(CodecError::UnsupportedVersion { major: 1, .. })), "{err}");
    assert!(take_out(&mut s).is_empty(), "not the rest after a ZMTP 2.0 major");
}

/// A PULL session with MAXMSGSIZE `max_msg_size` after its handshake with a PUSH peer,
/// twice (for tests that compare two decoders on the same input).
pub(super) fn connected_pair(max_msg_size: Option<u64>) -> (Session, Session) {
    let now = Instant::now();
    let mut pull = cfg(SocketType::PULL);
    pull.max_msg_size = max_msg_size;
    let (_, _, first, _) = connected(cfg(SocketType::PUSH), pull.clone(), now);
    let (_, _, second, _) = connected(cfg(SocketType::PUSH), pull, now);
    (first, second)
}

#[test]
fn handshake_reports_the_peer_and_carries_messages() {
    let now = Instant::now();
    let mut dealer = cfg(SocketType::DEALER);
    dealer.routing_id = Bytes::from_static(b"me");
    let (mut sa, _ia, mut sb, mut ib) = connected(dealer, cfg(SocketType::ROUTER), now);
    match sb.poll_event() {
        Some(SessionEvent::Ready(peer)) => {
            assert_eq!(peer.socket_type, SocketType::DEALER);
            assert_eq!(&peer.identity[..], b"me");
        }
        other => panic!("expected Ready, got {other:?}"),
    }
    let mut first = Message::from("a");
    first.set_more(true);
    sa.send(&first);
    sa.send(&Message::from(vec![7u8; 100_000]));
    sa.send(&Message::from(""));
    transfer(&mut sa, &mut ib);
    let got = drain(&mut sb, &mut ib, now).unwrap();
    assert_eq!(got.len(), 3);
    assert!(got[0].get_more() && !got[1].get_more());
    assert_eq!(got[1].len(), 100_000);
    assert!(got[2].is_empty());
}

/// Frames up to 64 KiB are copied out of the read buffer: a message the application keeps
/// does not pin the buffer, which the engine then reads into again in place (shared, each
/// read needed a fresh 64 KiB block, freed later on the application thread).
#[test]
fn received_frames_do_not_hold_the_read_buffer() {
    let now = Instant::now();
    let (mut sa, _ia, mut sb, mut ib) = connected(cfg(SocketType::PUSH), cfg(SocketType::PULL), now);
    for size in [39, 1024, 64 * 1024] {
        sa.send(&Message::from(vec![size as u8; size]));
        transfer(&mut sa, &mut ib);
        let kept = drain(&mut sb, &mut ib, now).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(&kept[0][..], &vec![size as u8; size][..]);
        assert!(ib.is_empty());
        // Reclaiming the whole capacity in place works only when no frame shares the block.
        let capacity = ib.capacity();
        assert!(ib.try_reclaim(capacity.max(size)), "a {size} B frame kept the read buffer shared");
    }
}

#[test]
fn incompatible_socket_types_fail_the_handshake() {
    let now = Instant::now();
    let mut sa = Session::new(cfg(SocketType::PUSH), now);
    let mut sb = Session::new(cfg(SocketType::PUSH), now);
    let (mut ia, mut ib) = (BytesMut::new(), BytesMut::new());
    // Greetings in three steps, then sa's READY reaches sb.
    for _ in 0..3 {
        transfer(&mut sa, &mut ib);
        transfer(&mut sb, &mut ia);
        drain(&mut sa, &mut ia, now).unwrap();
        drain(&mut sb, &mut ib, now).unwrap();
    }
    transfer(&mut sa, &mut ib);
    let err = drain(&mut sb, &mut ib, now).unwrap_err();
    assert!(matches!(err, SessionError::Protocol(CodecError::IncompatibleSocketType { .. })), "{err}");
}

#[test]
fn garbage_greeting_fails_at_once() {
    let now = Instant::now();
    let mut s = Session::new(cfg(SocketType::PULL), now);
    let mut input = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
    assert!(drain(&mut s, &mut input, now).is_err());
}

#[test]
fn silent_peer_hits_the_handshake_deadline() {
    let now = Instant::now();
    let mut c = cfg(SocketType::PULL);
    c.handshake_ivl = Some(Duration::from_millis(200));
    let mut s = Session::new(c, now);
    assert_eq!(s.next_timeout(), Some(now + Duration::from_millis(200)));
    assert!(s.handle_timeout(now + Duration::from_millis(199)).is_ok());
    assert!(matches!(
        s.handle_timeout(now + Duration::from_millis(200)),
        Err(SessionError::HandshakeTimeout(_))
    ));
}

#[test]
fn data_before_ready_is_rejected() {
    let now = Instant::now();
    let mut s = Session::new(cfg(SocketType::PULL), now);
    let mut input = BytesMut::new();
    let mut peer = Vec::new();
    Greeting::ours().encode(&mut peer);
    frame::encode_frame(&mut peer, false, false, b"sneaky");
    // Judged once the frame is whole, as libzmq's mechanisms judge it.
    input.extend_from_slice(&peer[..peer.len() - 1]);
    assert!(drain(&mut s, &mut input, now).is_ok());
    input.extend_from_slice(&peer[peer.len() - 1..]);
    assert_eq!(drain(&mut s, &mut input, now).unwrap_err(), SessionError::DataBeforeReady);
}

#[test]
fn oversized_frame_is_rejected_before_its_body_arrives() {
    let now = Instant::now();
    let mut c = cfg(SocketType::PULL);
    c.max_msg_size = Some(1024);
    let (_sa, _ia, mut sb, mut ib) = connected(cfg(SocketType::PUSH), c, now);
    let mut hdr = Vec::new();
    frame::encode_header(&mut hdr, false, false, 1 << 40);
    ib.extend_from_slice(&hdr);
    let err = drain(&mut sb, &mut ib, now).unwrap_err();
    assert!(matches!(err, SessionError::Protocol(CodecError::FrameTooLarge { .. })));
}

#[test]
fn ping_is_answered_with_pong_echoing_the_context() {
    let now = Instant::now();
    let (_sa, _ia, mut sb, mut ib) = connected(cfg(SocketType::PUSH), cfg(SocketType::PULL), now);
    let mut ping = Vec::new();
    command::encode_ping(&mut ping, 0, b"ctx");
    ib.extend_from_slice(&ping);
    drain(&mut sb, &mut ib, now).unwrap();
    let mut out = Vec::new();
    sb.out().write_to(&mut out).unwrap();
    let mut pong = Vec::new();
    command::encode_pong(&mut pong, b"ctx");
    assert_eq!(out, pong);
}

#[test]
fn heartbeat_pings_and_times_out_a_silent_peer() {
    let now = Instant::now();
    let mut c = cfg(SocketType::PUSH);
    c.heartbeat = HeartbeatConfig {
        interval: Some(Duration::from_millis(100)),
        timeout: Some(Duration::from_millis(300)),
        ttl: None,
    };
    let (mut sa, mut ia, mut sb, mut ib) = connected(c, cfg(SocketType::PULL), now);
    let t1 = now + Duration::from_millis(100);
    sa.handle_timeout(t1).unwrap();
    transfer(&mut sa, &mut ib);
    drain(&mut sb, &mut ib, t1).unwrap();
    transfer(&mut sb, &mut ia);
    sa.received();
    drain(&mut sa, &mut ia, t1).unwrap();
    // The PONG kept it alive; now the peer goes silent.
    let t2 = now + Duration::from_millis(200);
    sa.handle_timeout(t2).unwrap();
    assert_eq!(sa.handle_timeout(now + Duration::from_millis(500)), Err(SessionError::HeartbeatTimeout));
}

#[test]
fn subscriptions_are_commands_for_31_and_messages_for_30() {
    let now = Instant::now();
    let (mut sa, _ia, mut sb, mut ib) = connected(cfg(SocketType::SUB), cfg(SocketType::PUB), now);
    sa.send_subscription(true, b"topic");
    transfer(&mut sa, &mut ib);
    assert!(drain(&mut sb, &mut ib, now).unwrap().is_empty());
    sb.poll_event();
    assert_eq!(sb.poll_event(), Some(SessionEvent::Subscribe(Bytes::from_static(b"topic"))));
    sa.peer_minor = 0;
    sa.send_subscription(false, b"t");
    transfer(&mut sa, &mut ib);
    let got = drain(&mut sb, &mut ib, now).unwrap();
    assert_eq!(&*got[0], b"\x00t");
}

/// Bad metadata is reported on the monitor where libzmq's mechanism reports it: its PLAIN
/// and CURVE clients, not NULL, not the servers.
#[test]
fn only_plain_and_curve_clients_report_bad_metadata() {
    let now = Instant::now();
    let with = |security: Security| Session::new(SessionConfig { security, ..cfg(SocketType::DEALER) }, now);
    let plain_client = Security::PlainClient { username: b"u".to_vec(), password: b"p".to_vec() };
    let curve_client = Security::CurveClient { secret: [1; 32], public: None, server: [2; 32] };
    assert!(with(plain_client).reports_bad_metadata());
    assert!(with(curve_client).reports_bad_metadata());
    assert!(!with(Security::Null).reports_bad_metadata());
    assert!(!with(Security::NullZap).reports_bad_metadata());
    assert!(!with(Security::PlainServer).reports_bad_metadata());
}

/// A sink that never gets a frame: any delivery fails the test.
struct Refuse;

impl super::FrameSink for Refuse {
    fn has_room(&mut self) -> bool {
        true
    }
    fn deliver(&mut self, frame: Message) {
        panic!("delivered {frame:?}");
    }
}

/// A REQ's session takes replies in their envelope and refuses anything else, large frames
/// and the flood path included (libzmq's `req_session_t`); other sockets take any message.
#[test]
fn a_req_session_takes_replies_in_their_envelope_only() {
    let now = Instant::now();
    let frames = |parts: &[(&[u8], bool)]| -> BytesMut {
        let mut bytes = BytesMut::new();
        for &(body, more) in parts {
            let long = body.len() > 255;
            bytes.extend_from_slice(&[u8::from(more) | if long { 2 } else { 0 }]);
            if long {
                bytes.extend_from_slice(&(body.len() as u64).to_be_bytes());
            } else {
                bytes.extend_from_slice(&[body.len() as u8]);
            }
            bytes.extend_from_slice(body);
        }
        bytes
    };
    let big = vec![7u8; 100_000];
    let good = [
        &[(&b""[..], true), (b"ok", false)][..],
        &[(b"\0\0\0\x07", true), (b"", true), (b"a", true), (&big, false)],
        &[(b"", true), (b"", false)],
    ];
    for reply in good {
        let (_, _, mut req, _) = connected(cfg(SocketType::REP), cfg(SocketType::REQ), now);
        let mut input = frames(reply);
        assert_eq!(drain(&mut req, &mut input, now).unwrap().len(), reply.len());
        assert_eq!(req.decode_short_frames(&[0, 1, b'x'], &mut Refuse), 0, "no flood path");
    }
    let bad = [
        (&[(&b"bare"[..], false)][..], 0),
        (&[(b"", false)], 0),
        (&[(&big[..], false)], 0),
        (&[(b"\0\0\0\x07", true), (b"x", false)], 1),
        (&[(b"", true), (b"a", false), (b"next", false)], 2),
    ];
    for (message, taken) in bad {
        let (_, _, mut req, _) = connected(cfg(SocketType::REP), cfg(SocketType::REQ), now);
        let mut input = frames(message);
        let mut got = 0;
        let err = loop {
            match req.decode(&mut input, now) {
                Ok(Some(_)) => got += 1,
                Ok(None) => panic!("{message:?}: not refused"),
                Err(e) => break e,
            }
        };
        assert!(matches!(err, SessionError::ReplyOutsideEnvelope), "{err}");
        assert!(err.is_protocol_error());
        assert_eq!(got, taken, "frames before the one refused");
        // A DEALER takes the same bytes.
        let (_, _, mut dealer, _) = connected(cfg(SocketType::ROUTER), cfg(SocketType::DEALER), now);
        assert_eq!(drain(&mut dealer, &mut frames(message), now).unwrap().len(), message.len());
    }
    // Resumed after part of a reply a direct read side decoded: the next frame is judged
    // where the reply stands.
    let (_, _, mut req, _) = connected(cfg(SocketType::REP), cfg(SocketType::REQ), now);
    let mut id = Message::from(&b"\0\0\0\x07"[..]);
    id.set_more(true);
    req.resume_reply(&[id]);
    assert!(req.decode(&mut frames(&[(b"x", false)]), now).is_err(), "the delimiter is due");
    let (_, _, mut req, _) = connected(cfg(SocketType::REP), cfg(SocketType::REQ), now);
    let mut delimiter = Message::new();
    delimiter.set_more(true);
    req.resume_reply(&[delimiter]);
    assert_eq!(drain(&mut req, &mut frames(&[(b"x", false)]), now).unwrap().len(), 1, "the body is due");
}

/// The state after a hand-back with nothing staged is the session's own: the I/O thread
/// may have been in the middle of a reply that the application never touched.
#[test]
fn a_req_session_keeps_its_place_when_a_direct_read_side_staged_nothing() {
    let now = Instant::now();
    let (_, _, mut req, _) = connected(cfg(SocketType::REP), cfg(SocketType::REQ), now);
    assert!(drain(&mut req, &mut BytesMut::from(&[1u8, 0, 1, 1, b'a'][..]), now).is_ok());
    req.resume_reply(&[]);
    let last = drain(&mut req, &mut BytesMut::from(&[0u8, 1, b'b'][..]), now).unwrap();
    assert_eq!(last.len(), 1, "the reply's last frame, in its body");
}
