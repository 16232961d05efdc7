//! Criterion benchmarks of whole inproc paths through libsock's public API: a PAIR round trip
//! and PUSH/PULL throughput between two threads of one context.
//!
//! `cargo bench -p benches --bench inproc` (add `-- --quick` for a short run).

// criterion_group! generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use libsock::{Context, Socket};

const SIZES: [usize; 3] = [1, 1024, 65536];

static SEQ: AtomicU64 = AtomicU64::new(0);

fn name(prefix: &str) -> String {
    format!("inproc://{prefix}-{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

fn socket(ctx: &Context, kind: libsock::SocketType) -> Socket {
    let s = ctx.socket(kind).expect("socket");
    s.set_linger(0).expect("linger");
    s
}

/// PAIR ping-pong with an echo thread: one iteration is one round trip.
fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("inproc_round_trip");
    g.throughput(Throughput::Elements(1));
    for size in SIZES {
        let ctx = Context::new();
        let endpoint = name("rt");
        let client = socket(&ctx, libsock::PAIR);
        client.bind(&endpoint).expect("bind");
        let echo_ctx = ctx.clone();
        let echo_endpoint = endpoint.clone();
        let echo = thread::spawn(move || {
            let s = socket(&echo_ctx, libsock::PAIR);
            s.connect(&echo_endpoint).expect("connect");
            loop {
                let m = s.recv_msg(0).expect("recv");
                let stop = m.is_empty();
                s.send(m, 0).expect("send");
                if stop {
                    return;
                }
            }
        });
        let body = vec![7u8; size];
        g.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| {
            b.iter(|| {
                client.send(&body[..], 0).expect("send");
                black_box(client.recv_msg(0).expect("recv"));
            })
        });
        client.send(&b""[..], 0).expect("send");
        client.recv_msg(0).expect("recv");
        echo.join().expect("echo thread");
    }
    g.finish();
}

/// PUSH on a feeder thread, PULL here: one iteration is one message received.
fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("inproc_push_pull");
    g.throughput(Throughput::Elements(1));
    for size in SIZES {
        let ctx = Context::new();
        let endpoint = name("thr");
        let pull = socket(&ctx, libsock::PULL);
        pull.bind(&endpoint).expect("bind");
        let (orders, order_rx) = mpsc::channel::<u64>();
        let feed_ctx = ctx.clone();
        let feed_endpoint = endpoint.clone();
        let feeder = thread::spawn(move || {
            let push = socket(&feed_ctx, libsock::PUSH);
            push.connect(&feed_endpoint).expect("connect");
            let body = vec![7u8; size];
            for n in order_rx {
                for _ in 0..n {
                    push.send(&body[..], 0).expect("send");
                }
            }
        });
        g.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter_custom(|iters| {
                orders.send(iters).expect("feeder alive");
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(pull.recv_msg(0).expect("recv"));
                }
                t.elapsed().max(Duration::from_nanos(1))
            })
        });
        drop(orders);
        feeder.join().expect("feeder thread");
    }
    g.finish();
}

criterion_group!(benches, round_trip, throughput);
criterion_main!(benches);
