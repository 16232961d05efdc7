//! Security handshakes over tcp and ipc: NULL (with and without a ZAP domain) and PLAIN (the
//! bound socket the PLAIN server, or the connecting ones), clients with right, wrong or
//! missing credentials or another mechanism, and a ZAP handler (RFC 27) that is there or not,
//! answers 200 (with a user id and metadata), 300, 400 or 500, checks credentials, answers
//! malformed replies, or goes away; clients connect, disconnect, close, send and receive.
//!
//! Compared after each step (once both libraries have gone quiet): each call's answer, the
//! ZAP requests the handler received (every frame), the monitor events each socket
//! published (with HANDSHAKE_FAILED_*'s protocol code, errno or status), the messages each
//! socket receives with their connection properties (User-Id, the handler's metadata,
//! Socket-Type, Routing-Id, Peer-Address), and every socket's ZMQ_EVENTS.

use std::time::Duration;

use crate::twin::{live, Frames, Maker, Rng, Twin};
use crate::watch::{remove_ipc_file, server_endpoint, Watch};

const ROUTING_ID: i32 = 5;
const LINGER: i32 = 17;
const RECONNECT_IVL: i32 = 18;
const PLAIN_SERVER: i32 = 44;
const PLAIN_USERNAME: i32 = 45;
const PLAIN_PASSWORD: i32 = 46;
const ZAP_DOMAIN: i32 = 55;

/// Where a context's ZAP handler is bound (RFC 27).
const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// How long both libraries must publish nothing new before a step's events are compared:
/// libzmq takes a while to drop the pipe of a connection that ended on a protocol error
/// (a client's POLLOUT stayed for 60 ms now and then).
const QUIET: Duration = Duration::from_millis(150);

/// The connection properties a received message is reported with.
const PROPERTIES: [&str; 5] = ["User-Id", "Hello", "Socket-Type", "Routing-Id", "Peer-Address"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Dealer,
    Router,
    Push,
    Pull,
    Pair,
}

/// A socket's security mechanism.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mechanism {
    Null,
    /// PLAIN_SERVER = 1.
    PlainServer,
    /// A PLAIN client with these credentials.
    Plain(&'static str, &'static str),
}

/// How the ZAP handler answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Policy {
    /// 200, with this user id, and the metadata `Hello: World` or none.
    Allow(&'static str, bool),
    /// 200 with user id `admin` for PLAIN's `admin`/`secret` (and for NULL), else 400.
    Credentials,
    /// This status code (300, 400 or 500), with a status text.
    Refuse(&'static str),
    /// A reply RFC 27 does not allow: another version, another request id, a status code
    /// that is not one, or a frame too many.
    Malformed(u8),
}

/// The sockets of one case.
#[derive(Debug, Clone)]
struct Setup {
    ipc: bool,
    /// The bound socket.
    server: Kind,
    /// The sockets that connect to it.
    clients: Vec<Kind>,
    /// Per socket (the server first).
    mechanisms: Vec<Mechanism>,
    /// Per socket: ZAP_DOMAIN, when set.
    domains: Vec<Option<&'static str>>,
    /// The server's ROUTING_ID, when set (the identity frame of a ZAP request).
    server_id: Option<&'static str>,
    /// A ZAP handler is bound when the case starts.
    handler: bool,
    policy: Policy,
}

#[derive(Debug, Clone)]
enum Op {
    /// Client `who` connects to the server's endpoint; whether the handshake is to succeed
    /// (the generator's prediction, see [`admitted`]).
    Connect(usize, bool),
    /// Client `who` disconnects from it.
    Disconnect(usize),
    /// Client `who` is closed (LINGER 0).
    Close(usize),
    /// Socket `who` (0: the server) sends one message.
    Send(usize, Frames),
    /// Client `who` receives.
    Recv(usize),
    /// The server takes everything there is, each client's messages in their order.
    Drain,
    /// The handler answers the requests from now on this way.
    Answer(Policy),
    /// The handler is closed.
    HandlerGone,
}

/// What the generator tracks of a case's state.
struct State {
    connected: Vec<bool>,
    /// Per client: whether its last handshake was to succeed.
    admitted: Vec<bool>,
    /// Per client: connects so far.
    connects: Vec<usize>,
    policy: Policy,
    open: Vec<bool>,
    handler: bool,
    sent: usize,
}

fn policy(rng: &mut Rng) -> Policy {
    match rng.below(10) {
        0..=2 => {
            let user: &&str = rng.pick(&["", "alice"]);
            Policy::Allow(user, rng.chance(50))
        }
        3..=5 => Policy::Credentials,
        // Not 300: libzmq 4.3.4 (the `zmq` crate's) leaves a connection refused with 300
        // open; 4.3.5 closes it, as libsock does (docs/security.md).
        6..=8 => {
            let status: &&str = rng.pick(&["400", "500"]);
            Policy::Refuse(status)
        }
        _ => Policy::Malformed(rng.below(4) as u8),
    }
}

fn credentials(rng: &mut Rng) -> Mechanism {
    let (user, password) = *rng.pick(&[("admin", "secret"), ("admin", "wrong"), ("guest", "guest")]);
    Mechanism::Plain(user, password)
}

fn setup(rng: &mut Rng, ipc: bool) -> Setup {
    let (server, client) = *rng.pick(&[
        (Kind::Dealer, Kind::Dealer),
        (Kind::Router, Kind::Dealer),
        (Kind::Pull, Kind::Push),
        (Kind::Pair, Kind::Pair),
    ]);
    let count = if server == Kind::Pair { 1 } else { 1 + rng.below(2) };
    let mechanisms: Vec<Mechanism> = match rng.below(20) {
        // NULL everywhere; a ZAP domain makes the server ask the handler.
        0..=6 => vec![Mechanism::Null; 1 + count],
        // The bound socket is the PLAIN server; now and then a client speaks NULL.
        7..=15 => std::iter::once(Mechanism::PlainServer)
            .chain((0..count).map(|_| if rng.chance(15) { Mechanism::Null } else { credentials(rng) }))
            .collect(),
        // The connecting sockets are the PLAIN servers.
        16..=18 => {
            std::iter::once(credentials(rng)).chain((0..count).map(|_| Mechanism::PlainServer)).collect()
        }
        // A PLAIN client against a NULL server.
        _ => std::iter::once(Mechanism::Null).chain((0..count).map(|_| credentials(rng))).collect(),
    };
    // A NULL client keeps no ZAP domain: with one at both ends, both ask their handler, and
    // after a 300 each waits for the other's READY, which libzmq leaves to the handshake
    // timeout (30 s) and libsock ends at once (docs/security.md).
    let domains = mechanisms
        .iter()
        .enumerate()
        .map(|(i, m)| match m {
            Mechanism::Plain(..) => None,
            Mechanism::Null if i > 0 => None,
            _ => *rng.pick(&[None, Some("global"), Some("global")]),
        })
        .collect();
    let server_id = rng.chance(30).then_some("srv");
    Setup {
        ipc,
        server,
        clients: vec![client; count],
        mechanisms,
        domains,
        server_id,
        handler: rng.chance(85),
        policy: policy(rng),
    }
}

fn kind(s: &Setup, who: usize) -> Kind {
    if who == 0 {
        s.server
    } else {
        s.clients[who - 1]
    }
}

/// Whether client `c` and the server speak different mechanisms.
fn mismatched(s: &Setup, c: usize) -> bool {
    let plain = |m: Mechanism| m != Mechanism::Null;
    plain(s.mechanisms[0]) != plain(s.mechanisms[c])
}

/// Whether client `c`'s handshake is to succeed, with the handler there or not (`handler`)
/// answering under `policy`.
fn admitted(s: &Setup, c: usize, handler: bool, policy: Policy) -> bool {
    if mismatched(s, c) {
        return false;
    }
    let (asks, credentials) = match (s.mechanisms[0], s.mechanisms[c]) {
        (Mechanism::PlainServer, Mechanism::Plain(u, p))
        | (Mechanism::Plain(u, p), Mechanism::PlainServer) => {
            // Without a handler a PLAIN server refuses everyone.
            if !handler {
                return false;
            }
            (true, Some((u, p)))
        }
        // NULL: the server asks when it has a domain and a handler is there.
        _ => (s.domains[0].is_some() && handler, None),
    };
    !asks
        || match policy {
            Policy::Allow(..) => true,
            Policy::Credentials => credentials.is_none_or(|c| c == ("admin", "secret")),
            Policy::Refuse(_) | Policy::Malformed(_) => false,
        }
}

fn op(rng: &mut Rng, s: &Setup, st: &mut State) -> Op {
    let clients: Vec<usize> = (1..=s.clients.len()).filter(|&c| st.open[c]).collect();
    let live: Vec<usize> = (0..st.open.len()).filter(|&i| st.open[i]).collect();
    loop {
        let op = match rng.below(100) {
            0..=24 if !clients.is_empty() => {
                let c = *rng.pick(&clients);
                if st.connected[c] {
                    if mismatched(s, c) {
                        continue;
                    }
                    Op::Disconnect(c)
                } else if st.connects[c] > 0 && matches!(s.server, Kind::Router | Kind::Pair) {
                    // A ROUTER refuses a client back with its routing id while the old pipe
                    // holds messages, a PAIR a second peer; libsock closes the connection,
                    // libzmq keeps it and ignores it (README; the connections family too).
                    continue;
                } else {
                    Op::Connect(c, admitted(s, c, st.handler, st.policy))
                }
            }
            25..=27 if !clients.is_empty() => Op::Close(*rng.pick(&clients)),
            28..=59 => {
                let who = *rng.pick(&live);
                if kind(s, who) == Kind::Pull || (who > 0 && !st.admitted[who]) {
                    // A client whose handshake failed: see `step`.
                    continue;
                }
                st.sent += 1;
                // Named by its sender and, for a client, which of its connections it goes to
                // (`1.2:` is client 1's second): one client's connections are fair-queued too.
                let from = if who == 0 { "0".to_string() } else { format!("{who}.{}", st.connects[who]) };
                let mut frames = vec![format!("{from}:{}", st.sent).into_bytes()];
                if kind(s, who) == Kind::Router {
                    // To a client's routing id, `c<n>`.
                    frames.insert(0, format!("c{}", 1 + rng.below(s.clients.len())).into_bytes());
                }
                Op::Send(who, frames)
            }
            60..=84 => {
                let who = *rng.pick(&live);
                match kind(s, who) {
                    Kind::Push => continue,
                    _ if who == 0 => Op::Drain,
                    _ => Op::Recv(who),
                }
            }
            85..=95 if st.handler => Op::Answer(policy(rng)),
            96..=99 if st.handler => Op::HandlerGone,
            _ => continue,
        };
        match op {
            Op::Connect(c, ok) => {
                st.connected[c] = true;
                st.admitted[c] = ok;
                st.connects[c] += 1;
            }
            Op::Answer(p) => st.policy = p,
            Op::Disconnect(c) => st.connected[c] = false,
            Op::Close(c) => st.open[c] = false,
            Op::HandlerGone => st.handler = false,
            _ => {}
        }
        return op;
    }
}

/// One library's side of a case.
struct Side {
    /// The server, then the clients.
    sockets: Vec<Option<Twin>>,
    watch: Watch,
    /// The ZAP handler (a REP socket), while it is there.
    handler: Option<Twin>,
    policy: Policy,
    endpoint: String,
    /// Per client: whether its last handshake was to succeed.
    admitted: Vec<bool>,
}

fn open(libsock: bool, s: &Setup, seed: u64) -> Side {
    let maker = Maker::new(libsock);
    let make = |k: Kind| {
        let (l, z) = match k {
            Kind::Dealer => (libsock::DEALER, zmq::DEALER),
            Kind::Router => (libsock::ROUTER, zmq::ROUTER),
            Kind::Push => (libsock::PUSH, zmq::PUSH),
            Kind::Pull => (libsock::PULL, zmq::PULL),
            Kind::Pair => (libsock::PAIR, zmq::PAIR),
        };
        maker.socket(l, z)
    };
    let handler = s.handler.then(|| {
        let h = maker.socket(libsock::REP, zmq::REP);
        h.bind(ZAP_ENDPOINT).expect("ZAP handler");
        h
    });
    let (endpoint, mut names) = server_endpoint(libsock, s.ipc, &format!("sec-{seed}"));
    // An ipc peer's address is `localhost` followed by its `:uid:gid:pid` where libzmq is
    // built with SO_PEERCRED (Debian's, pyzmq's), as libsock always is; the `zmq` crate's
    // build is not.
    names.push((own_credentials(), "localhost".to_string()));
    let mut watch = Watch::new(names);
    let mut sockets = vec![make(s.server)];
    sockets.extend(s.clients.iter().map(|&k| make(k)));
    for (i, sock) in sockets.iter_mut().enumerate() {
        sock.set_int(LINGER, 0).expect("LINGER");
        sock.set_int(RECONNECT_IVL, -1).expect("RECONNECT_IVL");
        match s.mechanisms[i] {
            Mechanism::Null => {}
            Mechanism::PlainServer => sock.set_int(PLAIN_SERVER, 1).expect("PLAIN_SERVER"),
            Mechanism::Plain(user, password) => {
                sock.set_bytes(PLAIN_USERNAME, user.as_bytes()).expect("PLAIN_USERNAME");
                sock.set_bytes(PLAIN_PASSWORD, password.as_bytes()).expect("PLAIN_PASSWORD");
            }
        }
        if let Some(domain) = s.domains[i] {
            sock.set_bytes(ZAP_DOMAIN, domain.as_bytes()).expect("ZAP_DOMAIN");
        }
        let id = if i == 0 { s.server_id.map(str::to_string) } else { Some(format!("c{i}")) };
        if let Some(id) = id {
            sock.set_bytes(ROUTING_ID, id.as_bytes()).expect("ROUTING_ID");
        }
        watch.attach(&maker, sock, &format!("inproc://diff-sec-monitor-{seed}-{i}"));
    }
    sockets[0].bind(&endpoint).expect("bind");
    let admitted = vec![false; sockets.len()];
    Side {
        sockets: sockets.into_iter().map(Some).collect(),
        watch,
        handler,
        policy: s.policy,
        endpoint,
        admitted,
    }
}

/// `localhost:uid:gid:pid` of this process, as SO_PEERCRED reports it.
fn own_credentials() -> String {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata("/proc/self").expect("/proc/self");
    format!("localhost:{}:{}:{}", me.uid(), me.gid(), std::process::id())
}

/// ZMTP metadata (RFC 23): a name of one byte's length, a value of four bytes' length.
fn property(name: &str, value: &str) -> Vec<u8> {
    let mut out = vec![name.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
    out
}

/// The handler's reply to `request` (RFC 27's frames: version, request id, domain, address,
/// routing id, mechanism, credentials...) under `policy`.
fn reply(policy: Policy, request: &[Vec<u8>]) -> Frames {
    let id = request.get(1).cloned().unwrap_or_default();
    let answer = |status: &str, text: &str, user: &str, metadata: Vec<u8>| {
        vec![b"1.0".to_vec(), id.clone(), status.into(), text.into(), user.into(), metadata]
    };
    match policy {
        Policy::Allow(user, hello) => {
            answer("200", "OK", user, if hello { property("Hello", "World") } else { vec![] })
        }
        Policy::Credentials => {
            let plain = request.get(5).is_some_and(|m| m == b"PLAIN");
            let admitted =
                !plain || (request.get(6..8) == Some(&[b"admin".to_vec(), b"secret".to_vec()][..]));
            if admitted {
                answer("200", "OK", "admin", vec![])
            } else {
                answer("400", "bad credentials", "", vec![])
            }
        }
        Policy::Refuse(status) => answer(status, "refused", "", vec![]),
        Policy::Malformed(kind) => {
            let mut frames = answer("200", "OK", "", vec![]);
            match kind {
                0 => frames[0] = b"2.0".to_vec(),
                1 => frames[1] = b"not the id".to_vec(),
                2 => frames[2] = b"2xx".to_vec(),
                _ => frames.push(vec![]),
            }
            frames
        }
    }
}

/// Answers every ZAP request waiting at `handler` under `policy`, and notes each in
/// `requests` as the reports show it; says whether there was one.
fn answer_requests(
    handler: Option<&Twin>,
    policy: Policy,
    watch: &Watch,
    requests: &mut Vec<String>,
) -> bool {
    let Some(handler) = handler else { return false };
    let before = requests.len();
    while let Ok(request) = handler.recv_message() {
        // The request id is the handler's to echo, not to read: libzmq sends "1" on every
        // connection, libsock a number of its own for each request.
        let mut shown = strings(&request);
        if let Some(id) = shown.get_mut(1) {
            *id = "ID".into();
        }
        requests.push(watch.normalise(&format!("{shown:?}")));
        let _ = handler.send(&reply(policy, &request));
    }
    requests.len() > before
}

/// Frames as text where they are UTF-8 (ZAP's are, but for metadata).
fn strings(frames: &[Vec<u8>]) -> Vec<String> {
    frames.iter().map(|f| String::from_utf8(f.clone()).unwrap_or_else(|_| format!("{f:?}"))).collect()
}

/// One whole message with the properties of its last frame (the body: a ROUTER's routing
/// id frame carries them in libzmq only when it was not read ahead for a poll, in libsock
/// never), or the errno that ended the receive.
fn receive(socket: &Twin) -> Result<(Vec<String>, Vec<Option<String>>), i32> {
    let mut frames = Vec::new();
    loop {
        let (frame, more, properties) = socket.recv_frame_with(&PROPERTIES)?;
        frames.push(frame);
        if !more {
            return Ok((strings(&frames), properties));
        }
    }
}

/// A client's report where its server speaks another mechanism: libzmq's own client reports
/// the mismatch or, when the server's close wins the race, EPIPE. A client whose handshake
/// failed shows POLLIN alone: libzmq keeps its POLLOUT (a pipe to nowhere) for a while, now
/// and then for seconds, where libsock has none; such a client sends nothing. (Nor does a
/// client with a mismatch disconnect: libzmq forgets the endpoint when the close won.)
fn mismatch_report(event: &str) -> String {
    event.replace("HANDSHAKE_FAILED_NO_DETAIL 32 ", "HANDSHAKE_FAILED_PROTOCOL 285212674 ")
}

fn step(s: &Setup, side: &mut Side, op: Option<&Op>) -> String {
    let endpoint = side.endpoint.clone();
    let answer = match op {
        Some(Op::Connect(c, ok)) => {
            side.admitted[*c] = *ok;
            format!("{:?}", live(&side.sockets, *c).connect(&endpoint))
        }
        Some(Op::Disconnect(c)) => format!("{:?}", live(&side.sockets, *c).disconnect(&endpoint)),
        Some(Op::Close(c)) => {
            side.sockets[*c] = None;
            String::new()
        }
        Some(Op::Send(who, frames)) => format!("{:?}", live(&side.sockets, *who).send(frames)),
        Some(Op::Recv(who)) => format!("{:?}", receive(live(&side.sockets, *who))),
        // Which client's messages the fair queue reads first is libzmq's choice (pipes in
        // the order they became readable) and not libsock's (round robin): sorted by the
        // connection a message came through (its last frame's name), each in its order.
        Some(Op::Drain) => {
            let server = live(&side.sockets, 0);
            let mut all = Vec::new();
            let end = loop {
                match receive(server) {
                    Ok(m) => all.push(m),
                    Err(e) => break e,
                }
            };
            all.sort_by(|a, b| {
                let sender =
                    |m: &(Vec<String>, _)| m.0.last().and_then(|f| f.split(':').next()).map(str::to_owned);
                sender(a).cmp(&sender(b))
            });
            format!("{all:?} then errno {end}")
        }
        Some(Op::Answer(policy)) => {
            side.policy = *policy;
            String::new()
        }
        Some(Op::HandlerGone) => {
            side.handler = None;
            String::new()
        }
        None => String::new(),
    };
    let mut requests = Vec::new();
    let Side { sockets, watch, handler, policy, .. } = &*side;
    let events = watch.settle(
        sockets,
        QUIET,
        || answer_requests(handler.as_ref(), *policy, watch, &mut requests),
        |_, _| false,
    );
    let polled: Vec<Option<_>> = (side.sockets.iter().enumerate())
        .map(|(who, socket)| {
            // POLLIN alone for such a client.
            let mask = if who > 0 && !side.admitted[who] { 1 } else { -1 };
            socket.as_ref().map(|t| t.events().map(|e| e & mask))
        })
        .collect();
    let mut report = format!("answer {answer}\n");
    // Which of two handshakes asks first is timing's.
    requests.sort();
    for r in &requests {
        report.push_str(&format!("zap request {r}\n"));
    }
    for (who, e) in events.iter().enumerate() {
        let e: Vec<String> = if who > 0 && mismatched(s, who) {
            e.iter().map(|e| mismatch_report(e)).collect()
        } else {
            e.clone()
        };
        report.push_str(&format!("monitor {who}: {e:?}\n"));
    }
    report.push_str(&format!("events {polled:?}\n"));
    side.watch.normalise(&report)
}

fn run_case(seed: u64, ipc: bool, steps: usize) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let s = setup(&mut rng, ipc);
    let mut sides = [open(true, &s, seed), open(false, &s, seed)];
    let log = format!("seed {seed}\nsetup {s:?}\n");
    let count = s.clients.len();
    let mut st = State {
        connected: vec![false; 1 + count],
        admitted: vec![false; 1 + count],
        connects: vec![0; 1 + count],
        policy: s.policy,
        open: vec![true; 1 + count],
        handler: s.handler,
        sent: 0,
    };
    let next = || op(&mut rng, &s, &mut st);
    let result = crate::lockstep(log, &mut sides, steps, next, |side, op| step(&s, side, op));
    sides.iter().for_each(|side| remove_ipc_file(&side.endpoint));
    result
}

#[test]
fn tcp_handshakes_behave_as_libzmq_over_random_operations() {
    crate::run_cases(1, 20, |seed| run_case(seed, false, 12));
}

#[test]
fn ipc_handshakes_behave_as_libzmq_over_random_operations() {
    crate::run_cases(1, 8, |seed| run_case(seed, true, 12));
}

#[test]
#[ignore = "stress: many more cases, by hand"]
fn stress_handshakes_behave_as_libzmq() {
    crate::run_cases(1_000_000, 1_000, |seed| run_case(seed, seed % 4 == 0, 20));
}
