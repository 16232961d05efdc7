//! A `sockflow run` worker as systemd and Kubernetes see it: `READY=1`, `WATCHDOG=1` and
//! `STATUS=` datagrams on `NOTIFY_SOCKET` (systemd's `sd_notify` protocol, read here by the
//! test as systemd would), `/healthz` and `/readyz`, and what changes when a bolt gets stuck:
//! the watchdog is no longer fed, `/healthz` answers 503 naming the bolt, and the stop
//! still completes, even when the bolt never returns.

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOPOLOGY: &str = "name: stall
config:
  topology.worker.timeout.secs: 1
  topology.max.spout.pending: 10
spouts:
  - id: gen
    className: Generator
    properties:
      - {name: sentences, value: [\"a b\"]}
bolts:
  - id: stall
    className: Stall
    properties:
      - {name: afterSecs, value: 3}
streams:
  - {from: gen, to: stall, grouping: {type: SHUFFLE}}
";

/// Kills the worker unless the test took it back.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// GET `path`: the status code and the body.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_owned();
    Some((code, body))
}

/// The next notification within `within`.
fn next(sock: &UnixDatagram, within: Duration) -> Option<String> {
    sock.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Reads notifications until one contains `what` (within `within`); returns it and those
/// before it.
fn until(sock: &UnixDatagram, what: &str, within: Duration) -> (Option<String>, Vec<String>) {
    let deadline = Instant::now() + within;
    let mut before = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match next(sock, left) {
            Some(m) if m.contains(what) => return (Some(m), before),
            Some(m) => before.push(m),
            None => break,
        }
    }
    (None, before)
}

#[test]
fn systemd_and_http_see_a_stuck_bolt_and_a_clean_stop() {
    let dir = tempfile_dir("stall");
    let file = dir.join("stall.yaml");
    std::fs::write(&file, TOPOLOGY).unwrap();
    let notify_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&notify_path).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    // systemd sets WATCHDOG_PID to the service's main process: `exec` keeps the shell's pid.
    let mut guard = KillOnDrop(Some(
        Command::new("sh")
            .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_tests-sockflow"))
            .args(["run", "--metrics", &addr, "--print-every", "0", "--drain", "3"])
            .arg(&file)
            .env("NOTIFY_SOCKET", &notify_path)
            .env("WATCHDOG_USEC", "400000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    ));

    let (ready, _) = until(&sock, "READY=1", Duration::from_secs(30));
    let ready = ready.expect("READY=1 once the topology runs");
    assert!(ready.contains("STATUS=ok: 3 executors alive"), "{ready:?}");
    // Fed every 200 ms (half of WATCHDOG_USEC) while healthy.
    let (fed, _) = until(&sock, "WATCHDOG=1", Duration::from_secs(2));
    assert!(fed.is_some(), "the watchdog is fed");
    assert_eq!(get(&addr, "/healthz"), Some((200, "ok: 3 executors alive\n".into())));
    assert_eq!(get(&addr, "/readyz"), Some((200, "ready\n".into())));
    assert_eq!(get(&addr, "/nothing-here").map(|r| r.0), Some(404));

    // Three seconds in, the bolt stops coming back from `execute`: one second later the
    // worker says so, and stops feeding the watchdog (systemd then restarts it).
    let (stalled, before) = until(&sock, "STATUS=stalled", Duration::from_secs(15));
    let stalled = stalled.expect("a STATUS= naming the stuck bolt");
    assert!(stalled.contains("stall (executor "), "{stalled:?}");
    assert!(stalled.contains("has not come back from a call for"), "{stalled:?}");
    assert!(before.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 5, "fed until then: {before:?}");
    // Fed every 200 ms while healthy: none at all over the next 1.5 s.
    let quiet_until = Instant::now() + Duration::from_millis(1500);
    let mut after = Vec::new();
    while let Some(left) = quiet_until.checked_duration_since(Instant::now()) {
        after.extend(next(&sock, left));
    }
    assert!(!after.iter().any(|m| m.contains("WATCHDOG=1")), "fed while a bolt is stuck: {after:?}");
    let (code, body) = get(&addr, "/healthz").unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.starts_with("stalled: stall (executor "), "{body}");
    assert_eq!(get(&addr, "/readyz").map(|r| r.0), Some(200), "stuck is not unready");
    let metrics = get(&addr, "/metrics").unwrap().1;
    let silent: f64 = metrics
        .lines()
        .find(|l| l.starts_with("sockflow_executor_silent_seconds{") && l.contains("component=\"stall\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("the stuck executor's gauge in {metrics}"));
    assert!(silent > 1.0, "silent for {silent} s");

    // SIGTERM: STOPPING=1, not ready while draining, and a clean exit (the bolt gives up at
    // the stop).
    let mut child = guard.0.take().unwrap();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let (stopping, _) = until(&sock, "STOPPING=1", Duration::from_secs(5));
    assert!(stopping.is_some(), "STOPPING=1 at SIGTERM");
    assert_eq!(get(&addr, "/readyz"), Some((503, "stopping\n".into())), "not ready while draining");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "sockflow did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bolt_that_never_returns_does_not_hold_the_stop_forever() {
    let dir = tempfile_dir("never");
    let file = dir.join("never.yaml");
    let text = TOPOLOGY.replace("value: 3}", "value: 0}\n      - {name: heedsStop, value: false}");
    std::fs::write(&file, text).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut guard = KillOnDrop(Some(
        Command::new(env!("CARGO_BIN_EXE_tests-sockflow"))
            .args(["run", "--metrics", &addr, "--print-every", "0", "--drain", "1"])
            .arg(&file)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&addr, "/healthz").map(|r| r.0) != Some(503) {
        assert!(Instant::now() < deadline, "the bolt never got stuck");
        std::thread::sleep(Duration::from_millis(100));
    }
    let child = guard.0.take().unwrap();
    let t0 = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    // The drain (1 s), then STOP_GRACE (5 s) for the executors, then the exit.
    assert!(t0.elapsed() < Duration::from_secs(15), "the stop took {:?}", t0.elapsed());
    assert_eq!(out.status.code(), Some(1), "an unclean stop");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sockflow: stopped with executors still stuck in a call: stall-"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sockflow-health-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
