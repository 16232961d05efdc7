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
//! This file holds what they share beyond `common/both.rs` (one socket of either library
//! behind one interface): libzmq's socket monitor.
//!
//! Every socket has LINGER 0 and receive/send timeouts, so a failure fails instead of hanging.

#[path = "../common/both.rs"]
mod both;
#[path = "../common/mod.rs"]
mod common;

mod heartbeats;
mod incompatible;
mod pair;
mod pipeline;
mod reconnect;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use both::*;
use common::*;
use libsock::{SocketType, PAIR, PULL, PUSH};

/// Send and receive timeout of every socket in these tests (`both::World` sets it).
const TIMEO_MS: i32 = 5000;

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
///
/// libzmq 4.3 sends monitor events blocking, from its I/O thread. Dropped while the watched
/// socket lives, it can leave that thread stuck sending the watched socket's last events
/// (its listener's CLOSED), and every other socket of the context with it, until the
/// context ends. Where the context goes on, end with [`Monitor::close_watched`].
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

    /// Closes the watched socket (`watched`: it, or what owns it), then takes its events
    /// until libzmq's MONITOR_STOPPED, sent when the socket is gone: no event is left
    /// waiting for a reader.
    fn close_watched<T>(mut self, watched: T) {
        drop(watched);
        let stopped = zmq::SocketEvent::MONITOR_STOPPED.to_raw();
        assert!(
            self.wait_for(Duration::from_secs(5), |id| id == stopped),
            "no MONITOR_STOPPED: {}",
            self.log()
        );
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
