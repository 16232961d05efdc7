//! `sockflow run` on a 2-worker file starts one process per worker (with `--worker K`), which
//! find each other over tcp, and stops them all cleanly at the end.

use std::process::Command;

#[test]
fn sockflow_run_starts_a_process_per_worker() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    // Below the kernel's ephemeral range (32768-60999): no outgoing connection of another test
    // can hold these ports as its local end (binding checks do not see those).
    let base = 20000 + fastrand::u16(0..150) * 10;
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
    let base = 20000 + fastrand::u16(0..150) * 10;
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
