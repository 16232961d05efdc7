//! libsock, through its public API.

use anyhow::Result;
use libsock::{Context, Message, Socket, SocketType};

use crate::workload::{Lib, Recvd, Role, Sock, SockOpts};

/// The latency pattern's socket types, `(server, client)`: REP and REQ, as in libzmq's
/// `local_lat`/`remote_lat`.
///
/// Before libsock had REQ/REP this was `(libsock::PAIR, libsock::PAIR)` (the same bodies in
/// the same strict ping-pong, one delimiter frame fewer); tables print a caveat whenever it is
/// PAIR again.
pub const LAT_TYPES: (SocketType, SocketType) = (libsock::REP, libsock::REQ);

/// Whether [`LAT_TYPES`] is the PAIR stand-in (printed as a caveat in tables).
pub fn lat_uses_pair() -> bool {
    LAT_TYPES.0 == libsock::PAIR
}

/// `LIBSOCK_BENCH_BUSY_POLL_US=<µs>` sets libsock's opt-in BUSY_POLL_US on every benchmark
/// socket (off by default), to measure what spinning buys in latency and costs in CPU.
fn busy_poll_us() -> Option<i32> {
    std::env::var("LIBSOCK_BENCH_BUSY_POLL_US").ok()?.parse().ok()
}

/// Linger for benchmark sockets: deliver what is queued, but never hang a run forever.
const LINGER_MS: i32 = 1000;

/// A libsock context.
pub struct Libsock {
    ctx: Context,
}

/// A libsock socket.
pub struct LibsockSock {
    s: Socket,
}

impl Lib for Libsock {
    type Sock = LibsockSock;

    fn new() -> Result<Self> {
        Ok(Libsock { ctx: Context::new() })
    }

    fn socket(&self, role: Role, opts: &SockOpts) -> Result<LibsockSock> {
        let kind = match role {
            Role::Push => libsock::PUSH,
            Role::Pull => libsock::PULL,
            Role::LatServer => LAT_TYPES.0,
            Role::LatClient => LAT_TYPES.1,
            Role::Pub => libsock::PUB,
            Role::Sub => libsock::SUB,
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
        if let Some(us) = busy_poll_us() {
            s.set_busy_poll_us(us)?;
        }
        Ok(LibsockSock { s })
    }
}

impl Sock for LibsockSock {
    fn bind(&mut self, endpoint: &str) -> Result<String> {
        crate::perf::wss_bind(&self.s, endpoint);
        self.s.bind(endpoint)?;
        Ok(self.s.get_last_endpoint()?)
    }

    fn connect(&mut self, endpoint: &str) -> Result<()> {
        crate::perf::wss_connect(&self.s, endpoint);
        Ok(self.s.connect(endpoint)?)
    }

    #[inline]
    fn send(&mut self, data: &[u8]) -> Result<()> {
        Ok(self.s.send(data, 0)?)
    }

    #[inline]
    fn recv(&mut self) -> Result<Option<Recvd>> {
        match self.s.recv_msg(0) {
            Ok(m) => Ok(Some(Recvd::of(&m))),
            Err(libsock::Error::WouldBlock | libsock::Error::TimedOut) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    #[inline]
    fn echo(&mut self) -> Result<usize> {
        let m: Message = self.s.recv_msg(0)?;
        let n = m.len();
        self.s.send(m, 0)?;
        Ok(n)
    }
}
