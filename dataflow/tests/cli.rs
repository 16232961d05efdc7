//! `sockflow` as users run it: check, run with metrics, exit codes.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOPOLOGY: &str = "name: cli
config:
  topology.max.spout.pending: 100
spouts:
  - id: gen
    className: Generator
    properties:
      - {name: sentences, value: [\"to be or not to be\"]}
bolts:
  - id: split
    className: Splitter
    parallelism: 2
  - id: count
    className: Counter
    properties:
      - {name: field, value: word}
streams:
  - {from: gen, to: split, grouping: {type: SHUFFLE}}
  - {from: split, to: count, grouping: {type: FIELDS, args: [word]}}
";

fn sockflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockflow"))
}

#[test]
fn check_prints_the_plan_and_errors_exit_1_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, TOPOLOGY).unwrap();
    let out = sockflow().arg("check").arg(&file).output().unwrap();
    assert!(out.status.success());
    let plan = String::from_utf8(out.stdout).unwrap();
    assert!(plan.contains("bolt split: tasks [2, 3]"), "{plan}");
    assert!(plan.contains("-> count FIELDS(word) tasks [4]"), "{plan}");
    assert!(plan.contains("acker __acker"), "{plan}");

    std::fs::write(&file, TOPOLOGY.replace("FIELDS, args: [word]", "FIELDS, args: [wrd]")).unwrap();
    let out = sockflow().arg("check").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("sockflow: ") && err.contains("t.yaml:19: ") && err.contains("\"wrd\""), "{err}");
    assert_eq!(err.lines().count(), 1, "one-line error: {err}");

    // `-c KEY=VALUE` over the file's config, as `storm jar -c`.
    std::fs::write(&file, TOPOLOGY).unwrap();
    let out =
        sockflow().arg("check").arg(&file).args(["-c", "topology.max.task.parallelism=1"]).output().unwrap();
    let plan = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success() && plan.contains("bolt split: tasks [2]"), "{plan}");
    let out = sockflow().arg("check").arg(&file).args(["-c", "topology.workers=0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err, "sockflow: command line (-c):1: topology.workers: at least 1\n");

    let out = sockflow().arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage error");
    assert!(sockflow().arg("--help").output().unwrap().status.success());
}

/// Kills the process unless the test took it back: a failed assertion leaves no `sockflow`
/// running (it would hold the test's output open).
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn scrape(addr: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

#[test]
fn run_serves_prometheus_metrics_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, TOPOLOGY).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut guard = KillOnDrop(Some(
        sockflow()
            .args(["run", "--metrics", &addr, "--print-every", "0"])
            .arg(&file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut body = String::new();
    while Instant::now() < deadline {
        body = scrape(&addr).unwrap_or_default();
        let acked = body
            .lines()
            .find_map(|l| {
                l.strip_prefix("sockflow_acked_total{topology=\"cli\",component=\"gen\",task=\"1\"} ")
            })
            .and_then(|v| v.parse::<u64>().ok());
        if acked.is_some_and(|n| n > 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.contains("# TYPE sockflow_emitted_total counter"), "{body}");
    assert!(body.contains("sockflow_complete_latency_seconds{topology=\"cli\",component=\"gen\",task=\"1\",quantile=\"0.99\"}"), "{body}");
    // Clients that connect and send nothing hold up no one else's scrape.
    let idle: Vec<_> = (0..3).map(|_| std::net::TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    assert!(scrape(&addr).is_some_and(|b| b.starts_with("HTTP/1.1 200 OK")), "no answer");
    assert!(t0.elapsed() < Duration::from_secs(1), "the scrape waited {:?}", t0.elapsed());
    drop(idle);
    let child = guard.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "clean exit on SIGTERM");
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("component") && table.contains("gen"), "final metrics table: {table}");
}

#[test]
fn keygen_prints_a_key_that_check_accepts() {
    let keygen = || {
        let out = sockflow().arg("keygen").output().unwrap();
        assert!(out.status.success());
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (secret, stderr) = keygen();
    assert_eq!(secret.lines().count(), 1, "{secret:?}");
    let key = dataflow::WorkerKey::from_secret(&secret).unwrap();
    assert!(stderr.contains(&format!("public key: {}", key.public())), "{stderr}");
    assert_ne!(keygen().0, secret, "keys are random");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let line = "  topology.worker.curve.secretkey: \"${ENV-SOCKFLOW_CLI_KEY}\"\n";
    std::fs::write(&file, TOPOLOGY.replacen("config:\n", &format!("config:\n{line}"), 1)).unwrap();
    let check = |key: &str| {
        sockflow().args(["check", "-e"]).arg(&file).env("SOCKFLOW_CLI_KEY", key).output().unwrap()
    };
    assert!(check(secret.trim()).status.success());
    let out = check("not-a-key");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("t.yaml:3: topology.worker.curve.secretkey: expected a Z85"), "{err}");
    assert!(!err.contains("not-a-key"), "the key is never shown: {err}");
}

#[test]
fn keygen_writes_certificates_the_topology_can_name() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("worker");
    let out = sockflow().args(["keygen", "--cert"]).arg(&base).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let paths = String::from_utf8(out.stdout).unwrap();
    assert_eq!(paths, format!("{}.key\n{}.key_secret\n", base.display(), base.display()));
    let (public, secret) = libsock::load_certificate(dir.path().join("worker.key_secret")).unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("public key: {public}")));
    // The worker links' key from it.
    let file = dir.path().join("t.yaml");
    let line = "  topology.worker.curve.secretkey.file: worker.key_secret\n";
    std::fs::write(&file, TOPOLOGY.replacen("config:\n", &format!("config:\n{line}"), 1)).unwrap();
    assert!(sockflow().arg("check").arg(&file).output().unwrap().status.success());
    assert!(secret.is_some());
    let again = sockflow().args(["keygen", "--cert"]).arg(&base).output().unwrap();
    assert_eq!(again.status.code(), Some(1), "never overwrites a key");
}

#[test]
fn run_exits_1_with_one_line_when_a_sink_cannot_bind() {
    // Something else holds the port the topology's sink binds: the run stops before it starts
    // (as a Storm worker whose bolt throws in prepare), rather than run without its sink.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let sink = format!(
        "  - id: out\n    className: SocketBolt\n    properties:\n      - {{name: type, value: push}}\n      \
         - {{name: bind, value: \"tcp://127.0.0.1:{port}\"}}\n"
    );
    let text = TOPOLOGY.replace("streams:\n", &format!("{sink}streams:\n"))
        + "  - {from: count, to: out, grouping: {type: SHUFFLE}}\n";
    std::fs::write(&file, text).unwrap();
    let out = sockflow().args(["run", "--for", "5"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let last = err.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!(
            "sockflow: bolt out task 5: prepare failed: bind tcp://127.0.0.1:{port}: address already in use"
        ),
        "{err}"
    );
    assert!(!err.contains("running:"), "it never ran: {err}");
}

#[test]
fn topology_debug_logs_every_emit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let text = TOPOLOGY
        .replace("topology.max.spout.pending: 100", "topology.max.spout.pending: 100\n  topology.debug: true")
        .replace(
            "value: [\"to be or not to be\"]}",
            "value: [\"to be or not to be\"]}\n      - {name: count, value: 1}",
        );
    std::fs::write(&file, text).unwrap();
    let out = sockflow().args(["run", "--for", "1"]).arg(&file).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let emits: Vec<&str> = err.lines().filter(|l| l.contains(": emitting on default to [")).collect();
    // 1 sentence, 6 words, 6 counts.
    assert_eq!(emits.len(), 13, "{err}");
    assert!(emits
        .iter()
        .any(|l| l.contains("gen task 1: emitting on default to [") && l.ends_with(": to be or not to be")));
    assert!(emits.iter().any(|l| l.contains("count task 4: emitting on default to []: be, 2")), "{err}");
}

#[test]
fn sigterm_stops_a_topology_whose_sink_nobody_reads() {
    // A PUSH sink with no peer blocks its bolt, and the spout's tuples pile up behind it: the
    // stop drains for --drain seconds, then gives up on them rather than wait for a reader.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let sink =
        "  - id: out\n    className: SocketBolt\n    properties:\n      - {name: type, value: push}\n      \
                - {name: bind, value: \"tcp://127.0.0.1:*\"}\n";
    let text = TOPOLOGY.replace("streams:\n", &format!("{sink}streams:\n"))
        + "  - {from: count, to: out, grouping: {type: SHUFFLE}}\n";
    std::fs::write(&file, text).unwrap();
    let child = sockflow()
        .args(["run", "--drain", "1", "--print-every", "0"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(Some(child));
    std::thread::sleep(Duration::from_secs(2));
    let pid = child.0.as_ref().unwrap().id();
    let stopping = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let status = loop {
        if let Some(status) = child.0.as_mut().unwrap().try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(15), "still running 15 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child.0.take().unwrap().stderr.unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{status:?}: {err}");
    assert!(stopping.elapsed() < Duration::from_secs(5), "{:?}", stopping.elapsed());
    assert!(err.contains("some tuple trees were still in flight after 1s"), "{err}");
}

/// GET `path` on `addr`: the status code and the body.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, text.split_once("\r\n\r\n")?.1.to_owned()))
}

#[test]
fn a_bolt_waiting_on_a_sink_nobody_reads_is_alive_not_stuck() {
    // The sink's address has no listener: its PUSH has no peer and every send waits. That is
    // a wait on something outside (restarting the worker would not help), not a stuck
    // executor: /healthz stays 200 well past topology.worker.timeout.secs.
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sink_port = nobody.local_addr().unwrap().port();
    drop(nobody);
    let topology = format!(
        "name: waits
config:
  topology.worker.timeout.secs: 1
  topology.max.spout.pending: 10
spouts:
  - id: gen
    className: Generator
    properties:
      - {{name: sentences, value: [\"a b\"]}}
bolts:
  - id: out
    className: SocketBolt
    properties:
      - {{name: type, value: push}}
      - {{name: connect, value: \"tcp://127.0.0.1:{sink_port}\"}}
streams:
  - {{from: gen, to: out, grouping: {{type: SHUFFLE}}}}
"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, topology).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut guard = KillOnDrop(Some(
        sockflow()
            .args(["run", "--metrics", &addr, "--print-every", "0", "--drain", "0"])
            .arg(&file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(&addr, "/readyz").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(get(&addr, "/healthz"), Some((200, "ok: 3 executors alive\n".into())));
    let metrics = get(&addr, "/metrics").unwrap().1;
    let gauge = |component: &str| -> f64 {
        let label = format!("component=\"{component}\"");
        metrics
            .lines()
            .find(|l| l.starts_with("sockflow_executor_silent_seconds{") && l.contains(&label))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{component}'s gauge in {metrics}"))
    };
    assert!(gauge("out") < 1.0, "the waiting bolt showed life: {metrics}");
    assert!(gauge("gen") < 1.0, "the spout at its max pending loops: {metrics}");
    let delivered = metrics
        .lines()
        .filter(|l| l.starts_with("sockflow_acked_total{") && l.contains("component=\"out\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum::<u64>();
    assert_eq!(delivered, 0, "the sink really had nobody to take its tuples");
    let child = guard.0.take().unwrap();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert!(child.wait_with_output().unwrap().status.success(), "clean exit on SIGTERM");
}
