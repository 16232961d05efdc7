//! `sockdev` with security per side: a queue whose frontend is a CURVE server and whose
//! backend is a PLAIN server, with libsock and pyzmq (libzmq 4.3.5 + libsodium) CURVE clients;
//! a client with the wrong server key and a worker with the wrong password are refused while
//! the others are served. Bad combinations are usage errors (exit 2). A queue over `wss://`
//! on both sides, with libsock's test certificates.
//!
//! Nothing here may hang: the relay is killed when its guard drops, every socket has
//! timeouts.

mod common;

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use libsock::{curve_keypair, Context, Socket, SocketEvent, SocketType, DONTWAIT, EVENT_ALL};

const TIMEOUT_MS: i32 = 10_000;

/// The relay; killed on drop, its stderr returned by [`Relay::stop`].
struct Relay(Child);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Relay {
    fn start(args: &[&str]) -> Relay {
        let child = Command::new(env!("CARGO_BIN_EXE_sockdev"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start sockdev");
        Relay(child)
    }

    /// SIGTERM, then the exit code and everything it logged.
    fn stop(mut self) -> (i32, String) {
        let ok = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status().unwrap();
        assert!(ok.success());
        let mut err = String::new();
        let _ = self.0.stderr.take().unwrap().read_to_string(&mut err);
        let status = self.0.wait().unwrap();
        (status.code().unwrap_or(-1), err)
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockdev")).args(args).stdin(Stdio::null()).output().unwrap()
}

/// A tcp endpoint on a port that was free a moment ago.
fn tcp() -> String {
    common::free_tcp_endpoint()
}

fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s
}

/// A libsock CURVE REQ client of the server with public key `server`.
fn curve_client(ctx: &Context, ep: &str, server: &str) -> Socket {
    let (public, secret) = curve_keypair();
    let s = socket(ctx, libsock::REQ);
    s.set_curve_serverkey(server.as_bytes()).unwrap();
    s.set_curve_publickey(public.as_bytes()).unwrap();
    s.set_curve_secretkey(secret.as_bytes()).unwrap();
    s.connect(ep).unwrap();
    s
}

/// A PLAIN REP worker logging in as `user:pass`, echoing with a `w:` prefix until `stop`.
fn worker(ctx: &Context, ep: &str, user: &str, pass: &str, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    let rep = socket(ctx, libsock::REP);
    rep.set_rcvtimeo(50).unwrap();
    rep.set_plain_username(user.as_bytes()).unwrap();
    rep.set_plain_password(pass.as_bytes()).unwrap();
    rep.connect(ep).unwrap();
    thread::spawn(move || {
        let mut served = 0;
        while !stop.load(Ordering::Relaxed) {
            if let Ok(req) = rep.recv_bytes(0) {
                rep.send([b"w:", &req[..]].concat(), 0).unwrap();
                served += 1;
            }
        }
        served
    })
}

/// Whether the monitor reports `want` within the timeout.
fn saw(mon: &libsock::Monitor, want: SocketEvent) -> bool {
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS as u64);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match mon.recv_event(left.as_millis().max(1) as i32) {
            Ok(ev) if ev.event == want => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

fn pyzmq_curve() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import zmq, sys; sys.exit(0 if zmq.has('curve') else 1)"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED (pyzmq part): python3 with pyzmq (CURVE) is not installed");
    }
    ok
}

/// One request from a pyzmq CURVE REQ client (a fresh key pair); prints the reply.
const PY_CLIENT: &str = r#"
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.linger = 0
s.rcvtimeo = 10000
pub, sec = zmq.curve_keypair()
s.curve_serverkey = sys.argv[2].encode()
s.curve_publickey = pub
s.curve_secretkey = sec
s.connect(sys.argv[1])
s.send(b"from pyzmq")
print(s.recv().decode())
"#;

#[test]
fn curve_frontend_plain_backend_queue_refuses_wrong_keys_and_passwords() {
    let (public, secret) = curve_keypair();
    let (front, back) = (tcp(), tcp());
    let relay = Relay::start(&[
        "queue",
        "--frontend-bind",
        &front,
        "--frontend-curve-server",
        &secret,
        "--backend-bind",
        &back,
        "--backend-plain-server",
        "--backend-plain-user",
        "worker:pw",
        "--backend-plain-user",
        "other:pw2",
    ]);
    let ctx = Context::new();
    let stop = Arc::new(AtomicBool::new(false));
    let good = worker(&ctx, &back, "worker", "pw", stop.clone());

    // A worker with the wrong password is refused by the relay's authenticator.
    let bad_worker = socket(&ctx, libsock::REP);
    bad_worker.set_plain_username(b"worker").unwrap();
    bad_worker.set_plain_password(b"wrong").unwrap();
    let mon = bad_worker.monitor_events(EVENT_ALL).unwrap();
    bad_worker.connect(&back).unwrap();
    assert!(saw(&mon, SocketEvent::HandshakeFailedAuth), "the wrong password was not refused");

    // A client with the wrong server key never gets through.
    let (not_the_server, _) = curve_keypair();
    let wrong = curve_client(&ctx, &front, &not_the_server);
    wrong.set_rcvtimeo(1000).unwrap();
    wrong.send("must not arrive", 0).unwrap();

    // Clients with the right key are served, libsock's and libzmq's.
    let client = curve_client(&ctx, &front, &public);
    for i in 0..5 {
        client.send(format!("req {i}"), 0).unwrap();
        assert_eq!(client.recv_bytes(0).unwrap(), format!("w:req {i}").into_bytes());
    }
    if pyzmq_curve() {
        let out = Command::new("python3").args(["-c", PY_CLIENT, &front, &public]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "w:from pyzmq");
    }
    assert!(wrong.recv_bytes(0).is_err(), "a client with the wrong server key got a reply");

    stop.store(true, Ordering::Relaxed);
    let served = good.join().unwrap();
    assert!(served >= 5, "served {served}");
    let (code, err) = relay.stop();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("CURVE server"), "{err}");
    assert!(err.contains("handshake failed"), "refusals are logged: {err}");
}

#[test]
fn security_from_the_config_file() {
    let (public, secret) = curve_keypair();
    let (front, back) = (tcp(), tcp());
    let dir = std::env::temp_dir().join(format!("sockdev-sec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("relay.toml");
    std::fs::write(
        &path,
        format!(
            "device = \"queue\"\nfrontend-bind = [\"{front}\"]\nbackend-bind = [\"{back}\"]\n\
             frontend-plain-server = true\nfrontend-plain-user = [\"alice:secret\"]\n\
             backend-curve-server = \"{secret}\"\n"
        ),
    )
    .unwrap();
    let relay = Relay::start(&["--config", path.to_str().unwrap()]);
    let ctx = Context::new();
    // The worker is a CURVE client of the backend; the client logs in with PLAIN.
    let rep = curve_client_rep(&ctx, &back, &public);
    let req = socket(&ctx, libsock::REQ);
    req.set_plain_username(b"alice").unwrap();
    req.set_plain_password(b"secret").unwrap();
    req.connect(&front).unwrap();
    req.send("hi", 0).unwrap();
    let got = rep.recv_msg(0).unwrap();
    assert_eq!(&*got, b"hi");
    rep.send("back", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"back");
    let (code, err) = relay.stop();
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_curve_frontend_with_client_keys_admits_only_those() {
    let (public, secret) = curve_keypair();
    let (client_public, client_secret) = curve_keypair();
    let (front, back) = (tcp(), tcp());
    let dir = std::env::temp_dir().join(format!("sockdev-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("relay.toml");
    std::fs::write(
        &path,
        format!(
            "device = \"queue\"\nfrontend-bind = [\"{front}\"]\nbackend-bind = [\"{back}\"]\n\
             frontend-curve-server = \"{secret}\"\nfrontend-curve-client = [\"{client_public}\"]\n"
        ),
    )
    .unwrap();
    let relay = Relay::start(&["--config", path.to_str().unwrap()]);
    let ctx = Context::new();
    let stop = Arc::new(AtomicBool::new(false));
    let rep = socket(&ctx, libsock::REP);
    rep.set_rcvtimeo(200).unwrap();
    rep.connect(&back).unwrap();
    let echoing = stop.clone();
    let echo = std::thread::spawn(move || {
        while !echoing.load(Ordering::Relaxed) {
            if let Ok(m) = rep.recv_bytes(0) {
                rep.send(m, 0).unwrap();
            }
        }
    });

    // A client with another key pair (knowing the server's public key) is refused.
    let (stranger_public, stranger_secret) = curve_keypair();
    let stranger = socket(&ctx, libsock::REQ);
    stranger.set_curve_serverkey(public.as_bytes()).unwrap();
    stranger.set_curve_publickey(stranger_public.as_bytes()).unwrap();
    stranger.set_curve_secretkey(stranger_secret.as_bytes()).unwrap();
    let mon = stranger.monitor_events(EVENT_ALL).unwrap();
    stranger.connect(&front).unwrap();
    stranger.send("stranger", 0).unwrap();
    assert!(saw(&mon, SocketEvent::HandshakeFailedAuth), "the stranger was not refused");
    if pyzmq_curve() {
        // pyzmq with a fresh key pair gets no reply either.
        let out = Command::new("python3").args(["-c", PY_CLIENT, &front, &public]).output().unwrap();
        assert!(
            !out.status.success(),
            "a pyzmq stranger got a reply: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The listed key is served.
    let listed = socket(&ctx, libsock::REQ);
    listed.set_curve_serverkey(public.as_bytes()).unwrap();
    listed.set_curve_publickey(client_public.as_bytes()).unwrap();
    listed.set_curve_secretkey(client_secret.as_bytes()).unwrap();
    listed.connect(&front).unwrap();
    listed.send("listed", 0).unwrap();
    assert_eq!(listed.recv_bytes(0).unwrap(), b"listed");
    assert!(stranger.recv_bytes(DONTWAIT).is_err());

    stop.store(true, Ordering::Relaxed);
    echo.join().unwrap();
    let (code, err) = relay.stop();
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn curve_client_rep(ctx: &Context, ep: &str, server: &str) -> Socket {
    let (public, secret) = curve_keypair();
    let s = socket(ctx, libsock::REP);
    s.set_curve_serverkey(server.as_bytes()).unwrap();
    s.set_curve_publickey(public.as_bytes()).unwrap();
    s.set_curve_secretkey(secret.as_bytes()).unwrap();
    s.connect(ep).unwrap();
    s
}

#[test]
fn bad_combinations_are_usage_errors() {
    let (public, secret) = curve_keypair();
    let base = ["queue", "--frontend-bind", "tcp://127.0.0.1:1", "--backend-bind", "tcp://127.0.0.1:2"];
    let cases: [(&[&str], &str); 9] = [
        (
            &["--frontend-curve-server", &secret, "--frontend-plain", "u:p"],
            "--frontend-curve-server and --frontend-plain",
        ),
        (&["--backend-plain-server"], "--backend-plain-server and --backend-plain-user"),
        (&["--frontend-curve-secret", &secret], "needs --frontend-curve-serverkey"),
        (&["--backend-curve-server", "short"], "--backend-curve-server short: not a Z85 secret key"),
        (
            &[
                "--frontend-plain-server",
                "--frontend-plain-user",
                "a:b",
                "--backend-plain-server",
                "--backend-plain-user",
                "c:d",
            ],
            "only one side can check its peers",
        ),
        (
            &[
                "--frontend-curve-server",
                &secret,
                "--frontend-curve-client",
                &public,
                "--backend-plain-server",
                "--backend-plain-user",
                "c:d",
            ],
            "only one side can check its peers",
        ),
        (&["--backend-curve-client", &public], "--backend-curve-client needs --backend-curve-server"),
        (
            &[
                "--frontend-curve-server",
                &secret,
                "--frontend-curve-client",
                &public,
                "--backend-curve-server",
                &secret,
            ],
            "cannot share the relay's one ZAP handler",
        ),
        (
            &["--frontend-curve-server", &secret, "--frontend-curve-client", "short"],
            "--frontend-curve-client short: ",
        ),
    ];
    for (extra, want) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
    }
}

/// Whether the monitored socket's next handshake outcome is success (false: refused).
fn handshake_admitted(mon: &libsock::Monitor) -> bool {
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS as u64);
    loop {
        match mon.recv_event(100) {
            Ok(ev) if ev.event == SocketEvent::HandshakeFailedAuth => return false,
            Ok(ev) if ev.event == SocketEvent::HandshakeSucceeded => return true,
            _ => assert!(Instant::now() < deadline, "no handshake outcome"),
        }
    }
}

/// A REQ with its own certificate's key pair, connected to the relay's CURVE frontend.
fn client_with(ctx: &Context, ep: &str, server: &str, cert: &std::path::Path) -> (Socket, libsock::Monitor) {
    let (public, secret) = libsock::load_certificate(cert).unwrap();
    let s = socket(ctx, libsock::REQ);
    s.set_curve_serverkey(server.as_bytes()).unwrap();
    s.set_curve_publickey(public.as_bytes()).unwrap();
    s.set_curve_secretkey(secret.unwrap().as_bytes()).unwrap();
    let mon = s.monitor_events(EVENT_ALL).unwrap();
    s.connect(ep).unwrap();
    (s, mon)
}

#[test]
fn a_client_certificate_directory_is_followed_and_sighup_reads_the_list_again() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server_cert) = libsock::create_certificates(dir.path(), "relay").unwrap();
    let server = libsock::load_certificate(&server_cert).unwrap().0;
    let clients = dir.path().join("clients");
    std::fs::create_dir(&clients).unwrap();
    let (alice_public, alice) = libsock::create_certificates(&clients, "alice").unwrap();
    // Bob's pair is made outside the directory: not admitted yet.
    let (bob_public, bob) = libsock::create_certificates(dir.path(), "bob").unwrap();
    let (front, back) = (tcp(), tcp());
    let relay = Relay::start(&[
        "queue",
        "--frontend-bind",
        &front,
        "--backend-bind",
        &back,
        "--frontend-curve-server",
        server_cert.to_str().unwrap(),
        "--frontend-curve-client",
        clients.to_str().unwrap(),
    ]);
    let ctx = Context::new();
    let stop = Arc::new(AtomicBool::new(false));
    let rep = socket(&ctx, libsock::REP);
    rep.set_rcvtimeo(200).unwrap();
    rep.connect(&back).unwrap();
    let echoing = stop.clone();
    let echo = thread::spawn(move || {
        while !echoing.load(Ordering::Relaxed) {
            if let Ok(m) = rep.recv_bytes(0) {
                rep.send(m, 0).unwrap();
            }
        }
    });
    let served = |cert: &std::path::Path| {
        let (s, mon) = client_with(&ctx, &front, &server, cert);
        // Refused before this thread sends (a loaded host), the connection and its pipe are
        // gone and the send times out: the handshake's outcome decides. Soon: a refusal
        // that cost the whole TIMEOUT_MS would leave `eventually` a single try.
        s.set_sndtimeo(500).unwrap();
        let sent = s.send("hi", 0);
        if !handshake_admitted(&mon) {
            return false;
        }
        sent.unwrap();
        assert_eq!(s.recv_bytes(0).unwrap(), b"hi");
        true
    };
    let hup = || {
        let ok = Command::new("kill").arg("-HUP").arg(relay.0.id().to_string()).status().unwrap();
        assert!(ok.success());
        // The reload is logged once done; give the signal thread a moment.
        thread::sleep(Duration::from_millis(300));
    };
    assert!(served(&alice));
    assert!(!served(&bob), "bob was admitted before his certificate was added");
    let eventually = |who: &std::path::Path, admitted: bool, what: &str| {
        // (The handler looks at the directory at most every 100 ms; under load, later.)
        let deadline = Instant::now() + Duration::from_secs(10);
        while served(who) != admitted {
            assert!(Instant::now() < deadline, "{what}");
        }
    };

    // Bob's certificate joins the directory, Alice's leaves it: the relay follows without
    // being told, as czmq's zauth follows its certificate store.
    std::fs::rename(&bob_public, clients.join("bob.key")).unwrap();
    std::fs::remove_file(&alice_public).unwrap();
    eventually(&bob, true, "bob is still refused after his certificate was added");
    assert!(!served(&alice), "alice is still admitted after her certificate was removed");

    // SIGHUP reads the list again (here the same directory) and keeps following it.
    hup();
    assert!(served(&bob));
    assert!(!served(&alice));

    // A directory emptied admits nobody: the last certificate removed is a revocation too.
    // (A reload then refuses it as it refuses one at the start, and says why.)
    std::fs::remove_file(clients.join("bob.key")).unwrap();
    eventually(&bob, false, "bob is still admitted after the last certificate was removed");
    hup();
    assert!(!served(&bob));

    stop.store(true, Ordering::Relaxed);
    echo.join().unwrap();
    let (code, err) = relay.stop();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("SIGHUP: client keys reloaded"), "{err}");
    assert!(err.contains("kept") || err.contains("not reloaded"), "{err}");
}

#[test]
fn sighup_reloads_the_plain_accounts_of_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let (front, back) = (tcp(), tcp());
    let config = dir.path().join("relay.toml");
    let write = |users: &str| {
        std::fs::write(
            &config,
            format!(
                "device = \"queue\"\nfrontend-bind = [\"{front}\"]\nbackend-bind = [\"{back}\"]\n\
                 backend-plain-server = true\nbackend-plain-user = [{users}]\n"
            ),
        )
        .unwrap()
    };
    write("\"old:pw\"");
    let relay = Relay::start(&["--config", config.to_str().unwrap()]);
    let ctx = Context::new();
    // A worker's handshake outcome, as its monitor reports it.
    let admitted = |user: &str| {
        let rep = socket(&ctx, libsock::REP);
        rep.set_plain_username(user.as_bytes()).unwrap();
        rep.set_plain_password(b"pw").unwrap();
        let mon = rep.monitor_events(EVENT_ALL).unwrap();
        rep.connect(&back).unwrap();
        handshake_admitted(&mon)
    };
    assert!(admitted("old"));
    assert!(!admitted("new"));
    write("\"new:pw\"");
    let ok = Command::new("kill").arg("-HUP").arg(relay.0.id().to_string()).status().unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !admitted("new") {
        assert!(Instant::now() < deadline, "the new account is still refused after SIGHUP");
    }
    assert!(!admitted("old"), "the removed account is still admitted");
    // A broken file is reported and changes nothing.
    std::fs::write(&config, "device = \"queue\"\nbackend-plain-user = [\n").unwrap();
    let ok = Command::new("kill").arg("-HUP").arg(relay.0.id().to_string()).status().unwrap();
    assert!(ok.success());
    thread::sleep(Duration::from_millis(300));
    assert!(admitted("new"));
    let (code, err) = relay.stop();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("SIGHUP: PLAIN accounts reloaded"), "{err}");
    assert!(err.contains("SIGHUP: the settings were not reloaded") && err.contains("relay.toml:"), "{err}");
}

/// A file of libsock's wss test certificates (`libsock/tests/data/wss/README.md`).
fn pem(name: &str) -> String {
    format!("{}/../libsock/tests/data/wss/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_queue_over_wss_on_both_sides() {
    // The worker serves wss:// with libzmq's self-signed test certificate; the relay's backend
    // trusts it pinned, under its name. The relay's frontend serves a chain from the test
    // authority, which the client trusts.
    let ctx = Context::new();
    let rep = socket(&ctx, libsock::REP);
    rep.set_wss_cert_pem(&std::fs::read(pem("selfsigned.pem")).unwrap()).unwrap();
    rep.set_wss_key_pem(&std::fs::read(pem("selfsigned.key")).unwrap()).unwrap();
    rep.bind("wss://127.0.0.1:*/work").unwrap();
    let back = rep.get_last_endpoint().unwrap();
    let front = tcp().replace("tcp://", "wss://") + "/clients";
    let relay = Relay::start(&[
        "queue",
        "--frontend-bind",
        &front,
        "--frontend-wss-cert",
        &pem("server_chain.pem"),
        "--frontend-wss-key",
        &pem("server.key"),
        "--backend-connect",
        &back,
        "--backend-wss-trust",
        &pem("selfsigned.pem"),
        "--backend-wss-hostname",
        "zeromq.org",
    ]);
    let req = socket(&ctx, libsock::REQ);
    req.set_wss_trust_pem(&std::fs::read(pem("ca.pem")).unwrap()).unwrap();
    req.connect(&front.replace("127.0.0.1", "localhost")).unwrap();
    for i in 0..3 {
        req.send(format!("req {i}"), 0).unwrap();
        let got = rep.recv_bytes(0).unwrap();
        rep.send([b"w:", &got[..]].concat(), 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), format!("w:req {i}").into_bytes());
    }
    let (code, err) = relay.stop();
    assert_eq!(code, 0, "{err}");
}

/// `--backend-wss-trust` is followed: the operator adds the worker's new certificate to the
/// bundle, the worker comes back with it, and the running relay's reconnection trusts it.
#[test]
fn a_renewed_trust_bundle_is_used_without_a_restart() {
    let ctx = Context::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("trust.pem");
    let install = |names: &[&str]| {
        let pem: Vec<u8> = names.iter().flat_map(|n| std::fs::read(pem(n)).unwrap()).collect();
        std::fs::write(dir.path().join("new.pem"), pem).unwrap();
        std::fs::rename(dir.path().join("new.pem"), &bundle).unwrap();
    };
    install(&["ca.pem"]);
    let worker = |cert: &str, key: &str, at: &str| {
        let rep = socket(&ctx, libsock::REP);
        rep.set_wss_cert_pem(&std::fs::read(pem(cert)).unwrap()).unwrap();
        rep.set_wss_key_pem(&std::fs::read(pem(key)).unwrap()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while let Err(e) = rep.bind(at) {
            assert!(std::time::Instant::now() < deadline, "{at} never free again: {e}");
            std::thread::sleep(Duration::from_millis(20));
        }
        rep
    };
    let first = worker("server_chain.pem", "server.key", "wss://127.0.0.1:*/work");
    let back = first.get_last_endpoint().unwrap();
    let front = tcp();
    let relay = Relay::start(&[
        "queue",
        "--frontend-bind",
        &front,
        "--backend-connect",
        &back.replace("127.0.0.1", "localhost"),
        "--backend-wss-trust",
        bundle.to_str().unwrap(),
    ]);
    let req = socket(&ctx, libsock::REQ);
    req.connect(&front).unwrap();
    let round_trip = |rep: &Socket, body: &str| {
        req.send(body, 0).unwrap();
        assert_eq!(rep.recv_bytes(0).unwrap(), body.as_bytes());
        rep.send(body, 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), body.as_bytes());
    };
    round_trip(&first, "before");
    install(&["ca.pem", "selfsigned.pem"]);
    // The relay looks at the file at most every 100 ms, as handshakes ask.
    std::thread::sleep(Duration::from_millis(150));
    drop(first);
    let second = worker("selfsigned.pem", "selfsigned.key", &back);
    round_trip(&second, "after");
    let (code, err) = relay.stop();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_missing_wss_file_is_one_line_naming_it() {
    let front = tcp().replace("tcp://", "wss://") + "/x";
    let missing = format!("{}/no-such-chain.pem", env!("CARGO_TARGET_TMPDIR"));
    let out = run(&[
        "queue",
        "--frontend-bind",
        &front,
        "--frontend-wss-cert",
        &missing,
        "--frontend-wss-key",
        &pem("server.key"),
        "--backend-bind",
        &tcp(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.starts_with("sockdev: ")).unwrap_or_default();
    assert!(line.starts_with(&format!("sockdev: --frontend-wss-cert {missing}: cannot read it: ")), "{err}");
    // A wss:// bind without its certificate: a bad endpoint, naming the side's flags.
    let out = run(&["queue", "--frontend-bind", &front, "--backend-bind", &tcp()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("needs --frontend-wss-cert FILE and --frontend-wss-key FILE"));
}
