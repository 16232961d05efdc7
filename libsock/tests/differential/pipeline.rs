//! PUSH/PULL (either side bound, one to three peers, some connecting before the bind, some
//! with CONFLATE or IMMEDIATE) and PAIR (a second peer is refused). Compared: each call's answer, what each socket
//! receives, and every socket's ZMQ_EVENTS after each step.

use crate::twin::{live, Frames, Maker, Outcome, Rng, Twin};

const IMMEDIATE: i32 = 39;
const CONFLATE: i32 = 54;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Push,
    Pull,
    Pair,
}

/// The sockets of one case.
#[derive(Debug, Clone)]
struct Setup {
    server: Kind,
    clients: Vec<Kind>,
    /// Per client: connects before the server binds.
    early: Vec<bool>,
    /// Per socket (the server first): CONFLATE. Messages are single frames when any is.
    conflate: Vec<bool>,
    /// Per socket: IMMEDIATE (no queueing to a peer not yet there).
    immediate: Vec<bool>,
    /// The server binds at an [`Op::Bind`], after all clients connected and used their
    /// sockets for a while.
    bind_later: bool,
}

#[derive(Debug, Clone)]
enum Op {
    /// The server binds (see [`Setup::bind_later`]).
    Bind,
    /// Socket `who` (0: the server, then the clients) sends; frames tagged with the sender.
    Send(usize, Frames),
    /// Socket `who` receives.
    Recv(usize),
    /// Client `who` is closed.
    Close(usize),
}

fn setup(rng: &mut Rng) -> Setup {
    let (server, client, most) = match rng.below(3) {
        0 => (Kind::Push, Kind::Pull, 3),
        1 => (Kind::Pull, Kind::Push, 3),
        // A second PAIR peer is refused: what it sends goes nowhere.
        _ => (Kind::Pair, Kind::Pair, 2),
    };
    let count = 1 + rng.below(most);
    let bind_later = rng.chance(25);
    let early = (0..count).map(|_| bind_later || rng.chance(25)).collect();
    // CONFLATE on connecting sockets only: over inproc libzmq takes the connecting side's
    // option for both directions and ignores the bound side's; libsock honours each
    // socket's own (as libzmq does over tcp).
    // Nor before a bind: libzmq never delivers what a conflating socket sent while it waited
    // for the bind.
    let conflate = (0..=count).map(|i| i > 0 && !bind_later && rng.chance(15)).collect();
    let immediate = (0..=count).map(|_| rng.chance(20)).collect();
    Setup { server, clients: vec![client; count], early, conflate, immediate, bind_later }
}

fn kind(s: &Setup, who: usize) -> Kind {
    if who == 0 {
        s.server
    } else {
        s.clients[who - 1]
    }
}

fn op(rng: &mut Rng, s: &Setup, open: &[bool], sent: &mut usize, bound: bool) -> Op {
    if !bound && rng.chance(15) {
        return Op::Bind;
    }
    let live: Vec<usize> = (0..open.len()).filter(|&i| open[i]).collect();
    let who = *rng.pick(&live);
    let sends = kind(s, who) != Kind::Pull;
    let receives = kind(s, who) != Kind::Push;
    match rng.below(100) {
        // Not under a PUSH server with several peers: which one its round robin serves
        // next once one has left depends on how libzmq's lb_t swapped its pipes around. Nor
        // under a PULL server with several: on a loaded machine libzmq's now and then
        // reported no POLLIN (and received nothing) for a message another peer sent after
        // one had left, while libsock received it; not explained. Nor with CONFLATE:
        // libzmq drops the one message a conflating pipe holds when its writer closes;
        // libsock delivers it.
        0..=3 if who > 0 && s.clients.len() == 1 && !s.conflate.contains(&true) => Op::Close(who),
        0..=54 if sends => {
            *sent += 1;
            let mut frames = vec![format!("{who}:{sent}").into_bytes()];
            // CONFLATE keeps single frames only (libzmq's man page).
            let parts = if s.conflate.contains(&true) { 0 } else { rng.below(2) };
            frames.extend((0..parts).map(|i| vec![b'x'; i + 1]));
            Op::Send(who, frames)
        }
        _ if receives => Op::Recv(who),
        _ => Op::Recv(0),
    }
}

fn open(libsock: bool, s: &Setup) -> Vec<Option<Twin>> {
    let maker = Maker::new(libsock);
    let make = |k: Kind| {
        let (l, z) = match k {
            Kind::Push => (libsock::PUSH, zmq::PUSH),
            Kind::Pull => (libsock::PULL, zmq::PULL),
            Kind::Pair => (libsock::PAIR, zmq::PAIR),
        };
        maker.socket(l, z)
    };
    let mut sockets = vec![make(s.server)];
    sockets.extend(s.clients.iter().map(|&k| make(k)));
    for (i, sock) in sockets.iter_mut().enumerate() {
        sock.set_int(CONFLATE, i32::from(s.conflate[i])).expect("CONFLATE");
        sock.set_int(IMMEDIATE, i32::from(s.immediate[i])).expect("IMMEDIATE");
    }
    sockets.into_iter().map(Some).collect()
}

fn step(s: &Setup, endpoint: &str, sockets: &mut [Option<Twin>], op: Option<&Op>) -> String {
    let answer = match op {
        Some(Op::Bind) => format!("{:?}", live(sockets, 0).bind(endpoint)),
        Some(Op::Send(who, frames)) => format!("{:?}", live(sockets, *who).send(frames)),
        // A PULL server with several peers takes everything there is, each peer's messages
        // in their order: which peer the fair queue reads first is libzmq's choice (peers in
        // the order their pipes became readable) and not libsock's (round robin).
        Some(Op::Recv(0)) if s.server == Kind::Pull && s.clients.len() > 1 => {
            let (mut all, end) = live(sockets, 0).drain();
            all.sort_by_key(|m| m[0].split(|b| *b == b':').next().map(<[u8]>::to_vec));
            format!("{all:?} then errno {end}")
        }
        Some(Op::Recv(who)) => format!("{:?}", live(sockets, *who).recv_message()),
        Some(Op::Close(who)) => {
            sockets[*who] = None;
            live(sockets, 0).settle_departure();
            String::new()
        }
        None => String::new(),
    };
    let events: Vec<Option<Outcome<i32>>> = sockets.iter().map(|s| s.as_ref().map(Twin::events)).collect();
    format!("answer {answer}\nevents {events:?}\n")
}

fn run_case(seed: u64, steps: usize) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let s = setup(&mut rng);
    let endpoint = format!("inproc://diff-pipeline-{seed}");
    let mut sides = [open(true, &s), open(false, &s)];
    for side in &mut sides {
        for (i, client) in side[1..].iter().enumerate() {
            if s.early[i] {
                client.as_ref().unwrap().connect(&endpoint).expect("connect");
            }
        }
        if !s.bind_later {
            live(side, 0).bind(&endpoint).expect("bind");
        }
        for (i, client) in side[1..].iter().enumerate() {
            if !s.early[i] {
                client.as_ref().unwrap().connect(&endpoint).expect("connect");
            }
        }
    }
    let log = format!("seed {seed}\nsetup {s:?}\n");
    let mut open = vec![true; 1 + s.clients.len()];
    let mut sent = 0;
    let mut bound = !s.bind_later;
    let next = || {
        let op = op(&mut rng, &s, &open, &mut sent, bound);
        match op {
            Op::Close(who) => open[who] = false,
            Op::Bind => bound = true,
            _ => {}
        }
        op
    };
    crate::lockstep(log, &mut sides, steps, next, |side, op| step(&s, &endpoint, side, op))
}

#[test]
fn pipeline_and_pair_behave_as_libzmq_over_random_operations() {
    crate::run_cases(1, 300, |seed| run_case(seed, 30));
}

#[test]
#[ignore = "stress: many more cases, by hand"]
fn stress_pipeline_and_pair_behave_as_libzmq() {
    crate::run_cases(1_000_000, 20_000, |seed| run_case(seed, 60));
}
