//! Tiny helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
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

/// Panics on libsock's I/O threads, which the test harness would not notice otherwise.
static IO_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// [`init_logging`], and a panic hook that records panics on libsock's I/O threads for
/// [`assert_no_io_panics`] (and then reports them as the previous hook did).
pub fn setup() {
    init_logging();
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            if name.starts_with("libsock-io") {
                IO_PANICS.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{name}: {info}"));
            }
            previous(info);
        }));
    });
}

/// Fails if an I/O thread panicked since [`setup`] (in any test of this binary).
pub fn assert_no_io_panics() {
    let panics = IO_PANICS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(panics.is_empty(), "libsock I/O threads panicked: {panics:#?}");
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
