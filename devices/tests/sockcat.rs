//! End-to-end tests of the `sockcat` binary: real processes, real tcp and ipc endpoints, and
//! libsock sockets in this process as peers.
//!
//! Nothing here may hang: every child runs under a deadline ([`Run::finish`] kills it), and
//! every libsock socket has send/receive timeouts.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::free_tcp_endpoint;
use libsock::{Context, Socket, SocketType, PULL, PUSH, SUB, XPUB};

/// How long any sockcat may run before the test gives up on it.
const DEADLINE: Duration = Duration::from_secs(20);
/// `--timeout` for runs that are expected to succeed: generous, only there to avoid hangs.
const SAFETY_TIMEOUT: &str = "10000";

/// A running sockcat with its output being collected.
struct Run {
    child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

/// A finished sockcat.
#[derive(Debug)]
struct Done {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

impl Done {
    fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Starts sockcat with `args`, writing `stdin` to it and then closing its stdin.
fn start(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockcat"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start sockcat");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // A writer thread, so a child that does not read stdin cannot block the test.
    thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    Run { child, stdout, stderr }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

impl Run {
    /// Waits for the exit, killing the child (and failing) after [`DEADLINE`].
    fn finish(mut self) -> Done {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > DEADLINE {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let err = String::from_utf8_lossy(&self.stderr.join().unwrap()).into_owned();
                panic!("sockcat did not exit within {DEADLINE:?}; stderr: {err}");
            }
            thread::sleep(Duration::from_millis(10));
        };
        Done {
            status,
            stdout: self.stdout.join().unwrap(),
            stderr: String::from_utf8_lossy(&self.stderr.join().unwrap()).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

/// Runs sockcat to completion.
fn sockcat(args: &[&str], stdin: &[u8]) -> Done {
    start(args, stdin).finish()
}

/// A fresh ipc endpoint in the temp directory.
fn scratch_ipc_endpoint() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("sockcat-test-{}-{n}.ipc", std::process::id()));
    let _ = std::fs::remove_file(&path);
    format!("ipc://{}", path.display())
}

/// A libsock socket that cannot hang a test.
fn test_socket(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(10_000).unwrap();
    s.set_sndtimeo(10_000).unwrap();
    s
}

fn assert_success(done: &Done, who: &str) {
    assert_eq!(done.code(), 0, "{who} failed: {done:?}");
}

const THREE_LINES: &[u8] = b"one\nfirst\tsecond\r\nthree\n";
const THREE_PRINTED: &[u8] = b"one\nfirst\tsecond\nthree\n";

fn push_to_pull(endpoint: &str) {
    let pull = start(&["pull", "--bind", endpoint, "--count", "3", "--timeout", SAFETY_TIMEOUT], b"");
    let push = sockcat(&["push", "--connect", endpoint, "--timeout", SAFETY_TIMEOUT], THREE_LINES);
    let pull = pull.finish();
    assert_success(&push, "push");
    assert_success(&pull, "pull");
    assert_eq!(pull.stdout, THREE_PRINTED, "{pull:?}");
}

#[test]
fn push_to_pull_over_tcp() {
    push_to_pull(&free_tcp_endpoint());
}

#[test]
fn push_to_pull_over_ipc() {
    push_to_pull(&scratch_ipc_endpoint());
}

#[test]
fn push_to_pull_over_websocket() {
    push_to_pull(&format!("{}/lines", free_tcp_endpoint().replace("tcp://", "ws://")));
}

#[test]
fn push_without_timeout_waits_until_the_peer_took_everything() {
    // The pusher binds and starts first; the puller shows up later. LINGER is forever.
    let ep = free_tcp_endpoint();
    let push = start(&["push", "--bind", &ep], THREE_LINES);
    thread::sleep(Duration::from_millis(300));
    let pull = sockcat(&["pull", "--connect", &ep, "--count", "3", "--timeout", SAFETY_TIMEOUT], b"");
    let push = push.finish();
    assert_success(&push, "push");
    assert_success(&pull, "pull");
    assert_eq!(pull.stdout, THREE_PRINTED);
}

#[test]
fn pull_without_sender_times_out_with_code_3() {
    let done = sockcat(&["pull", "--bind", &free_tcp_endpoint(), "--timeout", "200"], b"");
    assert_eq!(done.code(), 3, "{done:?}");
    assert!(done.stderr.contains("timed out"), "{done:?}");
    assert!(done.stdout.is_empty());
    assert!(done.elapsed >= Duration::from_millis(200), "{done:?}");
}

#[test]
fn push_without_peer_times_out_with_code_3() {
    // Bound: nobody connects. Connected: nobody listens (nothing may be queued and then
    // silently dropped when LINGER runs out).
    for flag in ["--bind", "--connect"] {
        let done = sockcat(&["push", flag, &free_tcp_endpoint(), "--timeout", "200"], b"x\n");
        assert_eq!(done.code(), 3, "{flag}: {done:?}");
        assert!(done.stderr.contains("timed out: could not send"), "{flag}: {done:?}");
    }
}

#[test]
fn bind_to_a_port_in_use_fails_with_code_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://127.0.0.1:{}", taken.local_addr().unwrap().port());
    let done = sockcat(&["pull", "--bind", &ep, "--timeout", "2000"], b"");
    assert_eq!(done.code(), 1, "{done:?}");
    let expected = format!("sockcat: cannot bind to \"{ep}\": address already in use");
    assert!(done.stderr.contains(&expected), "{done:?}");
}

#[test]
fn bad_endpoints_fail_with_code_1() {
    for (flag, ep) in [
        ("--connect", "tcp://nope"),
        ("--bind", "tcp://127.0.0.1:99999"),
        ("--connect", "udp://127.0.0.1:5555"),
        ("--bind", "no-scheme"),
        ("--bind", "wss://127.0.0.1:5555"),
    ] {
        let done = sockcat(&["pull", flag, ep, "--timeout", "2000"], b"");
        assert_eq!(done.code(), 1, "{ep}: {done:?}");
        let expected = format!("sockcat: invalid endpoint \"{ep}\"");
        assert!(done.stderr.contains(&expected), "{ep}: {done:?}");
    }
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let cases: [(&[&str], &str); 5] = [
        (&[], "<TYPE>"),
        (&["push"], "--bind"),
        (&["stream", "--bind", "tcp://127.0.0.1:1"], "unknown socket type"),
        (&["pull", "--bind", "tcp://127.0.0.1:1", "--subscribe", "x"], "--subscribe"),
        (&["pull", "--bind", "tcp://127.0.0.1:1", "--timeout", "soon"], "--timeout"),
    ];
    for (args, needle) in cases {
        let done = sockcat(args, b"");
        assert_eq!(done.code(), 2, "{args:?}: {done:?}");
        assert!(done.stderr.contains(needle), "{args:?}: {done:?}");
    }
}

#[test]
fn types_libsock_refuses_fail_with_code_1() {
    // Whatever libsock does not implement yet must fail clearly; implemented types are
    // covered by the other tests.
    let ctx = Context::new();
    let names = ["pair", "pub", "sub", "req", "rep", "dealer", "router", "pull", "push", "xpub", "xsub"];
    for name in names {
        let kind = SocketType::from_name(name.as_bytes()).unwrap();
        if ctx.socket(kind).is_ok() {
            continue;
        }
        let done = sockcat(&[name, "--connect", "tcp://127.0.0.1:1", "--timeout", "100"], b"");
        assert_eq!(done.code(), 1, "{name}: {done:?}");
        let expected = format!("socket type {name} is not supported");
        assert!(done.stderr.contains(&expected), "{name}: {done:?}");
    }
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let done = sockcat(&["--help"], b"");
    assert_success(&done, "--help");
    let help = String::from_utf8_lossy(&done.stdout);
    for needle in ["Exit codes:", "3  timed out", "Examples:", "--subscribe", "--echo"] {
        assert!(help.contains(needle), "missing {needle:?} in:\n{help}");
    }
}

#[test]
fn pair_to_pair_exchange() {
    let ep = free_tcp_endpoint();
    let args = |flag| ["pair", flag, ep.as_str(), "--count", "2", "--timeout", SAFETY_TIMEOUT];
    let a = start(&args("--bind"), b"from a\nagain\ta\n");
    let b = sockcat(&args("--connect"), b"from b\nagain\tb\n");
    let a = a.finish();
    assert_success(&a, "bound pair");
    assert_success(&b, "connected pair");
    assert_eq!(a.stdout, b"from b\nagain\tb\n");
    assert_eq!(b.stdout, b"from a\nagain\ta\n");
}

#[test]
fn sockcat_push_to_libsock_pull() {
    let ctx = Context::new();
    let pull = test_socket(&ctx, PULL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let push = start(&["push", "--connect", &ep, "--timeout", SAFETY_TIMEOUT], b"hello\na\t\tc\n\xff\xfe\n");
    let got: Vec<Vec<Vec<u8>>> = (0..3).map(|_| pull.recv_multipart(0).unwrap()).collect();
    assert_success(&push.finish(), "push");
    assert_eq!(
        got,
        vec![vec![b"hello".to_vec()], vec![b"a".to_vec(), vec![], b"c".to_vec()], vec![b"\xff\xfe".to_vec()],]
    );
}

#[test]
fn libsock_push_to_sockcat_pull() {
    let ctx = Context::new();
    let push = test_socket(&ctx, PUSH);
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.get_last_endpoint().unwrap();
    let pull = start(&["pull", "--connect", &ep, "--count", "3", "--timeout", SAFETY_TIMEOUT], b"");
    push.send_multipart(["job", "42"], 0).unwrap();
    push.send(&b"\x00binary\xff"[..], 0).unwrap();
    push.send("", 0).unwrap();
    let done = pull.finish();
    assert_success(&done, "pull");
    assert_eq!(done.stdout, b"job\t42\n\x00binary\xff\n\n");
}

#[test]
fn req_to_rep_echo() {
    let ep = free_tcp_endpoint();
    let rep = start(&["rep", "--bind", &ep, "--echo", "--count", "2", "--timeout", SAFETY_TIMEOUT], b"");
    let req = sockcat(&["req", "--connect", &ep, "--timeout", SAFETY_TIMEOUT], b"ping\nmulti\tpart\n");
    let rep = rep.finish();
    assert_success(&req, "req");
    assert_success(&rep, "rep");
    assert_eq!(req.stdout, b"ping\nmulti\tpart\n");
    assert_eq!(rep.stdout, b"ping\nmulti\tpart\n");
}

#[test]
fn rep_answers_with_stdin_lines() {
    let ep = free_tcp_endpoint();
    let rep =
        start(&["rep", "--bind", &ep, "--count", "2", "--timeout", SAFETY_TIMEOUT], b"pong 1\npong 2\n");
    let req = sockcat(&["req", "--connect", &ep, "--timeout", SAFETY_TIMEOUT], b"ping 1\nping 2\n");
    let rep = rep.finish();
    assert_success(&req, "req");
    assert_success(&rep, "rep");
    assert_eq!(req.stdout, b"pong 1\npong 2\n");
    assert_eq!(rep.stdout, b"ping 1\nping 2\n");
}

#[test]
fn dealer_with_identity_to_router_echo() {
    let ep = scratch_ipc_endpoint();
    let router =
        start(&["router", "--bind", &ep, "--echo", "--count", "1", "--timeout", SAFETY_TIMEOUT], b"");
    let dealer = sockcat(
        &["dealer", "--connect", &ep, "--identity", "alice", "--count", "1", "--timeout", SAFETY_TIMEOUT],
        b"hello\n",
    );
    let router = router.finish();
    assert_success(&dealer, "dealer");
    assert_success(&router, "router");
    assert_eq!(router.stdout, b"alice\thello\n");
    assert_eq!(dealer.stdout, b"hello\n");
}

#[test]
fn sub_receives_only_its_prefix_from_a_libsock_xpub() {
    let ctx = Context::new();
    let xpub = test_socket(&ctx, XPUB);
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let ep = xpub.get_last_endpoint().unwrap();
    let sub = start(
        &["sub", "--connect", &ep, "--subscribe", "a", "--count", "2", "--timeout", SAFETY_TIMEOUT],
        b"",
    );
    // Once the subscription is here, nothing sent afterwards can be missed.
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01a");
    xpub.send("b-filtered", 0).unwrap();
    xpub.send("a1", 0).unwrap();
    xpub.send_multipart(["a2", "x"], 0).unwrap();
    let done = sub.finish();
    assert_success(&done, "sub");
    assert_eq!(done.stdout, b"a1\na2\tx\n");
}

#[test]
fn xpub_prints_subscriptions_from_a_libsock_sub() {
    let ctx = Context::new();
    let ep = free_tcp_endpoint();
    let xpub = start(&["xpub", "--bind", &ep, "--count", "1", "--timeout", SAFETY_TIMEOUT], b"");
    let sub = test_socket(&ctx, SUB);
    sub.connect(&ep).unwrap();
    sub.set_subscribe(b"topic").unwrap();
    let done = xpub.finish();
    assert_success(&done, "xpub");
    assert_eq!(done.stdout, b"\x01topic\n");
}
