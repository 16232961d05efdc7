//! TCP_ACCEPT_FILTER: which peer addresses a tcp listener accepts (IPv4/IPv6 CIDR).

use std::net::IpAddr;

use crate::error::{Error, Result};

/// One allowed network: an address and a prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpFilter {
    net: IpAddr,
    prefix: u8,
}

impl IpFilter {
    /// Parses `"10.0.0.0/8"`, `"::1"` or `"127.0.0.1"` (a bare address matches only itself).
    /// A trailing NUL (C strings passed with their terminator) is ignored.
    pub(crate) fn parse(text: &[u8]) -> Result<IpFilter> {
        let text = text.strip_suffix(&[0]).unwrap_or(text);
        let bad =
            || Error::invalid(format!("TCP_ACCEPT_FILTER: not a CIDR: {:?}", String::from_utf8_lossy(text)));
        let text = std::str::from_utf8(text).map_err(|_| bad())?;
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(IpFilter { net, prefix })
    }

    fn matches(&self, peer: IpAddr) -> bool {
        let peer = match (self.net, peer) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            _ => peer,
        };
        match (self.net, peer) {
            (IpAddr::V4(n), IpAddr::V4(p)) => prefix_eq(&n.octets(), &p.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(p)) => prefix_eq(&n.octets(), &p.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (bits as usize / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// Whether `peer` may connect: no filters, or one that matches.
pub(crate) fn allows(filters: &[IpFilter], peer: IpAddr) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.matches(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matching() {
        let f = [IpFilter::parse(b"10.1.0.0/16\0").unwrap(), IpFilter::parse(b"::1").unwrap()];
        assert!(allows(&f, "10.1.200.3".parse().unwrap()));
        assert!(!allows(&f, "10.2.0.1".parse().unwrap()));
        assert!(allows(&f, "::1".parse().unwrap()));
        assert!(allows(&f, "::ffff:10.1.0.9".parse().unwrap()), "IPv4-mapped peers match v4 nets");
        assert!(allows(&[], "1.2.3.4".parse().unwrap()));
        let odd = [IpFilter::parse(b"192.168.1.128/25").unwrap()];
        assert!(allows(&odd, "192.168.1.200".parse().unwrap()));
        assert!(!allows(&odd, "192.168.1.100".parse().unwrap()));
        assert!(IpFilter::parse(b"10.0.0.0/33").is_err());
        assert!(IpFilter::parse(b"nonsense").is_err());
    }
}
