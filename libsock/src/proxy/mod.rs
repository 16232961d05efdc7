//! Proxies (devices): [`proxy`], [`proxy_steerable`] and the [`Proxy`] builder behind them,
//! with libzmq's `zmq_proxy` / `zmq_proxy_steerable` semantics.
//!
//! The usual pairs are ROUTER/DEALER (queue), XSUB/XPUB (forwarder) and PULL/PUSH
//! (streamer), but any two sockets work: messages go frontend → backend, and backend →
//! frontend when the backend can receive and the frontend can send. Frames keep their MORE
//! flags, so multipart messages arrive whole and in order.
//!
//! ## How the loop moves messages
//!
//! Each direction is a [`pump::Pump`] that receives and sends with `DONTWAIT` in bursts of
//! up to [`pump::BURST`] frames. Only when neither direction can move anything does the
//! proxy wait, in [`crate::poll()`], for exactly what would unblock it: input on a direction
//! that is drained, room on the output of a direction whose output refused a frame. So a busy
//! proxy makes no poll call per message, an idle one sleeps (no CPU), and a full output
//! (PUSH or DEALER at SNDHWM) stops the reading of its input instead of dropping: the
//! back-pressure reaches the senders, as with libzmq. PUB, XPUB and ROUTER outputs drop at
//! HWM by their own rules.
//!
//! The capture socket gets a copy of every frame, in both directions, without waiting: a copy
//! it cannot take at once waits in a bounded backlog (its SNDHWM in messages) until it can,
//! so a capture peer that connects late still sees everything; a copy that finds the backlog
//! full is dropped and counted ([`ProxyStatistics::capture_dropped`]). A slow capture never
//! slows the proxy ([`capture`]).

mod capture;
mod control;
mod pump;
mod stats;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::poll::{poll_with, PollItem};
use crate::socket::{Socket, POLLIN, POLLOUT};
use capture::Capture;
use control::Command;
use pump::{can_recv, can_send, Flow, Pump};
pub use stats::{ProxyStatistics, ProxyStats, SideStats};

// The four functions below are the `zmq` crate's, with its signatures (libzmq's
// `zmq_proxy`/`zmq_proxy_steerable` with and without their optional sockets; `&mut` where
// the `zmq` crate has it, so that its callers compile unchanged); [`Proxy`] is the one
// they all run.

/// Joins `frontend` and `backend` (libzmq's `zmq_proxy`). Runs until the context is shut
/// down, then fails with [`Error::ContextTerminated`] (`ETERM`), as libzmq does.
///
/// ```no_run
/// let ctx = libsock::Context::new();
/// let frontend = ctx.socket(libsock::ROUTER)?;
/// frontend.bind("tcp://*:5559")?;
/// let backend = ctx.socket(libsock::DEALER)?;
/// backend.bind("tcp://*:5560")?;
/// libsock::proxy(&frontend, &backend)?; // a queue device, until ctx.shutdown()
/// # Ok::<(), libsock::Error>(())
/// ```
pub fn proxy(frontend: &Socket, backend: &Socket) -> Result<()> {
    Proxy::new(frontend, backend).run()
}

/// [`proxy`] that also sends `capture` a copy of every frame, both ways.
pub fn proxy_with_capture(frontend: &mut Socket, backend: &mut Socket, capture: &mut Socket) -> Result<()> {
    Proxy::new(frontend, backend).capture(capture).run()
}

/// [`proxy`] steered by commands received on `control` (libzmq's `zmq_proxy_steerable`):
/// `PAUSE`, `RESUME`, `TERMINATE` and `STATISTICS`. Returns `Ok(())` after `TERMINATE`.
///
/// `STATISTICS` is answered with eight `u64` frames in host byte order: frontend messages
/// in, bytes in, messages out, bytes out, then the same for the backend. A REP control
/// socket gets an empty reply to every other command.
pub fn proxy_steerable(frontend: &mut Socket, backend: &mut Socket, control: &mut Socket) -> Result<()> {
    Proxy::new(frontend, backend).control(control).run()
}

/// [`proxy_steerable`] with a `capture` socket, as [`proxy_with_capture`].
pub fn proxy_steerable_with_capture(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: &mut Socket,
    control: &mut Socket,
) -> Result<()> {
    Proxy::new(frontend, backend).capture(capture).control(control).run()
}

/// A proxy to configure and run: the richer form of [`proxy`] and [`proxy_steerable`], with
/// counters readable from other threads and a way to stop it from another thread.
///
/// ```
/// use libsock::{Context, Proxy, PULL, PUSH};
/// let ctx = Context::new();
/// let (input, output) = (ctx.socket(PULL)?, ctx.socket(PUSH)?);
/// input.bind("inproc://stage-in")?;
/// output.bind("inproc://stage-out")?;
/// let mut proxy = Proxy::new(&input, &output);
/// let (stats, stopper) = (proxy.stats(), proxy.stopper()?);
/// stopper.stop(); // from any thread; here before it even runs
/// proxy.run()?;
/// assert_eq!(stats.snapshot().frontend.msg_in, 0);
/// # Ok::<(), libsock::Error>(())
/// ```
pub struct Proxy<'a> {
    frontend: &'a Socket,
    backend: &'a Socket,
    capture: Option<&'a Socket>,
    control: Option<&'a Socket>,
    stats: Arc<ProxyStats>,
    stop: Option<(Arc<StopFlag>, UnixStream)>,
}

/// Stops a running [`Proxy`] from any thread: [`Proxy::run`] then returns `Ok(())`; or only
/// wakes it ([`ProxyStopper::nudge`]).
#[derive(Clone)]
pub struct ProxyStopper {
    flag: Arc<StopFlag>,
}

struct StopFlag {
    stopped: AtomicBool,
    /// Written to wake the proxy if it is waiting in `poll`.
    wake: UnixStream,
}

impl ProxyStopper {
    /// Asks the proxy to return; it does so after the batch it is moving.
    pub fn stop(&self) {
        self.flag.stopped.store(true, Ordering::Release);
        // Non-blocking: a full buffer means a wake is pending already.
        let _ = (&self.flag.wake).write(&[1]);
    }

    /// Wakes the proxy if it waits, without stopping it: it goes round its loop once, and
    /// [`ProxyStats::turns`] advances. How a health check tells a proxy waiting for traffic
    /// from one that no longer comes round (sockdev's `/healthz` and systemd watchdog).
    pub fn nudge(&self) {
        let _ = (&self.flag.wake).write(&[0]);
    }
}

impl<'a> Proxy<'a> {
    /// A proxy between `frontend` and `backend`, with no capture and no control socket.
    pub fn new(frontend: &'a Socket, backend: &'a Socket) -> Proxy<'a> {
        Proxy { frontend, backend, capture: None, control: None, stats: Arc::default(), stop: None }
    }

    /// Copies every message, in both directions, to `capture` (PUB, PUSH, DEALER or PAIR).
    pub fn capture(mut self, capture: &'a Socket) -> Proxy<'a> {
        self.capture = Some(capture);
        self
    }

    /// Reads commands from `control` (see [`proxy_steerable`]).
    pub fn control(mut self, control: &'a Socket) -> Proxy<'a> {
        self.control = Some(control);
        self
    }

    /// The counters, readable from any thread while the proxy runs (updated per batch).
    pub fn stats(&self) -> Arc<ProxyStats> {
        self.stats.clone()
    }

    /// A handle that stops this proxy from another thread (signal handlers, services).
    pub fn stopper(&mut self) -> std::io::Result<ProxyStopper> {
        if let Some((flag, _)) = &self.stop {
            return Ok(ProxyStopper { flag: flag.clone() });
        }
        let (wake, listen) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        // Drained after each wait that it woke (`Loop::wait`).
        listen.set_nonblocking(true)?;
        let flag = Arc::new(StopFlag { stopped: AtomicBool::new(false), wake });
        self.stop = Some((flag.clone(), listen));
        Ok(ProxyStopper { flag })
    }

    /// Runs until `TERMINATE` on the control socket or a [`ProxyStopper`] (`Ok(())`), or
    /// until the context is shut down (`Err(ContextTerminated)`) or a socket fails.
    pub fn run(self) -> Result<()> {
        let mut state = Loop::new(&self)?;
        let mut capture = self.capture.map(Capture::new).transpose()?;
        let result = state.run(&self, capture.as_mut());
        self.stats.publish(&state.counts);
        result
    }
}

/// The proxy loop's state.
struct Loop {
    /// frontend → backend, backend → frontend.
    pumps: [Pump; 2],
    /// Which of the two directions exist for these socket types.
    enabled: [bool; 2],
    same_socket: bool,
    paused: bool,
    counts: ProxyStatistics,
}

impl Loop {
    fn new(p: &Proxy<'_>) -> Result<Loop> {
        let (fe, be) = (p.frontend.get_socket_type()?, p.backend.get_socket_type()?);
        let same_socket = std::ptr::eq(p.frontend, p.backend);
        let enabled = [can_recv(fe) && can_send(be), !same_socket && can_recv(be) && can_send(fe)];
        if enabled == [false, false] {
            return Err(Error::invalid(format!(
                "a proxy cannot move messages from {fe:?} to {be:?} or back"
            )));
        }
        Ok(Loop {
            pumps: Default::default(),
            enabled,
            same_socket,
            paused: false,
            counts: Default::default(),
        })
    }

    fn run(&mut self, p: &Proxy<'_>, mut capture: Option<&mut Capture<'_>>) -> Result<()> {
        loop {
            p.stats.turned();
            if p.stop.as_ref().is_some_and(|(flag, _)| flag.stopped.load(Ordering::Acquire)) {
                return Ok(());
            }
            if let Some(control) = p.control {
                if self.steer(control)? {
                    return Ok(());
                }
            }
            if let Some(capture) = capture.as_deref_mut() {
                capture.flush()?;
            }
            if self.paused {
                self.wait(p, capture.as_deref())?;
                continue;
            }
            let mut busy = false;
            if self.enabled[0] {
                let stats = (&mut self.counts.frontend, &mut self.counts.backend);
                let flow = self.pumps[0].run(
                    p.frontend,
                    p.backend,
                    capture.as_deref_mut(),
                    stats,
                    &mut self.counts.capture_dropped,
                )?;
                busy |= flow == Flow::Busy;
            }
            if self.enabled[1] {
                let stats = (&mut self.counts.backend, &mut self.counts.frontend);
                let flow = self.pumps[1].run(
                    p.backend,
                    p.frontend,
                    capture.as_deref_mut(),
                    stats,
                    &mut self.counts.capture_dropped,
                )?;
                busy |= flow == Flow::Busy;
            }
            p.stats.publish(&self.counts);
            if !busy {
                self.wait(p, capture.as_deref())?;
            }
        }
    }

    /// Applies every waiting control command; true on `TERMINATE`.
    fn steer(&mut self, control: &Socket) -> Result<bool> {
        while let Some(command) = control::take_command(control, &self.counts)? {
            match command {
                Command::Pause => self.paused = true,
                Command::Resume => self.paused = false,
                Command::Terminate => return Ok(true),
                Command::Statistics | Command::Unknown => {}
            }
        }
        Ok(false)
    }

    /// Sleeps until something that could unblock the loop happens.
    fn wait(&self, p: &Proxy<'_>, capture: Option<&Capture<'_>>) -> Result<()> {
        let (mut fe, mut be) = (0, 0);
        if !self.paused {
            // A held frame waits for room on its output; otherwise wait for input.
            if self.enabled[0] {
                if self.pumps[0].is_held() {
                    be |= POLLOUT
                } else {
                    fe |= POLLIN
                }
            }
            if self.enabled[1] {
                if self.pumps[1].is_held() {
                    fe |= POLLOUT
                } else {
                    be |= POLLIN
                }
            }
        }
        if self.same_socket {
            (fe, be) = (fe | be, 0);
        }
        let mut items = Vec::with_capacity(4);
        if fe != 0 {
            items.push(p.frontend.as_poll_item(fe));
        }
        if be != 0 {
            items.push(p.backend.as_poll_item(be));
        }
        if let Some(control) = p.control {
            items.push(control.as_poll_item(POLLIN));
        }
        // Copies wait for the capture's room (a peer to connect, a reader to catch up).
        if let Some(capture) = capture.filter(|c| c.is_waiting()) {
            items.push(capture.socket().as_poll_item(POLLOUT));
        }
        if let Some((_, listen)) = &p.stop {
            items.push(PollItem::from_fd(listen.as_raw_fd(), POLLIN));
        }
        // As libzmq's zmq_proxy: a signal ends it (EINTR) when its sockets ask for that.
        poll_with(&mut items, -1, p.frontend.is_interruptible())?;
        // The stop channel's item is the last: a nudge or a stop woke the wait. Take the
        // bytes, or the next wait would not sleep.
        if let (Some((_, listen)), Some(item)) = (&p.stop, items.last()) {
            if item.is_readable() {
                let _ = (&*listen).read(&mut [0u8; 64]);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
