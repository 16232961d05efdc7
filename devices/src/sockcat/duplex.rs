//! Sending and receiving at once (pair, dealer, router, xpub, xsub).
//!
//! A socket is `Send` but not `Sync`, so it stays on the calling thread, and stdin is read by
//! a second thread ([`spawn_line_reader`]). The two meet through a bounded channel of
//! [`Input`]s plus a wake-up descriptor (one end of a Unix socket pair) that the reader
//! writes a byte to after each line, so the socket thread can block in [`libsock::poll`] on
//! "the socket is ready" *or* "a line arrived" with no busy waiting:
//!
//! 1. take a line if nothing is waiting to be sent (drain the wake-up descriptor first, then
//!    `try_recv`, so a wake-up is never lost);
//! 2. send the waiting message with `DONTWAIT`;
//! 3. receive one message with `DONTWAIT` and print it;
//! 4. if none of that made progress, poll: the socket for `POLLIN` while receiving is not
//!    finished and `POLLOUT` while a message waits, the wake-up descriptor while a line could
//!    be taken. Each wait is capped at [`MAX_WAIT`] as a safety net, and at the next
//!    `--timeout` deadline.
//!
//! ## When it ends
//!
//! Input is finished when the reader hit end of input and every line was sent. Receiving is
//! finished after `--count` messages or, without `--count`, as soon as input is finished.
//! The loop returns when both are finished. So `pair --count 1` sends all of stdin *and*
//! prints one message, while `pair` with no `--count` exits once stdin is sent.
//!
//! `--timeout MS` applies to both directions: a message that cannot be queued within MS, or no
//! message arriving for MS while receiving is not finished (and no send is stuck), is
//! [`TimedOut`](super::outcome::TimedOut).

use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use libsock::{PollItem, Socket, SocketType, DONTWAIT, POLLIN, POLLOUT};

use super::lines::{split_frames, Lines};
use super::loops::{emit, Limits};
use super::outcome::{check_sent, io_error, Waiting};

/// The longest a single poll waits, even with nothing due: progress never depends on a
/// wake-up alone.
pub const MAX_WAIT: Duration = Duration::from_millis(100);
/// Lines buffered between the reader thread and the socket thread.
const INPUT_BUFFER: usize = 64;

/// What the reader thread sends; the channel closing means end of input.
#[derive(Debug)]
pub enum Input {
    /// One line, end-of-line stripped.
    Line(Vec<u8>),
    /// Reading failed; nothing follows.
    Failed(io::Error),
}

/// The socket thread's end of a line reader: the lines, and a descriptor that becomes readable
/// when there may be a new one (or the end).
pub struct LineFeed {
    lines: Receiver<Input>,
    wake: UnixStream,
}

impl LineFeed {
    /// The next input: `Ok(None)` when none is ready yet, `Err(())` at end of input.
    fn try_next(&self) -> Result<Option<Input>, ()> {
        self.drain_wakes();
        match self.lines.try_recv() {
            Ok(input) => Ok(Some(input)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(()),
        }
    }

    /// Empties the wake-up descriptor (non-blocking; stops at end of stream too).
    fn drain_wakes(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// Reads `input` line by line on a new thread.
pub fn spawn_line_reader<R>(input: R) -> Result<LineFeed>
where
    R: BufRead + Send + 'static,
{
    let (tx, lines) = sync_channel(INPUT_BUFFER);
    let (wake, waker) = UnixStream::pair().context("cannot create the stdin wake-up pair")?;
    wake.set_nonblocking(true)?;
    waker.set_nonblocking(true)?;
    thread::Builder::new()
        .name("sockcat-stdin".into())
        .spawn(move || {
            for line in Lines::new(input) {
                let failed = line.is_err();
                let item = line.map_or_else(Input::Failed, Input::Line);
                if tx.send(item).is_err() {
                    break;
                }
                // Full buffer: a byte is already waiting, which is all a wake-up needs.
                let _ = (&waker).write(&[1]);
                if failed {
                    break;
                }
            }
            // End of input: close the channel first, then make `wake` readable (end of
            // stream), so whoever wakes up finds the channel closed.
            drop(tx);
            drop(waker);
        })
        .context("cannot start the stdin reader thread")?;
    Ok(LineFeed { lines, wake })
}

/// What [`duplex`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages sent (including `first` ones).
    pub sent: u64,
    /// Messages received and printed.
    pub received: u64,
}

/// Sends `first` and then every input line, and prints received messages, until both
/// directions are finished (see the module docs).
pub fn duplex<W: Write>(
    socket: &Socket,
    input: LineFeed,
    out: &mut W,
    first: Vec<Vec<Vec<u8>>>,
    limits: Limits,
) -> Result<Counts> {
    let mut state = Duplex {
        socket,
        input: Some(input),
        outbox: first.into(),
        limits,
        timeout: limits.timeout_ms.map(|ms| Duration::from_millis(ms.into())),
        counts: Counts::default(),
        send_blocked_since: None,
        last_received: Instant::now(),
    };
    loop {
        let mut progress = state.take_input()?;
        progress |= state.send_one()?;
        match state.recv_one(out)? {
            Step::Progress => progress = true,
            Step::Idle => {}
            Step::Stop => return Ok(state.counts),
        }
        if state.input_finished() && state.receive_finished() {
            return Ok(state.counts);
        }
        state.check_timeouts()?;
        if !progress {
            state.wait()?;
        }
    }
}

enum Step {
    Progress,
    Idle,
    /// Stdout's reader went away.
    Stop,
}

struct Duplex<'a> {
    socket: &'a Socket,
    /// `None` once the reader finished.
    input: Option<LineFeed>,
    outbox: VecDeque<Vec<Vec<u8>>>,
    limits: Limits,
    timeout: Option<Duration>,
    counts: Counts,
    send_blocked_since: Option<Instant>,
    last_received: Instant,
}

impl Duplex<'_> {
    /// Takes one line when the outbox is empty (so a slow peer slows the reader down).
    fn take_input(&mut self) -> Result<bool> {
        let Some(feed) = self.input.as_ref().filter(|_| self.outbox.is_empty()) else {
            return Ok(false);
        };
        match feed.try_next() {
            Ok(Some(Input::Line(line))) => {
                let frames = split_frames(&line);
                if frames.len() == 1 && self.socket.get_socket_type()? == SocketType::ROUTER {
                    tracing::warn!("router: a line is ROUTING_ID<TAB>MESSAGE; this one has no TAB");
                }
                self.outbox.push_back(frames);
            }
            Ok(Some(Input::Failed(e))) => return Err(e).context("cannot read stdin"),
            Ok(None) => return Ok(false),
            Err(()) => self.input = None,
        }
        Ok(true)
    }

    fn send_one(&mut self) -> Result<bool> {
        let Some(msg) = self.outbox.front() else {
            return Ok(false);
        };
        let frames = msg.iter().map(Vec::as_slice);
        match self.socket.send_multipart(frames, DONTWAIT) {
            Err(libsock::Error::WouldBlock) => {
                self.send_blocked_since.get_or_insert_with(Instant::now);
                Ok(false)
            }
            result => {
                let frames = self.outbox.pop_front().unwrap_or_default();
                self.send_blocked_since = None;
                if check_sent(result, &frames, self.limits.timeout_ms)? {
                    self.counts.sent += 1;
                }
                Ok(true)
            }
        }
    }

    fn recv_one<W: Write>(&mut self, out: &mut W) -> Result<Step> {
        if self.receive_finished() {
            return Ok(Step::Idle);
        }
        match self.socket.recv_multipart(DONTWAIT) {
            Ok(msg) => {
                self.counts.received += 1;
                self.last_received = Instant::now();
                Ok(if emit(out, &msg)? { Step::Progress } else { Step::Stop })
            }
            Err(libsock::Error::WouldBlock) => Ok(Step::Idle),
            Err(e) => Err(io_error(e, Waiting::Receive, self.limits.timeout_ms)),
        }
    }

    fn input_finished(&self) -> bool {
        self.input.is_none() && self.outbox.is_empty()
    }

    fn receive_finished(&self) -> bool {
        match self.limits.count {
            Some(_) => self.limits.reached(self.counts.received),
            None => self.input_finished(),
        }
    }

    /// When `--timeout` runs out for the send that is stuck, else for receiving (which is not
    /// timed while a send is stuck: the send's own timeout says more).
    fn deadline(&self) -> Option<(Instant, Waiting)> {
        let t = self.timeout?;
        match self.send_blocked_since {
            Some(since) => Some((since + t, Waiting::Send)),
            None if !self.receive_finished() => Some((self.last_received + t, Waiting::Receive)),
            None => None,
        }
    }

    fn check_timeouts(&self) -> Result<()> {
        match self.deadline() {
            Some((at, waiting)) if Instant::now() >= at => {
                Err(io_error(libsock::Error::TimedOut, waiting, self.limits.timeout_ms))
            }
            _ => Ok(()),
        }
    }

    /// Blocks until the socket or the input may allow progress, or a deadline is near.
    fn wait(&self) -> Result<()> {
        let mut events = 0;
        if !self.receive_finished() {
            events |= POLLIN;
        }
        if !self.outbox.is_empty() {
            events |= POLLOUT;
        }
        let mut items = Vec::with_capacity(2);
        if events != 0 {
            items.push(self.socket.as_poll_item(events));
        }
        if let Some(feed) = self.input.as_ref().filter(|_| self.outbox.is_empty()) {
            items.push(PollItem::from_fd(feed.wake.as_raw_fd(), POLLIN));
        }
        let mut wait = MAX_WAIT;
        if let Some((at, _)) = self.deadline() {
            wait = wait.min(at.saturating_duration_since(Instant::now()));
        }
        // Round up, so a deadline a fraction of a millisecond away is not a busy loop.
        let ms = wait.as_micros().div_ceil(1000) as i64;
        libsock::poll(&mut items, ms).context("cannot wait for the socket")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockcat::outcome::{exit_code, TIMED_OUT};
    use libsock::{Context, PAIR};

    fn pair(ctx: &Context, name: &str) -> (Socket, Socket) {
        let a = ctx.socket(PAIR).unwrap();
        let b = ctx.socket(PAIR).unwrap();
        for s in [&a, &b] {
            s.set_linger(0).unwrap();
            s.set_rcvtimeo(5000).unwrap();
            s.set_sndtimeo(5000).unwrap();
        }
        a.bind(&format!("inproc://{name}")).unwrap();
        b.connect(&format!("inproc://{name}")).unwrap();
        (a, b)
    }

    fn limits(count: Option<u64>, timeout_ms: Option<u32>) -> Limits {
        Limits { count, timeout_ms }
    }

    #[test]
    fn sends_input_and_prints_count_messages() {
        let ctx = Context::new();
        let (ours, peer) = pair(&ctx, "duplex-both");
        peer.send_multipart(["from", "peer"], 0).unwrap();
        let rx = spawn_line_reader(&b"one\ntwo\tparts\n"[..]).unwrap();
        let mut out = Vec::new();
        let n = duplex(&ours, rx, &mut out, vec![], limits(Some(1), Some(5000))).unwrap();
        assert_eq!(n, Counts { sent: 2, received: 1 });
        assert_eq!(out, b"from\tpeer\n");
        assert_eq!(peer.recv_multipart(0).unwrap(), vec![b"one".to_vec()]);
        assert_eq!(peer.recv_multipart(0).unwrap(), vec![b"two".to_vec(), b"parts".to_vec()]);
    }

    #[test]
    fn without_count_it_ends_when_input_is_sent() {
        let ctx = Context::new();
        let (ours, peer) = pair(&ctx, "duplex-nocount");
        let rx = spawn_line_reader(&b"x\n"[..]).unwrap();
        let first = vec![vec![b"\x01".to_vec()]];
        let n = duplex(&ours, rx, &mut Vec::new(), first, limits(None, None)).unwrap();
        assert_eq!(n, Counts { sent: 2, received: 0 });
        assert_eq!(peer.recv_bytes(0).unwrap(), b"\x01");
        assert_eq!(peer.recv_bytes(0).unwrap(), b"x");
    }

    #[test]
    fn a_line_arriving_later_wakes_the_loop() {
        let ctx = Context::new();
        let (ours, peer) = pair(&ctx, "duplex-slow-input");
        let (reader, mut writer) = UnixStream::pair().unwrap();
        let rx = spawn_line_reader(io::BufReader::new(reader)).unwrap();
        let typist = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            writer.write_all(b"typed\n").unwrap();
            thread::sleep(Duration::from_millis(50));
            // dropping `writer` ends the input
        });
        let started = Instant::now();
        let n = duplex(&ours, rx, &mut Vec::new(), vec![], limits(None, None)).unwrap();
        typist.join().unwrap();
        assert_eq!(n, Counts { sent: 1, received: 0 });
        assert_eq!(peer.recv_bytes(0).unwrap(), b"typed");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn waits_for_messages_after_input_ends() {
        let ctx = Context::new();
        let (ours, peer) = pair(&ctx, "duplex-late");
        let rx = spawn_line_reader(&b""[..]).unwrap();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            peer.send("late", 0).unwrap();
            peer
        });
        let mut out = Vec::new();
        let n = duplex(&ours, rx, &mut out, vec![], limits(Some(1), Some(5000))).unwrap();
        assert_eq!((n.received, out), (1, b"late\n".to_vec()));
        drop(sender.join().unwrap());
    }

    #[test]
    fn a_silent_peer_times_out() {
        let ctx = Context::new();
        let (ours, _peer) = pair(&ctx, "duplex-silent");
        let rx = spawn_line_reader(&b""[..]).unwrap();
        let started = Instant::now();
        let err = duplex(&ours, rx, &mut Vec::new(), vec![], limits(Some(1), Some(30))).unwrap_err();
        assert_eq!(exit_code(&err), TIMED_OUT);
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn no_peer_to_send_to_times_out() {
        let ctx = Context::new();
        let lonely = ctx.socket(PAIR).unwrap();
        lonely.bind("inproc://duplex-lonely").unwrap();
        let rx = spawn_line_reader(&b"x\n"[..]).unwrap();
        let err = duplex(&lonely, rx, &mut Vec::new(), vec![], limits(None, Some(30))).unwrap_err();
        assert_eq!(exit_code(&err), TIMED_OUT);
        assert!(err.to_string().contains("could not send"), "{err}");
    }
}
