//! Interop with a real libzmq (4.3, through the `zmq` crate): libsock must talk to it over
//! tcp and ipc in every role, keep heartbeating connections up, reconnect, and refuse
//! incompatible peers without delivering anything.
//!
//! - `pipeline`: PUSH/PULL in every direction, role and transport; bursts; fair queuing.
//! - `pair`: PAIR ping-pong, each library binding.
//! - `heartbeats`: PING/PONG keep connections up; a silent peer is dropped; the peer's TTL.
//! - `reconnect`: the libzmq peer goes away and comes back on the same port.
//! - `incompatible`: socket types that must not talk exchange nothing.
//!
//! This file holds what they share: a record of I/O-thread panics, one socket of either
//! library behind one interface, and libzmq's socket monitor.
//!
//! Every socket has LINGER 0 and receive/send timeouts, so a failure fails instead of hanging.

#[path = "../common/mod.rs"]
mod common;

mod heartbeats;
mod incompatible;
mod pair;
mod pipeline;
mod reconnect;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;

/// Receive timeout of every socket in these tests.
const RCVTIMEO_MS: i32 = 5000;

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
