//! Transports: endpoint parsing, and listeners and dialers that yield byte streams.
//!
//! Transports know nothing of ZMTP or sockets; the engine runs the protocol over whatever
//! [`Stream`] they produce. inproc needs no I/O at all and is joined socket-to-socket in
//! [`crate::socket::inproc`].

pub(crate) mod endpoint;
pub(crate) mod filter;
pub(crate) mod ipc;
pub(crate) mod peer_filter;
pub(crate) mod socks;
pub(crate) mod tcp;
pub(crate) mod wss;

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use mio::event::Source;
use mio::{Interest, Registry, Token};

pub use endpoint::Endpoint;

use crate::options::Options;

/// The transport settings a listener or dialer needs, taken from the socket options.
#[derive(Debug, Clone)]
pub(crate) struct NetConfig {
    pub backlog: i32,
    pub keepalive: i32,
    pub keepalive_cnt: i32,
    pub keepalive_idle: i32,
    pub keepalive_intvl: i32,
    pub sndbuf: i32,
    pub rcvbuf: i32,
    /// IP_TOS / IPV6_TCLASS byte (0 = leave the OS default).
    pub tos: i32,
    /// SO_BINDTODEVICE interface name (empty = none).
    pub bindtodevice: Vec<u8>,
    /// TCP_USER_TIMEOUT in ms (0 = OS default).
    pub tcp_maxrt: i32,
    /// SO_PRIORITY (draft ZMQ_PRIORITY; 0 = OS default).
    pub priority: i32,
    /// TCP_ACCEPT_FILTER: peers a tcp listener accepts (empty = all).
    pub accept_filters: Vec<filter::IpFilter>,
    /// IPC_FILTER_PID/UID/GID for ipc listeners.
    pub ipc_filters: peer_filter::IpcFilters,
}

impl NetConfig {
    pub(crate) fn from_options(o: &Options) -> NetConfig {
        NetConfig {
            backlog: o.backlog,
            keepalive: o.tcp_keepalive,
            keepalive_cnt: o.tcp_keepalive_cnt,
            keepalive_idle: o.tcp_keepalive_idle,
            keepalive_intvl: o.tcp_keepalive_intvl,
            sndbuf: o.sndbuf,
            rcvbuf: o.rcvbuf,
            tos: o.tos,
            bindtodevice: o.bindtodevice.clone(),
            tcp_maxrt: o.tcp_maxrt,
            priority: o.priority,
            accept_filters: Vec::new(),
            ipc_filters: Default::default(),
        }
    }
}

/// A connected byte stream.
pub(crate) enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

impl Stream {
    /// Whether this is a Unix domain (ipc) stream.
    pub(crate) fn is_unix(&self) -> bool {
        matches!(self, Stream::Unix(_))
    }

    /// The kernel's send buffer for this stream (SO_SNDBUF), in bytes as it accounts them.
    pub(crate) fn send_buffer_size(&self) -> io::Result<usize> {
        socket2::SockRef::from(self).send_buffer_size()
    }

    /// Whether a non-blocking connect has completed: `Ok(true)` connected, `Ok(false)` still
    /// in progress, `Err` failed.
    pub(crate) fn connect_result(&self) -> io::Result<bool> {
        let (err, peer) = match self {
            Stream::Tcp(s) => (s.take_error()?, s.peer_addr().map(|_| ())),
            Stream::Unix(s) => (s.take_error()?, s.peer_addr().map(|_| ())),
        };
        if let Some(e) = err {
            return Err(e);
        }
        match peer {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Stream {
    /// This end's address as an endpoint (`tcp://ip:port`, `ipc://path`; `ipc://` for an
    /// unnamed Unix socket, as libzmq writes one), for monitor events; `""` if unknown.
    pub(crate) fn local_name(&self) -> String {
        match self {
            Stream::Tcp(s) => s.local_addr().map(|a| format!("tcp://{a}")).unwrap_or_default(),
            Stream::Unix(s) => s.local_addr().map(|a| unix_name(&a)).unwrap_or_default(),
        }
    }
}

impl Stream {
    /// The peer as libzmq names it in `Peer-Address` and in ZAP requests: a tcp peer's IP
    /// (numeric; IPv6 without brackets), an ipc peer as `localhost` followed by its
    /// process's `:uid:gid:pid` (`SO_PEERCRED`, as libzmq built where the kernel has it);
    /// `""` for a tcp peer the kernel no longer knows.
    pub(crate) fn peer_address(&self) -> String {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        match self {
            Stream::Tcp(s) => s.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            Stream::Unix(s) => match getsockopt(s, PeerCredentials) {
                Ok(c) => format!("localhost:{}:{}:{}", c.uid(), c.gid(), c.pid()),
                Err(_) => "localhost".to_owned(),
            },
        }
    }
}

/// A Unix socket address as libzmq's `ipc_address_t::to_string` writes it.
fn unix_name(addr: &std::os::unix::net::SocketAddr) -> String {
    use std::os::linux::net::SocketAddrExt;
    if let Some(path) = addr.as_pathname() {
        return format!("ipc://{}", path.display());
    }
    match addr.as_abstract_name() {
        Some(name) => format!("ipc://@{}", String::from_utf8_lossy(name)),
        None => "ipc://".to_owned(),
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for Stream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Unix(s) => s.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Unix(s) => s.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Unix(s) => s.deregister(r),
        }
    }
}

/// A bound, listening socket.
pub(crate) enum Listener {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener),
    /// `ws://`: tcp, each connection starting with a WebSocket upgrade (`wss://`: with
    /// TLS under it, this configuration's).
    Ws(mio::net::TcpListener, Option<std::sync::Arc<rustls::ServerConfig>>),
}

impl Listener {
    /// The listening descriptor (for monitor events).
    pub(crate) fn raw_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        match self {
            Listener::Tcp(l) | Listener::Ws(l, _) => l.as_raw_fd(),
            Listener::Unix(l) => l.as_raw_fd(),
        }
    }

    /// Whether its connections speak ZMTP over WebSocket: `Some`, with the TLS under it
    /// for `wss://`.
    pub(crate) fn ws(&self) -> Option<Option<std::sync::Arc<rustls::ServerConfig>>> {
        match self {
            Listener::Ws(_, tls) => Some(tls.clone()),
            _ => None,
        }
    }

    /// Accepts one pending connection; returns the stream and the peer's address as text.
    pub(crate) fn accept(&self, cfg: &NetConfig) -> io::Result<(Stream, String)> {
        match self {
            Listener::Tcp(l) | Listener::Ws(l, _) => {
                let (s, addr) = l.accept()?;
                if !filter::allows(&cfg.accept_filters, addr.ip()) {
                    // Dropping the stream closes it at once, as libzmq does.
                    tracing::debug!(peer = %addr, "connection refused by TCP_ACCEPT_FILTER");
                    return Err(io::Error::from_raw_os_error(libc::EACCES));
                }
                tcp::configure(&s, cfg)?;
                Ok((Stream::Tcp(s), format!("tcp://{addr}")))
            }
            Listener::Unix(l) => {
                let (s, _) = l.accept()?;
                if !cfg.ipc_filters.allows(&s) {
                    tracing::debug!("connection refused by IPC_FILTER_PID/UID/GID");
                    return Err(io::Error::from_raw_os_error(libc::EACCES));
                }
                Ok((Stream::Unix(s), "ipc://".to_string()))
            }
        }
    }
}

impl Source for Listener {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) | Listener::Ws(l, _) => l.register(r, t, i),
            Listener::Unix(l) => l.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) | Listener::Ws(l, _) => l.reregister(r, t, i),
            Listener::Unix(l) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) | Listener::Ws(l, _) => l.deregister(r),
            Listener::Unix(l) => l.deregister(r),
        }
    }
}

/// Where a dialer connects to.
#[derive(Debug, Clone)]
pub(crate) enum DialTarget {
    Tcp(std::sync::Arc<tcp::TcpTarget>),
    Ipc(ipc::IpcAddr),
    /// tcp through a SOCKS5 proxy (SOCKS_PROXY).
    Socks(std::sync::Arc<socks::SocksTarget>),
    /// `ws://`: tcp, then a WebSocket upgrade asking for `path` of `host`.
    Ws(std::sync::Arc<WsTarget>),
}

/// Where a `ws://` connect goes.
#[derive(Debug, Clone)]
pub(crate) struct WsTarget {
    /// The tcp connection under it.
    pub tcp: tcp::TcpTarget,
    /// The request's `Host` (the endpoint's host as written, as libzmq sends it).
    pub host: String,
    /// The request's path.
    pub path: String,
    /// `wss://`: the TLS handshake that comes first.
    pub tls: Option<wss::ClientTls>,
}

/// A connect that failed at once, or a bind that failed.
#[derive(Debug)]
pub(crate) struct OpenFailure {
    pub(crate) error: io::Error,
    /// The descriptor the attempt opened and has closed, when it got that far: libzmq's
    /// connecter and listeners report it in a CLOSED event.
    pub(crate) closed_fd: Option<u32>,
}

impl From<io::Error> for OpenFailure {
    fn from(error: io::Error) -> OpenFailure {
        OpenFailure { error, closed_fd: None }
    }
}

impl DialTarget {
    /// Starts a non-blocking connect.
    pub(crate) fn dial(&self, cfg: &NetConfig) -> Result<Stream, OpenFailure> {
        match self {
            DialTarget::Tcp(t) => t.dial(cfg).map(Stream::Tcp),
            DialTarget::Ipc(addr) => ipc::connect(addr).map(Stream::Unix),
            DialTarget::Socks(t) => t.proxy.dial(cfg).map(Stream::Tcp),
            DialTarget::Ws(t) => t.tcp.dial(cfg).map(Stream::Tcp),
        }
    }

    /// Whether a connect [`DialTarget::dial`] started has completed already: a Unix socket
    /// connects at once or fails (libzmq then reports no CONNECT_DELAYED), tcp is told by
    /// the stream's writable edge.
    pub(crate) fn connects_at_once(&self) -> bool {
        matches!(self, DialTarget::Ipc(_))
    }

    /// The proxy handshake a connection to this target starts with, if any.
    pub(crate) fn socks(&self) -> Option<socks::Socks5> {
        match self {
            DialTarget::Socks(t) => Some(socks::Socks5::new((**t).clone())),
            _ => None,
        }
    }
}
