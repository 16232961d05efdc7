//! RADIO/DISH and DGRAM over `udp://` (libzmq's `udp_engine`): a RADIO connects to
//! `udp://host:port` and sends every message as one datagram, `group length (1 byte) | group
//! | body`; a DISH binds `udp://ip:port` (`*` for every interface, port 0 for any) and keeps
//! the datagrams of the groups it joined. A DGRAM binds the same way and sends each message
//! `[address, body]` as the body alone to that address; it receives each datagram as
//! `[source address, body]`, the address as libzmq writes it (`"ip:port"` and a NUL).
//!
//! Each endpoint is a pipe like an inproc one, whose far end a small thread serves with a
//! plain UDP socket: datagrams need no connection, handshake or reconnect, so the I/O
//! threads' stream machinery has nothing to offer them. The thread ends when the socket
//! closes. Not supported (as an error, or not at all): multicast groups, `unbind` and
//! `disconnect` of udp endpoints.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::{PipeOrigin, SocketCore};
use crate::error::{Error, Result};
use crate::mailbox::signal::Signal;
use crate::message::Message;
use crate::pipe::{pipe, PipeEnd, Reader, Writer};
use crate::socket_type::SocketType;

/// The marker a udp pipe sends a RADIO first: "send me every group".
pub(super) const ALL_GROUPS: u8 = 2;

/// libzmq's largest udp datagram (`MAX_UDP_MSG`); larger messages are not sent.
const MAX_DATAGRAM: usize = 8192;

/// How often a udp thread looks whether its socket closed.
const POLL: Duration = Duration::from_millis(100);

/// `bind` for a `udp://` endpoint: `None` when `endpoint` is not one.
pub(crate) fn bind(core: &mut SocketCore, endpoint: &str) -> Option<Result<()>> {
    let addr = endpoint.strip_prefix("udp://")?;
    Some(match core.kind {
        SocketType::DGRAM => bind_dgram(core, addr),
        _ => bind_dish(core, addr),
    })
}

/// `connect` for a `udp://` endpoint: `None` when `endpoint` is not one.
pub(crate) fn connect(core: &mut SocketCore, endpoint: &str) -> Option<Result<()>> {
    let addr = endpoint.strip_prefix("udp://")?;
    Some(connect_radio(core, addr))
}

fn bind_dish(core: &mut SocketCore, addr: &str) -> Result<()> {
    if core.kind != SocketType::DISH {
        return Err(Error::IncompatibleProtocol(format!(
            "udp:// binds only a DISH or a DGRAM, not a {}",
            core.kind
        )));
    }
    let sock = bind_socket(core, addr)?;
    let local = sock.local_addr()?;
    let (ours, theirs) = pipe(hwm(core.options.sndhwm), hwm(core.options.rcvhwm));
    core.attach(ours, None, None, PipeOrigin::Inproc);
    spawn("libsock-udp-dish", move || receive(sock, theirs))?;
    core.last_endpoint = format!("udp://{local}");
    Ok(())
}

/// DGRAM: one udp socket, one pipe, a thread that receives and one that sends.
fn bind_dgram(core: &mut SocketCore, addr: &str) -> Result<()> {
    let sock = bind_socket(core, addr)?;
    let local = sock.local_addr()?;
    let sender = sock.try_clone()?;
    let (ours, theirs) = pipe(hwm(core.options.sndhwm), hwm(core.options.rcvhwm));
    let signal = Arc::new(Signal::default());
    theirs.set_owner(signal.clone());
    let PipeEnd { tx, rx } = theirs;
    core.attach(ours, None, None, PipeOrigin::Inproc);
    spawn("libsock-udp-dgram-in", move || receive_datagrams(sock, tx))?;
    spawn("libsock-udp-dgram-out", move || send_datagrams(sender, rx, signal))?;
    core.last_endpoint = format!("udp://{local}");
    Ok(())
}

/// A udp socket bound to `addr` (`*` is every interface: IPv6 and IPv4 ones, dual stack,
/// with IPV6 set, as libzmq), whose reads time out every [`POLL`].
fn bind_socket(core: &SocketCore, addr: &str) -> Result<UdpSocket> {
    let any = if core.options.ipv6 { "[::]" } else { "0.0.0.0" };
    let addr = addr.replacen('*', any, 1);
    let target = resolve(&addr)?;
    if target.ip().is_multicast() {
        return Err(Error::ProtocolNotSupported("udp multicast".into()));
    }
    let sock = UdpSocket::bind(target).map_err(|e| Error::AddrNotAvailable(format!("{addr}: {e}")))?;
    sock.set_read_timeout(Some(POLL))?;
    Ok(sock)
}

fn connect_radio(core: &mut SocketCore, addr: &str) -> Result<()> {
    if core.kind != SocketType::RADIO {
        return Err(Error::IncompatibleProtocol(format!(
            "udp:// connects only a RADIO, not a {}",
            core.kind
        )));
    }
    let target = resolve(addr)?;
    if target.ip().is_multicast() || target.ip().is_unspecified() || target.port() == 0 {
        return Err(Error::invalid(format!("cannot send udp to {target}")));
    }
    let local: SocketAddr = if target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let sock = UdpSocket::bind(local)?;
    sock.connect(target)?;
    let (ours, mut theirs) = pipe(hwm(core.options.sndhwm), hwm(core.options.rcvhwm));
    theirs.tx.send_one(Message::from(&[ALL_GROUPS][..]));
    let signal = Arc::new(Signal::default());
    theirs.set_owner(signal.clone());
    core.attach(ours, None, None, PipeOrigin::Inproc);
    spawn("libsock-udp-radio", move || send(sock, theirs, signal))?;
    core.last_endpoint = format!("udp://{target}");
    Ok(())
}

fn resolve(addr: &str) -> Result<SocketAddr> {
    addr.to_socket_addrs()
        .map_err(|e| Error::invalid(format!("udp address {addr:?}: {e}")))?
        .next()
        .ok_or_else(|| Error::invalid(format!("udp address {addr:?} resolves to nothing")))
}

fn hwm(v: i32) -> u64 {
    v.max(0) as u64
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new().name(name.into()).spawn(move || {
        crate::sys::block_signals();
        f()
    })?;
    Ok(())
}

/// RADIO side: every message the socket queues (group frame, body frame) becomes a datagram.
fn send(sock: UdpSocket, mut end: PipeEnd, signal: Arc<Signal>) {
    let mut datagram = Vec::with_capacity(MAX_DATAGRAM);
    loop {
        while let Some(group) = end.rx.read() {
            let Some(body) = group.get_more().then(|| end.rx.read()).flatten() else { continue };
            datagram.clear();
            datagram.push(group.len() as u8);
            datagram.extend_from_slice(&group);
            datagram.extend_from_slice(&body);
            if datagram.len() > MAX_DATAGRAM {
                tracing::debug!(len = datagram.len(), "udp RADIO drops a message over 8192 bytes");
                continue;
            }
            if let Err(e) = sock.send(&datagram) {
                // Nobody listening (ICMP refused) and the like: UDP is lossy by design.
                tracing::debug!("udp RADIO send: {e}");
            }
        }
        if end.rx.is_terminated() {
            return;
        }
        signal.wait(Some(Instant::now() + POLL));
    }
}

/// DISH side: each datagram becomes a group frame and a body frame (dropped at the HWM,
/// and when malformed); the DISH filters by its groups.
fn receive(sock: UdpSocket, mut end: PipeEnd) {
    let mut buf = vec![0u8; 65536];
    loop {
        // The DISH's joins come down this pipe too; over udp they go nowhere.
        while end.rx.read().is_some() {}
        if end.tx.is_reader_gone() || end.rx.is_terminated() {
            return;
        }
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                continue
            }
            Err(e) => {
                tracing::debug!("udp DISH receive: {e}");
                continue;
            }
        };
        let Some((&len, rest)) = buf[..n].split_first() else { continue };
        if rest.len() < usize::from(len) || !end.tx.can_write() {
            continue;
        }
        let (group, body) = rest.split_at(usize::from(len));
        let mut group = Message::from(group);
        group.set_more(true);
        end.tx.write(group);
        end.tx.write(Message::from(body));
        end.tx.flush();
    }
}

/// DGRAM, out: each message `[address, body]` becomes the body sent to that address. A
/// message whose address is not `ip:port` (a trailing NUL allowed, port not 0) or whose
/// body is over 8192 bytes is dropped, as libzmq drops it.
fn send_datagrams(sock: UdpSocket, mut rx: Reader, signal: Arc<Signal>) {
    loop {
        while let Some(address) = rx.read() {
            let Some(body) = address.get_more().then(|| rx.read()).flatten() else { continue };
            let Some(to) = parse_address(&address) else {
                tracing::debug!("udp DGRAM drops a message to a bad address");
                continue;
            };
            if body.len() > MAX_DATAGRAM {
                tracing::debug!(len = body.len(), "udp DGRAM drops a message over 8192 bytes");
                continue;
            }
            if let Err(e) = sock.send_to(&body, to) {
                tracing::debug!("udp DGRAM send to {to}: {e}");
            }
        }
        if rx.is_terminated() {
            return;
        }
        signal.wait(Some(Instant::now() + POLL));
    }
}

/// DGRAM, in: each datagram becomes `[source address, body]` (dropped whole at the HWM).
fn receive_datagrams(sock: UdpSocket, mut tx: Writer) {
    let mut buf = vec![0u8; 65536];
    loop {
        if tx.is_reader_gone() {
            return;
        }
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                continue
            }
            Err(e) => {
                tracing::debug!("udp DGRAM receive: {e}");
                continue;
            }
        };
        if !tx.can_write() {
            continue;
        }
        // libzmq's address frame: "ip:port" and a terminating NUL.
        let mut address = Message::from(format!("{from}\0").into_bytes());
        address.set_more(true);
        tx.write(address);
        tx.write(Message::from(&buf[..n]));
        tx.flush();
    }
}

/// `ip:port` (IPv6 as `[ip]:port`), with or without a trailing NUL; port 0 is not one.
fn parse_address(frame: &[u8]) -> Option<SocketAddr> {
    let text = std::str::from_utf8(frame).ok()?;
    let addr: SocketAddr = text.strip_suffix('\0').unwrap_or(text).parse().ok()?;
    (addr.port() != 0).then_some(addr)
}
