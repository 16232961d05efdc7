//! Hostile input: a raw TCP (or Unix) peer sends garbage, truncated or disallowed ZMTP to a
//! bound libsock socket. Each case checks that libsock closes that one connection with a clear
//! log line, keeps serving a well-behaved libsock peer, never surfaces a hostile byte as a
//! message, and does not allocate what a size field asks for.
//!
//! Logs are captured by one global `tracing` subscriber writing into memory (the I/O threads
//! log, so a thread-local subscriber would miss them). Tests find their own lines by the
//! `endpoint=tcp://127.0.0.1:<port>` field, where `<port>` is the raw stream's local port.
//!
//! - `greetings`: garbage, truncated and old-version greetings, mechanisms the socket does not
//!   run, garbage over ipc.
//! - `handshake`: no READY, Socket-Type checks, a second PAIR peer, a silent peer.
//! - `frames`: commands after the handshake, frames and size fields beyond MAXMSGSIZE (the
//!   2^62-byte ones in a child process).
//! - `floods`: garbage connections by the hundred, random bytes after a greeting prefix.
//!
//! This file holds what they share: log capture, wire bytes, raw peers, and the bench (the
//! socket under attack with a good peer beside it).

#[path = "../common/mod.rs"]
mod common;

mod floods;
mod frames;
mod greetings;
mod handshake;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use libsock::codec::greeting::{Greeting, Mechanism};
use libsock::codec::{command, frame, null};
use libsock::{Context, Error, Socket, SocketType, DONTWAIT, PAIR, PULL, PUSH};

// ---------------------------------------------------------------------------------------------
// Log capture

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the global in-memory subscriber (once per process).
fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

fn log_text() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Whether `line` carries exactly the field `endpoint=<endpoint>`.
fn names_endpoint(line: &str, endpoint: &str) -> bool {
    let want = format!("endpoint={endpoint}");
    line.split_whitespace().any(|tok| tok == want)
}

fn matching_lines(levels: &[&str], endpoint: &str, needles: &[&str]) -> Vec<String> {
    log_text()
        .lines()
        .filter(|l| levels.iter().any(|lv| l.contains(&format!(" {lv} "))))
        .filter(|l| names_endpoint(l, endpoint))
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_owned)
        .collect()
}

/// Waits (briefly) for a log line at one of `levels` naming `endpoint` and containing every
/// needle; panics with the lines about that endpoint if none shows up.
fn expect_log(levels: &[&str], endpoint: &str, needles: &[&str]) -> String {
    let deadline = Instant::now() + ms(2000);
    loop {
        if let Some(line) = matching_lines(levels, endpoint, needles).into_iter().next() {
            return line;
        }
        if Instant::now() > deadline {
            let about: Vec<String> =
                log_text().lines().filter(|l| names_endpoint(l, endpoint)).map(str::to_owned).collect();
            panic!(
                "no {levels:?} log line for {endpoint} containing {needles:?}; lines about it: {about:#?}"
            );
        }
        std::thread::sleep(ms(10));
    }
}

const WARN: &[&str] = &["WARN"];
const WARN_INFO: &[&str] = &["WARN", "INFO"];

// ---------------------------------------------------------------------------------------------
// Wire bytes

fn greeting_with(mechanism: Mechanism) -> Vec<u8> {
    let mut out = Vec::new();
    Greeting { mechanism, ..Greeting::ours() }.encode(&mut out);
    out
}

fn greeting() -> Vec<u8> {
    greeting_with(Mechanism::Null)
}

fn ready_cmd(socket_type: &str) -> Vec<u8> {
    let mut out = Vec::new();
    command::encode_ready(&mut out, &[("Socket-Type", socket_type.as_bytes())]);
    out
}

/// A greeting and a READY announcing `socket_type`.
fn hello(socket_type: &str) -> Vec<u8> {
    let mut out = greeting();
    out.extend_from_slice(&ready_cmd(socket_type));
    out
}

fn data_frame(more: bool, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode_frame(&mut out, more, false, body);
    out
}

fn command_frame(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let mut out = Vec::new();
    frame::encode_frame(&mut out, false, true, &body);
    out
}

/// What libsock sends first: its greeting then, once it has ours, its READY.
fn libsock_hello(kind: SocketType) -> Vec<u8> {
    let mut out = Vec::new();
    Greeting::ours().encode(&mut out);
    null::encode_ready(&mut out, kind, b"");
    out
}

const GARBAGE: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.0\r\n\r\n";

/// Seeded xorshift64*, biased towards bytes that mean something in ZMTP.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        const INTERESTING: [u8; 9] = [0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x7F, 0xFF, 5];
        (0..len)
            .map(|_| match self.below(4) {
                0 => INTERESTING[self.below(INTERESTING.len() as u64) as usize],
                _ => self.next() as u8,
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Raw hostile peers

/// A raw stream to a libsock endpoint.
trait Raw: Read + Write {
    fn set_timeout(&self, d: Duration);
    fn shut_write(&self);
    /// The value of the `endpoint` field libsock logs for this connection.
    fn log_name(&self) -> String;
}

impl Raw for TcpStream {
    fn set_timeout(&self, d: Duration) {
        self.set_read_timeout(Some(d)).unwrap();
    }
    fn shut_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
    fn log_name(&self) -> String {
        format!("tcp://{}", self.local_addr().unwrap())
    }
}

impl Raw for UnixStream {
    fn set_timeout(&self, d: Duration) {
        self.set_read_timeout(Some(d)).unwrap();
    }
    fn shut_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
    fn log_name(&self) -> String {
        "ipc://".to_string()
    }
}

fn raw_tcp(endpoint: &str) -> TcpStream {
    let addr = endpoint.strip_prefix("tcp://").expect("a tcp endpoint");
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// How the connection ended, seen from the raw peer.
#[derive(Debug)]
struct Closed {
    /// Time from the call until EOF or reset.
    after: Duration,
    /// Every byte libsock sent before closing.
    received: Vec<u8>,
}

/// Reads (and keeps) whatever libsock sends until it closes the connection: `Ok(0)` or a reset.
/// Panics if the connection is still open at `within`.
fn expect_closed(s: &mut impl Raw, within: Duration) -> Closed {
    let start = Instant::now();
    let deadline = start + within;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "libsock kept the hostile connection {} open for {within:?} (got {} bytes from it)",
            s.log_name(),
            received.len()
        );
        s.set_timeout(left.min(ms(100)).max(ms(1)));
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
                ) =>
            {
                break
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("unexpected read error on the hostile stream: {e}"),
        }
    }
    Closed { after: start.elapsed(), received }
}

/// Sends `bytes`, ignoring a reset (libsock may already have closed the connection).
fn send_raw(s: &mut impl Raw, bytes: &[u8]) {
    if let Err(e) = s.write_all(bytes) {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
            ),
            "write to libsock failed: {e}"
        );
    }
}

/// Reads exactly libsock's greeting and READY for a `kind` socket, proving the handshake done.
fn read_libsock_hello(s: &mut impl Raw, kind: SocketType) {
    let want = libsock_hello(kind);
    let mut got = vec![0u8; want.len()];
    s.set_timeout(ms(3000));
    s.read_exact(&mut got).expect("libsock's greeting and READY");
    assert_eq!(got, want, "libsock's greeting + READY");
}

// ---------------------------------------------------------------------------------------------
// The bound socket under attack, and a good libsock peer connected to it

struct Bench {
    _ctx: Context,
    /// The socket under attack.
    bound: Socket,
    /// A well-behaved libsock peer, connected before the attack.
    good: Socket,
    endpoint: String,
    /// Messages flow good → bound (PULL, PAIR) or bound → good (PUSH).
    bound_receives: bool,
    round: usize,
}

impl Bench {
    fn tcp(kind: SocketType, configure: impl FnOnce(&Socket)) -> Bench {
        Bench::new(kind, "tcp", configure)
    }

    fn new(kind: SocketType, transport: &str, configure: impl FnOnce(&Socket)) -> Bench {
        capture_logs();
        let ctx = Context::new();
        let bound = socket(&ctx, kind);
        bound.set_rcvtimeo(3000).unwrap();
        bound.set_sndtimeo(3000).unwrap();
        configure(&bound);
        bound.bind(&scratch_endpoint(transport)).unwrap();
        let endpoint = bound.get_last_endpoint().unwrap();
        let good_kind = match kind {
            PULL => PUSH,
            PUSH => PULL,
            PAIR => PAIR,
            other => panic!("no bench for {other:?}"),
        };
        let good = socket(&ctx, good_kind);
        good.set_rcvtimeo(3000).unwrap();
        good.set_sndtimeo(3000).unwrap();
        good.connect(&endpoint).unwrap();
        let mut bench = Bench { _ctx: ctx, bound, good, endpoint, bound_receives: kind != PUSH, round: 0 };
        bench.served("before the attack");
        bench
    }

    fn raw(&self) -> TcpStream {
        raw_tcp(&self.endpoint)
    }

    /// The good peer's messages get through, in order, and nothing else arrives: no hostile
    /// frame surfaced as a message.
    fn served(&mut self, when: &str) {
        self.round += 1;
        let (tx, rx) =
            if self.bound_receives { (&self.good, &self.bound) } else { (&self.bound, &self.good) };
        let msgs: Vec<Vec<u8>> = (0..5).map(|i| format!("good-{}-{i}", self.round).into_bytes()).collect();
        for m in &msgs {
            tx.send(m.clone(), 0).unwrap_or_else(|e| panic!("{when}: send: {e}"));
        }
        for m in &msgs {
            let got = rx
                .recv_multipart(0)
                .unwrap_or_else(|e| panic!("{when}: the good peer's message never came: {e}"));
            assert_eq!(
                got,
                vec![m.clone()],
                "{when}: expected the good peer's message, got {:?}",
                got.iter().map(|p| String::from_utf8_lossy(p)).collect::<Vec<_>>()
            );
        }
        std::thread::sleep(ms(20));
        match rx.recv_multipart(DONTWAIT) {
            Err(Error::WouldBlock) => {}
            other => panic!("{when}: unexpected extra message: {other:?}"),
        }
        if self.bound.get_socket_type().unwrap() == PAIR {
            // PAIR is bidirectional: the other way must still work too.
            self.bound.send("pair-back", 0).unwrap();
            assert_eq!(self.good.recv_bytes(0).unwrap(), b"pair-back", "{when}");
        }
    }
}

/// Held by the tests that measure the process's memory and by those that use much of it,
/// so that neither runs while the other does.
static MEMORY: Mutex<()> = Mutex::new(());

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Runs one hostile connection against a fresh bench: `attack` writes, then the connection
/// must be closed within `within` with a log line at `levels` containing `needles`, and the
/// good peer must be served before and after.
fn one_attack(
    kind: SocketType,
    configure: impl FnOnce(&Socket),
    attack: impl FnOnce(&mut TcpStream),
    within: Duration,
    levels: &[&str],
    needles: &[&str],
) -> Closed {
    let mut bench = Bench::tcp(kind, configure);
    let mut raw = bench.raw();
    let name = raw.log_name();
    attack(&mut raw);
    let closed = expect_closed(&mut raw, within);
    expect_log(levels, &name, needles);
    bench.served("after the attack");
    closed
}

const PROMPTLY: Duration = Duration::from_secs(2);

fn no_config(_: &Socket) {}

/// Runs `scenario` in a child copy of this test binary, so that an abort (a failed huge
/// allocation) fails this one test instead of killing the whole run.
fn in_child_process(test_name: &str, scenario: impl FnOnce()) {
    const VAR: &str = "LIBSOCK_BAD_INPUT_CHILD";
    if std::env::var(VAR).as_deref() == Ok(test_name) {
        scenario();
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--include-ignored", "--nocapture", "--test-threads=1"])
        .env(VAR, test_name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(ms(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut out);
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let tail = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    assert!(
        status.success(),
        "{test_name} in a child process ended with {status}\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
        tail(&out),
        tail(&err)
    );
    // A name that matches no test (a module renamed) runs nothing and succeeds.
    assert!(
        out.contains("test result: ok. 1 passed"),
        "{test_name} did not run in the child process:\n{}",
        tail(&out)
    );
}
