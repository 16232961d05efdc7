//! Runs a [`Socks5`] handshake over a dialed stream until the tunnel is up.

use std::io::{self, Read, Write};

use crate::transport::socks::Socks5;
use crate::transport::Stream;

/// Writes and reads what the handshake needs now. `Ok(Some(rest))` once the proxy connected
/// us (`rest`: bytes from the target that came with its reply); `Ok(None)` to wait for I/O.
pub(crate) fn drive(socks: &mut Socks5, stream: &mut Stream) -> io::Result<Option<Vec<u8>>> {
    let mut buf = [0u8; 512];
    loop {
        while !socks.output().is_empty() {
            match stream.write(socks.output()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => socks.sent(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the SOCKS proxy hung up")),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match socks.received(&buf[..n]) {
            Ok(Some(rest)) => return Ok(Some(rest)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("SOCKS proxy: {e}");
                return Err(io::Error::other(e));
            }
        }
    }
}
