//! The structure-aware CURVE and PLAIN targets: a real handshake between two of our sessions,
//! real messages, and the fuzz input mutating one direction of that traffic in flight.
//!
//! Input: byte 0 picks the step where mutation starts (and, for the greeting and MESSAGE
//! steps, the direction); byte 1 the size of the pieces the receiver reads (0: whole
//! deliveries); then four bytes per mutation ([`Mitm`]). Beyond "no panic", every run checks:
//! - every message a receiver yields is one the sender really sent, in order and never twice;
//!   while the bytes it read are untouched, exactly the next one; with CURVE, always one of
//!   the sender's, and exactly the next unless a frame was withheld (CURVE nonces must only
//!   increase, so a dropped MESSAGE goes unnoticed, as in libzmq);
//! - CURVE: ZAP only ever hears the client's real long-term key, and a client only becomes
//!   active after the server did; PLAIN: the server becomes active only after ZAP approved
//!   exactly the real credentials, and untouched HELLOs carry exactly them;
//! - ZAP is asked at most once, and no receiver buffers more than it was fed or asks for a
//!   read larger than the biggest frame it accepts.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::BytesMut;

use super::mutate::{Mitm, Step, GREETING_STEPS};
use super::{drain, secure_cfg};
use crate::codec::frame::decode_header;
use crate::session::{CookieJar, Security, Session, SessionEvent, ZapReply, ZapRequest};
use crate::{Message, SocketType};

/// The mechanism under test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Curve,
    Plain,
}

/// The client's identity: the one the fuzzed connection uses, or another connection's (whose
/// frames get spliced in).
const IDENTITIES: [([u8; 32], &[u8], &[u8]); 2] =
    [([7; 32], b"admin", b"secret"), ([9; 32], b"guest", b"guess")];

/// The largest read a receiver may ask for: the largest frame `secure_cfg` accepts, encrypted.
const MAX_WANTED: usize = 9 + (1 << 16) + 64;

/// One server socket's cookie keys, shared by every connection (as a real socket's are), so
/// another connection's INITIATE is sealed with the same keys.
fn cookies() -> Arc<CookieJar> {
    static JAR: OnceLock<Arc<CookieJar>> = OnceLock::new();
    JAR.get_or_init(|| Arc::new(CookieJar::new())).clone()
}

fn client_public(identity: usize) -> [u8; 32] {
    *crypto_box::SecretKey::from_bytes(IDENTITIES[identity].0).public_key().as_bytes()
}

fn securities(kind: Kind, identity: usize) -> [Security; 2] {
    let (secret, user, pass) = IDENTITIES[identity];
    match kind {
        Kind::Curve => {
            let server = super::FUZZ_SERVER_SECRET;
            let public = *crypto_box::SecretKey::from_bytes(server).public_key().as_bytes();
            [
                Security::CurveClient { secret, public: None, server: public },
                Security::CurveServer { secret: server, cookies: cookies() },
            ]
        }
        Kind::Plain => [
            Security::PlainClient { username: user.to_vec(), password: pass.to_vec() },
            Security::PlainServer,
        ],
    }
}

/// The messages a sender sends once active: single, multipart, empty, long-header; all
/// distinct, so a replay cannot pass for the next one.
fn messages(sender: usize) -> Vec<Message> {
    let mut first = Message::from(format!("multi part one from {sender}"));
    first.set_more(true);
    vec![
        Message::from(format!("single from {sender}")),
        first,
        Message::from(format!("multi part two from {sender}")),
        Message::new(),
        Message::from(vec![b'L' + sender as u8; 300]),
    ]
}

/// One side of the conversation.
struct Peer {
    session: Session,
    /// Output not yet split into frames.
    pending: Vec<u8>,
    /// Every frame this side sent (its greeting's steps first), and the same as one byte string.
    tape: Vec<Vec<u8>>,
    sent_bytes: Vec<u8>,
    /// What this side sent, part by part (body, MORE).
    sent: Vec<(Vec<u8>, bool)>,
    /// What reached this side, and its unread part.
    delivered: Vec<u8>,
    input: BytesMut,
    /// The index in the peer's `sent` of the next message this side may yield.
    next: usize,
    received: usize,
    zap_asked: usize,
    zap_approved: bool,
    alive: bool,
}

impl Peer {
    fn new(security: Security, now: Instant) -> Peer {
        Peer {
            session: Session::new(secure_cfg(SocketType::PAIR, security), now),
            pending: Vec::new(),
            tape: Vec::new(),
            sent_bytes: Vec::new(),
            sent: Vec::new(),
            delivered: Vec::new(),
            input: BytesMut::new(),
            next: 0,
            received: 0,
            zap_asked: 0,
            zap_approved: false,
            alive: true,
        }
    }

    /// The complete frames of this side's new output (each of the greeting's steps counts as
    /// one: the session sends the next only once the peer's previous step arrived).
    fn frames(&mut self) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(&drain(&mut self.session));
        let mut frames = Vec::new();
        loop {
            let step = self.tape.len() + frames.len();
            let len = if let Some(&end) = GREETING_STEPS.get(step) {
                end - step.checked_sub(1).map_or(0, |prev| GREETING_STEPS[prev])
            } else {
                match decode_header(&self.pending, None) {
                    Ok(Some(h)) => h.header_len + h.size as usize,
                    _ => break,
                }
            };
            if self.pending.len() < len {
                break;
            }
            frames.push(self.pending.drain(..len).collect());
        }
        frames
    }
}

/// What a run did, for the tests.
#[cfg_attr(not(test), allow(dead_code))]
pub(super) struct Outcome {
    /// Per side (0: client, 1: server): every frame it sent.
    pub tapes: [Vec<Vec<u8>>; 2],
    /// Per side: message parts it received, and whether its handshake completed.
    pub received: [usize; 2],
    pub active: [bool; 2],
}

/// The CURVE stream target.
pub fn curve_stream(data: &[u8]) {
    run(Kind::Curve, data, 0, foreign(Kind::Curve));
}

/// The PLAIN stream target.
pub fn plain_stream(data: &[u8]) {
    run(Kind::Plain, data, 0, foreign(Kind::Plain));
}

/// A clean conversation of the other identity, recorded once, to splice frames from.
pub(super) fn foreign(kind: Kind) -> &'static [Vec<Vec<u8>>; 2] {
    static CURVE: OnceLock<[Vec<Vec<u8>>; 2]> = OnceLock::new();
    static PLAIN: OnceLock<[Vec<Vec<u8>>; 2]> = OnceLock::new();
    let cell = if kind == Kind::Curve { &CURVE } else { &PLAIN };
    cell.get_or_init(|| {
        // Modes 5 and 11: mutations from MESSAGE on (none given), the client or server sending.
        std::array::from_fn(|direction| {
            let mode = if direction == 0 { 5 } else { 11 };
            let mut tapes = run(kind, &[mode, 0], 1, &Default::default()).tapes;
            std::mem::take(&mut tapes[direction])
        })
    })
}

/// Runs one conversation of `identity`'s client with the server, mutating per `data`.
pub(super) fn run(kind: Kind, data: &[u8], identity: usize, foreign: &[Vec<Vec<u8>>; 2]) -> Outcome {
    let (mode, chunk, ops) = match data {
        [mode, chunk, ops @ ..] => (*mode, usize::from(*chunk), ops),
        [mode] => (*mode, 0, &[][..]),
        [] => (0, 0, &[][..]),
    };
    let start = Step::ALL[usize::from(mode) % 6];
    let attacked = match start {
        Step::Hello | Step::Initiate => 0,
        Step::Welcome | Step::Ready => 1,
        Step::Greeting | Step::Message => usize::from(mode >> 3 & 1),
    };
    let now = Instant::now();
    let [client, server] = securities(kind, identity);
    let mut peers = [Peer::new(client, now), Peer::new(server, now)];
    let check = Check {
        kind,
        public: client_public(identity),
        creds: [IDENTITIES[identity].1, IDENTITIES[identity].2],
    };
    let mut mitm = Mitm::new(ops);
    let mut armed = false;
    let mut sent_messages = false;
    for _ in 0..64 {
        let mut progress = false;
        for (from, spliced) in foreign.iter().enumerate() {
            let [client, server] = &mut peers;
            let (tx, rx) = if from == 0 { (client, server) } else { (server, client) };
            if from == attacked && !sent_messages && tx.session.is_active() {
                for msg in messages(from) {
                    tx.session.send(&msg);
                    tx.sent.push((msg.to_vec(), msg.get_more()));
                }
                sent_messages = true;
            }
            let mut deliver = Vec::new();
            for frame in tx.frames() {
                progress = true;
                let greeting = tx.tape.len() < GREETING_STEPS.len();
                armed |= from == attacked && Step::of(&frame, greeting) >= start;
                tx.sent_bytes.extend_from_slice(&frame);
                tx.tape.push(frame);
                if armed && from == attacked {
                    mitm.pass(&tx.tape, spliced, &mut deliver);
                } else {
                    deliver.push(tx.tape.last().expect("just pushed").clone());
                }
            }
            check.receive(rx, tx, &deliver.concat(), chunk, mitm.skipped, now);
        }
        if !progress {
            // The traffic stopped: a frame held back for a swap goes out now, or we are done.
            let Some(held) = mitm.flush() else { break };
            let [client, server] = &mut peers;
            let (tx, rx) = if attacked == 0 { (client, server) } else { (server, client) };
            check.receive(rx, tx, &held, chunk, mitm.skipped, now);
        }
    }
    let [client, server] = &peers;
    if kind == Kind::Curve {
        // The server's READY cannot be forged: it follows ZAP's approval.
        assert!(!client.session.is_active() || server.session.is_active(), "CURVE client active first");
    }
    assert!(!server.session.is_active() || server.zap_approved, "server active without ZAP's approval");
    Outcome {
        received: [client.received, server.received],
        active: [client.session.is_active(), server.session.is_active()],
        tapes: peers.map(|p| p.tape),
    }
}

/// The oracle: what a receiver may yield, and what ZAP may hear.
struct Check {
    kind: Kind,
    public: [u8; 32],
    creds: [&'static [u8]; 2],
}

impl Check {
    /// Feeds `bytes` to `rx` in `chunk`-sized pieces (0: at once), checking every message and
    /// ZAP request. `skipped`: the man in the middle withheld a frame of `tx`'s.
    fn receive(&self, rx: &mut Peer, tx: &Peer, bytes: &[u8], chunk: usize, skipped: bool, now: Instant) {
        if !rx.alive || bytes.is_empty() {
            return;
        }
        let chunk = if chunk == 0 { bytes.len() } else { chunk };
        for piece in bytes.chunks(chunk) {
            rx.delivered.extend_from_slice(piece);
            rx.input.extend_from_slice(piece);
            loop {
                let before = rx.input.len();
                let result = rx.session.decode(&mut rx.input, now);
                let mut evented = false;
                while let Some(event) = rx.session.poll_event() {
                    evented = true;
                    if let SessionEvent::Zap(request) = event {
                        let reply = self.zap(rx, tx, &request);
                        if rx.session.zap_reply(reply, now).is_err() {
                            rx.alive = false;
                            return;
                        }
                    }
                }
                match result {
                    Ok(Some(msg)) => self.message(rx, tx, &msg, skipped),
                    Ok(None) if rx.input.len() == before && !evented => break,
                    Ok(None) => {}
                    Err(_) => {
                        rx.alive = false;
                        return;
                    }
                }
            }
            assert!(rx.input.len() <= rx.delivered.len(), "buffered more than was fed");
            assert!(rx.session.wanted() <= MAX_WANTED, "asked for a {} byte read", rx.session.wanted());
        }
    }

    /// Whether everything `rx` has consumed so far is exactly what `tx` sent.
    fn intact(rx: &Peer, tx: &Peer) -> bool {
        let consumed = rx.delivered.len() - rx.input.len();
        tx.sent_bytes.get(..consumed) == Some(&rx.delivered[..consumed])
    }

    fn message(&self, rx: &mut Peer, tx: &Peer, msg: &Message, skipped: bool) {
        rx.received += 1;
        let got = (msg.to_vec(), msg.get_more());
        let index = tx.sent.iter().position(|m| *m == got);
        if Self::intact(rx, tx) || (self.kind == Kind::Curve && !skipped) {
            assert_eq!(index, Some(rx.next), "not the next message sent: {got:?}");
        } else if self.kind == Kind::Curve {
            assert!(index.is_some_and(|i| i >= rx.next), "tampered, replayed or reordered: {got:?}");
        }
        // PLAIN carries no integrity: after tampering, any bytes may pass for a message.
        rx.next = index.map_or(rx.next, |i| i + 1);
    }

    fn zap(&self, rx: &mut Peer, tx: &Peer, request: &ZapRequest) -> ZapReply {
        rx.zap_asked += 1;
        assert_eq!(rx.zap_asked, 1, "ZAP asked twice");
        let approve = match self.kind {
            Kind::Curve => {
                assert_eq!(request.credentials, [self.public.to_vec()], "a key the client never vouched for");
                true
            }
            Kind::Plain => {
                let real = request.credentials == self.creds;
                assert!(real || !Self::intact(rx, tx), "an untouched HELLO, other credentials");
                real
            }
        };
        rx.zap_approved = approve;
        if approve {
            ZapReply::allow()
        } else {
            ZapReply { status: "400".into(), ..ZapReply::allow() }
        }
    }
}
