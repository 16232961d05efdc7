//! SOCKS5 CONNECT through a proxy (RFC 1928, username/password per RFC 1929), as libzmq does
//! for SOCKS_PROXY: a sans-I/O client the dialing connection feeds bytes to before ZMTP.
//!
//! The target host goes to the proxy by name unless it is an IP literal, so the proxy
//! resolves it (as libzmq does).

use std::net::IpAddr;

/// Where a connect through a proxy goes.
#[derive(Debug, Clone)]
pub(crate) struct SocksTarget {
    /// SOCKS_PROXY (`host:port`, or `source;host:port`), resolved at each dial.
    pub proxy: super::tcp::TcpTarget,
    pub host: String,
    pub port: u16,
    /// SOCKS_USERNAME / SOCKS_PASSWORD; `None` offers only "no authentication".
    pub auth: Option<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Method,
    Auth,
    Connect,
    Done,
}

/// The client side of one SOCKS5 handshake.
pub(crate) struct Socks5 {
    target: SocksTarget,
    state: State,
    out: Vec<u8>,
    inbuf: Vec<u8>,
}

/// Why a proxy handshake failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SocksError {
    #[error("the SOCKS proxy sent a malformed reply")]
    Malformed,
    #[error("the SOCKS proxy accepts none of our authentication methods")]
    NoMethod,
    #[error("the SOCKS proxy rejected our username/password")]
    AuthFailed,
    #[error("the SOCKS proxy could not connect (reply code {0})")]
    Refused(u8),
    #[error("the SOCKS target host name is longer than 255 bytes")]
    NameTooLong,
}

impl Socks5 {
    /// Starts a handshake; the greeting is ready in [`Socks5::output`].
    pub(crate) fn new(target: SocksTarget) -> Socks5 {
        let out = match target.auth {
            Some(_) => vec![5, 2, 0, 2],
            None => vec![5, 1, 0],
        };
        Socks5 { target, state: State::Method, out, inbuf: Vec::new() }
    }

    /// Bytes to send to the proxy now.
    pub(crate) fn output(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`Socks5::output`] were sent.
    pub(crate) fn sent(&mut self, n: usize) {
        self.out.drain(..n);
    }

    /// Feeds bytes from the proxy. `Ok(Some(rest))` when the tunnel is up: `rest` is what
    /// arrived after the proxy's reply, already from the target.
    pub(crate) fn received(&mut self, bytes: &[u8]) -> Result<Option<Vec<u8>>, SocksError> {
        self.inbuf.extend_from_slice(bytes);
        loop {
            let used = match self.state {
                State::Method => self.on_method()?,
                State::Auth => self.on_auth()?,
                State::Connect => self.on_connect()?,
                State::Done => return Ok(Some(std::mem::take(&mut self.inbuf))),
            };
            match used {
                Some(n) => drop(self.inbuf.drain(..n)),
                None => return Ok(None),
            }
        }
    }

    /// Bytes received and not yet used (for the fuzz target's bound).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffered(&self) -> usize {
        self.inbuf.len()
    }

    fn on_method(&mut self) -> Result<Option<usize>, SocksError> {
        let [ver, method, ..] = self.inbuf[..] else { return Ok(None) };
        if ver != 5 {
            return Err(SocksError::Malformed);
        }
        match (method, &self.target.auth) {
            (0, _) => self.request_connect()?,
            (2, Some((user, pass))) => {
                if user.len() > 255 || pass.len() > 255 {
                    return Err(SocksError::AuthFailed);
                }
                self.out.extend_from_slice(&[1, user.len() as u8]);
                self.out.extend_from_slice(user);
                self.out.push(pass.len() as u8);
                self.out.extend_from_slice(pass);
                self.state = State::Auth;
            }
            _ => return Err(SocksError::NoMethod),
        }
        Ok(Some(2))
    }

    fn on_auth(&mut self) -> Result<Option<usize>, SocksError> {
        let [_, status, ..] = self.inbuf[..] else { return Ok(None) };
        if status != 0 {
            return Err(SocksError::AuthFailed);
        }
        self.request_connect()?;
        Ok(Some(2))
    }

    fn request_connect(&mut self) -> Result<(), SocksError> {
        self.out.extend_from_slice(&[5, 1, 0]);
        match self.target.host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                self.out.push(1);
                self.out.extend_from_slice(&ip.octets());
            }
            Ok(IpAddr::V6(ip)) => {
                self.out.push(4);
                self.out.extend_from_slice(&ip.octets());
            }
            Err(_) => {
                let name = self.target.host.as_bytes();
                let len = u8::try_from(name.len()).map_err(|_| SocksError::NameTooLong)?;
                self.out.extend_from_slice(&[3, len]);
                self.out.extend_from_slice(name);
            }
        }
        self.out.extend_from_slice(&self.target.port.to_be_bytes());
        self.state = State::Connect;
        Ok(())
    }

    fn on_connect(&mut self) -> Result<Option<usize>, SocksError> {
        let [ver, rep, _, atyp, ..] = self.inbuf[..] else { return Ok(None) };
        if ver != 5 {
            return Err(SocksError::Malformed);
        }
        if rep != 0 {
            return Err(SocksError::Refused(rep));
        }
        let addr_len = match atyp {
            1 => 4,
            4 => 16,
            3 => match self.inbuf.get(4) {
                Some(n) => 1 + *n as usize,
                None => return Ok(None),
            },
            _ => return Err(SocksError::Malformed),
        };
        let total = 4 + addr_len + 2;
        if self.inbuf.len() < total {
            return Ok(None);
        }
        self.state = State::Done;
        Ok(Some(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, auth: bool) -> SocksTarget {
        SocksTarget {
            proxy: crate::transport::tcp::TcpTarget {
                host: "127.0.0.1".into(),
                port: 1080,
                source: None,
                ipv6: false,
            },
            host: host.into(),
            port: 5555,
            auth: auth.then(|| (b"u".to_vec(), b"pw".to_vec())),
        }
    }

    #[test]
    fn handshake_with_auth_and_a_name_in_pieces() {
        let mut s = Socks5::new(target("example.org", true));
        assert_eq!(s.output(), [5, 2, 0, 2]);
        s.sent(4);
        assert_eq!(s.received(&[5]).unwrap(), None);
        assert_eq!(s.received(&[2]).unwrap(), None);
        assert_eq!(s.output(), [1, 1, b'u', 2, b'p', b'w']);
        s.sent(6);
        assert_eq!(s.received(&[1, 0]).unwrap(), None);
        let mut want = vec![5, 1, 0, 3, 11];
        want.extend_from_slice(b"example.org");
        want.extend_from_slice(&5555u16.to_be_bytes());
        assert_eq!(s.output(), want);
        // A domain-name reply, then the target's first bytes in the same read.
        let reply = [5, 0, 0, 3, 2, b'h', b'i', 0, 1, 0xff, 0];
        assert_eq!(s.received(&reply).unwrap(), Some(vec![0xff, 0]));
    }

    #[test]
    fn refusals_and_garbage_are_errors() {
        let mut s = Socks5::new(target("127.0.0.1", false));
        assert_eq!(s.received(&[5, 0]).unwrap(), None);
        assert_eq!(&s.output()[3..8], &[5, 1, 0, 1, 127][..]);
        assert_eq!(s.received(&[5, 5, 0, 1]), Err(SocksError::Refused(5)));
        let mut s = Socks5::new(target("::1", false));
        assert_eq!(s.received(&[5, 0xff]), Err(SocksError::NoMethod));
        let mut s = Socks5::new(target("x", false));
        assert_eq!(s.received(&[4, 0]), Err(SocksError::Malformed));
        let mut s = Socks5::new(target("x", true));
        s.received(&[5, 2]).unwrap();
        assert_eq!(s.received(&[1, 1]), Err(SocksError::AuthFailed));
    }
}
