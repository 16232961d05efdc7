//! The vocabulary shared by every implementation: what a socket is for ([`Role`]), the
//! blocking socket interface the workloads are written against ([`Lib`], [`Sock`]), and the
//! names of implementations, transports and patterns.
//!
//! The traits are deliberately tiny: bind, connect, send a slice, receive one message, echo one
//! message. Each call maps onto one call of the library's own API, so the trait adds nothing
//! but a static dispatch.

use std::fmt;

use anyhow::{bail, Result};

/// What a socket is for. Each implementation maps roles onto its socket types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Throughput sender (PUSH).
    Push,
    /// Throughput receiver (PULL).
    Pull,
    /// Latency echo server (REP; see `imp::libsock::LAT_TYPES`).
    LatServer,
    /// Latency client (REQ).
    LatClient,
    /// Fan-out publisher (PUB).
    Pub,
    /// Fan-out subscriber (SUB, subscribed to everything).
    Sub,
}

/// Options every role may ask for.
#[derive(Clone, Copy, Debug, Default)]
pub struct SockOpts {
    /// Send and receive high water mark, in messages (`None`: the library's default).
    pub hwm: Option<i32>,
    /// Receive timeout in milliseconds (`None`: block forever).
    pub recv_timeout_ms: Option<i32>,
    /// The kernel's socket buffers, where the library has the options.
    pub bufs: KernelBuffers,
}

/// SO_SNDBUF and SO_RCVBUF (ZMQ_SNDBUF, ZMQ_RCVBUF) for libsock's and libzmq's sockets:
/// setting one fixes that buffer (tcp's otherwise grows to megabytes). ØMQ.rs, zmq.rs and
/// raw sockets keep the kernel's defaults.
#[derive(clap::Args, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelBuffers {
    /// ZMQ_SNDBUF in bytes on every libsock and libzmq socket (ØMQ.rs, zmq.rs and raw
    /// sockets keep the kernel's default).
    #[arg(long)]
    pub sndbuf: Option<i32>,
    /// ZMQ_RCVBUF in bytes on every libsock and libzmq socket (likewise).
    #[arg(long)]
    pub rcvbuf: Option<i32>,
}

impl KernelBuffers {
    /// The command-line arguments that give these values.
    pub fn to_args(self) -> Vec<String> {
        let named = [("--sndbuf", self.sndbuf), ("--rcvbuf", self.rcvbuf)];
        named.into_iter().filter_map(|(k, v)| v.map(|v| [k.to_string(), v.to_string()])).flatten().collect()
    }

    /// How a report states them: `""` when both are the kernel's default.
    pub fn describe(self) -> String {
        let named = [("SNDBUF", self.sndbuf), ("RCVBUF", self.rcvbuf)];
        let set: Vec<String> = named.into_iter().filter_map(|(k, v)| v.map(|v| format!("{k} {v}"))).collect();
        if set.is_empty() {
            return String::new();
        }
        format!("; {} on libsock's and libzmq's sockets", set.join(", "))
    }
}

/// What a receive saw: the body length and its first byte (the workloads mark probes and
/// ends in it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recvd {
    /// Body length in bytes.
    pub len: usize,
    /// The first body byte, if any.
    pub first: Option<u8>,
}

impl Recvd {
    /// Describes `body`.
    #[inline]
    pub fn of(body: &[u8]) -> Recvd {
        Recvd { len: body.len(), first: body.first().copied() }
    }
}

/// One blocking socket of some implementation.
pub trait Sock: Send {
    /// Binds; returns the resolved endpoint (port `0` replaced by the real port).
    fn bind(&mut self, endpoint: &str) -> Result<String>;
    /// Connects (may return before the connection is up, as libzmq does).
    fn connect(&mut self, endpoint: &str) -> Result<()>;
    /// Sends one single-frame message, copying `data` into a new message.
    fn send(&mut self, data: &[u8]) -> Result<()>;
    /// Receives one message; `Ok(None)` when the receive timeout expired.
    fn recv(&mut self) -> Result<Option<Recvd>>;
    /// Receives one message and sends it straight back (without copying where the API
    /// allows); returns its length.
    fn echo(&mut self) -> Result<usize>;
    /// Pushes out anything buffered in user space (only the raw baseline buffers).
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// An implementation: a context that makes sockets. One per process, shared by threads.
pub trait Lib: Sync + Sized {
    /// Its socket type.
    type Sock: Sock;
    /// Creates the context (I/O threads and so on).
    fn new() -> Result<Self>;
    /// Creates a socket for `role`. Sub sockets come subscribed to everything.
    fn socket(&self, role: Role, opts: &SockOpts) -> Result<Self::Sock>;
}

/// The implementations the runner compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Impl {
    /// This workspace's library.
    Libsock,
    /// libzmq 4.3 through the `zmq` crate.
    Libzmq,
    /// ØMQ.rs, crate `omq-tokio`.
    Omq,
    /// zmq.rs, crate `zeromq` (tokio).
    Zeromq,
    /// Plain sockets and channels, the same framed bytes, no library.
    Raw,
}

impl Impl {
    /// Every implementation, in table column order.
    pub const ALL: [Impl; 5] = [Impl::Libsock, Impl::Libzmq, Impl::Omq, Impl::Zeromq, Impl::Raw];

    /// The column heading.
    pub fn label(self) -> &'static str {
        match self {
            Impl::Libsock => "libsock",
            Impl::Libzmq => "libzmq",
            Impl::Omq => "ØMQ.rs",
            Impl::Zeromq => "zmq.rs",
            Impl::Raw => "raw",
        }
    }

    /// The command-line name.
    pub fn arg(self) -> &'static str {
        match self {
            Impl::Libsock => "libsock",
            Impl::Libzmq => "libzmq",
            Impl::Omq => "omq",
            Impl::Zeromq => "zeromq",
            Impl::Raw => "raw",
        }
    }

    /// Whether this implementation can run `pattern` over `transport`; the error is the text
    /// of the table cell.
    pub fn supports(self, pattern: Pattern, transport: Transport) -> Result<(), &'static str> {
        match (self, pattern, transport) {
            (Impl::Zeromq, _, Transport::Inproc) => Err("n/a (no inproc transport)"),
            (Impl::Omq | Impl::Zeromq | Impl::Raw, _, Transport::Ws | Transport::Wss) => {
                Err("n/a (no WebSocket transport)")
            }
            // Debian's libzmq and the zmq crate's are built without GnuTLS.
            (Impl::Libzmq, _, Transport::Wss) => Err("n/a (libzmq built without wss)"),
            (Impl::Raw, Pattern::Mem, _) => Err("n/a (no queue)"),
            (Impl::Omq | Impl::Zeromq | Impl::Raw, Pattern::ProxyThr | Pattern::ProxyLat, _) => {
                Err("n/a (no proxy)")
            }
            _ => Ok(()),
        }
    }
}

/// A transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Transport {
    /// tcp over loopback.
    Tcp,
    /// Unix domain sockets.
    Ipc,
    /// Threads of one process.
    Inproc,
    /// ZeroMQ over WebSocket over tcp loopback (not in the default set: `--transports ws`).
    Ws,
    /// The same over TLS, libsock's test certificate (`--transports wss`).
    Wss,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        })
    }
}

/// A workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Pattern {
    /// PUSH/PULL throughput.
    Thr,
    /// REQ/REP round trips.
    Lat,
    /// PUB/SUB fan-out.
    #[value(name = "pubsub")]
    PubSub,
    /// Memory held by 1000 queued messages.
    Mem,
    /// PUSH -> streamer (PULL/PUSH proxy) -> PULL throughput.
    #[value(name = "proxy-thr")]
    ProxyThr,
    /// REQ -> queue (ROUTER/DEALER proxy) -> REP round trips.
    #[value(name = "proxy-lat")]
    ProxyLat,
    /// CURVE throughput (64 B, 1 KiB) and latency (64 B) over tcp, libsock vs libzmq with
    /// libsodium (only when named in `--only`; see `runner::curve_cells`).
    Curve,
}

/// Splits an endpoint into its scheme and address.
pub fn split_endpoint(endpoint: &str) -> Result<(&str, &str)> {
    match endpoint.split_once("://") {
        Some(parts) => Ok(parts),
        None => bail!("not an endpoint: {endpoint}"),
    }
}
