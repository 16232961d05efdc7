use super::*;
use crate::socket_type::SocketType;

/// RFC 6455 §1.3's example key and accept value.
#[test]
fn the_accept_key_is_the_rfc_example() {
    assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(new_key([0; 16]).len(), 24);
}

#[test]
fn a_request_is_answered_and_the_answer_checked() {
    let key = new_key([7; 16]);
    let req = request("127.0.0.1", "/feed", &key, Mechanism::Null);
    let text = String::from_utf8(req.clone()).unwrap();
    assert!(text.starts_with("GET /feed HTTP/1.1\r\nHost: 127.0.0.1\r\n"), "{text}");
    assert!(text.contains("Sec-WebSocket-Protocol: ZWS2.0/NULL\r\n"), "{text}");
    // In pieces: nothing until the blank line.
    for cut in [0, 10, req.len() - 1] {
        assert_eq!(answer_request(&req[..cut], Mechanism::Null), Ok(None));
    }
    let mut with_frame = req.clone();
    with_frame.extend_from_slice(&[0x82, 0x81]);
    let Answer { response, used, raw } = answer_request(&with_frame, Mechanism::Null).unwrap().unwrap();
    assert!(!raw);
    assert_eq!(used, req.len(), "what follows the request is left for the frames");
    assert_eq!(check_response(&response, &key, Mechanism::Null), Ok(Some(response.len())));
    assert_eq!(check_response(&response, &new_key([8; 16]), Mechanism::Null), Err(WsFault::BadAccept));
    assert_eq!(check_response(&response, &key, Mechanism::Plain), Err(WsFault::NoProtocol));
    assert_eq!(
        check_response(b"HTTP/1.1 400 Bad Request\r\n\r\n", &key, Mechanism::Null),
        Err(WsFault::BadResponse)
    );
}

#[test]
fn requests_that_are_no_zws_upgrade_are_refused() {
    let good = String::from_utf8(request("h", "/", "a2V5", Mechanism::Plain)).unwrap();
    let answer = |text: &str| answer_request(text.as_bytes(), Mechanism::Plain).map(|r| r.is_some());
    assert_eq!(answer(&good), Ok(true));
    // A browser's lists and spacing are fine; libzmq's own spelling too.
    let browser = good
        .replace("Connection: Upgrade", "connection: keep-alive, Upgrade")
        .replace("ZWS2.0/PLAIN", "chat, ZWS2.0/PLAIN");
    assert_eq!(answer(&browser), Ok(true));
    assert_eq!(answer(&good.replace("ZWS2.0/PLAIN", "ZWS2.0/NULL")), Err(WsFault::NoProtocol));
    assert_eq!(
        answer(&good.replace("ZWS2.0/PLAIN", "ZWS2.0")),
        Err(WsFault::NoProtocol),
        "no mechanism: NULL only"
    );
    // A browser can offer only `ZWS2.0` (a `/` is no token character): a NULL socket takes it,
    // and prefers the mechanism's own when both are offered.
    let null = good.replace("ZWS2.0/PLAIN", "ZWS2.0");
    let agreed = |text: &str| answer_request(text.as_bytes(), Mechanism::Null).unwrap().unwrap();
    assert!(agreed(&null).raw);
    assert!(String::from_utf8(agreed(&null).response)
        .unwrap()
        .contains("Sec-WebSocket-Protocol: ZWS2.0\r\n"));
    assert!(!agreed(&good.replace("ZWS2.0/PLAIN", "ZWS2.0, ZWS2.0/NULL")).raw);
    assert_eq!(answer(&good.replace("Upgrade: websocket", "Upgrade: h2c")), Err(WsFault::NotAnUpgrade));
    assert_eq!(answer(&good.replace("Sec-WebSocket-Key: a2V5\r\n", "")), Err(WsFault::BadKey));
    assert_eq!(answer(&good.replace("Version: 13", "Version: 8")), Err(WsFault::BadKey));
    assert_eq!(answer(&good.replace("GET / HTTP/1.1", "POST / HTTP/1.1")), Err(WsFault::BadRequest));
    assert_eq!(answer(&good.replace("Host: h", "Host h")), Err(WsFault::BadRequest));
    assert_eq!(
        answer(&good.replace("GET / ", "GET \u{0}\u{ff} ")),
        Ok(true),
        "the path is not ours to judge"
    );
    assert_eq!(answer_request(&[b'a'; MAX_HANDSHAKE], Mechanism::Null), Err(WsFault::HandshakeTooLong));
    assert_eq!(
        answer_request(&[0xFF, 0xFE, b'\r', b'\n', b'\r', b'\n'], Mechanism::Null),
        Err(WsFault::BadRequest)
    );
}

/// ZMTP bytes as the session writes them: greeting, then frames.
fn zmtp(frames: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = peer_greeting(Mechanism::Null, false).to_vec();
    for (flags, body) in frames {
        if body.len() > 255 {
            out.push(flags | ZMTP_LONG);
            out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        } else {
            out.extend_from_slice(&[*flags, body.len() as u8]);
        }
        out.extend_from_slice(body);
    }
    out
}

/// Frames from a client reach the server as the same ZMTP frames, whatever the pieces.
#[test]
fn frames_round_trip_through_masking_and_every_length_form() {
    let big = vec![0xAB; 70_000];
    let medium = vec![0xCD; 300];
    let frames: Vec<(u8, &[u8])> = vec![
        (ZMTP_COMMAND, b"\x05READY\x0bSocket-Type\x00\x00\x00\x03REQ"),
        (ZMTP_MORE, b""),
        (ZMTP_MORE, b"hello"),
        (0, &medium),
        (0, &big),
    ];
    let bytes = zmtp(&frames);
    for piece in [1, 7, 64, 1000, bytes.len()] {
        let mut enc = Encoder::new(true, Mechanism::Null, 42);
        let mut wire = Vec::new();
        for chunk in bytes.chunks(piece) {
            enc.encode(chunk, &mut wire);
        }
        assert_eq!(wire[0..2], [0x82, 0x80 | 26], "the READY, masked, flagged as a command");
        let mut dec = Decoder::new(true, None, Mechanism::Null);
        let (mut raw, mut out, mut controls) = (BytesMut::new(), BytesMut::new(), Vec::new());
        for chunk in wire.chunks(piece.max(3)) {
            raw.extend_from_slice(chunk);
            dec.decode(&mut raw, &mut out, &mut controls).unwrap();
        }
        assert!(raw.is_empty() && controls.is_empty());
        assert_eq!(&out[..], &bytes[GREETING_LEN..], "pieces of {piece}");
    }
}

#[test]
fn heartbeats_subscriptions_and_curve_messages_take_libzmqs_forms() {
    let mut enc = Encoder::new(false, Mechanism::Curve, 1);
    let mut wire = Vec::new();
    let bytes = zmtp(&[
        (ZMTP_COMMAND, b"\x04PING\x00\x0a"),
        (ZMTP_COMMAND, b"\x04PONG"),
        (ZMTP_COMMAND, b"\x09SUBSCRIBEtopic"),
        (ZMTP_COMMAND, b"\x06CANCELtopic"),
        (ZMTP_COMMAND, b"\x07MESSAGEboxed"),
    ]);
    enc.encode(&bytes, &mut wire);
    let want: &[&[u8]] = &[
        &[0x89, 0],
        &[0x8A, 0],
        &[0x82, 7, 0, 1, b't', b'o', b'p', b'i', b'c'],
        &[0x82, 7, 0, 0, b't', b'o', b'p', b'i', b'c'],
        &[0x82, 14, 0, 7, b'M', b'E', b'S', b'S', b'A', b'G', b'E', b'b', b'o', b'x', b'e', b'd'],
    ];
    assert_eq!(wire, want.concat());
    // A client's (masked: the body's key phase follows the two-byte head) reads the same.
    let mut masked = Vec::new();
    Encoder::new(true, Mechanism::Curve, 9).encode(&bytes, &mut masked);
    let (mut raw, mut unmasked) = (BytesMut::from(&masked[..]), Vec::new());
    while !raw.is_empty() {
        let len = usize::from(raw[1] & 0x7F);
        let (key, payload) = (&raw[2..6], &raw[6..6 + len]);
        unmasked.extend_from_slice(&[raw[0], raw[1] & 0x7F]);
        unmasked.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        raw.advance(6 + len);
    }
    assert_eq!(unmasked, want.concat());
    // The client reads the MESSAGE back as a command; NULL would read it as data.
    let (mut raw, mut out, mut controls) = (BytesMut::from(want[4]), BytesMut::new(), Vec::new());
    Decoder::new(false, None, Mechanism::Curve).decode(&mut raw, &mut out, &mut controls).unwrap();
    assert_eq!(out[0], ZMTP_COMMAND);
    let (mut raw, mut out) = (BytesMut::from(want[4]), BytesMut::new());
    Decoder::new(false, None, Mechanism::Null).decode(&mut raw, &mut out, &mut controls).unwrap();
    assert_eq!(out[0], 0);
    // A ping is answered with its payload, a close echoed.
    let (mut raw, mut out) =
        (BytesMut::from(&[0x89, 3, b'a', b'b', b'c', 0x88, 2, 3, 0xE8, 0x82][..]), BytesMut::new());
    Decoder::new(false, None, Mechanism::Null).decode(&mut raw, &mut out, &mut controls).unwrap();
    assert_eq!(controls, [Control::Ping(b"abc".to_vec()), Control::Close(vec![3, 0xE8])]);
    assert_eq!(&raw[..], [0x82], "nothing is read past a close");
    let mut answer = Vec::new();
    enc.control(&controls[0], &mut answer);
    assert_eq!(answer, [0x8A, 3, b'a', b'b', b'c']);
}

#[test]
fn frames_zws_does_not_use_are_refused() {
    let decode = |server: bool, bytes: &[u8]| {
        let (mut raw, mut out, mut controls) = (BytesMut::from(bytes), BytesMut::new(), Vec::new());
        Decoder::new(server, Some(10), Mechanism::Null).decode(&mut raw, &mut out, &mut controls)
    };
    assert_eq!(decode(false, &[0x82, 1, 0]), Ok(()));
    assert_eq!(decode(true, &[0x82, 1, 0]), Err(WsFault::Masking), "a client must mask");
    assert_eq!(decode(false, &[0x82, 0x81, 0, 0, 0, 0, 0]), Err(WsFault::Masking), "a server must not");
    assert_eq!(decode(false, &[0x81, 1, b'x']), Err(WsFault::Unsupported), "text");
    assert_eq!(decode(false, &[0x80, 1, 0]), Err(WsFault::Unsupported), "a continuation of nothing");
    assert_eq!(
        decode(false, &[0x02, 1, 0, 0x82, 1, 0]),
        Err(WsFault::Unsupported),
        "a message inside a message"
    );
    assert_eq!(decode(false, &[0x09, 0]), Err(WsFault::Unsupported), "a fragmented ping");
    assert_eq!(decode(false, &[0x01, 1, b'x']), Err(WsFault::Unsupported), "a text fragment");
    assert_eq!(
        decode(false, &[0x02, 6, 0, 1, 2, 3, 4, 5, 0x80, 6]),
        Err(WsFault::TooLarge { size: 11, max: 10 }),
        "fragments count together against MAXMSGSIZE"
    );
    assert_eq!(decode(false, &[0xC2, 1, 0]), Err(WsFault::Unsupported), "reserved bits");
    assert_eq!(decode(false, &[0x82, 0]), Err(WsFault::Malformed), "no flags byte");
    assert_eq!(decode(false, &[0x82, 1, 3]), Err(WsFault::Malformed), "a command with more");
    assert_eq!(decode(false, &[0x89, 126, 0, 126]), Err(WsFault::Malformed), "a long ping");
    assert_eq!(
        decode(false, &[0x82, 12]),
        Err(WsFault::TooLarge { size: 11, max: 10 }),
        "before the bytes come"
    );
    let huge = [&[0x82, 127][..], &u64::MAX.to_be_bytes()].concat();
    assert!(decode(false, &huge).is_err());
    assert_eq!(decode(false, &[0x82, 126, 0]), Ok(()), "an incomplete header waits");
}

/// A message in fragments (as clients other than libzmq and browsers send) comes out as one
/// ZMTP frame, with pings between its fragments answered, and split anywhere across reads.
#[test]
fn fragmented_messages_are_reassembled() {
    let masked = |b0: u8, payload: &[u8]| {
        let key = [1, 2, 3, 4];
        let body: Vec<u8> = payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
        [&[b0, 0x80 | payload.len() as u8][..], &key, &body].concat()
    };
    let wire = [
        masked(0x02, b"\x01hel"),
        masked(0x89, b"ping"),
        masked(0x00, b"lo "),
        masked(0x80, b"world"),
        masked(0x82, b"\x00last"),
    ]
    .concat();
    // (`zmtp` starts with the greeting shown to the session, which the decoder does not make.)
    let want = zmtp(&[(ZMTP_MORE, b"hello world"), (0, b"last")])[GREETING_LEN..].to_vec();
    for cut in 0..wire.len() {
        let mut dec = Decoder::new(true, Some(64), Mechanism::Null);
        let (mut raw, mut out, mut controls) = (BytesMut::new(), BytesMut::new(), Vec::new());
        for part in [&wire[..cut], &wire[cut..]] {
            raw.extend_from_slice(part);
            dec.decode(&mut raw, &mut out, &mut controls).unwrap();
        }
        assert_eq!(&out[..], &want[..], "cut at {cut}");
        assert_eq!(controls, [Control::Ping(b"ping".to_vec())]);
        assert!(raw.is_empty());
    }
}

/// `ZWS2.0`: the peer's first message stands for its READY, ours goes out as our routing id.
#[test]
fn without_a_mechanism_routing_ids_replace_ready() {
    let mut dec = Decoder::new(true, None, Mechanism::Null);
    dec.raw_mode(SocketType::DEALER);
    let masked = |payload: &[u8]| [&[0x82, 0x80 | payload.len() as u8, 0, 0, 0, 0][..], payload].concat();
    let (mut raw, mut out, mut controls) = (
        BytesMut::from(&[masked(b"\x00peer-id"), masked(b"\x00hello")].concat()[..]),
        BytesMut::new(),
        Vec::new(),
    );
    dec.decode(&mut raw, &mut out, &mut controls).unwrap();
    let mut ready = Vec::new();
    crate::codec::null::encode_ready(&mut ready, SocketType::DEALER, b"peer-id");
    assert_eq!(&out[..ready.len()], &ready[..]);
    assert_eq!(&out[ready.len()..], b"\x00\x05hello");
    let mut enc = Encoder::new(false, Mechanism::Null, 1);
    enc.raw_mode();
    let mut ours = peer_greeting(Mechanism::Null, false).to_vec();
    crate::codec::null::encode_ready(&mut ours, SocketType::ROUTER, b"me");
    ours.extend_from_slice(&[0, 2, b'h', b'i']);
    let mut wire = Vec::new();
    enc.encode(&ours, &mut wire);
    assert_eq!(wire, [0x82, 3, 0, b'm', b'e', 0x82, 3, 0, b'h', b'i']);
}

#[test]
fn masking_eight_at_a_time_is_bytewise_masking() {
    let key = [0x12, 0x34, 0x56, 0x78];
    for len in [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 100] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut fast = data.clone();
        xor_mask(&mut fast, key);
        let slow: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
        assert_eq!(fast, slow, "{len}");
        let mut copied = vec![0xEE];
        extend_masked(&mut copied, &data, key);
        assert_eq!(copied[1..], slow[..], "copied and masked, {len}");
        let mut into = vec![0xEE; len];
        copy_masked(&mut into, &data, key);
        assert_eq!(into, slow, "copied into a slice and masked, {len}");
    }
}

/// A data frame's body copied out unmasked is the body `unmask` leaves in place, for a
/// client's frames (masked) and a server's, at every length form.
#[test]
fn a_body_copied_out_is_the_body_unmasked_in_place() {
    for (client, len) in
        [(true, 0), (true, 1), (true, 9), (true, 300), (true, 70_000), (false, 5), (false, 70_000)]
    {
        let body: Vec<u8> = (0..len).map(|i| (i * 13 + 5) as u8).collect();
        let mut wire = Vec::new();
        Encoder::new(client, Mechanism::Null, 77).data_frame(true, &body, &mut wire);
        let Front::Data(frame) = front_data_frame(&wire, client, usize::MAX) else { panic!("{len}") };
        let mut copied = vec![0; frame.body_len()];
        frame.copy_body(&wire, &mut copied);
        assert!(copied == body, "copied out, {len} bytes, client {client}");
        frame.unmask(&mut wire);
        assert!(wire[frame.body_start()..frame.total()] == body[..], "in place, {len} bytes");
    }
}

/// The direct write side's frames (`data_frame`) are what `encode` makes of the same
/// message frames, masked on a client (with keys of its own), and decode the same.
#[test]
fn data_frames_are_the_encoders_message_frames() {
    let medium = vec![0x5A; 300];
    let message: [(bool, &[u8]); 3] = [(true, b""), (true, b"hello"), (false, &medium)];
    for client in [false, true] {
        let mut direct = Encoder::new(client, Mechanism::Null, 7);
        let mut wire = Vec::new();
        for (more, body) in message {
            direct.data_frame(more, body, &mut wire);
        }
        let mut piped = Encoder::new(client, Mechanism::Null, 7);
        let mut expected = Vec::new();
        let frames: Vec<(u8, &[u8])> =
            message.iter().map(|&(more, b)| (if more { ZMTP_MORE } else { 0 }, b)).collect();
        piped.encode(&zmtp(&frames), &mut expected);
        assert_eq!(wire, expected, "client {client}");
        assert_eq!(wire[1] & 0x80 != 0, client, "masked only by a client");
        let mut dec = Decoder::new(client, None, Mechanism::Null);
        let (mut raw, mut out, mut controls) = (BytesMut::from(&wire[..]), BytesMut::new(), Vec::new());
        dec.decode(&mut raw, &mut out, &mut controls).unwrap();
        assert_eq!(&out[..], &zmtp(&frames)[GREETING_LEN..]);
    }
}

/// The direct read side's translation takes exactly the frames it may (whole, plain data
/// frames), as the decoder would, and leaves every other frame as it came.
#[test]
fn take_data_frames_stops_untouched_at_what_only_the_decoder_takes() {
    let medium = vec![0x3C; 300];
    for server in [true, false] {
        // The peer of a server is a client, which masks.
        let mut enc = Encoder::new(server, Mechanism::Null, 11);
        let mut wire = Vec::new();
        enc.data_frame(true, b"", &mut wire);
        enc.data_frame(false, &medium, &mut wire);
        let data_end = wire.len();
        enc.control(&Control::Ping(b"hi".to_vec()), &mut wire);
        enc.data_frame(false, b"after", &mut wire);
        // Byte by byte: partial frames wait, whole ones are taken, the ping stops it.
        let (mut raw, mut zmtp) = (BytesMut::new(), BytesMut::new());
        let mut stopped_at = None;
        for (i, b) in wire.iter().enumerate() {
            raw.extend_from_slice(&[*b]);
            if take_data_frames(&mut raw, server, 1000, 38, &mut zmtp) {
                stopped_at = Some(i);
                break;
            }
        }
        assert_eq!(stopped_at, Some(data_end + 1), "server {server}: at the ping's second byte");
        assert_eq!(&raw[..], &wire[data_end..data_end + 2], "the ping untouched");
        let mut dec = Decoder::new(server, None, Mechanism::Null);
        let (mut all, mut expected, mut controls) = (BytesMut::from(&wire[..]), BytesMut::new(), Vec::new());
        dec.decode(&mut all, &mut expected, &mut controls).unwrap();
        assert_eq!(&zmtp[..], &expected[..zmtp.len()], "what the decoder makes of them");
    }
    // A command, a fragment, a frame over the limit, a frame masked the wrong way: left.
    let mut enc = Encoder::new(true, Mechanism::Null, 3);
    let mut command = Vec::new();
    enc.encode(&zmtp(&[(ZMTP_COMMAND, b"\x05HELLO")]), &mut command);
    let mut large = Vec::new();
    enc.data_frame(false, &[0; 2000], &mut large);
    let mut fragment = large.clone();
    fragment[0] &= 0x7F;
    let mut unmasked = Vec::new();
    Encoder::new(false, Mechanism::Null, 3).data_frame(false, b"x", &mut unmasked);
    for (what, bytes) in
        [("command", command), ("large", large), ("fragment", fragment), ("unmasked", unmasked)]
    {
        let (mut raw, mut zmtp) = (BytesMut::from(&bytes[..]), BytesMut::new());
        assert!(take_data_frames(&mut raw, true, 1000, 38, &mut zmtp), "{what}");
        assert_eq!(&raw[..], &bytes[..], "{what} untouched");
        assert!(zmtp.is_empty(), "{what}");
    }
}

/// A large frame's body is passed through: its ZMTP header as soon as the flags byte is in,
/// its bytes as they come, or read in place by the engine and unmasked there, at any cut
/// (the key's phase follows); the frames after it decode as before. Both sides.
#[test]
fn a_large_body_is_passed_through_as_it_arrives_or_read_in_place() {
    let body: Vec<u8> = (0..200_003u32).map(|n| (n % 251) as u8).collect();
    for server in [true, false] {
        let mut wire = Vec::new();
        let mut enc = Encoder::new(server, Mechanism::Null, 9);
        enc.data_frame(true, &body, &mut wire);
        enc.data_frame(false, b"next", &mut wire);
        let header = if server { 14 } else { 10 };
        for cut in [header + 1, header + 2, header + 5_001] {
            let mut dec = Decoder::new(server, None, Mechanism::Null);
            let (mut raw, mut out, mut controls) =
                (BytesMut::from(&wire[..cut]), BytesMut::new(), Vec::new());
            dec.decode(&mut raw, &mut out, &mut controls).unwrap();
            let mut want = vec![ZMTP_MORE | ZMTP_LONG];
            want.extend_from_slice(&(body.len() as u64).to_be_bytes());
            want.extend_from_slice(&body[..cut - header - 1]);
            assert_eq!(&out[..], &want[..], "cut at {cut}: the header, then what came");
            assert!(raw.is_empty());
            assert_eq!(dec.through_left(), body.len() - (cut - header - 1));
            // The rest of the body read in place, in odd pieces.
            let mut rest = wire[cut..header + 1 + body.len()].to_vec();
            for piece in rest.chunks_mut(4_093) {
                dec.passed_in_place(piece);
            }
            assert_eq!(dec.through_left(), 0);
            assert_eq!(&rest[..], &body[cut - header - 1..], "cut at {cut}: unmasked in place");
            // The next frame as usual.
            let mut raw = BytesMut::from(&wire[header + 1 + body.len()..]);
            let mut next = BytesMut::new();
            dec.decode(&mut raw, &mut next, &mut controls).unwrap();
            assert_eq!(&next[..], [0, 4, b'n', b'e', b'x', b't']);
        }
    }
}

/// The session writes a frame's header and its body as separate pieces: the frames made
/// are the same as of the bytes written at once (a data frame's body taken from its piece,
/// a command's completed in the staging buffer), for both header forms.
#[test]
fn a_header_and_its_body_written_apart_make_the_same_frames() {
    let big = vec![0x5A; 70_000];
    let frames: Vec<(u8, &[u8])> = vec![
        (ZMTP_COMMAND, b"\x05READY\x0bSocket-Type\x00\x00\x00\x03REQ"),
        (ZMTP_MORE, b"hello"),
        (ZMTP_MORE, &big),
        (0, b"end"),
    ];
    let bytes = zmtp(&frames);
    let mut whole = Vec::new();
    Encoder::new(false, Mechanism::Null, 1).encode(&bytes, &mut whole);
    let mut apart = Vec::new();
    let mut enc = Encoder::new(false, Mechanism::Null, 1);
    enc.encode(&bytes[..GREETING_LEN], &mut apart);
    let mut at = GREETING_LEN;
    for (_, body) in &frames {
        let header = if body.len() > 255 { 9 } else { 2 };
        enc.encode(&bytes[at..at + header], &mut apart);
        assert!(apart.len() < whole.len(), "nothing framed from a header alone");
        enc.encode(&bytes[at + header..at + header + body.len()], &mut apart);
        at += header + body.len();
    }
    assert_eq!(apart, whole);
}

/// A server's large bodies left in place and written behind the headers make the frames
/// that `encode` copies, however the bytes are cut: header and body apart, or together, or
/// several frames in one piece. A client's encoder leaves nothing in place.
#[test]
fn large_bodies_left_in_place_make_the_frames_encode_copies() {
    let (big, bigger) = (vec![0x5A; 70_000], vec![0xA5; 200_000]);
    let frames: Vec<(u8, &[u8])> = vec![
        (ZMTP_COMMAND, b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH"),
        (ZMTP_MORE, &big),
        (ZMTP_MORE, b"small"),
        (ZMTP_MORE, &bigger),
        (ZMTP_COMMAND, b"\x04PING\x00\x00\x00"),
        (0, &big[..65_536]),
        (0, &big[..65_535]),
    ];
    let bytes = zmtp(&frames);
    let mut whole = Vec::new();
    Encoder::new(false, Mechanism::Null, 1).encode(&bytes, &mut whole);
    // Cut at every frame boundary and between each long header and its body, or at a few
    // odd places (a staged header, a body cut in two: copied, not left in place).
    let mut bounds = vec![GREETING_LEN];
    for (_, body) in &frames {
        let at = *bounds.last().unwrap();
        let header = if body.len() > 255 { 9 } else { 2 };
        bounds.extend([at + header, at + header + body.len()]);
    }
    let odd = vec![3, GREETING_LEN + 40, GREETING_LEN + 60, GREETING_LEN + 30_000, bytes.len()];
    for (cuts, min, in_place) in [(bounds, 65_536, 3), (vec![bytes.len()], 65_536, 3), (odd, 65_536, 2)] {
        let (mut enc, mut out, mut left_in_place) = (Encoder::new(false, Mechanism::Null, 1), Vec::new(), 0);
        let mut from = 0;
        for to in cuts {
            let mut piece = &bytes[from..to];
            while let Some(body) = enc.encode_split(piece, &mut out, min) {
                assert!(body.len() >= min);
                out.extend_from_slice(&piece[body.clone()]);
                piece = &piece[body.end..];
                left_in_place += 1;
            }
            from = to;
        }
        assert!(out == whole, "left in place, written behind: the same frames");
        assert_eq!(left_in_place, in_place, "bodies of 64 KiB and more");
    }
    let mut masked = Encoder::new(true, Mechanism::Null, 1);
    assert_eq!(masked.encode_split(&bytes, &mut Vec::new(), 1), None, "a client masks every body");
}

/// CURVE: the direct write side's frames (`curve_message` of a MESSAGE sealed without its
/// ZMTP header) are what `encode` makes of the session's MESSAGE frames, byte for byte,
/// masked or not.
#[test]
fn curve_messages_are_the_encoders_message_frames() {
    use crate::codec::curve::{BoxKey, CurveCipher, FLAG_MORE};
    use crypto_box::SecretKey;
    let (a, b) = (SecretKey::from([3u8; 32]), SecretKey::from([4u8; 32]));
    let sender = || CurveCipher::new(BoxKey::new(&b.public_key(), &a).unwrap(), false, 5, 0).split().0;
    let message: [(u8, Vec<u8>); 3] =
        [(FLAG_MORE, vec![]), (FLAG_MORE, b"hello".to_vec()), (0, vec![0x5A; 300])];
    for client in [false, true] {
        let (mut direct_sender, mut session_sender) = (sender(), sender());
        let mut direct = Encoder::new(client, Mechanism::Curve, 7);
        let mut wire = Vec::new();
        for (flags, body) in &message {
            let mut command = Vec::new();
            direct_sender.encrypt_command(&mut command, *flags, body);
            direct.curve_message(&command, &mut wire);
        }
        let mut zmtp = peer_greeting(Mechanism::Curve, false).to_vec();
        for (flags, body) in &message {
            session_sender.encrypt(&mut zmtp, *flags, body);
        }
        let mut expected = Vec::new();
        Encoder::new(client, Mechanism::Curve, 7).encode(&zmtp, &mut expected);
        assert_eq!(wire, expected, "client {client}");
    }
}
