//! The forwarder's side of pub/sub: one SUB or XSUB bound, one to three PUB or XPUB
//! connecting to it (before the bind, after it, or later on). Subscriptions must reach every publisher, also
//! one that connects later; each publisher's XPUB sees them; the subscriber gets what
//! matches from all of them. Compared after each step: answers, what every socket receives
//! (the subscriber's messages by publisher, each publisher's in order), ZMQ_EVENTS.

use std::fmt::Write as _;

use crate::twin::{Frames, Maker, Rng, Twin};

const SUBSCRIBE: i32 = 6;
const UNSUBSCRIBE: i32 = 7;
const XPUB_VERBOSE: i32 = 40;

const TOPICS: &[&[u8]] = &[b"", b"a", b"ab", b"b", b"\xff"];

/// The sockets of one case.
#[derive(Debug, Clone)]
struct Setup {
    xsub: bool,
    /// Per publisher: an XPUB (else a PUB), XPUB_VERBOSE, when it connects.
    publishers: Vec<(bool, bool, Join)>,
}

/// When a publisher connects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Join {
    BeforeBind,
    AfterBind,
    /// At an [`Op::Join`], once the subscriber may have subscribed.
    Later,
}

#[derive(Debug, Clone)]
enum Op {
    /// Publisher `i` connects.
    Join(usize),
    /// The subscriber subscribes (SUB: the option; XSUB: a `\x01` message).
    Subscribe(Vec<u8>),
    /// The subscriber cancels.
    Unsubscribe(Vec<u8>),
    /// Publisher `i` sends (its index as the last frame).
    Publish(usize, Frames),
    /// Publisher `i` is closed.
    Close(usize),
}

fn setup(rng: &mut Rng) -> Setup {
    let publishers = (0..1 + rng.below(3))
        .map(|_| {
            let join = *rng.pick(&[Join::BeforeBind, Join::AfterBind, Join::Later]);
            (rng.chance(60), rng.chance(30), join)
        })
        .collect();
    Setup { xsub: rng.chance(40), publishers }
}

fn op(rng: &mut Rng, open: &[bool], joined: &[bool]) -> Op {
    let waiting: Vec<usize> = (0..open.len()).filter(|&i| !joined[i]).collect();
    let live: Vec<usize> = (0..open.len()).filter(|&i| open[i] && joined[i]).collect();
    let topic = rng.pick(TOPICS).to_vec();
    match rng.below(100) {
        0..=9 if !waiting.is_empty() => Op::Join(*rng.pick(&waiting)),
        0..=29 => Op::Subscribe(topic),
        30..=44 => Op::Unsubscribe(topic),
        45..=48 if live.len() > 1 => Op::Close(*rng.pick(&live)),
        _ if !live.is_empty() => {
            let who = *rng.pick(&live);
            let mut first = topic;
            if rng.chance(40) {
                first.push(b'x');
            }
            Op::Publish(who, vec![first, format!("p{who}").into_bytes()])
        }
        _ => Op::Subscribe(topic),
    }
}

struct Side {
    subscriber: Twin,
    xsub: bool,
    publishers: Vec<Option<Twin>>,
}

impl Side {
    fn open(libsock: bool, s: &Setup) -> Side {
        let maker = Maker::new(libsock);
        let make = |ls_kind, z_kind| maker.socket(ls_kind, z_kind);
        let subscriber = if s.xsub { make(libsock::XSUB, zmq::XSUB) } else { make(libsock::SUB, zmq::SUB) };
        let mut publishers = Vec::new();
        for &(xpub, verbose, _) in &s.publishers {
            let mut p = if xpub { make(libsock::XPUB, zmq::XPUB) } else { make(libsock::PUB, zmq::PUB) };
            if xpub && verbose {
                p.set_int(XPUB_VERBOSE, 1).expect("XPUB_VERBOSE");
            }
            publishers.push(Some(p));
        }
        Side { subscriber, xsub: s.xsub, publishers }
    }

    fn run(&mut self, op: &Op, endpoint: &str) -> String {
        let answer = match op {
            Op::Join(i) => self.publishers[*i].as_ref().expect("open publisher").connect(endpoint),
            Op::Subscribe(t) | Op::Unsubscribe(t) => {
                let on = matches!(op, Op::Subscribe(_));
                if self.xsub {
                    let mut m = vec![u8::from(on)];
                    m.extend_from_slice(t);
                    self.subscriber.send(&[m])
                } else {
                    self.subscriber.set_bytes(if on { SUBSCRIBE } else { UNSUBSCRIBE }, t)
                }
            }
            Op::Publish(i, frames) => self.publishers[*i].as_ref().expect("open publisher").send(frames),
            Op::Close(i) => {
                self.publishers[*i] = None;
                Ok(())
            }
        };
        format!("{answer:?}")
    }

    /// Lets everyone process what the others sent, a few rounds after a close.
    fn settle(&self, departed: bool) {
        for round in 0..if departed { 6 } else { 1 } {
            if round > 0 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let _ = self.subscriber.events();
            for p in self.publishers.iter().flatten() {
                let _ = p.events();
            }
        }
    }

    fn observe(&mut self) -> String {
        let mut seen = String::new();
        for (i, p) in self.publishers.iter().enumerate() {
            if let Some(p) = p {
                let (messages, end) = p.drain();
                let _ =
                    writeln!(seen, "publisher {i}: {messages:?} then errno {end} events {:?}", p.events());
            }
        }
        let (mut messages, end) = self.subscriber.drain();
        // Which publisher's message a SUB reads first is the fair queue's choice (README,
        // "Checked against libzmq step by step"): by publisher, each one's in order.
        messages.sort_by(|a, b| a.last().cmp(&b.last()));
        let _ =
            writeln!(seen, "subscriber: {messages:?} then errno {end} events {:?}", self.subscriber.events());
        seen
    }
}

fn run_case(seed: u64, steps: usize) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let s = setup(&mut rng);
    let endpoint = format!("inproc://diff-fanin-{seed}");
    let mut sides = [Side::open(true, &s), Side::open(false, &s)];
    for side in &mut sides {
        for (i, &(_, _, join)) in s.publishers.iter().enumerate() {
            if join == Join::BeforeBind {
                side.publishers[i].as_ref().unwrap().connect(&endpoint).expect("connect");
            }
        }
        side.subscriber.bind(&endpoint).expect("bind");
        for (i, &(_, _, join)) in s.publishers.iter().enumerate() {
            if join == Join::AfterBind {
                side.publishers[i].as_ref().unwrap().connect(&endpoint).expect("connect");
            }
        }
    }
    let log = format!("seed {seed}\nsetup {s:?}\n");
    let mut open = vec![true; s.publishers.len()];
    let mut joined: Vec<bool> = s.publishers.iter().map(|p| p.2 != Join::Later).collect();
    let next = || {
        let op = op(&mut rng, &open, &joined);
        match op {
            Op::Close(i) => open[i] = false,
            Op::Join(i) => joined[i] = true,
            _ => {}
        }
        op
    };
    crate::lockstep(log, &mut sides, steps, next, |side, op| {
        let answer = op.map(|o| side.run(o, &endpoint)).unwrap_or_default();
        side.settle(matches!(op, Some(Op::Close(_))));
        format!("answer {answer}\n{}", side.observe())
    })
}

#[test]
fn fanin_pubsub_behaves_as_libzmq_over_random_operations() {
    crate::run_cases(1, 300, |seed| run_case(seed, 30));
}

#[test]
#[ignore = "stress: many more cases, by hand"]
fn stress_fanin_pubsub_behaves_as_libzmq() {
    crate::run_cases(1_000_000, 20_000, |seed| run_case(seed, 60));
}
