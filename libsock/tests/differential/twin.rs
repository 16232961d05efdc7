//! One socket on both libraries: the same calls made on a libsock socket and on a libzmq one
//! (the `zmq` crate), with every result reduced to what a user observes (errno values,
//! frames), so that differential tests compare the two step by step.

use std::ffi::{c_int, c_void};

/// A result as a C program would see it: the value, or libzmq's errno.
pub type Outcome<T> = Result<T, i32>;

/// One received message: its frames.
pub type Frames = Vec<Vec<u8>>;

/// A socket of either library.
pub enum Twin {
    /// libsock's.
    Ls(Box<libsock::Socket>),
    /// libzmq's, through the `zmq` crate.
    Zmq(zmq::Socket),
}

#[allow(unsafe_code)]
extern "C" {
    // libzmq's own, linked into the test through the `zmq` crate: for the options the crate
    // has no setter for (INVERT_MATCHING, XPUB_MANUAL, XPUB_VERBOSER, ...).
    fn zmq_setsockopt(s: *mut c_void, option: c_int, value: *const c_void, len: usize) -> c_int;
    fn zmq_errno() -> c_int;
}

fn ls<T>(r: libsock::Result<T>) -> Outcome<T> {
    r.map_err(|e| e.to_raw())
}

fn z<T>(r: zmq::Result<T>) -> Outcome<T> {
    r.map_err(|e| e.to_raw())
}

impl Twin {
    /// `zmq_setsockopt` with a byte-string value.
    pub fn set_bytes(&mut self, option: i32, value: &[u8]) -> Outcome<()> {
        match self {
            Twin::Ls(s) => ls(s.set_option_raw(option, libsock::OptionValue::Bytes(value.to_vec()))),
            Twin::Zmq(s) => raw_set(s, option, value.as_ptr().cast(), value.len()),
        }
    }

    /// `zmq_setsockopt` with an int value.
    pub fn set_int(&mut self, option: i32, value: i32) -> Outcome<()> {
        match self {
            Twin::Ls(s) => ls(s.set_option_raw(option, libsock::OptionValue::Int(value))),
            Twin::Zmq(s) => raw_set(s, option, (&value as *const i32).cast(), std::mem::size_of::<i32>()),
        }
    }

    /// `zmq_setsockopt` with an int64 value (MAXMSGSIZE).
    pub fn set_int64(&mut self, option: i32, value: i64) -> Outcome<()> {
        match self {
            Twin::Ls(s) => ls(s.set_option_raw(option, libsock::OptionValue::Long(value))),
            Twin::Zmq(s) => raw_set(s, option, (&value as *const i64).cast(), std::mem::size_of::<i64>()),
        }
    }

    /// `zmq_bind`.
    pub fn bind(&self, endpoint: &str) -> Outcome<()> {
        match self {
            Twin::Ls(s) => ls(s.bind(endpoint)),
            Twin::Zmq(s) => z(s.bind(endpoint)),
        }
    }

    /// `zmq_connect`.
    pub fn connect(&self, endpoint: &str) -> Outcome<()> {
        match self {
            Twin::Ls(s) => ls(s.connect(endpoint)),
            Twin::Zmq(s) => z(s.connect(endpoint)),
        }
    }

    /// `zmq_unbind`.
    pub fn unbind(&self, endpoint: &str) -> Outcome<()> {
        match self {
            Twin::Ls(s) => ls(s.unbind(endpoint)),
            Twin::Zmq(s) => z(s.unbind(endpoint)),
        }
    }

    /// `zmq_disconnect`.
    pub fn disconnect(&self, endpoint: &str) -> Outcome<()> {
        match self {
            Twin::Ls(s) => ls(s.disconnect(endpoint)),
            Twin::Zmq(s) => z(s.disconnect(endpoint)),
        }
    }

    /// `zmq_socket_monitor`: this socket's `events` published on the inproc `endpoint`.
    pub fn monitor(&self, endpoint: &str, events: i32) -> Outcome<()> {
        match self {
            Twin::Ls(s) => ls(s.monitor(endpoint, events)),
            Twin::Zmq(s) => z(s.monitor(endpoint, events)),
        }
    }

    /// Sends one frame without waiting.
    pub fn send_frame(&self, frame: &[u8], more: bool) -> Outcome<()> {
        let flags = if more { zmq::SNDMORE | zmq::DONTWAIT } else { zmq::DONTWAIT };
        match self {
            Twin::Ls(s) => ls(s.send(frame, flags)),
            Twin::Zmq(s) => z(s.send(frame, flags)),
        }
    }

    /// Sends `frames` as one message, frame by frame as a C program does; the first failure
    /// ends it.
    pub fn send(&self, frames: &[Vec<u8>]) -> Outcome<()> {
        for (i, f) in frames.iter().enumerate() {
            self.send_frame(f, i + 1 < frames.len())?;
        }
        Ok(())
    }

    /// Receives one frame without waiting: its bytes and whether more follow.
    pub fn recv_frame(&self) -> Outcome<(Vec<u8>, bool)> {
        self.recv_frame_with(&[]).map(|(frame, more, _)| (frame, more))
    }

    /// Receives one frame without waiting: its bytes, whether more follow, and the
    /// connection properties `names` (`zmq_msg_gets`) it came with.
    pub fn recv_frame_with(&self, names: &[&str]) -> Outcome<(Vec<u8>, bool, Vec<Option<String>>)> {
        match self {
            Twin::Ls(s) => ls(s.recv_msg(libsock::DONTWAIT)).map(|m| {
                let properties = names.iter().map(|n| m.gets(n).map(str::to_owned)).collect();
                (m.to_vec(), m.get_more(), properties)
            }),
            Twin::Zmq(s) => z(s.recv_msg(zmq::DONTWAIT)).map(|mut m| {
                let properties = names.iter().map(|n| m.gets(n).map(str::to_owned)).collect();
                (m.to_vec(), m.get_more(), properties)
            }),
        }
    }

    /// Every whole message that can be received now, then the error that ended the drain
    /// (EAGAIN when all went well).
    pub fn drain(&self) -> (Vec<Frames>, i32) {
        let mut messages = Vec::new();
        let mut frames = Vec::new();
        loop {
            match self.recv_frame() {
                Ok((f, more)) => {
                    frames.push(f);
                    if !more {
                        messages.push(std::mem::take(&mut frames));
                    }
                }
                Err(e) => {
                    if !frames.is_empty() {
                        messages.push(frames);
                    }
                    return (messages, e);
                }
            }
        }
    }

    /// One whole message, or the errno that ended the receive (the rest of a multipart
    /// message is there once its first frame is).
    pub fn recv_message(&self) -> Outcome<Frames> {
        let mut frames = Vec::new();
        loop {
            let (f, more) = self.recv_frame()?;
            frames.push(f);
            if !more {
                return Ok(frames);
            }
        }
    }

    /// After a peer closed: lets this socket learn of it, which comes through the closing
    /// side's threads, in a few rounds.
    pub fn settle_departure(&self) {
        for _ in 0..6 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            let _ = self.events();
        }
    }

    /// `ZMQ_EVENTS`, which also makes the socket process what its peers told it.
    pub fn events(&self) -> Outcome<i32> {
        match self {
            Twin::Ls(s) => ls(s.get_events()).map(i32::from),
            Twin::Zmq(s) => z(s.get_events()).map(|e| e.bits() as i32),
        }
    }
}

/// Makes one library's sockets for a case; each socket keeps its context alive.
pub struct Maker {
    libsock: Option<libsock::Context>,
    zmq: Option<zmq::Context>,
}

impl Maker {
    /// Sockets of libsock (`true`) or of libzmq.
    pub fn new(libsock: bool) -> Maker {
        if libsock {
            Maker { libsock: Some(libsock::Context::new()), zmq: None }
        } else {
            Maker { libsock: None, zmq: Some(zmq::Context::new()) }
        }
    }

    /// A socket of the kind `ls` (libsock) or `z` (libzmq) names.
    pub fn socket(&self, ls: libsock::SocketType, z: zmq::SocketType) -> Twin {
        match (&self.libsock, &self.zmq) {
            (Some(ctx), _) => Twin::Ls(Box::new(ctx.socket(ls).expect("libsock socket"))),
            (_, Some(ctx)) => Twin::Zmq(ctx.socket(z).expect("libzmq socket")),
            _ => unreachable!("a Maker has one context"),
        }
    }
}

impl Maker {
    /// A socket of the type ZMTP names `name` (`"PAIR"`, `"XPUB"`, ...).
    pub fn socket_named(&self, name: &str) -> Twin {
        let (ls, z) = match name {
            "PAIR" => (libsock::PAIR, zmq::PAIR),
            "PUB" => (libsock::PUB, zmq::PUB),
            "SUB" => (libsock::SUB, zmq::SUB),
            "REQ" => (libsock::REQ, zmq::REQ),
            "REP" => (libsock::REP, zmq::REP),
            "DEALER" => (libsock::DEALER, zmq::DEALER),
            "ROUTER" => (libsock::ROUTER, zmq::ROUTER),
            "PULL" => (libsock::PULL, zmq::PULL),
            "PUSH" => (libsock::PUSH, zmq::PUSH),
            "XPUB" => (libsock::XPUB, zmq::XPUB),
            "XSUB" => (libsock::XSUB, zmq::XSUB),
            other => panic!("no socket type {other}"),
        };
        self.socket(ls, z)
    }
}

/// Socket `who` of a case, which must still be open.
pub fn live(sockets: &[Option<Twin>], who: usize) -> &Twin {
    sockets[who].as_ref().expect("an open socket")
}

// The test crate's one unsafe function: the `zmq` crate has no setter for these options.
#[allow(unsafe_code)]
fn raw_set(s: &mut zmq::Socket, option: i32, value: *const c_void, len: usize) -> Outcome<()> {
    // SAFETY: `s` is a live libzmq socket (the crate's handle); `value` points to `len`
    // readable bytes for the duration of the call, which copies them.
    let rc = unsafe { zmq_setsockopt(s.as_mut_ptr(), option, value, len) };
    if rc == 0 {
        Ok(())
    } else {
        // SAFETY: reads libzmq's thread-local errno, set by the failed call above.
        Err(unsafe { zmq_errno() })
    }
}

/// A small deterministic generator (xorshift64*): a failing case is replayed from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
