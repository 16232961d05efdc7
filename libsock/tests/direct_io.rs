//! The direct send path (`engine::direct`): the sending thread frames and writes messages
//! itself while its connection is idle, and hands over to the pipe and the I/O thread when
//! it is not. These tests race the two paths against each other: random sizes on both sides
//! of the direct size limit, multipart messages, DONTWAIT, slow receivers that push senders
//! to their HWM, and receivers that go away and come back mid-stream.

mod common;

use std::time::{Duration, Instant};

use libsock::{Context, Error, Socket, DONTWAIT, PAIR, PULL, PUSH, REP, REQ};

/// A small deterministic generator (xorshift64*), so a failure can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Frame `part` of `parts` of message `seq` from `sender`: a header, then a body whose bytes
/// are derived from the header (so a torn or mixed-up frame is caught).
fn frame(sender: u32, seq: u32, part: u32, parts: u32, size: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(16 + size);
    for v in [sender, seq, part, parts] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    let salt = (sender ^ seq.rotate_left(7) ^ part) as u8;
    f.extend((0..size).map(|i| (i as u8).wrapping_add(salt)));
    f
}

/// Checks one frame and returns (sender, seq, part, parts).
fn check(f: &[u8]) -> (u32, u32, u32, u32) {
    assert!(f.len() >= 16, "short frame: {} bytes", f.len());
    let v = |i: usize| u32::from_le_bytes(f[i * 4..i * 4 + 4].try_into().unwrap());
    let (sender, seq, part, parts) = (v(0), v(1), v(2), v(3));
    let salt = (sender ^ seq.rotate_left(7) ^ part) as u8;
    for (i, b) in f[16..].iter().enumerate() {
        assert_eq!(*b, (i as u8).wrapping_add(salt), "corrupt body in {sender}/{seq}/{part}");
    }
    (sender, seq, part, parts)
}

/// A size that is sometimes tiny, sometimes around the direct path's limit, sometimes large.
fn random_size(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0..=5 => rng.below(64) as usize,
        6..=7 => 7000 + rng.below(2400) as usize,
        8 => rng.below(4096) as usize,
        _ => 9_000 + rng.below(30_000) as usize,
    }
}

/// Sends `count` random messages (and a final one-frame `seq == count` marker), retrying
/// DONTWAIT sends that would block.
fn run_sender(s: &Socket, sender: u32, count: u32, seed: u64) {
    let mut rng = Rng::new(seed);
    for seq in 0..=count {
        if rng.below(3) == 0 {
            // Reading ZMQ_EVENTS counts as waiting: the next message may go direct (when the
            // connection is idle), so the two paths alternate at random.
            s.get_events().unwrap();
        }
        let parts = if seq == count { 1 } else { 1 + rng.below(4) as u32 };
        for part in 0..parts {
            let size = if seq == count { 0 } else { random_size(&mut rng) };
            let body = frame(sender, seq, part, parts, size);
            let more = if part + 1 < parts { libsock::SNDMORE } else { 0 };
            loop {
                let flags = if rng.below(4) == 0 { DONTWAIT } else { 0 };
                match s.send(body.as_slice(), more | flags) {
                    Ok(()) => break,
                    Err(Error::WouldBlock) => std::thread::yield_now(),
                    Err(e) => panic!("sender {sender}: send failed: {e}"),
                }
            }
        }
        if rng.below(200) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Receives one whole message; returns (sender, seq), checking the frames belong together.
fn recv_message(s: &Socket) -> Result<(u32, u32), Error> {
    let frames = s.recv_multipart(0)?;
    let (sender, seq, _, parts) = check(&frames[0]);
    assert_eq!(frames.len() as u32, parts, "multipart {sender}/{seq} arrived with the wrong frame count");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(check(f), (sender, seq, i as u32, parts), "frames of different messages mixed");
    }
    Ok((sender, seq))
}

fn receiver(ctx: &Context, endpoint: &str) -> Socket {
    let s = common::socket(ctx, PULL);
    s.set_rcvtimeo(20_000).unwrap();
    s.set_rcvhwm(50).unwrap();
    // A rebind to the same endpoint may race the old listener's close in its I/O thread.
    let until = Instant::now() + Duration::from_secs(10);
    while let Err(e) = s.bind(endpoint) {
        assert!(Instant::now() < until, "cannot bind {endpoint}: {e}");
        std::thread::sleep(Duration::from_millis(10));
    }
    s
}

/// Several PUSH threads into one PULL: every message arrives exactly once, whole and in order
/// per sender, whichever path each one took.
fn exactly_once_in_order(transport: &str, senders: u32, count: u32, seed: u64) {
    let ctx = Context::new();
    let pull = receiver(&ctx, &common::scratch_endpoint(transport));
    let endpoint = pull.get_last_endpoint().unwrap();
    let threads: Vec<_> = (0..senders)
        .map(|id| {
            let ctx = ctx.clone();
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let push = common::socket(&ctx, PUSH);
                push.set_sndhwm(1 + (seed as i32 + id as i32) % 40).unwrap();
                push.set_linger(-1).unwrap();
                push.connect(&endpoint).unwrap();
                run_sender(&push, id, count, seed ^ u64::from(id));
            })
        })
        .collect();
    let mut next = vec![0u32; senders as usize];
    let mut rng = Rng::new(seed);
    let mut done = 0;
    while done < senders {
        let (sender, seq) = recv_message(&pull).expect("messages stopped arriving");
        assert_eq!(seq, next[sender as usize], "sender {sender}: lost, repeated or reordered message");
        next[sender as usize] += 1;
        if seq == count {
            done += 1;
        }
        if rng.below(500) == 0 {
            // A slow receiver: senders hit their HWM and fall back to the pipe.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn pushers_deliver_exactly_once_in_order_tcp() {
    exactly_once_in_order("tcp", 3, 2000, 1);
}

#[test]
fn pushers_deliver_exactly_once_in_order_ipc() {
    exactly_once_in_order("ipc", 3, 2000, 2);
}

/// The receiver goes away and comes back (same endpoint) several times while senders keep
/// going: messages in flight at a disconnect may be lost, but none is repeated, reordered or
/// torn. The final marker may be lost too (in flight at a swap), so senders repeat it until
/// the receiver has seen every sender's.
fn survives_reconnects(transport: &str, senders: u32, count: u32, seed: u64) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let ctx = Context::new();
    let mut pull = receiver(&ctx, &common::scratch_endpoint(transport));
    let endpoint = pull.get_last_endpoint().unwrap();
    let threads: Vec<_> = (0..senders)
        .map(|id| {
            let ctx = ctx.clone();
            let endpoint = endpoint.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let push = common::socket(&ctx, PUSH);
                push.set_reconnect_ivl(5).unwrap();
                push.set_sndtimeo(-1).unwrap();
                push.connect(&endpoint).unwrap();
                run_sender(&push, id, count, seed ^ u64::from(id));
                let marker = frame(id, count, 0, 1, 0);
                while !stop.load(Ordering::Acquire) {
                    let _ = push.send(marker.as_slice(), DONTWAIT);
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    let mut last = vec![None::<u32>; senders as usize];
    let mut rng = Rng::new(seed);
    let (mut done, mut swaps, mut received) = (0, 0, 0u32);
    while done < senders {
        let (sender, seq) = recv_message(&pull).expect("messages stopped arriving");
        let prev = last[sender as usize];
        if seq == count && prev == Some(count) {
            continue; // a repeated marker
        }
        assert!(prev.is_none_or(|p| seq > p), "sender {sender}: {seq} after {prev:?}");
        last[sender as usize] = Some(seq);
        received += 1;
        if seq == count {
            done += 1;
        }
        if swaps < 4 && rng.below(u64::from(count) / 2) == 0 {
            drop(pull);
            std::thread::sleep(Duration::from_millis(rng.below(20)));
            pull = receiver(&ctx, &endpoint);
            swaps += 1;
        }
    }
    assert!(received > count / 2, "only {received} messages arrived");
    stop.store(true, Ordering::Release);
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn pushers_survive_receiver_restarts_ipc() {
    survives_reconnects("ipc", 3, 2000, 3);
}

#[test]
fn pushers_survive_receiver_restarts_tcp() {
    survives_reconnects("tcp", 2, 2000, 4);
}

/// REQ/REP and PAIR round trips (direct writes on both sides) with random sizes and parts.
#[test]
fn round_trips_stay_paired() {
    let ctx = Context::new();
    for (kind_a, kind_b) in [(REQ, REP), (PAIR, PAIR)] {
        for transport in ["tcp", "ipc"] {
            let a = common::socket(&ctx, kind_a);
            let b = common::socket(&ctx, kind_b);
            common::pair_up(&b, &a, transport);
            let server = std::thread::spawn(move || {
                for _ in 0..500 {
                    let frames = b.recv_multipart(0).unwrap();
                    b.send_multipart(frames.iter().rev().map(|f| f.as_slice()), 0).unwrap();
                }
            });
            let mut rng = Rng::new(7);
            for seq in 0..500 {
                let parts = 1 + rng.below(3) as u32;
                let msg: Vec<Vec<u8>> =
                    (0..parts).map(|p| frame(0, seq, p, parts, random_size(&mut rng))).collect();
                a.send_multipart(msg.iter().map(|f| f.as_slice()), 0).unwrap();
                let mut reply = a.recv_multipart(0).unwrap();
                reply.reverse();
                assert_eq!(reply, msg, "{transport}: round trip {seq} came back changed");
            }
            server.join().unwrap();
        }
    }
}

/// A peer that vanishes is an error on the connection, never a signal that kills the
/// process (the direct path writes with MSG_NOSIGNAL), and sending goes on.
#[test]
fn vanished_peer_is_survived() {
    let ctx = Context::new();
    let push = common::socket(&ctx, PUSH);
    push.set_sndtimeo(0).unwrap();
    for transport in ["tcp", "ipc"] {
        let pull = common::socket(&ctx, PULL);
        common::pair_up(&pull, &push, transport);
        push.set_sndtimeo(5000).unwrap();
        push.send("hello", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"hello");
        drop(pull);
        push.set_sndtimeo(0).unwrap();
        let until = Instant::now() + Duration::from_millis(200);
        while Instant::now() < until {
            let _ = push.send(vec![0u8; 1000], DONTWAIT);
        }
        push.disconnect(&push.get_last_endpoint().unwrap()).ok();
    }
}

/// The long version of the races above, for soak runs: `cargo test -p libsock --test
/// direct_io -- --ignored`.
#[test]
#[ignore]
fn stress_direct_handover() {
    for round in 0..20u64 {
        exactly_once_in_order(if round % 2 == 0 { "tcp" } else { "ipc" }, 4, 30_000, 100 + round);
        survives_reconnects(if round % 2 == 0 { "ipc" } else { "tcp" }, 3, 20_000, 200 + round);
    }
}
