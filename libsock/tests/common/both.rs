//! One socket of either library, libsock or libzmq (4.3.4, through the `zmq` crate), behind
//! one interface, so that an interop scenario is written once and run with each library on
//! each side. Used by the interop test binaries (`interop_zmq`, `interop_family`), which add
//! what only they need in `impl Sock` blocks of their own.
//!
//! A binary that includes it (`#[path = "../common/both.rs"] mod both;`) defines
//! `TIMEO_MS`, the send and receive timeout of every socket it makes: LINGER 0 and those
//! timeouts make a failure fail instead of hanging.
#![allow(dead_code)]

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use libsock::SocketType;

use crate::common::{setup, socket};
use crate::TIMEO_MS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    Libsock,
    Libzmq,
}

impl Lib {
    pub fn other(self) -> Lib {
        match self {
            Lib::Libsock => Lib::Libzmq,
            Lib::Libzmq => Lib::Libsock,
        }
    }
}

/// The `zmq` crate's name for a socket type.
pub fn zmq_type(kind: SocketType) -> zmq::SocketType {
    match kind {
        SocketType::PAIR => zmq::PAIR,
        SocketType::PUB => zmq::PUB,
        SocketType::SUB => zmq::SUB,
        SocketType::REQ => zmq::REQ,
        SocketType::REP => zmq::REP,
        SocketType::DEALER => zmq::DEALER,
        SocketType::ROUTER => zmq::ROUTER,
        SocketType::PULL => zmq::PULL,
        SocketType::PUSH => zmq::PUSH,
        SocketType::XPUB => zmq::XPUB,
        SocketType::XSUB => zmq::XSUB,
        SocketType::STREAM => zmq::STREAM,
        other => unimplemented!("{other}"),
    }
}

/// Both libraries' contexts, plus the ipc paths to remove at the end.
pub struct World {
    pub ls: libsock::Context,
    pub z: zmq::Context,
    ipc_paths: RefCell<Vec<PathBuf>>,
}

impl World {
    pub fn new() -> World {
        setup();
        World { ls: libsock::Context::new(), z: zmq::Context::new(), ipc_paths: RefCell::new(Vec::new()) }
    }

    pub fn socket(&self, lib: Lib, kind: SocketType) -> Sock {
        let inner = match lib {
            Lib::Libsock => Inner::Ls(self.ls_socket(kind)),
            Lib::Libzmq => Inner::Z(self.z_socket(kind)),
        };
        Sock { kind, inner }
    }

    pub fn ls_socket(&self, kind: SocketType) -> libsock::Socket {
        let s = socket(&self.ls, kind);
        s.set_rcvtimeo(TIMEO_MS).unwrap();
        s.set_sndtimeo(TIMEO_MS).unwrap();
        s
    }

    pub fn z_socket(&self, kind: SocketType) -> zmq::Socket {
        let s = self.z.socket(zmq_type(kind)).unwrap();
        s.set_linger(0).unwrap();
        s.set_rcvtimeo(TIMEO_MS).unwrap();
        s.set_sndtimeo(TIMEO_MS).unwrap();
        s
    }

    /// An endpoint to bind: tcp on a free loopback port, or a fresh ipc path under the temp dir.
    pub fn bind_endpoint(&self, transport: &str) -> String {
        match transport {
            "tcp" => "tcp://127.0.0.1:*".to_string(),
            "ipc" => {
                static N: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "libsock-interop-{}-{}.ipc",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                let _ = std::fs::remove_file(&path);
                self.ipc_paths.borrow_mut().push(path.clone());
                format!("ipc://{}", path.display())
            }
            other => panic!("unknown transport {other}"),
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for p in self.ipc_paths.borrow().iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[allow(clippy::large_enum_variant)] // test helper; size does not matter
pub enum Inner {
    Ls(libsock::Socket),
    Z(zmq::Socket),
}

pub struct Sock {
    pub kind: SocketType,
    pub inner: Inner,
}

/// Why a send failed, in terms both libraries share.
#[derive(Debug)]
pub enum SendFail {
    Unreachable,
    Other(#[allow(dead_code)] String),
}

impl Sock {
    pub fn lib(&self) -> Lib {
        match self.inner {
            Inner::Ls(_) => Lib::Libsock,
            Inner::Z(_) => Lib::Libzmq,
        }
    }

    /// The library and socket type, for failure messages.
    pub fn label(&self) -> String {
        format!("{:?} {}", self.lib(), self.kind)
    }

    /// Binds on a fresh endpoint of `transport`; returns the endpoint to connect to.
    pub fn bind(&self, world: &World, transport: &str) -> String {
        let ep = world.bind_endpoint(transport);
        match &self.inner {
            Inner::Ls(s) => {
                s.bind(&ep).unwrap();
                s.get_last_endpoint().unwrap()
            }
            Inner::Z(s) => {
                s.bind(&ep).unwrap();
                if transport == "tcp" {
                    s.get_last_endpoint().unwrap().unwrap()
                } else {
                    ep
                }
            }
        }
    }

    pub fn connect(&self, ep: &str) {
        match &self.inner {
            Inner::Ls(s) => s.connect(ep).unwrap(),
            Inner::Z(s) => s.connect(ep).unwrap(),
        }
    }

    pub fn try_send_parts<T: AsRef<[u8]>>(&self, parts: &[T]) -> Result<(), SendFail> {
        let parts: Vec<Vec<u8>> = parts.iter().map(|p| p.as_ref().to_vec()).collect();
        match &self.inner {
            Inner::Ls(s) => s.send_multipart(parts, 0).map_err(|e| match e {
                libsock::Error::HostUnreachable => SendFail::Unreachable,
                e => SendFail::Other(format!("{e:?}")),
            }),
            Inner::Z(s) => s.send_multipart(parts, 0).map_err(|e| match e {
                zmq::Error::EHOSTUNREACH => SendFail::Unreachable,
                e => SendFail::Other(format!("{e:?}")),
            }),
        }
    }

    pub fn send_parts<T: AsRef<[u8]>>(&self, parts: &[T]) {
        if let Err(e) = self.try_send_parts(parts) {
            panic!("{} send failed: {e:?}", self.label());
        }
    }

    pub fn send(&self, data: impl AsRef<[u8]>) {
        self.send_parts(&[data.as_ref()]);
    }

    fn recv_flags(&self, dontwait: bool) -> Option<Vec<Vec<u8>>> {
        match &self.inner {
            Inner::Ls(s) => match s.recv_multipart(if dontwait { libsock::DONTWAIT } else { 0 }) {
                Ok(m) => Some(m),
                Err(libsock::Error::TimedOut | libsock::Error::WouldBlock) => None,
                Err(e) => panic!("libsock {} recv failed: {e:?}", self.kind),
            },
            Inner::Z(s) => match s.recv_multipart(if dontwait { zmq::DONTWAIT } else { 0 }) {
                Ok(m) => Some(m),
                Err(zmq::Error::EAGAIN) => None,
                Err(e) => panic!("libzmq {} recv failed: {e:?}", self.kind),
            },
        }
    }

    /// Receives one whole message, or `None` on timeout.
    pub fn try_recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        self.recv_flags(false)
    }

    /// Receives one whole message if one is there now.
    pub fn recv_nowait(&self) -> Option<Vec<Vec<u8>>> {
        self.recv_flags(true)
    }

    pub fn recv_parts(&self) -> Vec<Vec<u8>> {
        self.try_recv_parts().unwrap_or_else(|| panic!("{}: receive timed out", self.label()))
    }

    pub fn recv(&self) -> Vec<u8> {
        let mut parts = self.recv_parts();
        assert_eq!(parts.len(), 1, "{}: expected a single-frame message, got {parts:?}", self.label());
        parts.pop().unwrap()
    }

    pub fn set_rcvtimeo(&self, ms: i32) {
        match &self.inner {
            Inner::Ls(s) => s.set_rcvtimeo(ms).unwrap(),
            Inner::Z(s) => s.set_rcvtimeo(ms).unwrap(),
        }
    }

    /// The libsock socket (panics for a libzmq one).
    pub fn ls(&self) -> &libsock::Socket {
        match &self.inner {
            Inner::Ls(s) => s,
            Inner::Z(_) => panic!("{}: not a libsock socket", self.label()),
        }
    }

    /// The libzmq socket (panics for a libsock one).
    pub fn zmq(&self) -> &zmq::Socket {
        match &self.inner {
            Inner::Z(s) => s,
            Inner::Ls(_) => panic!("{}: not a libzmq socket", self.label()),
        }
    }
}

/// `n` bytes of a pattern that depends on `seed`, so misplaced bytes do not compare equal.
pub fn body(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + seed * 7) % 251) as u8).collect()
}

/// The frames as text, for failure messages.
pub fn show(parts: Vec<Vec<u8>>) -> Vec<String> {
    parts.into_iter().map(|p| String::from_utf8_lossy(&p).into_owned()).collect()
}
