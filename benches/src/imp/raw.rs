//! The baseline: the same ZMTP data frames (flags byte, 1- or 8-byte size, body) over plain
//! sockets, with no greeting, no handshake, no queues and no I/O thread: the limit a library
//! can approach.
//!
//! - tcp and ipc: the application thread writes frames into a 64 KiB user-space buffer that
//!   goes to the kernel when full or when the workload flushes (end of a burst, each ping):
//!   the cheapest batching any library could do. Reads go through a 64 KiB buffer too.
//! - inproc: a bounded channel (capacity 1000, the usual HWM) of owned bodies, one per
//!   direction.
//! - PUB: one accept thread hands new connections to the publisher, which writes each frame
//!   to every subscriber (blocking on a full one: no drops; a closed one is dropped).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, LazyLock, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};

use crate::roles::SETUP_LIMIT;
use crate::workload::{split_endpoint, Lib, Recvd, Role, Sock, SockOpts};

const BUF: usize = 64 * 1024;
const CHANNEL_CAPACITY: usize = 1000;

/// The raw "implementation": no context at all.
pub struct Raw;

/// A raw socket: becomes a stream, a fan-out or a channel pair on bind/connect.
pub struct RawSock {
    role: Role,
    timeout: Option<Duration>,
    state: State,
    buf: Vec<u8>,
}

enum State {
    Idle,
    Listening(Listener),
    Stream(Stream),
    Fanout(Fanout),
    Chan(Chan),
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

struct Stream {
    r: BufReader<Conn>,
    w: BufWriter<Conn>,
}

struct Fanout {
    joined: Arc<Mutex<Vec<BufWriter<Conn>>>>,
    pending: Arc<AtomicBool>,
    outs: Vec<BufWriter<Conn>>,
}

struct Chan {
    tx: SyncSender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
}

/// inproc names bound so far: the connecting side's channel ends, waiting to be taken.
static INPROC: LazyLock<Mutex<HashMap<String, Chan>>> = LazyLock::new(Default::default);

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Conn {
    fn try_clone(&self) -> io::Result<Conn> {
        Ok(match self {
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
        })
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.set_read_timeout(t),
            Conn::Unix(s) => s.set_read_timeout(t),
        }
    }

    fn dial(endpoint: &str) -> Result<Conn> {
        let (scheme, addr) = split_endpoint(endpoint)?;
        let deadline = Instant::now() + SETUP_LIMIT;
        loop {
            let r = match scheme {
                "tcp" => TcpStream::connect(addr).map(|s| {
                    let _ = s.set_nodelay(true);
                    Conn::Tcp(s)
                }),
                "ipc" => UnixStream::connect(addr).map(Conn::Unix),
                _ => bail!("raw: unsupported endpoint {endpoint}"),
            };
            match r {
                Ok(c) => return Ok(c),
                Err(e) if Instant::now() > deadline => return Err(e.into()),
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    }
}

impl Listener {
    fn accept(&self) -> io::Result<Conn> {
        Ok(match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                s.set_nodelay(true)?;
                Conn::Tcp(s)
            }
            Listener::Unix(l) => Conn::Unix(l.accept()?.0),
        })
    }
}

impl Stream {
    fn new(conn: Conn, timeout: Option<Duration>) -> io::Result<Stream> {
        conn.set_read_timeout(timeout)?;
        Ok(Stream {
            r: BufReader::with_capacity(BUF, conn.try_clone()?),
            w: BufWriter::with_capacity(BUF, conn),
        })
    }
}

/// Appends one data frame (short or long form) to `w`.
#[inline]
fn write_frame<W: Write>(w: &mut W, data: &[u8]) -> io::Result<()> {
    match u8::try_from(data.len()) {
        Ok(n) => w.write_all(&[0, n])?,
        Err(_) => {
            let mut h = [0u8; 9];
            h[0] = 2;
            h[1..].copy_from_slice(&(data.len() as u64).to_be_bytes());
            w.write_all(&h)?;
        }
    }
    w.write_all(data)
}

/// Reads one frame into `buf`; `None` if the read timeout expired before the frame began.
#[inline]
fn read_frame<R: BufRead>(r: &mut R, buf: &mut Vec<u8>) -> io::Result<Option<()>> {
    match r.fill_buf() {
        Ok([]) => return Err(io::ErrorKind::UnexpectedEof.into()),
        Ok(_) => {}
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut h = [0u8; 2];
    read_all(r, &mut h)?;
    let size = if h[0] & 2 == 0 {
        usize::from(h[1])
    } else {
        let mut rest = [0u8; 7];
        read_all(r, &mut rest)?;
        let mut be = [0u8; 8];
        be[0] = h[1];
        be[1..].copy_from_slice(&rest);
        usize::try_from(u64::from_be_bytes(be)).map_err(io::Error::other)?
    };
    buf.resize(size, 0);
    read_all(r, buf)?;
    Ok(Some(()))
}

/// `read_exact` that sits out read timeouts: once a frame began, its rest is coming (a
/// publisher blocked on another subscriber may hold it back for a while).
fn read_all<R: Read>(r: &mut R, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match r.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Lib for Raw {
    type Sock = RawSock;

    fn new() -> Result<Self> {
        Ok(Raw)
    }

    fn socket(&self, role: Role, opts: &SockOpts) -> Result<RawSock> {
        Ok(RawSock {
            role,
            timeout: opts.recv_timeout_ms.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(1))),
            state: State::Idle,
            buf: Vec::new(),
        })
    }
}

impl RawSock {
    /// The stream, accepting the one connection first if this side bound.
    fn stream(&mut self) -> Result<&mut Stream> {
        if let State::Listening(l) = &self.state {
            let conn = l.accept()?;
            self.state = State::Stream(Stream::new(conn, self.timeout)?);
        }
        match &mut self.state {
            State::Stream(s) => Ok(s),
            _ => Err(anyhow!("raw: not a stream socket")),
        }
    }

    fn start_fanout(&mut self, l: Listener) {
        let joined = Arc::new(Mutex::new(Vec::new()));
        let pending = Arc::new(AtomicBool::new(false));
        let (j, p) = (joined.clone(), pending.clone());
        thread::spawn(move || {
            while let Ok(conn) = l.accept() {
                j.lock().unwrap().push(BufWriter::with_capacity(BUF, conn));
                p.store(true, Ordering::Release);
            }
        });
        self.state = State::Fanout(Fanout { joined, pending, outs: Vec::new() });
    }

    fn bind_inproc(&mut self, name: &str) -> Result<()> {
        let (tx_ab, rx_ab) = sync_channel(CHANNEL_CAPACITY);
        let (tx_ba, rx_ba) = sync_channel(CHANNEL_CAPACITY);
        let peer = Chan { tx: tx_ba, rx: rx_ab };
        INPROC.lock().unwrap().insert(name.to_string(), peer);
        self.state = State::Chan(Chan { tx: tx_ab, rx: rx_ba });
        Ok(())
    }

    fn connect_inproc(&mut self, name: &str) -> Result<()> {
        let deadline = Instant::now() + SETUP_LIMIT;
        loop {
            if let Some(chan) = INPROC.lock().unwrap().remove(name) {
                self.state = State::Chan(chan);
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("raw: nothing bound at inproc://{name}");
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Fanout {
    #[inline]
    fn adopt(&mut self) {
        if self.pending.swap(false, Ordering::Acquire) {
            self.outs.append(&mut self.joined.lock().unwrap());
        }
    }
}

impl Sock for RawSock {
    fn bind(&mut self, endpoint: &str) -> Result<String> {
        let (scheme, addr) = split_endpoint(endpoint)?;
        let (listener, resolved) = match scheme {
            "tcp" => {
                let l = TcpListener::bind(addr)?;
                let a = l.local_addr()?;
                (Listener::Tcp(l), format!("tcp://{a}"))
            }
            "ipc" => {
                let _ = std::fs::remove_file(addr);
                (Listener::Unix(UnixListener::bind(addr)?), endpoint.to_string())
            }
            "inproc" => {
                self.bind_inproc(addr)?;
                return Ok(endpoint.to_string());
            }
            _ => bail!("raw: unsupported endpoint {endpoint}"),
        };
        if self.role == Role::Pub {
            self.start_fanout(listener);
        } else {
            self.state = State::Listening(listener);
        }
        Ok(resolved)
    }

    fn connect(&mut self, endpoint: &str) -> Result<()> {
        if let Some(name) = endpoint.strip_prefix("inproc://") {
            return self.connect_inproc(name);
        }
        self.state = State::Stream(Stream::new(Conn::dial(endpoint)?, self.timeout)?);
        Ok(())
    }

    #[inline]
    fn send(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.state {
            State::Chan(c) => c.tx.send(data.to_vec()).map_err(|_| anyhow!("peer gone")),
            State::Fanout(f) => {
                f.adopt();
                // A subscriber that went away is dropped, as a PUB drops it.
                f.outs.retain_mut(|w| write_frame(w, data).is_ok());
                Ok(())
            }
            _ => Ok(write_frame(&mut self.stream()?.w, data)?),
        }
    }

    #[inline]
    fn recv(&mut self) -> Result<Option<Recvd>> {
        if let State::Chan(c) = &self.state {
            let body = match self.timeout {
                None => c.rx.recv().map_err(|_| anyhow!("peer gone"))?,
                Some(t) => match c.rx.recv_timeout(t) {
                    Ok(b) => b,
                    Err(RecvTimeoutError::Timeout) => return Ok(None),
                    Err(RecvTimeoutError::Disconnected) => bail!("peer gone"),
                },
            };
            return Ok(Some(Recvd::of(&body)));
        }
        let mut buf = std::mem::take(&mut self.buf);
        let r = read_frame(&mut self.stream()?.r, &mut buf);
        let seen = Recvd::of(&buf);
        self.buf = buf;
        Ok(r?.map(|()| seen))
    }

    #[inline]
    fn echo(&mut self) -> Result<usize> {
        if let State::Chan(c) = &self.state {
            let body = c.rx.recv().map_err(|_| anyhow!("peer gone"))?;
            let n = body.len();
            c.tx.send(body).map_err(|_| anyhow!("peer gone"))?;
            return Ok(n);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let s = self.stream()?;
        let r = read_frame(&mut s.r, &mut buf)
            .and_then(|got| got.ok_or_else(|| io::ErrorKind::TimedOut.into()))
            .and_then(|()| write_frame(&mut s.w, &buf));
        let n = buf.len();
        self.buf = buf;
        r?;
        Ok(n)
    }

    fn flush(&mut self) -> Result<()> {
        match &mut self.state {
            State::Chan(_) | State::Idle => Ok(()),
            State::Fanout(f) => {
                f.adopt();
                f.outs.retain_mut(|w| w.flush().is_ok());
                Ok(())
            }
            _ => Ok(self.stream()?.w.flush()?),
        }
    }
}
