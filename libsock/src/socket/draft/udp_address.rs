//! `udp://` addresses as libzmq's `udp_address_t::resolve` reads them:
//! `[source;]host:port`. A source (`*`, an IP literal or an interface name) is allowed only
//! before a multicast group, and names the interface the group is joined on (receiving) or
//! sent out of (sending). Without one, a multicast group is joined on, or sent out of, the
//! interface the kernel's routes pick.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use crate::error::{Error, Result};
use crate::transport::endpoint::{interface_addrs, interface_index, no_such_device};

/// A resolved `udp://` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UdpAddress {
    /// Where a receiving socket binds: the wildcard and the port for a multicast group (every
    /// socket on the port hears the group), the address itself for a unicast DISH or DGRAM.
    pub bind: SocketAddr,
    /// The target: the group, the peer a RADIO sends to, or a unicast receiver's address.
    pub target: SocketAddr,
    /// The interface a source names: `*` is 0 (the kernel's choice), an interface name its
    /// index; an IP literal names none (libzmq then cannot join an IPv6 group: ENODEV).
    pub interface: Option<u32>,
}

impl UdpAddress {
    /// Resolves `name` (after `udp://`) for a bind (`bind`) or a connect, with the socket's
    /// IPV6 option, as libzmq does: the same errors for the same strings (EINVAL for a
    /// source before a unicast target or a source that is a group, for a source and target
    /// of two families; ENODEV for a source that is no interface or IP, and for an IPv6
    /// group with an IP literal as its source).
    pub fn resolve(name: &str, bind: bool, ipv6: bool) -> Result<UdpAddress> {
        let (source, target) = match name.rsplit_once(';') {
            Some((source, target)) => (Some(source), target),
            None => (None, name),
        };
        let target = resolve_target(target, bind, ipv6)?;
        let multicast = target.ip().is_multicast();
        let (bind_addr, interface) = match source {
            Some(source) => {
                if !multicast {
                    return Err(Error::invalid(format!(
                        "udp address {name:?}: a source interface goes only before a multicast group"
                    )));
                }
                let (ip, interface) = resolve_source(source, target.ip(), ipv6)?;
                (SocketAddr::new(ip, target.port()), interface)
            }
            None if multicast || !bind => (SocketAddr::new(unspecified(target.ip()), target.port()), Some(0)),
            None => (target, None),
        };
        if bind_addr.is_ipv4() != target.is_ipv4() {
            return Err(Error::invalid(format!("udp address {name:?}: source and target of two families")));
        }
        if multicast && target.is_ipv6() && interface.is_none() {
            return Err(no_such_device());
        }
        Ok(UdpAddress { bind: bind_addr, target, interface })
    }

    /// The wildcard of the target's family, with its port: where a group's receiver binds.
    pub fn wildcard(&self) -> SocketAddr {
        SocketAddr::new(unspecified(self.target.ip()), self.target.port())
    }

    /// Whether the target is a multicast group.
    pub fn is_multicast(&self) -> bool {
        self.target.ip().is_multicast()
    }
}

/// `host:port`: `*` is the wildcard (IPv6 with the IPV6 option, dual stack), an interface
/// name its address when binding, anything else an IP literal or, as before, a name the
/// resolver knows.
fn resolve_target(addr: &str, bind: bool, ipv6: bool) -> Result<SocketAddr> {
    let any = if ipv6 { "[::]" } else { "0.0.0.0" };
    let addr = addr.replacen('*', any, 1);
    if bind {
        if let Some((host, port)) = addr.rsplit_once(':') {
            if let (Some(ip), Ok(port)) = (nic_address(host, ipv6), port.parse::<u16>()) {
                return Ok(SocketAddr::new(ip, port));
            }
        }
    }
    addr.to_socket_addrs()
        .map_err(|e| Error::invalid(format!("udp address {addr:?}: {e}")))?
        .next()
        .ok_or_else(|| Error::invalid(format!("udp address {addr:?} resolves to nothing")))
}

/// The source before `;`: its address and the interface it names.
fn resolve_source(source: &str, group: IpAddr, ipv6: bool) -> Result<(IpAddr, Option<u32>)> {
    if source == "*" {
        let any = if ipv6 { IpAddr::V6(Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
        return Ok((any, Some(0)));
    }
    let ip = match source.parse::<IpAddr>() {
        Ok(ip) => ip,
        // An interface: its address of the group's family (libzmq's NIC name lookup).
        Err(_) => interface_addrs(source)
            .into_iter()
            .find(|ip| ip.is_ipv4() == group.is_ipv4())
            .ok_or_else(no_such_device)?,
    };
    if ip.is_multicast() {
        return Err(Error::invalid(format!("udp source {source:?} is a multicast group")));
    }
    Ok((ip, interface_index(source)))
}

/// The address of interface `name` a bind takes (IPv4 first, IPv6 with the IPV6 option).
fn nic_address(name: &str, ipv6: bool) -> Option<IpAddr> {
    if name.parse::<IpAddr>().is_ok() || name.starts_with('[') {
        return None;
    }
    let addrs = interface_addrs(name);
    addrs.iter().find(|ip| ip.is_ipv4()).or_else(|| addrs.iter().find(|_| ipv6)).copied()
}

fn unspecified(like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(r: Result<UdpAddress>) -> i32 {
        r.expect_err("should fail").to_raw()
    }

    #[test]
    fn a_group_is_joined_on_the_wildcard_and_its_port() {
        let a = UdpAddress::resolve("226.8.5.5:5555", true, false).unwrap();
        assert_eq!(a.bind, "0.0.0.0:5555".parse().unwrap());
        assert_eq!(a.target, "226.8.5.5:5555".parse().unwrap());
        assert_eq!(a.interface, Some(0));
        assert!(a.is_multicast());
        let a = UdpAddress::resolve("[ff02::7a65:726f:6df1:a01]:5555", true, true).unwrap();
        assert_eq!(a.bind, "[::]:5555".parse().unwrap());
        assert_eq!(a.interface, Some(0));
    }

    #[test]
    fn a_source_names_the_interface_of_a_group() {
        let a = UdpAddress::resolve("127.0.0.1;239.1.2.3:6000", true, false).unwrap();
        assert_eq!(a.bind, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(a.interface, None);
        let a = UdpAddress::resolve("*;239.1.2.3:6000", false, false).unwrap();
        assert_eq!(a.bind, "0.0.0.0:6000".parse().unwrap());
        assert_eq!(a.interface, Some(0));
        // Every Linux machine has a loopback interface called lo.
        let a = UdpAddress::resolve("lo;239.1.2.3:6000", false, false).unwrap();
        assert_eq!(a.bind, "127.0.0.1:6000".parse().unwrap());
        assert!(matches!(a.interface, Some(i) if i > 0));
        let a = UdpAddress::resolve("lo;[ff02::1]:6000", true, true).unwrap();
        assert!(matches!(a.interface, Some(i) if i > 0));
    }

    #[test]
    fn unicast_keeps_libzmq_meaning_per_direction() {
        // A bind's unicast address is where it binds; a connect's is where it sends.
        let a = UdpAddress::resolve("127.0.0.1:7000", true, false).unwrap();
        assert_eq!(a.bind, "127.0.0.1:7000".parse().unwrap());
        assert!(!a.is_multicast());
        let a = UdpAddress::resolve("127.0.0.1:7000", false, false).unwrap();
        assert_eq!(a.bind, "0.0.0.0:7000".parse().unwrap());
        assert_eq!(a.target, "127.0.0.1:7000".parse().unwrap());
        let a = UdpAddress::resolve("*:7000", true, true).unwrap();
        assert_eq!(a.bind, "[::]:7000".parse().unwrap());
    }

    #[test]
    fn wrong_sources_fail_with_libzmq_errno() {
        // A source before a unicast target, a group as the source, two families.
        assert_eq!(errno(UdpAddress::resolve("127.0.0.1;127.0.0.2:7000", false, false)), libc::EINVAL);
        assert_eq!(errno(UdpAddress::resolve("239.0.0.1;239.0.0.2:7000", false, false)), libc::EINVAL);
        assert_eq!(errno(UdpAddress::resolve("*;[ff02::1]:7000", false, false)), libc::EINVAL);
        // No such interface; an IPv6 group needs an interface, not an address.
        assert_eq!(errno(UdpAddress::resolve("nosuchnic0;239.0.0.1:7000", false, false)), libc::ENODEV);
        assert_eq!(errno(UdpAddress::resolve("::1;[ff02::1]:7000", true, true)), libc::ENODEV);
    }
}
