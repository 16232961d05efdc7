//! Streams whose kernel buffer fills up: the I/O thread stops writing after a short write or
//! EAGAIN and resumes only on the writable edge (`engine::connection`, `Link::out_full`).
//! A lost edge would stall delivery: these tests send far more than the socket buffers hold
//! to a receiver that pauses, and check every message arrives once, whole and in order.
//! With SNDBUF set, batches are cut to a quarter of the kernel's buffer
//! (`engine::connection::output::out_batch`), smaller than many of the messages.

mod common;

use std::thread;

use common::*;
use libsock::{Context, PUB, PULL, PUSH, SUB};

/// Body `i`: its index, then filler whose size varies from 1 byte to past the zero-copy
/// threshold (8 KiB), so both copied and `writev`-shared bodies cross the full buffer.
fn body(i: u32) -> Vec<u8> {
    let len = match i % 97 {
        0 => 100_000,
        n if n % 5 == 0 => 9_000,
        n => (n as usize * 37) % 2_000,
    };
    let mut b = i.to_le_bytes().to_vec();
    b.extend((0..len).map(|k| (k as u32 ^ i) as u8));
    b
}

#[test]
fn push_pull_through_full_socket_buffers() {
    const COUNT: u32 = 6_000;
    let ctx = Context::new();
    for (transport, sndbuf) in [("tcp", -1), ("ipc", -1), ("tcp", 4096), ("tcp", 65536)] {
        let transport_sndbuf = format!("{transport}, SNDBUF {sndbuf}");
        let pull = socket(&ctx, PULL);
        let push = socket(&ctx, PUSH);
        push.set_sndbuf(sndbuf).unwrap();
        pull.set_rcvhwm(20).unwrap();
        pull.set_rcvtimeo(30_000).unwrap();
        push.set_sndhwm(0).unwrap();
        pair_up(&pull, &push, transport);
        let sender = thread::spawn(move || {
            for i in 0..COUNT {
                let b = body(i);
                if i % 3 == 0 {
                    // Multipart too: the frames must stay together across partial writes.
                    push.send(b[..4].to_vec(), libsock::SNDMORE).unwrap();
                    push.send(b[4..].to_vec(), 0).unwrap();
                } else {
                    push.send(b, 0).unwrap();
                }
            }
            push
        });
        // Let the sender fill both kernel buffers before reading anything.
        thread::sleep(ms(300));
        for i in 0..COUNT {
            let got =
                pull.recv_multipart(0).unwrap_or_else(|e| panic!("{transport_sndbuf}: message {i}: {e}"));
            assert_eq!(got.concat(), body(i), "{transport_sndbuf}: message {i}");
            if i % 500 == 0 {
                // Pause now and then, so the buffers fill and drain many times.
                thread::sleep(ms(20));
            }
        }
        drop(sender.join().unwrap());
    }
}

#[test]
fn publisher_keeps_serving_a_subscriber_behind_a_full_socket() {
    let ctx = Context::new();
    let publisher = socket(&ctx, PUB);
    let slow = socket(&ctx, SUB);
    let fast = socket(&ctx, SUB);
    for s in [&slow, &fast] {
        s.set_rcvtimeo(30_000).unwrap();
        s.set_subscribe(b"").unwrap();
    }
    publisher.bind(&scratch_endpoint("tcp")).unwrap();
    let ep = publisher.get_last_endpoint().unwrap();
    slow.connect(&ep).unwrap();
    fast.connect(&ep).unwrap();
    // Wait until both subscriptions reached the publisher.
    let mut seen = [false, false];
    while seen != [true, true] {
        publisher.send("probe", 0).unwrap();
        thread::sleep(ms(10));
        for (k, s) in [&slow, &fast].into_iter().enumerate() {
            while s.recv_bytes(libsock::DONTWAIT).is_ok() {
                seen[k] = true;
            }
        }
    }
    // `slow` reads nothing while 40 MB go out: its socket fills, the publisher drops for it
    // at its HWM and must keep delivering to `fast`.
    let big = vec![7u8; 4_000];
    let fast_reader = thread::spawn(move || {
        let mut n = 0;
        loop {
            let m = fast.recv_bytes(0).expect("the fast subscriber starved");
            if m == b"end" {
                return n;
            }
            n += 1;
        }
    });
    for _ in 0..10_000 {
        publisher.send(big.clone(), 0).unwrap();
    }
    // The end marker may be dropped at a full pipe: repeat it until the reader saw it.
    while !fast_reader.is_finished() {
        publisher.send("end", 0).unwrap();
        thread::sleep(ms(20));
    }
    assert!(fast_reader.join().unwrap() > 0);
    // The slow subscriber then drains what was queued for it and gets new messages again
    // (repeated: the first ones may meet a pipe still at its HWM).
    let slow_reader = thread::spawn(move || loop {
        let m = slow.recv_bytes(0).expect("the slow subscriber never caught up");
        if m == b"after" {
            return;
        }
    });
    while !slow_reader.is_finished() {
        publisher.send("after", 0).unwrap();
        thread::sleep(ms(20));
    }
    slow_reader.join().unwrap();
}
