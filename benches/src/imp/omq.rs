//! ØMQ.rs (crate `omq-tokio`) through its blocking API: `Context::new()` owns one tokio I/O
//! thread (like libzmq's one I/O thread); `blocking::Socket::send`/`recv` run on the calling
//! thread and only park when they must, which is the library's own fast path for sync callers.

use std::time::Duration;

use anyhow::Result;
use omq_tokio::{blocking, Context, Message, Options, SocketType};

use crate::workload::{Lib, Recvd, Role, Sock, SockOpts};

/// Linger for benchmark sockets (ØMQ.rs defaults to 0, libzmq to forever).
const LINGER: Duration = Duration::from_millis(1000);

/// An ØMQ.rs context.
pub struct Omq {
    ctx: Context,
}

/// An ØMQ.rs blocking socket.
pub struct OmqSock {
    s: blocking::Socket,
    recv_timeout: Option<Duration>,
}

impl Lib for Omq {
    type Sock = OmqSock;

    fn new() -> Result<Self> {
        Ok(Omq { ctx: Context::new() })
    }

    fn socket(&self, role: Role, opts: &SockOpts) -> Result<OmqSock> {
        let kind = match role {
            Role::Push => SocketType::Push,
            Role::Pull => SocketType::Pull,
            Role::LatServer => SocketType::Rep,
            Role::LatClient => SocketType::Req,
            Role::Pub => SocketType::Pub,
            Role::Sub => SocketType::Sub,
        };
        let mut o = Options::default().linger(LINGER);
        if let Some(hwm) = opts.hwm {
            let hwm = u32::try_from(hwm).unwrap_or(0);
            o = o.send_hwm(hwm).recv_hwm(hwm);
        }
        let s = self.ctx.blocking_socket(kind, o);
        if role == Role::Sub {
            s.subscribe(bytes::Bytes::new())?;
        }
        let recv_timeout =
            opts.recv_timeout_ms.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
        Ok(OmqSock { s, recv_timeout })
    }
}

fn first_part(m: &Message) -> Recvd {
    Recvd::of(m.part_slice(0).unwrap_or(&[]))
}

impl Sock for OmqSock {
    fn bind(&mut self, endpoint: &str) -> Result<String> {
        Ok(self.s.bind(endpoint)?.to_string())
    }

    fn connect(&mut self, endpoint: &str) -> Result<()> {
        Ok(self.s.connect(endpoint)?)
    }

    #[inline]
    fn send(&mut self, data: &[u8]) -> Result<()> {
        Ok(self.s.send(Message::from_slice(data))?)
    }

    #[inline]
    fn recv(&mut self) -> Result<Option<Recvd>> {
        let r = match self.recv_timeout {
            None => self.s.recv(),
            Some(t) => self.s.recv_timeout(t),
        };
        match r {
            Ok(m) => Ok(Some(first_part(&m))),
            Err(omq_tokio::Error::Timeout) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    #[inline]
    fn echo(&mut self) -> Result<usize> {
        let m = self.s.recv()?;
        let n = m.byte_len();
        self.s.send(m)?;
        Ok(n)
    }
}
