//! Interop of the request/reply family (REQ, REP, DEALER, ROUTER) and the publish/subscribe
//! family (PUB, SUB, XPUB, XSUB) with a real libzmq (4.3.4, through the `zmq` crate).
//!
//! - `pairs`: every valid pair of those types, with libsock on each side and each side
//!   binding, over tcp and ipc (`matrix_*`).
//! - `subscriptions`: PUB/SUB filters and counted (un)subscriptions across the libraries, XPUB
//!   subscription messages and XPUB_VERBOSE on either side.
//! - `reqrep`: REQ/REP envelopes through ROUTER and DEALER, and a hand-driven broker in either
//!   library.
//! - `routing_ids`: routing ids chosen by either side: ROUTING_ID, automatic ids,
//!   CONNECT_ROUTING_ID, ROUTER_MANDATORY.
//! - `crafted_peers`: subscriptions on the wire, to a crafted ZMTP 3.0 peer (messages
//!   `0x01`/`0x00` + topic) and a crafted ZMTP 3.1 peer (SUBSCRIBE/CANCEL commands), both
//!   directions.
//! - `monitor`: monitor events, libsock's for a libzmq peer, and libzmq's parsed by libsock.
//!
//! This file holds what they share: one socket of either library behind one interface, so
//! each scenario is written once. Every socket has LINGER 0 and send/receive timeouts, so a
//! failure fails instead of hanging.

#[path = "../common/both.rs"]
mod both;
#[path = "../common/mod.rs"]
mod common;

mod crafted_peers;
mod monitor;
mod pairs;
mod reqrep;
mod routing_ids;
mod subscriptions;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use both::*;
use common::*;
use libsock::codec::command::{parse_command, Command};
use libsock::codec::frame::{decode_header, encode_frame};
use libsock::codec::greeting::{Greeting, Mechanism, GREETING_LEN};
use libsock::codec::null::encode_ready;
use libsock::codec::properties::find;
use libsock::{MonitorEvent, SocketEvent, SocketType, EVENT_ALL};
use libsock::{DEALER, PUB, REP, REQ, ROUTER, SUB, XPUB, XSUB};

/// Send and receive timeout of every socket in these tests (`both::World` sets it).
const TIMEO_MS: i32 = 3000;

// ------------------------------------------------------------------------------------------
// What these scenarios add to `both::Sock`.
// ------------------------------------------------------------------------------------------

impl Sock {
    /// Asserts nothing arrives within `ms`.
    fn assert_silent(&self, ms: i32, what: &str) {
        self.set_rcvtimeo(ms);
        let got = self.try_recv_parts();
        self.set_rcvtimeo(TIMEO_MS);
        assert!(got.is_none(), "{}: {what}: unexpectedly received {:?}", self.label(), got.map(show));
    }

    /// SUB: the SUBSCRIBE option; XSUB: a `0x01` + topic message (both libraries).
    fn subscribe(&self, topic: &[u8]) {
        match (&self.inner, self.kind) {
            (_, SocketType::XSUB) => self.send([&[1u8][..], topic].concat()),
            (Inner::Ls(s), _) => s.set_subscribe(topic).unwrap(),
            (Inner::Z(s), _) => s.set_subscribe(topic).unwrap(),
        }
    }

    /// SUB: the UNSUBSCRIBE option; XSUB: a `0x00` + topic message.
    fn unsubscribe(&self, topic: &[u8]) {
        match (&self.inner, self.kind) {
            (_, SocketType::XSUB) => self.send([&[0u8][..], topic].concat()),
            (Inner::Ls(s), _) => s.set_unsubscribe(topic).unwrap(),
            (Inner::Z(s), _) => s.set_unsubscribe(topic).unwrap(),
        }
    }

    /// Lets the socket's application side catch up, as any use of the socket does (reading
    /// ZMQ_EVENTS here). libzmq attaches a peer that connected to a bound socket, and sends it
    /// a subscriber's subscriptions, only when the application next touches the socket; a
    /// subscriber application sits in recv, which does the same.
    fn poke(&self) {
        match &self.inner {
            Inner::Ls(s) => drop(s.get_events().unwrap()),
            Inner::Z(s) => drop(s.get_events().unwrap()),
        }
    }

    /// Receives a single-frame message while `busy` is an application that keeps using its
    /// socket (a subscriber sitting in recv, say).
    fn recv_poking(&self, busy: &Sock) -> Vec<u8> {
        let deadline = Instant::now() + ms(TIMEO_MS as u64);
        self.set_rcvtimeo(10);
        let got = loop {
            busy.poke();
            if let Some(m) = self.try_recv_parts() {
                break m;
            }
            assert!(Instant::now() < deadline, "{}: receive timed out", self.label());
        };
        self.set_rcvtimeo(TIMEO_MS);
        assert_eq!(got.len(), 1, "{}: expected a single-frame message, got {:?}", self.label(), show(got));
        got.into_iter().next().unwrap()
    }

    fn set_routing_id(&self, id: &[u8]) {
        match &self.inner {
            Inner::Ls(s) => s.set_routing_id(id).unwrap(),
            Inner::Z(s) => s.set_identity(id).unwrap(),
        }
    }

    fn set_router_mandatory(&self, on: bool) {
        match &self.inner {
            Inner::Ls(s) => s.set_router_mandatory(on).unwrap(),
            Inner::Z(s) => s.set_router_mandatory(on).unwrap(),
        }
    }

    fn set_xpub_verbose(&self, on: bool) {
        match &self.inner {
            Inner::Ls(s) => s.set_xpub_verbose(on).unwrap(),
            Inner::Z(s) => s.set_xpub_verbose(on).unwrap(),
        }
    }
}

/// Waits until `a` or `b` has a message to read (or `ms` pass); both of the same library.
fn poll_in(a: &Sock, b: &Sock, ms: i64) {
    match (&a.inner, &b.inner) {
        (Inner::Ls(a), Inner::Ls(b)) => {
            let mut items = [a.as_poll_item(libsock::POLLIN), b.as_poll_item(libsock::POLLIN)];
            libsock::poll(&mut items, ms).unwrap();
        }
        (Inner::Z(a), Inner::Z(b)) => {
            let mut items = [a.as_poll_item(zmq::POLLIN), b.as_poll_item(zmq::POLLIN)];
            zmq::poll(&mut items, ms).unwrap();
        }
        _ => panic!("poll_in needs two sockets of one library"),
    }
}

fn parts(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// An automatic routing id: 5 bytes, the first zero (libzmq's format, used by both).
fn assert_auto_id(id: &[u8], who: &str) {
    assert!(id.len() == 5 && id[0] == 0, "{who}: automatic routing id should be 0x00 + u32, got {id:?}");
}

/// Publishes `probe` until `sub` receives a message starting with it (subscriptions
/// propagate asynchronously), then drains every copy still in flight.
fn sync_probe(publisher: &Sock, sub: &Sock, probe: &[u8]) {
    let deadline = Instant::now() + ms(3000);
    sub.set_rcvtimeo(20);
    loop {
        publisher.send(probe);
        if let Some(m) = sub.try_recv_parts() {
            assert!(m[0].starts_with(probe), "{}: expected the probe, got {:?}", sub.label(), show(m));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} never received probe {:?} from {}: the subscription did not arrive",
            sub.label(),
            String::from_utf8_lossy(probe),
            publisher.label()
        );
    }
    sub.set_rcvtimeo(TIMEO_MS);
}

/// Receives messages until one equal to `end`, skipping those starting with `skip`; returns
/// the others, in order.
fn collect_until(sub: &Sock, end: &[u8], skip: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut got = Vec::new();
    loop {
        let m = sub.try_recv_parts().unwrap_or_else(|| {
            panic!(
                "{}: {:?} never arrived; got before: {:?}",
                sub.label(),
                String::from_utf8_lossy(end),
                got.iter().cloned().map(show).collect::<Vec<_>>()
            )
        });
        if m.len() == 1 && m[0] == end {
            return got;
        }
        if m[0].starts_with(skip) {
            continue;
        }
        got.push(m);
    }
}
