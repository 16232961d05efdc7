//! Tiny helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use libsock::{Context, Socket, SocketType};

/// A fresh endpoint of the given transport that no other test uses.
pub fn scratch_endpoint(transport: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    match transport {
        "tcp" => "tcp://127.0.0.1:*".to_string(),
        "ipc" => {
            format!("ipc://{}/libsock-test-{}-{n}.ipc", std::env::temp_dir().display(), std::process::id())
        }
        "inproc" => format!("inproc://test-{n}"),
        other => panic!("unknown transport {other}"),
    }
}

/// A socket with LINGER 0 and a receive timeout, so a failing test fails instead of hanging.
pub fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(5000).unwrap();
    s.set_sndtimeo(5000).unwrap();
    s
}

/// Binds `a` on a scratch endpoint of `transport` and connects `b` to it.
pub fn pair_up(a: &Socket, b: &Socket, transport: &str) -> String {
    a.bind(&scratch_endpoint(transport)).unwrap();
    let ep = a.get_last_endpoint().unwrap();
    b.connect(&ep).unwrap();
    ep
}

pub const TRANSPORTS: [&str; 3] = ["tcp", "ipc", "inproc"];

/// Logs to the test output when RUST_LOG is set.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
