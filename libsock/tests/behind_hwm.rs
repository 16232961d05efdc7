//! A receiving socket that falls behind, its reading paused at the high water mark, loses
//! nothing that reached this host:
//! - a peer that sends a burst and goes away (resets or closes the stream): every message
//!   it sent before is delivered, though our heartbeat PING meets the reset first (the
//!   write fails with `ECONNRESET`/`EPIPE` while the kernel still holds the peer's last
//!   bytes). libzmq's PUSH does just this at `zmq_ctx_term`: it closes once its messages
//!   are in the kernel, and a close with our PINGs or PONGs unread is a reset;
//! - a live peer whose PONGs wait unread behind its messages: the heartbeat timeout does
//!   not drop the link while the application catches up.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::*;
use libsock::codec::greeting::Greeting;
use libsock::codec::{command, frame, null};
use libsock::{Context, Socket, PULL, PUSH};

const COUNT: u32 = 3_000;

/// What a PUSH sends first: its greeting and READY.
fn push_hello() -> Vec<u8> {
    let mut out = Vec::new();
    Greeting::ours().encode(&mut out);
    command::encode_ready(&mut out, &[("Socket-Type", b"PUSH".as_slice())]);
    out
}

/// The burst: `COUNT` messages numbered in order, one frame each.
fn burst() -> Vec<u8> {
    let mut out = Vec::new();
    for seq in 0..COUNT {
        frame::encode_frame(&mut out, false, false, &seq.to_le_bytes());
    }
    out
}

/// A PULL that falls behind at once (RCVHWM 10) and PINGs every 10 ms.
fn slow_pull(ctx: &Context, transport: &str) -> (Socket, String) {
    let rx = socket(ctx, PULL);
    rx.set_rcvhwm(10).unwrap();
    rx.set_heartbeat_ivl(10).unwrap();
    // The raw peer never answers a PING: only the reset may end the link.
    rx.set_heartbeat_timeout(10_000).unwrap();
    rx.set_rcvtimeo(5_000).unwrap();
    let endpoint = match transport {
        "tcp" => "tcp://127.0.0.1:*".to_string(),
        _ => scratch_endpoint(transport),
    };
    rx.bind(&endpoint).unwrap();
    let endpoint = rx.get_last_endpoint().unwrap();
    (rx, endpoint)
}

/// Plays the PUSH on `peer`: handshake, the burst, then a pause for it to reach the receiving
/// kernel before the caller makes the peer go.
fn push_burst(peer: &mut (impl Read + Write), pull_hello: &[u8]) {
    peer.write_all(&push_hello()).unwrap();
    let mut got = vec![0u8; pull_hello.len()];
    peer.read_exact(&mut got).expect("the PULL's greeting and READY");
    assert_eq!(got, pull_hello);
    peer.write_all(&burst()).unwrap();
    std::thread::sleep(ms(100));
}

fn pull_hello() -> Vec<u8> {
    let mut out = Vec::new();
    Greeting::ours().encode(&mut out);
    null::encode_ready(&mut out, PULL, b"");
    out
}

/// Receives the whole burst in order. `first_blocking`: message 0 was taken already.
fn receive_all(rx: &Socket, from: u32) {
    for expected in from..COUNT {
        let msg = rx
            .recv_msg(0)
            .unwrap_or_else(|e| panic!("message {expected} of {COUNT} lost when the peer went away ({e})"));
        assert_eq!(&msg[..], &expected.to_le_bytes(), "messages out of order");
    }
}

/// The peer goes away as libzmq's does: `close` with our PINGs unread, a reset. `blocking`:
/// the application received once by a blocking call before, so the PULL's flood is handed
/// to its thread (`engine::direct_rx` rule 8) while it falls behind.
fn tcp_peer_resets(blocking: bool) {
    let ctx = Context::new();
    let (rx, endpoint) = slow_pull(&ctx, "tcp");
    let mut peer = TcpStream::connect(endpoint.strip_prefix("tcp://").unwrap()).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    push_burst(&mut peer, &pull_hello());
    let from = if blocking {
        receive_all_until(&rx, 1);
        1
    } else {
        0
    };
    // SO_LINGER 0: the close is a reset whatever is unread.
    socket2::SockRef::from(&peer).set_linger(Some(Duration::ZERO)).unwrap();
    drop(peer);
    // Several PINGs meet the reset meanwhile.
    std::thread::sleep(ms(200));
    receive_all(&rx, from);
}

fn receive_all_until(rx: &Socket, count: u32) {
    for expected in 0..count {
        let msg = rx.recv_msg(0).unwrap();
        assert_eq!(&msg[..], &expected.to_le_bytes());
    }
}

#[test]
fn a_burst_before_a_reset_is_delivered_tcp() {
    tcp_peer_resets(false);
}

#[test]
fn a_burst_before_a_reset_is_delivered_to_a_direct_reader_tcp() {
    tcp_peer_resets(true);
}

/// Over ipc the peer just closes: our next write fails with `EPIPE`.
#[test]
fn a_burst_before_a_close_is_delivered_ipc() {
    let ctx = Context::new();
    let (rx, endpoint) = slow_pull(&ctx, "ipc");
    let mut peer = UnixStream::connect(endpoint.strip_prefix("ipc://").unwrap()).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    push_burst(&mut peer, &pull_hello());
    receive_all_until(&rx, 1);
    drop(peer);
    std::thread::sleep(ms(200));
    receive_all(&rx, 1);
}

/// The application stays away for 30 heartbeat timeouts while the kernel holds the flood
/// and, behind it, the PONGs to our PINGs: the link stays up and every message arrives
/// once, in order. (libzmq drops the link at the first timeout; a connecting PUSH then
/// reconnects and what its kernel held is lost.)
#[test]
fn a_receiver_behind_its_high_water_mark_outlasts_the_heartbeat_timeout() {
    const FLOOD: u32 = 20_000;
    let ctx = Context::new();
    let rx = socket(&ctx, PULL);
    rx.set_rcvhwm(10).unwrap();
    rx.set_heartbeat_ivl(5).unwrap();
    rx.set_heartbeat_timeout(20).unwrap();
    rx.set_rcvtimeo(5_000).unwrap();
    rx.bind("tcp://127.0.0.1:*").unwrap();
    let tx = socket(&ctx, PUSH);
    tx.set_heartbeat_ivl(5).unwrap();
    tx.set_heartbeat_timeout(20).unwrap();
    tx.set_sndhwm(0).unwrap();
    tx.connect(&rx.get_last_endpoint().unwrap()).unwrap();
    let payload = vec![7u8; 200];
    for seq in 0..FLOOD {
        let mut body = seq.to_le_bytes().to_vec();
        body.extend_from_slice(&payload);
        tx.send(body, 0).unwrap();
    }
    std::thread::sleep(ms(600));
    for expected in 0..FLOOD {
        let msg = rx.recv_msg(0).unwrap_or_else(|e| panic!("message {expected} of {FLOOD} lost ({e})"));
        assert_eq!(&msg[..4], &expected.to_le_bytes(), "a message lost or repeated");
    }
}
