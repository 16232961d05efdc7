//! The only `unsafe` code in libsock: thin calls into the operating system.
//!
//! Everything here is a small function with a `SAFETY:` comment. The rest of the crate is
//! `#![deny(unsafe_code)]`.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use bytes::BytesMut;

/// Reads up to `max` bytes from `fd` into the spare capacity of `buf`, growing it as needed,
/// without zero-filling first (a 64 KiB memset per read would cost more than small reads).
pub(crate) fn read_into(fd: BorrowedFd<'_>, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(max);
    // SAFETY: `spare` is writable memory owned by `buf` with at least `len` bytes; the kernel
    // only writes into it and `fd` is a valid open descriptor for the call's duration.
    let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: the kernel initialised exactly `n <= len` bytes after the current length.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    #[test]
    fn reads_append_to_the_buffer() {
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.write_all(b"hello world").unwrap();
        let mut buf = BytesMut::from(&b">"[..]);
        let n = read_into(b.as_fd(), &mut buf, 5).unwrap();
        assert_eq!(n, 5);
        assert_eq!(&buf[..], b">hello");
        b.set_nonblocking(true).unwrap();
        read_into(b.as_fd(), &mut buf, 100).unwrap();
        assert_eq!(&buf[..], b">hello world");
        let err = read_into(b.as_fd(), &mut buf, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }
}
