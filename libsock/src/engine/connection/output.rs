//! A connection's outbound side: writing the direct and queued bytes, framing the pipe's
//! messages, and the draining and closing that follow what writes find.
//! Apart because writing has its own loop and its own lock rules.

use std::io;
use std::time::{Duration, Instant};

use super::{Connection, Down, Flow, IO_ROUNDS};
use crate::engine::Ctx;
use crate::message::Message;
use crate::pipe::PipeEnd;
use crate::session::Session;
use crate::transport::{NetConfig, Stream};

/// Stop pulling messages from the pipe once this much is copied and waiting to be written
/// (where the kernel grows the send buffer itself; see [`out_batch`]).
const OUT_BATCH: usize = 256 * 1024;
/// ... or this much in all, large bodies included (written from their own memory, not
/// copied): bigger `writev`s cost the kernel less per byte. 64 KiB messages with each
/// process on one core (its threads sharing it): 256 KiB gave 37-39 k msg/s and 25 us of
/// sender CPU per message, 1 MiB 55 k and 18 us (libzmq: 66 k, 14 us).
const OUT_BATCH_SHARED: usize = 1024 * 1024;
/// The smallest batch, whatever the send buffer.
const MIN_OUT_BATCH: usize = 4 * 1024;
/// Writes smaller than this, one after another in one wake-up, mean the I/O thread is
/// chasing a sending thread that runs on the other core: each round takes the handful of
/// messages sent during the last system call and pays another for them (and the receiving
/// side one more read), the flood at up to twice the CPU (BENCHMARKS.md, "The sender's slow
/// mode"). Yielding the core between such rounds lets the batch grow and gives the core to
/// whoever waits for it. A lone reply is never delayed: it is the first write of its
/// wake-up, and the yield comes after a write, never before one.
const SMALL_WRITE: usize = 4096;
/// After the peer reset or closed the stream under our writes, how long its last bytes may
/// take to be read (they are read at once unless the application thread holds the stream,
/// which ends within a few ms): a backstop, never reached in practice.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

impl Connection {
    pub(super) fn is_draining(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.draining.is_some())
    }

    /// Whether write error `e` leaves bytes the peer sent before it went to be read: it
    /// reset or closed the stream (a PUSH that sent its last messages and closed, met by
    /// our PING or PONG), so the read side ends too, once they are read. Any other error
    /// takes the link down at once, as before.
    pub(super) fn may_drain(&self, e: &io::Error) -> bool {
        matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset)
            && self.link.as_ref().and_then(|l| l.session.as_ref()).is_some_and(|s| s.is_active())
    }

    /// The peer went away under our writes: stop writing, read what it sent before (every
    /// message it counted as sent reaches the socket), and take the link down when the read
    /// side ends. The application thread stops writing to the stream directly too.
    pub(super) fn start_draining(&mut self, ctx: &Ctx<'_>) -> Flow {
        let Some(link) = &mut self.link else { return Flow::Keep };
        tracing::debug!(endpoint = %self.name, "peer went away: reading what it sent before");
        link.draining = Some(ctx.now + DRAIN_LIMIT);
        if let Some(d) = &link.direct {
            d.disarm();
        }
        self.pump(ctx, true, false)
    }

    /// Writes what the application framed directly first, then the pipe's messages and the
    /// session's commands, all under the direct write lock (rule 1 of `direct`).
    pub(super) fn pump_out(&mut self, ctx: &Ctx<'_>) -> Result<(), Down> {
        let Some(direct) = self.link.as_ref().and_then(|l| l.direct.clone()) else {
            return self.pump_out_queued(ctx);
        };
        let mut tx = direct.lock();
        if !tx.flush().map_err(Down::Io)? {
            if let Some(rx) = self.link.as_ref().and_then(|l| l.rx.as_ref()) {
                rx.want_out(true);
            }
            return Ok(());
        }
        let result = self.pump_out_queued(ctx);
        tx.io_pending = !self.out_is_empty_unlocked();
        if !tx.io_pending {
            // CURVE: the commands the session encrypted are out; direct sends may follow.
            if let Some(session) = self.link.as_mut().and_then(|l| l.session.as_mut()) {
                session.out_written();
            }
        }
        if let Some(rx) = self.link.as_ref().and_then(|l| l.rx.as_ref()) {
            // Writability is watched only while something waits to be written.
            rx.want_out(tx.io_pending);
        }
        result
    }

    fn pump_out_queued(&mut self, ctx: &Ctx<'_>) -> Result<(), Down> {
        let as_commands = self.cfg.subscriptions_as_commands;
        let mut wrote_small = false;
        for _ in 0..IO_ROUNDS {
            let link = self.link.as_mut().ok_or(Down::Closed)?;
            if link.out_full {
                // Neither pull from the pipe (a parked reader would be woken per publish)
                // nor try the stream: the writable edge brings us back with room for a batch.
                return Ok(());
            }
            let batch = link.out_batch;
            let session = link.session.as_mut().ok_or(Down::Closed)?;
            if let (true, Some(p)) = (session.is_active(), &mut self.pipe) {
                if as_commands {
                    pull_subscriber_out(session, p, &mut self.out_mid, batch);
                } else {
                    pull_out(session, p, &mut self.out_mid, batch);
                }
            }
            if let Some(ws) = &mut link.ws {
                // Frames of their own (pongs, a close's echo, the upgrade) go out first.
                if !ws.flush(&mut link.stream).map_err(Down::Io)? {
                    link.out_full = true;
                    return Ok(());
                }
            }
            if session.out().is_empty() {
                return Ok(());
            }
            let offered = session.out().next_write_len();
            let written = match &mut link.ws {
                Some(ws) => session.out().write_to(&mut ws.writer(&mut link.stream)),
                None => session.out().write_to(&mut link.stream),
            };
            match written {
                Ok(0) => return Err(Down::Closed),
                // Short: the kernel's buffer is full. Wait for its writable edge instead of
                // trickling small writes into it (on a Unix socket each is its own skb).
                Ok(n) if n < offered => {
                    link.out_full = true;
                    return Ok(());
                }
                Ok(_) => {
                    // A second small write in one wake-up: chasing a sender that runs on
                    // the other core (see SMALL_WRITE). Let the batch grow first.
                    if offered < SMALL_WRITE {
                        if wrote_small {
                            std::thread::yield_now();
                        }
                        wrote_small = true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    link.out_full = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Down::Io(e)),
            }
        }
        ctx.reactivate();
        Ok(())
    }

    pub(super) fn check_socket_gone(&mut self, now: Instant) {
        if !self.closing && self.pipe.as_ref().is_some_and(|p| p.rx.is_writer_closed()) {
            self.begin_closing(now);
        }
    }

    pub(super) fn begin_closing(&mut self, now: Instant) {
        if self.closing {
            return;
        }
        self.closing = true;
        let linger = self.pipe.as_ref().map_or(0, |p| p.rx.linger_ms());
        self.linger_deadline =
            u64::try_from(linger).ok().map(|ms| now + std::time::Duration::from_millis(ms));
    }

    pub(super) fn nothing_to_send(&mut self) -> bool {
        match &mut self.pipe {
            Some(p) => p.rx.is_terminated(),
            None => true,
        }
    }

    pub(super) fn out_is_empty(&mut self) -> bool {
        let direct_empty =
            self.link.as_ref().and_then(|l| l.direct.as_ref()).is_none_or(|d| d.lock().is_empty());
        direct_empty && self.out_is_empty_unlocked()
    }

    /// The session's own buffer is written out (the direct buffer is not looked at), and
    /// the WebSocket frames made of it.
    fn out_is_empty_unlocked(&mut self) -> bool {
        let ws_empty = self.link.as_ref().and_then(|l| l.ws.as_ref()).is_none_or(|ws| !ws.has_pending());
        ws_empty
            && match self.link.as_mut().and_then(|l| l.session.as_mut()) {
                Some(s) => s.out().is_empty(),
                None => true,
            }
    }
}

/// Where batches for `stream` are cut: [`OUT_BATCH`] and [`OUT_BATCH_SHARED`] where the
/// kernel grows the send buffer itself (tcp without SNDBUF, to megabytes); where it keeps
/// the buffer at a fixed size (a Unix socket's 208 KiB, `net.core.wmem_default`; a tcp
/// socket's once SNDBUF is set), a quarter of the size it reports, with large bodies
/// included on tcp.
///
/// A batch that does not fit is taken short, and the next write waits for the writable
/// edge: the two processes take turns instead of overlapping. `compare`, builds
/// alternating: ipc 64 B 6.6-7.4 M msg/s with 256 KiB batches, 9.2-11.1 M with 32-128 KiB;
/// tcp with SNDBUF 64 KiB, 1 KiB messages: 0.73-0.79 M msg/s and 1.1-1.2 us of sender CPU a
/// message with 256 KiB, 1.9-2.1 M and 0.44-0.49 us with a quarter; 64 KiB messages: 23-25 k
/// msg/s with 1 MiB `writev`s, 31-36 k with a quarter (libzmq 32 k). On ipc the other way
/// round: 47-50 k msg/s with 1 MiB `writev`s, 45-46 k with a quarter.
pub(super) fn out_batch(stream: &Stream, net: &NetConfig) -> OutBatch {
    if !stream.is_unix() && net.sndbuf < 0 {
        return OutBatch { copied: OUT_BATCH, total: OUT_BATCH_SHARED };
    }
    let n = stream.send_buffer_size().unwrap_or(0);
    let batch = (n / 4).clamp(MIN_OUT_BATCH, OUT_BATCH);
    // Large bodies: a Unix socket copies what fits of a long `writev` in one call, which beats
    // one body a call; a tcp socket with SNDBUF does better with batches that fit.
    let total = if stream.is_unix() { OUT_BATCH_SHARED } else { batch };
    OutBatch { copied: batch, total }
}

/// Where a batch is cut: see [`out_batch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct OutBatch {
    /// Bytes of small messages copied into the batch.
    pub copied: usize,
    /// Bytes in all, large bodies (written from their own memory) included.
    pub total: usize,
}

/// Frames messages from the pipe into the session's outbound buffer until it holds a batch
/// or the pipe is empty: the per-message loop of every sender but a subscriber. `mid` ends as
/// the MORE flag of the last frame taken (unchanged when none was). `batch` is the stream's
/// [`out_batch`].
#[inline]
fn pull_out(session: &mut Session, p: &mut PipeEnd, mid: &mut bool, batch: OutBatch) {
    let mut last_more = *mid;
    while session.out().copied_len() < batch.copied && session.out().len() < batch.total {
        let Some(msg) = p.rx.read() else { break };
        last_more = msg.get_more();
        session.send(&msg);
        msg.release();
    }
    *mid = last_more;
}

/// [`pull_out`] for a (X)SUB whose peer takes subscriptions as commands (ZMTP 3.1).
#[cold]
#[inline(never)]
fn pull_subscriber_out(session: &mut Session, p: &mut PipeEnd, mid: &mut bool, batch: OutBatch) {
    while session.out().len() < batch.copied {
        let Some(msg) = p.rx.read() else { break };
        // A command cannot go between the frames of a message: a subscription frame that
        // ends a multipart message goes as the data frame it is (libzmq's XPUB takes it so).
        let alone = !*mid;
        *mid = msg.get_more();
        match subscription(&msg, true) {
            Some(subscribe) if alone => session.send_subscription(subscribe, &msg[1..]),
            _ => session.send(&msg),
        }
    }
}

/// Whether `msg` is a subscription message to send as a command: `Some(true)` subscribe,
/// `Some(false)` cancel.
#[inline]
pub(super) fn subscription(msg: &Message, as_commands: bool) -> Option<bool> {
    if !as_commands || msg.get_more() {
        return None;
    }
    match msg.first() {
        Some(1) => Some(true),
        Some(0) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;

    fn tcp_pair(sndbuf: i32) -> (Stream, std::net::TcpStream, NetConfig) {
        let net = NetConfig::from_options(&Options { sndbuf, ..Default::default() });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        if sndbuf >= 0 {
            socket2::SockRef::from(&std_stream).set_send_buffer_size(sndbuf as usize).unwrap();
        }
        let peer = listener.accept().unwrap().0;
        (Stream::Tcp(mio::net::TcpStream::from_std(std_stream)), peer, net)
    }

    #[test]
    fn tcp_without_sndbuf_keeps_the_large_batches() {
        let (stream, _peer, net) = tcp_pair(-1);
        assert_eq!(out_batch(&stream, &net), OutBatch { copied: OUT_BATCH, total: OUT_BATCH_SHARED });
    }

    #[test]
    fn a_fixed_send_buffer_takes_four_batches() {
        let (stream, _peer, net) = tcp_pair(65_536);
        let kernel = stream.send_buffer_size().unwrap();
        assert!(kernel >= 65_536, "the kernel reports {kernel}");
        assert_eq!(out_batch(&stream, &net), OutBatch { copied: kernel / 4, total: kernel / 4 });

        let (tiny, _peer, net) = tcp_pair(1);
        assert_eq!(out_batch(&tiny, &net), OutBatch { copied: MIN_OUT_BATCH, total: MIN_OUT_BATCH });

        let (a, _b) = mio::net::UnixStream::pair().unwrap();
        let unix = Stream::Unix(a);
        let kernel = unix.send_buffer_size().unwrap();
        let batch = out_batch(&unix, &NetConfig::from_options(&Options::default()));
        let expected =
            OutBatch { copied: (kernel / 4).clamp(MIN_OUT_BATCH, OUT_BATCH), total: OUT_BATCH_SHARED };
        assert_eq!(batch, expected, "for a Unix socket of {kernel} bytes");
    }
}
