//! RADIO/DISH and DGRAM over `udp://` (libzmq's `udp_engine`): a RADIO connects to
//! `udp://host:port` and sends every message as one datagram, `group length (1 byte) | group
//! | body`; a DISH binds `udp://ip:port` (`*` for every interface, port 0 for any) and keeps
//! the datagrams of the groups it joined. Either may name a multicast group instead,
//! `udp://[source;]group:port` (see `udp_address`): the RADIO sends to the group
//! (MULTICAST_LOOP, MULTICAST_HOPS, out of the source's interface), the DISH joins it on
//! the source's interface and hears it on its port. A DGRAM binds the same way and sends each message
//! `[address, body]` as the body alone to that address; it receives each datagram as
//! `[source address, body]`, the address as libzmq writes it (`"ip:port"` and a NUL).
//!
//! Each endpoint is a pipe like an inproc one, whose far end a small thread serves with a
//! plain UDP socket: datagrams need no connection, handshake or reconnect, so the I/O
//! threads' stream machinery has nothing to offer them. Each is an endpoint of the socket
//! (`unbind` a DISH's or DGRAM's, `disconnect` a RADIO's, by the string given or by
//! `last_endpoint`); releasing it, or closing the socket, ends its threads and waits for
//! them (`UdpEndpoint::close`), so the port is free afterwards.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::super::endpoints::{EndpointKind, EndpointRec};
use super::super::{PipeOrigin, SocketCore};
use super::udp_address::UdpAddress;
use crate::engine::EndpointId;
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
    let (sock, endpoint) = bind_socket(core, addr)?;
    let wake = sock.try_clone()?;
    let (ours, theirs) = pipe(hwm(core.options.sndhwm), hwm(core.options.rcvhwm));
    let id = core.ctx.next_endpoint_id();
    core.attach(ours, None, Some(id), PipeOrigin::Udp);
    let thread = spawn("libsock-udp-dish", move || receive(sock, theirs))?;
    let threads = UdpEndpoint { wake: Some(wake), threads: vec![thread] };
    register(core, id, addr, endpoint, threads, true);
    Ok(())
}

/// DGRAM: one udp socket, one pipe, a thread that receives and one that sends.
fn bind_dgram(core: &mut SocketCore, addr: &str) -> Result<()> {
    let (sock, endpoint) = bind_socket(core, addr)?;
    let sender = sock.try_clone()?;
    let wake = sock.try_clone()?;
    let (ours, theirs) = pipe(hwm(core.options.sndhwm), hwm(core.options.rcvhwm));
    let signal = Arc::new(Signal::default());
    theirs.set_owner(signal.clone());
    let PipeEnd { tx, rx } = theirs;
    let id = core.ctx.next_endpoint_id();
    core.attach(ours, None, Some(id), PipeOrigin::Udp);
    let threads = vec![
        spawn("libsock-udp-dgram-in", move || receive_datagrams(sock, tx))?,
        spawn("libsock-udp-dgram-out", move || send_datagrams(sender, rx, signal))?,
    ];
    register(core, id, addr, endpoint, UdpEndpoint { wake: Some(wake), threads }, true);
    Ok(())
}

/// A udp socket that receives what `addr` names (libzmq's `udp_engine_t::plug`, receiving
/// side): bound with SO_REUSEADDR, so several sockets may share a port; a multicast group
/// is heard on its port (SO_REUSEPORT, the wildcard bound) once joined on the interface its
/// source names. Reads time out every [`POLL`]. Also returns the endpoint bound: the
/// address and port for unicast (port 0 is the one chosen), the group as given for a group.
fn bind_socket(core: &SocketCore, addr: &str) -> Result<(UdpSocket, String)> {
    let address = UdpAddress::resolve(addr, true, core.options.ipv6)?;
    let sock = Socket::new(Domain::for_address(address.bind), Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_reuse_address(true)?;
    if address.is_multicast() {
        sock.set_reuse_port(true)?;
    }
    if address.bind.is_ipv6() && (address.bind.ip().is_unspecified() || address.is_multicast()) {
        // `*` with IPV6 hears IPv4 too (dual stack), as libzmq's socket does.
        sock.set_only_v6(false)?;
    }
    // A group is heard on the wildcard; the source's address only picks where it is joined.
    let local = if address.is_multicast() { address.wildcard() } else { address.bind };
    sock.bind(&local.into()).map_err(|e| Error::AddrNotAvailable(format!("{addr}: {e}")))?;
    if address.is_multicast() {
        join(&sock, &address).map_err(|e| {
            Error::Io(std::io::Error::new(e.kind(), format!("udp://{addr}: joining the group: {e}")))
        })?;
    }
    let sock = UdpSocket::from(sock);
    sock.set_read_timeout(Some(POLL))?;
    let endpoint = if address.is_multicast() {
        format!("udp://{addr}")
    } else {
        format!("udp://{}", sock.local_addr()?)
    };
    Ok((sock, endpoint))
}

/// IP_ADD_MEMBERSHIP (the source's address, or any) or IPV6_ADD_MEMBERSHIP (its interface).
fn join(sock: &Socket, address: &UdpAddress) -> std::io::Result<()> {
    match (address.target.ip(), address.bind.ip()) {
        (IpAddr::V4(group), IpAddr::V4(interface)) => sock.join_multicast_v4(&group, &interface),
        (IpAddr::V6(group), _) => sock.join_multicast_v6(&group, address.interface.unwrap_or(0)),
        _ => Err(std::io::ErrorKind::InvalidInput.into()),
    }
}

/// The sending side of a multicast group (libzmq's `udp_engine_t::plug`): MULTICAST_LOOP,
/// MULTICAST_HOPS (when above 0) and the interface the source names.
fn configure_sender(sock: &Socket, core: &SocketCore, address: &UdpAddress) -> std::io::Result<()> {
    let options = &core.options;
    let hops = u32::try_from(options.multicast_hops).unwrap_or(0);
    match address.bind.ip() {
        IpAddr::V4(interface) => {
            sock.set_multicast_loop_v4(options.multicast_loop)?;
            if hops > 0 {
                sock.set_multicast_ttl_v4(hops)?;
            }
            if !interface.is_unspecified() {
                sock.set_multicast_if_v4(&interface)?;
            }
        }
        IpAddr::V6(_) => {
            sock.set_multicast_loop_v6(options.multicast_loop)?;
            if hops > 0 {
                sock.set_multicast_hops_v6(hops)?;
            }
            if let Some(index) = address.interface.filter(|&i| i > 0) {
                sock.set_multicast_if_v6(index)?;
            }
        }
    }
    Ok(())
}

fn connect_radio(core: &mut SocketCore, addr: &str) -> Result<()> {
    if core.kind != SocketType::RADIO {
        return Err(Error::IncompatibleProtocol(format!(
            "udp:// connects only a RADIO, not a {}",
            core.kind
        )));
    }
    let address = UdpAddress::resolve(addr, false, core.options.ipv6)?;
    let target = address.target;
    if target.ip().is_unspecified() || target.port() == 0 {
        return Err(Error::invalid(format!("cannot send udp to {target}")));
    }
    let sock = Socket::new(Domain::for_address(target), Type::DGRAM, Some(Protocol::UDP))?;
    if address.is_multicast() {
        configure_sender(&sock, core, &address)?;
    }
    // Sent to, not connected: a link-local IPv6 group takes no connect without a scope.
    let sock = UdpSocket::from(sock);
    let (ours, mut theirs) = pipe(hwm(core.options.sndhwm), hwm(core.options.rcvhwm));
    theirs.tx.send_one(Message::from(&[ALL_GROUPS][..]));
    let signal = Arc::new(Signal::default());
    theirs.set_owner(signal.clone());
    let id = core.ctx.next_endpoint_id();
    core.attach(ours, None, Some(id), PipeOrigin::Udp);
    let thread = spawn("libsock-udp-radio", move || send(sock, target, theirs, signal))?;
    let threads = UdpEndpoint { wake: None, threads: vec![thread] };
    register(core, id, addr, format!("udp://{target}"), threads, false);
    Ok(())
}

/// Records the endpoint (`unbind`/`disconnect` name it as given, or as `last_endpoint`
/// says) and makes it the last one.
fn register(
    core: &mut SocketCore,
    id: EndpointId,
    addr: &str,
    resolved: String,
    threads: UdpEndpoint,
    bound: bool,
) {
    core.last_endpoint = resolved.clone();
    core.endpoints.push(EndpointRec {
        id,
        requested: format!("udp://{addr}"),
        resolved,
        kind: EndpointKind::Udp { threads, bound },
    });
}

fn hwm(v: i32) -> u64 {
    v.max(0) as u64
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    Ok(std::thread::Builder::new().name(name.into()).spawn(move || {
        crate::sys::block_signals();
        f()
    })?)
}

/// The threads serving one udp endpoint, and a handle on the socket that the receiving
/// one waits in, so that closing the socket ends them at once.
pub(crate) struct UdpEndpoint {
    wake: Option<UdpSocket>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpEndpoint {
    /// Ends the threads, once the socket's pipes to them are closed: a receive blocked in
    /// the udp socket returns (SHUT_RD wakes it), a sender was woken by the pipe's close
    /// and sends what it had to. When this returns the port is free again, as it is when
    /// libzmq's I/O thread has closed the engine.
    pub(crate) fn close(self) {
        if let Some(wake) = self.wake {
            // On an unbound-to-peer udp socket Linux answers ENOTCONN but still wakes it.
            let _ = SockRef::from(&wake).shutdown(std::net::Shutdown::Read);
        }
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// RADIO side: every message the socket queues (group frame, body frame) becomes a datagram.
fn send(sock: UdpSocket, target: SocketAddr, mut end: PipeEnd, signal: Arc<Signal>) {
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
            if let Err(e) = sock.send_to(&datagram, target) {
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
