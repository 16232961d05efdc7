//! Endpoint strings: `tcp://host:port`, `ipc://path`, `inproc://name`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use crate::error::{Error, Result};

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `tcp://host:port`. `host` is `*`, an IP literal (IPv6 in brackets) or a name;
    /// `port` 0 (or `*`) asks for an ephemeral port when binding.
    Tcp {
        /// The host part as written, brackets removed.
        host: String,
        /// The port, 0 for "any".
        port: u16,
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

    /// The address to bind: `*` means every interface (IPv6 dual-stack when `ipv6`).
    pub(crate) fn bind_addr(host: &str, port: u16, ipv6: bool) -> Result<SocketAddr> {
        if host == "*" {
            let ip = if ipv6 { IpAddr::V6(Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
            return Ok(SocketAddr::new(ip, port));
        }
        resolve(host, port, ipv6)
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

fn parse_tcp(full: &str, rest: &str) -> Result<Endpoint> {
    let bad = |why: &str| Error::invalid(format!("bad tcp endpoint {full:?}: {why}"));
    // A source address (`tcp://src;dst`) is not supported.
    if rest.contains(';') {
        return Err(bad("source addresses are not supported"));
    }
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("expected host:port"))?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']').ok_or_else(|| bad("unclosed '['"))?,
        None if host.contains(':') => return Err(bad("IPv6 addresses go in brackets")),
        None => host,
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    let port = match port {
        "*" | "0" => 0,
        p => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("port must be 1-65535, 0 or *"))?,
    };
    Ok(Endpoint::Tcp { host: host.to_owned(), port })
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Ipc(p) => write!(f, "ipc://{p}"),
            Endpoint::Inproc(n) => write!(f, "inproc://{n}"),
        }
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
            Endpoint::Tcp { host: "127.0.0.1".into(), port: 5555 }
        );
        assert_eq!(Endpoint::parse("tcp://*:*").unwrap(), Endpoint::Tcp { host: "*".into(), port: 0 });
        assert_eq!(Endpoint::parse("tcp://[::1]:0").unwrap(), Endpoint::Tcp { host: "::1".into(), port: 0 });
        assert_eq!(Endpoint::parse("ipc:///tmp/x").unwrap(), Endpoint::Ipc("/tmp/x".into()));
        assert_eq!(Endpoint::parse("inproc://a").unwrap(), Endpoint::Inproc("a".into()));
    }

    #[test]
    fn rejects_malformed_endpoints() {
        for bad in
            ["", "tcp://", "tcp://host", "tcp://:5", "tcp://h:99999", "tcp://::1:5", "ipc://", "inproc://"]
        {
            assert!(matches!(Endpoint::parse(bad), Err(Error::InvalidArgument(_))), "{bad}");
        }
        assert!(matches!(Endpoint::parse("udp://x:1"), Err(Error::ProtocolNotSupported(_))));
    }

    #[test]
    fn resolves_names_and_wildcards() {
        assert_eq!(Endpoint::bind_addr("*", 0, false).unwrap().to_string(), "0.0.0.0:0");
        assert_eq!(Endpoint::bind_addr("*", 1, true).unwrap().to_string(), "[::]:1");
        assert!(resolve("localhost", 80, false).unwrap().ip().is_loopback());
        assert!(resolve("::1", 80, false).is_err());
        assert_eq!(tcp_text("[::1]:5".parse().unwrap()), "tcp://[::1]:5");
    }
}
