//! [`Context`]: owns the I/O threads and the inproc namespace that sockets share.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::engine::{EndpointId, IoShared, IoThread};
use crate::error::{Error, Result};
use crate::socket::inproc::InprocRegistry;
use crate::socket::{Socket, SocketShared};
use crate::socket_type::SocketType;

/// A set of I/O threads and an inproc namespace; every socket belongs to one context.
///
/// Cloning is cheap and yields a handle to the same context. The context ends when the last
/// handle and the last of its sockets are dropped: that waits for sockets' LINGER to deliver
/// queued messages (LINGER is forever by default, as in libzmq; set it to 0 to never wait).
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
    io: Vec<IoThread>,
    next_io: AtomicUsize,
    next_endpoint: AtomicU64,
    pub(crate) inproc: InprocRegistry,
    /// Set by [`Context::shutdown`]: every socket operation fails with ETERM from then on.
    terminated: AtomicBool,
    /// Every socket made here, to wake blocked ones on shutdown.
    sockets: Mutex<Vec<Weak<SocketShared>>>,
}

impl Context {
    /// A context with one I/O thread (libzmq's default).
    ///
    /// # Panics
    /// If the operating system refuses to create the thread or its poller.
    pub fn new() -> Context {
        Context::with_io_threads(1).expect("cannot start the libsock I/O thread")
    }

    /// A context with `threads` I/O threads (at least one).
    pub fn with_io_threads(threads: usize) -> Result<Context> {
        if threads == 0 {
            return Err(Error::invalid("a context needs at least one I/O thread"));
        }
        let io = (0..threads).map(IoThread::spawn).collect::<std::io::Result<Vec<_>>>()?;
        let inner = ContextInner {
            io,
            next_io: AtomicUsize::new(0),
            next_endpoint: AtomicU64::new(1),
            inproc: InprocRegistry::default(),
            terminated: AtomicBool::new(false),
            sockets: Mutex::new(Vec::new()),
        };
        Ok(Context { inner: Arc::new(inner) })
    }

    /// Creates a socket of the given type.
    pub fn socket(&self, kind: SocketType) -> Result<Socket> {
        Socket::new(self.inner.clone(), kind)
    }

    /// Makes every blocking and future operation on this context's sockets fail with
    /// [`Error::ContextTerminated`] (`ETERM`), waking threads blocked in them, like
    /// `zmq_ctx_shutdown`. Sockets must still be dropped; the context ends after that.
    pub fn shutdown(&self) {
        self.inner.terminated.store(true, Ordering::Release);
        for socket in self.inner.sockets.lock().iter().filter_map(Weak::upgrade) {
            crate::pipe::Wake::wake(&*socket.signal);
        }
    }

    /// How many I/O threads this context runs.
    pub fn get_io_threads(&self) -> usize {
        self.inner.io.len()
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl ContextInner {
    /// The I/O thread for a new listener or connection (round robin).
    pub(crate) fn choose_io(&self) -> Arc<IoShared> {
        let i = self.next_io.fetch_add(1, Ordering::Relaxed) % self.io.len();
        self.io[i].shared().clone()
    }

    /// Whether [`Context::shutdown`] was called.
    #[inline]
    pub(crate) fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    /// Remembers a new socket so shutdown can wake it.
    pub(crate) fn register(&self, socket: &Arc<SocketShared>) {
        let mut sockets = self.sockets.lock();
        sockets.retain(|w| w.strong_count() > 0);
        sockets.push(Arc::downgrade(socket));
    }

    pub(crate) fn next_endpoint_id(&self) -> EndpointId {
        self.next_endpoint.fetch_add(1, Ordering::Relaxed)
    }
}
