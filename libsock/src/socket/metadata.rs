//! Draft `ZMQ_METADATA`: application properties (`X-Name:value`) a socket announces in its
//! handshake (NULL's READY, PLAIN's and CURVE's INITIATE/READY), after Socket-Type and
//! Identity. The peer reads them on every message from this connection with
//! `Message::gets("X-Name")` (`zmq_msg_gets`), as libzmq does.

use bytes::Bytes;

use super::{Socket, SocketCore};
use crate::codec::properties::encode_property;
use crate::error::{Error, Result};

impl Socket {
    /// ZMQ_METADATA (draft, write-only): adds the property `X-Name:value` to what this socket
    /// announces on connections made or accepted afterwards. As in libzmq the name must start
    /// with `X-` and be at most 255 bytes, name and value must not be empty, and setting a
    /// name a second time keeps the first value. Anything else is `EINVAL`.
    pub fn set_metadata(&self, property: &[u8]) -> Result<()> {
        let (name, value) = parse(property)?;
        let mut core = self.core();
        if !core.app_metadata.iter().any(|(n, _)| *n == name) {
            core.app_metadata.push((name, value.to_vec()));
        }
        Ok(())
    }
}

/// Splits `X-Name:value` at its first colon and checks it as libzmq's `options.cpp` does.
fn parse(property: &[u8]) -> Result<(String, &[u8])> {
    let bad = || Error::invalid("METADATA takes \"X-Name:value\" (name up to 255 bytes)");
    let colon = property.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let (name, value) = (&property[..colon], &property[colon + 1..]);
    if name.is_empty() || value.is_empty() || !name.starts_with(b"X-") || name.len() > 255 {
        return Err(bad());
    }
    let name = std::str::from_utf8(name).map_err(|_| bad())?;
    Ok((name.to_owned(), value))
}

impl SocketCore {
    /// The ZMQ_METADATA properties, encoded for the handshake (empty when none were set).
    pub(super) fn app_metadata_encoded(&self) -> Bytes {
        let mut out = Vec::new();
        for (name, value) in &self.app_metadata {
            encode_property(&mut out, name, value);
        }
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn properties_are_checked_as_libzmq_does() {
        assert_eq!(parse(b"X-Colour:blue").unwrap(), ("X-Colour".to_string(), &b"blue"[..]));
        assert_eq!(parse(b"X-Url:tcp://a:1").unwrap().1, b"tcp://a:1");
        for bad in [&b"Colour:blue"[..], b"X-Colour", b"X-Colour:", b":blue", b"", b"x-low:1"] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let long = [b"X-".to_vec(), vec![b'a'; 254], b":v".to_vec()].concat();
        assert!(parse(&long).is_err());
    }
}
