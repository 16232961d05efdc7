//! tcp:// listeners and dialers, configured through socket2.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use super::endpoint::{resolve, resolve_source, Endpoint};
use super::{NetConfig, OpenFailure};

/// Binds and listens on `addr`. An IPv6 wildcard with `ipv6` also accepts IPv4 (dual stack).
pub(crate) fn bind(addr: SocketAddr, cfg: &NetConfig) -> Result<mio::net::TcpListener, OpenFailure> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    let listen = || -> io::Result<()> {
        if addr.is_ipv6() {
            socket.set_only_v6(false)?;
        }
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        set_device(&socket, cfg)?;
        socket.bind(&addr.into())?;
        socket.listen(cfg.backlog)
    };
    match listen() {
        Ok(()) => Ok(mio::net::TcpListener::from_std(socket.into())),
        Err(error) => Err(OpenFailure { error, closed_fd: Some(socket.as_raw_fd() as u32) }),
    }
}

/// A tcp peer as connect was given it. As libzmq does, it is resolved again at every dial:
/// a name that does not resolve (yet), or an IPv6 address while IPV6 is off, is a failed
/// attempt that is retried, not a connect error.
#[derive(Debug, Clone)]
pub(crate) struct TcpTarget {
    pub host: String,
    pub port: u16,
    /// `tcp://source;peer`: the local (host, port) to bind before connecting.
    pub source: Option<(String, u16)>,
    /// The IPV6 option when connect was called.
    pub ipv6: bool,
}

impl TcpTarget {
    /// The peer's address, and the local one to bind first if a source was given.
    pub(crate) fn resolve(&self) -> io::Result<(SocketAddr, Option<SocketAddr>)> {
        let peer = resolve(&self.host, self.port, self.ipv6)?;
        let source = match &self.source {
            Some((host, port)) => Some(resolve_source(host, *port, peer)?),
            None => None,
        };
        Ok((peer, source))
    }

    /// SOCKS_PROXY's value: `host:port`, or `source;host:port` to reach the proxy from a
    /// given local address.
    pub(crate) fn socks_proxy(text: &str, ipv6: bool) -> crate::error::Result<TcpTarget> {
        match Endpoint::parse(&format!("tcp://{text}")) {
            Ok(Endpoint::Tcp { host, port, source }) if port != 0 && host != "*" => {
                Ok(TcpTarget { host, port, source, ipv6 })
            }
            _ => Err(crate::error::Error::invalid(format!("SOCKS_PROXY must be host:port, got {text:?}"))),
        }
    }

    /// Resolves, then starts a non-blocking connect.
    pub(crate) fn dial(&self, cfg: &NetConfig) -> Result<mio::net::TcpStream, OpenFailure> {
        let (peer, source) = self.resolve()?;
        connect(peer, source, cfg)
    }
}

/// Starts a non-blocking connect to `addr`, from the local address `source` if given.
pub(crate) fn connect(
    addr: SocketAddr,
    source: Option<SocketAddr>,
    cfg: &NetConfig,
) -> Result<mio::net::TcpStream, OpenFailure> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    set_buffers(&socket, cfg)?;
    set_device(&socket, cfg)?;
    if let Some(source) = source {
        // As libzmq's tcp_connecter: SO_REUSEADDR lets one source port connect to several
        // peers (the 4-tuples differ).
        socket.set_reuse_address(true)?;
        socket.bind(&source.into())?;
    }
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(115) || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(error) => return Err(OpenFailure { error, closed_fd: Some(socket.as_raw_fd() as u32) }),
    }
    let stream = mio::net::TcpStream::from_std(socket.into());
    configure(&stream, cfg)?;
    Ok(stream)
}

/// Per-connection options: no Nagle delay (we batch ourselves), keepalive, buffer sizes.
pub(crate) fn configure(stream: &mio::net::TcpStream, cfg: &NetConfig) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let sock = SockRef::from(stream);
    set_buffers(&sock, cfg)?;
    // TOS takes any int >= 0, as libzmq's; the byte the header has room for is its low one
    // (IPv4 keeps that much of a larger value, IPV6_TCLASS would refuse it).
    let tos = (cfg.tos & 0xff) as u32;
    if tos > 0 {
        match stream.peer_addr().or_else(|_| stream.local_addr())? {
            SocketAddr::V4(_) => sock.set_tos_v4(tos)?,
            SocketAddr::V6(_) => sock.set_tclass_v6(tos)?,
        }
    }
    if cfg.priority > 0 {
        // As libzmq's tcp.cpp: only a non-zero priority is applied.
        sock.set_priority(cfg.priority as u32)?;
    }
    if cfg.tcp_maxrt > 0 {
        sock.set_tcp_user_timeout(Some(Duration::from_millis(cfg.tcp_maxrt as u64)))?;
    }
    if cfg.keepalive >= 0 {
        sock.set_keepalive(cfg.keepalive == 1)?;
    }
    if cfg.keepalive == 1 {
        let mut ka = TcpKeepalive::new();
        if cfg.keepalive_idle > 0 {
            ka = ka.with_time(Duration::from_secs(cfg.keepalive_idle as u64));
        }
        if cfg.keepalive_intvl > 0 {
            ka = ka.with_interval(Duration::from_secs(cfg.keepalive_intvl as u64));
        }
        if cfg.keepalive_cnt > 0 {
            ka = ka.with_retries(cfg.keepalive_cnt as u32);
        }
        sock.set_tcp_keepalive(&ka)?;
    }
    Ok(())
}

/// SO_BINDTODEVICE (needs CAP_NET_RAW on older kernels).
fn set_device(sock: &Socket, cfg: &NetConfig) -> io::Result<()> {
    if cfg.bindtodevice.is_empty() {
        return Ok(());
    }
    sock.bind_device(Some(&cfg.bindtodevice))
}

fn set_buffers(sock: &Socket, cfg: &NetConfig) -> io::Result<()> {
    if cfg.sndbuf >= 0 {
        sock.set_send_buffer_size(cfg.sndbuf as usize)?;
    }
    if cfg.rcvbuf >= 0 {
        sock.set_recv_buffer_size(cfg.rcvbuf as usize)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;

    #[test]
    fn keepalive_and_nodelay_are_applied() {
        let o = Options { tcp_keepalive: 1, tcp_keepalive_idle: 30, ..Default::default() };
        let cfg = NetConfig::from_options(&o);
        let listener = bind("127.0.0.1:0".parse().unwrap(), &cfg).unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = connect(addr, None, &cfg).unwrap();
        let sock = SockRef::from(&stream);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(30));
        assert!(stream.nodelay().unwrap());
    }

    #[test]
    fn tos_maxrt_and_device_are_applied() {
        // TOS beyond a byte (libzmq takes any int >= 0): its low byte is applied.
        let o = Options { tos: 0x128, tcp_maxrt: 1500, bindtodevice: b"lo".to_vec(), ..Default::default() };
        let cfg = NetConfig::from_options(&o);
        let listener = match bind("127.0.0.1:0".parse().unwrap(), &cfg) {
            Err(e) if e.error.kind() == io::ErrorKind::PermissionDenied => return, // no CAP_NET_RAW
            other => other.unwrap(),
        };
        let stream = connect(listener.local_addr().unwrap(), None, &cfg).unwrap();
        let sock = SockRef::from(&stream);
        assert_eq!(sock.tos_v4().unwrap(), 0x28);
        assert_eq!(sock.tcp_user_timeout().unwrap(), Some(Duration::from_millis(1500)));
        assert_eq!(sock.device().unwrap().as_deref(), Some(&b"lo"[..]));
        assert_eq!(SockRef::from(&listener).device().unwrap().as_deref(), Some(&b"lo"[..]));
        // IPV6_TCLASS refuses more than a byte: without the mask the connection would fail.
        if let Ok(listener) = bind("[::1]:0".parse().unwrap(), &cfg) {
            let stream = connect(listener.local_addr().unwrap(), None, &cfg).unwrap();
            assert_eq!(SockRef::from(&stream).tclass_v6().unwrap(), 0x28);
        }
    }

    #[test]
    fn a_source_address_is_bound_before_connecting() {
        let cfg = NetConfig::from_options(&Options::default());
        let a = bind("127.0.0.1:0".parse().unwrap(), &cfg).unwrap();
        let b = bind("127.0.0.1:0".parse().unwrap(), &cfg).unwrap();
        let to = |l: &mio::net::TcpListener, source: Option<(&str, u16)>| TcpTarget {
            host: "localhost".into(),
            port: l.local_addr().unwrap().port(),
            source: source.map(|(h, p)| (h.to_owned(), p)),
            ipv6: false,
        };
        let first = to(&a, Some(("127.0.0.1", 0))).dial(&cfg).unwrap();
        let local = first.local_addr().unwrap();
        assert_eq!(local.ip().to_string(), "127.0.0.1");
        // The same source port to another peer: SO_REUSEADDR, as libzmq.
        let second = to(&b, Some(("lo", local.port()))).dial(&cfg).unwrap();
        assert_eq!(second.local_addr().unwrap(), local);
        // Resolution happens at dial time: an IPv6 peer with IPV6 off fails there.
        let v6 = TcpTarget { host: "::1".into(), port: 1, source: None, ipv6: false };
        assert!(v6.dial(&cfg).is_err());
    }

    #[test]
    fn priority_is_applied() {
        // 0..=6 need no CAP_NET_ADMIN.
        let cfg = NetConfig::from_options(&Options { priority: 5, ..Default::default() });
        let listener = bind("127.0.0.1:0".parse().unwrap(), &cfg).unwrap();
        let stream = connect(listener.local_addr().unwrap(), None, &cfg).unwrap();
        assert_eq!(SockRef::from(&stream).priority().unwrap(), 5);
        let plain = NetConfig::from_options(&Options::default());
        let other = connect(listener.local_addr().unwrap(), None, &plain).unwrap();
        assert_eq!(SockRef::from(&other).priority().unwrap(), 0);
    }
}
