//! The `wire` family's peer: a raw tcp connection, nonblocking, and what it read.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The peer: a raw tcp connection and what it has read since the last step.
pub struct Peer {
    pub stream: TcpStream,
    pub read: Vec<u8>,
    /// The library hung up (end of stream or reset).
    pub closed: bool,
}

impl Peer {
    pub fn connect(endpoint: &str) -> Peer {
        let address = endpoint.strip_prefix("tcp://").expect("a tcp endpoint");
        let stream = TcpStream::connect(address).expect("peer connects");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        Peer { stream, read: Vec::new(), closed: false }
    }

    /// The connection the library dials to `listener`, taken within 3 s.
    pub fn accept(listener: &TcpListener) -> Peer {
        listener.set_nonblocking(true).expect("nonblocking listener");
        let deadline = Instant::now() + Duration::from_secs(3);
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("the library did not dial the peer: {e}"),
            }
        };
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        Peer { stream, read: Vec::new(), closed: false }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        let deadline = Instant::now() + Duration::from_secs(2);
        while !rest.is_empty() && Instant::now() < deadline {
            match self.stream.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(1)),
                // The library hung up: what it saw is in the report.
                Err(_) => return,
            }
        }
    }

    /// Reads what is there; says whether anything came (bytes or the end).
    pub fn poll(&mut self) -> bool {
        if self.closed {
            return false;
        }
        let mut buf = [0u8; 4096];
        let before = self.read.len();
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.closed = true;
                    return true;
                }
                Ok(n) => self.read.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return self.read.len() > before,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    return true;
                }
            }
        }
    }
}
