//! End-to-end tests of the `sockdev` binary: the real relay process, with libsock sockets
//! and libzmq sockets (the `zmq` crate) as its peers, over tcp and ipc.
//!
//! Nothing here may hang: every relay is killed after [`DEADLINE`], every socket has
//! receive/send timeouts.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use libsock::{Context, ProxyStatistics, Socket, SocketType};

const DEADLINE: Duration = Duration::from_secs(30);
const TIMEOUT_MS: i32 = 10_000;

/// A running relay with its stderr being collected.
struct Relay {
    child: Child,
    stderr: Option<JoinHandle<String>>,
}

impl Drop for Relay {
    /// A failed test must not leave its relay running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Relay {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockdev"))
        .args(args)
        .env("RUST_LOG", std::env::var("SOCKDEV_TEST_LOG").unwrap_or_else(|_| "info".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start sockdev");
    let mut pipe = child.stderr.take().unwrap();
    let stderr = thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    Relay { child, stderr: Some(stderr) }
}

impl Relay {
    /// Waits for the exit (killing the relay after [`DEADLINE`]): exit code and stderr.
    fn finish(mut self) -> (i32, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > DEADLINE {
                let _ = self.child.kill();
                let err = self.stderr.take().unwrap().join().unwrap();
                panic!("sockdev did not exit; stderr:\n{err}");
            }
            thread::sleep(Duration::from_millis(10));
        };
        (status.code().unwrap_or(-1), self.stderr.take().unwrap().join().unwrap())
    }

    fn signal(self, name: &str) -> (i32, String) {
        let ok =
            Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(ok.success());
        self.finish()
    }
}

/// A tcp endpoint on a port that was free a moment ago.
fn tcp() -> String {
    common::free_tcp_endpoint()
}

fn ipc() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "sockdev-{}-{}.ipc",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&path);
    format!("ipc://{}", path.display())
}

fn ls(ctx: &Context, kind: SocketType, connect: &str) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s.connect(connect).unwrap();
    s
}

fn zs(ctx: &zmq::Context, kind: zmq::SocketType, connect: &str) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s.connect(connect).unwrap();
    s
}

/// Asks the relay's control socket for a command's reply (a libzmq REQ, as operators use).
fn control(ctx: &zmq::Context, ep: &str, command: &str) -> Vec<Vec<u8>> {
    let req = zs(ctx, zmq::REQ, ep);
    req.send(command, 0).unwrap();
    req.recv_multipart(0).unwrap()
}

fn statistics(ctx: &zmq::Context, ep: &str) -> ProxyStatistics {
    ProxyStatistics::from_frames(&control(ctx, ep, "STATISTICS")).unwrap()
}

fn terminate(relay: Relay, ctx: &zmq::Context, ep: &str) -> String {
    let req = zs(ctx, zmq::REQ, ep);
    req.send("TERMINATE", 0).unwrap();
    let reply = req.recv_multipart(0);
    let (code, err) = relay.finish();
    assert_eq!(reply, Ok(vec![Vec::<u8>::new()]), "no reply to TERMINATE; the relay exited {code}:\n{err}");
    assert_eq!(code, 0, "{err}");
    err
}

/// A worker (REP) answering each request with `worker-name:request`, until `stop`.
fn lib_worker(ctx: &Context, ep: &str, name: &'static str, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    let rep = ls(ctx, libsock::REP, ep);
    rep.set_rcvtimeo(50).unwrap();
    thread::spawn(move || {
        let mut served = 0;
        while !stop.load(Ordering::Relaxed) {
            if let Ok(req) = rep.recv_bytes(0) {
                rep.send([name.as_bytes(), b":", &req].concat(), 0).unwrap();
                served += 1;
            }
        }
        served
    })
}

fn zmq_worker(ctx: &zmq::Context, ep: &str, name: &'static str, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    let rep = zs(ctx, zmq::REP, ep);
    rep.set_rcvtimeo(50).unwrap();
    thread::spawn(move || {
        let mut served = 0;
        while !stop.load(Ordering::Relaxed) {
            if let Ok(req) = rep.recv_bytes(0) {
                rep.send([name.as_bytes(), b":", &req].concat(), 0).unwrap();
                served += 1;
            }
        }
        served
    })
}

#[test]
fn queue_spreads_requests_and_returns_every_reply_to_its_requester() {
    let (fe_tcp, fe_ipc, be_tcp, be_ipc, ctl, cap) = (tcp(), ipc(), tcp(), ipc(), tcp(), tcp());
    let relay = start(&[
        "queue",
        "--frontend-bind",
        &fe_tcp,
        "--frontend-bind",
        &fe_ipc,
        "--backend-bind",
        &be_tcp,
        "--backend-bind",
        &be_ipc,
        "--control",
        &ctl,
        "--capture",
        &cap,
    ]);
    let (lctx, zctx) = (Context::new(), zmq::Context::new());
    let capture = zs(&zctx, zmq::SUB, &cap);
    capture.set_subscribe(b"").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = [
        lib_worker(&lctx, &be_tcp, "lib-tcp", stop.clone()),
        lib_worker(&lctx, &be_ipc, "lib-ipc", stop.clone()),
        zmq_worker(&zctx, &be_tcp, "zmq-tcp", stop.clone()),
        zmq_worker(&zctx, &be_ipc, "zmq-ipc", stop.clone()),
    ];
    // Let every worker connect, so the first requests are spread too.
    thread::sleep(Duration::from_millis(300));
    const N: usize = 40;
    let mut clients = Vec::new();
    for (i, ep) in [&fe_tcp, &fe_ipc].into_iter().enumerate() {
        let req = ls(&lctx, libsock::REQ, ep);
        clients.push(thread::spawn(move || {
            (0..N)
                .map(|k| {
                    let body = format!("lib{i}-{k}");
                    req.send(body.as_str(), 0).unwrap();
                    let reply = req.recv_string(0).unwrap().unwrap();
                    assert!(reply.ends_with(&format!(":{body}")), "{reply} is not the reply to {body}");
                    reply.split(':').next().unwrap().to_owned()
                })
                .collect::<Vec<_>>()
        }));
        let req = zs(&zctx, zmq::REQ, ep);
        clients.push(thread::spawn(move || {
            (0..N)
                .map(|k| {
                    let body = format!("zmq{i}-{k}");
                    req.send(body.as_str(), 0).unwrap();
                    let reply = req.recv_string(0).unwrap().unwrap();
                    assert!(reply.ends_with(&format!(":{body}")), "{reply} is not the reply to {body}");
                    reply.split(':').next().unwrap().to_owned()
                })
                .collect::<Vec<_>>()
        }));
    }
    let served_by: Vec<String> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    assert_eq!(served_by.len(), 4 * N);
    for w in ["lib-tcp", "lib-ipc", "zmq-tcp", "zmq-ipc"] {
        assert!(served_by.iter().any(|s| s == w), "worker {w} got no request");
    }
    // The capture sees both directions whole: every request [id, "", body] and every reply
    // [id, "", worker:body].
    let (mut requests, mut replies) = (0, 0);
    for _ in 0..8 * N {
        let m = capture.recv_multipart(0).unwrap();
        assert_eq!((m.len(), m[1].len()), (3, 0), "{m:?}");
        if m[2].contains(&b':') {
            replies += 1
        } else {
            requests += 1
        }
    }
    assert_eq!((requests, replies), (4 * N, 4 * N));
    let s = statistics(&zctx, &ctl);
    assert_eq!(
        (s.frontend.msg_in, s.backend.msg_out, s.backend.msg_in, s.frontend.msg_out),
        (160, 160, 160, 160)
    );
    let err = terminate(relay, &zctx, &ctl);
    assert!(err.contains("queue stopped; frontend: 160 msgs"), "{err}");
    stop.store(true, Ordering::Relaxed);
    let served: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(served, 4 * N);
}

/// Receives on `xpub` until a subscription message, skipping nothing else.
#[track_caller]
fn subscription(xpub: &Socket) -> Vec<u8> {
    match xpub.recv_bytes(0) {
        Ok(m) => m,
        Err(e) => panic!("no subscription message reached the publisher: {e}"),
    }
}

#[test]
fn forwarder_carries_subscriptions_to_publishers_that_filter_at_the_source() {
    let (pub_tcp, fe_ipc, be_tcp, be_ipc, ctl) = (tcp(), ipc(), tcp(), ipc(), tcp());
    let (lctx, zctx) = (Context::new(), zmq::Context::new());
    // Publisher 1: a libsock XPUB the relay connects to, so it sees subscription messages.
    let make_p1 = || {
        let p = lctx.socket(libsock::XPUB).unwrap();
        p.set_linger(0).unwrap();
        p.set_rcvtimeo(TIMEOUT_MS).unwrap();
        // A closed socket's listener goes away in the background: retry the port briefly.
        let started = Instant::now();
        while let Err(e) = p.bind(&pub_tcp) {
            assert!(started.elapsed() < DEADLINE, "cannot bind {pub_tcp}: {e}");
            thread::sleep(Duration::from_millis(20));
        }
        p
    };
    let p1 = make_p1();
    let relay = start(&[
        "forwarder",
        "--frontend-connect",
        &pub_tcp,
        "--frontend-bind",
        &fe_ipc,
        "--backend-bind",
        &be_tcp,
        "--backend-bind",
        &be_ipc,
        "--control",
        &ctl,
    ]);
    // Publisher 2: libzmq, connecting over ipc.
    let p2 = zs(&zctx, zmq::PUB, &fe_ipc);
    let s1 = zs(&zctx, zmq::SUB, &be_tcp);
    s1.set_subscribe(b"a").unwrap();
    let s2 = ls(&lctx, libsock::SUB, &be_ipc);
    s2.set_subscribe(b"a").unwrap();
    s2.set_subscribe(b"c").unwrap();
    let mut got = vec![subscription(&p1), subscription(&p1)];
    got.sort();
    assert_eq!(got, [b"\x01a".to_vec(), b"\x01c".to_vec()]);
    // Both subscribers hear both publishers before the counted part starts.
    let (mut s1_ready, mut s2_ready) = (false, false);
    s1.set_rcvtimeo(10).unwrap();
    s2.set_rcvtimeo(10).unwrap();
    let started = Instant::now();
    while !(s1_ready && s2_ready) {
        assert!(started.elapsed() < DEADLINE, "subscribers never heard both publishers");
        p1.send("a-sync1", 0).unwrap();
        p2.send("a-sync2", 0).unwrap();
        let seen = |m: Option<Vec<u8>>, flags: &mut [bool; 2]| {
            if let Some(m) = m {
                flags[usize::from(m == b"a-sync2")] |= m.starts_with(b"a-sync");
            }
        };
        let (mut f1, mut f2) = ([false; 2], [false; 2]);
        for _ in 0..4 {
            seen(s1.recv_bytes(0).ok(), &mut f1);
            seen(s2.recv_bytes(0).ok(), &mut f2);
        }
        s1_ready |= f1 == [true, true];
        s2_ready |= f2 == [true, true];
    }
    thread::sleep(Duration::from_millis(50));
    while s1.recv_bytes(0).is_ok() || s2.recv_bytes(0).is_ok() {}
    let before = statistics(&zctx, &ctl).frontend.msg_in;
    for i in 0..20 {
        p1.send(format!("b-{i}").as_str(), 0).unwrap();
        p1.send(format!("a-{i}").as_str(), 0).unwrap();
        p2.send(format!("b-{i}").as_str(), 0).unwrap();
        p2.send(format!("a-{i}").as_str(), 0).unwrap();
    }
    s1.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s2.set_rcvtimeo(TIMEOUT_MS).unwrap();
    for _ in 0..40 {
        assert!(s1.recv_bytes(0).unwrap().starts_with(b"a-"));
        assert!(s2.recv_bytes(0).unwrap().starts_with(b"a-"));
    }
    // Filtering happened at the publishers: only the 40 "a-" messages ever reached the relay.
    assert_eq!(statistics(&zctx, &ctl).frontend.msg_in - before, 40);
    // Unsubscribing "c" reaches the publisher; "a" stays while s1 still wants it.
    s2.set_unsubscribe(b"c").unwrap();
    assert_eq!(subscription(&p1), b"\x00c");
    drop(s2);
    // A restarted publisher gets the current subscriptions again.
    drop(p1);
    let p1 = make_p1();
    assert_eq!(subscription(&p1), b"\x01a");
    // The last subscriber's departure cancels the subscription at the publisher.
    drop(s1);
    assert_eq!(subscription(&p1), b"\x00a");
    terminate(relay, &zctx, &ctl);
}

/// Receives with `next` (a receive with a short timeout; `None` when it timed out) until
/// `total`, counted across the threads that share it, reaches `want`, or nothing has come
/// for 10 s.
fn pull_until(total: &AtomicUsize, want: usize, mut next: impl FnMut() -> Option<String>) -> Vec<String> {
    let mut v = Vec::new();
    let mut last = Instant::now();
    while total.load(Ordering::SeqCst) < want && last.elapsed() < Duration::from_secs(10) {
        if let Some(m) = next() {
            v.push(m);
            total.fetch_add(1, Ordering::SeqCst);
            last = Instant::now();
        }
    }
    v
}

#[test]
fn streamer_loses_nothing_under_hwm_pressure_and_signals_stop_it_cleanly() {
    let (fe_tcp, fe_ipc, be_tcp, be_ipc, ctl) = (tcp(), ipc(), tcp(), ipc(), tcp());
    let relay = start(&[
        "streamer",
        "--frontend-bind",
        &fe_tcp,
        "--frontend-bind",
        &fe_ipc,
        "--backend-bind",
        &be_tcp,
        "--backend-bind",
        &be_ipc,
        "--hwm",
        "20",
        "--control",
        &ctl,
    ]);
    let (lctx, zctx) = (Context::new(), zmq::Context::new());
    const N: u32 = 5000;
    let lpush = ls(&lctx, libsock::PUSH, &fe_tcp);
    let zpush = zs(&zctx, zmq::PUSH, &fe_ipc);
    // Each sender closes right after its last send, with up to SNDHWM messages still queued
    // while the relay is held up: LINGER 0 (the helpers' default) would discard them, and
    // libzmq does (1 run in 10 lost 100-900 of the last "Z" messages).
    lpush.set_linger(-1).unwrap();
    zpush.set_linger(-1).unwrap();
    let senders = [
        thread::spawn(move || (0..N).for_each(|i| lpush.send(format!("L{i}").as_str(), 0).unwrap())),
        thread::spawn(move || (0..N).for_each(|i| zpush.send(format!("Z{i}").as_str(), 0).unwrap())),
    ];
    // The pullers arrive late: until then the relay's input must stop, not drop.
    thread::sleep(Duration::from_millis(300));
    let lpull = ls(&lctx, libsock::PULL, &be_tcp);
    let zpull = zs(&zctx, zmq::PULL, &be_ipc);
    // Each puller reads until the two together have all (or nothing came for 10 s).
    let total = Arc::new(AtomicUsize::new(0));
    let seen = total.clone();
    lpull.set_rcvtimeo(100).unwrap();
    zpull.set_rcvtimeo(100).unwrap();
    let received = [
        thread::spawn(move || {
            pull_until(&seen, 2 * N as usize, || lpull.recv_string(0).ok().map(Result::unwrap))
        }),
        thread::spawn(move || {
            pull_until(&total, 2 * N as usize, || zpull.recv_string(0).ok().map(Result::unwrap))
        }),
    ];
    senders.into_iter().for_each(|s| s.join().unwrap());
    let got: Vec<Vec<String>> = received.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(got.iter().map(Vec::len).sum::<usize>(), 2 * N as usize, "messages were lost");
    for v in &got {
        // Per sender, each puller sees an increasing sequence.
        for prefix in ["L", "Z"] {
            let seq: Vec<u32> = v.iter().filter_map(|m| m.strip_prefix(prefix)?.parse().ok()).collect();
            assert!(seq.windows(2).all(|w| w[0] < w[1]), "out of order from {prefix}");
        }
    }
    let s = statistics(&zctx, &ctl);
    assert_eq!((s.frontend.msg_in, s.backend.msg_out), (2 * u64::from(N), 2 * u64::from(N)));
    let (code, err) = relay.signal("TERM");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("streamer stopped; frontend: 10000 msgs"), "{err}");
}

#[test]
fn control_commands_pause_resume_and_sigint() {
    let (fe, be, ctl) = (ipc(), tcp(), ipc());
    let relay = start(&["streamer", "--frontend-bind", &fe, "--backend-bind", &be, "--control", &ctl]);
    let (lctx, zctx) = (Context::new(), zmq::Context::new());
    let push = zs(&zctx, zmq::PUSH, &fe);
    let pull = ls(&lctx, libsock::PULL, &be);
    push.send("first", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"first");
    assert_eq!(control(&zctx, &ctl, "PAUSE"), vec![Vec::<u8>::new()]);
    push.send("held", 0).unwrap();
    pull.set_rcvtimeo(300).unwrap();
    assert!(pull.recv_bytes(0).is_err(), "a paused relay forwarded a message");
    assert_eq!(control(&zctx, &ctl, "RESUME"), vec![Vec::<u8>::new()]);
    pull.set_rcvtimeo(TIMEOUT_MS).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"held");
    assert_eq!(control(&zctx, &ctl, "NONSENSE"), vec![Vec::<u8>::new()]);
    let stats = control(&zctx, &ctl, "STATISTICS");
    assert_eq!(stats.len(), 8);
    assert_eq!(stats[0], 2u64.to_ne_bytes()); // frontend messages in
    assert_eq!(stats[1], 9u64.to_ne_bytes()); // frontend bytes in
    let (code, err) = relay.signal("INT");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("stopping") && err.contains("stopped"), "{err}");
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn config_file_with_flags_winning_and_metrics_over_http() {
    let (fe, be, ctl) = (tcp(), tcp(), tcp());
    let port = tcp().rsplit(':').next().unwrap().to_owned();
    let metrics = format!("127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!("sockdev-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("relay.toml");
    std::fs::write(
        &file,
        format!(
            "# a relay as a file\ndevice = \"streamer\"\nfrontend-bind = [\"tcp://127.0.0.1:1\"]\n\
             backend-bind = [\"{be}\"]\ncontrol = \"{ctl}\"\nmetrics = \"{metrics}\"\nhwm = 100\n"
        ),
    )
    .unwrap();
    // --frontend-bind on the command line replaces the file's (unbindable) one.
    let relay = start(&["--config", file.to_str().unwrap(), "--frontend-bind", &fe]);
    let (lctx, zctx) = (Context::new(), zmq::Context::new());
    let push = ls(&lctx, libsock::PUSH, &fe);
    let pull = zs(&zctx, zmq::PULL, &be);
    for i in 0..5 {
        push.send(format!("m{i}").as_str(), 0).unwrap();
    }
    for i in 0..5 {
        assert_eq!(pull.recv_bytes(0).unwrap(), format!("m{i}").as_bytes());
    }
    let started = Instant::now();
    let page = loop {
        // Counters are published per batch and connection events come from a monitor:
        // wait until both show.
        let page = http_get(&metrics, "/metrics");
        if let Some(p) = page.filter(|p| {
            p.contains("sockdev_messages_received_total{device=\"streamer\",side=\"frontend\"} 5\n")
                && p.contains("sockdev_connections{device=\"streamer\",side=\"backend\"} 1\n")
        }) {
            break p;
        }
        assert!(started.elapsed() < DEADLINE, "metrics never showed the traffic");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    // The health line is refreshed every 250 ms.
    let want = "\r\n\r\nok: streamer relaying; 1 frontend and 1 backend connections\n";
    let started = Instant::now();
    loop {
        let health = http_get(&metrics, "/healthz").expect("no /healthz");
        if health.ends_with(want) {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "{health}");
        thread::sleep(Duration::from_millis(20));
    }
    assert!(http_get(&metrics, "/readyz").unwrap().starts_with("HTTP/1.1 200 OK"));
    assert!(page.contains("sockdev_connections{device=\"streamer\",side=\"frontend\"} 1\n"), "{page}");
    assert!(page.contains("sockdev_bytes_sent_total{device=\"streamer\",side=\"backend\"} 10\n"), "{page}");
    terminate(relay, &zctx, &ctl);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_gives_one_line_errors_and_exit_codes() {
    let one_line = |err: &str| err.trim_end().lines().filter(|l| l.starts_with("sockdev: ")).count() == 1;
    let (code, err) = start(&["queue", "--frontend-bind", "tcp://nope", "--backend-bind", &tcp()]).finish();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("sockdev: invalid frontend endpoint \"tcp://nope\""), "{err}");
    assert!(one_line(&err), "{err}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://127.0.0.1:{}", taken.local_addr().unwrap().port());
    let (code, err) = start(&["streamer", "--frontend-bind", &tcp(), "--backend-bind", &ep]).finish();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("sockdev: cannot bind the backend to \"{ep}\": address already in use")),
        "{err}"
    );
    let file = std::env::temp_dir().join(format!("sockdev-bad-{}.toml", std::process::id()));
    std::fs::write(&file, "device = \"queue\"\nhwm = -\n").unwrap();
    let (code, err) = start(&["--config", file.to_str().unwrap()]).finish();
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with(&format!("sockdev: {}:2: ", file.display())), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let _ = std::fs::remove_file(&file);
    let (code, err) = start(&["router", "--frontend-bind", "x"]).finish();
    assert_eq!(code, 2, "{err}");
    let (code, err) = start(&["queue", "--frontend-bind", &tcp()]).finish();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("backend"), "{err}");
}

/// TERMINATE is answered on a busy machine too: the reply is queued just before the relay
/// closes, and must leave before the process exits. Run by hand (`cargo test -p devices
/// --test sockdev -- --ignored stress_`); it spins two threads beside the relays.
#[test]
#[ignore]
fn stress_terminate_is_answered_on_a_busy_machine() {
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let zctx = zmq::Context::new();
    for round in 0..100 {
        let (fe, be, ctl) = (tcp(), tcp(), tcp());
        let relay = start(&["queue", "--frontend-bind", &fe, "--backend-bind", &be, "--control", &ctl]);
        let err = terminate(relay, &zctx, &ctl);
        assert!(err.contains("queue stopped"), "round {round}: {err}");
    }
    stop.store(true, Ordering::Relaxed);
    for h in hogs {
        h.join().unwrap();
    }
}
