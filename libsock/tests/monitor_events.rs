//! Monitor events beyond the common ones: ACCEPT_FAILED, CLOSE_FAILED, BIND_FAILED with its
//! errno, HANDSHAKE_FAILED_* with libzmq's codes, and the endpoint frame on every event.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::socket;
use libsock::{protocol_error, Context, Monitor, MonitorEvent, SocketEvent, EVENT_ALL, PULL, STREAM};

fn next(m: &Monitor) -> MonitorEvent {
    m.recv_event(5000).unwrap()
}

/// Waits for `event`, checking every event on the way names `endpoint`.
fn expect(m: &Monitor, event: SocketEvent, endpoint: &str) -> MonitorEvent {
    loop {
        let e = next(m);
        assert_eq!(e.endpoint, endpoint, "{e:?}");
        if e.event == event {
            return e;
        }
    }
}

#[test]
fn accept_failed_when_tcp_accept_filter_refuses() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    pull.set_tcp_accept_filter(Some(b"10.0.0.0/8")).unwrap();
    let events = pull.monitor_events(EVENT_ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    expect(&events, SocketEvent::Listening, &ep);
    let mut c = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    let e = expect(&events, SocketEvent::AcceptFailed, &ep);
    assert_eq!(e.value, 13, "EACCES");
    let mut buf = [0u8; 1];
    assert_eq!(c.read(&mut buf).unwrap_or(0), 0, "the refused connection is closed");
}

#[test]
fn close_failed_when_the_ipc_file_cannot_be_removed() {
    let ctx = Context::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock.ipc");
    let pull = socket(&ctx, PULL);
    let events = pull.monitor_events(EVENT_ALL).unwrap();
    let ep = format!("ipc://{}", path.display());
    pull.bind(&ep).unwrap();
    expect(&events, SocketEvent::Listening, &ep);
    // Something else now sits where the socket file was: unlink fails with EISDIR.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    pull.unbind(&ep).unwrap();
    let e = expect(&events, SocketEvent::CloseFailed, &ep);
    assert_eq!(e.value, 21, "EISDIR");
}

/// As libzmq 4.3's: a listener that was made but could not bind reports the descriptor it
/// closed (CLOSED, with the address it did not get: none), then BIND_FAILED with the errno
/// and the address without its transport; a bind refused before that (a host that is no
/// address: ENODEV) only the BIND_FAILED; an endpoint refused for its transport, nothing.
#[test]
fn bind_failed_carries_errno_and_the_address() {
    let ctx = Context::new();
    let s = socket(&ctx, PULL);
    let events = s.monitor_events(EVENT_ALL).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    assert!(s.bind(&format!("tcp://{address}")).is_err());
    expect(&events, SocketEvent::Closed, "");
    let e = expect(&events, SocketEvent::BindFailed, &address);
    assert_eq!(e.value, 98, "EADDRINUSE");
    let bad = "192.0.2.1:5555"; // TEST-NET: not an address of this host
    assert!(s.bind(&format!("tcp://{bad}")).is_err());
    expect(&events, SocketEvent::Closed, "");
    assert_eq!(expect(&events, SocketEvent::BindFailed, bad).value, 99, "EADDRNOTAVAIL");
    assert!(s.bind("foo://x:1").is_err());
    assert!(s.bind("tcp://no-such-nic0:1").is_err());
    let e = next(&events);
    assert_eq!((e.event, e.value, e.endpoint.as_str()), (SocketEvent::BindFailed, 19, "no-such-nic0:1"));
}

#[test]
fn handshake_failures_report_libzmq_codes() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    pull.set_handshake_ivl(200).unwrap();
    let events = pull.monitor_events(EVENT_ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let addr = ep.trim_start_matches("tcp://").to_string();

    // Silence until HANDSHAKE_IVL: no detail, EAGAIN (libzmq's errno of its last read).
    let _silent = TcpStream::connect(&addr).unwrap();
    let e = expect(&events, SocketEvent::HandshakeFailedNoDetail, &ep);
    assert_eq!(e.value, libc::EAGAIN as u32);
    expect(&events, SocketEvent::Disconnected, &ep);

    // A ZMTP 3.0 greeting asking for PLAIN: mechanism mismatch.
    let mut c = TcpStream::connect(&addr).unwrap();
    let mut greeting = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
    greeting.extend_from_slice(b"PLAIN");
    greeting.resize(64, 0);
    c.write_all(&greeting).unwrap();
    let e = expect(&events, SocketEvent::HandshakeFailedProtocol, &ep);
    assert_eq!(e.value, protocol_error::PROTOCOL_ERROR_MECHANISM_MISMATCH);
}

#[test]
fn stream_sockets_report_connections_with_their_endpoint() {
    let ctx = Context::new();
    let s = socket(&ctx, STREAM);
    let events = s.monitor_events(EVENT_ALL).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.get_last_endpoint().unwrap();
    expect(&events, SocketEvent::Listening, &ep);
    let c = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    expect(&events, SocketEvent::Accepted, &ep);
    expect(&events, SocketEvent::HandshakeSucceeded, &ep);
    drop(c);
    expect(&events, SocketEvent::Disconnected, &ep);
}

/// Closing a bound socket reports CLOSED for its listener (with the descriptor LISTENING
/// named) before MONITOR_STOPPED, as libzmq's test_monitor expects.
#[test]
fn close_reports_closed_listeners_before_monitor_stopped() {
    let ctx = Context::new();
    let pull = socket(&ctx, PULL);
    let events = pull.monitor_events(EVENT_ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();
    let listening = expect(&events, SocketEvent::Listening, &ep);
    drop(pull);
    let closed = next(&events);
    assert_eq!(
        (closed.event, closed.value, closed.endpoint.as_str()),
        (SocketEvent::Closed, listening.value, ep.as_str())
    );
    assert_eq!(next(&events).event, SocketEvent::MonitorStopped);
}
