//! Hostile input: a raw TCP (or Unix) peer sends garbage, truncated or disallowed ZMTP to a
//! bound libsock socket. Each case checks that libsock closes that one connection with a clear
//! log line, keeps serving a well-behaved libsock peer, never surfaces a hostile byte as a
//! message, and does not allocate what a size field asks for.
//!
//! Logs are captured by one global `tracing` subscriber writing into memory (the I/O threads
//! log, so a thread-local subscriber would miss them). Tests find their own lines by the
//! `endpoint=tcp://127.0.0.1:<port>` field, where `<port>` is the raw stream's local port.

mod common;

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

// ---------------------------------------------------------------------------------------------
// (1) Garbage greeting

#[test]
fn garbage_greeting_closes_that_connection() {
    let closed = one_attack(
        PULL,
        no_config,
        |s| send_raw(s, GARBAGE),
        PROMPTLY,
        WARN,
        &["closing connection", "bad greeting signature"],
    );
    // libsock greets first, and never sends a READY to a peer whose greeting was refused.
    assert!(closed.received.len() <= 64, "{:?}", closed.received);
    if !closed.received.is_empty() {
        assert_eq!(closed.received[0], 0xFF, "libsock's greeting signature");
    }
}

#[test]
fn garbage_greeting_towards_pair() {
    one_attack(PAIR, no_config, |s| send_raw(s, GARBAGE), PROMPTLY, WARN, &["bad greeting signature"]);
}

#[test]
fn old_zmtp_version_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut g = greeting();
            g[10] = 1; // ZMTP 2.0
            send_raw(s, &g);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "unsupported ZMTP version 1"],
    );
}

// ---------------------------------------------------------------------------------------------
// (2) Truncated greeting

#[test]
fn truncated_greeting_then_close() {
    one_attack(
        PULL,
        no_config,
        |s| {
            send_raw(s, &greeting()[..20]);
            s.shut_write();
        },
        PROMPTLY,
        WARN_INFO,
        &["peer closed the connection during the handshake"],
    );
}

#[test]
fn truncated_greeting_then_silence_times_out() {
    let closed = one_attack(
        PULL,
        |s| s.set_handshake_ivl(200).unwrap(),
        |s| send_raw(s, &greeting()[..20]),
        PROMPTLY,
        WARN,
        &["closing connection", "handshake not completed within 200ms"],
    );
    assert!(closed.after >= ms(100), "closed after {:?}", closed.after);
}

// ---------------------------------------------------------------------------------------------
// (3) Security mechanisms we do not run

#[test]
fn plain_mechanism_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| send_raw(s, &greeting_with(Mechanism::Plain)),
        PROMPTLY,
        WARN,
        &["closing connection", "peer uses the PLAIN mechanism"],
    );
}

#[test]
fn curve_mechanism_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = greeting_with(Mechanism::Curve);
            // What a CURVE client would send next: a HELLO command. Never a message.
            bytes.extend_from_slice(&command_frame("HELLO", &[0u8; 194]));
            bytes.extend_from_slice(&data_frame(false, b"EVIL-curve"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "peer uses the CURVE mechanism"],
    );
}

#[test]
fn unknown_mechanism_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut g = greeting();
            g[12..32].fill(0);
            g[12..18].copy_from_slice(b"GSSAPI");
            send_raw(s, &g);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "unknown security mechanism"],
    );
}

// ---------------------------------------------------------------------------------------------
// (4) Missing READY

#[test]
fn data_frame_before_ready_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = greeting();
            bytes.extend_from_slice(&data_frame(false, b"EVIL-before-ready"));
            // Even a READY after it must not let the frame through.
            bytes.extend_from_slice(&ready_cmd("PUSH"));
            bytes.extend_from_slice(&data_frame(false, b"EVIL-after-ready"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "message frame before the handshake"],
    );
}

#[test]
fn ping_before_ready_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = greeting();
            command::encode_ping(&mut bytes, 10, b"ctx");
            bytes.extend_from_slice(&data_frame(false, b"EVIL"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "unexpected command \"PING\""],
    );
}

// ---------------------------------------------------------------------------------------------
// (5) Commands after the handshake that libzmq's engine drops

#[test]
fn unknown_malformed_and_late_commands_after_the_handshake_are_dropped_as_by_libzmq() {
    // libzmq's engine looks only at PING, PONG, SUBSCRIBE and CANCEL once the handshake is
    // done and drops every other command, and one it cannot read, keeping the connection
    // (`zmtp_engine_t::process_command_message`): a newer peer's commands get through.
    let mut bench = Bench::tcp(PULL, no_config);
    let mut raw = bench.raw();
    send_raw(&mut raw, &hello("PUSH"));
    read_libsock_hello(&mut raw, PULL);
    let mut bytes = command_frame("BOGUS", b"whatever");
    bytes.extend_from_slice(&command_frame("ERROR", b"\x04late"));
    bytes.extend_from_slice(&command_frame("READY", b""));
    bytes.extend_from_slice(&[0x04, 0x00]); // an empty command
    bytes.extend_from_slice(&[0x04, 0x03, 0x09, b'P', b'I']); // a name longer than the body
    bytes.extend_from_slice(&data_frame(false, b"after-the-commands"));
    send_raw(&mut raw, &bytes);
    assert_eq!(bench.bound.recv_bytes(0).unwrap(), b"after-the-commands");
    // Still connected: a PING is answered.
    let mut ping = Vec::new();
    command::encode_ping(&mut ping, 0, b"still");
    send_raw(&mut raw, &ping);
    let mut pong = Vec::new();
    command::encode_pong(&mut pong, b"still");
    let mut got = vec![0u8; pong.len()];
    raw.set_read_timeout(Some(PROMPTLY)).unwrap();
    raw.read_exact(&mut got).expect("a PONG");
    assert_eq!(got, pong);
    bench.served("after the commands");
}

#[test]
fn half_a_multipart_message_never_surfaces() {
    // The peer starts a multipart message, then breaks the protocol: the parts it sent must be
    // dropped, not delivered (messages arrive whole or not at all).
    one_attack(
        PULL,
        no_config,
        |s| {
            send_raw(s, &hello("PUSH"));
            read_libsock_hello(s, PULL);
            let mut bytes = data_frame(true, b"EVIL-part-1");
            bytes.extend_from_slice(&data_frame(true, b"EVIL-part-2"));
            bytes.push(0xF0); // reserved flag bits
            bytes.push(0x00);
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "reserved frame flag bits set: 0xf0"],
    );
}

// ---------------------------------------------------------------------------------------------
// (6) Frames larger than MAXMSGSIZE

#[test]
fn frame_over_maxmsgsize_closes_without_waiting_for_the_body() {
    let closed = one_attack(
        PULL,
        |s| s.set_maxmsgsize(1024).unwrap(),
        |s| {
            send_raw(s, &hello("PUSH"));
            read_libsock_hello(s, PULL);
            // A header announcing 2048 bytes, and not a byte of body: the header alone must do.
            let mut header = Vec::new();
            frame::encode_header(&mut header, false, false, 2048);
            assert_eq!(header.len(), 9, "long form");
            send_raw(s, &header);
        },
        ms(1000),
        WARN,
        &["closing connection", "frame of 2048 bytes exceeds the limit of 1024"],
    );
    assert!(closed.after < ms(1000));
}

#[test]
fn frame_at_maxmsgsize_passes_one_over_does_not() {
    // The limit is inclusive: a 1024-byte frame from a handshaked raw peer arrives, then a
    // 1025-byte one closes the connection and never surfaces.
    let mut bench = Bench::tcp(PULL, |s| s.set_maxmsgsize(1024).unwrap());
    let mut raw = bench.raw();
    let name = raw.log_name();
    send_raw(&mut raw, &hello("PUSH"));
    read_libsock_hello(&mut raw, PULL);
    send_raw(&mut raw, &data_frame(false, &[b'a'; 1024]));
    assert_eq!(bench.bound.recv_bytes(0).unwrap(), vec![b'a'; 1024]);
    send_raw(&mut raw, &data_frame(false, &[b'E'; 1025]));
    expect_closed(&mut raw, PROMPTLY);
    expect_log(WARN, &name, &["frame of 1025 bytes exceeds the limit of 1024"]);
    bench.served("after the oversized frame");
}

#[test]
fn large_bodies_arrive_whole_in_pieces_and_one_cut_short_never_surfaces() {
    // Bodies over 64 KiB are read straight into a buffer of their own (recycled up to 8 MiB,
    // from the heap beyond): written in uneven pieces, with parts of the next frame in the
    // same writes, they must arrive intact; one whose peer goes away mid-body must not
    // surface, and nothing else may suffer.
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let mut bench = Bench::tcp(PULL, no_config);
    let mut raw = bench.raw();
    send_raw(&mut raw, &hello("PUSH"));
    read_libsock_hello(&mut raw, PULL);
    let body = |n: u32, salt: u32| -> Vec<u8> { (0..n).map(|i| ((i + salt) % 253) as u8).collect() };
    let bodies = [
        body(700_000, 0),
        body(65_537, 1),
        body(1 << 20, 2),
        body(300, 3),
        body(5_000_000, 4),
        body(20_000_000, 7),
        body(200_000, 5),
    ];
    let mut wire = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        wire.extend_from_slice(&data_frame(i + 1 < bodies.len(), b));
    }
    for piece in wire.chunks(123_457) {
        send_raw(&mut raw, piece);
        std::thread::sleep(ms(2));
    }
    assert_eq!(bench.bound.recv_multipart(0).unwrap(), bodies.to_vec());
    // Cut short: the header and part of a 500 000-byte body, then the peer is gone.
    send_raw(&mut raw, &data_frame(false, &body(500_000, 6))[..300_000]);
    drop(raw);
    bench.served("after a large body cut short");
}

#[test]
fn command_over_maxmsgsize_is_refused() {
    one_attack(
        PULL,
        |s| s.set_maxmsgsize(1024).unwrap(),
        |s| {
            send_raw(s, &greeting());
            let mut header = Vec::new();
            frame::encode_header(&mut header, false, true, 4096);
            send_raw(s, &header);
        },
        ms(1000),
        WARN,
        &["closing connection", "exceeds the limit of 1024"],
    );
}

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
}

/// A long frame header announcing 2^62 bytes, without MAXMSGSIZE: libsock must close the
/// connection at once without waiting for (or allocating room for) the body.
fn huge_size_field_scenario(after_handshake: bool) {
    let mut bench = Bench::tcp(PULL, no_config);
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let rss_before = vm_rss_kib();
    let mut raw = bench.raw();
    let name = raw.log_name();
    if after_handshake {
        send_raw(&mut raw, &hello("PUSH"));
        read_libsock_hello(&mut raw, PULL);
    } else {
        send_raw(&mut raw, &greeting());
    }
    let mut header = vec![0x02u8]; // data frame, long size
    header.extend_from_slice(&(1u64 << 62).to_be_bytes());
    send_raw(&mut raw, &header);
    send_raw(&mut raw, b"a few body bytes");
    expect_closed(&mut raw, ms(1000));
    expect_log(WARN, &name, &["closing connection"]);
    bench.served("after the 2^62 header");
    let rss_after = vm_rss_kib();
    assert!(rss_after < rss_before + 50 * 1024, "VmRSS grew from {rss_before} KiB to {rss_after} KiB");
}

#[test]
fn size_field_2_pow_62_after_handshake_without_maxmsgsize() {
    in_child_process("size_field_2_pow_62_after_handshake_without_maxmsgsize", || {
        huge_size_field_scenario(true)
    });
}

#[test]
fn size_field_2_pow_62_before_ready_without_maxmsgsize() {
    in_child_process("size_field_2_pow_62_before_ready_without_maxmsgsize", || {
        huge_size_field_scenario(false)
    });
}

#[test]
fn size_field_2_pow_62_with_maxmsgsize() {
    // With any MAXMSGSIZE the same header is refused on arrival and nothing is allocated.
    let mut bench = Bench::tcp(PULL, |s| s.set_maxmsgsize(1 << 20).unwrap());
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let rss_before = vm_rss_kib();
    let mut raw = bench.raw();
    let name = raw.log_name();
    send_raw(&mut raw, &hello("PUSH"));
    read_libsock_hello(&mut raw, PULL);
    let mut header = vec![0x02u8];
    header.extend_from_slice(&(1u64 << 62).to_be_bytes());
    send_raw(&mut raw, &header);
    let closed = expect_closed(&mut raw, ms(1000));
    assert!(closed.after < ms(1000));
    expect_log(WARN, &name, &["frame of 4611686018427387904 bytes exceeds the limit"]);
    bench.served("after the 2^62 header");
    let rss_after = vm_rss_kib();
    assert!(rss_after < rss_before + 50 * 1024, "VmRSS grew from {rss_before} KiB to {rss_after} KiB");
}

#[test]
fn u64_max_size_field_is_refused() {
    // Beyond isize::MAX: refused even without MAXMSGSIZE.
    one_attack(
        PULL,
        no_config,
        |s| {
            send_raw(s, &hello("PUSH"));
            read_libsock_hello(s, PULL);
            let mut header = vec![0x03u8];
            header.extend_from_slice(&u64::MAX.to_be_bytes());
            send_raw(s, &header);
        },
        ms(1000),
        WARN,
        &["closing connection", "exceeds the limit"],
    );
}

// ---------------------------------------------------------------------------------------------
// (7) Socket-Type checks

#[test]
fn incompatible_socket_type_towards_pull() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = hello("PULL");
            bytes.extend_from_slice(&data_frame(false, b"EVIL-from-pull"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "socket type PULL cannot talk to PULL"],
    );
}

#[test]
fn incompatible_socket_type_towards_push() {
    // A raw peer claiming to be a PUSH connects to a PUSH: it must be refused, and in
    // particular must not take a share of the round robin away from the good PULL.
    one_attack(
        PUSH,
        no_config,
        |s| send_raw(s, &hello("PUSH")),
        PROMPTLY,
        WARN,
        &["closing connection", "socket type PUSH cannot talk to PUSH"],
    );
}

#[test]
fn incompatible_socket_type_towards_pair() {
    one_attack(
        PAIR,
        no_config,
        |s| {
            let mut bytes = hello("PUSH");
            bytes.extend_from_slice(&data_frame(false, b"EVIL-from-push"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "socket type PAIR cannot talk to PUSH"],
    );
}

#[test]
fn unknown_socket_type_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = hello("BOGUS");
            bytes.extend_from_slice(&data_frame(false, b"EVIL-from-bogus"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "unknown socket type"],
    );
}

#[test]
fn missing_socket_type_is_refused() {
    one_attack(
        PULL,
        no_config,
        |s| {
            let mut bytes = greeting();
            command::encode_ready(&mut bytes, &[("Identity", b"x")]);
            bytes.extend_from_slice(&data_frame(false, b"EVIL"));
            send_raw(s, &bytes);
        },
        PROMPTLY,
        WARN,
        &["closing connection", "missing Socket-Type property"],
    );
}

#[test]
fn second_pair_peer_is_refused_and_its_frames_dropped() {
    // PAIR takes one peer. A second, protocol-correct PAIR peer is refused by the socket: its
    // message must never surface and its connection must be closed.
    let mut bench = Bench::tcp(PAIR, no_config);
    let mut raw = bench.raw();
    let mut bytes = hello("PAIR");
    bytes.extend_from_slice(&data_frame(false, b"EVIL-second-pair"));
    send_raw(&mut raw, &bytes);
    read_libsock_hello(&mut raw, PAIR);
    // The socket only learns about the new pipe while it runs: keep it busy meanwhile.
    let closer = std::thread::spawn(move || expect_closed(&mut raw, PROMPTLY));
    bench.served("while the second PAIR peer knocks");
    closer.join().unwrap();
    bench.served("after the second PAIR peer");
}

// ---------------------------------------------------------------------------------------------
// (8) A peer that connects and says nothing

#[test]
fn silent_peer_is_closed_by_the_handshake_timeout() {
    let closed = one_attack(
        PULL,
        |s| s.set_handshake_ivl(200).unwrap(),
        |_| {},
        PROMPTLY,
        WARN,
        &["closing connection", "handshake not completed within 200ms"],
    );
    assert!(closed.after >= ms(150) && closed.after < ms(1500), "closed after {:?}", closed.after);
    // It got the first step of libsock's greeting (the signature; as libzmq, the rest waits
    // for the peer's), and nothing more.
    assert_eq!(closed.received, greeting()[..10], "{:?}", closed.received);
}

// ---------------------------------------------------------------------------------------------
// (9) A flood of garbage connections while the good peer talks

#[test]
fn flood_of_garbage_connections() {
    const CONNS: usize = 200;
    const THREADS: usize = 4;
    const GOOD_MSGS: usize = 300;
    let bench = Bench::tcp(PULL, no_config);
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let rss_before = vm_rss_kib();
    let endpoint = bench.endpoint.clone();
    let Bench { _ctx, bound, good, .. } = bench;

    let sender = std::thread::spawn(move || {
        for i in 0..GOOD_MSGS {
            good.send(format!("flood-good-{i}"), 0).unwrap();
            if i % 10 == 0 {
                std::thread::sleep(ms(1));
            }
        }
        good
    });
    let attackers: Vec<_> = (0..THREADS)
        .map(|_| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let mut streams: Vec<TcpStream> = (0..CONNS / THREADS)
                    .map(|_| {
                        let mut s = raw_tcp(&endpoint);
                        send_raw(&mut s, GARBAGE);
                        s
                    })
                    .collect();
                streams
                    .iter_mut()
                    .map(|s| {
                        let name = s.log_name();
                        expect_closed(s, Duration::from_secs(3));
                        name
                    })
                    .collect::<Vec<String>>()
            })
        })
        .collect();

    for i in 0..GOOD_MSGS {
        let got =
            bound.recv_multipart(0).unwrap_or_else(|e| panic!("good message {i} lost during the flood: {e}"));
        assert_eq!(got, vec![format!("flood-good-{i}").into_bytes()]);
    }
    let names: Vec<String> = attackers.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let good = sender.join().unwrap();
    assert_eq!(names.len(), CONNS);

    // Every one of them was logged, with its reason.
    let deadline = Instant::now() + ms(2000);
    loop {
        let text = log_text();
        let logged: std::collections::HashSet<&str> = text
            .lines()
            .filter(|l| l.contains(" WARN ") && l.contains("bad greeting signature"))
            .flat_map(|l| l.split_whitespace())
            .filter_map(|t| t.strip_prefix("endpoint="))
            .collect();
        let missing: Vec<&String> = names.iter().filter(|n| !logged.contains(n.as_str())).collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no log line for {missing:?}");
        std::thread::sleep(ms(20));
    }

    let mut bench = Bench { _ctx, bound, good, endpoint, bound_receives: true, round: 100 };
    bench.served("after the flood");
    let rss_after = vm_rss_kib();
    assert!(rss_after < rss_before + 50 * 1024, "VmRSS grew from {rss_before} KiB to {rss_after} KiB");
}

// ---------------------------------------------------------------------------------------------
// (10) Garbage greeting over ipc

#[test]
fn garbage_greeting_over_ipc() {
    let mut bench = Bench::new(PULL, "ipc", no_config);
    let path = bench.endpoint.strip_prefix("ipc://").unwrap().to_owned();
    let count = || {
        log_text()
            .lines()
            .filter(|l| {
                l.contains(" WARN ")
                    && names_endpoint(l, "ipc://")
                    && l.contains("closing connection: protocol error: bad greeting signature")
            })
            .count()
    };
    let before = count();
    let mut raw = UnixStream::connect(&path).unwrap();
    send_raw(&mut raw, GARBAGE);
    expect_closed(&mut raw, PROMPTLY);
    let deadline = Instant::now() + ms(2000);
    while count() <= before {
        assert!(Instant::now() < deadline, "no WARN line for the ipc peer");
        std::thread::sleep(ms(10));
    }
    bench.served("after the ipc attack");
}

// ---------------------------------------------------------------------------------------------
// Randomized: a valid greeting prefix, then random bytes

/// 200 connections, each a prefix of a valid greeting (sometimes all of it) then random bytes,
/// then EOF. Every connection is closed and logged, the good peer is served throughout and no
/// random byte surfaces as a message.
fn random_bytes_after_greeting_prefix(seed: u64, configure: impl FnOnce(&Socket)) {
    const CONNS: usize = 200;
    const THREADS: u64 = 4;
    let mut bench = Bench::tcp(PULL, configure);
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let rss_before = vm_rss_kib();
    let endpoint = bench.endpoint.clone();
    let attackers: Vec<_> = (0..THREADS)
        .map(|t| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let mut rng = XorShift(seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let full = greeting();
                (0..CONNS as u64 / THREADS)
                    .map(|_| {
                        let keep = match rng.below(3) {
                            0 => 64,
                            _ => rng.below(65) as usize,
                        };
                        let mut bytes = full[..keep].to_vec();
                        let n = rng.below(300) as usize;
                        bytes.extend_from_slice(&rng.bytes(n));
                        let mut s = raw_tcp(&endpoint);
                        let name = s.log_name();
                        send_raw(&mut s, &bytes);
                        s.shut_write();
                        expect_closed(&mut s, Duration::from_secs(3));
                        (name, bytes)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // The good peer is served while the attack runs...
    for _ in 0..5 {
        bench.served("during the random attack");
    }
    let conns: Vec<(String, Vec<u8>)> = attackers.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(conns.len(), CONNS);
    // ...and after it; nothing random came through.
    bench.served("after the random attack");
    // Each connection's end is logged at INFO or WARN.
    let deadline = Instant::now() + ms(2000);
    loop {
        let text = log_text();
        let logged: std::collections::HashSet<&str> = text
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" INFO "))
            .flat_map(|l| l.split_whitespace())
            .filter_map(|t| t.strip_prefix("endpoint="))
            .collect();
        let missing: Vec<_> = conns.iter().filter(|(n, _)| !logged.contains(n.as_str())).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no INFO/WARN line for {} connections, e.g. {:?}",
            missing.len(),
            missing[0]
        );
        std::thread::sleep(ms(20));
    }
    let rss_after = vm_rss_kib();
    assert!(rss_after < rss_before + 50 * 1024, "VmRSS grew from {rss_before} KiB to {rss_after} KiB");
}

#[test]
fn random_bytes_after_greeting_prefix_with_maxmsgsize() {
    random_bytes_after_greeting_prefix(0x5EED_0001, |s| s.set_maxmsgsize(1 << 20).unwrap());
}

#[test]
fn random_bytes_after_greeting_prefix_default_options() {
    in_child_process("random_bytes_after_greeting_prefix_default_options", || {
        random_bytes_after_greeting_prefix(0x5EED_0002, no_config)
    });
}
