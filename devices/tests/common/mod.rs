//! Helpers shared by the devices' integration tests.

// Each test binary uses its own part of these helpers.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// A loopback port that is free now, chosen *below* the kernel's ephemeral range.
///
/// A port from `bind(127.0.0.1:0)` comes from the same range as the source ports of outgoing
/// connections, and these tests start relays and clients that connect all the time: between
/// the moment the test lets the port go and the moment a child process binds it, a
/// connection (or a client retrying against it, which may then connect to itself) could take
/// it. Ports below the range are handed out to nobody but an explicit bind. Each test process
/// starts at its own offset, so parallel test binaries rarely try the same ports.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low = ephemeral_low().clamp(12_000, 65_535);
    let (first, span) = (10_000u32, low - 10_000);
    let offset = std::process::id().wrapping_mul(7_919);
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (first + offset.wrapping_add(n) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {first} and {low}");
}

/// A tcp endpoint on [`free_port`].
pub fn free_tcp_endpoint() -> String {
    format!("tcp://127.0.0.1:{}", free_port())
}

/// The first port of the kernel's ephemeral range (32768 when it cannot be read).
fn ephemeral_low() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Runs sockcat with `args`, `stdin` written to it and closed; its output once it exits.
pub fn sockcat(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockcat"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// Starts sockcat with `args` and no input, its output piped.
pub fn spawn(args: &[&str]) -> std::process::Child {
    use std::process::{Command, Stdio};
    Command::new(env!("CARGO_BIN_EXE_sockcat"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
