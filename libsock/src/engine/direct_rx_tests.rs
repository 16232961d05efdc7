//! Unit tests of `direct_rx`'s hold (rule 7) against a real epoll set: while the application
//! holds the stream the I/O thread's poll reports no readability, and every way the hold
//! ends (release, the I/O thread's tick, a hand-back) takes or reports bytes that arrived
//! meanwhile.

use std::collections::VecDeque;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::{DirectRx, Tick};
use crate::pipe::{DirectSource, Waited, Wake};

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Rig {
    poll: Poll,
    events: Events,
    peer: UnixStream,
    _ours: UnixStream,
    /// Never readable: the application's signal descriptor stand-in.
    wake: (UnixStream, UnixStream),
    io: Arc<Count>,
    rx: DirectRx,
}

const TOKEN: Token = Token(7);

impl Rig {
    fn new() -> Rig {
        Rig::with(false)
    }

    /// `flood`: the read side of a PULL (rule 8).
    fn with(flood: bool) -> Rig {
        Rig::build(flood, false)
    }

    /// The read side of a REQ's connection (replies in their envelope only).
    fn req() -> Rig {
        Rig::build(false, true)
    }

    /// A PULL's read side on a `ws://` client link (the server's frames come unmasked).
    fn ws_pull() -> Rig {
        let mut rig = Rig::build(true, false);
        rig.rx.websocket = Some(false);
        rig
    }

    fn build(flood: bool, replies_only: bool) -> Rig {
        let (ours, peer) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let poll = Poll::new().unwrap();
        let fd = ours.as_raw_fd();
        poll.registry().register(&mut SourceFd(&fd), TOKEN, Interest::READABLE | Interest::WRITABLE).unwrap();
        let io = Arc::new(Count::default());
        let epfd = poll.as_raw_fd();
        let app = Arc::new(Count::default());
        let mut rx =
            DirectRx::new(fd, (epfd, TOKEN.0 as u64), io.clone(), app, None, None, flood.then(Arc::default));
        if replies_only {
            rx = rx.replies_only();
        }
        rx.set_io_busy(false);
        let mut rig = Rig {
            poll,
            events: Events::with_capacity(8),
            peer,
            _ours: ours,
            wake: UnixStream::pair().unwrap(),
            io,
            rx,
        };
        rig.io_readable();
        rig
    }

    /// Whether the I/O thread's poll reports the stream readable now (and clears the edge).
    fn io_readable(&mut self) -> bool {
        self.poll.poll(&mut self.events, Some(Duration::ZERO)).unwrap();
        self.events.iter().any(|e| e.token() == TOKEN && e.is_readable())
    }

    /// The peer sends a one-frame message of one byte (a ZMTP short data frame).
    fn send(&mut self, byte: u8) {
        self.peer.write_all(&[0, 1, byte]).unwrap();
    }

    /// A blocking direct receive of the next message.
    fn recv(&mut self) -> u8 {
        let mut out = VecDeque::new();
        let deadline = Some(Instant::now() + Duration::from_secs(20));
        let waited = self.rx.wait(self.wake.0.as_raw_fd(), deadline, false, &mut || true, &mut out);
        assert_eq!(waited, Waited::Got);
        assert_eq!(out.len(), 1);
        out[0][0]
    }
}

#[test]
fn a_hold_after_a_release_starts_the_tick_again() {
    // The I/O thread is told to tick when a wait leaves the stream held; if the application
    // releases before the I/O thread looks, no tick runs. The next hold must tell it again,
    // or that hold never ends while the application is away (unanswered PINGs: the peer's
    // heartbeat timeout drops the link).
    let mut rig = Rig::new();
    rig.send(1);
    assert_eq!(rig.recv(), 1);
    assert_eq!(rig.io.0.load(Ordering::SeqCst), 1, "told to tick");
    let mut out = VecDeque::new();
    rig.rx.release(&mut out, false, &mut || true);
    assert!(!rig.rx.is_held());
    // (The I/O thread now finds the stream released and starts no tick.)
    rig.send(2);
    assert_eq!(rig.recv(), 2);
    assert!(rig.rx.is_held());
    assert_eq!(rig.io.0.load(Ordering::SeqCst), 2, "the new hold did not ask for a tick");
}

#[test]
fn held_across_receives_until_released() {
    let mut rig = Rig::new();
    rig.send(1);
    assert_eq!(rig.recv(), 1);
    assert!(rig.rx.is_held());
    // The hold was taken once, and the I/O thread told once (to start its tick).
    assert_eq!(rig.io.0.load(Ordering::SeqCst), 1);
    rig.send(2);
    assert!(!rig.io_readable(), "the I/O thread was woken for bytes the application holds");
    assert!(rig.rx.io_lock().is_none(), "the I/O thread may not read while held");
    assert_eq!(rig.recv(), 2);
    assert_eq!(rig.io.0.load(Ordering::SeqCst), 1, "a second receive while held told the I/O thread again");
    // Released: what already arrived is taken on the way (as the I/O thread would have
    // read it), and the I/O thread watches the stream again.
    rig.send(3);
    let mut out = VecDeque::new();
    rig.rx.release(&mut out, false, &mut || true);
    assert_eq!(out.iter().map(|m| m[0]).collect::<Vec<_>>(), [3]);
    assert!(!rig.rx.is_held());
    rig.send(4);
    assert!(rig.io_readable(), "bytes after the release were not reported to the I/O thread");
    assert!(rig.rx.io_lock().is_some());
}

#[test]
fn the_tick_ends_the_hold_only_when_the_application_is_away() {
    let mut rig = Rig::new();
    rig.send(1);
    assert_eq!(rig.recv(), 1);
    let Tick::Again(seen) = rig.rx.idle_tick(u64::MAX) else {
        panic!("a wait since the last tick: still held")
    };
    assert_eq!(rig.recv_after(2), 2);
    let Tick::Again(seen) = rig.rx.idle_tick(seen) else { panic!("a wait since the last tick: still held") };
    rig.send(3);
    assert!(!rig.io_readable());
    assert_eq!(rig.rx.idle_tick(seen), Tick::Rearmed, "no wait since the last tick: re-armed");
    assert!(!rig.rx.is_held());
    assert!(rig.io_readable(), "bytes that came while held were not reported by the tick's re-arm");
    assert_eq!(rig.rx.idle_tick(seen), Tick::Stop, "nothing held: the tick stops");
}

/// The tick stops under a waiting application (an idle server's I/O thread sleeps), and
/// the wait restarts it when it returns still holding the stream.
#[test]
fn the_tick_stops_while_the_application_waits() {
    let mut rig = Rig::new();
    rig.send(1);
    assert_eq!(rig.recv(), 1);
    // The first wait took the hold and, returning, started the tick.
    assert_eq!(rig.io.0.load(Ordering::SeqCst), 1);
    let wakes = std::thread::scope(|scope| {
        let (rx, wake_fd) = (&rig.rx, rig.wake.0.as_raw_fd());
        let waiter = scope.spawn(move || {
            let mut out = VecDeque::new();
            let deadline = Some(Instant::now() + Duration::from_secs(20));
            (rx.wait(wake_fd, deadline, false, &mut || true, &mut out), out.len())
        });
        let give_up = Instant::now() + Duration::from_secs(20);
        let mut seen = u64::MAX;
        loop {
            match rx.idle_tick(seen) {
                Tick::Stop => break,
                Tick::Again(w) => seen = w,
                // The waiter had not begun yet: it takes the hold again when it does.
                Tick::Rearmed => seen = u64::MAX,
            }
            assert!(Instant::now() < give_up, "the waiter never waited");
            std::thread::yield_now();
        }
        let wakes = rig.io.0.load(Ordering::SeqCst);
        rig.peer.write_all(&[0, 1, 2]).unwrap();
        assert_eq!(waiter.join().unwrap(), (Waited::Got, 1));
        wakes
    });
    assert!(rig.rx.is_held());
    assert_eq!(rig.io.0.load(Ordering::SeqCst), wakes + 1, "the wait did not restart the stopped tick");
}

#[test]
fn a_command_hands_back_and_re_arms() {
    let mut rig = Rig::new();
    rig.send(1);
    assert_eq!(rig.recv(), 1);
    // A PING command frame (flags 0x04): the application hands it to the I/O thread.
    rig.peer.write_all(&[4, 5, 4, b'P', b'I', b'N', b'G']).unwrap();
    let mut out = VecDeque::new();
    let deadline = Some(Instant::now() + Duration::from_secs(20));
    let waited = rig.rx.wait(rig.wake.0.as_raw_fd(), deadline, false, &mut || true, &mut out);
    assert_eq!(waited, Waited::Woken);
    assert!(out.is_empty());
    assert!(!rig.rx.is_held());
    assert!(rig.rx.handed_back());
    let st = rig.rx.io_lock().expect("the I/O thread reads after a hand-back");
    assert!(st.io_busy);
}

impl Rig {
    fn recv_after(&mut self, byte: u8) -> u8 {
        self.send(byte);
        self.recv()
    }
}

impl Rig {
    /// A direct wait with nothing else going on: the messages it got (first bytes).
    fn wait_batch(&mut self) -> (Waited, Vec<u8>) {
        let mut out = VecDeque::new();
        let deadline = Some(Instant::now() + Duration::from_secs(20));
        let waited = self.rx.wait(self.wake.0.as_raw_fd(), deadline, false, &mut || true, &mut out);
        (waited, out.iter().map(|m| m[0]).collect())
    }

    /// The I/O thread's part of a flood hand-over (rule 8): under its lock, with `rest` the
    /// bytes it read and did not decode. Returns whether the stream was handed over.
    fn io_hands_over(&self, rest: &[u8]) -> bool {
        let mut st = self.rx.io_lock().expect("the I/O thread holds the read side");
        let mut rbuf = BytesMut::from(rest);
        assert!(st.take_over(&mut BytesMut::new()).is_empty());
        let handed = self.rx.hand_over(&mut st, &mut rbuf);
        assert_eq!(rbuf.is_empty(), handed, "the rest goes with the stream, or stays");
        handed
    }
}

/// The I/O thread hands a flood over only for a PULL whose socket receives by blocking
/// calls; the application then takes the I/O thread's rest first, then the stream, in order.
#[test]
fn a_flood_is_handed_over_to_a_blocking_pull_only() {
    // Not a PULL: never.
    let rig = Rig::new();
    rig.rx.app_blocking.store(true, Ordering::Relaxed);
    assert!(!rig.io_hands_over(&[0, 1, 9]));

    // A PULL whose socket does not receive by blocking calls (it polls): never.
    let mut rig = Rig::with(true);
    assert!(!rig.io_hands_over(&[0, 1, 9]));
    // It blocks in a receive (the socket says so) ...
    rig.rx.app_blocking.store(true, Ordering::Relaxed);
    // ... so the next high water mark pause hands the stream over, with the rest: a whole
    // message and half of the next one.
    assert!(rig.io_hands_over(&[0, 1, 1, 0, 1]));
    assert!(rig.rx.is_held());
    assert!(rig.rx.io_lock().is_none(), "the I/O thread may not read a handed-over stream");
    rig.peer.write_all(&[2, 0, 1, 3]).unwrap();
    assert!(!rig.io_readable(), "the I/O thread was woken for a handed-over stream");
    assert_eq!(rig.wait_batch(), (Waited::Got, vec![1]));
    assert_eq!(rig.wait_batch(), (Waited::Got, vec![2, 3]));
    assert!(rig.rx.is_held());

    // The socket's thread does something that does not block: released, in order, and the
    // I/O thread reads again.
    rig.send(4);
    let mut out = VecDeque::new();
    rig.rx.release(&mut out, true, &mut || true);
    assert_eq!(out.iter().map(|m| m[0]).collect::<Vec<_>>(), [4]);
    assert!(!rig.rx.is_held());
    rig.send(5);
    assert!(rig.io_readable());

    // Handed over while the pipe still holds messages: a release gives what was read ahead
    // back to the I/O thread (to queue after the pipe's), it does not take it.
    let st = rig.rx.io_lock().unwrap();
    drop(st);
    assert!(rig.io_hands_over(&[0, 1, 7]));
    let mut out = VecDeque::new();
    rig.rx.release(&mut out, true, &mut || false);
    assert!(out.is_empty(), "overtook the pipe's messages");
    assert!(!rig.rx.is_held() && rig.rx.handed_back());
    let mut st = rig.rx.io_lock().unwrap();
    let mut rbuf = BytesMut::new();
    assert!(st.take_over(&mut rbuf).is_empty());
    assert_eq!(&rbuf[..], [0, 1, 7]);
}

/// A flood is decoded a batch per wait; a release takes every whole message left, in order.
#[test]
fn a_flood_is_taken_in_batches_and_a_release_takes_the_rest() {
    let mut rig = Rig::with(true);
    let mut wire = Vec::new();
    for i in 0..3000u32 {
        wire.extend_from_slice(&[0, 1, (i % 251) as u8]);
    }
    rig.peer.write_all(&wire).unwrap();
    let (waited, first) = rig.wait_batch();
    assert_eq!(waited, Waited::Got);
    assert_eq!(first.len(), super::DECODE_BATCH);
    let (_, second) = rig.wait_batch();
    assert_eq!(second.len(), super::DECODE_BATCH);
    let mut out = VecDeque::new();
    rig.rx.release(&mut out, false, &mut || true);
    let rest: Vec<u8> = out.iter().map(|m| m[0]).collect();
    let all: Vec<u8> = first.into_iter().chain(second).chain(rest).collect();
    assert_eq!(all, (0..3000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    assert!(!rig.rx.is_held());
}

/// A REQ's read side takes replies in their envelope (with a request id too) and hands back
/// any other message, from the frame that breaks the envelope on: the I/O thread's session
/// resumes from the frames staged before it, and refuses that frame.
#[test]
fn a_req_hands_back_a_message_outside_a_replys_envelope() {
    let mut rig = Rig::req();
    rig.peer.write_all(&[1, 0, 1, 4, 0, 0, 0, 7, 1, 0, 0, 2, b'o', b'k']).unwrap();
    let (waited, firsts) = {
        let mut out = VecDeque::new();
        let deadline = Some(Instant::now() + Duration::from_secs(20));
        let waited = rig.rx.wait(rig.wake.0.as_raw_fd(), deadline, false, &mut || true, &mut out);
        (waited, out.iter().map(|m| m.len()).collect::<Vec<_>>())
    };
    assert_eq!((waited, firsts), (Waited::Got, vec![0, 4, 0, 2]));

    // A request id, then a frame that is no delimiter.
    rig.peer.write_all(&[1, 4, 0, 0, 0, 7, 0, 1, b'x']).unwrap();
    let (waited, got) = rig.wait_batch();
    assert_eq!((waited, got), (Waited::Woken, vec![]));
    assert!(rig.rx.handed_back());
    let mut st = rig.rx.io_lock().expect("the I/O thread reads after a hand-back");
    let mut rbuf = BytesMut::new();
    let staged = st.take_over(&mut rbuf);
    assert_eq!(staged.len(), 1);
    assert_eq!(crate::session::ReplyEnvelope::after(&staged), crate::session::ReplyEnvelope::RequestId);
    assert_eq!(&rbuf[..], &[0, 1, b'x'], "the refused frame is left to the session");
}

/// Other sockets' read sides take any message.
#[test]
fn a_dealer_takes_a_message_without_an_envelope() {
    let mut rig = Rig::new();
    rig.peer.write_all(&[0, 1, b'x']).unwrap();
    assert_eq!(rig.wait_batch(), (Waited::Got, vec![b'x']));
}

/// `ws://`: a flood handed over takes, in order, the ZMTP bytes the link's decoder made (and
/// its session left), then the WebSocket bytes that decoder had not decoded (half a frame),
/// then the stream; a ping in the flood goes back to the I/O thread with what follows it.
#[test]
fn a_websocket_flood_is_handed_over_with_the_links_undecoded_frame() {
    let mut rig = Rig::ws_pull();
    rig.rx.app_blocking.store(true, Ordering::Relaxed);
    let mut st = rig.rx.io_lock().expect("the I/O thread holds the read side");
    let mut rbuf = BytesMut::from(&[0u8, 1, 1][..]);
    assert!(rig.rx.hand_over(&mut st, &mut rbuf));
    // A binary frame of 3 bytes (the flags byte, then 2 of body), its header only.
    st.give_ws_raw(BytesMut::from(&[0x82u8, 3][..]));
    drop(st);
    assert_eq!(rig.wait_batch(), (Waited::Got, vec![1]), "the ZMTP bytes first");
    // The rest of that frame, a whole one, then a ping and a frame behind it.
    rig.peer.write_all(&[0x00, 2, 0xEE, 0x82, 2, 0x00, 3, 0x89, 0, 0x82, 2, 0x00, 4]).unwrap();
    assert_eq!(rig.wait_batch(), (Waited::Got, vec![2, 3]), "then the frame it had begun");
    assert!(rig.rx.handed_back(), "the ping is the link's");
    let mut st = rig.rx.io_lock().expect("the I/O thread reads after a hand-back");
    let mut rbuf = BytesMut::new();
    assert!(st.take_over(&mut rbuf).is_empty());
    assert!(rbuf.is_empty(), "no ZMTP bytes left: {rbuf:?}");
    assert_eq!(&st.take_ws_raw()[..], [0x89, 0, 0x82, 2, 0x00, 4], "the ping and what follows, as they came");
}

/// `ws://`, a REQ bound (its frames come masked): replies are taken where they lie; a
/// frame outside the envelope is handed back still masked, as it came.
#[test]
fn a_websocket_req_hands_back_a_refused_frame_as_it_came() {
    let mut rig = Rig::req();
    rig.rx.websocket = Some(true);
    let key = [0x11, 0x22, 0x33, 0x44];
    let masked = |payload: &[u8]| -> Vec<u8> {
        let mut frame = vec![0x82, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(n, b)| b ^ key[n % 4]));
        frame
    };
    // The delimiter (MORE), then a two-byte body.
    rig.peer.write_all(&[masked(&[0x01]), masked(&[0x00, b'o', b'k'])].concat()).unwrap();
    let mut out = VecDeque::new();
    let deadline = Some(Instant::now() + Duration::from_secs(20));
    let waited = rig.rx.wait(rig.wake.0.as_raw_fd(), deadline, false, &mut || true, &mut out);
    assert_eq!(waited, Waited::Got);
    assert_eq!(out.iter().map(|m| m.to_vec()).collect::<Vec<_>>(), [b"".to_vec(), b"ok".to_vec()]);
    // A reply without its delimiter: the session's to refuse.
    let refused = masked(&[0x00, b'x']);
    rig.peer.write_all(&refused).unwrap();
    assert_eq!(rig.wait_batch(), (Waited::Woken, vec![]));
    assert!(rig.rx.handed_back());
    let mut st = rig.rx.io_lock().expect("the I/O thread reads after a hand-back");
    assert!(st.take_over(&mut BytesMut::new()).is_empty());
    assert_eq!(&st.take_ws_raw()[..], &refused[..]);
}

/// CURVE: the read side opens the data MESSAGEs in its buffer with the session's receiving
/// direction (frames of one message staged until its last); a MESSAGE holding a command,
/// and one that does not open, are handed back exactly as they came, their nonces unused,
/// so that the session (sharing that direction) opens or refuses them next.
#[test]
fn a_curve_link_opens_data_and_leaves_commands_and_tampering_sealed() {
    use crate::codec::curve::{BoxKey, CurveCipher, FLAG_COMMAND, FLAG_MORE};
    use crypto_box::SecretKey;
    let (client, server) = (SecretKey::from([1u8; 32]), SecretKey::from([2u8; 32]));
    let mut peer = CurveCipher::new(BoxKey::new(&server.public_key(), &client).unwrap(), false, 5, 0);
    let (_, receiver) =
        CurveCipher::new(BoxKey::new(&client.public_key(), &server).unwrap(), true, 1, 4).split();
    let shared = Arc::new(parking_lot::Mutex::new(receiver));
    let mut rig = Rig::new();
    rig.rx.curve = Some(shared.clone());

    let mut wire = Vec::new();
    peer.encrypt(&mut wire, 0, b"one");
    peer.encrypt(&mut wire, FLAG_MORE, b"two-a");
    peer.encrypt(&mut wire, 0, b"two-b");
    let command_at = wire.len();
    peer.encrypt(&mut wire, FLAG_COMMAND, b"\x04PING\x00\x00");
    peer.encrypt(&mut wire, 0, b"after");
    rig.peer.write_all(&wire).unwrap();
    let mut out = VecDeque::new();
    let deadline = Some(Instant::now() + Duration::from_secs(20));
    let waited = rig.rx.wait(rig.wake.0.as_raw_fd(), deadline, false, &mut || true, &mut out);
    assert_eq!(waited, Waited::Got);
    let got: Vec<(&[u8], bool)> = out.iter().map(|m| (&m[..], m.get_more())).collect();
    assert_eq!(got, [(&b"one"[..], false), (b"two-a", true), (b"two-b", false)]);
    assert!(rig.rx.handed_back(), "the command goes to the I/O thread");
    let mut rbuf = BytesMut::new();
    assert!(rig.rx.io_lock().unwrap().take_over(&mut rbuf).is_empty());
    assert_eq!(&rbuf[..], &wire[command_at..], "handed back as it came");
    // The session opens the command, then the data after it, with the shared direction.
    let mut session = shared.lock();
    let frame_body = |buf: &mut BytesMut| {
        let h = crate::codec::frame::decode_header(buf, None).unwrap().unwrap();
        let frame = buf.split_to(h.header_len + h.size as usize);
        frame[h.header_len..].to_vec()
    };
    assert_eq!(session.decrypt(&mut frame_body(&mut rbuf)), Ok(FLAG_COMMAND), "its nonce unused");
    assert_eq!(session.decrypt(&mut frame_body(&mut rbuf)), Ok(0));
    drop(session);

    // A MESSAGE altered on the way does not open: handed back unchanged, nothing taken.
    let mut rig = Rig::new();
    rig.rx.curve = Some(shared.clone());
    let mut good = Vec::new();
    peer.encrypt(&mut good, 0, b"tampered");
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    rig.peer.write_all(&bad).unwrap();
    assert_eq!(rig.wait_batch(), (Waited::Woken, vec![]));
    let mut rbuf = BytesMut::new();
    assert!(rig.rx.io_lock().unwrap().take_over(&mut rbuf).is_empty());
    assert_eq!(&rbuf[..], &bad[..]);
    let mut body = good[2..].to_vec();
    assert_eq!(shared.lock().decrypt(&mut body), Ok(0), "the refused one spent no nonce");
}

/// CURVE over `ws://`, the bound side (frames come masked): each MESSAGE in a frame of its
/// own, flagged 0x00, is unmasked and opened where it lies; a MESSAGE holding a command and
/// one that does not open go back to the link masked again, exactly as they came, their
/// nonces unused.
#[test]
fn a_curve_websocket_link_opens_data_and_hands_back_the_rest_as_it_came() {
    use crate::codec::curve::{BoxKey, CurveCipher, FLAG_COMMAND, FLAG_MORE};
    use crate::codec::greeting::Mechanism;
    use crypto_box::SecretKey;
    let (client, server) = (SecretKey::from([1u8; 32]), SecretKey::from([2u8; 32]));
    let (mut peer, _) =
        CurveCipher::new(BoxKey::new(&server.public_key(), &client).unwrap(), false, 5, 0).split();
    let (_, receiver) =
        CurveCipher::new(BoxKey::new(&client.public_key(), &server).unwrap(), true, 1, 4).split();
    let shared = Arc::new(parking_lot::Mutex::new(receiver));
    // A client's frames, as its direct write side (or its link's encoder) makes them.
    let mut enc = crate::codec::ws::Encoder::new(true, Mechanism::Curve, 7);
    let mut frame = |flags: u8, body: &[u8]| {
        let mut command = Vec::new();
        peer.encrypt_command(&mut command, flags, body);
        let mut wire = Vec::new();
        enc.curve_message(&command, &mut wire);
        wire
    };
    let mut rig = Rig::new();
    rig.rx.websocket = Some(true);
    rig.rx.curve = Some(shared.clone());
    let data = [frame(0, b"one"), frame(FLAG_MORE, b"two-a"), frame(0, &[9; 300])].concat();
    let command = frame(FLAG_COMMAND, b"\x04PING\x00\x00");
    let after = frame(0, b"after");
    rig.peer.write_all(&[&data[..], &command, &after].concat()).unwrap();
    let mut out = VecDeque::new();
    let deadline = Some(Instant::now() + Duration::from_secs(20));
    let waited = rig.rx.wait(rig.wake.0.as_raw_fd(), deadline, false, &mut || true, &mut out);
    assert_eq!(waited, Waited::Got);
    let got: Vec<(Vec<u8>, bool)> = out.iter().map(|m| (m.to_vec(), m.get_more())).collect();
    assert_eq!(got, [(b"one".to_vec(), false), (b"two-a".to_vec(), true), (vec![9; 300], false)]);
    assert!(rig.rx.handed_back(), "the command goes to the link");
    let mut st = rig.rx.io_lock().expect("the I/O thread reads after a hand-back");
    assert!(st.take_over(&mut BytesMut::new()).is_empty());
    assert_eq!(&st.take_ws_raw()[..], &[&command[..], &after].concat()[..], "masked, as they came");
    drop(st);
    // The link's decoder makes ZMTP commands of them; the session opens both in order.
    let mut decoder = crate::codec::ws::Decoder::new(true, None, Mechanism::Curve);
    let (mut raw, mut zmtp, mut controls) =
        (BytesMut::from(&[&command[..], &after].concat()[..]), BytesMut::new(), Vec::new());
    decoder.decode(&mut raw, &mut zmtp, &mut controls).unwrap();
    let open = |zmtp: &mut BytesMut| {
        let h = crate::codec::frame::decode_header(zmtp, None).unwrap().unwrap();
        assert!(h.command, "a MESSAGE over ws reads as a command");
        let mut body = zmtp.split_to(h.header_len + h.size as usize)[h.header_len..].to_vec();
        shared.lock().decrypt(&mut body)
    };
    assert_eq!(open(&mut zmtp), Ok(FLAG_COMMAND), "its nonce unused");
    assert_eq!(open(&mut zmtp), Ok(0));

    // Altered on the way: does not open, goes back masked as it came, spends no nonce.
    let mut rig = Rig::new();
    rig.rx.websocket = Some(true);
    rig.rx.curve = Some(shared.clone());
    let good = frame(0, b"tampered");
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    rig.peer.write_all(&bad).unwrap();
    assert_eq!(rig.wait_batch(), (Waited::Woken, vec![]));
    let mut st = rig.rx.io_lock().expect("handed back");
    assert!(st.take_over(&mut BytesMut::new()).is_empty());
    assert_eq!(&st.take_ws_raw()[..], &bad[..]);
    drop(st);
    let (mut raw, mut zmtp) = (BytesMut::from(&good[..]), BytesMut::new());
    decoder.decode(&mut raw, &mut zmtp, &mut controls).unwrap();
    assert_eq!(open(&mut zmtp), Ok(0), "the refused one spent no nonce");
}

/// CURVE over `ws://`, a PULL's flood handed over (rule 8): the MESSAGEs the link's decoder
/// made ZMTP commands of and the session left come first, opened in order, then the frame
/// that decoder had begun, then the stream.
#[test]
fn a_curve_websocket_flood_is_handed_over_with_the_links_commands_and_half_frame() {
    use crate::codec::curve::{BoxKey, CurveCipher};
    use crate::codec::greeting::Mechanism;
    use crypto_box::SecretKey;
    let (client, server) = (SecretKey::from([1u8; 32]), SecretKey::from([2u8; 32]));
    let (mut peer, _) =
        CurveCipher::new(BoxKey::new(&client.public_key(), &server).unwrap(), true, 5, 0).split();
    let (_, receiver) =
        CurveCipher::new(BoxKey::new(&server.public_key(), &client).unwrap(), false, 1, 4).split();
    // The server's frames, unmasked.
    let mut enc = crate::codec::ws::Encoder::new(false, Mechanism::Curve, 7);
    let mut frame = |byte: u8| {
        let mut command = Vec::new();
        peer.encrypt_command(&mut command, 0, &[byte]);
        let mut wire = Vec::new();
        enc.curve_message(&command, &mut wire);
        wire
    };
    let mut rig = Rig::ws_pull();
    rig.rx.curve = Some(Arc::new(parking_lot::Mutex::new(receiver)));
    rig.rx.app_blocking.store(true, Ordering::Relaxed);
    // Two MESSAGEs the link decoded (ZMTP commands now), and half of a third frame.
    let mut decoder = crate::codec::ws::Decoder::new(false, None, Mechanism::Curve);
    let (mut raw, mut zmtp) = (BytesMut::from(&[frame(1), frame(2)].concat()[..]), BytesMut::new());
    decoder.decode(&mut raw, &mut zmtp, &mut Vec::new()).unwrap();
    let third = frame(3);
    let mut st = rig.rx.io_lock().expect("the I/O thread holds the read side");
    assert!(rig.rx.hand_over(&mut st, &mut zmtp));
    st.give_ws_raw(BytesMut::from(&third[..10]));
    drop(st);
    assert_eq!(rig.wait_batch(), (Waited::Got, vec![1, 2]), "the link's MESSAGEs first");
    rig.peer.write_all(&[&third[10..], &frame(4)].concat()).unwrap();
    assert_eq!(rig.wait_batch(), (Waited::Got, vec![3, 4]), "then the frame it had begun");
    assert!(!rig.rx.handed_back());
}
