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

/// What a receive that timed out fails with.
const EAGAIN: i32 = 11;

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

/// A peer that answers every connection with `script`, its parts 100 ms apart, then hangs up
/// (`hang_up`) or keeps the connection open; returns its endpoint and its connection count.
fn scripted_peer(script: Vec<Vec<u8>>, hang_up: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        let mut open: Vec<TcpStream> = Vec::new();
        for mut stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            for (i, part) in script.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = stream.write_all(part);
            }
            if !hang_up {
                open.push(stream);
            }
        }
    });
    (endpoint, count)
}

/// A monitor event as `(event, value)`; the value only where it does not name a descriptor.
type Event = (u32, Option<u32>);

fn event(id: u32, value: u32) -> Event {
    const HANDSHAKE_FAILED_PROTOCOL: u32 = 0x2000;
    (id, (id == HANDSHAKE_FAILED_PROTOCOL).then_some(value))
}

/// A libsock PULL connected to `endpoint` for [`WATCH`]; returns its monitor's events.
fn run_libsock(endpoint: &str, max_msg_size: i64) -> Vec<Event> {
    let ctx = libsock::Context::new();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.set_reconnect_ivl(20).unwrap();
    pull.set_maxmsgsize(max_msg_size).unwrap();
    pull.set_linger(0).unwrap();
    let monitor = pull.monitor_events(libsock::EVENT_ALL).unwrap();
    pull.connect(endpoint).unwrap();
    std::thread::sleep(WATCH);
    std::iter::from_fn(|| monitor.recv_event(0).ok())
        .map(|e| event(u32::from(e.event.to_raw()), e.value))
        .collect()
}

/// The same with libzmq.
fn run_libzmq(endpoint: &str, max_msg_size: i64) -> Vec<Event> {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_reconnect_ivl(20).unwrap();
    pull.set_maxmsgsize(max_msg_size).unwrap();
    pull.set_linger(0).unwrap();
    pull.monitor("inproc://protocol-errors-monitor", zmq::SocketEvent::ALL as i32).unwrap();
    let monitor = ctx.socket(zmq::PAIR).unwrap();
    monitor.connect("inproc://protocol-errors-monitor").unwrap();
    pull.connect(endpoint).unwrap();
    std::thread::sleep(WATCH);
    std::iter::from_fn(|| monitor.recv_multipart(zmq::DONTWAIT).ok())
        .map(|frames| {
            let f = &frames[0];
            event(u16::from_le_bytes([f[0], f[1]]) as u32, u32::from_le_bytes([f[2], f[3], f[4], f[5]]))
        })
        .collect()
}

/// One peer and what the dialer must do about it.
struct Case {
    what: &'static str,
    /// What the peer sends on each connection, part by part.
    script: Vec<Vec<u8>>,
    /// Whether the peer hangs up after its script.
    hang_up: bool,
    /// The dialer's MAXMSGSIZE.
    max_msg_size: i64,
    /// Whether the dialer must dial again.
    retries: bool,
}

#[test]
fn a_dialer_gives_up_on_a_peer_that_breaks_the_protocol_as_libzmq() {
    let null = greeting("NULL", true);
    let message = [&[0x00, 100][..], &[7; 100]].concat();
    let case =
        |what, script, hang_up, max_msg_size, retries| Case { what, script, hang_up, max_msg_size, retries };
    let cases = [
        case("another mechanism", vec![greeting("PLAIN", true)], false, -1, false),
        case("a malformed command", vec![[&null[..], &[0x04, 0x01, 0x00]].concat()], false, -1, false),
        case("a READY over MAXMSGSIZE", vec![[&null[..], &ready("PUSH")].concat()], false, 10, false),
        case(
            "a message over MAXMSGSIZE",
            vec![[&null[..], &ready("PUSH")].concat(), message],
            false,
            64,
            false,
        ),
        case("a hang-up after the greeting", vec![null.clone()], true, -1, true),
    ];
    for Case { what, script, hang_up, max_msg_size, retries } in cases {
        let mut events = Vec::new();
        for (lib, run) in [("libsock", run_libsock as fn(&str, i64) -> Vec<Event>), ("libzmq", run_libzmq)] {
            let (endpoint, count) = scripted_peer(script.clone(), hang_up);
            events.push(run(&endpoint, max_msg_size));
            let dialed = count.load(Ordering::SeqCst);
            if retries {
                assert!(dialed >= 3, "{lib}, {what}: dialed {dialed} times, expected retries");
            } else {
                assert_eq!(dialed, 1, "{lib}, {what}: dialed {dialed} times, expected no retry");
            }
        }
        if !retries {
            // The one attempt, event by event (protocol error codes included), as libzmq's.
            assert_eq!(events[0], events[1], "{what}: libsock's monitor (left), libzmq's (right)");
        }
    }
}

/// What a REQ's receive gave (the body, or the errno), and its monitor's events.
type ReqOutcome = (Result<Vec<u8>, i32>, Vec<Event>);

/// A REQ that dialled `endpoint` sends a request and waits for its reply in a blocking
/// receive of up to `patience` (libsock's direct read side: the connection is up by then);
/// returns what the receive gave and the monitor's events.
fn req_libsock(endpoint: &str, patience: Duration) -> ReqOutcome {
    let ctx = libsock::Context::new();
    let req = ctx.socket(libsock::REQ).unwrap();
    req.set_reconnect_ivl(20).unwrap();
    req.set_linger(0).unwrap();
    req.set_rcvtimeo(patience.as_millis() as i32).unwrap();
    let monitor = req.monitor_events(libsock::EVENT_ALL).unwrap();
    req.connect(endpoint).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    req.send("request", 0).unwrap();
    let got = req.recv_bytes(0).map_err(|e| e.to_raw());
    let events = std::iter::from_fn(|| monitor.recv_event(0).ok())
        .map(|e| event(u32::from(e.event.to_raw()), e.value))
        .collect();
    (got, events)
}

/// The same with libzmq.
fn req_libzmq(endpoint: &str, patience: Duration) -> ReqOutcome {
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ).unwrap();
    req.set_reconnect_ivl(20).unwrap();
    req.set_linger(0).unwrap();
    req.set_rcvtimeo(patience.as_millis() as i32).unwrap();
    req.monitor("inproc://protocol-errors-req-monitor", zmq::SocketEvent::ALL as i32).unwrap();
    let monitor = ctx.socket(zmq::PAIR).unwrap();
    monitor.connect("inproc://protocol-errors-req-monitor").unwrap();
    req.connect(endpoint).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    req.send("request", 0).unwrap();
    let got = req.recv_bytes(0).map_err(|e| e.to_raw());
    let events = std::iter::from_fn(|| monitor.recv_multipart(zmq::DONTWAIT).ok())
        .map(|frames| {
            let f = &frames[0];
            event(u16::from_le_bytes([f[0], f[1]]) as u32, u32::from_le_bytes([f[2], f[3], f[4], f[5]]))
        })
        .collect();
    (got, events)
}

/// A REQ's peer must send replies in their envelope: one that sends anything else is
/// dropped and not dialled again, as by libzmq's `req_session_t`, whether the bad frame
/// comes first or after part of the envelope (a request id); a reply in its envelope, in
/// pieces, arrives.
#[test]
fn a_req_gives_up_on_a_peer_whose_reply_has_no_envelope_as_libzmq() {
    let handshake = [&greeting("NULL", false)[..], &ready("REP")].concat();
    let cases: [(&str, Vec<Vec<u8>>, _); 3] = [
        ("a bare message", vec![handshake.clone(), vec![0x00, 2, b'n', b'o']], Err(EAGAIN)),
        (
            "a request id, then no delimiter",
            vec![handshake.clone(), vec![0x01, 4, 0, 0, 0, 7], vec![0x00, 1, b'x']],
            Err(EAGAIN),
        ),
        (
            "a reply in pieces",
            vec![handshake.clone(), vec![0x01, 0], vec![0x00, 2, b'o', b'k']],
            Ok(b"ok".to_vec()),
        ),
    ];
    for (what, script, expected) in cases {
        let mut events = Vec::new();
        // A reply that comes may take a while on a loaded machine; one that cannot come is
        // waited for WATCH, long enough to see a client dial again.
        let patience = if expected.is_ok() { Duration::from_secs(10) } else { WATCH };
        for (lib, run) in
            [("libsock", req_libsock as fn(&str, Duration) -> ReqOutcome), ("libzmq", req_libzmq)]
        {
            let (endpoint, count) = scripted_peer(script.clone(), false);
            let (got, seen) = run(&endpoint, patience);
            assert_eq!(got, expected, "{lib}, {what}: the receive");
            assert_eq!(count.load(Ordering::SeqCst), 1, "{lib}, {what}: dialled once");
            events.push(seen);
        }
        assert_eq!(events[0], events[1], "{what}: libsock's monitor (left), libzmq's (right)");
    }
}
