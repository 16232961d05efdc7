//! `wss://`: a link's rustls session and the loops that move records through it, for the
//! I/O thread's [`super::ws_link::WsLink`] and for the application thread's direct sides
//! (`direct`, `direct_rx`), which encrypt and decrypt through the same session.
//!
//! ## Who holds the session
//! The session sits behind its own lock ([`SharedTls`]), always taken last: a thread may
//! hold the direct write or read lock when it takes it, never the other way round, and
//! nobody takes a second lock while holding it. Records leave in the order rustls made
//! them, whoever writes them; the plaintext it decrypts goes wherever the reader that fed
//! it wants it. So the rules of `direct` and `direct_rx` hold unchanged: the direct write
//! side hands rustls whole messages only when nothing the I/O thread queued waits (in its
//! frames or in rustls), and the direct read side reads only when the I/O thread holds no
//! input (neither records nor plaintext here).

use std::io::{self, IoSlice};
use std::os::fd::RawFd;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use parking_lot::Mutex;

use super::spare;
use super::ws_link::WsError;
use crate::codec::ws::WsFault;
use crate::sys;

/// A `wss://` link's TLS session, shared with the application thread's direct sides.
pub(crate) type SharedTls = Arc<Mutex<rustls::Connection>>;

/// Wraps a new session for sharing.
pub(crate) fn shared(conn: impl Into<rustls::Connection>) -> SharedTls {
    Arc::new(Mutex::new(conn.into()))
}

/// Reads up to `want` bytes of records with `read` (the stream's `read(2)` into a buffer,
/// at most that many bytes) and decrypts them into `raw`; `Ok((0, _))`: the peer hung up;
/// `Ok((_, true))`: it closed its TLS session (what it sent before is in `raw`).
///
/// One read of the stream feeds rustls several times from memory: its own `read_tls` reads
/// 4 KiB a call, a system call for every 4 KiB of a flood.
pub(crate) fn read_tls(
    tls: &mut rustls::Connection,
    mut read: impl FnMut(&mut BytesMut, usize) -> io::Result<usize>,
    cipher: &mut BytesMut,
    raw: &mut BytesMut,
    want: usize,
) -> Result<(usize, bool), WsError> {
    spare::take(cipher);
    // What `read_tls_into` left (the records behind a body it filled, and the plaintext
    // rustls decrypted from them) comes first: the stream may have nothing more to say.
    let state = tls.process_new_packets().map_err(tls_fault)?;
    let left_over = !cipher.is_empty() || state.plaintext_bytes_to_read() > 0 || state.peer_has_closed();
    let n = if left_over {
        cipher.len().max(1)
    } else {
        match read(cipher, want) {
            Ok(0) => return Ok((0, false)),
            Ok(n) => n,
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock && cipher.is_empty() {
                    spare::give_back(cipher);
                }
                return Err(WsError::Io(e));
            }
        }
    };
    loop {
        let state = tls.process_new_packets().map_err(tls_fault)?;
        let plain = state.plaintext_bytes_to_read();
        if plain > 0 {
            let start = raw.len();
            raw.resize(start + plain, 0);
            io::Read::read_exact(&mut tls.reader(), &mut raw[start..]).map_err(WsError::Io)?;
        }
        if state.peer_has_closed() {
            return Ok((n, true));
        }
        if cipher.is_empty() {
            break;
        }
        let used = tls.read_tls(&mut &cipher[..]).map_err(WsError::Io)?;
        cipher.advance(used);
        if used == 0 {
            // Nothing taken: rustls refuses what it cannot hold with an error, so this is
            // not reached with bytes left; never spin on it.
            break;
        }
    }
    // Records that carried no data yet (handshake) still count as read: the caller goes on.
    Ok((n, false))
}

/// Whether rustls or `cipher` holds input not read out yet (records behind a large body
/// read in place, their plaintext, a close_notify, an error to report), which a direct
/// reader must not overtake.
pub(crate) fn holds_input(tls: &mut rustls::Connection, cipher: &BytesMut) -> bool {
    !cipher.is_empty()
        || tls
            .process_new_packets()
            .map_or(true, |state| state.plaintext_bytes_to_read() > 0 || state.peer_has_closed())
}

/// Reads decrypted bytes into `body` (the rest of a large frame's body: `WsLink::read_body`),
/// taking records from `cipher` and then from the stream `fd` (`want` bytes a call) as it
/// needs them, until `body` is full or the stream has no more now. What follows the body
/// stays in rustls and `cipher`, for [`read_tls`]. `Ok(0)`: the peer closed (close_notify,
/// or hung up).
pub(crate) fn read_tls_into(
    tls: &mut rustls::Connection,
    fd: std::os::fd::BorrowedFd<'_>,
    cipher: &mut BytesMut,
    body: &mut [u8],
    want: usize,
) -> Result<usize, WsError> {
    let mut got = 0;
    while got < body.len() {
        match io::Read::read(&mut tls.reader(), &mut body[got..]) {
            Ok(0) => break, // close_notify, after everything before it
            Ok(n) => {
                got += n;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // A hang-up without close_notify: the next read finds it (a truncation).
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(WsError::Io(e)),
        }
        if cipher.is_empty() {
            spare::take(cipher);
            match sys::read_into(fd, cipher, want) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => break,
                Err(e) => {
                    if e.kind() == io::ErrorKind::WouldBlock {
                        spare::give_back(cipher); // idle: as `read_tls`
                    }
                    return Err(WsError::Io(e));
                }
            }
        }
        let used = tls.read_tls(&mut &cipher[..]).map_err(WsError::Io)?;
        if used == 0 {
            // rustls refuses what it cannot hold with an error: not reached; never spin.
            return Err(WsError::Io(io::Error::other("rustls took no records")));
        }
        cipher.advance(used);
        tls.process_new_packets().map_err(tls_fault)?;
    }
    Ok(got)
}

/// A TLS error from rustls: logged, and the link fails.
pub(crate) fn tls_fault(e: rustls::Error) -> WsError {
    tracing::debug!("wss: {e}");
    WsError::Fault(WsFault::Tls)
}

/// Writes what pending plaintext rustls takes (`pending` from `sent`) and its records to
/// `out`. `Ok(true)` once all of it is out.
pub(crate) fn flush_tls(
    tls: &mut rustls::Connection,
    out: &mut impl io::Write,
    pending: &mut Vec<u8>,
    sent: &mut usize,
) -> io::Result<bool> {
    flush_tls_with(tls, out, pending, sent, &mut &[][..])
}

/// [`flush_tls`], then `body`: rustls encrypts it from where it lies; what it did not take
/// is left in `body`.
pub(crate) fn flush_tls_with(
    tls: &mut rustls::Connection,
    out: &mut impl io::Write,
    pending: &mut Vec<u8>,
    sent: &mut usize,
    body: &mut &[u8],
) -> io::Result<bool> {
    loop {
        while tls.wants_write() {
            match tls.write_tls(out) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if *sent == pending.len() && body.is_empty() {
            pending.clear();
            *sent = 0;
            return Ok(true);
        }
        // Before the handshake is done rustls keeps this (a client's upgrade request) and
        // sends it after; once done it encrypts at once, as far as its buffer takes.
        let slices = [IoSlice::new(&pending[*sent..]), IoSlice::new(body)];
        let n = io::Write::write_vectored(&mut tls.writer(), &slices)?;
        if n == 0 {
            return Ok(false);
        }
        let of_pending = n.min(pending.len() - *sent);
        *sent += of_pending;
        *body = &body[n - of_pending..];
    }
}

/// The application thread's writes of records: `send(2)` on the stream's descriptor, which
/// the direct write side may use while its link is armed.
pub(crate) struct FdSink(pub(crate) RawFd);

impl io::Write for FdSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        sys::send_nosignal(self.0, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
