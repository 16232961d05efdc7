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
//!   every moment the application is not blocked in `recv` on this connection.
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
//! 4. With nothing to read it marks itself waiting, takes readability out of the I/O
//!    thread's epoll set for this stream (`EPOLL_CTL_MOD`; writability stays only while the
//!    I/O thread has bytes waiting to go out), unlocks and polls the descriptor and its
//!    socket's signal descriptor: the bytes it waits for wake only it. Should the I/O thread
//!    still see readiness (an event already queued), it skips reading. When the poll returns
//!    the application clears the mark under the lock, reads (until the kernel has nothing
//!    more, or a short read delivered a message) or hands back, and only then re-arms
//!    readability: the re-arm re-checks readiness, so bytes left in the kernel or arriving
//!    after its last read wake the I/O thread, and no readiness is lost.
//! 5. The I/O thread disarms under the lock before the stream closes (the link's `Drop`) and
//!    wakes a waiting application thread, which then finds the link gone and waits the usual
//!    way. Its poll may meet a closed (or reused) descriptor number meanwhile: harmless, it
//!    only reads under the lock.
//! 6. The application reports traffic it read (`traffic`), so the I/O thread's heartbeat
//!    timeout still sees the peer alive.
//!
//! Cost per direct receive: two `epoll_ctl` calls, a `poll` and a `read`, against the I/O thread's wake-up, read, pipe publish and the futex wake of the
//! application thread. Only the I/O thread writes to the pipe's writer; what the application
//! decodes goes to its own reader, so the pipe stays single-producer.
//!
//! Eligible: REQ, REP, PAIR and DEALER sockets with exactly one pipe (one connection: no fair
//! queuing to keep), NULL or PLAIN, tcp or ipc, no CONFLATE, no BUSY_POLL, blocking receives
//! (RCVTIMEO ≠ 0, no DONTWAIT). Data frames up to 64 KiB; larger ones, every command and
//! every error go to the I/O thread. Everything else is unchanged.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, BytesMut};
use parking_lot::{Mutex, MutexGuard};

use crate::codec::frame::decode_header;
use crate::message::{Message, Metadata, INLINE_CAPACITY};
use crate::pipe::{DirectSource, Waited, Wake};
use crate::sys;

/// The application thread reads this much at most per call.
const READ_CHUNK: usize = 16 * 1024;
/// Reads per wake-up before the rest is left to the I/O thread (it batches better).
const READS: usize = 4;
/// Larger frames go to the I/O thread, whose buffer sizing handles large bodies.
const FRAME_MAX: u64 = 64 * 1024;

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
    /// Largest data frame accepted (MAXMSGSIZE); larger ones are handed back (an error).
    max_size: u64,
    /// The connection's metadata, attached to every frame by the application thread.
    meta: Option<Arc<Metadata>>,
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
    /// The application thread is polling the stream: the I/O thread does not read it.
    app_waiting: bool,
    /// The I/O thread holds input the application must not overtake (rule 2).
    pub(crate) io_busy: bool,
    /// The I/O thread waits for the stream to take more bytes: keep reporting writability.
    want_out: bool,
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
    ) -> DirectRx {
        let state = RxState {
            fd: Some(fd),
            buf: BytesMut::new(),
            staged: Vec::new(),
            app_waiting: false,
            io_busy: true,
            want_out: true,
        };
        DirectRx {
            state: Mutex::new(state),
            io,
            app,
            handback: AtomicBool::new(false),
            traffic: AtomicBool::new(false),
            max_size: max_size.unwrap_or(crate::session::FRAME_SIZE_LIMIT),
            meta,
            epfd,
            token,
        }
    }

    /// Sets what the I/O thread's poll reports for the stream: readability unless the
    /// application waits on it, writability while the I/O thread needs it. Changing the
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
            self.interest(&st, fd, !st.app_waiting);
        }
    }

    /// Gives the rest to the I/O thread (rule 2).
    fn hand_back(&self, mut st: MutexGuard<'_, RxState>, out: &[Message]) -> Waited {
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

    /// The I/O thread's hold on the read side (rule 1); `None` while the application waits on
    /// the stream (rule 4: it reads what arrives).
    pub(crate) fn io_lock(&self) -> Option<MutexGuard<'_, RxState>> {
        let st = self.state.lock();
        if st.app_waiting {
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

    /// The stream is about to close: never touch its descriptor again (rule 5).
    pub(crate) fn disarm(&self) {
        let mut st = self.state.lock();
        st.fd = None;
        st.buf = BytesMut::new();
        st.staged.clear();
        let waiting = st.app_waiting;
        drop(st);
        if waiting {
            self.app.wake();
        }
    }

    /// Reads until the kernel has nothing more (or seems to: a short read), decoding whole
    /// messages into `out`. `Err`: hand the rest back to the I/O thread (rule 2). Bytes
    /// that arrive after the last read are reported to the I/O thread by the re-arm.
    fn read_and_decode(&self, st: &mut RxState, fd: RawFd, out: &mut Vec<Message>) -> Result<(), ()> {
        self.decode(st, out)?;
        for _ in 0..READS {
            match sys::read_raw(fd, &mut st.buf, READ_CHUNK) {
                // End of stream: the I/O thread reads it again and takes the link down.
                Ok(0) => return Err(()),
                Ok(n) => {
                    self.traffic.store(true, Ordering::Relaxed);
                    self.decode(st, out)?;
                    if n < READ_CHUNK && !out.is_empty() {
                        // Most likely all there was: save the read that would say EAGAIN.
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(()),
            }
        }
        Err(())
    }

    /// Decodes the data frames in `st.buf`; stops at anything else (`Err`: hand back).
    fn decode(&self, st: &mut RxState, out: &mut Vec<Message>) -> Result<(), ()> {
        loop {
            let header = match decode_header(&st.buf, Some(self.max_size)) {
                Ok(Some(h)) if !h.command && h.size <= FRAME_MAX => h,
                Ok(None) => return Ok(()),
                Ok(Some(_)) | Err(_) => return Err(()),
            };
            let size = header.size as usize;
            if st.buf.len() < header.header_len + size {
                return Ok(());
            }
            st.buf.advance(header.header_len);
            let mut msg = if size <= INLINE_CAPACITY {
                let m = Message::from_slice(&st.buf[..size]);
                st.buf.advance(size);
                m
            } else {
                Message::from_bytes(st.buf.split_to(size).freeze())
            };
            msg.set_more(header.more);
            if let Some(meta) = &self.meta {
                msg.set_metadata(meta.clone());
            }
            if header.more {
                st.staged.push(msg);
            } else {
                out.append(&mut st.staged);
                out.push(msg);
            }
        }
    }
}

impl RxState {
    /// The I/O thread takes over what the application left (rule 1): bytes go in front of
    /// its read buffer (empty then, or the application could not have read), the frames of
    /// a partial message are returned for its pipe writer.
    pub(crate) fn take_over(&mut self, rbuf: &mut BytesMut) -> Vec<Message> {
        if !self.buf.is_empty() {
            if rbuf.is_empty() {
                std::mem::swap(rbuf, &mut self.buf);
            } else {
                self.buf.extend_from_slice(rbuf);
                *rbuf = std::mem::take(&mut self.buf);
            }
        }
        std::mem::take(&mut self.staged)
    }
}

impl DirectSource for DirectRx {
    fn wait(
        &self,
        wake_fd: RawFd,
        deadline: Option<Instant>,
        idle: &mut dyn FnMut() -> bool,
        out: &mut Vec<Message>,
    ) -> Waited {
        let Some(mut st) = self.state.try_lock() else { return Waited::Refused };
        let Some(fd) = st.fd.filter(|_| !st.io_busy) else { return Waited::Refused };
        if !idle() {
            return Waited::Woken;
        }
        // What an earlier call left; new bytes are found by the poll below (level-triggered).
        if self.decode(&mut st, out).is_err() {
            return self.hand_back(st, out);
        }
        if !out.is_empty() {
            return Waited::Got;
        }
        loop {
            let timeout_ms = match deadline {
                None => -1,
                Some(at) => {
                    let now = Instant::now();
                    if at <= now {
                        return Waited::TimedOut;
                    }
                    // Rounded up: waking before the deadline would only poll again.
                    (at - now).as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
                }
            };
            st.app_waiting = true;
            self.interest(&st, fd, false);
            drop(st);
            let mut fds = [
                libc::pollfd { fd, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: wake_fd, events: libc::POLLIN, revents: 0 },
            ];
            // An error (ENOMEM) is treated as a wake: the loop looks at everything again.
            let _ = sys::poll(&mut fds, timeout_ms);
            // The signal's descriptor fired: the caller drains it and looks at the socket.
            let woken = fds[1].revents != 0;
            st = self.state.lock();
            st.app_waiting = false;
            // Disarmed meanwhile: the stream is gone, nothing to re-arm.
            let Some(fd) = st.fd else { return Waited::Woken };
            let read = self.read_and_decode(&mut st, fd, out);
            // After reading: the re-arm reports to the I/O thread what came since (rule 4).
            self.interest(&st, fd, true);
            if read.is_err() {
                return self.hand_back(st, out);
            }
            if !out.is_empty() {
                return Waited::Got;
            }
            if woken || !idle() {
                return Waited::Woken;
            }
        }
    }
}

/// Socket types whose connections get a read side: those that wait for one answer at a time
/// (request/reply, PAIR, a DEALER waiting for replies), where the I/O thread's hop is the
/// latency. The socket uses it only while it has a single pipe (no fair queuing to keep).
pub(crate) fn eligible(kind: crate::socket_type::SocketType) -> bool {
    use crate::socket_type::SocketType;
    matches!(kind, SocketType::REQ | SocketType::REP | SocketType::PAIR | SocketType::DEALER)
}
