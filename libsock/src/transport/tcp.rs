//! tcp:// listeners and dialers, configured through socket2.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use super::NetConfig;

/// Binds and listens on `addr`. An IPv6 wildcard with `ipv6` also accepts IPv4 (dual stack).
pub(crate) fn bind(addr: SocketAddr, cfg: &NetConfig) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(cfg.backlog)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

/// Starts a non-blocking connect to `addr`.
pub(crate) fn connect(addr: SocketAddr, cfg: &NetConfig) -> io::Result<mio::net::TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    set_buffers(&socket, cfg)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(115) || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
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
        let stream = connect(addr, &cfg).unwrap();
        let sock = SockRef::from(&stream);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(30));
        assert!(stream.nodelay().unwrap());
    }
}
