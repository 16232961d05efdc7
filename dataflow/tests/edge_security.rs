//! CURVE and PLAIN on a topology's edge sockets, against libzmq peers, under `sockflow run`:
//! pyzmq (libzmq 4.3.5 with CURVE) feeds a CURVE `SocketSpout` that admits only its key and
//! reads a `SocketBolt` that is a CURVE client; the `zmq` crate's libzmq logs in to a PLAIN
//! spout; `sockflow drpc` calls a CURVE DRPC spout. A spout and a bolt over `wss://`, their PEM
//! files beside the topology file.

mod common;

use std::process::{Command, Stdio};

fn sockflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockflow"))
}

/// A key pair (public, secret) whose text has no `$` (so no `${` for substitution to see).
fn keypair() -> (String, String) {
    loop {
        let (public, secret) = libsock::curve_keypair();
        if !public.contains('$') && !secret.contains('$') {
            return (public, secret);
        }
    }
}

/// Python that waits on `monitor` (a pyzmq monitor socket of `who`'s) for its handshake to
/// fail on authentication, then prints "WHO refused" and "ok"; it fails if the handshake
/// succeeds.
fn refused(who: &str) -> String {
    format!(
        r#"monitor.rcvtimeo = 10000
while True:
    event = recv_monitor_message(monitor)["event"]
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        print("{who} refused")
        break
    assert event != zmq.EVENT_HANDSHAKE_SUCCEEDED, "{who} got in"
print("ok")
"#
    )
}

/// A `sockflow run` and its directory (the topology file, the log).
struct Run {
    process: common::KillOnDrop,
    dir: tempfile::TempDir,
}

/// Runs `yaml` under `sockflow run -e` with `env`, its log in a file.
fn run(yaml: &str, env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, yaml).unwrap();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let mut cmd = sockflow();
    cmd.args(["run", "-e", file.to_str().unwrap(), "--print-every", "0"]);
    cmd.envs(env.iter().copied()).stdout(Stdio::null()).stderr(log);
    Run { process: common::KillOnDrop(cmd.spawn().unwrap()), dir }
}

impl Run {
    /// SIGTERM; asserts a clean exit.
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.process.0.id().to_string()]).status();
        let status = self.process.0.wait().unwrap();
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        assert!(status.success(), "{status}: {log}");
    }
}

#[test]
fn a_curve_spout_admits_only_its_clients_and_a_curve_bolt_reaches_libzmq() {
    let port = common::free_ports(26000, 2);
    let (spout_public, spout_secret) = keypair();
    let (sink_public, sink_secret) = keypair();
    let (client_public, client_secret) = keypair();
    let yaml = format!(
        "name: curve-edges
spouts:
  - id: in
    className: SocketSpout
    properties:
      - {{name: type, value: pull}}
      - {{name: bind, value: \"tcp://127.0.0.1:{port}\"}}
      - {{name: curveServer, value: true}}
      - {{name: curveSecretKey, value: \"${{ENV-SPOUT_SECRET}}\"}}
      - {{name: curveClientKeys, value: [\"${{ENV-CLIENT_PUBLIC}}\"]}}
      - {{name: userIdField, value: client}}
bolts:
  - id: out
    className: SocketBolt
    properties:
      - {{name: type, value: push}}
      - {{name: connect, value: \"tcp://127.0.0.1:{}\"}}
      - {{name: curveServerKey, value: \"${{ENV-SINK_PUBLIC}}\"}}
streams:
  - {{from: in, to: out, grouping: {{type: SHUFFLE}}}}
",
        port + 1
    );
    let run = run(
        &yaml,
        &[("SPOUT_SECRET", &spout_secret), ("CLIENT_PUBLIC", &client_public), ("SINK_PUBLIC", &sink_public)],
    );

    // pyzmq: the sink (a CURVE server), the admitted client, a CURVE stranger (its own key
    // pair, knowing the spout's public key) and a NULL client. Only the admitted client's
    // messages come out; the stranger's handshake fails on authentication.
    let script = format!(
        r#"
import zmq
from zmq.utils.monitor import recv_monitor_message
ctx = zmq.Context()
sink = ctx.socket(zmq.PULL)
sink.curve_server = True
sink.curve_secretkey = b"{sink_secret}"
sink.bind("tcp://127.0.0.1:{sink_port}")
def client(public, secret):
    s = ctx.socket(zmq.PUSH)
    s.linger = 0
    if public:
        s.curve_serverkey = b"{spout_public}"
        s.curve_publickey = public
        s.curve_secretkey = secret
    s.connect("tcp://127.0.0.1:{port}")
    return s
stranger_public, stranger_secret = zmq.curve_keypair()
stranger = client(stranger_public, stranger_secret)
monitor = stranger.get_monitor_socket()
null = client(None, None)
good = client(b"{client_public}", b"{client_secret}")
for i in range(20):
    stranger.send(b"stranger %d" % i)
    null.send(b"null %d" % i)
    good.send(b"good %d" % i)
sink.rcvtimeo = 30000
got = [sink.recv_multipart() for _ in range(20)]
# Each tuple starts with its sender's User-Id: the CURVE client's public key.
assert got == [[b"{client_public}", b"good %d" % i] for i in range(20)], got
sink.rcvtimeo = 500
try:
    print("unexpected:", sink.recv())
except zmq.Again:
    pass
{refused}"#,
        refused = refused("stranger"),
        sink_port = port + 1
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "stranger refused\nok\n");
    run.stop();
}

#[test]
fn certificate_files_beside_the_topology_file_secure_a_spout() {
    // The zguide's Ironhouse layout made by pyzmq (zmq.auth.create_certificates): the spout's
    // secret certificate and a directory of the admitted clients' public ones, named
    // relative to the topology file; sockflow runs from elsewhere.
    let port = common::free_ports(26000, 2);
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("python3")
        .args([
            "-c",
            "import os, sys, zmq.auth\nd = sys.argv[1]\nfor n in ('spout', 'alice', 'mallory'): \
             zmq.auth.create_certificates(d, n)\nos.mkdir(os.path.join(d, 'clients'))\n\
             os.rename(os.path.join(d, 'alice.key'), os.path.join(d, 'clients', 'alice.key'))",
        ])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(made.success());
    let yaml = format!(
        "name: cert-edges
spouts:
  - id: in
    className: SocketSpout
    properties:
      - {{name: type, value: pull}}
      - {{name: bind, value: \"tcp://127.0.0.1:{port}\"}}
      - {{name: curveServer, value: true}}
      - {{name: curveSecretKey, value: spout.key_secret}}
      - {{name: curveClientKeys, value: [clients]}}
bolts:
  - id: out
    className: SocketBolt
    properties:
      - {{name: type, value: push}}
      - {{name: connect, value: \"tcp://127.0.0.1:{}\"}}
streams:
  - {{from: in, to: out, grouping: {{type: SHUFFLE}}}}
",
        port + 1
    );
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let child = sockflow()
        .args(["run", file.to_str().unwrap(), "--print-every", "0"])
        .current_dir("/")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let run = Run { process: common::KillOnDrop(child), dir };
    let d = run.dir.path().display().to_string();
    let python_prints = |script: &str, want: &str| {
        let out = Command::new("python3").args(["-c", script]).output().unwrap();
        let log = std::fs::read_to_string(run.dir.path().join("log")).unwrap_or_default();
        assert!(out.status.success(), "{}\n{log}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    };
    // A sink for the topology's output, and pyzmq CURVE clients of the spout by certificate.
    let clients = format!(
        r#"
import os, zmq, zmq.auth
from zmq.utils.monitor import recv_monitor_message
ctx = zmq.Context()
sink = ctx.socket(zmq.PULL)
sink.bind("tcp://127.0.0.1:{sink_port}")
server_public, _ = zmq.auth.load_certificate(os.path.join("{d}", "spout.key"))
def client(name):
    s = ctx.socket(zmq.PUSH)
    s.linger = 0
    s.curve_publickey, s.curve_secretkey = zmq.auth.load_certificate(os.path.join("{d}", name + ".key_secret"))
    s.curve_serverkey = server_public
    s.connect("tcp://127.0.0.1:{port}")
    return s
"#,
        sink_port = port + 1
    );
    let script = format!(
        r#"{clients}
mallory = client("mallory")
monitor = mallory.get_monitor_socket()
alice = client("alice")
for i in range(10):
    mallory.send(b"mallory %d" % i)
    alice.send(b"alice %d" % i)
sink.rcvtimeo = 30000
got = [sink.recv() for _ in range(10)]
assert got == [b"alice %d" % i for i in range(10)], got
{refused}"#,
        refused = refused("mallory"),
    );
    python_prints(&script, "mallory refused\nok\n");

    // The running spout follows its directory, as czmq's zauth does: Mallory's certificate
    // moved in admits him, Alice's moved out refuses her, without a restart.
    std::fs::rename(run.dir.path().join("mallory.key"), run.dir.path().join("clients/mallory.key")).unwrap();
    std::fs::rename(run.dir.path().join("clients/alice.key"), run.dir.path().join("alice.key")).unwrap();
    let script = format!(
        r#"{clients}
alice = client("alice")
monitor = alice.get_monitor_socket()
mallory = client("mallory")
mallory.send(b"mallory now")
sink.rcvtimeo = 30000
assert sink.recv() == b"mallory now"
{refused}"#,
        refused = refused("alice"),
    );
    python_prints(&script, "alice refused\nok\n");

    // A public certificate where the secret one is needed: an error at the spout's line.
    let wrong = run.dir.path().join("wrong.yaml");
    std::fs::write(&wrong, yaml.replace("spout.key_secret", "spout.key")).unwrap();
    let out = sockflow().arg("check").arg(&wrong).current_dir("/").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wrong.yaml:3:") && err.contains("is a public certificate: give the secret one"),
        "{err}"
    );
    run.stop();
}

#[test]
fn a_plain_spout_admits_its_accounts_only() {
    let port = common::free_ports(26100, 2);
    let yaml = format!(
        "name: plain-edges
spouts:
  - id: in
    className: SocketSpout
    properties:
      - {{name: type, value: pull}}
      - {{name: bind, value: \"tcp://127.0.0.1:{port}\"}}
      - {{name: plainServer, value: true}}
      - {{name: plainUsers, value: [\"feeder:${{ENV-FEEDER_PASSWORD}}\"]}}
    configMethods:
      - {{name: withUserIdField, args: [sender]}}
bolts:
  - id: out
    className: SocketBolt
    configMethods:
      - {{name: withType, args: [push]}}
      - {{name: withConnect, args: [\"tcp://127.0.0.1:{}\"]}}
      - {{name: withPlainUsername, args: [sink]}}
      - {{name: withPlainPassword, args: [\"${{ENV-SINK_PASSWORD}}\"]}}
streams:
  - {{from: in, to: out, grouping: {{type: SHUFFLE}}}}
",
        port + 1
    );
    let run = run(&yaml, &[("FEEDER_PASSWORD", "s3cret"), ("SINK_PASSWORD", "pw")]);

    // libzmq 4.3 (the zmq crate): a PLAIN server as the sink, with a ZAP handler of the test's
    // that admits the bolt's account and records what it was asked.
    let ctx = zmq::Context::new();
    let zap = ctx.socket(zmq::REP).unwrap();
    zap.bind("inproc://zeromq.zap.01").unwrap();
    let zap_thread = std::thread::spawn(move || {
        // [version, request id, domain, address, identity, mechanism, user, password]
        let request = zap.recv_multipart(0).unwrap();
        let text = |i: usize| String::from_utf8_lossy(&request[i]).into_owned();
        let asked = (text(5), text(6), text(7));
        let status: &[u8] =
            if asked == ("PLAIN".into(), "sink".into(), "pw".into()) { b"200" } else { b"400" };
        zap.send_multipart([&b"1.0"[..], &request[1], status, b"", b"", b""], 0).unwrap();
        asked
    });
    let sink = ctx.socket(zmq::PULL).unwrap();
    sink.set_plain_server(true).unwrap();
    sink.set_rcvtimeo(30_000).unwrap();
    sink.bind(&format!("tcp://127.0.0.1:{}", port + 1)).unwrap();
    let client = |user: &str, password: &str, monitor: Option<&str>| {
        let s = ctx.socket(zmq::PUSH).unwrap();
        s.set_linger(0).unwrap();
        s.set_plain_username(Some(user)).unwrap();
        s.set_plain_password(Some(password)).unwrap();
        if let Some(m) = monitor {
            s.monitor(m, zmq::SocketEvent::ALL as i32).unwrap();
        }
        s.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        s
    };
    let monitor = ctx.socket(zmq::PAIR).unwrap();
    monitor.set_rcvtimeo(10_000).unwrap();
    let wrong = client("feeder", "guess", Some("inproc://wrong-monitor"));
    monitor.connect("inproc://wrong-monitor").unwrap();
    let right = client("feeder", "s3cret", None);
    for i in 0..20 {
        wrong.send(format!("wrong {i}").as_bytes(), 0).unwrap();
        right.send(format!("right {i}").as_bytes(), 0).unwrap();
    }
    for i in 0..20 {
        // The tuple's first field is the PLAIN user name the spout's ZAP handler admitted.
        let frames = sink.recv_multipart(0).expect("the admitted account's messages");
        assert_eq!(frames, [b"feeder".to_vec(), format!("right {i}").into_bytes()]);
    }
    sink.set_rcvtimeo(500).unwrap();
    assert!(sink.recv_msg(0).is_err(), "a message of the wrong password came through");
    assert_eq!(zap_thread.join().unwrap(), ("PLAIN".into(), "sink".into(), "pw".into()));
    loop {
        let frames = monitor.recv_multipart(0).expect("a handshake event for the wrong password");
        let event = u16::from_le_bytes([frames[0][0], frames[0][1]]);
        assert_ne!(event, zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16, "the wrong password got in");
        if event == zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as u16 {
            break;
        }
    }
    run.stop();
}

/// A DRPC function "echo" at `endpoint`, a CURVE server with the key `$SPOUT_SECRET` that
/// admits only `$CLIENT_PUBLIC`.
fn curve_echo(endpoint: &str) -> String {
    format!(
        "name: curve-echo
spouts:
  - id: drpc
    className: DRPCSpout
    constructorArgs: [echo]
    properties:
      - {{name: bind, value: \"{endpoint}\"}}
      - {{name: curveServer, value: true}}
      - {{name: curveSecretKey, value: \"${{ENV-SPOUT_SECRET}}\"}}
      - {{name: curveClientKeys, value: [\"${{ENV-CLIENT_PUBLIC}}\"]}}
bolts:
  - {{id: return, className: ReturnResults}}
streams:
  - {{from: drpc, to: return, grouping: {{type: SHUFFLE}}}}
"
    )
}

#[test]
fn a_curve_drpc_spout_answers_curve_clients_only() {
    let port = common::free_ports(26200, 1);
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let (spout_public, spout_secret) = keypair();
    let (client_public, client_secret) = keypair();
    let run =
        run(&curve_echo(&endpoint), &[("SPOUT_SECRET", &spout_secret), ("CLIENT_PUBLIC", &client_public)]);
    let call = |extra: &[&str], timeout: &str| {
        sockflow().args(["drpc", "--timeout", timeout, &endpoint, "echo", "hi"]).args(extra).output().unwrap()
    };
    let admitted = ["--curve-serverkey", spout_public.as_str(), "--curve-secret", client_secret.as_str()];
    let mut out = None;
    assert!(common::eventually(20, || {
        let o = call(&admitted, "2");
        let ok = o.status.success();
        out = Some(o);
        ok
    }));
    assert_eq!(String::from_utf8(out.unwrap().stdout).unwrap(), "hi\n");
    // A fresh key pair (not admitted), and no CURVE at all: no answer.
    for extra in [&["--curve-serverkey", spout_public.as_str()][..], &[]] {
        let o = call(extra, "1");
        assert_eq!(o.status.code(), Some(1), "{extra:?}");
        // (libsock's log before it says the spout refused the handshake: ERROR 400.)
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert!(stderr.ends_with("\nsockflow: drpc echo \"hi\": no answer within 1s\n"), "{stderr}");
    }
    // Flag errors are one line, before anything connects.
    let o = call(&["--plain", "nocolon"], "1");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "sockflow: --plain expects USER:PASS (a colon is missing)\n"
    );
    let o = call(&["--curve-serverkey", "short"], "1");
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.starts_with("sockflow: --curve-serverkey short: a key is 32 bytes"), "{err}");
    run.stop();
}

#[test]
fn a_drpc_router_is_a_curve_server_to_clients_and_a_curve_client_of_spouts() {
    let base = common::free_ports(26300, 2);
    let (front, spout_port) = (format!("tcp://127.0.0.1:{base}"), format!("tcp://127.0.0.1:{}", base + 1));
    let (spout_public, spout_secret) = keypair();
    let (router_public, router_secret) = keypair();
    let (front_public, front_secret) = keypair();
    let (client_public, client_secret) = keypair();
    // The spout admits only the router's key; the router only the client's.
    let topology =
        run(&curve_echo(&spout_port), &[("SPOUT_SECRET", &spout_secret), ("CLIENT_PUBLIC", &router_public)]);
    let router = sockflow()
        .args(["drpc-server", "--bind", &front, "--function", &format!("echo={spout_port}")])
        .args(["--frontend-curve-server", &front_secret, "--frontend-curve-client", &client_public])
        .args(["--backend-curve-serverkey", &spout_public, "--backend-curve-secret", &router_secret])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let router = common::KillOnDrop(router);
    let call = |extra: &[&str], timeout: &str| {
        sockflow()
            .args(["drpc", "--timeout", timeout, &front, "echo", "through"])
            .args(extra)
            .output()
            .unwrap()
    };
    let admitted = ["--curve-serverkey", front_public.as_str(), "--curve-secret", client_secret.as_str()];
    assert!(common::eventually(20, || call(&admitted, "2").status.success()), "no answer through the router");
    assert_eq!(String::from_utf8(call(&admitted, "5").stdout).unwrap(), "through\n");
    // Another client key, or none: no answer.
    for extra in [&["--curve-serverkey", front_public.as_str()][..], &[]] {
        assert_eq!(call(extra, "1").status.code(), Some(1), "{extra:?}");
    }
    // Bad flags are one line, exit 1.
    let o = sockflow()
        .args(["drpc-server", "--bind", &front, "--function", "echo=tcp://127.0.0.1:1"])
        .args(["--frontend-plain-user", "nocolon"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "sockflow: --frontend-plain-user expects USER:PASS (a colon is missing)\n"
    );
    drop(router);
    topology.stop();
}

#[test]
fn a_wss_spout_and_bolt_with_pem_files_beside_the_topology_file() {
    // The spout serves libsock's test chain; the bolt trusts libzmq's self-signed test
    // certificate pinned, under its name; sockflow runs from elsewhere.
    let wss = |name: &str| format!("{}/../libsock/tests/data/wss/{name}", env!("CARGO_MANIFEST_DIR"));
    let pem = |name: &str| std::fs::read(wss(name)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    for name in ["server_chain.pem", "server.key", "selfsigned.pem"] {
        std::fs::copy(wss(name), dir.path().join("tls").join(name)).unwrap();
    }
    let ctx = libsock::Context::new();
    let sink = ctx.socket(libsock::PULL).unwrap();
    sink.set_linger(0).unwrap();
    sink.set_rcvtimeo(30_000).unwrap();
    sink.set_wss_cert_pem(&pem("selfsigned.pem")).unwrap();
    sink.set_wss_key_pem(&pem("selfsigned.key")).unwrap();
    sink.bind("wss://127.0.0.1:*/out").unwrap();
    let sink_at = sink.get_last_endpoint().unwrap();
    let port = common::free_ports(26000, 1);
    let yaml = format!(
        "name: wss-edges
spouts:
  - id: in
    className: SocketSpout
    properties:
      - {{name: type, value: pull}}
      - {{name: bind, value: \"wss://127.0.0.1:{port}/in\"}}
      - {{name: wssCert, value: tls/server_chain.pem}}
      - {{name: wssKey, value: tls/server.key}}
bolts:
  - id: out
    className: SocketBolt
    properties:
      - {{name: type, value: push}}
      - {{name: connect, value: \"{sink_at}\"}}
      - {{name: wssTrust, value: tls/selfsigned.pem}}
      - {{name: wssHostname, value: zeromq.org}}
streams:
  - {{from: in, to: out, grouping: {{type: SHUFFLE}}}}
"
    );
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let child = sockflow()
        .args(["run", file.to_str().unwrap(), "--print-every", "0"])
        .current_dir("/")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let run = Run { process: common::KillOnDrop(child), dir };
    let push = ctx.socket(libsock::PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.set_wss_trust_pem(&pem("ca.pem")).unwrap();
    push.connect(&format!("wss://localhost:{port}/in")).unwrap();
    for i in 0..10 {
        push.send(format!("m {i}"), 0).unwrap();
    }
    let mut got: Vec<String> = (0..10)
        .map(|_| {
            let m = sink.recv_bytes(0).unwrap_or_else(|e| {
                let log = std::fs::read_to_string(run.dir.path().join("log")).unwrap_or_default();
                panic!("{e}: {log}")
            });
            String::from_utf8(m).unwrap()
        })
        .collect();
    got.sort();
    assert_eq!(got, (0..10).map(|i| format!("m {i}")).collect::<Vec<_>>());
    run.stop();
}
