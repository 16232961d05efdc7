//! sockcat over `wss://` end to end with libsock's test certificates: two sockcats with a
//! chain from a trusted authority (checked by name), a self-signed certificate trusted pinned
//! under `--wss-hostname`, a libsock listener; an untrusted server is never sent to; a PEM
//! file that is missing or holds the wrong thing, or a wss:// endpoint without its flags, is
//! one line naming it (exit 1), and a certificate without its key a usage error (exit 2).

mod common;

use std::process::Output;

use common::{free_port, sockcat, spawn};
use libsock::Context;

const SAFETY_TIMEOUT: &str = "10000";

/// A file of libsock's wss test certificates (`libsock/tests/data/wss/README.md`).
fn pem(name: &str) -> String {
    format!("{}/../libsock/tests/data/wss/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A sockcat pull serving `wss://127.0.0.1:PORT/lines` with `cert` and `key` for `count`
/// messages, and the port.
fn wss_pull(cert: &str, key: &str, count: &str) -> (std::process::Child, u16) {
    let port = free_port();
    let ep = format!("wss://127.0.0.1:{port}/lines");
    let (cert, key) = (pem(cert), pem(key));
    let args = ["pull", "--bind", &ep, "--wss-cert", &cert, "--wss-key", &key, "--count", count];
    let pull = spawn(&[&args[..], &["--timeout", SAFETY_TIMEOUT]].concat());
    (pull, port)
}

#[test]
fn push_to_pull_over_wss_checked_by_name() {
    let (pull, port) = wss_pull("server_chain.pem", "server.key", "2");
    let to = format!("wss://localhost:{port}/lines");
    let push = sockcat(
        &["push", "--connect", &to, "--wss-trust", &pem("ca.pem"), "--timeout", SAFETY_TIMEOUT],
        b"one\na\tb\n",
    );
    assert!(push.status.success(), "{}", stderr(&push));
    let out = pull.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"one\na\tb\n");
}

#[test]
fn a_self_signed_certificate_pinned_under_a_hostname() {
    // libzmq's own wss test: CN=zeromq.org, no subjectAltName, trusted as it is.
    let (pull, port) = wss_pull("selfsigned.pem", "selfsigned.key", "1");
    let to = format!("wss://127.0.0.1:{port}/lines");
    let trust = pem("selfsigned.pem");
    let args = [
        "push",
        "--connect",
        &to,
        "--wss-trust",
        &trust,
        "--wss-hostname",
        "zeromq.org",
        "--timeout",
        SAFETY_TIMEOUT,
    ];
    let push = sockcat(&args, b"pinned\n");
    assert!(push.status.success(), "{}", stderr(&push));
    assert_eq!(pull.wait_with_output().unwrap().stdout, b"pinned\n");
}

#[test]
fn sockcat_req_to_a_libsock_wss_rep_and_an_untrusted_server_gets_nothing() {
    let ctx = Context::new();
    let rep = ctx.socket(libsock::REP).unwrap();
    rep.set_linger(0).unwrap();
    rep.set_rcvtimeo(10_000).unwrap();
    rep.set_wss_cert_pem(&std::fs::read(pem("server_chain.pem")).unwrap()).unwrap();
    rep.set_wss_key_pem(&std::fs::read(pem("server.key")).unwrap()).unwrap();
    rep.bind("wss://127.0.0.1:*/rpc").unwrap();
    let ep = rep.get_last_endpoint().unwrap();

    // A client trusting another authority never gets its request through: exit 3.
    let untrusted =
        sockcat(&["push", "--connect", &ep, "--wss-trust", &pem("other_ca.pem"), "--timeout", "500"], b"x\n");
    assert_eq!(untrusted.status.code(), Some(3), "{}", stderr(&untrusted));

    let server = std::thread::spawn(move || {
        let got = rep.recv_bytes(0).unwrap();
        rep.send([b"re:", &got[..]].concat(), 0).unwrap();
        got
    });
    let req = sockcat(
        &["req", "--connect", &ep, "--wss-trust", &pem("ca.pem"), "--timeout", SAFETY_TIMEOUT],
        b"ping\n",
    );
    assert!(req.status.success(), "{}", stderr(&req));
    assert_eq!(req.stdout, b"re:ping\n");
    assert_eq!(server.join().unwrap(), b"ping");
}

#[test]
fn a_missing_or_wrong_pem_file_is_one_line_naming_it() {
    let ep = format!("wss://127.0.0.1:{}/x", free_port());
    let missing = format!("{}/no-such.pem", env!("CARGO_TARGET_TMPDIR"));
    let (cert, key) = (pem("server_chain.pem"), pem("server.key"));
    for (flags, says) in [
        (vec!["--bind", &ep, "--wss-cert", &missing, "--wss-key", &key], "--wss-cert ".to_owned() + &missing),
        (vec!["--bind", &ep, "--wss-cert", &cert, "--wss-key", &missing], format!("--wss-key {missing}")),
        (
            vec!["--bind", &ep, "--wss-cert", &key, "--wss-key", &key],
            format!("--wss-cert {key}: no PEM certificate"),
        ),
        (
            vec!["--bind", &ep, "--wss-cert", &cert, "--wss-key", &cert],
            format!("--wss-key {cert}: no PEM private key"),
        ),
        (vec!["--connect", &ep, "--wss-trust", &missing], format!("--wss-trust {missing}: cannot read it: ")),
    ] {
        let mut args = vec!["pull"];
        args.extend(flags);
        args.extend(["--timeout", "100"]);
        let out = sockcat(&args, b"");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("sockcat: {says}")), "{args:?}: {err}");
    }
    let out = sockcat(&["pull", "--bind", &ep, "--wss-cert", &cert], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--wss-cert and --wss-key go together"), "{}", stderr(&out));
    let out = sockcat(&["pull", "--connect", &ep], b"");
    assert_eq!(out.status.code(), Some(1));
    let want = format!(
        "sockcat: invalid endpoint {ep:?}: a wss:// connect needs --wss-trust FILE or --wss-trust-system\n"
    );
    assert_eq!(stderr(&out), want);
}

#[test]
fn help_shows_the_wss_flags() {
    let out = sockcat(&["--help"], b"");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--wss-cert <FILE>",
        "--wss-key <FILE>",
        "--wss-trust <FILE>",
        "--wss-hostname <NAME>",
        "--wss-trust-system",
    ] {
        assert!(help.contains(flag), "missing {flag:?} in:\n{help}");
    }
}

/// A certificate renewed on disk while sockcat listens (renamed over, as certbot and
/// Kubernetes secret volumes do) is served to the next client, without a restart or signal.
#[test]
fn a_renewed_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let install = |c: &str, k: &str| {
        std::fs::copy(pem(c), dir.path().join("new.crt")).unwrap();
        std::fs::copy(pem(k), dir.path().join("new.key")).unwrap();
        std::fs::rename(dir.path().join("new.crt"), &cert).unwrap();
        std::fs::rename(dir.path().join("new.key"), &key).unwrap();
    };
    install("server_chain.pem", "server.key");
    let port = free_port();
    let ep = format!("wss://127.0.0.1:{port}/lines");
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let pull = spawn(&[
        "pull",
        "--bind",
        &ep,
        "--wss-cert",
        c,
        "--wss-key",
        k,
        "--count",
        "2",
        "--timeout",
        SAFETY_TIMEOUT,
    ]);
    let to = format!("wss://localhost:{port}/lines");
    let push = sockcat(
        &["push", "--connect", &to, "--wss-trust", &pem("ca.pem"), "--timeout", SAFETY_TIMEOUT],
        b"first\n",
    );
    assert!(push.status.success(), "{}", stderr(&push));

    install("selfsigned.pem", "selfsigned.key");
    // Followed within 100 ms; a client of the old certificate's authority is now refused.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let old = sockcat(&["push", "--connect", &to, "--wss-trust", &pem("ca.pem"), "--timeout", "500"], b"x\n");
    assert_eq!(old.status.code(), Some(3), "{}", stderr(&old));
    let trust = pem("selfsigned.pem");
    let args = [
        "push",
        "--connect",
        &to,
        "--wss-trust",
        &trust,
        "--wss-hostname",
        "zeromq.org",
        "--timeout",
        SAFETY_TIMEOUT,
    ];
    let push = sockcat(&args, b"second\n");
    assert!(push.status.success(), "{}", stderr(&push));
    let out = pull.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"first\nsecond\n");
}
