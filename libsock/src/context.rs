//! [`Context`]: owns the I/O threads and the inproc namespace that sockets share.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::{Condvar, Mutex};

use crate::ctx_options::CtxConfig;
use crate::engine::{EndpointId, IoShared, IoThread};
use crate::error::{Error, Result};
use crate::mailbox::Signal;
use crate::options::OptionValue;
use crate::pipe::Wake;
use crate::socket::inproc::InprocRegistry;
use crate::socket::{Socket, SocketShared};
use crate::socket_type::SocketType;

/// A set of I/O threads and an inproc namespace; every socket belongs to one context.
///
/// Cloning is cheap and yields a handle to the same context. The context ends when the last
/// handle and the last of its sockets are dropped, or at [`Context::term`]: that waits for
/// sockets' LINGER to deliver queued messages (LINGER is forever by default, as in libzmq; set
/// it to 0 to never wait).
///
/// ```
/// let ctx = libsock::Context::new();
/// let socket = ctx.socket(libsock::PAIR)?;
/// socket.set_linger(0)?;
/// # Ok::<(), libsock::Error>(())
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

pub(crate) struct ContextInner {
    /// Started with the first socket, so that IO_THREADS and THREAD_* can be set before.
    io: OnceLock<Vec<IoThread>>,
    /// Context options ([`crate::ctx_options`]).
    config: Mutex<CtxConfig>,
    next_io: AtomicUsize,
    next_endpoint: AtomicU64,
    pub(crate) inproc: InprocRegistry,
    /// Set by [`Context::shutdown`]: every socket operation fails with ETERM from then on.
    terminated: AtomicBool,
    /// Every socket made here, to wake blocked ones on shutdown.
    sockets: Mutex<Vec<Weak<SocketShared>>>,
    /// How many sockets are open (made and not yet dropped): MAX_SOCKETS counts them and
    /// [`Context::term`] waits for none. (A dropped socket's [`SocketShared`] may outlive it
    /// in an I/O thread, so `sockets`' weak references cannot tell.)
    open_sockets: Mutex<usize>,
    /// Notified when `open_sockets` drops to zero.
    all_closed: Condvar,
    /// Woken when `open_sockets` drops to zero, for [`Context::term_interruptible`].
    closed_signal: Signal,
}

impl Context {
    /// A context with libzmq's default options (one I/O thread, started with the first
    /// socket; see [`Context::set`]).
    pub fn new() -> Context {
        let inner = ContextInner {
            io: OnceLock::new(),
            config: Mutex::new(CtxConfig::default()),
            next_io: AtomicUsize::new(0),
            next_endpoint: AtomicU64::new(1),
            inproc: InprocRegistry::default(),
            terminated: AtomicBool::new(false),
            sockets: Mutex::new(Vec::new()),
            open_sockets: Mutex::new(0),
            all_closed: Condvar::new(),
            closed_signal: Signal::default(),
        };
        Context { inner: Arc::new(inner) }
    }

    /// A context with `threads` I/O threads (at least one), started now.
    pub fn with_io_threads(threads: usize) -> Result<Context> {
        if threads == 0 {
            return Err(Error::invalid("a context needs at least one I/O thread"));
        }
        let ctx = Context::new();
        ctx.set(
            crate::ctx_options::IO_THREADS,
            i32::try_from(threads).map_err(|_| Error::invalid("too many"))?,
        )?;
        ctx.inner.start_io()?;
        Ok(ctx)
    }

    /// Sets a context option by its zmq.h number (`zmq_ctx_set`); see [`crate::ctx_options`].
    /// IO_THREADS and the THREAD_* options only apply if set before the first socket.
    pub fn set(&self, option: i32, value: i32) -> Result<()> {
        if option == crate::ctx_options::IO_THREADS && self.inner.io.get().is_some() {
            tracing::debug!("IO_THREADS set after the I/O threads started: no effect");
        }
        self.inner.config.lock().set(option, value)
    }

    /// Reads a context option by its zmq.h number (`zmq_ctx_get`).
    pub fn get(&self, option: i32) -> Result<i32> {
        self.inner.config.lock().get(option)
    }

    /// THREAD_NAME_PREFIX as text (`zmq_ctx_set_ext`): at most 16 bytes.
    pub fn set_thread_name_prefix(&self, prefix: &str) -> Result<()> {
        if prefix.is_empty() || prefix.len() > 16 {
            return Err(Error::invalid("THREAD_NAME_PREFIX is 1 to 16 bytes"));
        }
        self.inner.config.lock().thread_name_prefix = prefix.to_owned();
        Ok(())
    }

    /// THREAD_NAME_PREFIX as text (`zmq_ctx_get_ext`): empty until set.
    pub fn thread_name_prefix(&self) -> String {
        self.inner.config.lock().thread_name_prefix.clone()
    }

    /// Creates a socket of the given type; [`Error::ContextTerminated`] once the context was
    /// shut down or terminated, as `zmq_socket`.
    pub fn socket(&self, kind: SocketType) -> Result<Socket> {
        Socket::new(self.inner.clone(), kind)
    }

    /// Makes every blocking and future operation on this context's sockets fail with
    /// [`Error::ContextTerminated`] (`ETERM`), waking threads blocked in them, like
    /// `zmq_ctx_shutdown`. Sockets must still be dropped; the context ends after that.
    pub fn shutdown(&self) {
        self.inner.terminated.store(true, Ordering::Release);
        for socket in self.inner.sockets.lock().iter().filter_map(Weak::upgrade) {
            socket.signal.wake();
        }
    }

    /// Ends the context as `zmq_ctx_term` does (the `zmq` crate's `Context::destroy`):
    ///
    /// 1. blocking and later operations on its sockets fail with
    ///    [`Error::ContextTerminated`] ([`Context::shutdown`]), so threads blocked in them
    ///    wake up and can drop their sockets;
    /// 2. this waits until every socket of the context has been dropped;
    /// 3. then until each one's LINGER has delivered what it queued, and stops the I/O
    ///    threads.
    ///
    /// When it returns, messages sent before are on their way (within LINGER) and the
    /// context's threads are gone, however many handles to it remain; new sockets fail with
    /// [`Error::ContextTerminated`]. A program that exits after `term` cannot lose messages
    /// that an I/O thread had not written yet. As with `zmq_ctx_term`, a socket still open
    /// in the calling thread makes it wait forever: drop your own sockets first.
    ///
    /// Calling it again does nothing more. The `Result` is for code written against the
    /// `zmq` crate (`ctx.destroy()?`); it is always `Ok` here.
    ///
    /// ```
    /// let ctx = libsock::Context::new();
    /// let pull = ctx.socket(libsock::PULL)?;
    /// let worker = std::thread::spawn(move || {
    ///     // Blocks until the context is terminated, then drops its socket.
    ///     matches!(pull.recv_bytes(0), Err(libsock::Error::ContextTerminated))
    /// });
    /// ctx.term()?;
    /// assert!(worker.join().unwrap());
    /// # Ok::<(), libsock::Error>(())
    /// ```
    #[doc(alias = "zmq_ctx_term")]
    pub fn term(&self) -> Result<()> {
        self.shutdown();
        let mut open = self.inner.open_sockets.lock();
        while *open > 0 {
            self.inner.all_closed.wait(&mut open);
        }
        drop(open);
        if let Some(io) = self.inner.io.get() {
            for thread in io {
                thread.stop_interruptible()?;
            }
        }
        Ok(())
    }

    /// [`Context::term`] that a signal handler can end, as libzmq's `zmq_ctx_term` (which
    /// sleeps in `poll(2)`) is ended: `Err(Interrupted)` when a handler ran while it waited
    /// for sockets to be dropped or for LINGER. The context stays shut down; call it again
    /// to go on waiting (libzmq: "it can be restarted"). The C API's `zmq_ctx_term` is this.
    pub fn term_interruptible(&self) -> Result<()> {
        self.shutdown();
        loop {
            if *self.inner.open_sockets.lock() == 0 {
                break;
            }
            // A sticky wake: one that comes between the look and the sleep is not lost.
            self.inner.closed_signal.wait_interruptible(None)?;
        }
        if let Some(io) = self.inner.io.get() {
            for thread in io {
                thread.stop_interruptible()?;
            }
        }
        Ok(())
    }

    /// Same as [`Context::term`], under the `zmq` crate's name and signature.
    pub fn destroy(&mut self) -> Result<()> {
        self.term()
    }

    /// Sets IO_THREADS (the `zmq` crate's name): takes effect if set before the first socket.
    pub fn set_io_threads(&self, threads: i32) -> Result<()> {
        self.set(crate::ctx_options::IO_THREADS, threads)
    }

    /// How many I/O threads this context runs (or will run, before its first socket).
    pub fn get_io_threads(&self) -> usize {
        match self.inner.io.get() {
            Some(io) => io.len(),
            None => self.inner.config.lock().io_threads as usize,
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl ContextInner {
    /// The I/O thread for a new listener or connection (round robin).
    pub(crate) fn choose_io(&self) -> Result<Arc<IoShared>> {
        let io = self.io.get().map_or(&[][..], Vec::as_slice);
        if io.is_empty() {
            // libzmq's choose_io_thread fails the same way, with EMTHREAD.
            return Err(Error::NoIoThread);
        }
        let i = self.next_io.fetch_add(1, Ordering::Relaxed) % io.len();
        Ok(io[i].shared().clone())
    }

    /// Starts the I/O threads, once, with the thread options set so far.
    fn start_io(&self) -> Result<()> {
        if self.io.get().is_some() {
            return Ok(());
        }
        let config = self.config.lock();
        if self.io.get().is_some() {
            return Ok(());
        }
        let mut threads = Vec::new();
        for index in 0..config.io_threads.max(0) as usize {
            let (cpus, policy, priority) = (
                config.affinity.iter().map(|c| *c as usize).collect::<Vec<_>>(),
                config.thread_sched_policy,
                config.thread_priority,
            );
            let setup = Box::new(move || {
                if !cpus.is_empty() {
                    if let Err(e) = crate::sys::set_thread_affinity(&cpus) {
                        tracing::warn!("cannot set I/O thread CPU affinity: {e}");
                    }
                }
                if policy >= 0 || priority >= 0 {
                    if let Err(e) = crate::sys::set_thread_sched(policy, priority) {
                        tracing::warn!("cannot set I/O thread scheduling: {e}");
                    }
                }
            });
            threads.push(IoThread::spawn_configured(config.thread_name(index), setup)?);
        }
        let _ = self.io.set(threads);
        Ok(())
    }

    /// Admits a new socket: starts the I/O threads if needed and applies MAX_SOCKETS.
    /// Returns the context-wide defaults a new socket starts from (LINGER by BLOCKY, IPV6).
    pub(crate) fn admit_socket(&self) -> Result<[(crate::options::SocketOption, OptionValue); 2]> {
        if self.is_terminated() {
            return Err(Error::ContextTerminated);
        }
        self.start_io()?;
        let config = self.config.lock().clone();
        if *self.open_sockets.lock() >= config.max_sockets.max(0) as usize {
            return Err(Error::TooManyOpenFiles);
        }
        use crate::options::SocketOption::{IPV6, LINGER};
        Ok([
            (LINGER, OptionValue::Int(if config.blocky { -1 } else { 0 })),
            (IPV6, OptionValue::Int(config.ipv6.into())),
        ])
    }

    /// Whether [`Context::shutdown`] was called.
    #[inline]
    pub(crate) fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    /// Remembers a new socket so shutdown can wake it, and counts it open until
    /// [`ContextInner::socket_closed`].
    pub(crate) fn register(&self, socket: &Arc<SocketShared>) {
        let mut sockets = self.sockets.lock();
        sockets.retain(|w| w.strong_count() > 0);
        sockets.push(Arc::downgrade(socket));
        *self.open_sockets.lock() += 1;
    }

    /// A registered socket was dropped (its pipes handed over to linger).
    pub(crate) fn socket_closed(&self) {
        let mut open = self.open_sockets.lock();
        *open = open.saturating_sub(1);
        if *open == 0 {
            self.all_closed.notify_all();
            self.closed_signal.wake();
        }
    }

    pub(crate) fn next_endpoint_id(&self) -> EndpointId {
        self.next_endpoint.fetch_add(1, Ordering::Relaxed)
    }
}
