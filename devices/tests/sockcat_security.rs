//! sockcat's security flags end to end: `keygen`, CURVE server and client, PLAIN server with
//! its user list refusing others, PLAIN client; bad values are usage errors (exit 2).

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::free_tcp_endpoint;
use libsock::{curve_keypair, curve_public, Context};

fn sockcat(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockcat"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_sockcat"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn keygen_prints_public_and_secret_lines() {
    let out = sockcat(&["keygen"], b"");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let public = lines[0].strip_prefix("public: ").unwrap();
    let secret = lines[1].strip_prefix("secret: ").unwrap();
    assert_eq!(curve_public(secret).unwrap(), public);
    assert_eq!(sockcat(&["keygen", "extra"], b"").status.code(), Some(2));
}

#[test]
fn curve_server_and_client() {
    let (public, secret) = curve_keypair();
    let ep = free_tcp_endpoint();
    let pull =
        spawn(&["pull", "--bind", &ep, "--curve-server", &secret, "--count", "2", "--timeout", "10000"]);
    let push = sockcat(
        &["push", "--connect", &ep, "--curve-serverkey", &public, "--timeout", "10000"],
        b"one\nt\two\n",
    );
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
    let out = pull.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"one\nt\two\n");
    // A client with its own fixed key pair works too.
    let (_, client_secret) = curve_keypair();
    let pull =
        spawn(&["pull", "--bind", &ep, "--curve-server", &secret, "--count", "1", "--timeout", "10000"]);
    let args = [
        "push",
        "--connect",
        &ep,
        "--curve-serverkey",
        &public,
        "--curve-secret",
        &client_secret,
        "--timeout",
        "10000",
    ];
    assert!(sockcat(&args, b"fixed\n").status.success());
    assert_eq!(pull.wait_with_output().unwrap().stdout, b"fixed\n");
}

#[test]
fn curve_server_with_client_keys_admits_only_those() {
    let (public, secret) = curve_keypair();
    let (client_public, client_secret) = curve_keypair();
    let ep = free_tcp_endpoint();
    let pull = spawn(&[
        "pull",
        "--bind",
        &ep,
        "--curve-server",
        &secret,
        "--curve-client",
        &client_public,
        "--count",
        "1",
        "--timeout",
        "10000",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    // A client that knows the server's key but holds another key pair is refused.
    let ctx = Context::new();
    let (stranger_public, stranger_secret) = curve_keypair();
    let stranger = ctx.socket(libsock::PUSH).unwrap();
    stranger.set_linger(0).unwrap();
    stranger.set_curve_serverkey(public.as_bytes()).unwrap();
    stranger.set_curve_publickey(stranger_public.as_bytes()).unwrap();
    stranger.set_curve_secretkey(stranger_secret.as_bytes()).unwrap();
    let mon = stranger.monitor_events(libsock::EVENT_ALL).unwrap();
    stranger.connect(&ep).unwrap();
    stranger.send("stranger", libsock::DONTWAIT).unwrap();
    let refused = loop {
        match mon.recv_event(10_000) {
            Ok(e) if e.event == libsock::SocketEvent::HandshakeFailedAuth => break true,
            Ok(e) if e.event == libsock::SocketEvent::HandshakeSucceeded => break false,
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    assert!(refused, "the stranger was not refused");
    let args = ["push", "--connect", &ep, "--curve-serverkey", &public, "--curve-secret", &client_secret];
    assert!(sockcat(&args, b"listed\n").status.success());
    let out = pull.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"listed\n");
    // --curve-client without --curve-server is a usage error.
    let out = sockcat(&["pull", "--bind", &ep, "--curve-client", &client_public], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn plain_server_admits_its_users_only() {
    let ep = free_tcp_endpoint();
    let pull = spawn(&[
        "pull",
        "--bind",
        &ep,
        "--plain-server",
        "--plain-user",
        "alice:pw1",
        "--plain-user",
        "bob:pw2",
        "--count",
        "1",
        "--timeout",
        "10000",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    // A libsock client with a wrong password never gets a message through.
    let ctx = Context::new();
    let intruder = ctx.socket(libsock::PUSH).unwrap();
    intruder.set_linger(0).unwrap();
    intruder.set_plain_username(b"alice").unwrap();
    intruder.set_plain_password(b"guess").unwrap();
    intruder.connect(&ep).unwrap();
    intruder.send("intruder", libsock::DONTWAIT).unwrap();
    let push =
        sockcat(&["push", "--connect", &ep, "--plain", "bob:pw2", "--timeout", "10000"], b"from bob\n");
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
    let out = pull.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"from bob\n");
}

#[test]
fn bad_security_values_are_usage_errors() {
    let cases: [&[&str]; 5] = [
        &["pull", "--bind", "tcp://127.0.0.1:1", "--curve-server", "not-a-key"],
        &["push", "--connect", "tcp://127.0.0.1:1", "--plain", "no-colon"],
        &["push", "--connect", "tcp://127.0.0.1:1", "--curve-secret", "x"],
        &["pull", "--bind", "tcp://127.0.0.1:1", "--plain-server"],
        &["pull", "--bind", "tcp://127.0.0.1:1", "--plain", "a:b", "--plain-server", "--plain-user", "a:b"],
    ];
    for args in cases {
        let out = sockcat(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
