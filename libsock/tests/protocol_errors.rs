//! A connecting socket whose peer breaks the protocol does not dial that peer again, as
//! libzmq's session ends on a protocol error (`session_base_t::engine_error`); one whose peer
//! only hangs up does. Each case runs on libsock and on libzmq (the `zmq` crate) against the
//! same hand-written tcp peer, which counts the connections it is asked for.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long each client is watched: with a 20 ms reconnect interval a client that retries
/// dials well over ten times in it.
const WATCH: Duration = Duration::from_millis(700);

fn greeting(mechanism: &str, as_server: bool) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 1;
    g[12..12 + mechanism.len()].copy_from_slice(mechanism.as_bytes());
    g[32] = u8::from(as_server);
    g
}

fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = b"\x05READY\x0bSocket-Type".to_vec();
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}

/// A peer that answers every connection with `script`, then hangs up (`hang_up`) or keeps
/// the connection open; returns its endpoint and its connection count.
fn scripted_peer(script: Vec<u8>, hang_up: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        let mut open: Vec<TcpStream> = Vec::new();
        for mut stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(&script);
            if !hang_up {
                open.push(stream);
            }
        }
    });
    (endpoint, count)
}

/// A libsock PULL connected to `endpoint` for [`WATCH`].
fn run_libsock(endpoint: &str, max_msg_size: i64) {
    let ctx = libsock::Context::new();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_reconnect_ivl(20).unwrap();
    pull.set_maxmsgsize(max_msg_size).unwrap();
    pull.set_linger(0).unwrap();
    pull.connect(endpoint).unwrap();
    std::thread::sleep(WATCH);
}

/// The same with libzmq.
fn run_libzmq(endpoint: &str, max_msg_size: i64) {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_reconnect_ivl(20).unwrap();
    pull.set_maxmsgsize(max_msg_size).unwrap();
    pull.set_linger(0).unwrap();
    pull.connect(endpoint).unwrap();
    std::thread::sleep(WATCH);
}

#[test]
fn a_dialer_gives_up_on_a_peer_that_breaks_the_protocol_as_libzmq() {
    let null = greeting("NULL", true);
    let cases: [(&str, Vec<u8>, bool, bool); 4] = [
        ("another mechanism", greeting("PLAIN", true), false, false),
        ("a malformed command", [&null[..], &[0x04, 0x01, 0x00]].concat(), false, false),
        (
            "a frame over MAXMSGSIZE",
            [&null[..], &ready("PUSH"), &[0x00, 100], &[7; 100]].concat(),
            false,
            false,
        ),
        ("a hang-up after the greeting", null.clone(), true, true),
    ];
    for (what, script, hang_up, retries) in cases {
        for (lib, run) in [("libsock", run_libsock as fn(&str, i64)), ("libzmq", run_libzmq)] {
            let (endpoint, count) = scripted_peer(script.clone(), hang_up);
            run(&endpoint, 10);
            let dialed = count.load(Ordering::SeqCst);
            if retries {
                assert!(dialed >= 3, "{lib}, {what}: dialed {dialed} times, expected retries");
            } else {
                assert_eq!(dialed, 1, "{lib}, {what}: dialed {dialed} times, expected no retry");
            }
        }
    }
}
