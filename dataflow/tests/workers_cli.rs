//! `sockflow run` on a 2-worker file starts one process per worker (with `--worker K`), which
//! find each other over tcp, and stops them all cleanly at the end.

use std::process::Command;

mod common;

#[test]
fn sockflow_run_starts_a_process_per_worker() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    // Free now, never handed to another test of this binary (they run at once), below the
    // kernel's ephemeral range (see `common::free_ports`).
    let base = common::free_ports(17000, 11);
    std::fs::write(
        &file,
        format!(
            "name: two
config: {{topology.workers: 2}}
workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
spouts: [{{id: gen, className: Generator, properties: [{{name: sentences, value: [\"a b c\"]}}]}}]
bolts: [{{id: split, className: Splitter, parallelism: 2}}]
streams: [{{from: gen, to: split, grouping: {{type: SHUFFLE}}}}]
",
            base + 10
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sockflow"))
        .args(["run", "--for", "3", "--print-every", "0"])
        .arg(&file)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("started 2 worker processes"), "{stderr}");
    // Each worker prints its table at exit: the spout's acks prove tuples crossed workers
    // (split's executors are in both) and acks came back.
    let acked: u64 = stdout
        .lines()
        .filter(|l| l.starts_with("gen "))
        .filter_map(|l| l.split_whitespace().nth(4)?.parse::<u64>().ok())
        .sum();
    assert!(acked > 0, "{stdout}");
    // One exit table per worker; a worker restarted by `run` (e.g. its random port was taken
    // by another test for a moment) prints one more, so at least two.
    assert!(stdout.matches("component ").count() >= 2, "{stdout}");
}

#[test]
fn a_worker_that_cannot_start_is_restarted_with_a_growing_pause() {
    // Worker 1's sink binds a port another socket holds: it exits 1 at once, every time.
    // `run` starts it again after 0.1 s, 0.2 s, 0.4 s, 0.8 s, 1.6 s…: a handful in 4 s, not 40.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let base = common::free_ports(17000, 11);
    std::fs::write(
        &file,
        format!(
            "name: stuck
config: {{topology.workers: 2}}
workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
spouts: [{{id: gen, className: Generator, worker: 0, properties: [{{name: sentences, value: [\"a b c\"]}}]}}]
bolts:
  - {{id: split, className: Splitter, worker: 0}}
  - id: out
    className: SocketBolt
    worker: 1
    properties: [{{name: type, value: push}}, {{name: bind, value: \"tcp://127.0.0.1:{port}\"}}]
streams:
  - {{from: gen, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: out, grouping: {{type: SHUFFLE}}}}
",
            base + 10
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sockflow"))
        .args(["run", "--for", "4", "--print-every", "0"])
        .arg(&file)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failures = stderr
        .matches(&format!("sockflow: bolt out task 3: prepare failed: bind tcp://127.0.0.1:{port}"))
        .count();
    let restarts: Vec<&str> = stderr.lines().filter(|l| l.contains("worker 1 exited")).collect();
    assert!(failures >= 3, "it kept trying: {stderr}");
    assert!(restarts.len() <= 7, "{} restarts in 4 s: {stderr}", restarts.len());
    assert!(restarts.iter().any(|l| l.contains("starting it again in 400ms")), "{stderr}");
    drop(taken);
}

#[test]
fn workers_stop_when_their_launcher_is_killed() {
    // SIGKILL gives `sockflow run` no chance to stop its worker processes: they notice that
    // their parent is gone and stop by themselves, instead of running on as orphans that
    // hold the workers' ports.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let base = common::free_ports(17000, 11);
    std::fs::write(
        &file,
        format!(
            "name: orphans
config: {{topology.workers: 2}}
workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
spouts: [{{id: gen, className: Generator, properties: [{{name: sentences, value: [\"a b c\"]}}]}}]
bolts: [{{id: split, className: Splitter, parallelism: 2}}]
streams: [{{from: gen, to: split, grouping: {{type: SHUFFLE}}}}]
",
            base + 10
        ),
    )
    .unwrap();
    let mut launcher = Command::new(env!("CARGO_BIN_EXE_sockflow"))
        .args(["run", "--print-every", "0"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let children = |pid: u32| -> Vec<String> {
        let out = Command::new("ps").args(["-o", "pid=", "--ppid", &pid.to_string()]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut workers = Vec::new();
    while workers.len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        workers = children(launcher.id());
    }
    launcher.kill().unwrap();
    launcher.wait().unwrap();
    assert_eq!(workers.len(), 2, "{workers:?}");
    let alive = |pid: &String| {
        std::path::Path::new(&format!("/proc/{pid}")).exists() && {
            // A zombie (exited, not yet reaped by init) counts as stopped.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z')
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while workers.iter().any(alive) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let left: Vec<&String> = workers.iter().filter(|p| alive(p)).collect();
    for pid in &left {
        let _ = Command::new("kill").args(["-9", pid]).status();
    }
    assert!(left.is_empty(), "workers still running 15 s after their launcher was killed: {left:?}");
}

#[test]
fn under_systemd_only_the_launching_process_notifies() {
    // `sockflow run` of a 2-worker file under Type=notify with a watchdog: the launcher says
    // READY, feeds the watchdog while it watches its workers, and says STOPPING; the workers
    // (its children) do not inherit NOTIFY_SOCKET, so they never speak for the service.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let base = common::free_ports(17000, 11);
    std::fs::write(
        &file,
        format!(
            "name: two
config: {{topology.workers: 2}}
workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
spouts: [{{id: gen, className: Generator, properties: [{{name: sentences, value: [\"a b c\"]}}]}}]
bolts: [{{id: split, className: Splitter, parallelism: 2}}]
streams: [{{from: gen, to: split, grouping: {{type: SHUFFLE}}}}]
",
            base + 10
        ),
    )
    .unwrap();
    let notify = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    // systemd sets WATCHDOG_PID to the service's main process: `exec` keeps the shell's pid.
    let mut child = Command::new("sh")
        .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_sockflow"))
        .args(["run", "--for", "3", "--print-every", "0"])
        .arg(&file)
        .env("NOTIFY_SOCKET", &notify)
        .env("WATCHDOG_USEC", "400000")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut said = Vec::new();
    let mut buf = [0u8; 4096];
    let status = loop {
        if let Ok(n) = sock.recv(&mut buf) {
            said.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
    };
    while let Ok(n) = sock.recv(&mut buf) {
        said.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(status.success(), "{status}");
    let count = |what: &str| said.iter().filter(|m| m.contains(what)).count();
    assert_eq!(count("READY=1"), 1, "{said:?}");
    assert_eq!(count("STATUS=running 2 worker processes"), 1, "{said:?}");
    assert!(count("WATCHDOG=1") >= 5, "fed while watching the workers: {said:?}");
    assert_eq!(count("STOPPING=1"), 1, "{said:?}");
    assert_eq!(count("executors alive"), 0, "a worker spoke for the service: {said:?}");
}
