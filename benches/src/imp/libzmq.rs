//! libzmq 4.3 through the `zmq` crate (the C library, built from source by `zeromq-src`).

use anyhow::{anyhow, Result};

use crate::workload::{Lib, Recvd, Role, Sock, SockOpts};

/// Linger for benchmark sockets: deliver what is queued, but never hang a run forever.
const LINGER_MS: i32 = 1000;

/// A libzmq context (one I/O thread, the default).
pub struct Libzmq {
    ctx: zmq::Context,
}

/// A libzmq socket and a reusable receive message.
pub struct LibzmqSock {
    s: zmq::Socket,
    msg: zmq::Message,
}

impl Lib for Libzmq {
    type Sock = LibzmqSock;

    fn new() -> Result<Self> {
        Ok(Libzmq { ctx: zmq::Context::new() })
    }

    fn socket(&self, role: Role, opts: &SockOpts) -> Result<LibzmqSock> {
        let kind = match role {
            Role::Push => zmq::PUSH,
            Role::Pull => zmq::PULL,
            Role::LatServer => zmq::REP,
            Role::LatClient => zmq::REQ,
            Role::Pub => zmq::PUB,
            Role::Sub => zmq::SUB,
        };
        let s = self.ctx.socket(kind)?;
        s.set_linger(LINGER_MS)?;
        if let Some(hwm) = opts.hwm {
            s.set_sndhwm(hwm)?;
            s.set_rcvhwm(hwm)?;
        }
        if let Some(ms) = opts.recv_timeout_ms {
            s.set_rcvtimeo(ms)?;
        }
        if let Some(bytes) = opts.bufs.sndbuf {
            s.set_sndbuf(bytes)?;
        }
        if let Some(bytes) = opts.bufs.rcvbuf {
            s.set_rcvbuf(bytes)?;
        }
        if role == Role::Sub {
            s.set_subscribe(b"")?;
        }
        Ok(LibzmqSock { s, msg: zmq::Message::new() })
    }
}

impl Sock for LibzmqSock {
    fn bind(&mut self, endpoint: &str) -> Result<String> {
        self.s.bind(endpoint)?;
        self.s.get_last_endpoint()?.map_err(|_| anyhow!("last endpoint is not UTF-8"))
    }

    fn connect(&mut self, endpoint: &str) -> Result<()> {
        Ok(self.s.connect(endpoint)?)
    }

    #[inline]
    fn send(&mut self, data: &[u8]) -> Result<()> {
        Ok(self.s.send(data, 0)?)
    }

    #[inline]
    fn recv(&mut self) -> Result<Option<Recvd>> {
        match self.s.recv(&mut self.msg, 0) {
            Ok(()) => Ok(Some(Recvd::of(&self.msg))),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    #[inline]
    fn echo(&mut self) -> Result<usize> {
        self.s.recv(&mut self.msg, 0)?;
        let n = self.msg.len();
        let msg = std::mem::replace(&mut self.msg, zmq::Message::new());
        self.s.send(msg, 0)?;
        Ok(n)
    }
}
