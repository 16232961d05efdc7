//! After the handshake: commands libzmq's engine drops, and frames (or size fields) beyond MAXMSGSIZE.

use super::*;

// ---------------------------------------------------------------------------------------------
// (5) Commands after the handshake that libzmq's engine drops

#[test]
fn unknown_malformed_and_late_commands_after_the_handshake_are_dropped_as_by_libzmq() {
    // libzmq's engine looks only at PING, PONG, SUBSCRIBE and CANCEL once the handshake is
    // done and drops every other command, and one it cannot read, keeping the connection
    // (`zmtp_engine_t::process_command_message`): a newer peer's commands get through.
    let mut bench = Bench::tcp(PULL, no_config);
    let mut raw = bench.raw();
    send_raw(&mut raw, &hello("PUSH"));
    read_libsock_hello(&mut raw, PULL);
    let mut bytes = command_frame("BOGUS", b"whatever");
    bytes.extend_from_slice(&command_frame("ERROR", b"\x04late"));
    bytes.extend_from_slice(&command_frame("READY", b""));
    bytes.extend_from_slice(&[0x04, 0x00]); // an empty command
    bytes.extend_from_slice(&[0x04, 0x03, 0x09, b'P', b'I']); // a name longer than the body
    bytes.extend_from_slice(&data_frame(false, b"after-the-commands"));
    send_raw(&mut raw, &bytes);
    assert_eq!(bench.bound.recv_bytes(0).unwrap(), b"after-the-commands");
    // Still connected: a PING is answered.
    let mut ping = Vec::new();
    command::encode_ping(&mut ping, 0, b"still");
    send_raw(&mut raw, &ping);
    let mut pong = Vec::new();
    command::encode_pong(&mut pong, b"still");
    let mut got = vec![0u8; pong.len()];
    raw.set_read_timeout(Some(PROMPTLY)).unwrap();
    raw.read_exact(&mut got).expect("a PONG");
    assert_eq!(got, pong);
    bench.served("after the commands");
}

#[test]
fn half_a_multipart_message_never_surfaces() {
    // The peer starts a multipart message, then breaks the protocol: the parts it sent must be
    // dropped, not delivered (messages arrive whole or not at all).
    one_attack(
        PULL,
        no_config,
        |s| {
            send_raw(s, &hello("PUSH"));
            read_libsock_hello(s, PULL);
            let mut bytes = data_frame(true, b"EVIL-part-1");
            bytes.extend_from_slice(&data_frame(true, b"EVIL-part-2"));
            bytes.push(0xF0); // reserved flag bits
            bytes.push(0x00);
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "reserved frame flag bits set: 0xf0"],
    );
}

// ---------------------------------------------------------------------------------------------
// (6) Frames larger than MAXMSGSIZE

#[test]
fn frame_over_maxmsgsize_closes_without_waiting_for_the_body() {
    let closed = one_attack(
        PULL,
        |s| s.set_maxmsgsize(1024).unwrap(),
        |s| {
            send_raw(s, &hello("PUSH"));
            read_libsock_hello(s, PULL);
            // A header announcing 2048 bytes, and not a byte of body: the header alone must do.
            let mut header = Vec::new();
            frame::encode_header(&mut header, false, false, 2048);
            assert_eq!(header.len(), 9, "long form");
            send_raw(s, &header);
        },
        ms(1000),
        WARN,
        &["closing connection", "frame of 2048 bytes exceeds the limit of 1024"],
    );
    assert!(closed.after < ms(1000));
}

#[test]
fn frame_at_maxmsgsize_passes_one_over_does_not() {
    // The limit is inclusive: a 1024-byte frame from a handshaked raw peer arrives, then a
    // 1025-byte one closes the connection and never surfaces.
    let mut bench = Bench::tcp(PULL, |s| s.set_maxmsgsize(1024).unwrap());
    let mut raw = bench.raw();
    let name = raw.log_name();
    send_raw(&mut raw, &hello("PUSH"));
    read_libsock_hello(&mut raw, PULL);
    send_raw(&mut raw, &data_frame(false, &[b'a'; 1024]));
    assert_eq!(bench.bound.recv_bytes(0).unwrap(), vec![b'a'; 1024]);
    send_raw(&mut raw, &data_frame(false, &[b'E'; 1025]));
    expect_closed(&mut raw, PROMPTLY);
    expect_log(WARN, &name, &["frame of 1025 bytes exceeds the limit of 1024"]);
    bench.served("after the oversized frame");
}

#[test]
fn large_bodies_arrive_whole_in_pieces_and_one_cut_short_never_surfaces() {
    // Bodies over 64 KiB are read straight into a buffer of their own (recycled up to 8 MiB,
    // from the heap beyond): written in uneven pieces, with parts of the next frame in the
    // same writes, they must arrive intact; one whose peer goes away mid-body must not
    // surface, and nothing else may suffer.
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let mut bench = Bench::tcp(PULL, no_config);
    let mut raw = bench.raw();
    send_raw(&mut raw, &hello("PUSH"));
    read_libsock_hello(&mut raw, PULL);
    let body = |n: u32, salt: u32| -> Vec<u8> { (0..n).map(|i| ((i + salt) % 253) as u8).collect() };
    let bodies = [
        body(700_000, 0),
        body(65_537, 1),
        body(1 << 20, 2),
        body(300, 3),
        body(5_000_000, 4),
        body(20_000_000, 7),
        body(200_000, 5),
    ];
    let mut wire = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        wire.extend_from_slice(&data_frame(i + 1 < bodies.len(), b));
    }
    for piece in wire.chunks(123_457) {
        send_raw(&mut raw, piece);
        std::thread::sleep(ms(2));
    }
    assert_eq!(bench.bound.recv_multipart(0).unwrap(), bodies.to_vec());
    // Cut short: the header and part of a 500 000-byte body, then the peer is gone.
    send_raw(&mut raw, &data_frame(false, &body(500_000, 6))[..300_000]);
    drop(raw);
    bench.served("after a large body cut short");
}

#[test]
fn command_over_maxmsgsize_is_refused() {
    one_attack(
        PULL,
        |s| s.set_maxmsgsize(1024).unwrap(),
        |s| {
            send_raw(s, &greeting());
            let mut header = Vec::new();
            frame::encode_header(&mut header, false, true, 4096);
            send_raw(s, &header);
        },
        ms(1000),
        WARN,
        &["closing connection", "exceeds the limit of 1024"],
    );
}

/// A long frame header announcing 2^62 bytes, without MAXMSGSIZE: libsock must close the
/// connection at once without waiting for (or allocating room for) the body.
fn huge_size_field_scenario(after_handshake: bool) {
    let mut bench = Bench::tcp(PULL, no_config);
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let rss_before = vm_rss_kib();
    let mut raw = bench.raw();
    let name = raw.log_name();
    if after_handshake {
        send_raw(&mut raw, &hello("PUSH"));
        read_libsock_hello(&mut raw, PULL);
    } else {
        send_raw(&mut raw, &greeting());
    }
    let mut header = vec![0x02u8]; // data frame, long size
    header.extend_from_slice(&(1u64 << 62).to_be_bytes());
    send_raw(&mut raw, &header);
    send_raw(&mut raw, b"a few body bytes");
    expect_closed(&mut raw, ms(1000));
    expect_log(WARN, &name, &["closing connection"]);
    bench.served("after the 2^62 header");
    let rss_after = vm_rss_kib();
    assert!(rss_after < rss_before + 50 * 1024, "VmRSS grew from {rss_before} KiB to {rss_after} KiB");
}

#[test]
fn size_field_2_pow_62_after_handshake_without_maxmsgsize() {
    in_child_process("frames::size_field_2_pow_62_after_handshake_without_maxmsgsize", || {
        huge_size_field_scenario(true)
    });
}

#[test]
fn size_field_2_pow_62_before_ready_without_maxmsgsize() {
    in_child_process("frames::size_field_2_pow_62_before_ready_without_maxmsgsize", || {
        huge_size_field_scenario(false)
    });
}

#[test]
fn size_field_2_pow_62_with_maxmsgsize() {
    // With any MAXMSGSIZE the same header is refused on arrival and nothing is allocated.
    let mut bench = Bench::tcp(PULL, |s| s.set_maxmsgsize(1 << 20).unwrap());
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let rss_before = vm_rss_kib();
    let mut raw = bench.raw();
    let name = raw.log_name();
    send_raw(&mut raw, &hello("PUSH"));
    read_libsock_hello(&mut raw, PULL);
    let mut header = vec![0x02u8];
    header.extend_from_slice(&(1u64 << 62).to_be_bytes());
    send_raw(&mut raw, &header);
    let closed = expect_closed(&mut raw, ms(1000));
    assert!(closed.after < ms(1000));
    expect_log(WARN, &name, &["frame of 4611686018427387904 bytes exceeds the limit"]);
    bench.served("after the 2^62 header");
    let rss_after = vm_rss_kib();
    assert!(rss_after < rss_before + 50 * 1024, "VmRSS grew from {rss_before} KiB to {rss_after} KiB");
}

#[test]
fn u64_max_size_field_is_refused() {
    // Beyond isize::MAX: refused even without MAXMSGSIZE.
    one_attack(
        PULL,
        no_config,
        |s| {
            send_raw(s, &hello("PUSH"));
            read_libsock_hello(s, PULL);
            let mut header = vec![0x03u8];
            header.extend_from_slice(&u64::MAX.to_be_bytes());
            send_raw(s, &header);
        },
        ms(1000),
        WARN,
        &["closing connection", "exceeds the limit"],
    );
}
