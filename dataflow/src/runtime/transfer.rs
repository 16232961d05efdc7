//! Moving batches between executors over libsock sockets.
//!
//! Each executor owns one PULL inbox and one PUSH per executor it sends to. Items are
//! appended to a per-destination batch (one libsock message) that is sent when full or when
//! the executor has nothing else to do, so the socket costs are paid per batch, not per tuple.
//! The sockets' high-water marks bound every queue: a full inbox blocks exactly the producers
//! that feed it. Where an executor lives is the [`Endpoints`]' business: inproc in one process
//! today, tcp between workers later, with no change here.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libsock::{Context, Error, Message, Monitor, Socket, SocketEvent, DONTWAIT, POLLIN, POLLOUT, PULL, PUSH};

use crate::component::Heartbeat;
use crate::wire::{self, Item};
use crate::workers::Endpoints;

/// Binds an executor's inbox (before any executor starts, so connects find it).
pub(crate) fn bind_inbox(
    ctx: &Context,
    endpoints: &dyn Endpoints,
    executor: usize,
    hwm: i32,
) -> libsock::Result<Socket> {
    let s = ctx.socket(PULL)?;
    s.set_rcvhwm(hwm)?;
    s.set_linger(0)?;
    if let Some(key) = endpoints.curve() {
        crate::workers::curve_serve(&s, key)?;
    }
    for endpoint in endpoints.binds(executor) {
        s.bind(&endpoint)?;
    }
    Ok(s)
}

/// One executor's inbox and outgoing batches.
pub(crate) struct Transfer {
    ctx: Context,
    endpoints: Arc<dyn Endpoints>,
    hwm: i32,
    batch: usize,
    inbox: Socket,
    /// Messages received while waiting to send (spouts only: they must keep taking acks).
    stash: VecDeque<Message>,
    drain_while_blocked: bool,
    outs: Vec<Option<Out>>,
    dirty: Vec<usize>,
    halt: Arc<AtomicBool>,
    /// The executor's: a wait for room downstream is waiting, not being stuck.
    heartbeat: Heartbeat,
    last_flush: Instant,
}

struct Out {
    socket: Socket,
    buf: Vec<u8>,
    items: usize,
}

/// Sending stopped because the topology is being torn down.
#[derive(Debug)]
pub(crate) struct Halted;

impl Transfer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        ctx: Context,
        endpoints: Arc<dyn Endpoints>,
        inbox: Socket,
        executors: usize,
        hwm: i32,
        batch: usize,
        drain_while_blocked: bool,
        halt: Arc<AtomicBool>,
        heartbeat: Heartbeat,
    ) -> Transfer {
        Transfer {
            ctx,
            endpoints,
            hwm,
            batch: batch.max(1),
            inbox,
            stash: VecDeque::new(),
            drain_while_blocked,
            outs: (0..executors).map(|_| None).collect(),
            dirty: Vec::new(),
            halt,
            heartbeat,
            last_flush: Instant::now(),
        }
    }

    /// Queues `item` for executor `to`; sends the batch when it is full.
    pub(crate) fn push(&mut self, to: usize, item: &Item) -> Result<(), Halted> {
        self.push_with(to, |buf| wire::append(buf, item))
    }

    /// Queues the item that `encode` appends to executor `to`'s batch buffer (encoding in
    /// place: no copy); sends the batch when it is full.
    pub(crate) fn push_with(&mut self, to: usize, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), Halted> {
        let out = match &mut self.outs[to] {
            Some(out) => out,
            slot => {
                let endpoint = self.endpoints.inbox(to);
                let socket = self.ctx.socket(PUSH).and_then(|s| {
                    s.set_sndhwm(self.hwm)?;
                    s.set_linger(0)?;
                    // inproc peers are in this worker: no mechanism runs there.
                    if let Some(key) = self.endpoints.curve().filter(|_| endpoint.starts_with("tcp://")) {
                        crate::workers::curve_client(&s, key)?;
                    }
                    s.connect(&endpoint)?;
                    Ok(s)
                });
                let socket = socket.map_err(|e| {
                    tracing::error!("cannot reach executor {to}: {e}");
                    Halted
                })?;
                slot.insert(Out { socket, buf: Vec::with_capacity(4096), items: 0 })
            }
        };
        if out.items == 0 {
            self.dirty.push(to);
        }
        encode(&mut out.buf);
        out.items += 1;
        if out.items >= self.batch {
            self.dirty.retain(|&d| d != to);
            self.send(to)?;
        }
        Ok(())
    }

    /// Sends every partial batch.
    pub(crate) fn flush(&mut self) -> Result<(), Halted> {
        self.last_flush = Instant::now();
        while let Some(to) = self.dirty.pop() {
            self.send(to)?;
        }
        Ok(())
    }

    /// Flushes if the last flush is older than `max_delay` (bounds latency under load).
    pub(crate) fn flush_if_older(&mut self, now: Instant, max_delay: Duration) -> Result<(), Halted> {
        if now.duration_since(self.last_flush) >= max_delay {
            self.flush()?;
        }
        Ok(())
    }

    /// The next received message, without blocking.
    pub(crate) fn try_recv(&mut self) -> Option<Message> {
        if let Some(m) = self.stash.pop_front() {
            return Some(m);
        }
        match self.inbox.recv_msg(DONTWAIT) {
            Ok(m) => Some(m),
            Err(Error::WouldBlock) => None,
            Err(e) => {
                tracing::warn!("inbox: {e}");
                None
            }
        }
    }

    /// Watches the inbox's tcp connections: broken links and accepted (re)connections. Other
    /// workers' executors connect here, so a disconnect means a peer worker may be gone.
    pub(crate) fn watch_links(&self) -> Option<Monitor> {
        let mask = (SocketEvent::Disconnected.to_raw() | SocketEvent::Accepted.to_raw()) as i32;
        self.inbox
            .monitor_events(mask)
            .map_err(|e| tracing::warn!("cannot watch the inbox's links (lost workers will time out): {e}"))
            .ok()
    }

    /// Records a turn of the executor's loop at `now`.
    pub(crate) fn beat(&self, now: Instant) {
        self.heartbeat.beat_at(now);
    }

    /// Waits up to `timeout` for something to receive.
    pub(crate) fn wait(&mut self, timeout: Duration) {
        self.wait_also(&[], timeout);
    }

    /// [`Transfer::wait`], woken also by input on any of `sockets` (a spout's own).
    pub(crate) fn wait_also(&mut self, sockets: &[&libsock::Socket], timeout: Duration) {
        if !self.stash.is_empty() {
            return;
        }
        // Let the producers run first: often they fill the inbox meanwhile, and the poll
        // below then returns at once instead of sleeping and being woken (two syscalls).
        std::thread::yield_now();
        let timeout = timeout.as_millis().max(1) as i64;
        if sockets.is_empty() {
            let mut items = [self.inbox.as_poll_item(POLLIN)];
            let _ = libsock::poll(&mut items, timeout);
        } else {
            let mut items: Vec<_> = std::iter::once(&self.inbox)
                .chain(sockets.iter().copied())
                .map(|s| s.as_poll_item(POLLIN))
                .collect();
            let _ = libsock::poll(&mut items, timeout);
        }
    }

    fn send(&mut self, to: usize) -> Result<(), Halted> {
        let Some(out) = self.outs[to].as_mut() else { return Ok(()) };
        // The next batch will likely be as large as this one: size it so that it never grows.
        let hint = out.buf.len().next_power_of_two().max(256);
        let body = std::mem::replace(&mut out.buf, Vec::with_capacity(hint));
        out.items = 0;
        // A refused send consumes its message: keep a (reference-counted) copy to retry with.
        let msg = Message::from(body);
        loop {
            match out.socket.send(msg.clone(), DONTWAIT) {
                Ok(()) => return Ok(()),
                Err(Error::WouldBlock) => {}
                Err(e) => {
                    tracing::error!("sending to executor {to}: {e}");
                    return Err(Halted);
                }
            }
            // Full: wait for room (this is the back-pressure), taking acks meanwhile if asked.
            if self.halt.load(Ordering::Relaxed) {
                return Err(Halted);
            }
            let mut items = [out.socket.as_poll_item(POLLOUT), self.inbox.as_poll_item(POLLIN)];
            let n = if self.drain_while_blocked { 2 } else { 1 };
            let _ = libsock::poll(&mut items[..n], 100);
            self.heartbeat.beat();
            if self.drain_while_blocked && items[1].is_readable() {
                while let Ok(m) = self.inbox.recv_msg(DONTWAIT) {
                    self.stash.push_back(m);
                }
            }
        }
    }
}
