//! Connections over tcp and ipc, watched through monitor events: a bound server and one or
//! two clients that bind, unbind, connect, disconnect, close, send (a quarter of the messages
//! multipart) and receive in any order.
//! Compared after each step (once both libraries have gone quiet): each call's answer, the
//! monitor events each socket published since the last step (kind, endpoint, and the value
//! where it is an errno or a protocol code), what each socket receives, and every socket's
//! ZMQ_EVENTS.
//!
//! A socket has RECONNECT_IVL 60 s or -1, so a refused or broken connection is retried never
//! or long after the case ends, or (clients only) [`RETRY_IVL`], so that a client finds a
//! server bound again: libzmq adds a random jitter to each retry, which makes the count of
//! retries timing's and not the library's, so a retrying client's attempts (CONNECT_DELAYED,
//! CLOSED, CONNECT_RETRIED) are not compared, and a step waits longer ([`QUIET_RETRYING`]).

use std::time::Duration;

use crate::twin::{live, Frames, Maker, Rng, Twin};
use crate::watch::{remove_ipc_file, server_endpoint, Watch};

const ROUTING_ID: i32 = 5;
const LINGER: i32 = 17;
const RECONNECT_IVL: i32 = 18;
const SUBSCRIBE: i32 = 6;
const IMMEDIATE: i32 = 39;

/// How long both libraries must publish nothing new before a step's events are compared.
const QUIET: Duration = Duration::from_millis(60);

/// A retrying client's RECONNECT_IVL, in ms: each library retries within twice that.
const RETRY_IVL: i32 = 20;

/// [`QUIET`] in a case with a retrying client: long enough for a retry to find the server
/// bound again, and for its handshake.
const QUIET_RETRYING: Duration = Duration::from_millis(150);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Dealer,
    Router,
    Push,
    Pull,
    Pub,
    Sub,
    Pair,
    Rep,
    Req,
}

/// The sockets of one case.
#[derive(Debug, Clone)]
struct Setup {
    ipc: bool,
    server: Kind,
    clients: Vec<Kind>,
    /// Per socket (the server first): RECONNECT_IVL.
    reconnect: Vec<i32>,
    /// Per socket: IMMEDIATE.
    immediate: Vec<bool>,
}

#[derive(Debug, Clone)]
enum Op {
    /// The server binds its endpoint.
    Bind,
    /// The server unbinds it.
    Unbind,
    /// Client `who` connects to the server's endpoint.
    Connect(usize),
    /// Client `who` disconnects from it.
    Disconnect(usize),
    /// Client `who` is closed (LINGER 0).
    Close(usize),
    /// Socket `who` (0: the server) sends one message, tagged with its sender.
    Send(usize, Frames),
    /// Socket `who` receives.
    Recv(usize),
    /// The server takes everything there is (it has several pipes with messages: see
    /// [`step`]).
    Drain,
}

/// What the generator tracks of a case's state.
struct State {
    bound: bool,
    connected: Vec<bool>,
    /// Per client: connects so far.
    connects: Vec<usize>,
    open: Vec<bool>,
    sent: usize,
    /// A client disconnected or closed: the server may hold messages of its connection.
    departed: bool,
    /// A multipart message was sent.
    multipart: bool,
    /// A REP server was asked to receive, and has not replied since.
    replying: bool,
}

fn setup(rng: &mut Rng, ipc: bool) -> Setup {
    let (server, client) = *rng.pick(&[
        (Kind::Dealer, Kind::Dealer),
        (Kind::Router, Kind::Dealer),
        (Kind::Pull, Kind::Push),
        (Kind::Push, Kind::Pull),
        (Kind::Pub, Kind::Sub),
        (Kind::Pair, Kind::Pair),
        (Kind::Rep, Kind::Req),
    ]);
    // REP takes one request at a time, and which of several clients it reads first is the
    // fair queue's choice: one client. PAIR: a second peer is refused, which libsock does by
    // closing its connection and libzmq by ignoring it (the connection stays, its messages
    // go nowhere): one client, which connects once (its earlier pipe may still hold
    // messages when it comes back).
    let count = if matches!(server, Kind::Rep | Kind::Pair) { 1 } else { 1 + rng.below(2) };
    let reconnect = (0..=count)
        .map(|i| *rng.pick(if i == 0 { &[-1, 60_000][..] } else { &[-1, 60_000, RETRY_IVL] }))
        .collect();
    let immediate = (0..=count).map(|_| rng.chance(25)).collect();
    Setup { ipc, server, clients: vec![client; count], reconnect, immediate }
}

fn kind(s: &Setup, who: usize) -> Kind {
    if who == 0 {
        s.server
    } else {
        s.clients[who - 1]
    }
}

fn op(rng: &mut Rng, s: &Setup, st: &mut State) -> Op {
    let clients: Vec<usize> = (1..=s.clients.len()).filter(|&c| st.open[c]).collect();
    let live: Vec<usize> = (0..st.open.len()).filter(|&i| st.open[i]).collect();
    loop {
        let roll = rng.below(100);
        let op = match roll {
            0..=9 if !st.bound => Op::Bind,
            // Unbinding keeps a connection whose messages the server has not read open
            // until it reads them, and libzmq closes one it has read only when its fair
            // queue next looks at it, which it may not while another has messages: one
            // client, which never left (the pipes of its earlier connections may hold
            // messages too). An IMMEDIATE client that receives, or one with RECONNECT_IVL -1,
            // loses what it had not read when its connection breaks in libzmq, and keeps it
            // in libsock (README). A REP
            // that owes a reply reads no request, so libzmq leaves an emptied connection
            // open (as a REQ's, below).
            0..=4
                if st.bound
                    && s.clients.len() == 1
                    && !st.departed
                    && !((s.immediate[1] || s.reconnect[1] == -1) && s.clients[0] != Kind::Push)
                    && !st.replying =>
            {
                Op::Unbind
            }
            10..=19 if !clients.is_empty() => {
                let c = *rng.pick(&clients);
                if st.connected[c] {
                    if s.immediate[c] && matches!(kind(s, c), Kind::Sub | Kind::Req) {
                        // libzmq ends the emptied connection only when the socket next reads
                        // that pipe: a SUB answers from the message it read ahead, a REQ
                        // reads only its reply pipe; libsock ends it at once (README).
                        continue;
                    }
                    if kind(s, c) == Kind::Sub && st.multipart {
                        // A SUB may have read a multipart message's first frame ahead: libzmq
                        // drops the rest with the pipe, and aborts at a later receive
                        // (README).
                        continue;
                    }
                    Op::Disconnect(c)
                } else if st.connects[c] > 0
                    && (s.immediate[c] || matches!(s.server, Kind::Pair | Kind::Router))
                {
                    // A ROUTER keeps the routing id of a pipe that still holds messages: a
                    // client back with it is refused (libsock closes its connection) or
                    // left anonymous (libzmq reads its messages as tries at an id); see
                    // README, and PAIR above. An IMMEDIATE client's earlier connection stays
                    // until its messages are read: with a second pipe, when it closes is the
                    // fair queue's order (README).
                    continue;
                } else {
                    Op::Connect(c)
                }
            }
            20..=22 if !clients.is_empty() => Op::Close(*rng.pick(&clients)),
            23..=69 => {
                let who = *rng.pick(&live);
                if matches!(kind(s, who), Kind::Pull | Kind::Sub) {
                    continue;
                }
                st.sent += 1;
                // Named by its sender and, for a client, which of its connections it goes
                // to (`1.2:` is client 1's second).
                let from = if who == 0 { "0".to_string() } else { format!("{who}.{}", st.connects[who]) };
                let mut frames = vec![format!("{from}:{}", st.sent).into_bytes()];
                // One in four is multipart: the rest of it after the first frame's name.
                if rng.chance(25) {
                    frames.extend(
                        (1..=1 + rng.below(2)).map(|i| format!("{from}:{}.{i}", st.sent).into_bytes()),
                    );
                }
                if kind(s, who) == Kind::Router {
                    // To a client's routing id, `c<n>`.
                    frames.insert(0, format!("c{}", 1 + rng.below(s.clients.len())).into_bytes());
                }
                Op::Send(who, frames)
            }
            70..=99 => {
                let who = *rng.pick(&live);
                if matches!(kind(s, who), Kind::Push | Kind::Pub) {
                    continue;
                }
                if who == 0 && (s.clients.len() > 1 || st.connects.iter().any(|&n| n > 1)) {
                    Op::Drain
                } else {
                    Op::Recv(who)
                }
            }
            _ => continue,
        };
        match op {
            Op::Bind => st.bound = true,
            Op::Unbind => st.bound = false,
            Op::Connect(c) => {
                st.connected[c] = true;
                st.connects[c] += 1;
            }
            Op::Disconnect(c) => {
                st.connected[c] = false;
                st.departed = true;
            }
            Op::Close(c) => {
                st.open[c] = false;
                st.departed = true;
            }
            Op::Send(who, ref frames) => {
                st.multipart |= frames.len() > 1;
                st.replying &= who != 0;
            }
            Op::Recv(0) | Op::Drain => st.replying |= s.server == Kind::Rep,
            _ => {}
        }
        return op;
    }
}

/// One library's side of a case: its sockets, their monitors, and the server's endpoint.
struct Side {
    sockets: Vec<Option<Twin>>,
    watch: Watch,
    /// Per socket: whether it retries within the case ([`RETRY_IVL`]).
    retrying: Vec<bool>,
    endpoint: String,
}

fn open(libsock: bool, s: &Setup, seed: u64) -> Side {
    let maker = Maker::new(libsock);
    let make = |k: Kind| {
        let (l, z) = match k {
            Kind::Dealer => (libsock::DEALER, zmq::DEALER),
            Kind::Router => (libsock::ROUTER, zmq::ROUTER),
            Kind::Push => (libsock::PUSH, zmq::PUSH),
            Kind::Pull => (libsock::PULL, zmq::PULL),
            Kind::Pub => (libsock::PUB, zmq::PUB),
            Kind::Sub => (libsock::SUB, zmq::SUB),
            Kind::Pair => (libsock::PAIR, zmq::PAIR),
            Kind::Rep => (libsock::REP, zmq::REP),
            Kind::Req => (libsock::REQ, zmq::REQ),
        };
        maker.socket(l, z)
    };
    let (endpoint, names) = server_endpoint(libsock, s.ipc, &format!("conn-{seed}"));
    let mut watch = Watch::new(names);
    let mut sockets = vec![make(s.server)];
    sockets.extend(s.clients.iter().map(|&k| make(k)));
    for (i, sock) in sockets.iter_mut().enumerate() {
        sock.set_int(LINGER, 0).expect("LINGER");
        sock.set_int(RECONNECT_IVL, s.reconnect[i]).expect("RECONNECT_IVL");
        sock.set_int(IMMEDIATE, i32::from(s.immediate[i])).expect("IMMEDIATE");
        if i > 0 {
            sock.set_bytes(ROUTING_ID, format!("c{i}").as_bytes()).expect("ROUTING_ID");
        }
        if kind(s, i) == Kind::Sub {
            sock.set_bytes(SUBSCRIBE, b"").expect("SUBSCRIBE");
        }
        watch.attach(&maker, sock, &format!("inproc://diff-conn-monitor-{seed}-{i}"));
    }
    let retrying = s.reconnect.iter().map(|&ivl| ivl == RETRY_IVL).collect();
    Side { sockets: sockets.into_iter().map(Some).collect(), watch, retrying, endpoint }
}

impl Side {
    /// Every socket's monitor events until both libraries are quiet; a retrying client's
    /// attempts are left out (see the module's comment).
    fn settle(&self) -> Vec<Vec<String>> {
        let quiet = if self.retrying.contains(&true) { QUIET_RETRYING } else { QUIET };
        let attempt =
            |e: &str| ["CONNECT_DELAYED", "CLOSED", "CONNECT_RETRIED"].iter().any(|a| e.starts_with(a));
        self.watch.settle(&self.sockets, quiet, || false, |who, e| self.retrying[who] && attempt(e))
    }
}

fn step(s: &Setup, side: &mut Side, op: Option<&Op>) -> String {
    let endpoint = side.endpoint.clone();
    let answer = match op {
        Some(Op::Bind) => format!("{:?}", live(&side.sockets, 0).bind(&endpoint)),
        Some(Op::Unbind) => format!("{:?}", live(&side.sockets, 0).unbind(&endpoint)),
        Some(Op::Connect(c)) => format!("{:?}", live(&side.sockets, *c).connect(&endpoint)),
        Some(Op::Disconnect(c)) => format!("{:?}", live(&side.sockets, *c).disconnect(&endpoint)),
        Some(Op::Close(c)) => {
            side.sockets[*c] = None;
            String::new()
        }
        Some(Op::Send(who, frames)) => format!("{:?}", live(&side.sockets, *who).send(frames)),
        // A server with several clients, or a client's earlier connection, takes everything
        // there is, each connection's messages in their order: which pipe the fair queue
        // reads first is libzmq's choice (pipes in the order they became readable) and not
        // libsock's (round robin).
        Some(Op::Drain) => {
            let (mut all, end) = live(&side.sockets, 0).drain();
            if s.server == Kind::Router {
                // The routing id a ROUTER prefixes is the client's, set by it: kept.
                all.sort_by(|a, b| a[0].cmp(&b[0]));
            } else {
                all.sort_by_key(|m| m[0].split(|b| *b == b':').next().map(<[u8]>::to_vec));
            }
            format!("{all:?} then errno {end}")
        }
        Some(Op::Recv(who)) => format!("{:?}", live(&side.sockets, *who).recv_message()),
        None => String::new(),
    };
    let mut events = side.settle();
    // A bind that two retrying clients were waiting for: their connections come up at once,
    // and how the server's events of the two interleave is timing's, in either library.
    let retrying = side.retrying.iter().zip(&side.sockets).filter(|(r, s)| **r && s.is_some()).count();
    if matches!(op, Some(Op::Bind)) && retrying > 1 {
        events[0].sort();
    }
    let polled: Vec<Option<_>> = side.sockets.iter().map(|s| s.as_ref().map(Twin::events)).collect();
    let mut report = format!("answer {answer}\n");
    for (who, e) in events.iter().enumerate() {
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
        bound: false,
        connected: vec![false; 1 + count],
        connects: vec![0; 1 + count],
        open: vec![true; 1 + count],
        sent: 0,
        departed: false,
        multipart: false,
        replying: false,
    };
    let next = || op(&mut rng, &s, &mut st);
    let result = crate::lockstep(log, &mut sides, steps, next, |side, op| step(&s, side, op));
    sides.iter().for_each(|side| remove_ipc_file(&side.endpoint));
    result
}

#[test]
fn tcp_connections_behave_as_libzmq_over_random_operations() {
    crate::run_cases(1, 25, |seed| run_case(seed, false, 14));
}

#[test]
fn ipc_connections_behave_as_libzmq_over_random_operations() {
    crate::run_cases(1, 25, |seed| run_case(seed, true, 14));
}

#[test]
#[ignore = "stress: many more cases, by hand"]
fn stress_connections_behave_as_libzmq() {
    crate::run_cases(1_000_000, 1_000, |seed| run_case(seed, seed % 2 == 0, 30));
}
