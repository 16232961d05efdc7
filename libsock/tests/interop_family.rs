//! Interop of the request/reply family (REQ, REP, DEALER, ROUTER) and the publish/subscribe
//! family (PUB, SUB, XPUB, XSUB) with a real libzmq (4.3.4, through the `zmq` crate).
//!
//! - Every valid pair of those types, with libsock on each side and each side binding, over
//!   tcp and ipc (`matrix_*`).
//! - PUB/SUB filters and counted (un)subscriptions across the libraries, XPUB subscription
//!   messages and XPUB_VERBOSE on either side.
//! - REQ/REP envelopes through ROUTER and DEALER, and a hand-driven broker in either library.
//! - Routing ids chosen by either side: ROUTING_ID, automatic ids, CONNECT_ROUTING_ID,
//!   ROUTER_MANDATORY.
//! - Subscriptions on the wire, to a crafted ZMTP 3.0 peer (messages `0x01`/`0x00` + topic)
//!   and a crafted ZMTP 3.1 peer (SUBSCRIBE/CANCEL commands), both directions.
//! - Monitor events: libsock's for a libzmq peer, and libzmq's parsed by libsock.
//!
//! Every socket has LINGER 0 and send/receive timeouts, so a failure fails instead of hanging.

mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use common::*;
use libsock::codec::command::{parse_command, Command};
use libsock::codec::frame::{decode_header, encode_frame};
use libsock::codec::greeting::{Greeting, Mechanism, GREETING_LEN};
use libsock::codec::null::encode_ready;
use libsock::codec::properties::find;
use libsock::{MonitorEvent, SocketEvent, SocketType, EVENT_ALL};
use libsock::{DEALER, PUB, REP, REQ, ROUTER, SUB, XPUB, XSUB};

/// Send and receive timeout of every socket in these tests.
const TIMEO_MS: i32 = 3000;

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

impl Lib {
    fn other(self) -> Lib {
        match self {
            Lib::Libsock => Lib::Libzmq,
            Lib::Libzmq => Lib::Libsock,
        }
    }
}

fn zmq_type(kind: SocketType) -> zmq::SocketType {
    match kind {
        SocketType::PAIR => zmq::PAIR,
        SocketType::PUB => zmq::PUB,
        SocketType::SUB => zmq::SUB,
        SocketType::REQ => zmq::REQ,
        SocketType::REP => zmq::REP,
        SocketType::DEALER => zmq::DEALER,
        SocketType::ROUTER => zmq::ROUTER,
        SocketType::PULL => zmq::PULL,
        SocketType::PUSH => zmq::PUSH,
        SocketType::XPUB => zmq::XPUB,
        SocketType::XSUB => zmq::XSUB,
        SocketType::STREAM => zmq::STREAM,
        other => unimplemented!("{other}"),
    }
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

    fn socket(&self, lib: Lib, kind: SocketType) -> Sock {
        let inner = match lib {
            Lib::Libsock => Inner::Ls(self.ls_socket(kind)),
            Lib::Libzmq => Inner::Z(self.z_socket(kind)),
        };
        Sock { kind, inner }
    }

    fn ls_socket(&self, kind: SocketType) -> libsock::Socket {
        let s = socket(&self.ls, kind);
        s.set_rcvtimeo(TIMEO_MS).unwrap();
        s.set_sndtimeo(TIMEO_MS).unwrap();
        s
    }

    fn z_socket(&self, kind: SocketType) -> zmq::Socket {
        let s = self.z.socket(zmq_type(kind)).unwrap();
        s.set_linger(0).unwrap();
        s.set_rcvtimeo(TIMEO_MS).unwrap();
        s.set_sndtimeo(TIMEO_MS).unwrap();
        s
    }

    /// An endpoint to bind: tcp on a free loopback port, or a fresh ipc path under the temp dir.
    fn bind_endpoint(&self, transport: &str) -> String {
        match transport {
            "tcp" => "tcp://127.0.0.1:*".to_string(),
            "ipc" => {
                static N: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "libsock-family-{}-{}.ipc",
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
enum Inner {
    Ls(libsock::Socket),
    Z(zmq::Socket),
}

struct Sock {
    kind: SocketType,
    inner: Inner,
}

/// Why a send failed, in terms both libraries share.
#[derive(Debug)]
enum SendFail {
    Unreachable,
    Other(#[allow(dead_code)] String),
}

impl Sock {
    fn lib(&self) -> Lib {
        match self.inner {
            Inner::Ls(_) => Lib::Libsock,
            Inner::Z(_) => Lib::Libzmq,
        }
    }

    fn label(&self) -> String {
        format!("{:?} {}", self.lib(), self.kind)
    }

    /// Binds on a fresh endpoint of `transport`; returns the endpoint to connect to.
    fn bind(&self, world: &World, transport: &str) -> String {
        let ep = world.bind_endpoint(transport);
        match &self.inner {
            Inner::Ls(s) => {
                s.bind(&ep).unwrap();
                s.get_last_endpoint().unwrap()
            }
            Inner::Z(s) => {
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
        match &self.inner {
            Inner::Ls(s) => s.connect(ep).unwrap(),
            Inner::Z(s) => s.connect(ep).unwrap(),
        }
    }

    fn try_send_parts<T: AsRef<[u8]>>(&self, parts: &[T]) -> Result<(), SendFail> {
        let parts: Vec<Vec<u8>> = parts.iter().map(|p| p.as_ref().to_vec()).collect();
        match &self.inner {
            Inner::Ls(s) => s.send_multipart(parts, 0).map_err(|e| match e {
                libsock::Error::HostUnreachable => SendFail::Unreachable,
                e => SendFail::Other(format!("{e:?}")),
            }),
            Inner::Z(s) => s.send_multipart(parts, 0).map_err(|e| match e {
                zmq::Error::EHOSTUNREACH => SendFail::Unreachable,
                e => SendFail::Other(format!("{e:?}")),
            }),
        }
    }

    fn send_parts<T: AsRef<[u8]>>(&self, parts: &[T]) {
        if let Err(e) = self.try_send_parts(parts) {
            panic!("{} send failed: {e:?}", self.label());
        }
    }

    fn send(&self, data: impl AsRef<[u8]>) {
        self.send_parts(&[data.as_ref()]);
    }

    fn recv_flags(&self, dontwait: bool) -> Option<Vec<Vec<u8>>> {
        match &self.inner {
            Inner::Ls(s) => match s.recv_multipart(if dontwait { libsock::DONTWAIT } else { 0 }) {
                Ok(m) => Some(m),
                Err(libsock::Error::TimedOut | libsock::Error::WouldBlock) => None,
                Err(e) => panic!("libsock {} recv failed: {e:?}", self.kind),
            },
            Inner::Z(s) => match s.recv_multipart(if dontwait { zmq::DONTWAIT } else { 0 }) {
                Ok(m) => Some(m),
                Err(zmq::Error::EAGAIN) => None,
                Err(e) => panic!("libzmq {} recv failed: {e:?}", self.kind),
            },
        }
    }

    /// Receives one whole message, or `None` on timeout.
    fn try_recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        self.recv_flags(false)
    }

    /// Receives one whole message if one is there now.
    fn recv_nowait(&self) -> Option<Vec<Vec<u8>>> {
        self.recv_flags(true)
    }

    fn recv_parts(&self) -> Vec<Vec<u8>> {
        self.try_recv_parts().unwrap_or_else(|| panic!("{}: receive timed out", self.label()))
    }

    fn recv(&self) -> Vec<u8> {
        let mut parts = self.recv_parts();
        assert_eq!(parts.len(), 1, "{}: expected a single-frame message, got {parts:?}", self.label());
        parts.pop().unwrap()
    }

    /// Asserts nothing arrives within `ms`.
    fn assert_silent(&self, ms: i32, what: &str) {
        self.set_rcvtimeo(ms);
        let got = self.try_recv_parts();
        self.set_rcvtimeo(TIMEO_MS);
        assert!(got.is_none(), "{}: {what}: unexpectedly received {:?}", self.label(), got.map(show));
    }

    fn set_rcvtimeo(&self, ms: i32) {
        match &self.inner {
            Inner::Ls(s) => s.set_rcvtimeo(ms).unwrap(),
            Inner::Z(s) => s.set_rcvtimeo(ms).unwrap(),
        }
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

    fn ls(&self) -> &libsock::Socket {
        match &self.inner {
            Inner::Ls(s) => s,
            Inner::Z(_) => panic!("not a libsock socket"),
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

/// `n` bytes of a pattern that depends on `seed`, so misplaced bytes do not compare equal.
fn body(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + seed * 7) % 251) as u8).collect()
}

fn show(parts: Vec<Vec<u8>>) -> Vec<String> {
    parts.into_iter().map(|p| String::from_utf8_lossy(&p).into_owned()).collect()
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

// ------------------------------------------------------------------------------------------
// 1. Every valid pair, libsock on each side, each side binding, over tcp and ipc.
// ------------------------------------------------------------------------------------------

/// The side of a pair: `A` starts the conversation (requester, publisher), `B` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Runs the scenario of the pair (`a`, `b`) for every (side libsock plays, side that binds):
/// four combinations, two when both sides have the same type.
fn matrix_case(a: SocketType, b: SocketType, transport: &str) {
    let mut combos = Vec::new();
    for libsock_side in [Side::A, Side::B] {
        if a == b && libsock_side == Side::B {
            continue;
        }
        for binder in [Side::A, Side::B] {
            combos.push((libsock_side, binder));
        }
    }
    for (libsock_side, binder) in combos {
        let started = Instant::now();
        let world = World::new();
        let (lib_a, lib_b) = match libsock_side {
            Side::A => (Lib::Libsock, Lib::Libzmq),
            Side::B => (Lib::Libzmq, Lib::Libsock),
        };
        let sa = world.socket(lib_a, a);
        let sb = world.socket(lib_b, b);
        let what = format!(
            "{} <-> {}, {binder:?} ({}) binds, {transport}",
            sa.label(),
            sb.label(),
            match binder {
                Side::A => sa.label(),
                Side::B => sb.label(),
            }
        );
        if (a, b) == (SocketType::ROUTER, SocketType::ROUTER) {
            // Each ROUTER must know the other's id: both announce one; the connecting side
            // sends first, retrying (ROUTER_MANDATORY) until the peer is identified.
            let (bound, connecting) = if binder == Side::A { (&sa, &sb) } else { (&sb, &sa) };
            bound.set_routing_id(b"bound-router");
            connecting.set_routing_id(b"connecting-router");
            connecting.set_router_mandatory(true);
        }
        if (a, b) == (SocketType::DEALER, SocketType::ROUTER) {
            sa.set_routing_id(b"dealer-7");
        }
        let (bound, connecting) = if binder == Side::A { (&sa, &sb) } else { (&sb, &sa) };
        let ep = bound.bind(&world, transport);
        connecting.connect(&ep);

        match (a, b) {
            (SocketType::REQ, SocketType::REP) => req_rep(&sa, &sb),
            (SocketType::REQ, SocketType::ROUTER) => req_router(&sa, &sb),
            (SocketType::DEALER, SocketType::REP) => dealer_rep(&sa, &sb),
            (SocketType::DEALER, SocketType::DEALER) => dealer_dealer(&sa, &sb),
            (SocketType::DEALER, SocketType::ROUTER) => dealer_router(&sa, &sb),
            (SocketType::ROUTER, SocketType::ROUTER) => router_router(bound, connecting),
            (SocketType::PUB, SocketType::SUB | SocketType::XSUB) => pub_sub(&sa, &sb),
            (SocketType::XPUB, SocketType::SUB | SocketType::XSUB) => xpub_sub(&sa, &sb),
            other => panic!("not a pair of this family: {other:?}"),
        }
        assert_no_io_panics();
        eprintln!("ok: {what} in {:?}", started.elapsed());
    }
}

fn req_rep(req: &Sock, rep: &Sock) {
    for i in 0..10usize {
        let request = vec![format!("q{i}").into_bytes(), body(i * 40, i), Vec::new()];
        req.send_parts(&request);
        assert_eq!(rep.recv_parts(), request, "request #{i}");
        let reply = vec![format!("a{i}").into_bytes(), body(300, i)];
        rep.send_parts(&reply);
        assert_eq!(req.recv_parts(), reply, "reply #{i}");
    }
}

fn req_router(req: &Sock, router: &Sock) {
    let mut seen_id: Option<Vec<u8>> = None;
    for i in 0..10usize {
        let q = format!("q{i}").into_bytes();
        req.send_parts(&[&q, &body(i * 10, i)]);
        let got = router.recv_parts();
        assert_eq!(got.len(), 4, "ROUTER sees [id, \"\", body...]: {:?}", show(got));
        assert_eq!(got[1], b"", "the REQ's empty delimiter");
        assert_eq!(got[2], q);
        assert_eq!(got[3], body(i * 10, i));
        assert_auto_id(&got[0], &router.label());
        if let Some(id) = &seen_id {
            assert_eq!(&got[0], id, "one peer keeps its routing id");
        }
        seen_id = Some(got[0].clone());
        let a = format!("a{i}").into_bytes();
        router.send_parts(&[&got[0][..], b"", &a]);
        assert_eq!(req.recv_parts(), vec![a], "reply #{i}");
    }
}

fn dealer_rep(dealer: &Sock, rep: &Sock) {
    // Requests pipelined: a DEALER does not wait for replies.
    for i in 0..5 {
        dealer.send_parts(&["", &format!("q{i}"), "tail"]);
    }
    for i in 0..5 {
        assert_eq!(rep.recv_parts(), parts(&[&format!("q{i}"), "tail"]), "request #{i}");
        rep.send_parts(&[format!("a{i}")]);
    }
    for i in 0..5 {
        assert_eq!(dealer.recv_parts(), parts(&["", &format!("a{i}")]), "reply #{i}, envelope restored");
    }
}

fn dealer_dealer(a: &Sock, b: &Sock) {
    for i in 0..5usize {
        a.send_parts(&[format!("a->b {i}").into_bytes(), Vec::new(), body(i * 100, i)]);
    }
    for i in 0..5usize {
        assert_eq!(b.recv_parts(), vec![format!("a->b {i}").into_bytes(), Vec::new(), body(i * 100, i)]);
        b.send(format!("b->a {i}"));
    }
    for i in 0..5 {
        assert_eq!(a.recv(), format!("b->a {i}").into_bytes());
    }
}

fn dealer_router(dealer: &Sock, router: &Sock) {
    for i in 0..5 {
        dealer.send_parts(&[format!("q{i}"), "x".into()]);
        assert_eq!(
            router.recv_parts(),
            parts(&["dealer-7", &format!("q{i}"), "x"]),
            "ROUTER sees the DEALER's id"
        );
        router.send_parts(&["dealer-7", &format!("a{i}")]);
        assert_eq!(dealer.recv_parts(), parts(&[&format!("a{i}")]));
    }
    // Without ROUTER_MANDATORY, unroutable messages vanish and routing goes on.
    router.send_parts(&["nobody", "lost"]);
    router.send_parts(&["dealer-7", "after"]);
    assert_eq!(dealer.recv(), b"after");
    dealer.assert_silent(50, "a message to an unknown id arrived");
}

fn router_router(bound: &Sock, connecting: &Sock) {
    let deadline = Instant::now() + ms(3000);
    loop {
        match connecting.try_send_parts(&["bound-router", "hello"]) {
            Ok(()) => break,
            Err(SendFail::Unreachable) if Instant::now() < deadline => std::thread::sleep(ms(5)),
            Err(e) => panic!("{}: cannot reach the bound ROUTER: {e:?}", connecting.label()),
        }
    }
    assert_eq!(bound.recv_parts(), parts(&["connecting-router", "hello"]));
    bound.send_parts(&["connecting-router", "welcome", ""]);
    assert_eq!(connecting.recv_parts(), parts(&["bound-router", "welcome", ""]));
    for i in 0..5 {
        connecting.send_parts(&["bound-router", &format!("m{i}")]);
        assert_eq!(bound.recv_parts(), parts(&["connecting-router", &format!("m{i}")]));
    }
}

fn pub_sub(publisher: &Sock, sub: &Sock) {
    sub.subscribe(b"weather.");
    sub.subscribe(b"news");
    sub.subscribe(b"sync");
    sync_probe(publisher, sub, b"sync");
    for m in ["sports.1", "weather.paris", "newsflash", "new", "weather", "weather.oslo", "news"] {
        publisher.send(m);
    }
    publisher.send_parts(&["weather.multi", "part 2", ""]);
    publisher.send_parts(&["sports.multi", "part 2"]);
    publisher.send("sync.end");
    let got = collect_until(sub, b"sync.end", b"sync");
    let want = vec![
        parts(&["weather.paris"]),
        parts(&["newsflash"]),
        parts(&["weather.oslo"]),
        parts(&["news"]),
        parts(&["weather.multi", "part 2", ""]),
    ];
    assert_eq!(got, want, "{} <- {}: only matching topics", sub.label(), publisher.label());

    // Unsubscribing stops delivery. A fresh subscription sent after the cancel shows when the
    // publisher has processed it (one connection keeps the order).
    sub.unsubscribe(b"weather.");
    sub.subscribe(b"after");
    sync_probe(publisher, sub, b"after");
    for m in ["weather.rome", "newsreel", "weather.", "after.end"] {
        publisher.send(m);
    }
    let got = collect_until(sub, b"after.end", b"after");
    assert_eq!(got, vec![parts(&["newsreel"])], "{}: unsubscribed topic still delivered", sub.label());
}

fn xpub_sub(xpub: &Sock, sub: &Sock) {
    sub.subscribe(b"alpha");
    assert_eq!(xpub.recv_poking(sub), b"\x01alpha", "{} sees the subscription", xpub.label());
    sub.subscribe(b"beta");
    assert_eq!(xpub.recv_poking(sub), b"\x01beta");
    // The XPUB applied each subscription before handing it up: no probing needed.
    for m in ["gamma.1", "alpha.1", "beta.1", "alph"] {
        xpub.send(m);
    }
    assert_eq!(sub.recv(), b"alpha.1");
    assert_eq!(sub.recv(), b"beta.1");
    sub.unsubscribe(b"alpha");
    assert_eq!(xpub.recv_poking(sub), b"\x00alpha", "{} sees the cancel", xpub.label());
    for m in ["alpha.2", "beta.2"] {
        xpub.send(m);
    }
    assert_eq!(sub.recv(), b"beta.2");
    if sub.kind == SocketType::XSUB {
        // Anything else an XSUB sends goes up to the XPUB's application as is.
        sub.send_parts(&["upstream", "two parts"]);
        assert_eq!(xpub.recv_parts(), parts(&["upstream", "two parts"]));
    }
    sub.assert_silent(50, "unsubscribed or unmatched topic delivered");
}

macro_rules! matrix_tests {
    ($($name:ident: $a:ident, $b:ident, $transport:literal;)*) => {
        $(
            #[test]
            fn $name() {
                matrix_case(SocketType::$a, SocketType::$b, $transport);
            }
        )*
    };
}

matrix_tests! {
    matrix_req_rep_tcp: REQ, REP, "tcp";
    matrix_req_router_tcp: REQ, ROUTER, "tcp";
    matrix_dealer_rep_tcp: DEALER, REP, "tcp";
    matrix_dealer_dealer_tcp: DEALER, DEALER, "tcp";
    matrix_dealer_router_tcp: DEALER, ROUTER, "tcp";
    matrix_router_router_tcp: ROUTER, ROUTER, "tcp";
    matrix_pub_sub_tcp: PUB, SUB, "tcp";
    matrix_pub_xsub_tcp: PUB, XSUB, "tcp";
    matrix_xpub_sub_tcp: XPUB, SUB, "tcp";
    matrix_xpub_xsub_tcp: XPUB, XSUB, "tcp";
    matrix_req_rep_ipc: REQ, REP, "ipc";
    matrix_req_router_ipc: REQ, ROUTER, "ipc";
    matrix_dealer_router_ipc: DEALER, ROUTER, "ipc";
    matrix_router_router_ipc: ROUTER, ROUTER, "ipc";
    matrix_pub_sub_ipc: PUB, SUB, "ipc";
    matrix_xpub_xsub_ipc: XPUB, XSUB, "ipc";
}

// ------------------------------------------------------------------------------------------
// 2. Subscriptions across the libraries: counting, XPUB_VERBOSE, cancels on disconnect, and
//    a libsock PUB filtering for a receiver that does not filter (libzmq's XSUB).
// ------------------------------------------------------------------------------------------

/// Two subscribers of one library subscribe to the same topic on an XPUB of the other; one
/// subscribes twice. Non-verbose XPUBs report a topic once, verbose ones every subscribe;
/// cancels come when the last reference goes, also when a subscriber disconnects.
fn xpub_subscription_messages_case(xpub_lib: Lib, verbose: bool) {
    let world = World::new();
    let xpub = world.socket(xpub_lib, XPUB);
    xpub.set_xpub_verbose(verbose);
    let ep = xpub.bind(&world, "tcp");
    let s1 = world.socket(xpub_lib.other(), SUB);
    let s2 = world.socket(xpub_lib.other(), SUB);
    s1.connect(&ep);
    s2.connect(&ep);

    s1.subscribe(b"topic");
    assert_eq!(xpub.recv(), b"\x01topic");
    s1.subscribe(b"topic");
    s2.subscribe(b"topic");
    if verbose {
        assert_eq!(xpub.recv(), b"\x01topic", "verbose: s1's second subscribe is passed up");
        assert_eq!(xpub.recv(), b"\x01topic", "verbose: s2's subscribe is passed up");
    }
    xpub.assert_silent(100, "duplicate subscription passed up");
    s2.subscribe(b"other");
    assert_eq!(xpub.recv(), b"\x01other", "a new topic is always passed up");

    // Counted: s1 needs two unsubscribes.
    s1.unsubscribe(b"topic");
    xpub.send("topic.1");
    assert_eq!(s1.recv(), b"topic.1", "s1 subscribed twice, unsubscribed once");
    assert_eq!(s2.recv(), b"topic.1");
    s1.unsubscribe(b"topic");
    xpub.send("other.sync");
    assert_eq!(s2.recv(), b"other.sync");
    xpub.send("topic.2");
    assert_eq!(s2.recv(), b"topic.2");
    s1.assert_silent(50, "fully unsubscribed");
    // s2 still holds "topic": nobody has cancelled it as far as the XPUB can tell.
    xpub.assert_silent(100, "a topic still subscribed elsewhere reported gone");

    // The last subscriber of both topics leaves: the XPUB reports them gone.
    drop(s2);
    let mut gone = BTreeSet::new();
    gone.insert(xpub.recv());
    gone.insert(xpub.recv());
    let want: BTreeSet<Vec<u8>> = [b"\x00topic".to_vec(), b"\x00other".to_vec()].into();
    assert_eq!(gone, want, "{}: cancels when the subscriber disconnects", xpub.label());
    assert_no_io_panics();
}

#[test]
fn libsock_xpub_sees_libzmq_sub_subscriptions() {
    xpub_subscription_messages_case(Lib::Libsock, false);
}

#[test]
fn libsock_xpub_verbose_sees_every_libzmq_subscribe() {
    xpub_subscription_messages_case(Lib::Libsock, true);
}

#[test]
fn libzmq_xpub_sees_libsock_sub_subscriptions() {
    xpub_subscription_messages_case(Lib::Libzmq, false);
}

#[test]
fn libzmq_xpub_verbose_sees_every_libsock_subscribe() {
    xpub_subscription_messages_case(Lib::Libzmq, true);
}

/// libzmq's XSUB does not filter: what it receives shows what libsock's PUB sent on the wire.
#[test]
fn libsock_pub_filters_for_an_unfiltering_libzmq_xsub() {
    for binder in [Lib::Libsock, Lib::Libzmq] {
        let world = World::new();
        let publisher = world.socket(Lib::Libsock, PUB);
        let xsub = world.socket(Lib::Libzmq, XSUB);
        let (bound, connecting) =
            if binder == Lib::Libsock { (&publisher, &xsub) } else { (&xsub, &publisher) };
        let ep = bound.bind(&world, "tcp");
        connecting.connect(&ep);
        xsub.subscribe(b"a");
        xsub.subscribe(b"sync");
        sync_probe(&publisher, &xsub, b"sync");
        for m in ["b.1", "a.1", "c", "a.2", "", "sync.end"] {
            publisher.send(m);
        }
        assert_eq!(collect_until(&xsub, b"sync.end", b"sync"), vec![parts(&["a.1"]), parts(&["a.2"])]);
        // Cancel "a"; a sentinel topic subscribed after it shows when the publisher applied it.
        xsub.unsubscribe(b"a");
        xsub.subscribe(b"s2");
        sync_probe(&publisher, &xsub, b"s2");
        for m in ["a.3", "s2.end"] {
            publisher.send(m);
        }
        assert!(collect_until(&xsub, b"s2.end", b"s2").is_empty(), "{binder:?} binds: cancelled topic sent");
        // Everything (the empty topic), and back out of it. The empty topic covers every
        // sentinel: wait until a probe outside the remaining topics stops coming.
        xsub.subscribe(b"");
        sync_probe(&publisher, &xsub, b"anything");
        xsub.unsubscribe(b"");
        let deadline = Instant::now() + ms(3000);
        for k in 0.. {
            publisher.send(format!("gone.{k}"));
            publisher.send(format!("sync.{k}"));
            let got = collect_until(&xsub, format!("sync.{k}").as_bytes(), b"sync");
            if !got.iter().any(|m| m[0] == format!("gone.{k}").as_bytes()) {
                break;
            }
            assert!(Instant::now() < deadline, "{binder:?} binds: the empty topic is never cancelled");
        }
        for m in ["a.4", "anything", "", "sync.end"] {
            publisher.send(m);
        }
        assert!(
            collect_until(&xsub, b"sync.end", b"sync").is_empty(),
            "{binder:?} binds: sent after cancels"
        );
        assert_no_io_panics();
    }
}

/// The publisher side of subscriptions made before the connection exists: both libraries
/// send them once the peer is there.
#[test]
fn subscriptions_made_before_connecting_reach_the_publisher() {
    for sub_lib in [Lib::Libsock, Lib::Libzmq] {
        let world = World::new();
        let sub = world.socket(sub_lib, SUB);
        sub.subscribe(b"early");
        let xpub = world.socket(sub_lib.other(), XPUB);
        let ep = xpub.bind(&world, "tcp");
        sub.connect(&ep);
        assert_eq!(xpub.recv(), b"\x01early", "{} subscribed before connecting", sub.label());
        xpub.send("early.bird");
        assert_eq!(sub.recv(), b"early.bird");
        assert_no_io_panics();
    }
}

// ------------------------------------------------------------------------------------------
// 3. REQ/REP through ROUTER and DEALER.
// ------------------------------------------------------------------------------------------

/// Two REQs of `req_lib` (one named, one anonymous) talk to a ROUTER of the other library,
/// which answers them out of order by their envelopes.
fn reqs_through_router_case(req_lib: Lib, router_binds: bool) {
    let world = World::new();
    let router = world.socket(req_lib.other(), ROUTER);
    let named = world.socket(req_lib, REQ);
    named.set_routing_id(b"client-a");
    let anon = world.socket(req_lib, REQ);
    if router_binds {
        let ep = router.bind(&world, "tcp");
        named.connect(&ep);
        anon.connect(&ep);
    } else {
        router.connect(&named.bind(&world, "tcp"));
        router.connect(&anon.bind(&world, "tcp"));
    }
    for round in 0..3 {
        named.send(format!("from a {round}"));
        anon.send_parts(&[format!("from anon {round}"), "more".into()]);
        let mut by_body = std::collections::HashMap::new();
        for _ in 0..2 {
            let m = router.recv_parts();
            assert!(
                m.len() >= 3 && m[1].is_empty(),
                "{}: envelope [id, \"\", body]: {:?}",
                router.label(),
                show(m)
            );
            by_body.insert(m[2].clone(), m);
        }
        let a = &by_body[format!("from a {round}").as_bytes()];
        assert_eq!(a, &parts(&["client-a", "", &format!("from a {round}")]));
        let b = &by_body[format!("from anon {round}").as_bytes()];
        assert_eq!(b.len(), 4);
        assert_eq!(b[3], b"more");
        assert_auto_id(&b[0], &router.label());
        // Reply to the second asker first.
        router.send_parts(&[&b[0][..], b"", format!("to anon {round}").as_bytes()]);
        router.send_parts(&[&a[0][..], b"", format!("to a {round}").as_bytes(), b"x"]);
        assert_eq!(anon.recv(), format!("to anon {round}").into_bytes());
        assert_eq!(named.recv_parts(), parts(&[&format!("to a {round}"), "x"]));
    }
    assert_no_io_panics();
}

#[test]
fn libzmq_reqs_through_libsock_router_router_binds() {
    reqs_through_router_case(Lib::Libzmq, true);
}

#[test]
fn libzmq_reqs_through_libsock_router_reqs_bind() {
    reqs_through_router_case(Lib::Libzmq, false);
}

#[test]
fn libsock_reqs_through_libzmq_router_router_binds() {
    reqs_through_router_case(Lib::Libsock, true);
}

#[test]
fn libsock_reqs_through_libzmq_router_reqs_bind() {
    reqs_through_router_case(Lib::Libsock, false);
}

/// REQ clients -> ROUTER (frontend) | DEALER (backend) -> REP workers, where the broker's two
/// sockets are of `broker_lib` and the clients and workers of the other library; the test
/// thread forwards frames between frontend and backend by hand.
fn broker_chain_case(broker_lib: Lib, transport: &str) {
    const CLIENTS: usize = 3;
    const WORKERS: usize = 2;
    const REQUESTS: usize = 30;
    let started = Instant::now();
    let world = World::new();
    let edge = broker_lib.other();
    let frontend = world.socket(broker_lib, ROUTER);
    let backend = world.socket(broker_lib, DEALER);
    let fe = frontend.bind(&world, transport);
    let be = backend.bind(&world, transport);
    let clients: Vec<Sock> = (0..CLIENTS)
        .map(|_| {
            let s = world.socket(edge, REQ);
            s.connect(&fe);
            s
        })
        .collect();
    let workers: Vec<Sock> = (0..WORKERS)
        .map(|_| {
            let s = world.socket(edge, REP);
            s.set_rcvtimeo(20);
            s.connect(&be);
            s
        })
        .collect();
    let done = AtomicBool::new(false);
    let served = Mutex::new(vec![0usize; WORKERS]);
    let forwarded = std::thread::scope(|scope| {
        for (w, worker) in workers.into_iter().enumerate() {
            let (done, served) = (&done, &served);
            scope.spawn(move || {
                while !done.load(Ordering::Acquire) {
                    if let Some(request) = worker.try_recv_parts() {
                        let mut reply = vec![format!("worker {w}").into_bytes()];
                        reply.extend(request);
                        worker.send_parts(&reply);
                        served.lock().unwrap()[w] += 1;
                    }
                }
            });
        }
        let client_threads: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(c, client)| {
                scope.spawn(move || {
                    for i in 0..REQUESTS {
                        let request = format!("client {c} request {i}");
                        client.send_parts(&[request.as_str(), "payload"]);
                        let reply = client.recv_parts();
                        assert_eq!(reply.len(), 3, "client {c}: {:?}", show(reply));
                        assert!(reply[0].starts_with(b"worker "), "client {c}: {:?}", show(reply));
                        assert_eq!(
                            &reply[1..],
                            &parts(&[&request, "payload"])[..],
                            "client {c} got another's reply"
                        );
                    }
                })
            })
            .collect();
        // The broker: frontend -> backend keeps [id, "", body...]; backend -> frontend returns it.
        let deadline = Instant::now() + ms(10_000);
        let mut forwarded = 0usize;
        while !client_threads.iter().all(|t| t.is_finished()) {
            if Instant::now() > deadline {
                done.store(true, Ordering::Release);
                panic!("broker: clients not done after 10 s ({forwarded} messages forwarded)");
            }
            poll_in(&frontend, &backend, 10);
            while let Some(m) = frontend.recv_nowait() {
                assert!(m.len() >= 3 && m[1].is_empty(), "frontend got {:?}", show(m));
                backend.send_parts(&m);
                forwarded += 1;
            }
            while let Some(m) = backend.recv_nowait() {
                assert!(m.len() >= 3 && m[1].is_empty(), "backend got {:?}", show(m));
                frontend.send_parts(&m);
                forwarded += 1;
            }
        }
        done.store(true, Ordering::Release);
        for t in client_threads {
            if let Err(e) = t.join() {
                std::panic::resume_unwind(e);
            }
        }
        forwarded
    });
    assert_eq!(forwarded, 2 * CLIENTS * REQUESTS);
    let served = served.into_inner().unwrap();
    // How the work was spread is not checked here (see `round_robin_*`): only that every
    // reply found its way back through both libraries.
    assert_eq!(served.iter().sum::<usize>(), CLIENTS * REQUESTS);
    assert_no_io_panics();
    eprintln!("broker in {broker_lib:?} over {transport}: served {served:?} in {:?}", started.elapsed());
}

#[test]
fn broker_chain_libzmq_req_libsock_router_dealer_libzmq_rep_tcp() {
    broker_chain_case(Lib::Libsock, "tcp");
}

#[test]
fn broker_chain_libzmq_req_libsock_router_dealer_libzmq_rep_ipc() {
    broker_chain_case(Lib::Libsock, "ipc");
}

#[test]
fn broker_chain_libsock_req_libzmq_router_dealer_libsock_rep_tcp() {
    broker_chain_case(Lib::Libzmq, "tcp");
}

/// A libsock DEALER or REQ connected to two libzmq peers (DEALERs or REPs) sends four
/// messages: round robin gives each peer two, whatever the number of frames per message
/// (libzmq's lb_t moves to the next pipe after the last frame of a message).
fn round_robin_case(kind: SocketType, multipart: bool) {
    let world = World::new();
    let ls = world.socket(Lib::Libsock, kind);
    let peer_kind = if kind == REQ { REP } else { DEALER };
    // Connect-side pipes exist from connect() on, so both peers take part from the start.
    let peers: Vec<Sock> = (0..2)
        .map(|_| {
            let p = world.socket(Lib::Libzmq, peer_kind);
            ls.connect(&p.bind(&world, "tcp"));
            p
        })
        .collect();
    let mut counts = [0usize; 2];
    for i in 0..4 {
        let msg = if multipart { parts(&[&format!("m{i}"), "part 2"]) } else { parts(&[&format!("m{i}")]) };
        ls.send_parts(&msg);
        if kind == REQ {
            // Whichever REP got the request answers it.
            let deadline = Instant::now() + ms(3000);
            'wait: loop {
                for (k, p) in peers.iter().enumerate() {
                    if let Some(m) = p.recv_nowait() {
                        assert_eq!(m, msg);
                        counts[k] += 1;
                        p.send("ok");
                        break 'wait;
                    }
                }
                assert!(Instant::now() < deadline, "request {i} reached no REP");
                std::thread::sleep(ms(2));
            }
            assert_eq!(ls.recv(), b"ok");
        }
    }
    if kind == DEALER {
        for (k, p) in peers.iter().enumerate() {
            p.set_rcvtimeo(300);
            while let Some(m) = p.try_recv_parts() {
                assert_eq!(m.len(), msg_len(multipart), "{:?}", show(m));
                counts[k] += 1;
            }
        }
    }
    assert_eq!(
        counts,
        [2, 2],
        "libsock {kind} spreads {} over two peers",
        match (kind, multipart) {
            (REQ, _) => "requests (delimiter + body: always multipart on the wire)",
            (_, true) => "multipart messages",
            (_, false) => "single-frame messages",
        }
    );
    assert_no_io_panics();
}

fn msg_len(multipart: bool) -> usize {
    if multipart {
        2
    } else {
        1
    }
}

#[test]
fn round_robin_libsock_dealer_single_frame_messages() {
    round_robin_case(DEALER, false);
}

#[test]
fn round_robin_libsock_dealer_multipart_messages() {
    round_robin_case(DEALER, true);
}

#[test]
fn round_robin_libsock_req_over_two_libzmq_reps() {
    round_robin_case(REQ, false);
}

// ------------------------------------------------------------------------------------------
// 4. Routing ids chosen by either side.
// ------------------------------------------------------------------------------------------

/// A DEALER of `dealer_lib` named `id` is known by that id to a ROUTER of the other library.
fn dealer_identity_case(dealer_lib: Lib, id: &[u8]) {
    for router_binds in [true, false] {
        let world = World::new();
        let router = world.socket(dealer_lib.other(), ROUTER);
        let dealer = world.socket(dealer_lib, DEALER);
        dealer.set_routing_id(id);
        if router_binds {
            dealer.connect(&router.bind(&world, "tcp"));
        } else {
            router.connect(&dealer.bind(&world, "tcp"));
        }
        dealer.send("hi");
        assert_eq!(router.recv_parts(), vec![id.to_vec(), b"hi".to_vec()], "router binds: {router_binds}");
        router.send_parts(&[id, b"hello"]);
        assert_eq!(dealer.recv(), b"hello");
        assert_no_io_panics();
    }
}

#[test]
fn libzmq_dealer_identity_abc_seen_by_libsock_router() {
    dealer_identity_case(Lib::Libzmq, b"abc");
}

#[test]
fn libsock_dealer_routing_id_xyz_seen_by_libzmq_router() {
    dealer_identity_case(Lib::Libsock, b"xyz");
}

/// A binary id that starts with a zero byte (a random one does, one time in 256): libzmq 4.3
/// takes it from ROUTING_ID and from a peer, though the man page reserves such ids.
#[test]
fn routing_id_with_a_leading_zero_byte_either_way() {
    let id = b"\0\x01uuid-bytes";
    dealer_identity_case(Lib::Libzmq, id);
    dealer_identity_case(Lib::Libsock, id);
}

#[test]
fn binary_routing_id_of_255_bytes_either_way() {
    let id: Vec<u8> = (0..255u32).map(|i| (i % 255 + 1) as u8).collect();
    dealer_identity_case(Lib::Libzmq, &id);
    dealer_identity_case(Lib::Libsock, &id);
}

#[test]
fn libsock_router_gives_libzmq_dealers_distinct_automatic_ids() {
    let world = World::new();
    let router = world.socket(Lib::Libsock, ROUTER);
    let ep = router.bind(&world, "tcp");
    let dealers: Vec<Sock> = (0..3)
        .map(|_| {
            let d = world.socket(Lib::Libzmq, DEALER);
            d.connect(&ep);
            d
        })
        .collect();
    let mut ids = std::collections::HashMap::new();
    for (k, d) in dealers.iter().enumerate() {
        d.send(format!("dealer {k}"));
        let m = router.recv_parts();
        assert_eq!(m.len(), 2);
        assert_auto_id(&m[0], "libsock ROUTER");
        assert_eq!(m[1], format!("dealer {k}").into_bytes());
        assert!(ids.insert(m[0].clone(), k).is_none(), "two peers got the same automatic id");
    }
    for (id, k) in &ids {
        router.send_parts(&[&id[..], format!("for {k}").as_bytes()]);
    }
    for (k, d) in dealers.iter().enumerate() {
        assert_eq!(d.recv(), format!("for {k}").into_bytes());
    }
    assert_no_io_panics();
}

#[test]
fn libsock_router_mandatory_reports_unknown_ids() {
    let world = World::new();
    let router = world.socket(Lib::Libsock, ROUTER);
    router.set_router_mandatory(true);
    let ep = router.bind(&world, "tcp");
    let dealer = world.socket(Lib::Libzmq, DEALER);
    dealer.set_routing_id(b"known");
    dealer.connect(&ep);

    let err = router.ls().send_multipart(["unknown", "x"], 0).unwrap_err();
    assert!(matches!(err, libsock::Error::HostUnreachable), "{err:?}");
    assert_eq!(err.to_raw(), 113, "EHOSTUNREACH");
    // Nothing of the refused message lingers: the next message routes normally.
    dealer.send("here");
    assert_eq!(router.recv_parts(), parts(&["known", "here"]));
    router.send_parts(&["known", "reply"]);
    assert_eq!(dealer.recv(), b"reply");
    assert!(matches!(router.ls().send_multipart(["unknown", "x"], 0), Err(libsock::Error::HostUnreachable)));
    assert_no_io_panics();
}

/// A ROUTER_MANDATORY ROUTER of `router_lib` whose DEALER peer (of the other library)
/// disconnects: sends to the departed id must fail with EHOSTUNREACH. libzmq drops the pipe
/// as soon as the connection ends. With `recv_first` the application also tries to receive
/// before each send.
fn departed_peer_case(router_lib: Lib, recv_first: bool) {
    let world = World::new();
    let router = world.socket(router_lib, ROUTER);
    router.set_router_mandatory(true);
    router.set_routing_id(b"router");
    let ep = router.bind(&world, "tcp");
    let dealer = world.socket(router_lib.other(), DEALER);
    dealer.set_routing_id(b"known");
    dealer.connect(&ep);
    dealer.send("here");
    assert_eq!(router.recv_parts(), parts(&["known", "here"]));
    drop(dealer);
    let deadline = Instant::now() + ms(3000);
    let mut last = None;
    loop {
        if recv_first {
            assert!(router.recv_nowait().is_none());
        }
        let result = match &router.inner {
            Inner::Ls(s) => s.send_multipart(["known", "anyone?"], libsock::DONTWAIT).map_err(|e| e.to_raw()),
            Inner::Z(s) => s.send_multipart(["known", "anyone?"], zmq::DONTWAIT).map_err(|e| e.to_raw()),
        };
        match result {
            Err(113) => break, // EHOSTUNREACH
            other if Instant::now() < deadline => {
                last = Some(other);
                std::thread::sleep(ms(10));
            }
            other => panic!("{} still routes to a departed peer after 3 s: {other:?}", router.label()),
        }
    }
    eprintln!("{}: departed peer unreachable; before that: {last:?}", router.label());
    assert_no_io_panics();
}

#[test]
fn libzmq_router_mandatory_forgets_a_departed_libsock_peer() {
    departed_peer_case(Lib::Libzmq, false);
}

#[test]
fn libsock_router_mandatory_forgets_a_departed_libzmq_peer() {
    departed_peer_case(Lib::Libsock, false);
}

/// The same once the application receives: the dead pipe is found then.
#[test]
fn libsock_router_mandatory_forgets_a_departed_libzmq_peer_after_receiving() {
    departed_peer_case(Lib::Libsock, true);
}

/// Mirror of the above with libzmq's ROUTER and a libsock DEALER.
#[test]
fn libzmq_router_mandatory_with_libsock_dealer() {
    let world = World::new();
    let router = world.socket(Lib::Libzmq, ROUTER);
    router.set_router_mandatory(true);
    let ep = router.bind(&world, "tcp");
    let dealer = world.socket(Lib::Libsock, DEALER);
    dealer.set_routing_id(b"known");
    dealer.connect(&ep);
    assert!(matches!(router.try_send_parts(&["unknown", "x"]), Err(SendFail::Unreachable)));
    dealer.send("here");
    assert_eq!(router.recv_parts(), parts(&["known", "here"]));
    router.send_parts(&["known", "reply"]);
    assert_eq!(dealer.recv(), b"reply");
    assert_no_io_panics();
}

/// Sends `msg` from a ROUTER with ROUTER_MANDATORY, retrying until the peer is identified.
fn send_when_routable(router: &Sock, msg: &[&str]) {
    let deadline = Instant::now() + ms(3000);
    loop {
        match router.try_send_parts(msg) {
            Ok(()) => return,
            Err(SendFail::Unreachable) if Instant::now() < deadline => std::thread::sleep(ms(5)),
            Err(e) => panic!("{}: {:?} never became routable: {e:?}", router.label(), msg[0]),
        }
    }
}

#[test]
fn libsock_router_connect_routing_id_to_libzmq_router() {
    let world = World::new();
    let zr = world.socket(Lib::Libzmq, ROUTER);
    let ep = zr.bind(&world, "tcp");
    let lr = world.socket(Lib::Libsock, ROUTER);
    lr.set_routing_id(b"libsock-side");
    lr.set_router_mandatory(true);
    // libzmq's ROUTER announces no identity: the id is ours to choose.
    lr.ls().set_connect_routing_id(b"srv").unwrap();
    lr.connect(&ep);
    send_when_routable(&lr, &["srv", "hello"]);
    assert_eq!(zr.recv_parts(), parts(&["libsock-side", "hello"]), "libzmq ROUTER uses libsock's ROUTING_ID");
    zr.send_parts(&["libsock-side", "welcome"]);
    assert_eq!(lr.recv_parts(), parts(&["srv", "welcome"]), "libsock ROUTER uses its CONNECT_ROUTING_ID");
    assert_no_io_panics();
}

#[test]
fn libsock_router_connect_routing_ids_name_two_libzmq_dealers() {
    let world = World::new();
    let lr = world.socket(Lib::Libsock, ROUTER);
    lr.set_router_mandatory(true);
    let dealers: Vec<Sock> = ["d1", "d2"]
        .iter()
        .map(|name| {
            let d = world.socket(Lib::Libzmq, DEALER);
            // The DEALER's own identity is overridden by the connecting ROUTER's choice.
            d.set_routing_id(format!("self-{name}").as_bytes());
            let ep = d.bind(&world, "tcp");
            lr.ls().set_connect_routing_id(name.as_bytes()).unwrap();
            lr.connect(&ep);
            d
        })
        .collect();
    send_when_routable(&lr, &["d2", "for d2"]);
    send_when_routable(&lr, &["d1", "for d1"]);
    assert_eq!(dealers[0].recv(), b"for d1");
    assert_eq!(dealers[1].recv(), b"for d2");
    dealers[1].send("from d2");
    assert_eq!(lr.recv_parts(), parts(&["d2", "from d2"]));
    let err = lr.ls().send_multipart(["self-d1", "x"], 0).unwrap_err();
    assert!(
        matches!(err, libsock::Error::HostUnreachable),
        "the peer's own identity is not its id here: {err:?}"
    );
    assert_no_io_panics();
}

// ------------------------------------------------------------------------------------------
// 5. Subscriptions on the wire to crafted ZMTP 3.0 and 3.1 peers.
// ------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Frame {
    more: bool,
    command: bool,
    body: Vec<u8>,
}

/// A minimal hand-written ZMTP peer (NULL mechanism) over a std TcpStream.
struct RawPeer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawPeer {
    /// Sends our greeting (version 3.`minor`) and READY at once, as libzmq does, then reads the
    /// other side's greeting and READY; returns the peer, its greeting and its Socket-Type.
    fn handshake(stream: TcpStream, minor: u8, ours: SocketType) -> (RawPeer, Greeting, Vec<u8>) {
        stream.set_nodelay(true).unwrap();
        let mut peer = RawPeer { stream, buf: Vec::new() };
        let mut out = Vec::new();
        Greeting { major: 3, minor, mechanism: Mechanism::Null, as_server: false }.encode(&mut out);
        encode_ready(&mut out, ours, b"");
        peer.stream.write_all(&out).unwrap();
        assert!(peer.fill(GREETING_LEN, ms(3000)), "no greeting from the peer");
        let greeting = Greeting::decode(&peer.buf[..GREETING_LEN]).unwrap().unwrap();
        peer.buf.drain(..GREETING_LEN);
        let ready = peer.read_frame(ms(3000)).expect("no READY from the peer");
        assert!(ready.command, "expected READY, got {ready:?}");
        let socket_type = match parse_command(&ready.body) {
            Ok(Command::Ready(props)) => {
                find(&props, "Socket-Type").expect("READY without Socket-Type").to_vec()
            }
            other => panic!("expected READY, got {other:?}"),
        };
        (peer, greeting, socket_type)
    }

    /// Reads until `n` bytes are buffered; false if `within` passes first.
    fn fill(&mut self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut chunk = [0u8; 4096];
        while self.buf.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("the peer closed the connection"),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
        true
    }

    /// The next frame, or `None` if none completes within `within`.
    fn read_frame(&mut self, within: Duration) -> Option<Frame> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match decode_header(&self.buf, None).expect("malformed frame header") {
                Some(h) => {
                    let total = h.header_len + h.size as usize;
                    if !self.fill(total, left) {
                        return None;
                    }
                    let raw: Vec<u8> = self.buf.drain(..total).collect();
                    return Some(Frame {
                        more: h.more,
                        command: h.command,
                        body: raw[h.header_len..].to_vec(),
                    });
                }
                None => {
                    if left.is_zero() || !self.fill(self.buf.len() + 1, left) {
                        return None;
                    }
                }
            }
        }
    }

    /// The next whole message (its frames' bodies), skipping heartbeat commands; panics on
    /// any other command.
    fn read_message(&mut self, within: Duration) -> Option<Vec<Vec<u8>>> {
        let deadline = Instant::now() + within;
        let mut msg = Vec::new();
        loop {
            let f = self.read_frame(deadline.saturating_duration_since(Instant::now()))?;
            if f.command {
                assert!(
                    f.body.starts_with(b"\x04PING") || f.body.starts_with(b"\x04PONG"),
                    "unexpected command between messages: {:?}",
                    String::from_utf8_lossy(&f.body)
                );
                continue;
            }
            msg.push(f.body);
            if !f.more {
                return Some(msg);
            }
        }
    }

    fn send_frame(&mut self, more: bool, command: bool, body: &[u8]) {
        let mut out = Vec::new();
        encode_frame(&mut out, more, command, body);
        self.stream.write_all(&out).unwrap();
    }

    fn send_message(&mut self, frames: &[&[u8]]) {
        for (i, f) in frames.iter().enumerate() {
            self.send_frame(i + 1 < frames.len(), false, f);
        }
    }
}

/// A command frame's body, written out by hand: name length, name, data.
fn command_body(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = vec![name.len() as u8];
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(data);
    b
}

/// Connects `sock` and a raw peer over tcp, `sock` binding or connecting.
fn raw_link(sock: &Sock, sock_binds: bool) -> TcpStream {
    if sock_binds {
        let ep = match &sock.inner {
            Inner::Ls(s) => {
                s.bind("tcp://127.0.0.1:*").unwrap();
                s.get_last_endpoint().unwrap()
            }
            Inner::Z(s) => {
                s.bind("tcp://127.0.0.1:*").unwrap();
                s.get_last_endpoint().unwrap().unwrap()
            }
        };
        let addr = ep.strip_prefix("tcp://").unwrap();
        TcpStream::connect(addr).unwrap()
    } else {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        sock.connect(&format!("tcp://{}", listener.local_addr().unwrap()));
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + ms(3000);
        loop {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    return s;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "{} never connected", sock.label());
                    std::thread::sleep(ms(2));
                }
                Err(e) => panic!("accept failed: {e}"),
            }
        }
    }
}

/// How subscription changes may look on the wire toward a ZMTP 3.1 peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// SUBSCRIBE/CANCEL commands only (what libsock sends, and libzmq's SUB).
    Commands,
    /// Commands or `0x01`/`0x00` messages: libzmq's XSUB forwards what the application sends
    /// as a message, as is (ZMTP 3.1 peers must accept both forms).
    Either,
}

/// What a subscription change must look like on the wire toward a peer of ZMTP 3.`minor`.
fn assert_subscription_frame(f: &Frame, minor: u8, expect: Expect, subscribe: bool, topic: &[u8]) {
    let message = [&[u8::from(subscribe)][..], topic].concat();
    if minor == 0 || (expect == Expect::Either && !f.command) {
        assert!(
            !f.command && !f.more && f.body == message,
            "a ZMTP 3.{minor} peer gets the message {:?}, got {f:?}",
            String::from_utf8_lossy(&message)
        );
    } else {
        let want = command_body(if subscribe { "SUBSCRIBE" } else { "CANCEL" }, topic);
        assert!(
            f.command && !f.more && f.body == want,
            "a ZMTP 3.1 peer gets the command {:?}, got {f:?}",
            String::from_utf8_lossy(&want)
        );
        assert_eq!(
            parse_command(&f.body).unwrap(),
            if subscribe { Command::Subscribe(topic) } else { Command::Cancel(topic) }
        );
    }
}

/// The next frame from `sock`'s side, while its application keeps using it.
fn read_frame_poking(peer: &mut RawPeer, sock: &Sock, what: &str) -> Frame {
    let deadline = Instant::now() + ms(3000);
    loop {
        sock.poke();
        if let Some(f) = peer.read_frame(ms(10)) {
            return f;
        }
        assert!(Instant::now() < deadline, "{what}: nothing sent within 3 s");
    }
}

/// A subscription change read off the wire, in either form: (subscribe?, topic).
fn decode_subscription(f: &Frame) -> Option<(bool, Vec<u8>)> {
    if f.command {
        match parse_command(&f.body) {
            Ok(Command::Subscribe(t)) => Some((true, t.to_vec())),
            Ok(Command::Cancel(t)) => Some((false, t.to_vec())),
            _ => None,
        }
    } else {
        match f.body.split_first() {
            Some((&k @ (0 | 1), t)) if !f.more => Some((k == 1, t.to_vec())),
            _ => None,
        }
    }
}

/// Follows the subscription frames a crafted publisher receives. A repeated subscribe for a
/// topic already subscribed is tolerated (publishers treat it as a no-op) and counted; the
/// strict check that there are none is `crafted_pub_peer_sees_each_subscription_once`.
struct SubscriptionReader<'a> {
    sock: &'a Sock,
    minor: u8,
    expect: Expect,
    what: String,
    active: BTreeSet<Vec<u8>>,
    repeats: usize,
}

impl SubscriptionReader<'_> {
    fn expect(&mut self, peer: &mut RawPeer, subscribe: bool, topic: &[u8], step: &str) {
        loop {
            let f = read_frame_poking(peer, self.sock, &format!("{}: {step}", self.what));
            if let Some((true, t)) = decode_subscription(&f) {
                if self.active.contains(&t) && !(subscribe && t == topic) {
                    self.repeats += 1;
                    continue;
                }
            }
            assert_subscription_frame(&f, self.minor, self.expect, subscribe, topic);
            if subscribe {
                self.active.insert(topic.to_vec());
            } else {
                self.active.remove(topic);
            }
            return;
        }
    }
}

/// A crafted ZMTP 3.`minor` PUB peer and a SUB or XSUB of `lib`: the subscriber's
/// subscriptions must arrive as messages (3.0) or commands (3.1), and messages flow.
fn crafted_publisher_case(lib: Lib, kind: SocketType, minor: u8, sub_binds: bool) {
    let world = World::new();
    let sub = world.socket(lib, kind);
    sub.subscribe(b"abc"); // before the connection: sent once the peer is known
    let stream = raw_link(&sub, sub_binds);
    let (mut peer, greeting, peer_type) = RawPeer::handshake(stream, minor, PUB);
    let what = format!(
        "{} ({}) with a ZMTP 3.{minor} PUB",
        sub.label(),
        if sub_binds { "binds" } else { "connects" }
    );
    assert_eq!((greeting.major, greeting.minor), (3, 1), "{what}: greeting");
    assert_eq!(peer_type, kind.as_str().as_bytes(), "{what}: Socket-Type");
    let expect = if (lib, kind) == (Lib::Libzmq, XSUB) { Expect::Either } else { Expect::Commands };

    let mut subs = SubscriptionReader {
        sock: &sub,
        minor,
        expect,
        what: what.clone(),
        active: BTreeSet::new(),
        repeats: 0,
    };
    subs.expect(&mut peer, true, b"abc", "subscription made before connecting");
    sub.subscribe(b"xyz");
    subs.expect(&mut peer, true, b"xyz", "second subscription");
    sub.subscribe(b"");
    subs.expect(&mut peer, true, b"", "empty subscription");
    sub.unsubscribe(b"");
    subs.expect(&mut peer, false, b"", "empty cancel");
    sub.unsubscribe(b"abc");
    subs.expect(&mut peer, false, b"abc", "cancel");
    if subs.repeats > 0 {
        eprintln!("{what}: {} repeated subscription frame(s)", subs.repeats);
    }

    // The peer publishes; what the subscriber hands its application.
    peer.send_message(&[b"xyz.1"]);
    peer.send_message(&[b"xyz.multi", b"", b"end"]);
    assert_eq!(sub.recv(), b"xyz.1", "{what}");
    assert_eq!(sub.recv_parts(), parts(&["xyz.multi", "", "end"]));
    assert_no_io_panics();
}

/// Each subscribe() reaches a crafted publisher exactly once, as libzmq sends it: a
/// subscription made before connecting, and one made after the handshake.
fn subscriptions_once_case(lib: Lib, minor: u8) {
    let world = World::new();
    let sub = world.socket(lib, SUB);
    sub.subscribe(b"before");
    let stream = raw_link(&sub, false);
    let (mut peer, _, _) = RawPeer::handshake(stream, minor, PUB);
    let mut seen = Vec::new();
    let mut read_for = |peer: &mut RawPeer, dur: Duration| {
        let until = Instant::now() + dur;
        while Instant::now() < until {
            sub.poke();
            if let Some(f) = peer.read_frame(ms(10)) {
                seen.push(decode_subscription(&f).unwrap_or_else(|| panic!("not a subscription: {f:?}")));
            }
        }
    };
    read_for(&mut peer, ms(300));
    sub.subscribe(b"after");
    read_for(&mut peer, ms(300));
    let want = vec![(true, b"before".to_vec()), (true, b"after".to_vec())];
    assert_eq!(seen, want, "{} toward a ZMTP 3.{minor} peer", sub.label());
    assert_no_io_panics();
}

#[test]
fn crafted_pub_peer_sees_each_subscription_once_from_libzmq() {
    subscriptions_once_case(Lib::Libzmq, 0);
    subscriptions_once_case(Lib::Libzmq, 1);
}

#[test]
fn crafted_pub_peer_sees_each_subscription_once_from_libsock() {
    subscriptions_once_case(Lib::Libsock, 0);
    subscriptions_once_case(Lib::Libsock, 1);
}

#[test]
fn zmtp30_pub_peer_gets_subscription_messages_from_libsock_sub() {
    for sub_binds in [false, true] {
        crafted_publisher_case(Lib::Libsock, SUB, 0, sub_binds);
    }
}

#[test]
fn zmtp30_pub_peer_gets_subscription_messages_from_libsock_xsub() {
    for sub_binds in [false, true] {
        crafted_publisher_case(Lib::Libsock, XSUB, 0, sub_binds);
    }
}

#[test]
fn zmtp31_pub_peer_gets_subscribe_commands_from_libsock_sub() {
    for sub_binds in [false, true] {
        crafted_publisher_case(Lib::Libsock, SUB, 1, sub_binds);
    }
}

#[test]
fn zmtp31_pub_peer_gets_subscribe_commands_from_libsock_xsub() {
    for sub_binds in [false, true] {
        crafted_publisher_case(Lib::Libsock, XSUB, 1, sub_binds);
    }
}

/// The same crafted peers against libzmq: the expectations above are libzmq's behaviour.
#[test]
fn crafted_pub_peer_expectations_hold_for_libzmq() {
    for minor in [0, 1] {
        crafted_publisher_case(Lib::Libzmq, SUB, minor, true);
        crafted_publisher_case(Lib::Libzmq, XSUB, minor, false);
    }
}

/// How a crafted subscriber sends its subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SubForm {
    /// A message `0x01`/`0x00` + topic (ZMTP 3.0, also accepted from 3.1 peers).
    Message,
    /// A SUBSCRIBE/CANCEL command (ZMTP 3.1).
    Command,
}

fn raw_subscription(peer: &mut RawPeer, form: SubForm, subscribe: bool, topic: &[u8]) {
    match form {
        SubForm::Message => peer.send_message(&[&[&[u8::from(subscribe)][..], topic].concat()]),
        SubForm::Command => {
            let body = command_body(if subscribe { "SUBSCRIBE" } else { "CANCEL" }, topic);
            peer.send_frame(false, true, &body);
        }
    }
}

/// Publishes `probe` until the crafted peer receives it.
fn raw_sync_probe(publisher: &Sock, peer: &mut RawPeer, probe: &str) {
    let deadline = Instant::now() + ms(3000);
    loop {
        publisher.send(probe);
        if let Some(m) = peer.read_message(ms(20)) {
            assert!(m[0].starts_with(probe.as_bytes()), "expected the probe, got {:?}", show(m));
            return;
        }
        assert!(Instant::now() < deadline, "the crafted subscriber's subscription never took effect");
    }
}

/// Messages the crafted peer reads until `end`, without those starting with `skip`.
fn raw_collect_until(peer: &mut RawPeer, end: &str, skip: &str) -> Vec<Vec<Vec<u8>>> {
    let mut got = Vec::new();
    loop {
        let m = peer.read_message(ms(3000)).unwrap_or_else(|| {
            panic!(
                "{end:?} never arrived; got before: {:?}",
                got.iter().cloned().map(show).collect::<Vec<_>>()
            )
        });
        if m.len() == 1 && m[0] == end.as_bytes() {
            return got;
        }
        if !m[0].starts_with(skip.as_bytes()) {
            got.push(m);
        }
    }
}

/// A crafted ZMTP 3.`minor` SUB peer subscribing (in `form`) to a PUB or XPUB of `lib`,
/// which must send it only matching messages, and stop after a cancel.
fn crafted_subscriber_case(lib: Lib, kind: SocketType, minor: u8, form: SubForm, pub_binds: bool) {
    let world = World::new();
    let publisher = world.socket(lib, kind);
    let stream = raw_link(&publisher, pub_binds);
    let (mut peer, greeting, peer_type) = RawPeer::handshake(stream, minor, SUB);
    let what = format!("{} with a ZMTP 3.{minor} SUB sending {form:?}s", publisher.label());
    assert_eq!((greeting.major, greeting.minor), (3, 1), "{what}: greeting");
    assert_eq!(peer_type, kind.as_str().as_bytes(), "{what}: Socket-Type");

    raw_subscription(&mut peer, form, true, b"news");
    if kind == XPUB {
        assert_eq!(publisher.recv(), b"\x01news", "{what}: the XPUB hands up a subscription message");
    }
    raw_sync_probe(&publisher, &mut peer, "news.probe");
    for m in ["sports.1", "news.1", "new", "weather", "news.2"] {
        publisher.send(m);
    }
    publisher.send_parts(&["news.multi", "part 2"]);
    publisher.send_parts(&["sports.multi", "part 2"]);
    publisher.send("news.end");
    let got = raw_collect_until(&mut peer, "news.end", "news.probe");
    assert_eq!(got, vec![parts(&["news.1"]), parts(&["news.2"]), parts(&["news.multi", "part 2"])], "{what}");

    raw_subscription(&mut peer, form, false, b"news");
    raw_subscription(&mut peer, form, true, b"sync");
    if kind == XPUB {
        assert_eq!(publisher.recv(), b"\x00news", "{what}: the XPUB hands up the cancel");
        assert_eq!(publisher.recv(), b"\x01sync");
    }
    raw_sync_probe(&publisher, &mut peer, "sync.probe");
    for m in ["news.3", "sports.2", "sync.end"] {
        publisher.send(m);
    }
    let got = raw_collect_until(&mut peer, "sync.end", "sync.probe");
    assert!(
        got.is_empty(),
        "{what}: sent after the cancel: {:?}",
        got.into_iter().map(show).collect::<Vec<_>>()
    );
    assert_no_io_panics();
}

#[test]
fn zmtp30_sub_peer_subscribes_with_messages_to_libsock_pub() {
    for pub_binds in [true, false] {
        crafted_subscriber_case(Lib::Libsock, PUB, 0, SubForm::Message, pub_binds);
    }
}

#[test]
fn zmtp30_sub_peer_subscribes_with_messages_to_libsock_xpub() {
    for pub_binds in [true, false] {
        crafted_subscriber_case(Lib::Libsock, XPUB, 0, SubForm::Message, pub_binds);
    }
}

#[test]
fn zmtp31_sub_peer_subscribes_with_commands_to_libsock_pub_and_xpub() {
    for pub_binds in [true, false] {
        crafted_subscriber_case(Lib::Libsock, PUB, 1, SubForm::Command, pub_binds);
        crafted_subscriber_case(Lib::Libsock, XPUB, 1, SubForm::Command, pub_binds);
    }
}

#[test]
fn zmtp31_sub_peer_may_still_subscribe_with_messages_to_libsock() {
    crafted_subscriber_case(Lib::Libsock, PUB, 1, SubForm::Message, true);
    crafted_subscriber_case(Lib::Libsock, XPUB, 1, SubForm::Message, false);
}

#[test]
fn crafted_sub_peer_expectations_hold_for_libzmq() {
    crafted_subscriber_case(Lib::Libzmq, PUB, 0, SubForm::Message, true);
    crafted_subscriber_case(Lib::Libzmq, XPUB, 1, SubForm::Command, false);
    crafted_subscriber_case(Lib::Libzmq, PUB, 1, SubForm::Message, false);
}

/// A crafted publisher that does not filter sends an XSUB of `lib` a message it did not
/// subscribe to. libzmq's XSUB does not filter (only SUB sets `options.filter`), so it is
/// delivered.
fn unfiltered_xsub_case(lib: Lib) {
    let world = World::new();
    let xsub = world.socket(lib, XSUB);
    let stream = raw_link(&xsub, false);
    let (mut peer, _, _) = RawPeer::handshake(stream, 1, PUB);
    xsub.subscribe(b"wanted");
    let expect = if lib == Lib::Libzmq { Expect::Either } else { Expect::Commands };
    assert_subscription_frame(&peer.read_frame(ms(3000)).expect("subscription"), 1, expect, true, b"wanted");
    peer.send_message(&[b"unwanted.1"]);
    peer.send_message(&[b"wanted.1"]);
    let first = xsub.recv();
    assert_eq!(first, b"unwanted.1", "{}: an XSUB passes on whatever its publisher sends", xsub.label());
    assert_eq!(xsub.recv(), b"wanted.1");
    assert_no_io_panics();
}

#[test]
fn libzmq_xsub_does_not_filter() {
    unfiltered_xsub_case(Lib::Libzmq);
}

#[test]
fn libsock_xsub_does_not_filter_like_libzmq() {
    unfiltered_xsub_case(Lib::Libsock);
}

// ------------------------------------------------------------------------------------------
// 6. Monitor events across the libraries.
// ------------------------------------------------------------------------------------------

/// Reads libsock monitor events until `want` (true) or `within` passes (false).
fn ls_wait_event(
    mon: &libsock::Monitor,
    seen: &mut Vec<MonitorEvent>,
    want: SocketEvent,
    within: Duration,
) -> bool {
    if seen.iter().any(|e| e.event == want) {
        return true;
    }
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis() as i32;
        if left <= 0 {
            return false;
        }
        match mon.recv_event(left) {
            Ok(ev) => {
                let hit = ev.event == want;
                seen.push(ev);
                if hit {
                    return true;
                }
            }
            Err(libsock::Error::TimedOut | libsock::Error::WouldBlock) => return false,
            Err(e) => panic!("monitor recv failed: {e:?}"),
        }
    }
}

fn names(events: &[MonitorEvent]) -> Vec<String> {
    events.iter().map(|e| format!("{:?}({}) {}", e.event, e.value, e.endpoint)).collect()
}

#[test]
fn libsock_monitor_sees_a_libzmq_subscriber_come_and_go() {
    let world = World::new();
    let xpub = world.socket(Lib::Libsock, XPUB);
    let mon = xpub.ls().monitor_events(EVENT_ALL).unwrap();
    let ep = xpub.bind(&world, "tcp");
    let sub = world.socket(Lib::Libzmq, SUB);
    sub.connect(&ep);
    sub.subscribe(b"t");
    let mut seen = Vec::new();
    for want in [SocketEvent::Listening, SocketEvent::Accepted, SocketEvent::HandshakeSucceeded] {
        assert!(ls_wait_event(&mon, &mut seen, want, ms(3000)), "no {want:?}; events: {:?}", names(&seen));
    }
    assert_eq!(seen[0].event, SocketEvent::Listening, "{:?}", names(&seen));
    assert_eq!(seen[0].endpoint, ep);
    let accepted = seen.iter().position(|e| e.event == SocketEvent::Accepted).unwrap();
    let handshake = seen.iter().position(|e| e.event == SocketEvent::HandshakeSucceeded).unwrap();
    assert!(accepted < handshake, "{:?}", names(&seen));
    assert!(seen[handshake].endpoint.starts_with("tcp://127.0.0.1:"), "{:?}", names(&seen));
    assert_eq!(xpub.recv(), b"\x01t");

    drop(sub);
    assert!(
        ls_wait_event(&mon, &mut seen, SocketEvent::Disconnected, ms(3000)),
        "libzmq peer closed, no Disconnected; events: {:?}",
        names(&seen)
    );
    assert_eq!(xpub.recv(), b"\x00t", "the departed subscriber's topic is reported gone");
    assert_no_io_panics();
}

#[test]
fn libsock_monitor_sees_its_connect_to_a_libzmq_router() {
    let world = World::new();
    let router = world.socket(Lib::Libzmq, ROUTER);
    let ep = router.bind(&world, "tcp");
    let req = world.socket(Lib::Libsock, REQ);
    let mon = req.ls().monitor_events(EVENT_ALL).unwrap();
    req.connect(&ep);
    let mut seen = Vec::new();
    for want in [SocketEvent::Connected, SocketEvent::HandshakeSucceeded] {
        assert!(ls_wait_event(&mon, &mut seen, want, ms(3000)), "no {want:?}; events: {:?}", names(&seen));
    }
    for e in &seen {
        assert_eq!(e.endpoint, ep, "events name the endpoint connected to: {:?}", names(&seen));
    }
    req.send("ping");
    let m = router.recv_parts();
    router.send_parts(&[&m[0][..], b"", b"pong"]);
    assert_eq!(req.recv(), b"pong");
    assert_no_io_panics();
}

/// libzmq's own monitor frames, parsed with libsock's parser: one format.
#[test]
fn libzmq_monitor_frames_parse_as_libsock_events() {
    let world = World::new();
    let router = world.z_socket(ROUTER);
    router.monitor("inproc://family-zmq-monitor", zmq::SocketEvent::ALL as i32).unwrap();
    let mon = world.z.socket(zmq::PAIR).unwrap();
    mon.set_linger(0).unwrap();
    mon.set_rcvtimeo(TIMEO_MS).unwrap();
    mon.connect("inproc://family-zmq-monitor").unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.get_last_endpoint().unwrap().unwrap();

    let dealer = world.socket(Lib::Libsock, DEALER);
    dealer.set_routing_id(b"d");
    dealer.connect(&ep);
    dealer.send("hi");
    assert_eq!(router.recv_multipart(0).unwrap(), parts(&["d", "hi"]));

    let mut seen = Vec::new();
    while !seen.iter().any(|e: &MonitorEvent| e.event == SocketEvent::HandshakeSucceeded) {
        let frames = mon.recv_multipart(0).unwrap_or_else(|e| panic!("{e:?}; events: {:?}", names(&seen)));
        let ev =
            MonitorEvent::parse(&frames).unwrap_or_else(|| panic!("unparseable libzmq event {frames:?}"));
        let raw = u16::from_le_bytes([frames[0][0], frames[0][1]]);
        assert_eq!(ev.event.to_raw(), raw);
        assert_eq!(ev.value, u32::from_le_bytes(frames[0][2..6].try_into().unwrap()));
        seen.push(ev);
    }
    let kinds: Vec<SocketEvent> = seen.iter().map(|e| e.event).collect();
    assert_eq!(
        kinds,
        [SocketEvent::Listening, SocketEvent::Accepted, SocketEvent::HandshakeSucceeded],
        "{:?}",
        names(&seen)
    );
    assert_eq!(seen[0].endpoint, ep);
    assert!(MonitorEvent::parse(&[vec![0; 5], Vec::new()]).is_none(), "a short event frame");
    assert_no_io_panics();
}
