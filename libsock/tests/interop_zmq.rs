//! Interop with a real libzmq (4.3, through the `zmq` crate): libsock must talk to it over
//! tcp and ipc in every role, keep heartbeating connections up, reconnect, and refuse
//! incompatible peers without delivering anything.
//!
//! Every socket has LINGER 0 and receive/send timeouts, so a failure fails instead of hanging.

mod common;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use common::*;

/// Receive timeout of every socket in these tests.
const RCVTIMEO_MS: i32 = 5000;

// ------------------------------------------------------------------------------------------
// Setup: logging, and a record of panics on libsock's I/O threads (which would otherwise go
// unnoticed by the test harness).
// ------------------------------------------------------------------------------------------

static IO_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn setup() {
    init_logging();
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            if name.starts_with("libsock-io") {
                IO_PANICS.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{name}: {info}"));
            }
            previous(info);
        }));
    });
}

fn assert_no_io_panics() {
    let panics = IO_PANICS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(panics.is_empty(), "libsock I/O threads panicked: {panics:#?}");
}

// ------------------------------------------------------------------------------------------
// One socket of either library behind one interface, so scenarios are written once.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    Libsock,
    Libzmq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Push,
    Pull,
    Pair,
}

/// Both libraries' contexts, plus the ipc paths to remove at the end.
struct World {
    ls: libsock::Context,
    z: zmq::Context,
    ipc_paths: RefCell<Vec<PathBuf>>,
}

impl World {
    fn new() -> World {
        setup();
        World { ls: libsock::Context::new(), z: zmq::Context::new(), ipc_paths: RefCell::new(Vec::new()) }
    }

    fn socket(&self, lib: Lib, kind: Kind) -> Sock {
        match lib {
            Lib::Libsock => Sock::Ls(self.ls_socket(kind)),
            Lib::Libzmq => Sock::Z(self.z_socket(kind)),
        }
    }

    fn ls_socket(&self, kind: Kind) -> libsock::Socket {
        let kind = match kind {
            Kind::Push => libsock::PUSH,
            Kind::Pull => libsock::PULL,
            Kind::Pair => libsock::PAIR,
        };
        let s = socket(&self.ls, kind);
        s.set_rcvtimeo(RCVTIMEO_MS).unwrap();
        s.set_sndtimeo(RCVTIMEO_MS).unwrap();
        s
    }

    fn z_socket(&self, kind: Kind) -> zmq::Socket {
        let kind = match kind {
            Kind::Push => zmq::PUSH,
            Kind::Pull => zmq::PULL,
            Kind::Pair => zmq::PAIR,
        };
        let s = self.z.socket(kind).unwrap();
        s.set_linger(0).unwrap();
        s.set_rcvtimeo(RCVTIMEO_MS).unwrap();
        s.set_sndtimeo(RCVTIMEO_MS).unwrap();
        s
    }

    /// An endpoint to bind: tcp on a free loopback port, or a fresh ipc path under the temp dir.
    fn bind_endpoint(&self, transport: &str) -> String {
        match transport {
            "tcp" => "tcp://127.0.0.1:*".to_string(),
            "ipc" => {
                static N: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "libsock-interop-{}-{}.ipc",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                let _ = std::fs::remove_file(&path);
                self.ipc_paths.borrow_mut().push(path.clone());
                format!("ipc://{}", path.display())
            }
            other => panic!("unknown transport {other}"),
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for p in self.ipc_paths.borrow().iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[allow(clippy::large_enum_variant)] // test helper; size does not matter
enum Sock {
    Ls(libsock::Socket),
    Z(zmq::Socket),
}

impl Sock {
    fn lib(&self) -> Lib {
        match self {
            Sock::Ls(_) => Lib::Libsock,
            Sock::Z(_) => Lib::Libzmq,
        }
    }

    /// Binds on a fresh endpoint of `transport`; returns the endpoint to connect to.
    fn bind(&self, world: &World, transport: &str) -> String {
        let ep = world.bind_endpoint(transport);
        match self {
            Sock::Ls(s) => {
                s.bind(&ep).unwrap();
                if transport == "tcp" {
                    s.get_last_endpoint().unwrap()
                } else {
                    ep
                }
            }
            Sock::Z(s) => {
                s.bind(&ep).unwrap();
                if transport == "tcp" {
                    s.get_last_endpoint().unwrap().unwrap()
                } else {
                    ep
                }
            }
        }
    }

    fn connect(&self, ep: &str) {
        match self {
            Sock::Ls(s) => s.connect(ep).unwrap(),
            Sock::Z(s) => s.connect(ep).unwrap(),
        }
    }

    fn send_parts(&self, parts: &[Vec<u8>]) {
        match self {
            Sock::Ls(s) => s
                .send_multipart(parts.iter().cloned(), 0)
                .unwrap_or_else(|e| panic!("libsock send failed: {e:?}")),
            Sock::Z(s) => s
                .send_multipart(parts.iter().cloned(), 0)
                .unwrap_or_else(|e| panic!("libzmq send failed: {e:?}")),
        }
    }

    fn send(&self, data: &[u8]) {
        self.send_parts(&[data.to_vec()]);
    }

    /// Receives one whole message, or `None` on timeout.
    fn try_recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        match self {
            Sock::Ls(s) => match s.recv_multipart(0) {
                Ok(m) => Some(m),
                Err(libsock::Error::TimedOut | libsock::Error::WouldBlock) => None,
                Err(e) => panic!("libsock recv failed: {e:?}"),
            },
            Sock::Z(s) => match s.recv_multipart(0) {
                Ok(m) => Some(m),
                Err(zmq::Error::EAGAIN) => None,
                Err(e) => panic!("libzmq recv failed: {e:?}"),
            },
        }
    }

    fn recv_parts(&self) -> Vec<Vec<u8>> {
        self.try_recv_parts().unwrap_or_else(|| panic!("{:?} socket: receive timed out", self.lib()))
    }

    fn recv(&self) -> Vec<u8> {
        let mut parts = self.recv_parts();
        assert_eq!(parts.len(), 1, "expected a single-frame message");
        parts.pop().unwrap()
    }

    fn set_rcvtimeo(&self, ms: i32) {
        match self {
            Sock::Ls(s) => s.set_rcvtimeo(ms).unwrap(),
            Sock::Z(s) => s.set_rcvtimeo(ms).unwrap(),
        }
    }

    fn zmq(&self) -> &zmq::Socket {
        match self {
            Sock::Z(s) => s,
            Sock::Ls(_) => panic!("not a libzmq socket"),
        }
    }

    fn libsock(&self) -> &libsock::Socket {
        match self {
            Sock::Ls(s) => s,
            Sock::Z(_) => panic!("not a libsock socket"),
        }
    }
}

/// `n` bytes of a pattern that depends on `seed`, so misplaced bytes do not compare equal.
fn body(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + seed * 7) % 251) as u8).collect()
}

fn short(parts: &[Vec<u8>]) -> String {
    let lens: Vec<usize> = parts.iter().map(Vec::len).collect();
    format!("{} frame(s) of sizes {lens:?}", parts.len())
}

// ------------------------------------------------------------------------------------------
// libzmq socket monitor.
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Event {
    id: u16,
    value: u32,
    endpoint: String,
}

fn event_name(id: u16) -> &'static str {
    use zmq::SocketEvent::*;
    for (ev, name) in [
        (CONNECTED, "CONNECTED"),
        (CONNECT_DELAYED, "CONNECT_DELAYED"),
        (CONNECT_RETRIED, "CONNECT_RETRIED"),
        (LISTENING, "LISTENING"),
        (BIND_FAILED, "BIND_FAILED"),
        (ACCEPTED, "ACCEPTED"),
        (ACCEPT_FAILED, "ACCEPT_FAILED"),
        (CLOSED, "CLOSED"),
        (CLOSE_FAILED, "CLOSE_FAILED"),
        (DISCONNECTED, "DISCONNECTED"),
        (MONITOR_STOPPED, "MONITOR_STOPPED"),
        (HANDSHAKE_FAILED_NO_DETAIL, "HANDSHAKE_FAILED_NO_DETAIL"),
        (HANDSHAKE_SUCCEEDED, "HANDSHAKE_SUCCEEDED"),
        (HANDSHAKE_FAILED_PROTOCOL, "HANDSHAKE_FAILED_PROTOCOL"),
        (HANDSHAKE_FAILED_AUTH, "HANDSHAKE_FAILED_AUTH"),
    ] {
        if ev.to_raw() == id {
            return name;
        }
    }
    "UNKNOWN"
}

/// The receiving end of `zmq_socket_monitor` on a libzmq socket.
struct Monitor {
    sock: zmq::Socket,
    events: Vec<Event>,
}

impl Monitor {
    /// Must be attached before the watched socket binds or connects, to see every event.
    fn attach(world: &World, target: &zmq::Socket) -> Monitor {
        static N: AtomicUsize = AtomicUsize::new(0);
        let ep = format!("inproc://interop-monitor-{}", N.fetch_add(1, Ordering::Relaxed));
        target.monitor(&ep, zmq::SocketEvent::ALL as i32).unwrap();
        let sock = world.z.socket(zmq::PAIR).unwrap();
        sock.set_linger(0).unwrap();
        sock.connect(&ep).unwrap();
        Monitor { sock, events: Vec::new() }
    }

    /// The next event within `timeout`, also recorded in `self.events`.
    fn next(&mut self, timeout: Duration) -> Option<Event> {
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
        self.sock.set_rcvtimeo(ms).unwrap();
        let parts = match self.sock.recv_multipart(0) {
            Ok(p) => p,
            Err(zmq::Error::EAGAIN) => return None,
            Err(e) => panic!("monitor recv failed: {e:?}"),
        };
        assert_eq!(parts.len(), 2, "monitor events have two frames: {parts:?}");
        assert_eq!(parts[0].len(), 6, "event frame: u16 id + u32 value");
        let ev = Event {
            id: u16::from_le_bytes([parts[0][0], parts[0][1]]),
            value: u32::from_le_bytes([parts[0][2], parts[0][3], parts[0][4], parts[0][5]]),
            endpoint: String::from_utf8_lossy(&parts[1]).into_owned(),
        };
        self.events.push(ev.clone());
        Some(ev)
    }

    /// Collects events until one matches `pred` (true) or `within` passes (false).
    fn wait_for(&mut self, within: Duration, pred: impl Fn(u16) -> bool) -> bool {
        if self.events.iter().any(|e| pred(e.id)) {
            return true;
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Some(ev) = self.next(left) {
                if pred(ev.id) {
                    return true;
                }
            }
        }
    }

    /// Collects every event for `dur`.
    fn collect_for(&mut self, dur: Duration) {
        let deadline = Instant::now() + dur;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            self.next(left);
        }
    }

    fn saw(&self, ev: zmq::SocketEvent) -> bool {
        self.events.iter().any(|e| e.id == ev.to_raw())
    }

    fn count(&self, ev: zmq::SocketEvent) -> usize {
        self.events.iter().filter(|e| e.id == ev.to_raw()).count()
    }

    /// The events so far, readable, for assertion messages.
    fn log(&self) -> String {
        let names: Vec<String> =
            self.events.iter().map(|e| format!("{}({}) {}", event_name(e.id), e.value, e.endpoint)).collect();
        format!("[{}]", names.join(", "))
    }
}

// ------------------------------------------------------------------------------------------
// 1. PUSH/PULL in every direction, role and transport, with sizes around the frame-length
//    boundaries, a large message and multipart messages.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Binder {
    Sender,
    Receiver,
}

/// Messages covering empty, short-frame (≤255), long-frame (≥256) bodies, bodies received
/// in place (over 64 KiB: into a pooled buffer up to 8 MiB, a heap block beyond), and
/// multipart messages with empty frames.
fn matrix_messages() -> Vec<Vec<Vec<u8>>> {
    let mut msgs: Vec<Vec<Vec<u8>>> =
        [0usize, 1, 255, 256, 1 << 20, 9 << 20].iter().enumerate().map(|(i, &n)| vec![body(n, i)]).collect();
    msgs.push(vec![b"head".to_vec(), Vec::new(), body(256, 9), body(255, 10)]);
    msgs.push(vec![Vec::new(), Vec::new(), Vec::new()]);
    msgs.push(vec![b"big".to_vec(), body(1 << 20, 11), Vec::new()]);
    for i in 0..20 {
        msgs.push(vec![format!("seq-{i}").into_bytes(), body(i * 13, i)]);
    }
    msgs.push(vec![b"end".to_vec()]);
    msgs
}

fn push_pull_case(sender_lib: Lib, binder: Binder, transport: &str) {
    let world = World::new();
    let receiver_lib = match sender_lib {
        Lib::Libsock => Lib::Libzmq,
        Lib::Libzmq => Lib::Libsock,
    };
    let push = world.socket(sender_lib, Kind::Push);
    let pull = world.socket(receiver_lib, Kind::Pull);
    let (bound, connecting) = match binder {
        Binder::Sender => (&push, &pull),
        Binder::Receiver => (&pull, &push),
    };
    let ep = bound.bind(&world, transport);
    connecting.connect(&ep);

    let msgs = matrix_messages();
    for m in &msgs {
        push.send_parts(m);
    }
    for (i, expected) in msgs.iter().enumerate() {
        let got = pull.recv_parts();
        assert!(
            got == *expected,
            "{sender_lib:?} PUSH -> {receiver_lib:?} PULL, {binder:?} binds, {transport}: \
             message #{i} differs: got {}, expected {}",
            short(&got),
            short(expected)
        );
    }
    // Nothing extra arrives.
    pull.set_rcvtimeo(50);
    assert!(pull.try_recv_parts().is_none(), "unexpected extra message");
    assert_no_io_panics();
}

macro_rules! push_pull_matrix {
    ($($name:ident: $sender:ident, $binder:ident, $transport:literal;)*) => {
        $(
            #[test]
            fn $name() {
                push_pull_case(Lib::$sender, Binder::$binder, $transport);
            }
        )*
    };
}

push_pull_matrix! {
    push_pull_libsock_to_zmq_sender_binds_tcp: Libsock, Sender, "tcp";
    push_pull_libsock_to_zmq_receiver_binds_tcp: Libsock, Receiver, "tcp";
    push_pull_libsock_to_zmq_sender_binds_ipc: Libsock, Sender, "ipc";
    push_pull_libsock_to_zmq_receiver_binds_ipc: Libsock, Receiver, "ipc";
    push_pull_zmq_to_libsock_sender_binds_tcp: Libzmq, Sender, "tcp";
    push_pull_zmq_to_libsock_receiver_binds_tcp: Libzmq, Receiver, "tcp";
    push_pull_zmq_to_libsock_sender_binds_ipc: Libzmq, Sender, "ipc";
    push_pull_zmq_to_libsock_receiver_binds_ipc: Libzmq, Receiver, "ipc";
}

// ------------------------------------------------------------------------------------------
// 2. PAIR <-> PAIR ping-pong, each library binding, requests from both sides.
// ------------------------------------------------------------------------------------------

fn pair_ping_pong_case(binder: Lib, transport: &str) {
    let world = World::new();
    let ls = world.socket(Lib::Libsock, Kind::Pair);
    let z = world.socket(Lib::Libzmq, Kind::Pair);
    let (bound, connecting) = match binder {
        Lib::Libsock => (&ls, &z),
        Lib::Libzmq => (&z, &ls),
    };
    let ep = bound.bind(&world, transport);
    connecting.connect(&ep);

    for i in 0..300usize {
        // Alternate who asks, so both directions carry requests and replies.
        let (asker, answerer) = if i % 2 == 0 { (&ls, &z) } else { (&z, &ls) };
        let request = [format!("ping {i}").into_bytes(), body(i % 300, i)];
        asker.send_parts(&request);
        let got = answerer.recv_parts();
        assert_eq!(got, request, "request #{i} ({transport}, {binder:?} binds)");
        let reply = vec![format!("pong {i}").into_bytes()];
        answerer.send_parts(&reply);
        assert_eq!(asker.recv_parts(), reply, "reply #{i}");
    }
    assert_no_io_panics();
}

#[test]
fn pair_ping_pong_libsock_binds_tcp() {
    pair_ping_pong_case(Lib::Libsock, "tcp");
}

#[test]
fn pair_ping_pong_zmq_binds_tcp() {
    pair_ping_pong_case(Lib::Libzmq, "tcp");
}

#[test]
fn pair_ping_pong_libsock_binds_ipc() {
    pair_ping_pong_case(Lib::Libsock, "ipc");
}

#[test]
fn pair_ping_pong_zmq_binds_ipc() {
    pair_ping_pong_case(Lib::Libzmq, "ipc");
}

// ------------------------------------------------------------------------------------------
// 3. Bursts of 100_000 small messages, in order (batching and framing at scale).
// ------------------------------------------------------------------------------------------

const BURST: u32 = 100_000;

fn burst_message(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.extend(std::iter::repeat_n(i as u8, (i % 13) as usize));
    m
}

fn burst_case(sender_lib: Lib) {
    let world = World::new();
    let receiver_lib = match sender_lib {
        Lib::Libsock => Lib::Libzmq,
        Lib::Libzmq => Lib::Libsock,
    };
    let push = world.socket(sender_lib, Kind::Push);
    let pull = world.socket(receiver_lib, Kind::Pull);
    let ep = pull.bind(&world, "tcp");
    push.connect(&ep);

    let started = Instant::now();
    std::thread::scope(|s| {
        let sender = s.spawn(move || {
            for i in 0..BURST {
                push.send(&burst_message(i));
            }
            // Hand the socket back: closing it now (LINGER 0) would drop what is in flight.
            push
        });
        for i in 0..BURST {
            let got = pull.recv_parts();
            assert!(
                got.len() == 1 && got[0] == burst_message(i),
                "{sender_lib:?} -> {receiver_lib:?}: message #{i} is {got:?}"
            );
        }
        drop(sender.join().unwrap());
    });
    eprintln!("burst {sender_lib:?} -> {receiver_lib:?}: {BURST} messages in {:?}", started.elapsed());
    assert_no_io_panics();
}

#[test]
fn burst_libsock_push_to_zmq_pull_tcp() {
    burst_case(Lib::Libsock);
}

#[test]
fn burst_zmq_push_to_libsock_pull_tcp() {
    burst_case(Lib::Libzmq);
}

/// Message `i` of a mixed burst: bodies across every decoder boundary (inline 38/39 B, the
/// short form's 255/256 B) and every seventh message in three frames, so the receiver's run
/// decoder keeps stopping at long frames and multipart ends mid-run.
fn mixed_message(i: usize) -> Vec<Vec<u8>> {
    const SIZES: [usize; 13] = [0, 1, 37, 38, 39, 40, 64, 200, 254, 255, 256, 300, 1000];
    let first = body(SIZES[i % SIZES.len()], i);
    if i % 7 == 0 {
        vec![first, (i as u32).to_le_bytes().to_vec(), body(SIZES[(i / 7) % SIZES.len()], i + 1)]
    } else {
        let mut tagged = (i as u32).to_le_bytes().to_vec();
        tagged.extend(first);
        vec![tagged]
    }
}

/// libzmq floods a libsock PULL with the mixed burst: every message arrives whole, in order.
fn mixed_burst_case(transport: &str) {
    const COUNT: usize = 30_000;
    let world = World::new();
    let push = world.socket(Lib::Libzmq, Kind::Push);
    let pull = world.socket(Lib::Libsock, Kind::Pull);
    let ep = pull.bind(&world, transport);
    push.connect(&ep);
    std::thread::scope(|s| {
        let sender = s.spawn(move || {
            for i in 0..COUNT {
                push.send_parts(&mixed_message(i));
            }
            push
        });
        for i in 0..COUNT {
            let got = pull.recv_parts();
            assert!(got == mixed_message(i), "{transport}: message #{i} is {}", short(&got));
        }
        drop(sender.join().unwrap());
    });
    assert_no_io_panics();
}

#[test]
fn mixed_burst_zmq_push_to_libsock_pull_tcp() {
    mixed_burst_case("tcp");
}

#[test]
fn mixed_burst_zmq_push_to_libsock_pull_ipc() {
    mixed_burst_case("ipc");
}

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
    let ls = world.socket(Lib::Libsock, Kind::Pair);
    let z = world.socket(Lib::Libzmq, Kind::Pair);
    configure_ls(ls.libsock());
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

    let push = world.ls_socket(Kind::Push);
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
    let push = world.ls_socket(Kind::Push);
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

// ------------------------------------------------------------------------------------------
// 5. Reconnect after the libzmq peer goes away and comes back on the same port.
// ------------------------------------------------------------------------------------------

/// A new libzmq socket bound to `ep`, the endpoint a closed one had. libzmq closes listeners
/// asynchronously, so the port may be busy for a moment: retry.
fn rebind_zmq(world: &World, kind: Kind, ep: &str) -> zmq::Socket {
    let deadline = Instant::now() + ms(3000);
    loop {
        let s = world.z_socket(kind);
        match s.bind(ep) {
            Ok(()) => return s,
            Err(e) if Instant::now() < deadline => {
                eprintln!("rebind {ep}: {e:?}, retrying");
                std::thread::sleep(ms(10));
            }
            Err(e) => panic!("cannot rebind {ep}: {e:?}"),
        }
    }
}

#[test]
fn reconnects_to_a_restarted_zmq_peer() {
    let world = World::new();
    let pull = world.socket(Lib::Libzmq, Kind::Pull);
    let ep = pull.bind(&world, "tcp");

    let push = world.ls_socket(Kind::Push);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    push.send("before", 0).unwrap();
    assert_eq!(pull.recv(), b"before");

    drop(pull);
    let pull = rebind_zmq(&world, Kind::Pull, &ep);
    let restarted = Instant::now();

    // Probe until something gets through: messages written into the dead connection are lost.
    pull.set_rcvtimeo(50).unwrap();
    let deadline = Instant::now() + ms(4000);
    loop {
        push.send("probe", 0).unwrap();
        match pull.recv_bytes(0) {
            Ok(m) => {
                assert_eq!(m, b"probe");
                break;
            }
            Err(zmq::Error::EAGAIN) if Instant::now() < deadline => {}
            Err(e) => panic!("libsock did not reconnect within 4 s: {e:?}"),
        }
    }
    eprintln!("reconnected {:?} after the restart", restarted.elapsed());

    pull.set_rcvtimeo(RCVTIMEO_MS).unwrap();
    for i in 0..50 {
        push.send(format!("after-{i}").as_str(), 0).unwrap();
    }
    let mut next = 0;
    while next < 50 {
        let m = pull.recv_bytes(0).expect("lost messages after reconnect");
        if m == b"probe" {
            assert_eq!(next, 0, "probe after the sequence started");
            continue;
        }
        assert_eq!(String::from_utf8_lossy(&m), format!("after-{next}"));
        next += 1;
    }
    assert_no_io_panics();
}

#[test]
fn libsock_pull_reconnects_to_a_restarted_zmq_push() {
    let world = World::new();
    let push = world.socket(Lib::Libzmq, Kind::Push);
    let ep = push.bind(&world, "tcp");

    let pull = world.ls_socket(Kind::Pull);
    pull.set_reconnect_ivl(20).unwrap();
    pull.connect(&ep).unwrap();
    push.send(b"before");
    assert_eq!(pull.recv_bytes(0).unwrap(), b"before");

    drop(push);
    let push = rebind_zmq(&world, Kind::Push, &ep);
    let restarted = Instant::now();
    // libzmq's PUSH blocks (up to SNDTIMEO) until libsock has reconnected.
    for i in 0..50 {
        push.send(format!("after-{i}").as_str(), 0).expect("libsock did not reconnect");
    }
    for i in 0..50 {
        let m = pull.recv_bytes(0).expect("lost messages after reconnect");
        assert_eq!(String::from_utf8_lossy(&m), format!("after-{i}"));
    }
    eprintln!("pull side: all through {:?} after the restart", restarted.elapsed());
    assert_no_io_panics();
}

// ------------------------------------------------------------------------------------------
// 6. Incompatible socket types never exchange messages.
// ------------------------------------------------------------------------------------------

/// What libzmq 4.3 reports when the peer's READY names an incompatible socket type: the
/// metadata check fails without a HANDSHAKE_FAILED_* detail (mechanism.cpp sets EINVAL), so
/// the session ends with DISCONNECTED. If libsock's own check closes the stream first, libzmq
/// may instead see the close during the handshake (HANDSHAKE_FAILED_NO_DETAIL, then
/// DISCONNECTED). Either way: a DISCONNECTED and never HANDSHAKE_SUCCEEDED.
fn assert_rejected(mon: &mut Monitor) {
    let disconnected = zmq::SocketEvent::DISCONNECTED.to_raw();
    assert!(
        mon.wait_for(ms(3000), |id| id == disconnected),
        "libzmq never dropped the incompatible peer; events: {}",
        mon.log()
    );
    // Let libsock retry a few times (reconnect_ivl 20 ms): still never a handshake.
    mon.collect_for(ms(300));
    assert!(
        !mon.saw(zmq::SocketEvent::HANDSHAKE_SUCCEEDED),
        "handshake between incompatible types succeeded; events: {}",
        mon.log()
    );
    eprintln!("libzmq events: {}", mon.log());
}

/// libsock and libzmq still work after the rejected connection attempts.
fn assert_still_works(world: &World) {
    let pull = world.socket(Lib::Libzmq, Kind::Pull);
    let push = world.socket(Lib::Libsock, Kind::Push);
    let ep = pull.bind(world, "tcp");
    push.connect(&ep);
    push.send(b"still alive");
    assert_eq!(pull.recv(), b"still alive");
    assert_no_io_panics();
}

#[test]
fn incompatible_libsock_push_to_zmq_push() {
    let world = World::new();
    let z = world.z_socket(Kind::Push);
    let mut mon = Monitor::attach(&world, &z);
    z.bind("tcp://127.0.0.1:*").unwrap();
    let ep = z.get_last_endpoint().unwrap().unwrap();

    let push = world.ls_socket(Kind::Push);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    // Queues into the connect-time pipe; must never go anywhere.
    push.send("never delivered", libsock::DONTWAIT).unwrap();
    assert_rejected(&mut mon);
    assert!(mon.count(zmq::SocketEvent::ACCEPTED) >= 1, "{}", mon.log());
    assert_still_works(&world);
}

#[test]
fn incompatible_libsock_pair_to_zmq_pull_delivers_nothing() {
    let world = World::new();
    let z = world.z_socket(Kind::Pull);
    let mut mon = Monitor::attach(&world, &z);
    z.bind("tcp://127.0.0.1:*").unwrap();
    let ep = z.get_last_endpoint().unwrap().unwrap();

    let pair = world.ls_socket(Kind::Pair);
    pair.set_reconnect_ivl(20).unwrap();
    pair.connect(&ep).unwrap();
    pair.send("never delivered", libsock::DONTWAIT).unwrap();
    assert_rejected(&mut mon);
    z.set_rcvtimeo(100).unwrap();
    assert!(matches!(z.recv_bytes(0), Err(zmq::Error::EAGAIN)), "libzmq PULL received from a PAIR");
    assert_still_works(&world);
}

#[test]
fn incompatible_zmq_push_to_libsock_pair_delivers_nothing() {
    let world = World::new();
    let pair = world.ls_socket(Kind::Pair);
    pair.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pair.get_last_endpoint().unwrap();

    let z = world.z_socket(Kind::Push);
    z.set_reconnect_ivl(20).unwrap();
    let mut mon = Monitor::attach(&world, &z);
    z.connect(&ep).unwrap();
    // libzmq queues it in the connect-time pipe.
    z.send("never delivered", zmq::DONTWAIT).unwrap();
    assert_rejected(&mut mon);
    assert!(mon.saw(zmq::SocketEvent::CONNECTED), "{}", mon.log());
    pair.set_rcvtimeo(100).unwrap();
    assert!(matches!(pair.recv_bytes(0), Err(libsock::Error::TimedOut)), "libsock PAIR received from a PUSH");
    assert_still_works(&world);
}

// ------------------------------------------------------------------------------------------
// 7. One libsock PULL, three libzmq PUSH peers: fair queuing.
// ------------------------------------------------------------------------------------------

#[test]
fn libsock_pull_fair_queues_three_zmq_pushers() {
    let world = World::new();
    let pull = world.ls_socket(Kind::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap();

    const PEERS: usize = 3;
    const EACH: usize = 200;
    let pushers: Vec<zmq::Socket> = (0..PEERS)
        .map(|_| {
            let s = world.z_socket(Kind::Push);
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    // Everyone is connected once each hello arrived.
    for (k, p) in pushers.iter().enumerate() {
        p.send(format!("hello {k}").as_str(), 0).unwrap();
    }
    let mut hellos: Vec<Vec<u8>> = (0..PEERS).map(|_| pull.recv_bytes(0).unwrap()).collect();
    hellos.sort();
    let expected: Vec<Vec<u8>> = (0..PEERS).map(|k| format!("hello {k}").into_bytes()).collect();
    assert_eq!(hellos, expected);

    for i in 0..EACH {
        for (k, p) in pushers.iter().enumerate() {
            p.send_multipart([format!("{k}").into_bytes(), format!("{i}").into_bytes()], 0).unwrap();
        }
    }
    // Let all three queues fill on libsock's side, so fairness (not arrival order) decides.
    std::thread::sleep(ms(200));

    let mut next = [0usize; PEERS];
    let mut order = Vec::with_capacity(PEERS * EACH);
    for _ in 0..PEERS * EACH {
        let parts = pull.recv_multipart(0).unwrap();
        assert_eq!(parts.len(), 2, "{parts:?}");
        let k: usize = String::from_utf8_lossy(&parts[0]).parse().unwrap();
        let i: usize = String::from_utf8_lossy(&parts[1]).parse().unwrap();
        assert_eq!(i, next[k], "peer {k}'s messages out of order");
        next[k] += 1;
        order.push(k);
    }
    assert_eq!(next, [EACH; PEERS]);
    pull.set_rcvtimeo(50).unwrap();
    assert!(pull.recv_bytes(0).is_err(), "unexpected extra message");

    // Fair queuing: in every window of 30 consecutive messages (while all peers still have
    // messages queued), every peer is served.
    let window = 30;
    for (w, chunk) in order[..PEERS * EACH * 2 / 3].chunks_exact(window).enumerate() {
        for k in 0..PEERS {
            let n = chunk.iter().filter(|&&x| x == k).count();
            assert!(
                n >= window / PEERS / 2,
                "peer {k} got {n} of messages {}..{}: {chunk:?}",
                w * window,
                (w + 1) * window
            );
        }
    }
    assert_no_io_panics();
}
