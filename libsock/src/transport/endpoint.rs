//! Endpoint strings: `tcp://host:port`, `ipc://path`, `inproc://name`.

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
    /// `inproc://name`, within one context.
    Inproc(String),
}

impl Endpoint {
    /// Parses an endpoint string, rejecting malformed ones with a message saying why.
    pub fn parse(s: &str) -> Result<Endpoint> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| Error::invalid(format!("endpoint {s:?} has no transport:// prefix")))?;
        match scheme {
            "tcp" => parse_tcp(s, rest),
            "ipc" if !rest.is_empty() => Ok(Endpoint::Ipc(rest.to_owned())),
            "inproc" if !rest.is_empty() && rest.len() <= 256 => Ok(Endpoint::Inproc(rest.to_owned())),
            "ipc" | "inproc" => Err(Error::invalid(format!("endpoint {s:?} has an empty or too long name"))),
            other => Err(Error::ProtocolNotSupported(format!("{other} (in {s:?})"))),
        }
    }

    /// The address to bind: `*` means every interface (IPv6 dual-stack when `ipv6`); then an
    /// IP literal or, as zmq_tcp(3) allows, an interface name (`eth0`: its IPv4 address, or
    /// its IPv6 one when `ipv6`, as libzmq picks). A host name that resolves is accepted too
    /// (libzmq refuses names); anything else is `ENODEV`, as in libzmq.
    pub(crate) fn bind_addr(host: &str, port: u16, ipv6: bool) -> Result<SocketAddr> {
        if host == "*" {
            let ip = if ipv6 { IpAddr::V6(Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
            return Ok(SocketAddr::new(ip, port));
        }
        if host.parse::<IpAddr>().is_ok() {
            return resolve(host, port, ipv6);
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
fn no_such_device() -> Error {
    Error::Io(std::io::Error::from_raw_os_error(libc::ENODEV))
}

/// The IP addresses of the network interface `name` (none if there is no such interface).
fn interface_addrs(name: &str) -> Vec<IpAddr> {
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

fn parse_tcp(full: &str, rest: &str) -> Result<Endpoint> {
    // As libzmq's tcp_address_t: the last ';' separates a source address from the peer's.
    let (source, dest) = match rest.rsplit_once(';') {
        Some((src, dst)) => (Some(host_port(full, src)?), dst),
        None => (None, rest),
    };
    let (host, port) = host_port(full, dest)?;
    Ok(Endpoint::Tcp { host, port, source })
}

/// `host:port`, as libzmq's `ip_resolver_t` splits it: at the last ':', then the host's
/// brackets (if any) removed, so an unbracketed IPv6 literal (`::1:5555`) reads as libzmq
/// reads it. The host may hold what libzmq's connect lets through: letters, digits and
/// `.-:%_[]*`.
fn host_port(full: &str, part: &str) -> Result<(String, u16)> {
    let bad = |why: &str| Error::invalid(format!("bad tcp endpoint {full:?}: {why}"));
    let (host, port) = part.rsplit_once(':').ok_or_else(|| bad("expected host:port"))?;
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
    let port = match port {
        "*" | "0" => 0,
        p => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("port must be 1-65535, 0 or *"))?,
    };
    Ok((host.to_owned(), port))
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
        assert!(matches!(Endpoint::parse("udp://x:1"), Err(Error::ProtocolNotSupported(_))));
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
