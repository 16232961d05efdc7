//! Measures (does not time-assert) an idle `sockdev` relay: CPU with no traffic, and memory
//! with 10 000 idle client connections. Run it on purpose, ideally on a release build:
//!
//! ```text
//! cargo test --release -p devices --test sockdev_idle -- --ignored --nocapture
//! # or, with a release relay and debug tests:
//! SOCKDEV_BIN=target/release/sockdev cargo test -p devices --test sockdev_idle -- --ignored --nocapture
//! ```
//!
//! The clients are raw tcp sockets that send a ZMTP 3.1 greeting and a DEALER `READY`, so
//! the only libsock process measured is the relay itself.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const CLIENTS: usize = 10_000;

/// The relay's resident memory in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The relay's user + system CPU time, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) are utime and stime; `after_name` starts at field 3.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// CPU use over `secs` seconds of idling, in percent of one core.
fn idle_cpu_percent(pid: u32, secs: u64) -> f64 {
    let t0 = cpu_ticks(pid);
    thread::sleep(Duration::from_secs(secs));
    (cpu_ticks(pid) - t0) as f64 / secs as f64
}

/// Greeting (ZMTP 3.1, NULL) and READY announcing a DEALER.
fn handshake() -> Vec<u8> {
    let mut out = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    out.extend_from_slice(b"NULL");
    out.resize(64, 0);
    let mut ready = vec![5];
    ready.extend_from_slice(b"READY");
    ready.push(11);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&6u32.to_be_bytes());
    ready.extend_from_slice(b"DEALER");
    out.extend_from_slice(&[0x04, ready.len() as u8]);
    out.extend_from_slice(&ready);
    out
}

fn metrics(addr: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn free_port() -> u16 {
    common::free_port()
}

#[test]
#[ignore = "a measurement: 10 000 connections and ~20 s; run with --ignored --nocapture"]
fn stress_idle_relay_cpu_and_memory_with_10k_connections() {
    let (fe, be, m) = (free_port(), free_port(), free_port());
    let metrics_addr = format!("127.0.0.1:{m}");
    // SOCKDEV_BIN picks another build (e.g. target/release/sockdev) without rebuilding tests.
    let bin = std::env::var("SOCKDEV_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_sockdev").to_owned());
    let mut relay = Command::new(bin)
        .args(["queue", "--frontend-bind", &format!("tcp://127.0.0.1:{fe}")])
        .args(["--backend-bind", &format!("tcp://127.0.0.1:{be}"), "--metrics", &metrics_addr])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = relay.id();
    let started = Instant::now();
    while metrics(&metrics_addr).is_none() {
        assert!(started.elapsed() < Duration::from_secs(20), "the relay did not start");
        thread::sleep(Duration::from_millis(20));
    }
    let rss_start = rss_kib(pid);
    let cpu_empty = idle_cpu_percent(pid, 5);

    let hello = handshake();
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut c = TcpStream::connect(("127.0.0.1", fe)).unwrap();
        c.write_all(&hello).unwrap();
        clients.push(c);
    }
    let connect_secs = started.elapsed().as_secs_f64();
    // Let the relay finish every handshake, then measure it idle.
    let started = Instant::now();
    let connected = loop {
        let page = metrics(&metrics_addr).unwrap_or_default();
        let n = page
            .lines()
            .find(|l| l.starts_with("sockdev_connections{device=\"queue\",side=\"frontend\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<usize>().ok())
            .unwrap_or(0);
        if n >= CLIENTS || started.elapsed() > Duration::from_secs(30) {
            break n;
        }
        thread::sleep(Duration::from_millis(200));
    };
    thread::sleep(Duration::from_secs(2));
    let rss_loaded = rss_kib(pid);
    let cpu_loaded = idle_cpu_percent(pid, 10);
    let per_conn = (rss_loaded.saturating_sub(rss_start)) as f64 * 1024.0 / CLIENTS as f64;
    println!(
        "sockdev idle: rss {rss_start} KiB empty, {rss_loaded} KiB with {CLIENTS} connections \
         ({per_conn:.0} B per connection; gauge says {connected}); cpu {cpu_empty:.2}% idle empty, \
         {cpu_loaded:.2}% idle with connections; connecting took {connect_secs:.1} s"
    );
    drop(clients);
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let status = relay.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(per_conn < 100.0 * 1024.0, "memory per idle connection is unbounded-looking: {per_conn} B");
}
