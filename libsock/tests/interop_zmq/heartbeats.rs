//! ZMTP heartbeats across the libraries: connections kept up through silence whichever side
//! pings, a silent crafted peer dropped and redialled, the peer's TTL honoured.

use super::*;

// ------------------------------------------------------------------------------------------
// 4. Heartbeats.
// ------------------------------------------------------------------------------------------

/// How long the connection idles while heartbeats alone keep it up.
const IDLE: Duration = Duration::from_millis(1500);

/// Connects a libsock PAIR and a libzmq PAIR (`binder` binds, over tcp), with `configure`
/// applied to both before; checks the libzmq side reports a handshake, then no disconnect
/// through `IDLE` of silence, and that messages still go both ways afterwards.
fn heartbeat_case(binder: Lib, configure_ls: impl Fn(&libsock::Socket), configure_z: impl Fn(&zmq::Socket)) {
    let world = World::new();
    let ls = world.socket(Lib::Libsock, PAIR);
    let z = world.socket(Lib::Libzmq, PAIR);
    configure_ls(ls.ls());
    configure_z(z.zmq());
    let mut mon = Monitor::attach(&world, z.zmq());
    let (bound, connecting) = match binder {
        Lib::Libsock => (&ls, &z),
        Lib::Libzmq => (&z, &ls),
    };
    let ep = bound.bind(&world, "tcp");
    connecting.connect(&ep);

    let handshake = zmq::SocketEvent::HANDSHAKE_SUCCEEDED.to_raw();
    assert!(mon.wait_for(ms(3000), |id| id == handshake), "no HANDSHAKE_SUCCEEDED; events: {}", mon.log());
    let link_event = match binder {
        Lib::Libsock => zmq::SocketEvent::CONNECTED,
        Lib::Libzmq => zmq::SocketEvent::ACCEPTED,
    };
    assert!(mon.saw(link_event), "events: {}", mon.log());

    // Silence on the application level: only heartbeats flow.
    mon.collect_for(IDLE);
    for bad in [
        zmq::SocketEvent::DISCONNECTED,
        zmq::SocketEvent::CLOSED,
        zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
        zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
    ] {
        assert!(!mon.saw(bad), "connection dropped during idle heartbeating; events: {}", mon.log());
    }
    assert_eq!(mon.count(zmq::SocketEvent::HANDSHAKE_SUCCEEDED), 1, "{}", mon.log());

    ls.send(b"after idle, libsock -> libzmq");
    assert_eq!(z.recv(), b"after idle, libsock -> libzmq");
    z.send(b"after idle, libzmq -> libsock");
    assert_eq!(ls.recv(), b"after idle, libzmq -> libsock");

    // And still exactly one connection, never dropped.
    mon.collect_for(ms(50));
    assert!(!mon.saw(zmq::SocketEvent::DISCONNECTED), "{}", mon.log());
    assert_no_io_panics();
}

/// libzmq pings every 50 ms, drops the link if 200 ms pass without an answer, and asks libsock
/// (TTL) to drop it after 500 ms of silence. libsock must answer the PINGs.
fn zmq_heartbeats(z: &zmq::Socket) {
    z.set_heartbeat_ivl(50).unwrap();
    z.set_heartbeat_timeout(200).unwrap();
    z.set_heartbeat_ttl(500).unwrap();
}

/// libsock pings every 50 ms, drops the link after 200 ms without traffic, and asks libzmq to
/// drop it after 500 ms without a PING (so libzmq notices if libsock stops pinging).
fn libsock_heartbeats(s: &libsock::Socket) {
    s.set_heartbeat_ivl(50).unwrap();
    s.set_heartbeat_timeout(200).unwrap();
    s.set_heartbeat_ttl(500).unwrap();
}

#[test]
fn heartbeat_zmq_pings_libsock_bound_stays_connected() {
    heartbeat_case(Lib::Libsock, |_| {}, zmq_heartbeats);
}

#[test]
fn heartbeat_zmq_pings_libsock_connecting_stays_connected() {
    heartbeat_case(Lib::Libzmq, |_| {}, zmq_heartbeats);
}

#[test]
fn heartbeat_libsock_pings_zmq_bound_stays_connected() {
    heartbeat_case(Lib::Libzmq, libsock_heartbeats, |_| {});
}

#[test]
fn heartbeat_libsock_pings_libsock_bound_stays_connected() {
    heartbeat_case(Lib::Libsock, libsock_heartbeats, |_| {});
}

#[test]
fn heartbeat_both_sides_ping_stays_connected() {
    heartbeat_case(Lib::Libzmq, libsock_heartbeats, zmq_heartbeats);
}

// 4c. A peer that completes the handshake and then never answers. libzmq cannot be made to do
// that, so a minimal hand-written ZMTP 3.1 peer (NULL mechanism) over a std TcpStream plays it.

fn zmtp_greeting() -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3; // major
    g[11] = 1; // minor
    g[12..16].copy_from_slice(b"NULL");
    g
}

fn zmtp_command(body: &[u8]) -> Vec<u8> {
    assert!(body.len() <= 255);
    let mut f = vec![0x04, body.len() as u8];
    f.extend_from_slice(body);
    f
}

fn zmtp_ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    zmtp_command(&body)
}

fn zmtp_ping(ttl_deciseconds: u16) -> Vec<u8> {
    let mut body = b"\x04PING".to_vec();
    body.extend_from_slice(&ttl_deciseconds.to_be_bytes());
    zmtp_command(&body)
}

fn accept_within(listener: &TcpListener, within: Duration) -> Option<TcpStream> {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + within;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_nodelay(true).unwrap();
                return Some(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return None;
                }
                std::thread::sleep(ms(2));
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

/// Reads (and keeps) everything until the peer closes; returns the bytes and when it closed,
/// or `None` if it did not close within `within`.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, Option<Instant>) {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (seen, None);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (seen, Some(Instant::now())),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                return (seen, Some(Instant::now()))
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn heartbeat_libsock_drops_a_silent_peer_and_reconnects() {
    let world = World::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    let push = world.ls_socket(PUSH);
    push.set_heartbeat_ivl(50).unwrap();
    push.set_heartbeat_timeout(200).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();

    let mut peer = accept_within(&listener, ms(3000)).expect("libsock never connected");
    peer.write_all(&zmtp_greeting()).unwrap();
    peer.write_all(&zmtp_ready("PULL")).unwrap();
    let ready_at = Instant::now();
    // From now on the peer says nothing: no PONG, no data.
    let (seen, closed_at) = read_until_closed(&mut peer, ms(3000));
    let closed_at = closed_at.unwrap_or_else(|| {
        panic!(
            "libsock kept a silent peer for 3 s despite HEARTBEAT_TIMEOUT=200ms; \
             it sent {} bytes (PING seen: {})",
            seen.len(),
            contains(&seen, b"\x04PING")
        )
    });
    let after = closed_at - ready_at;
    assert!(
        contains(&seen, b"\x04PING"),
        "libsock sent no PING before dropping the link ({} bytes)",
        seen.len()
    );
    // First PING at ~50 ms, then 200 ms of silence.
    assert!(after >= ms(200), "dropped after {after:?}, before the timeout could expire");
    assert!(after < ms(1500), "dropped only after {after:?}");
    eprintln!("silent peer dropped {after:?} after the handshake");

    // And it dials again.
    let mut again = accept_within(&listener, ms(2000)).expect("libsock did not reconnect");
    let mut greeting = [0u8; 10];
    again.set_read_timeout(Some(ms(2000))).unwrap();
    again.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting[0], 0xFF);
    assert_eq!(greeting[9], 0x7F);
    assert_no_io_panics();
}

#[test]
fn heartbeat_libsock_honours_the_peer_ttl() {
    let world = World::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    // No heartbeats of its own: only the TTL the peer asks for can end the link.
    let push = world.ls_socket(PUSH);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();

    let mut peer = accept_within(&listener, ms(3000)).expect("libsock never connected");
    peer.write_all(&zmtp_greeting()).unwrap();
    peer.write_all(&zmtp_ready("PULL")).unwrap();
    // Wait for libsock's READY (greeting + READY of a PUSH), then PING with TTL 300 ms.
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    peer.set_read_timeout(Some(ms(2000))).unwrap();
    while !contains(&got, b"PUSH") {
        let n = peer.read(&mut buf).expect("libsock sent no READY");
        assert!(n > 0, "libsock closed during the handshake");
        got.extend_from_slice(&buf[..n]);
    }
    peer.write_all(&zmtp_ping(3)).unwrap();
    let pinged_at = Instant::now();
    let (seen, closed_at) = read_until_closed(&mut peer, ms(3000));
    assert!(contains(&seen, b"\x04PONG"), "libsock did not answer the PING: {seen:?}");
    let closed_at = closed_at.expect("libsock ignored the TTL of 300 ms for 3 s");
    let after = closed_at - pinged_at;
    assert!(after >= ms(250), "dropped after {after:?}, before the TTL");
    assert!(after < ms(1500), "dropped only after {after:?}");
    assert_no_io_panics();
}

/// A peer that connects (or accepts) and never greets: after HANDSHAKE_IVL both libraries
/// report HANDSHAKE_FAILED_NO_DETAIL with the same errno (libzmq's is that of its engine's
/// last read, EAGAIN), then DISCONNECTED, on the bound side and on the dialling one.
#[test]
fn a_peer_silent_in_the_handshake_is_reported_as_libzmq_reports_it() {
    let world = World::new();
    let no_detail = zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL;
    for binds in [true, false] {
        let mut values = Vec::new();
        for lib in [Lib::Libzmq, Lib::Libsock] {
            let sock = world.socket(lib, PULL);
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let silent_ep = format!("tcp://127.0.0.1:{}", listener.local_addr().unwrap().port());
            let value = match sock.lib() {
                Lib::Libzmq => {
                    let z = sock.zmq();
                    z.set_handshake_ivl(100).unwrap();
                    let mut mon = Monitor::attach(&world, z);
                    let _silent = silent_peer(binds, &sock, &world, &listener, &silent_ep);
                    assert!(mon.wait_for(ms(3000), |id| id == no_detail.to_raw()), "{}", mon.log());
                    let value = mon.events.iter().find(|e| e.id == no_detail.to_raw()).unwrap().value;
                    // The context serves the next round's libzmq socket.
                    mon.close_watched(sock);
                    value
                }
                Lib::Libsock => {
                    let ls = sock.ls();
                    ls.set_handshake_ivl(100).unwrap();
                    let events = ls.monitor_events(libsock::EVENT_ALL).unwrap();
                    let _silent = silent_peer(binds, &sock, &world, &listener, &silent_ep);
                    loop {
                        let e = events.recv_event(3000).expect("no HANDSHAKE_FAILED_NO_DETAIL");
                        if e.event == libsock::SocketEvent::HandshakeFailedNoDetail {
                            break e.value;
                        }
                    }
                }
            };
            values.push(value);
        }
        assert_eq!(values[1], values[0], "libsock's errno against libzmq's (binding: {binds})");
    }
    assert_no_io_panics();
}

/// The silent end of [`a_peer_silent_in_the_handshake_is_reported_as_libzmq_reports_it`]: a
/// raw client of `sock`'s bound endpoint, or the accepted connection `sock` dialled.
fn silent_peer(binds: bool, sock: &Sock, world: &World, listener: &TcpListener, ep: &str) -> TcpStream {
    if binds {
        let bound = sock.bind(world, "tcp");
        TcpStream::connect(bound.trim_start_matches("tcp://")).unwrap()
    } else {
        sock.connect(ep);
        accept_within(listener, ms(3000)).unwrap_or_else(|| panic!("{} never dialled {ep}", sock.label()))
    }
}
