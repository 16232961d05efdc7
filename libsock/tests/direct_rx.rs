//! The direct receive path (`engine::direct_rx`): a thread blocked in `recv` on an empty pipe
//! reads its connection itself, and hands over to the I/O thread for everything that is not
//! a data frame. These tests race the two readers: bursts and pauses, multipart messages,
//! frames above the direct size limit, heartbeat commands between data frames, DONTWAIT and
//! `ZMQ_EVENTS`/poll readers, short RCVTIMEOs, peers that go away and come back mid-stream,
//! and libzmq as the peer. Every message must arrive exactly once, whole and in order.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libsock::{
    Context, Error, Socket, SocketEvent, SocketType, DEALER, DONTWAIT, EVENT_ALL, PAIR, POLLIN, PULL, PUSH,
    REP, REQ, ROUTER,
};

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

/// Frame `part` of `parts` of message `seq`: a header, then bytes derived from it.
fn frame(seq: u32, part: u32, parts: u32, size: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(12 + size);
    for v in [seq, part, parts] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    let salt = (seq.rotate_left(7) ^ part) as u8;
    f.extend((0..size).map(|i| (i as u8).wrapping_add(salt)));
    f
}

/// Checks one frame and returns (seq, part, parts).
fn check(f: &[u8]) -> (u32, u32, u32) {
    assert!(f.len() >= 12, "short frame: {} bytes", f.len());
    let v = |i: usize| u32::from_le_bytes(f[i * 4..i * 4 + 4].try_into().unwrap());
    let (seq, part, parts) = (v(0), v(1), v(2));
    let salt = (seq.rotate_left(7) ^ part) as u8;
    for (i, b) in f[12..].iter().enumerate() {
        assert_eq!(*b, (i as u8).wrapping_add(salt), "corrupt body in {seq}/{part}");
    }
    (seq, part, parts)
}

/// Mostly small (the direct path's case), sometimes above its 64 KiB frame limit.
fn random_size(rng: &mut Rng) -> usize {
    match rng.below(20) {
        0..=13 => rng.below(64) as usize,
        14..=17 => rng.below(8192) as usize,
        18 => 60_000 + rng.below(10_000) as usize,
        _ => 200_000,
    }
}

/// The frames of message `seq`, as the sender with `rng` makes them.
fn message(seq: u32, rng: &mut Rng) -> Vec<Vec<u8>> {
    let parts = 1 + rng.below(3) as u32;
    (0..parts).map(|p| frame(seq, p, parts, random_size(rng))).collect()
}

/// Receives one whole message in one of the ways an application does: a blocking `recv`
/// (the direct path), DONTWAIT after `ZMQ_EVENTS` says POLLIN, or `poll`; sometimes after
/// a pause. Returns its seq.
fn recv_checked(s: &Socket, rng: &mut Rng) -> Result<u32, Error> {
    if rng.below(100) == 0 {
        // Away for longer than the hold's tick (`direct_rx` rule 7): the I/O thread takes
        // the stream back meanwhile.
        std::thread::sleep(Duration::from_millis(5));
    }
    let flags = match rng.below(4) {
        0 => {
            // A poller: POLLIN must come for a message whichever thread decoded it.
            let mut items = [s.as_poll_item(POLLIN)];
            assert_eq!(libsock::poll(&mut items, 20_000)?, 1, "poll never saw the next message");
            DONTWAIT
        }
        1 => {
            while s.get_events()? & POLLIN == 0 {
                std::thread::yield_now();
            }
            DONTWAIT
        }
        _ => 0,
    };
    let frames = s.recv_multipart(flags)?;
    let (seq, _, parts) = check(&frames[0]);
    assert_eq!(frames.len() as u32, parts, "message {seq} arrived with the wrong frame count");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(check(f), (seq, i as u32, parts), "frames of different messages mixed");
    }
    Ok(seq)
}

/// Sends `count` messages in random bursts with random pauses, so the receiver alternates
/// between waiting on the stream (direct) and finding the pipe full (I/O thread).
fn send_bursts(s: &Socket, count: u32, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut seq = 0;
    while seq < count {
        for _ in 0..1 + rng.below(8) {
            if seq == count {
                break;
            }
            let msg = message(seq, &mut rng);
            s.send_multipart(msg.iter().map(|f| f.as_slice()), 0).unwrap();
            seq += 1;
        }
        match rng.below(10) {
            0 => std::thread::sleep(Duration::from_millis(2)),
            1..=4 => std::thread::yield_now(),
            _ => {}
        }
    }
}

/// PAIR to PAIR, one way, with heartbeats every few ms on both sides (PING/PONG commands
/// between data frames hand the stream back to the I/O thread).
fn one_way_stream(transport: &str, count: u32, seed: u64) {
    one_way(PAIR, PAIR, transport, count, seed);
}

/// [`one_way_stream`] from a `tx_kind` socket to an `rx_kind` one. PUSH to PULL: the I/O
/// thread also hands the stream over at the high water mark (`direct_rx` rule 8), which the
/// small RCVHWMs here make frequent.
fn one_way(rx_kind: SocketType, tx_kind: SocketType, transport: &str, count: u32, seed: u64) {
    let ctx = Context::new();
    let rx = common::socket(&ctx, rx_kind);
    let tx = common::socket(&ctx, tx_kind);
    for s in [&rx, &tx] {
        s.set_heartbeat_ivl(1 + (seed % 5) as i32).unwrap();
        s.set_heartbeat_timeout(20_000).unwrap();
        s.set_rcvtimeo(20_000).unwrap();
    }
    rx.set_rcvhwm(1 + (seed % 30) as i32).unwrap();
    common::pair_up(&rx, &tx, transport);
    // The sender is kept open until everything arrived (LINGER 0 would drop the tail).
    let sender = std::thread::spawn(move || {
        send_bursts(&tx, count, seed);
        tx
    });
    let mut rng = Rng::new(seed ^ 0xABCD);
    for expected in 0..count {
        let seq = recv_checked(&rx, &mut rng).expect("messages stopped arriving");
        assert_eq!(seq, expected, "{transport}: lost, repeated or reordered message");
    }
    let _tx = sender.join().unwrap();
    assert!(matches!(rx.recv_bytes(DONTWAIT), Err(Error::WouldBlock)), "a message arrived twice");
}

#[test]
fn stream_arrives_exactly_once_in_order_tcp() {
    one_way_stream("tcp", 3000, 1);
}

#[test]
fn stream_arrives_exactly_once_in_order_ipc() {
    one_way_stream("ipc", 3000, 2);
}

#[test]
fn pull_stream_arrives_exactly_once_in_order_tcp() {
    one_way(PULL, PUSH, "tcp", 3000, 3);
}

#[test]
fn pull_stream_arrives_exactly_once_in_order_ipc() {
    one_way(PULL, PUSH, "ipc", 3000, 4);
}

/// A PUSH floods a PULL with no pauses: mostly short frames (decoded in batches by the
/// receiving thread once the I/O thread hands the stream over, rule 8), some multipart,
/// some above the direct frame limit (handed back), and a receiver that now and then polls,
/// receives with DONTWAIT or sleeps past the hold's tick (each takes the stream back to
/// the I/O thread). Every message exactly once, whole and in order.
fn pull_flood(transport: &str, count: u32, seed: u64) {
    let ctx = Context::new();
    let rx = common::socket(&ctx, PULL);
    let tx = common::socket(&ctx, PUSH);
    rx.set_rcvtimeo(20_000).unwrap();
    rx.set_rcvhwm(100 + (seed % 900) as i32).unwrap();
    common::pair_up(&rx, &tx, transport);
    let sender = std::thread::spawn(move || {
        let mut rng = Rng::new(seed);
        for seq in 0..count {
            let parts = if rng.below(50) == 0 { 2 + rng.below(2) as u32 } else { 1 };
            let frames: Vec<Vec<u8>> = (0..parts)
                .map(|p| {
                    let size = match rng.below(2000) {
                        0 => 70_000,
                        1..=40 => 300 + rng.below(4000) as usize,
                        _ => rng.below(40) as usize,
                    };
                    frame(seq, p, parts, size)
                })
                .collect();
            tx.send_multipart(frames.iter().map(|f| f.as_slice()), 0).unwrap();
        }
        tx
    });
    let mut rng = Rng::new(seed ^ 0x5EED);
    for expected in 0..count {
        let flags = match rng.below(3000) {
            0 => {
                let mut items = [rx.as_poll_item(POLLIN)];
                assert_eq!(libsock::poll(&mut items, 20_000).unwrap(), 1, "poll never saw the next message");
                DONTWAIT
            }
            1 => {
                std::thread::sleep(Duration::from_millis(5));
                0
            }
            2..=5 => {
                while rx.get_events().unwrap() & POLLIN == 0 {
                    std::thread::yield_now();
                }
                DONTWAIT
            }
            _ => 0,
        };
        let frames = rx.recv_multipart(flags).expect("messages stopped arriving");
        let (seq, _, parts) = check(&frames[0]);
        assert_eq!(seq, expected, "{transport}: lost, repeated or reordered message");
        assert_eq!(frames.len() as u32, parts, "message {seq} arrived with the wrong frame count");
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(check(f), (seq, i as u32, parts), "frames of different messages mixed");
        }
    }
    let _tx = sender.join().unwrap();
    assert!(matches!(rx.recv_bytes(DONTWAIT), Err(Error::WouldBlock)), "a message arrived twice");
}

#[test]
fn pull_flood_arrives_exactly_once_in_order_tcp() {
    pull_flood("tcp", 200_000, 5);
}

#[test]
fn pull_flood_arrives_exactly_once_in_order_ipc() {
    pull_flood("ipc", 200_000, 6);
}

/// A PULL flooded by one PUSH (its connection handed over to the receiving thread, rule 8)
/// gets a second flooding peer midway: from then on it fair-queues through the I/O threads,
/// and every message of both arrives once, in each sender's order.
#[test]
fn a_second_peer_joins_a_handed_over_flood() {
    let ctx = Context::new();
    let rx = common::socket(&ctx, PULL);
    rx.set_rcvtimeo(20_000).unwrap();
    rx.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rx.get_last_endpoint().unwrap();
    const EACH: u32 = 100_000;
    let start_second = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..2u32)
        .map(|id| {
            let tx = common::socket(&ctx, PUSH);
            let (ep, start_second) = (ep.clone(), start_second.clone());
            std::thread::spawn(move || {
                while id == 1 && !start_second.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                tx.connect(&ep).unwrap();
                for seq in 0..EACH {
                    tx.send(frame(seq, id, 1, (seq % 30) as usize), 0).unwrap();
                }
                tx
            })
        })
        .collect();
    let mut next = [0u32; 2];
    for n in 0..2 * EACH {
        if n == 1 {
            // The pipe fills up meanwhile: its I/O thread hands the stream over.
            std::thread::sleep(Duration::from_millis(100));
        }
        if n == EACH / 4 {
            start_second.store(true, Ordering::Release);
        }
        let f = rx.recv_bytes(0).expect("messages stopped arriving");
        let (seq, id, _) = check(&f);
        assert_eq!(seq, next[id as usize], "sender {id}: lost, repeated or reordered message");
        next[id as usize] += 1;
    }
    for s in senders {
        let _tx = s.join().unwrap();
    }
    assert!(matches!(rx.recv_bytes(DONTWAIT), Err(Error::WouldBlock)), "a message arrived twice");
}

/// Messages that arrive after the receiver stopped reading the stream itself reach the pipe
/// and raise POLLIN: a burst is read partly by a blocking `recv`, the rest only through
/// `poll` and DONTWAIT, several times over.
#[test]
fn messages_left_behind_are_pollable() {
    let ctx = Context::new();
    for transport in ["tcp", "ipc"] {
        let a = common::socket(&ctx, PAIR);
        let b = common::socket(&ctx, PAIR);
        common::pair_up(&a, &b, transport);
        for round in 0..50u32 {
            let burst = 1 + round % 17;
            let sender = {
                let msgs: Vec<Vec<u8>> =
                    (0..burst).map(|i| frame(i, 0, 1, (round * 7 + i) as usize % 50)).collect();
                b.send_multipart([b"go".as_slice()], 0).unwrap();
                msgs
            };
            assert_eq!(a.recv_bytes(0).unwrap(), b"go");
            for m in &sender {
                b.send(m.as_slice(), 0).unwrap();
            }
            // Blocking receive: taken directly from the stream (usually with others).
            assert_eq!(check(&a.recv_bytes(0).unwrap()).0, 0);
            for i in 1..burst {
                let mut items = [a.as_poll_item(POLLIN)];
                assert_eq!(
                    libsock::poll(&mut items, 20_000).unwrap(),
                    1,
                    "{transport}: message {i} not pollable"
                );
                assert_eq!(check(&a.recv_bytes(DONTWAIT).unwrap()).0, i, "{transport}: out of order");
            }
            assert_eq!(a.get_events().unwrap() & POLLIN, 0);
        }
    }
}

/// RCVTIMEO and DONTWAIT keep their meaning while the thread waits on the stream; a
/// message after a timeout still arrives; context shutdown ends a direct wait.
#[test]
fn timeouts_and_shutdown_end_a_direct_wait() {
    let ctx = Context::new();
    let req = common::socket(&ctx, REQ);
    let rep = common::socket(&ctx, REP);
    common::pair_up(&rep, &req, "tcp");
    req.send("ping", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"ping");
    rep.send("pong", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"pong");
    req.send("slow", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"slow");
    req.set_rcvtimeo(30).unwrap();
    assert!(matches!(req.recv_bytes(0), Err(Error::TimedOut)));
    assert!(matches!(req.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    rep.send("late", 0).unwrap();
    req.set_rcvtimeo(20_000).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"late");

    req.send("again", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"again");
    req.set_rcvtimeo(-1).unwrap();
    let waiter = std::thread::spawn(move || req.recv_bytes(0));
    std::thread::sleep(Duration::from_millis(50));
    ctx.shutdown();
    assert!(matches!(waiter.join().unwrap(), Err(Error::ContextTerminated)));
}

/// A thread waiting on the stream while heartbeats run for seconds: the PONGs it reads go to
/// the I/O thread (no heartbeat timeout, no disconnect), and data still gets through.
#[test]
fn heartbeats_flow_while_the_application_waits() {
    let ctx = Context::new();
    let a = common::socket(&ctx, PAIR);
    let b = common::socket(&ctx, PAIR);
    a.set_heartbeat_ivl(20).unwrap();
    a.set_heartbeat_timeout(1500).unwrap();
    let events = a.monitor_events(EVENT_ALL).unwrap();
    common::pair_up(&a, &b, "tcp");
    b.send("hello", 0).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"hello");
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(3000));
        b.send("after", 0).unwrap();
        b
    });
    a.set_rcvtimeo(20_000).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"after");
    let _b = sender.join().unwrap();
    while let Ok(e) = events.recv_event(0) {
        assert_ne!(e.event, SocketEvent::Disconnected, "heartbeat timed out: {e:?}");
    }
}

/// DEALER waiting on a ROUTER that is closed and rebound mid-stream: the wait survives the
/// link going down (the I/O thread disarms and wakes it) and resumes on the new link.
/// Messages in flight at a swap may be lost, never repeated, reordered or torn.
fn dealer_survives_router_restarts(transport: &str, count: u32, seed: u64) {
    let ctx = Context::new();
    let endpoint = {
        let probe = common::socket(&ctx, ROUTER);
        probe.bind(&common::scratch_endpoint(transport)).unwrap();
        probe.get_last_endpoint().unwrap()
    };
    let dealer = common::socket(&ctx, DEALER);
    dealer.set_reconnect_ivl(5).unwrap();
    dealer.set_rcvtimeo(20_000).unwrap();
    dealer.set_routing_id(b"d").unwrap();
    dealer.connect(&endpoint).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (ctx, stop, endpoint) = (ctx.clone(), stop.clone(), endpoint.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(seed);
            let mut seq = 0u32;
            while !stop.load(Ordering::Acquire) {
                let router = common::socket(&ctx, ROUTER);
                let until = Instant::now() + Duration::from_secs(10);
                while let Err(e) = router.bind(&endpoint) {
                    assert!(Instant::now() < until, "cannot rebind {endpoint}: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                // ROUTER_MANDATORY: sends fail until the dealer's new link is up.
                router.set_router_mandatory(true).unwrap();
                let run = 1 + rng.below(u64::from(count) / 4);
                let mut sent = 0;
                while sent < run && Instant::now() < until + Duration::from_secs(10) {
                    let msg = message(seq.min(count), &mut rng);
                    let parts = std::iter::once(b"d".to_vec()).chain(msg);
                    match router.send_multipart(parts, DONTWAIT) {
                        Ok(()) => {
                            seq += 1;
                            sent += 1;
                        }
                        Err(Error::HostUnreachable | Error::WouldBlock) => {
                            // Not connected yet, or at the HWM: the message was not sent, so
                            // it is made again (same seq, new random parts).
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        Err(e) => panic!("router send: {e}"),
                    }
                    if rng.below(8) == 0 {
                        std::thread::yield_now();
                    }
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(rng.below(5)));
            }
        })
    };
    let mut rng = Rng::new(seed ^ 0x5555);
    let mut last: Option<u32> = None;
    let mut received = 0;
    while last.is_none_or(|l| l < count) {
        match recv_checked(&dealer, &mut rng) {
            Ok(seq) => {
                assert!(last.is_none_or(|l| seq > l || (seq == count && l == count)), "{seq} after {last:?}");
                last = Some(seq);
                received += 1;
            }
            Err(e) => panic!("{transport}: messages stopped arriving after {last:?}: {e}"),
        }
    }
    stop.store(true, Ordering::Release);
    server.join().unwrap();
    assert!(received > 0);
}

#[test]
fn dealer_survives_router_restarts_tcp() {
    dealer_survives_router_restarts("tcp", 1500, 5);
}

#[test]
fn dealer_survives_router_restarts_ipc() {
    dealer_survives_router_restarts("ipc", 1500, 6);
}

/// libzmq as the peer: REQ/REP round trips both ways round with multipart messages and
/// heartbeats, every reply paired with its request.
#[test]
fn round_trips_with_libzmq() {
    let zctx = zmq::Context::new();
    let ctx = Context::new();
    // libsock REQ → libzmq REP, then libzmq REQ → libsock REP.
    let zrep = zctx.socket(zmq::REP).unwrap();
    // PINGs every few ms (commands between the data frames), but timeouts a loaded machine
    // cannot trip.
    zrep.set_heartbeat_ivl(5).unwrap();
    zrep.set_heartbeat_timeout(20_000).unwrap();
    zrep.bind("tcp://127.0.0.1:*").unwrap();
    let zep = zrep.get_last_endpoint().unwrap().unwrap();
    let echo = std::thread::spawn(move || {
        for _ in 0..400 {
            let frames = zrep.recv_multipart(0).unwrap();
            zrep.send_multipart(frames, 0).unwrap();
        }
    });
    let req = common::socket(&ctx, REQ);
    req.set_heartbeat_ivl(3).unwrap();
    req.set_heartbeat_timeout(20_000).unwrap();
    req.connect(&zep).unwrap();
    let mut rng = Rng::new(9);
    for seq in 0..400 {
        let msg = message(seq, &mut rng);
        req.send_multipart(msg.iter().map(|f| f.as_slice()), 0).unwrap();
        assert_eq!(req.recv_multipart(0).unwrap(), msg, "reply {seq} changed");
    }
    echo.join().unwrap();

    let rep = common::socket(&ctx, REP);
    rep.set_heartbeat_ivl(3).unwrap();
    rep.set_heartbeat_timeout(20_000).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.get_last_endpoint().unwrap();
    let client = std::thread::spawn(move || {
        let zreq = zctx.socket(zmq::REQ).unwrap();
        zreq.set_heartbeat_ivl(5).unwrap();
        zreq.set_heartbeat_timeout(20_000).unwrap();
        zreq.connect(&ep).unwrap();
        let mut rng = Rng::new(10);
        for seq in 0..400 {
            let msg = message(seq, &mut rng);
            zreq.send_multipart(msg.iter(), 0).unwrap();
            assert_eq!(zreq.recv_multipart(0).unwrap(), msg, "reply {seq} changed");
        }
    });
    for _ in 0..400 {
        let frames = rep.recv_multipart(0).unwrap();
        rep.send_multipart(frames, 0).unwrap();
    }
    client.join().unwrap();
}

/// libzmq's PUSH floods a libsock PULL (handed over to the receiving thread, rule 8):
/// short, long and multipart messages, all in order, with PINGs every 2 ms both ways in
/// the stream the receiving thread reads.
///
/// The sender keeps its socket open until everything arrived: libzmq's PUSH closes at
/// `zmq_ctx_term` once its messages are in the kernel, and a close with our PINGs or PONGs
/// unread is a reset, which throws away what its kernel had not sent yet (libzmq to libzmq
/// loses messages the same way; what reached this host before the reset is delivered, see
/// `tests/peer_gone.rs`).
#[test]
fn a_flood_from_libzmq_arrives_in_order() {
    let zctx = zmq::Context::new();
    let ctx = Context::new();
    let rx = common::socket(&ctx, PULL);
    rx.set_rcvtimeo(20_000).unwrap();
    rx.set_heartbeat_ivl(2).unwrap();
    rx.set_heartbeat_timeout(20_000).unwrap();
    rx.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rx.get_last_endpoint().unwrap();
    const COUNT: u32 = 100_000;
    let (all_arrived, wait_for_all) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        let push = zctx.socket(zmq::PUSH).unwrap();
        push.set_heartbeat_ivl(2).unwrap();
        push.set_heartbeat_timeout(20_000).unwrap();
        push.connect(&ep).unwrap();
        let mut rng = Rng::new(11);
        for seq in 0..COUNT {
            let parts = if rng.below(40) == 0 { 2 } else { 1 };
            let frames: Vec<Vec<u8>> = (0..parts)
                .map(|p| {
                    let size = match rng.below(1000) {
                        0 => 70_000,
                        1..=20 => 2000,
                        _ => rng.below(30) as usize,
                    };
                    frame(seq, p, parts, size)
                })
                .collect();
            push.send_multipart(frames, 0).unwrap();
        }
        let _ = wait_for_all.recv();
    });
    for expected in 0..COUNT {
        let frames =
            rx.recv_multipart(0).unwrap_or_else(|e| panic!("messages stopped arriving at {expected}: {e}"));
        let (seq, _, parts) = check(&frames[0]);
        assert_eq!(seq, expected, "lost, repeated or reordered message");
        assert_eq!(frames.len() as u32, parts);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(check(f), (seq, i as u32, parts), "frames of different messages mixed");
        }
    }
    all_arrived.send(()).unwrap();
    sender.join().unwrap();
}

/// The long version, for soak runs: `cargo test -p libsock --test direct_rx -- --ignored`.
#[test]
#[ignore]
fn stress_direct_rx_handover() {
    for round in 0..20u64 {
        one_way_stream(if round % 2 == 0 { "tcp" } else { "ipc" }, 30_000, 100 + round);
        one_way(PULL, PUSH, if round % 2 == 0 { "ipc" } else { "tcp" }, 30_000, 300 + round);
        pull_flood(if round % 2 == 0 { "tcp" } else { "ipc" }, 2_000_000, 400 + round);
        dealer_survives_router_restarts(if round % 2 == 0 { "ipc" } else { "tcp" }, 20_000, 200 + round);
    }
}
