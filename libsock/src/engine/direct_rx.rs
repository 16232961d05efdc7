//! Direct receive: the application thread reads a connection's messages from the kernel itself.
//!
//! Without it every received message crosses kernel → I/O thread (read, decode) → pipe →
//! wake → application thread: a request/reply round trip pays that hop once per side. With
//! it, a thread blocked in `recv` on an empty pipe waits on the connection's descriptor
//! itself, reads, decodes and takes the message in its own call.
//!
//! ## Who owns what
//! - The I/O thread still owns the stream, the session and everything protocol: handshakes,
//!   commands (PING/PONG, subscriptions), heartbeats, errors, closing and reconnecting, and
//!   reads the stream whenever the application does not hold it (rule 7).
//! - A [`DirectRx`] (one per handshaken NULL/PLAIN tcp/ipc connection of a REQ, REP, PAIR or
//!   DEALER socket) holds under one mutex the *right to read the stream*: the raw descriptor
//!   while the link is up ("armed"), bytes read but not yet decoded, the frames of a message
//!   not yet whole, and who may read now.
//! - The socket's pipe reader reaches it only through [`crate::pipe::DirectSource`].
//!
//! ## The hand-over protocol
//! 1. Every read from the stream, by either thread, happens under the [`DirectRx`] lock. The
//!    I/O thread holds it for its whole inbound pump, including decoding into the pipe and
//!    publishing, and first takes over whatever the application left in [`RxState`] (bytes,
//!    half a message), so the stream's bytes are consumed in order by one decoder at a time.
//! 2. The application thread may read only when its pipe is empty *under the lock* (so every
//!    message the I/O thread decoded earlier has been taken), and the I/O thread holds no
//!    input of its own (`io_busy`: a partial frame in its buffer, half a message in the
//!    pipe's writer, reading paused at the high water mark, or input handed back to it).
//!    Otherwise it waits the usual way. It decodes data frames only; a command, a malformed
//!    or oversized frame, end of stream or an error stops it: the bytes stay in [`RxState`],
//!    `io_busy` is set and the I/O thread is activated to handle them (hand-back).
//! 3. Whole messages it decodes go into its own pipe reader's local queue (ahead of anything
//!    the I/O thread publishes later; the reader does not count them against the writer's
//!    high water mark, as they were never queued); a partial message stays in
//!    [`RxState::staged`] for whichever thread decodes its next frame.
//! 4. With nothing to read it marks itself waiting and polls the descriptor and its socket's
//!    signal descriptor; when the poll returns it clears the mark under the lock and reads
//!    (until the kernel has nothing more, or a short read delivered a message) or hands back.
//!    Before its first wait it takes the *hold* (rule 7): readability leaves the I/O
//!    thread's epoll set for this stream (`EPOLL_CTL_MOD`; writability stays only while the
//!    I/O thread has bytes waiting to go out), so the bytes it waits for wake only it.
//! 5. The I/O thread disarms under the lock before the stream closes (the link's `Drop`) and
//!    wakes a waiting application thread, which then finds the link gone and waits the usual
//!    way. Its poll may meet a closed (or reused) descriptor number meanwhile: harmless, it
//!    only reads under the lock.
//! 6. The application reports traffic it read (`traffic`), so the I/O thread's heartbeat
//!    timeout still sees the peer alive.
//! 7. The hold outlasts the wait: after a direct receive returns, readability stays out of
//!    the I/O thread's set, so the next receive costs a `poll` and a `read` and no
//!    `epoll_ctl`. While held (`RxState::held`) only the application thread reads the
//!    stream; the I/O thread skips reading even on a readiness event already queued (the
//!    bytes stay in the kernel, where the application's level-triggered poll finds them).
//!    Only the application thread takes the hold, under the lock, with its pipe empty and
//!    `io_busy` clear (rule 2); a waiting application (`app_waiting`) always holds.
//!    The hold ends by a *re-arm* (`EPOLL_CTL_MOD` with readability, under the lock), which
//!    re-checks readiness: bytes that came while it was held are reported to the I/O thread
//!    then, so no readiness is lost. Who re-arms:
//!    - the application thread, when it does anything that relies on the I/O thread reading:
//!      a receive that does not wait directly (DONTWAIT, RCVTIMEO 0, a second pipe, busy
//!      polling, any wait the usual way, including a blocked send), `ZMQ_EVENTS` (so
//!      `poll` and `zmq_poll`), `ZMQ_FD`, closing the socket ([`DirectSource::release`]).
//!      It first reads what the kernel already holds into its own reader (as in rule 3), so
//!      a DONTWAIT receive or `ZMQ_EVENTS` sees every message that arrived while it held the
//!      stream, as with an I/O thread that had been reading all along;
//!    - the application thread when it hands back (rule 2), as the I/O thread reads next;
//!    - the I/O thread, [`HOLD_TICK`] to twice that after the application's last direct wait
//!      ended. A direct wait that returns with the stream held wakes the I/O thread if its
//!      tick is not running (`ticking`); from then the I/O thread looks every tick
//!      ([`DirectRx::idle_tick`]) and re-arms when no direct wait is in progress and none
//!      began or ended since the last tick. So PINGs, commands, errors and end of stream
//!      that arrive while the application is busy elsewhere are handled within 4 ms, well
//!      within heartbeat timeouts, and a peer's disconnect still produces its monitor
//!      events. A tick that finds the application waiting stops (it reads what arrives
//!      itself, and an idle server's I/O thread must sleep, not wake every 2 ms): the wait
//!      restarts it when it ends, so `held && !app_waiting ⇒ ticking` whenever the lock is
//!      free. Having re-armed, the I/O thread reads at once, before it judges a heartbeat
//!      timeout;
//!    - nobody, when the link goes down: the disarm (rule 5) ends the hold with the stream.
//!
//! 8. Floods (PULL only): the I/O thread that stops reading because the pipe is full (the
//!    high water mark, between two messages, no large body half read) while the
//!    application receives by blocking calls (`app_blocking`, the socket's
//!    `blocking_receiver`: set by a receive that blocks with at most one pipe, cleared by
//!    anything that does not block or a second pipe) *hands the stream over*: under the lock, its undecoded bytes (from a frame boundary on) go to
//!    [`RxState::buf`], it takes the hold for the application and starts its tick. The
//!    application takes what the pipe holds first (rule 2 still applies: it reads only
//!    with the pipe empty), then reads the stream itself in 64 KiB chunks, decoding 512
//!    messages per call and reading again before polling while reads come back full. One
//!    thread then does what two did, with no hand-off per batch: the receiver's I/O thread
//!    sleeps. Without it a PULL flood never goes direct, as its pipe is never empty. The
//!    socket's thread clears `app_blocking` and then releases every pipe's read side under
//!    its lock (`sync`), so a hand-over either came before (and is undone by the release:
//!    what was read ahead goes back to the I/O thread while the pipe holds messages) or does
//!    not happen.
//!
//! Cost per direct receive while held: a `poll` and a `read` (plus, now and then, the
//! `epoll_ctl` that takes the hold, and an I/O-thread wake to restart its tick: at most one
//! of each per tick while the application keeps receiving), against the
//! I/O thread's wake-up, read, pipe publish and the futex wake of the application thread.
//! Only the I/O thread writes to the pipe's writer; what the application decodes goes to its
//! own reader, so the pipe stays single-producer.
//!
//! Eligible: REQ, REP, PAIR, DEALER and PULL sockets with exactly one pipe (one connection: no fair
//! queuing to keep), tcp or ipc, no CONFLATE, no BUSY_POLL, blocking receives
//! (RCVTIMEO ≠ 0, no DONTWAIT). Data frames up to 64 KiB; larger ones, every command and
//! every error go to the I/O thread. Everything else is unchanged.
//!
//! CURVE links too: each frame is a MESSAGE, which the application thread checks
//! (nonce order, MAC) and opens in its read buffer with the session's receiving direction
//! (`session::shared_cipher`; its lock is taken inside this one). A MESSAGE that holds a
//! command (a PING) is left as it came, its nonce unused, and handed back: the session
//! opens it and answers. So is one that does not open (a bad MAC, a replayed nonce): the
//! session refuses it again and drops the link. Over `ws://` and `wss://` each MESSAGE
//! comes in a WebSocket frame of its own (flagged 0x00, as libzmq sends it), unmasked
//! before it is checked and masked again where it is handed back.
//!
//! `ws://` and `wss://` links get a read side too: the application thread reads
//! WebSocket frames into [`RxState::ws_raw`] and makes messages of the whole data frames
//! there as they lie (unmasked in place, each body copied once, as a ZMTP frame's above);
//! a control frame (a ping, a close), a command, a fragment or anything malformed is handed
//! back as it came, for the link's own decoder (which answers pings and closes). A flood
//! hand-over (rule 8) passes two kinds of bytes, taken in this order: the ZMTP bytes the
//! link's decoder made and the session did not decode, in [`RxState::buf`], and the
//! WebSocket bytes it did not decode yet (a partial frame), in `ws_raw`; never while that
//! decoder holds a message in fragments.
//!
//! Over `wss://` it reads records and has the link's rustls session (`ws_tls`: its lock is
//! taken inside this one) decrypt them into `ws_raw`, every record it read, so nothing of
//! the stream waits in its hands but WebSocket bytes. A close_notify, a TLS error or a
//! record rustls wants sent at once (an alert, such as its refusal of a TLS 1.2
//! renegotiation) is the I/O thread's: the first two stay in the session, where its next
//! read finds them (rustls repeats an error), and the read side hands back; for the last
//! it wakes the I/O thread, which writes what rustls holds. (rustls answers a key update
//! that asks for one ahead of its next data record, whoever writes that.)

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::{Mutex, MutexGuard};

use super::ws_tls::SharedTls;
use crate::message::{Message, Metadata};
use crate::pipe::{DirectSource, Waited, Wake};
use crate::session::SharedCurveIn;
use crate::sys;

/// The application thread reads this much at most per call.
const READ_CHUNK: usize = 16 * 1024;
/// A PULL's application thread reads this much per call: it takes floods (rule 8), where
/// fewer, larger reads are what saves.
const FLOOD_READ_CHUNK: usize = 64 * 1024;
/// Messages decoded per direct wait in a flood; the rest stay in [`RxState::buf`] for the
/// next call, which takes them without a system call. A whole 64 KiB read of 1 B messages
/// decoded at once (21 845 of them, 1.2 MB of `Message`s) would only go through the caches
/// to a queue and back.
const DECODE_BATCH: usize = 512;
/// Reads without a whole message (or, releasing, reads that all came back full) before the
/// rest is left to the I/O thread.
const READS: usize = 4;
/// Larger frames go to the I/O thread, whose buffer sizing handles large bodies.
const FRAME_MAX: u64 = 64 * 1024;
/// How often the I/O thread looks whether the application still receives directly (rule
/// 7). The hold ends 2–4 ms after the last direct wait: far below any heartbeat timeout or
/// reconnect interval worth setting, yet one look per dozens of round trips at most while
/// the application keeps receiving (a round trip takes 5–50 µs here), so the looks cost the
/// I/O thread nothing measurable.
pub(crate) const HOLD_TICK: Duration = Duration::from_millis(2);

/// The shared read side of one connection; see the module docs.
pub(crate) struct DirectRx {
    state: Mutex<RxState>,
    /// Activates the connection in its I/O thread (to take handed-back input).
    io: Arc<dyn Wake>,
    /// The socket's signal: gets a waiting application thread off a closing stream.
    app: Arc<dyn Wake>,
    /// Input was handed back: the I/O thread must read even without a readiness event.
    handback: AtomicBool,
    /// The application read bytes (proof the peer is alive, for heartbeats).
    traffic: AtomicBool,
    /// `RxState::held`, readable without the lock. The I/O thread sets it only in a flood
    /// hand-over (rule 8), which needs `app_blocking`: so the application thread, having
    /// cleared that and read `false` here, knows nothing is held.
    held: AtomicBool,
    /// The socket's thread receives by blocking calls (`SocketShared::blocking_receiver`,
    /// kept by that thread): the I/O thread may then hand a flood over (rule 8).
    app_blocking: Arc<AtomicBool>,
    /// A PULL: floods are handed over (rule 8), read in larger chunks, and frames over the
    /// inline size are copied into pool buffers, so the read buffer is reused in place.
    flood: bool,
    /// Largest data frame accepted (MAXMSGSIZE); larger ones are handed back (an error).
    max_size: u64,
    /// The connection's metadata, attached to every frame by the application thread.
    meta: Option<Arc<Metadata>>,
    /// A REQ's: a frame outside a reply's envelope is handed back, for the session to
    /// refuse (`session::ReplyEnvelope`).
    replies_only: bool,
    /// A `ws://` link's (`Some(server)`: frames come masked when it is the server): what it
    /// reads are WebSocket frames, kept in [`RxState::ws_raw`] until taken.
    websocket: Option<bool>,
    /// `wss://`: the link's TLS session, which decrypts what is read.
    tls: Option<SharedTls>,
    /// CURVE: the session's receiving direction, which opens each data frame's MESSAGE.
    curve: Option<SharedCurveIn>,
    /// The I/O thread's epoll instance and the stream's token there (rule 4).
    epfd: RawFd,
    token: u64,
}

/// What [`DirectRx`]'s lock guards.
pub(crate) struct RxState {
    /// The stream's descriptor while the link is up; `None` once disarmed.
    fd: Option<RawFd>,
    /// Bytes the application read and did not decode (a partial frame, or handed back).
    buf: BytesMut,
    /// Frames of a message the application decoded that is not whole yet.
    staged: Vec<Message>,
    /// `ws://`: WebSocket bytes read and not taken yet (a partial frame, frames beyond a
    /// batch, or one only the I/O thread's decoder takes: handed back).
    ws_raw: BytesMut,
    /// `wss://`: records read and not given to rustls yet (empty between reads).
    cipher: BytesMut,
    /// The application thread is polling the stream (implies `held`).
    app_waiting: bool,
    /// Readability is out of the I/O thread's epoll set: only the application thread reads
    /// the stream, waiting or not (rule 7).
    held: bool,
    /// Bumped when a direct wait begins and each time its poll returns: the I/O thread's
    /// tick compares it (rule 7), so the hold ends 2–4 ms after the last direct wait ended.
    waits: u64,
    /// The I/O thread ticks (or was woken to start): true whenever the stream is held and
    /// no direct wait is in progress (rule 7).
    ticking: bool,
    /// The I/O thread holds input the application must not overtake (rule 2).
    pub(crate) io_busy: bool,
    /// The I/O thread waits for the stream to take more bytes: keep reporting writability.
    want_out: bool,
    /// The last read filled its chunk: more is most likely there, read before polling.
    more_likely: bool,
}

impl DirectRx {
    /// An armed read side for the stream `fd`; busy until the I/O thread says otherwise.
    /// `epfd`/`token`: where the I/O thread watches `fd` (registered readable and writable).
    pub(crate) fn new(
        fd: RawFd,
        (epfd, token): (RawFd, u64),
        io: Arc<dyn Wake>,
        app: Arc<dyn Wake>,
        max_size: Option<u64>,
        meta: Option<Arc<Metadata>>,
        flood: Option<Arc<AtomicBool>>,
    ) -> DirectRx {
        let state = RxState {
            fd: Some(fd),
            buf: BytesMut::new(),
            staged: Vec::new(),
            ws_raw: BytesMut::new(),
            cipher: BytesMut::new(),
            app_waiting: false,
            held: false,
            waits: 0,
            ticking: false,
            io_busy: true,
            want_out: true,
            more_likely: false,
        };
        DirectRx {
            state: Mutex::new(state),
            io,
            app,
            handback: AtomicBool::new(false),
            traffic: AtomicBool::new(false),
            held: AtomicBool::new(false),
            flood: flood.is_some(),
            app_blocking: flood.unwrap_or_default(),
            max_size: max_size.unwrap_or(crate::session::FRAME_SIZE_LIMIT),
            meta,
            replies_only: false,
            websocket: None,
            tls: None,
            curve: None,
            epfd,
            token,
        }
    }

    /// For a REQ's connection: decodes replies in their envelope only.
    pub(crate) fn replies_only(mut self) -> DirectRx {
        self.replies_only = true;
        self
    }

    /// For a `ws://` link (`server`: its peer masks its frames): reads WebSocket frames,
    /// takes whole data frames (`codec::ws::take_data_frames`) and hands back at any other;
    /// `tls`: a `wss://` link's session, through which it reads them.
    pub(crate) fn websocket(mut self, server: bool, tls: Option<SharedTls>) -> DirectRx {
        self.websocket = Some(server);
        self.tls = tls;
        self
    }

    /// For a CURVE link: data frames come inside MESSAGEs, opened with the
    /// session's receiving direction; a MESSAGE holding a command is left sealed and handed
    /// back (`session::shared_cipher`).
    pub(crate) fn curve(mut self, curve: SharedCurveIn) -> DirectRx {
        self.curve = Some(curve);
        self
    }

    /// Sets what the I/O thread's poll reports for the stream: readability unless the
    /// application holds it, writability while the I/O thread needs it. Changing the
    /// set re-checks readiness, so bytes that came before a re-arm are reported then.
    fn interest(&self, st: &RxState, fd: RawFd, readable: bool) {
        let mut events = libc::EPOLLET as u32;
        if readable {
            events |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        }
        if st.want_out {
            events |= libc::EPOLLOUT as u32;
        }
        if let Err(e) = sys::epoll_modify(self.epfd, fd, events, self.token) {
            // The I/O thread deregistered the stream on its way down (it disarms next).
            tracing::debug!("direct receive: cannot change the stream's poll events: {e}");
        }
    }

    /// The I/O thread's outbound side is (not) waiting for the stream to take more bytes.
    pub(crate) fn want_out(&self, blocked: bool) {
        let mut st = self.state.lock();
        if st.want_out == blocked {
            return;
        }
        st.want_out = blocked;
        if let (true, Some(fd)) = (blocked, st.fd) {
            self.interest(&st, fd, !st.held);
        }
    }

    /// Takes (`true`) or ends (`false`, the re-arm) the hold on the stream (rule 7).
    fn set_held(&self, st: &mut RxState, fd: RawFd, held: bool) {
        st.held = held;
        if !held {
            // A tick only runs for a held stream: the next hold must start one again
            // (`leave`). Left set, a hold taken after a release whose I/O thread never
            // started its tick (it saw the stream released) would never end while the
            // application stayed away: PINGs unanswered, the peer's heartbeat timeout.
            st.ticking = false;
        }
        self.held.store(held, Ordering::Relaxed);
        self.interest(st, fd, !held);
    }

    /// Gives the rest to the I/O thread (rule 2), re-armed first (rule 7).
    fn hand_back(&self, mut st: MutexGuard<'_, RxState>, out: &VecDeque<Message>) -> Waited {
        if let (true, Some(fd)) = (st.held, st.fd) {
            self.set_held(&mut st, fd, false);
        }
        st.io_busy = true;
        self.handback.store(true, Ordering::Relaxed);
        drop(st);
        self.io.wake();
        if out.is_empty() {
            Waited::Woken
        } else {
            Waited::Got
        }
    }

    /// The I/O thread's hold on the read side (rule 1); `None` while the application holds
    /// the stream (rule 7: it reads what arrives, or the re-arm reports it later).
    pub(crate) fn io_lock(&self) -> Option<MutexGuard<'_, RxState>> {
        let st = self.state.lock();
        if st.held {
            return None;
        }
        self.handback.store(false, Ordering::Relaxed);
        Some(st)
    }

    /// Sets `io_busy` (the I/O thread's inbound pump ended without holding the lock).
    pub(crate) fn set_io_busy(&self, busy: bool) {
        self.state.lock().io_busy = busy;
    }

    /// Whether input was handed back since the I/O thread last read.
    pub(crate) fn handed_back(&self) -> bool {
        self.handback.load(Ordering::Relaxed)
    }

    /// Bytes arrived (seen by the I/O thread as readiness while the application waits).
    pub(crate) fn note_traffic(&self) {
        self.traffic.store(true, Ordering::Relaxed);
    }

    /// Whether bytes arrived since the last call.
    pub(crate) fn take_traffic(&self) -> bool {
        self.traffic.swap(false, Ordering::Relaxed)
    }

    /// Whether the application holds the stream (a hint: the I/O thread then ticks).
    pub(crate) fn is_held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// The I/O thread's tick while held (rule 7); `seen` is [`RxState::waits`] at the last
    /// tick.
    pub(crate) fn idle_tick(&self, seen: u64) -> Tick {
        let mut st = self.state.lock();
        let Some(fd) = st.fd.filter(|_| st.held) else {
            st.ticking = false;
            return Tick::Stop;
        };
        if st.app_waiting {
            // It reads what arrives; it restarts the tick when its wait ends.
            st.ticking = false;
            return Tick::Stop;
        }
        if st.waits != seen {
            return Tick::Again(st.waits);
        }
        st.ticking = false;
        self.set_held(&mut st, fd, false);
        Tick::Rearmed
    }

    /// Ends a direct wait that took or kept the hold: restarts the I/O thread's tick if it
    /// stopped (rule 7), after unlocking.
    fn leave(&self, mut st: MutexGuard<'_, RxState>, waited: Waited) -> Waited {
        let restart = st.held && !st.ticking;
        st.ticking |= restart;
        drop(st);
        if restart {
            self.io.wake();
        }
        waited
    }

    /// The I/O thread stopped reading at the pipe's high water mark (rule 8): if this is a
    /// PULL whose application receives by blocking calls, the stream goes to it, with
    /// `rest` (the bytes the I/O thread read and did not decode, from a frame boundary on).
    /// Returns whether it did: the caller then ticks, as for any hold.
    pub(crate) fn hand_over(&self, st: &mut RxState, rest: &mut BytesMut) -> bool {
        if !self.flood || st.held || !self.app_blocking.load(Ordering::Relaxed) {
            return false;
        }
        let Some(fd) = st.fd else { return false };
        debug_assert!(st.buf.is_empty() && st.staged.is_empty(), "taken over before the pump");
        st.buf = std::mem::take(rest);
        st.more_likely = true;
        st.ticking = true;
        self.set_held(st, fd, true);
        true
    }

    /// The stream is about to close: never touch its descriptor again (rule 5).
    pub(crate) fn disarm(&self) {
        let mut st = self.state.lock();
        st.fd = None;
        st.held = false;
        st.ticking = false;
        self.held.store(false, Ordering::Relaxed);
        st.buf = BytesMut::new();
        st.ws_raw = BytesMut::new();
        st.cipher = BytesMut::new();
        st.staged.clear();
        let waiting = st.app_waiting;
        drop(st);
        if waiting {
            self.app.wake();
        }
    }
}

impl DirectSource for DirectRx {
    fn wait(
        &self,
        wake_fd: RawFd,
        deadline: Option<Instant>,
        interruptible: bool,
        idle: &mut dyn FnMut() -> bool,
        out: &mut VecDeque<Message>,
    ) -> Waited {
        let Some(mut st) = self.state.try_lock() else { return Waited::Refused };
        let Some(fd) = st.fd.filter(|_| !st.io_busy) else { return Waited::Refused };
        if !idle() {
            return Waited::Woken;
        }
        st.waits = st.waits.wrapping_add(1);
        // What an earlier call left; new bytes are found by the poll below (level-triggered).
        if self.take(&mut st, out, DECODE_BATCH).is_err() {
            return self.hand_back(st, out);
        }
        if !out.is_empty() {
            return self.leave(st, Waited::Got);
        }
        if !st.held {
            self.set_held(&mut st, fd, true);
        }
        // The last read filled its chunk (a flood): read again before polling.
        if st.more_likely {
            if self.read_and_decode(&mut st, fd, out, DECODE_BATCH).is_err() {
                return self.hand_back(st, out);
            }
            if !out.is_empty() {
                return self.leave(st, Waited::Got);
            }
        }
        loop {
            let timeout_ms = sys::poll_timeout(deadline);
            if timeout_ms == 0 {
                return self.leave(st, Waited::TimedOut);
            }
            st.app_waiting = true;
            drop(st);
            let mut fds = [
                libc::pollfd { fd, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: wake_fd, events: libc::POLLIN, revents: 0 },
            ];
            // Another error (ENOMEM) is treated as a wake: the loop looks at everything again.
            let interrupted = matches!(sys::poll_once(&mut fds, timeout_ms),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted);
            // The signal's descriptor fired: the caller drains it and looks at the socket.
            let woken = fds[1].revents != 0;
            st = self.state.lock();
            st.app_waiting = false;
            st.waits = st.waits.wrapping_add(1);
            // Disarmed meanwhile: the stream is gone, nothing is held any more.
            let Some(fd) = st.fd else { return Waited::Woken };
            // Still held after reading (rule 7): what is left is found by the next poll.
            if self.read_and_decode(&mut st, fd, out, DECODE_BATCH).is_err() {
                return self.hand_back(st, out);
            }
            if !out.is_empty() {
                return self.leave(st, Waited::Got);
            }
            if woken || !idle() {
                return self.leave(st, Waited::Woken);
            }
            if interrupted && interruptible {
                return self.leave(st, Waited::Interrupted);
            }
        }
    }

    fn release(&self, out: &mut VecDeque<Message>, sync: bool, queue_empty: &mut dyn FnMut() -> bool) {
        // Nothing held, and no flood hand-over may be under way (rule 8).
        if !sync && !self.held.load(Ordering::Relaxed) {
            return;
        }
        let mut st = self.state.lock();
        let Some(fd) = st.fd.filter(|_| st.held && !st.app_waiting) else { return };
        if !queue_empty() {
            // Handed over at the high water mark (rule 8) and the pipe not yet drained: what
            // was read ahead goes back to the I/O thread, which queues it after the pipe's.
            self.hand_back(st, out);
            return;
        }
        // What already arrived is taken now, as the I/O thread would have (rule 7): in
        // order, since nothing else was read from the stream while held. All of it: the
        // I/O thread is woken only by new bytes.
        if self.read_and_decode(&mut st, fd, out, usize::MAX).is_err() {
            self.hand_back(st, out);
            return;
        }
        self.set_held(&mut st, fd, false);
    }
}

/// What the I/O thread's tick found (rule 7).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tick {
    /// The application received since the last tick: look again at the next, with this
    /// count of waits.
    Again(u64),
    /// Nothing held, or the application waits (it restarts the tick when done): stop.
    Stop,
    /// The application was away since the last tick: the stream was re-armed, the I/O
    /// thread reads it again.
    Rearmed,
}

/// Socket types whose connections get a read side: those that wait for one answer at a time
/// (request/reply, PAIR, a DEALER waiting for replies), where the I/O thread's hop is the
/// latency, and PULL, whose floods are handed over (rule 8). The socket uses it only while
/// it has a single pipe (no fair queuing to keep).
pub(crate) fn eligible(kind: crate::socket_type::SocketType) -> bool {
    use crate::socket_type::SocketType;
    matches!(
        kind,
        SocketType::REQ | SocketType::REP | SocketType::PAIR | SocketType::DEALER | SocketType::PULL
    )
}

#[path = "direct_rx_decode.rs"]
mod decode;

#[cfg(test)]
#[path = "direct_rx_tests.rs"]
mod tests;
