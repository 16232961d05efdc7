//! DRPC as users run it: the example topology under `sockflow run`, called by `sockflow drpc`
//! and by pyzmq (libzmq 4.3.5); a DRPC spout and its `ReturnResults` in two worker processes.

mod common;

use std::process::{Child, Command, Output, Stdio};

fn sockflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockflow"))
}

/// Kills the process unless the test took it back.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl KillOnDrop {
    /// SIGTERM, then its exit status and stderr.
    fn stop(mut self) -> Output {
        let child = self.0.take().unwrap();
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        child.wait_with_output().unwrap()
    }
}

/// `sockflow drpc ARGS` once the topology answers (it may still be starting).
fn drpc_when_up(endpoint: &str, args: &[&str]) -> Output {
    let mut out = None;
    assert!(
        common::eventually(20, || {
            let o = sockflow().args(["drpc", "--timeout", "2", endpoint]).args(args).output().unwrap();
            let up = o.status.success();
            out = Some(o);
            up
        }),
        "no answer: {}",
        String::from_utf8_lossy(&out.as_ref().unwrap().stderr)
    );
    out.unwrap()
}

#[test]
fn the_example_answers_sockflow_drpc_and_pyzmq() {
    let port = common::free_ports(24000, 1);
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let run = sockflow()
        .args(["run", "-e", "dataflow/examples/drpc-exclamation.yaml", "--print-every", "0"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("DRPC_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = KillOnDrop(Some(run));
    let out = drpc_when_up(&endpoint, &["exclamation", "hello", "exclamation", "big world"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "hello!\nbig world!\n");
    let out = sockflow().args(["drpc", &endpoint, "-f", "exclamation", "a", "b", "c"]).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "a!\nb!\nc!\n");

    // Errors: one line, exit 1; usage: exit 2.
    let out = sockflow().args(["drpc", &endpoint, "-f", "shout", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "sockflow: drpc shout \"x\": unknown DRPC function \"shout\": this endpoint serves \"exclamation\"\n"
    );
    let out = sockflow().args(["drpc", &endpoint, "exclamation"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "sockflow: expected FUNCTION ARGUMENT pairs (or -f FUNCTION and arguments)\n"
    );
    assert_eq!(sockflow().args(["drpc", &endpoint]).output().unwrap().status.code(), Some(2));
    let silent = format!("tcp://127.0.0.1:{}", common::free_ports(24000, 1));
    let out = sockflow().args(["drpc", "--timeout", "0.3", &silent, "exclamation", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "sockflow: drpc exclamation \"x\": no answer within 300ms\n"
    );

    // pyzmq (its own libzmq 4.3.5) as the client, with a REQ socket.
    let script = format!(
        "import zmq\n\
         s = zmq.Context().socket(zmq.REQ)\n\
         s.setsockopt(zmq.RCVTIMEO, 20000)\n\
         s.connect('{endpoint}')\n\
         for a in [b'from python', b'again']:\n\
         \x20   s.send_multipart([b'exclamation', a])\n\
         \x20   print(b' '.join(s.recv_multipart()).decode())\n"
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "OK from python!\nOK again!\n");

    let out = run.stop();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_spout_and_its_return_results_in_two_worker_processes() {
    spout_and_return_results_in_two_workers(false);
}

#[test]
fn with_curve_worker_links_the_results_link_is_curve_too() {
    spout_and_return_results_in_two_workers(true);
}

/// A DRPC spout in worker 0 and `ReturnResults` in worker 1 (one process each): the results
/// cross over tcp, to the spout worker's address, as CURVE with the worker links' key when
/// `curve`. A NULL (plain) libzmq peer then fails its handshake with the results socket.
fn spout_and_return_results_in_two_workers(curve: bool) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("echo.yaml");
    let base = common::free_ports(25000, 25);
    let drpc_port = base + 20;
    let mut worker_public = String::new();
    let key_line = if curve {
        let key = sockflow().arg("keygen").output().unwrap();
        std::fs::write(dir.path().join("curve.key"), &key.stdout).unwrap();
        worker_public = String::from_utf8(key.stderr).unwrap().trim().rsplit(' ').next().unwrap().to_owned();
        ", topology.worker.curve.secretkey.file: curve.key"
    } else {
        ""
    };
    std::fs::write(
        &file,
        format!(
            "name: echo
config: {{topology.workers: 2{key_line}}}
workers: [\"127.0.0.1:{base}\", \"127.0.0.1:{}\"]
spouts:
  - {{id: drpc, className: DRPCSpout, constructorArgs: [echo], worker: 0,
     properties: [{{name: bind, value: \"tcp://127.0.0.1:{drpc_port}\"}}]}}
bolts:
  - {{id: return, className: ReturnResults, worker: 1}}
streams:
  - {{from: drpc, to: return, grouping: {{type: SHUFFLE}}}}
",
            base + 10
        ),
    )
    .unwrap();
    let run = sockflow()
        .args(["run", file.to_str().unwrap(), "--print-every", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut run = KillOnDrop(Some(run));
    let endpoint = format!("tcp://127.0.0.1:{drpc_port}");
    let out = drpc_when_up(&endpoint, &["-f", "echo", "one", "two words"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "one\ntwo words\n");

    // The results socket's address, from the log (read up to that line).
    let mut stderr = std::io::BufReader::new(run.0.as_mut().unwrap().stderr.take().unwrap());
    let mut line = String::new();
    let results_at = loop {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "no DRPC spout in the log");
        let line = without_colours(&line);
        if let Some(at) = line.split("results=").nth(1) {
            break at.trim().to_owned();
        }
    };
    // The results came over tcp, to the address of the spout's worker.
    assert!(results_at.starts_with("tcp://127.0.0.1:"), "{results_at}");
    let plain_peer_handshake = handshake_of_a_plain_peer(&results_at);
    assert_eq!(plain_peer_handshake, if curve { "failed" } else { "succeeded" });
    if curve {
        // A CURVE peer that knows the worker's public key but holds its own key pair is
        // refused by the results socket's ZAP handler (only the worker key is admitted).
        assert_eq!(handshake_of_a_curve_stranger(&results_at, &worker_public), "refused");
    }
    drop(stderr);
    run.stop();
}

/// Whether a libzmq PUSH with no security mechanism completes its handshake with `endpoint`.
fn handshake_of_a_plain_peer(endpoint: &str) -> &'static str {
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.monitor("inproc://drpc-results-monitor", zmq::SocketEvent::ALL as i32).unwrap();
    let monitor = ctx.socket(zmq::PAIR).unwrap();
    monitor.set_rcvtimeo(10_000).unwrap();
    monitor.connect("inproc://drpc-results-monitor").unwrap();
    push.connect(endpoint).unwrap();
    loop {
        let frames = monitor.recv_multipart(0).expect("a handshake event within 10 s");
        let event = u16::from_le_bytes([frames[0][0], frames[0][1]]);
        if event == zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16 {
            return "succeeded";
        }
        if [
            zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
            zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
            zmq::SocketEvent::HANDSHAKE_FAILED_AUTH,
        ]
        .iter()
        .any(|e| *e as u16 == event)
        {
            return "failed";
        }
    }
}

/// What pyzmq's libzmq reports when a CURVE PUSH with a fresh key pair connects to
/// `endpoint`, a CURVE server with public key `server`: "refused" (ZAP said 400) or "admitted".
fn handshake_of_a_curve_stranger(endpoint: &str, server: &str) -> String {
    assert_eq!(server.len(), 40, "a Z85 public key: {server:?}");
    let script = format!(
        r#"
import zmq
from zmq.utils.monitor import recv_monitor_message
s = zmq.Context().socket(zmq.PUSH)
s.linger = 0
s.curve_serverkey = {server:?}.encode()
s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
m = s.get_monitor_socket()
m.rcvtimeo = 10000
s.connect("{endpoint}")
while True:
    e = recv_monitor_message(m)["event"]
    if e == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        print("refused")
        break
    if e == zmq.EVENT_HANDSHAKE_SUCCEEDED:
        print("admitted")
        break
"#
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The log without its ANSI colour sequences.
fn without_colours(log: &str) -> String {
    let mut out = String::new();
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn a_drpc_server_serves_several_functions_on_one_address() {
    let base = common::free_ports(24600, 6);
    let (front, exclaim, echo_a, echo_b, nobody) = (base, base + 1, base + 2, base + 3, base + 4);
    let metrics = format!("127.0.0.1:{}", base + 5);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two.yaml");
    // "exclamation" (a Python bolt adds "!") and "echo" (two spouts, each its own port).
    std::fs::write(
        &file,
        format!(
            "name: two-functions
spouts:
  - {{id: ex, className: DRPCSpout, constructorArgs: [exclamation],
     properties: [{{name: bind, value: \"tcp://127.0.0.1:{exclaim}\"}}]}}
  - {{id: echo-a, className: DRPCSpout, constructorArgs: [echo],
     properties: [{{name: bind, value: \"tcp://127.0.0.1:{echo_a}\"}}]}}
  - {{id: echo-b, className: DRPCSpout, constructorArgs: [echo],
     properties: [{{name: bind, value: \"tcp://127.0.0.1:{echo_b}\"}}]}}
bolts:
  - id: exclaim
    className: org.apache.storm.flux.wrappers.bolts.FluxShellBolt
    constructorArgs: [[python3, dataflow/tests/multilang/exclaim.py], [result, return-info]]
  - {{id: return, className: ReturnResults}}
streams:
  - {{from: ex, to: exclaim, grouping: {{type: SHUFFLE}}}}
  - {{from: exclaim, to: return, grouping: {{type: SHUFFLE}}}}
  - {{from: echo-a, to: return, grouping: {{type: SHUFFLE}}}}
  - {{from: echo-b, to: return, grouping: {{type: SHUFFLE}}}}
"
        ),
    )
    .unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let spawn = |cmd: &mut Command| {
        KillOnDrop(Some(cmd.current_dir(root).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()))
    };
    let topology = spawn(sockflow().args(["run", file.to_str().unwrap(), "--print-every", "0"]));
    let at = |port: u16| format!("tcp://127.0.0.1:{port}");
    // As systemd would run it (Type=notify): its notifications arrive here.
    let notify_path = dir.path().join("notify.sock");
    let _ = std::fs::remove_file(&notify_path);
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let notification = || {
        let mut buf = [0u8; 4096];
        let n = notify.recv(&mut buf).expect("no notification within 20 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let router = spawn(sockflow().env("NOTIFY_SOCKET", &notify_path).args([
        "drpc-server",
        "--bind",
        &at(front),
        "--function",
        &format!("exclamation={}", at(exclaim)),
        "--function",
        &format!("echo={},{}", at(echo_a), at(echo_b)),
        "--function",
        &format!("down={}", at(nobody)),
        "--metrics",
        &metrics,
    ]));
    let endpoint = at(front);
    let ready = notification();
    assert!(
        ready.contains("READY=1")
            && ready.contains(&format!("STATUS=DRPC router serving exclamation, echo, down on {endpoint}")),
        "{ready}"
    );
    let out = drpc_when_up(&endpoint, &["exclamation", "hi", "echo", "there"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "hi!\nthere\n");
    // Twenty calls over the two echo spouts (the router's DEALER takes turns between them).
    let many: Vec<String> = (0..20).map(|i| format!("call {i}")).collect();
    let out = sockflow().args(["drpc", &endpoint, "-f", "echo"]).args(&many).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), many.join("\n") + "\n");

    // Errors come from the router at once: an unknown function, one with no spout up.
    let error = |f: &str| {
        let o = sockflow().args(["drpc", "--timeout", "5", &endpoint, f, "x"]).output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        String::from_utf8(o.stderr).unwrap()
    };
    assert_eq!(
        error("shout"),
        "sockflow: drpc shout \"x\": unknown DRPC function \"shout\": this router serves \"exclamation\", \
         \"echo\", \"down\"\n"
    );
    assert_eq!(
        error("down"),
        "sockflow: drpc down \"x\": no spout of \"down\" can take the request now (none connected, or all full)\n"
    );

    // pyzmq (libzmq 4.3.5) REQ through the router.
    let script = format!(
        "import zmq\n\
         s = zmq.Context().socket(zmq.REQ)\n\
         s.setsockopt(zmq.RCVTIMEO, 20000)\n\
         s.connect('{endpoint}')\n\
         for f, a in [(b'exclamation', b'py'), (b'echo', b'zmq')]:\n\
         \x20   s.send_multipart([f, a])\n\
         \x20   print(b' '.join(s.recv_multipart()).decode())\n"
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "OK py!\nOK zmq\n");

    // The counters, as Prometheus scrapes them; health and readiness, as Kubernetes probes.
    let get = |path: &str| {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&metrics).unwrap();
        conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
        let mut text = String::new();
        conn.read_to_string(&mut text).unwrap();
        text
    };
    let scrape = get("/metrics");
    let health = get("/healthz");
    assert!(health.starts_with("HTTP/1.1 200 OK") && health.ends_with("\r\n\r\nok: routing\n"), "{health}");
    let ready = get("/readyz");
    assert!(ready.starts_with("HTTP/1.1 200 OK") && ready.ends_with("\r\n\r\nready\n"), "{ready}");
    let count = |series: &str| -> u64 {
        let line =
            scrape.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("{series}: {scrape}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(count("sockflow_drpc_router_requests_total{function=\"echo\"}") >= 22, "{scrape}");
    assert!(count("sockflow_drpc_router_requests_total{function=\"exclamation\"}") >= 2, "{scrape}");
    assert_eq!(count("sockflow_drpc_router_requests_total{function=\"down\"}"), 0);
    assert!(count("sockflow_drpc_router_refused_total{reason=\"unknown_function\"}") >= 1, "{scrape}");
    assert!(count("sockflow_drpc_router_refused_total{reason=\"no_spout\"}") >= 1, "{scrape}");
    assert_eq!(count("sockflow_drpc_router_refused_total{reason=\"malformed\"}"), 0);

    let out = router.stop();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stopping = std::iter::repeat_with(notification).find(|m| m.contains("STOPPING=1")).unwrap();
    assert!(stopping.contains("STATUS=DRPC router stopping"), "{stopping}");
    let log = without_colours(&String::from_utf8_lossy(&out.stderr));
    // 24 routed by the calls above (more if the first calls came before the spouts were up).
    let routed: u64 = log
        .split("DRPC router stopped routed=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no final counts: {log}"));
    assert!(routed >= 24, "{log}");
    topology.stop();
}
