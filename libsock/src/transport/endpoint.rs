//! Endpoint strings: `tcp://host:port`, `ipc://path`, `inproc://name`, `ws://host:port/path`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use crate::error::{Error, Result};

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `tcp://host:port`, or `tcp://source;host:port` to connect from a given local address
    /// (zmq_tcp(7)). `host` is `*`, an IP literal (IPv6 best in brackets) or a name;
    /// `port` 0 (or `*`) asks for an ephemeral port when binding.
    Tcp {
        /// The host part as written, brackets removed.
        host: String,
        /// The port, 0 for "any".
        port: u16,
        /// The local `(host, port)` a connect binds to first: `host` is `*`, an IP literal, an
        /// interface name or a host name; port 0 (or `*`) lets the kernel choose.
        source: Option<(String, u16)>,
    },
    /// `ipc://path`; `*` asks for a fresh unique path; a leading `@` names an abstract socket.
    Ipc(String),
    /// `ws://host:port/path` (or `wss://`, over TLS): ZMTP over WebSocket (ZWS 2.0, libzmq's `ws://`), host and port
    /// as tcp's; the path (default `/`) is what a connect asks for (a listener takes any).
    Ws {
        /// The host part as written, brackets removed.
        host: String,
        /// The port, 0 for "any".
        port: u16,
        /// The request path, `/` at least.
        path: String,
        /// `wss://`: TLS under the WebSocket.
        tls: bool,
    },
    /// `inproc://name`, within one context.
    Inproc(String),
}

impl Endpoint {
    /// Parses an endpoint string, for a bind or a connect, rejecting malformed ones with a
    /// message saying why: a tcp port of 1-65535 (0 or `*`: any), a host of the characters
    /// an address, a name or `*` has.
    pub fn parse(s: &str) -> Result<Endpoint> {
        parse(s, Use::Either)
    }

    /// Parses an endpoint string for a connect: a tcp address passes libzmq's own check
    /// first (zmq_connect: the first character a letter, digit, `[` or `:`; a port that
    /// starts with a digit) and then [`Endpoint::parse`]'s stricter one, so that a bad
    /// endpoint fails at the call, not at every dial.
    pub(crate) fn parse_connect(s: &str) -> Result<Endpoint> {
        parse(s, Use::Connect)
    }

    /// Parses an endpoint string for a bind: as libzmq's, only a tcp address without a
    /// `:port` or with a bad port is `EINVAL`; a host that is no address is left for
    /// [`Endpoint::bind_addr`] (`ENODEV`), and a source part (`src;host:port`) is parsed
    /// as a bind address and then of no use.
    pub(crate) fn parse_bind(s: &str) -> Result<Endpoint> {
        parse(s, Use::Bind)
    }

    /// The address to bind: `*` means every interface (IPv6 dual-stack when `ipv6`); then an
    /// IP literal or, as zmq_tcp(3) allows, an interface name (`eth0`: its IPv4 address, or
    /// its IPv6 one when `ipv6`, as libzmq picks). A host name that resolves is accepted too
    /// (libzmq refuses names); anything else is `ENODEV`, as in libzmq, an IPv6 literal
    /// while `ipv6` is off included.
    pub(crate) fn bind_addr(host: &str, port: u16, ipv6: bool) -> Result<SocketAddr> {
        check_zone(host)?;
        if host == "*" {
            let ip = if ipv6 { IpAddr::V6(Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
            return Ok(SocketAddr::new(ip, port));
        }
        if host.parse::<IpAddr>().is_ok() {
            return resolve(host, port, ipv6).map_err(|_| no_such_device());
        }
        let nic = interface_addrs(host);
        if !nic.is_empty() {
            return match nic.into_iter().find(|ip| ip.is_ipv6() == ipv6) {
                Some(ip) => Ok(SocketAddr::new(ip, port)),
                None => Err(no_such_device()),
            };
        }
        resolve(host, port, ipv6).map_err(|_| no_such_device())
    }
}

/// Resolves `host` (a literal or a name) to one address, preferring IPv4 unless `ipv6`.
pub(crate) fn resolve(host: &str, port: u16, ipv6: bool) -> Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_ipv6() && !ipv6 {
            return Err(Error::invalid(format!("{host} is IPv6 but the IPV6 option is off")));
        }
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::invalid(format!("cannot resolve host {host:?}: {e}")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.iter().find(|_| ipv6))
        .copied()
        .ok_or_else(|| Error::invalid(format!("host {host:?} has no usable address")))
}

/// The `last_endpoint` form of a tcp endpoint naming one host and port (`tcp://localhost:5555`
/// → `tcp://127.0.0.1:5555`), as libzmq's `resolve_tcp_addr` tries for unbind; `None` for
/// anything else, wildcards included.
pub(crate) fn normalized_tcp(endpoint: &str, ipv6: bool) -> Option<String> {
    match Endpoint::parse(endpoint).ok()? {
        Endpoint::Tcp { host, port, .. } if host != "*" && port != 0 => {
            resolve(&host, port, ipv6).ok().map(tcp_text)
        }
        _ => None,
    }
}

/// The local address a connect binds to (`tcp://source;peer`), of the peer's family: `*` is
/// that family's wildcard; then an IP literal, an interface's address (as libzmq allows), or
/// a host name (which libzmq would refuse).
pub(crate) fn resolve_source(host: &str, port: u16, peer: SocketAddr) -> Result<SocketAddr> {
    let wanted = |ip: &IpAddr| ip.is_ipv6() == peer.is_ipv6();
    if host == "*" {
        let ip = match peer {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        return Ok(SocketAddr::new(ip, port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if let Some(ip) = interface_addrs(host).into_iter().find(wanted) {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::invalid(format!("cannot resolve source {host:?}: {e}")))?
        .find(|a| wanted(&a.ip()))
        .ok_or_else(|| Error::invalid(format!("source {host:?} has no address of the peer's family")))
}

/// `ENODEV`, libzmq's answer to a bind on a name that is no interface.
pub(crate) fn no_such_device() -> Error {
    Error::Io(std::io::Error::from_raw_os_error(libc::ENODEV))
}

/// The index of the network interface `name`, if there is one (udp multicast sources).
#[cfg(feature = "draft")]
pub(crate) fn interface_index(name: &str) -> Option<u32> {
    nix::net::if_::if_nametoindex(name).ok().filter(|&i| i != 0)
}

/// The IP addresses of the network interface `name` (none if there is no such interface).
pub(crate) fn interface_addrs(name: &str) -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    addrs
        .filter(|a| a.interface_name == name)
        .filter_map(|a| {
            let sa = a.address?;
            let v4 = sa.as_sockaddr_in().map(|s| IpAddr::V4(s.ip()));
            v4.or_else(|| sa.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
        })
        .collect()
}

/// Which call an endpoint is parsed for: their tcp rules differ, as libzmq's do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Connect,
    Bind,
    Either,
}

/// The transports libsock speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Ipc,
    Inproc,
    Ws,
    Wss,
}

/// The transport and address of an endpoint string, checked as libzmq's `parse_uri` and
/// `check_protocol` check them, the first checks of every bind, connect, unbind and
/// disconnect: no `://`, or nothing before or after it, is `EINVAL`; `udp://` is
/// `ENOCOMPATPROTO` (libzmq knows it, for RADIO, DISH and DGRAM only: the draft build's
/// `udp` module takes those first); any other transport `EPROTONOSUPPORT`.
pub(crate) fn split_uri(s: &str) -> Result<(Transport, &str)> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| Error::invalid(format!("endpoint {s:?} has no transport:// prefix")))?;
    if scheme.is_empty() || rest.is_empty() {
        return Err(Error::invalid(format!("endpoint {s:?} lacks a transport or an address")));
    }
    match scheme {
        "tcp" => Ok((Transport::Tcp, rest)),
        "ipc" => Ok((Transport::Ipc, rest)),
        "inproc" => Ok((Transport::Inproc, rest)),
        "ws" => Ok((Transport::Ws, rest)),
        "wss" => Ok((Transport::Wss, rest)),
        "udp" => {
            Err(Error::IncompatibleProtocol(format!("udp:// is for RADIO, DISH and DGRAM sockets ({s:?})")))
        }
        other => Err(Error::ProtocolNotSupported(format!("{other} (in {s:?})"))),
    }
}

fn parse(s: &str, usage: Use) -> Result<Endpoint> {
    Ok(match split_uri(s)? {
        (Transport::Tcp, rest) => parse_tcp(s, rest, usage)?,
        (Transport::Ipc, rest) => Endpoint::Ipc(rest.to_owned()),
        (Transport::Inproc, rest) => Endpoint::Inproc(rest.to_owned()),
        (transport @ (Transport::Ws | Transport::Wss), rest) => {
            let (authority, path) = match rest.split_once('/') {
                Some((a, p)) => (a, format!("/{p}")),
                None => (rest, "/".to_owned()),
            };
            let (host, port) = host_port(s, authority, usage)?;
            Endpoint::Ws { host, port, path, tls: transport == Transport::Wss }
        }
    })
}

fn parse_tcp(full: &str, rest: &str, usage: Use) -> Result<Endpoint> {
    if usage == Use::Connect && !passes_libzmq_connect_check(rest) {
        return Err(Error::invalid(format!("bad tcp endpoint {full:?}")));
    }
    // As libzmq's tcp_address_t: the last ';' separates a source address from the peer's.
    let (source, dest) = match rest.rsplit_once(';') {
        Some((src, dst)) => (Some(host_port(full, src, usage)?), dst),
        None => (None, rest),
    };
    let (host, port) = host_port(full, dest, usage)?;
    Ok(Endpoint::Tcp { host, port, source })
}

/// libzmq's quick check of a tcp address in `zmq_connect` (`socket_base_t::connect`): a
/// letter, digit, `[` or `:` first, then those and `.-%;]_*` only, and a port (after the
/// last `:`) that starts with a digit.
fn passes_libzmq_connect_check(address: &str) -> bool {
    let bytes = address.as_bytes();
    let first = bytes.first().is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'[' || c == b':');
    let rest = bytes.iter().skip(1).all(|&c| c.is_ascii_alphanumeric() || b".-:%;[]_*".contains(&c));
    let port = address.rsplit_once(':').is_some_and(|(_, p)| p.starts_with(|c: char| c.is_ascii_digit()));
    first && rest && port
}

/// `host:port`, as libzmq's `ip_resolver_t` splits it: at the last ':', then the host's
/// brackets (if any) removed, so an unbracketed IPv6 literal (`::1:5555`) reads as libzmq
/// reads it. The port is 1-65535, or 0 or `*` for any (libzmq also takes what `atoi` makes
/// a port of: `99999` binds 34463; libsock refuses it). For a bind the host is anything, for
/// `bind_addr` to answer; otherwise it may hold only letters, digits and `.-:%_*`.
fn host_port(full: &str, part: &str, usage: Use) -> Result<(String, u16)> {
    let bad = |why: &str| Error::invalid(format!("bad tcp endpoint {full:?}: {why}"));
    let (host, port) = part.rsplit_once(':').ok_or_else(|| bad("expected host:port"))?;
    let port = match port {
        "*" | "0" => 0,
        p => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("port must be 1-65535, 0 or *"))?,
    };
    if usage == Use::Bind {
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        return Ok((host.to_owned(), port));
    }
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']').ok_or_else(|| bad("unclosed '['"))?,
        None => host,
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:%_*".contains(c)) {
        return Err(bad("the host has characters no address or name has"));
    }
    Ok((host.to_owned(), port))
}

/// A bind host's zone (`fe80::1%eth0`, RFC 4007) as libzmq's resolver checks it: empty,
/// 0 or an interface that does not exist is `EINVAL`. (libsock binds no scoped address:
/// such a host then fails as any other that is no address.)
fn check_zone(host: &str) -> Result<()> {
    let Some((_, zone)) = host.rsplit_once('%') else { return Ok(()) };
    let known = match zone.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => nix::net::if_::if_nametoindex(zone).is_ok_and(|i| i != 0),
        // atoi: the leading digits, 0 if none.
        Some(_) => zone
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse::<u32>()
            .is_ok_and(|z| z != 0),
        None => false,
    };
    match known {
        true => Ok(()),
        false => Err(Error::invalid(format!("no interface {zone:?} for the address {host:?}"))),
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port, source } => {
                f.write_str("tcp://")?;
                if let Some((shost, sport)) = source {
                    write_host_port(f, shost, *sport)?;
                    f.write_str(";")?;
                }
                write_host_port(f, host, *port)
            }
            Endpoint::Ipc(p) => write!(f, "ipc://{p}"),
            Endpoint::Ws { host, port, path, tls } => {
                f.write_str(if *tls { "wss://" } else { "ws://" })?;
                write_host_port(f, host, *port)?;
                f.write_str(path)
            }
            Endpoint::Inproc(n) => write!(f, "inproc://{n}"),
        }
    }
}

fn write_host_port(f: &mut fmt::Formatter<'_>, host: &str, port: u16) -> fmt::Result {
    match host.contains(':') {
        true => write!(f, "[{host}]:{port}"),
        false => write!(f, "{host}:{port}"),
    }
}

/// The text form of a bound tcp address, as `last_endpoint` reports it.
pub(crate) fn tcp_text(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("tcp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_transport() {
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:5555").unwrap(),
            Endpoint::Tcp { host: "127.0.0.1".into(), port: 5555, source: None }
        );
        let tcp = |host: &str, port| Endpoint::Tcp { host: host.into(), port, source: None };
        assert_eq!(Endpoint::parse("tcp://*:*").unwrap(), tcp("*", 0));
        assert_eq!(Endpoint::parse("tcp://[::1]:0").unwrap(), tcp("::1", 0));
        // libzmq splits at the last ':': an unbracketed IPv6 literal still reads.
        assert_eq!(Endpoint::parse("tcp://::1:5").unwrap(), tcp("::1", 5));
        assert_eq!(Endpoint::parse("ipc:///tmp/x").unwrap(), Endpoint::Ipc("/tmp/x".into()));
        assert_eq!(Endpoint::parse("inproc://a").unwrap(), Endpoint::Inproc("a".into()));
    }

    #[test]
    fn rejects_malformed_endpoints() {
        for bad in [
            "",
            "tcp://",
            "tcp://host",
            "tcp://:5",
            "tcp://h:99999",
            "tcp://in val id:5",
            "tcp://h:invalid",
            "tcp://h:5;",
            "tcp://;h:5",
            "ipc://",
            "inproc://",
        ] {
            assert!(matches!(Endpoint::parse(bad), Err(Error::InvalidArgument(_))), "{bad}");
        }
        // libzmq's own check of a connect address: the first character, a port that
        // starts with a digit.
        for bad in ["tcp://-host:5", "tcp://.x:5", "tcp://_x:5", "tcp://h:+5", "tcp://*:5"] {
            assert!(matches!(Endpoint::parse_connect(bad), Err(Error::InvalidArgument(_))), "{bad}");
            assert!(Endpoint::parse_bind(bad).is_ok(), "{bad}");
        }
        assert!(Endpoint::parse_connect("tcp://127.0.0.1:0;h-1:5").is_ok());
        assert!(matches!(Endpoint::parse("udp://x:1"), Err(Error::IncompatibleProtocol(_))));
        assert!(matches!(Endpoint::parse("foo://x:1"), Err(Error::ProtocolNotSupported(_))));
        // Nothing before or after "://" is EINVAL before the transport is looked at.
        for bad in ["://x:1", "foo://", "inproc://"] {
            assert!(matches!(Endpoint::parse(bad), Err(Error::InvalidArgument(_))), "{bad}");
        }
        assert!(Endpoint::parse(&format!("inproc://{}", "n".repeat(300))).is_ok());
    }

    #[test]
    fn bind_hosts_are_left_to_bind_addr() {
        let bind_host = |s: &str| match Endpoint::parse_bind(s) {
            Ok(Endpoint::Tcp { host, .. }) => host,
            other => panic!("{s}: {other:?}"),
        };
        // As libzmq's bind: anything goes as a host (ENODEV later), brackets only in pairs.
        assert_eq!(bind_host("tcp://[::1:5"), "[::1");
        assert_eq!(bind_host("tcp://:5"), "");
        assert_eq!(bind_host("tcp://host name:5"), "host name");
        assert_eq!(bind_host("tcp://[::1]:5"), "::1");
        assert!(matches!(Endpoint::parse_bind("tcp://127.0.0.1:0;127.0.0.1:*"), Ok(Endpoint::Tcp { .. })));
        // The port is still checked: EINVAL.
        for bad in ["tcp://host", "tcp://h:99999", "tcp://h:x"] {
            assert!(matches!(Endpoint::parse_bind(bad), Err(Error::InvalidArgument(_))), "{bad}");
        }
        for host in ["", "[::1", "host name", "::1", "#"] {
            assert_eq!(Endpoint::bind_addr(host, 0, false).unwrap_err().to_raw(), libc::ENODEV, "{host:?}");
        }
        // A zone that names no interface is EINVAL, one that does leaves the host to fail.
        assert!(matches!(Endpoint::bind_addr("fe80::1%", 0, false), Err(Error::InvalidArgument(_))));
        assert!(matches!(
            Endpoint::bind_addr("fe80::1%nosuchnic0", 0, false),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(Endpoint::bind_addr("fe80::1%lo", 0, false).unwrap_err().to_raw(), libc::ENODEV);
    }

    #[test]
    fn parses_source_addresses() {
        let ep = Endpoint::parse("tcp://127.0.0.1:0;localhost:1234").unwrap();
        let want =
            Endpoint::Tcp { host: "localhost".into(), port: 1234, source: Some(("127.0.0.1".into(), 0)) };
        assert_eq!(ep, want);
        assert_eq!(ep.to_string(), "tcp://127.0.0.1:0;localhost:1234");
        let ep = Endpoint::parse("tcp://[::1]:*;[::1]:5").unwrap();
        assert_eq!(ep.to_string(), "tcp://[::1]:0;[::1]:5");
        assert!(Endpoint::parse("tcp://lo:5555;localhost:1235").is_ok());
    }

    #[test]
    fn resolves_names_and_wildcards() {
        assert_eq!(Endpoint::bind_addr("*", 0, false).unwrap().to_string(), "0.0.0.0:0");
        assert_eq!(Endpoint::bind_addr("*", 1, true).unwrap().to_string(), "[::]:1");
        // An interface name, as zmq_tcp(3) allows; an unknown one is ENODEV.
        assert_eq!(Endpoint::bind_addr("lo", 7, false).unwrap().to_string(), "127.0.0.1:7");
        let unknown = Endpoint::bind_addr("no-such-nic0", 7, false).unwrap_err();
        assert_eq!(unknown.to_raw(), libc::ENODEV);
        assert!(resolve("localhost", 80, false).unwrap().ip().is_loopback());
        assert!(resolve("::1", 80, false).is_err());
        let v4: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let v6: SocketAddr = "[::1]:9".parse().unwrap();
        assert_eq!(resolve_source("*", 0, v4).unwrap().to_string(), "0.0.0.0:0");
        assert_eq!(resolve_source("*", 7, v6).unwrap().to_string(), "[::]:7");
        assert_eq!(resolve_source("lo", 5, v4).unwrap().to_string(), "127.0.0.1:5");
        assert!(resolve_source("localhost", 0, v4).unwrap().ip().is_loopback());
        assert_eq!(tcp_text("[::1]:5".parse().unwrap()), "tcp://[::1]:5");
    }
}
