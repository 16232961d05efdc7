//! Criterion micro-benchmarks of the ZMTP codec (`libsock::codec`), in memory.
//!
//! `cargo bench -p benches --bench codec` (add `-- --quick` for a short run).

// criterion_group! generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use libsock::codec::{command, frame, null, parse_command, parse_properties, Greeting};

const SIZES: [usize; 4] = [1, 64, 1024, 65536];

/// Header and whole-frame encoding, header decoding, per body size.
fn frames(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame");
    g.throughput(Throughput::Elements(1));
    for size in SIZES {
        let body = vec![0xA5u8; size];
        let mut out = Vec::with_capacity(size + 9);
        g.bench_with_input(BenchmarkId::new("encode_header", size), &size, |b, &size| {
            b.iter(|| {
                out.clear();
                frame::encode_header(&mut out, false, false, black_box(size));
                black_box(&out);
            })
        });
        g.bench_with_input(BenchmarkId::new("encode_frame", size), &body, |b, body| {
            b.iter(|| {
                out.clear();
                frame::encode_frame(&mut out, false, false, black_box(body));
                black_box(&out);
            })
        });
        let mut wire = Vec::new();
        frame::encode_frame(&mut wire, true, false, &body);
        g.bench_with_input(BenchmarkId::new("decode_header", size), &wire, |b, wire| {
            b.iter(|| frame::decode_header(black_box(wire), Some(1 << 30)))
        });
    }
    g.finish();
}

/// Walking a buffer of 1000 back-to-back frames, the receive path's inner loop.
fn frame_stream(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_stream_1000");
    for size in [1usize, 64, 1024] {
        let mut wire = Vec::new();
        for _ in 0..1000 {
            frame::encode_frame(&mut wire, false, false, &vec![1u8; size]);
        }
        g.throughput(Throughput::Elements(1000));
        g.bench_with_input(BenchmarkId::new("decode", size), &wire, |b, wire| {
            b.iter(|| {
                let mut rest = &wire[..];
                let mut n = 0usize;
                while let Ok(Some(h)) = frame::decode_header(rest, None) {
                    let end = h.header_len + h.size as usize;
                    n += end;
                    rest = &rest[end..];
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

/// The 64-byte greeting, both ways.
fn greeting(c: &mut Criterion) {
    let mut out = Vec::with_capacity(64);
    c.bench_function("greeting/encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(Greeting::ours()).encode(&mut out);
            black_box(&out);
        })
    });
    let mut wire = Vec::new();
    Greeting::ours().encode(&mut wire);
    c.bench_function("greeting/decode", |b| b.iter(|| Greeting::decode(black_box(&wire))));
}

fn command_body(wire: &[u8]) -> &[u8] {
    let h = frame::decode_header(wire, None).expect("valid frame").expect("complete frame");
    &wire[h.header_len..]
}

/// READY (handshake) and PING/PONG (heartbeat) commands.
fn commands(c: &mut Criterion) {
    let mut out = Vec::with_capacity(128);
    c.bench_function("command/encode_ready", |b| {
        b.iter(|| {
            out.clear();
            null::encode_ready(&mut out, black_box(libsock::DEALER), b"worker-1");
            black_box(&out);
        })
    });
    let mut ready = Vec::new();
    null::encode_ready(&mut ready, libsock::DEALER, b"worker-1");
    let ready_body = command_body(&ready).to_vec();
    c.bench_function("command/parse_ready", |b| {
        b.iter(|| match parse_command(black_box(&ready_body)) {
            Ok(command::Command::Ready(props)) => black_box(props.len()),
            other => panic!("not a READY: {other:?}"),
        })
    });
    c.bench_function("command/check_ready", |b| {
        let Ok(command::Command::Ready(props)) = parse_command(&ready_body) else {
            panic!("not a READY");
        };
        b.iter(|| null::check_ready(black_box(libsock::ROUTER), black_box(&props)))
    });
    let props_start = 1 + "READY".len();
    c.bench_function("command/parse_properties", |b| {
        b.iter(|| parse_properties(black_box(&ready_body[props_start..])))
    });
    c.bench_function("command/encode_ping", |b| {
        b.iter(|| {
            out.clear();
            command::encode_ping(&mut out, black_box(100), b"0123456789abcdef");
            black_box(&out);
        })
    });
    let mut ping = Vec::new();
    command::encode_ping(&mut ping, 100, b"0123456789abcdef");
    let ping_body = command_body(&ping).to_vec();
    c.bench_function("command/parse_ping", |b| b.iter(|| parse_command(black_box(&ping_body))));
}

criterion_group!(benches, frames, frame_stream, greeting, commands);
criterion_main!(benches);
