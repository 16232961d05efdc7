//! `sockdev` as systemd and Kubernetes see it: `READY=1`, `STATUS=`, `WATCHDOG=1` and
//! `STOPPING=1` datagrams on `NOTIFY_SOCKET` (systemd's `sd_notify` protocol, read here as
//! systemd would), `/healthz` and `/readyz`; an idle relay (its proxy asleep in `poll`) stays
//! healthy well past its health timeout, because the health thread nudges it.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the relay unless the test took it back.
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
    Some((code, text.split_once("\r\n\r\n")?.1.to_owned()))
}

/// Every notification until one contains `what` (within `within`), that one last.
fn until(sock: &UnixDatagram, what: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
        sock.set_read_timeout(Some(left)).unwrap();
        let Ok(n) = sock.recv(&mut buf) else { break };
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        if seen.last().unwrap().contains(what) {
            return seen;
        }
    }
    panic!("no {what:?} within {within:?}; got {seen:?}");
}

#[test]
fn systemd_and_http_see_an_idle_relay_alive_then_a_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let notify_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&notify_path).unwrap();
    let addr = format!("127.0.0.1:{}", common::free_port());
    // systemd sets WATCHDOG_PID to the service's main process: `exec` keeps the shell's pid.
    let mut guard = KillOnDrop(Some(
        Command::new("sh")
            .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_sockdev"))
            .args(["streamer", "--frontend-bind", &common::free_tcp_endpoint()])
            .args(["--backend-bind", &common::free_tcp_endpoint(), "--metrics", &addr])
            .args(["--health-timeout", "2"])
            .env("NOTIFY_SOCKET", &notify_path)
            .env("WATCHDOG_USEC", "400000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    ));

    let seen = until(&sock, "READY=1", Duration::from_secs(30));
    assert!(seen.last().unwrap().contains("STATUS=streamer relay running"), "{seen:?}");
    // Idle for twice the health timeout: fed all along (every 200 ms, half of WATCHDOG_USEC).
    let t0 = Instant::now();
    let mut feeds = 0;
    while t0.elapsed() < Duration::from_secs(4) {
        let last = until(&sock, "WATCHDOG=1", Duration::from_millis(700));
        feeds += 1;
        assert!(!last.iter().any(|m| m.contains("stuck")), "{last:?}");
    }
    assert!(feeds >= 10, "{feeds} watchdog feeds in 4 s");
    assert_eq!(
        get(&addr, "/healthz"),
        Some((200, "ok: streamer relaying; 0 frontend and 0 backend connections\n".into()))
    );
    assert_eq!(get(&addr, "/readyz"), Some((200, "ready\n".into())));
    let metrics = get(&addr, "/metrics").unwrap();
    assert!(metrics.1.contains("sockdev_messages_received_total{device=\"streamer\""), "{metrics:?}");

    let mut child = guard.0.take().unwrap();
    assert!(Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap().success());
    let seen = until(&sock, "STOPPING=1", Duration::from_secs(10));
    assert!(seen.last().unwrap().contains("STATUS=streamer relay stopping"), "{seen:?}");
    assert!(child.wait().unwrap().success());
}
