//! Thin calls into the operating system: reads into spare capacity, eventfd, poll, pages.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

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

/// Reads up to `buf.len()` bytes from `fd` into `buf` (a large body received in place).
pub(crate) fn read_slice(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable memory of `buf.len()` bytes, the kernel writes at most that
    // many, and `fd` is a valid open descriptor for the call's duration.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Reads up to `max` bytes from `fd` into the spare capacity of `buf` (at most what it
/// has), extending its length by what arrived: a large body received in place, without
/// zeroing its memory first.
pub(crate) fn read_spare(fd: BorrowedFd<'_>, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(max);
    // SAFETY: `spare` is writable memory owned by `buf` with at least `len` bytes; the kernel
    // only writes into it and `fd` is a valid open descriptor for the call's duration.
    let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel initialised exactly `n <= len` bytes after the current length.
    unsafe { buf.set_len(buf.len() + n as usize) };
    Ok(n as usize)
}

/// `len` bytes of fresh private pages, zeroed (the kernel maps them on first use, and pages
/// only ever read share the zero page), or null if the system refuses.
pub(crate) fn map_zeroed(len: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping at an address the kernel picks aliases nothing.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

/// Unmaps what [`map_zeroed`] mapped.
///
/// # Safety
/// `ptr` and `len` are a mapping from [`map_zeroed`], unmapped once, with nothing referring
/// into it any more.
pub(crate) unsafe fn unmap(ptr: *mut u8, len: usize) {
    // SAFETY: the caller's contract; failure (impossible for a whole mapping) leaks it.
    unsafe { libc::munmap(ptr.cast(), len) };
}

/// [`read_into`] on a raw descriptor shared across threads under a lock: the direct receive
/// path (`engine::direct_rx`) guarantees, by disarming under that lock before the stream is
/// closed, that `fd` is open for the duration of every call.
pub(crate) fn read_raw(fd: RawFd, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
    // SAFETY: the caller keeps `fd` open for the call (see above); a stale descriptor would be
    // an I/O error, not memory unsafety, as `read_into` only hands it to read(2).
    read_into(unsafe { BorrowedFd::borrow_raw(fd) }, buf, max)
}

/// Changes which events the epoll instance `epfd` reports for `fd` (registered there with
/// `data` as its token): `EPOLL_CTL_MOD`. The direct receive path uses it to stop the I/O
/// thread's poll from waking for bytes the application thread is waiting for; `fd` is kept
/// open by the same rule as [`read_raw`].
pub(crate) fn epoll_modify(epfd: RawFd, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event for the call; the kernel only reads it. Stale
    // descriptors are reported as errors (ENOENT, EBADF), not memory unsafety.
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_MOD, fd, &mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `buf` on the stream socket `fd` without blocking and without SIGPIPE (a peer that
/// went away must cost an `EPIPE`, never the process). Returns the bytes the kernel took.
///
/// `fd` is a raw descriptor because the caller (the direct send path, `engine::direct`) shares
/// it across threads under a lock: it guarantees, by disarming under that lock before the
/// stream is closed, that `fd` is open for the duration of every call.
pub(crate) fn send_nosignal(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid readable memory of `buf.len()` bytes for the call; the kernel only
    // reads it. A stale descriptor would be an I/O error, not memory unsafety.
    let n =
        unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// A Linux eventfd: a file descriptor that becomes readable when signalled.
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor we own.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` was just returned by eventfd and is owned by nobody else.
        Ok(EventFd { fd: unsafe { OwnedFd::from_raw_fd(raw) } })
    }

    /// Makes the descriptor readable.
    pub(crate) fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own descriptor.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Makes the descriptor unreadable again.
    pub(crate) fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64 from our own descriptor.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }
}

/// An epoll instance used only as one descriptor for several: it is readable while any
/// descriptor added to it is (level-triggered). Nobody calls `epoll_wait` on it; whoever
/// polls it looks at the sources themselves, which clears them (`ReadinessSet`, feature
/// `draft`).
#[cfg(feature = "draft")]
pub(crate) struct EpollSet {
    fd: OwnedFd,
}

#[cfg(feature = "draft")]
impl EpollSet {
    pub(crate) fn new() -> io::Result<EpollSet> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a new descriptor.
        let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` was just returned by epoll_create1 and is owned by nobody else.
        Ok(EpollSet { fd: unsafe { OwnedFd::from_raw_fd(raw) } })
    }

    /// Adds `fd` (readable-ness only); adding it twice is not an error.
    pub(crate) fn add(&self, fd: RawFd) -> io::Result<()> {
        match self.ctl(libc::EPOLL_CTL_ADD, fd) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            other => other,
        }
    }

    /// Removes `fd`; one that is not there (or was closed, which removes it) is not an error.
    pub(crate) fn remove(&self, fd: RawFd) -> io::Result<()> {
        match self.ctl(libc::EPOLL_CTL_DEL, fd) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EBADF)) => Ok(()),
            other => other,
        }
    }

    fn ctl(&self, op: i32, fd: RawFd) -> io::Result<()> {
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: fd as u64 };
        // SAFETY: `ev` is a valid epoll_event for the call; the kernel only reads it. Stale
        // descriptors are reported as errors (ENOENT, EBADF), not memory unsafety.
        if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// `poll(2)` over `fds`; `timeout_ms` < 0 waits forever. Returns how many are ready.
/// Polls again when a signal handler interrupts it.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    loop {
        match poll_once(fds, timeout_ms) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// [`poll`] that fails with `EINTR` (`ErrorKind::Interrupted`) when a signal handler runs,
/// as libzmq's blocking calls do.
pub(crate) fn poll_once(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `fds` is a valid, exclusively borrowed slice of pollfd for the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n >= 0 {
        Ok(n as usize)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Milliseconds from now until `deadline` for `poll(2)`: -1 for none, rounded up (waking
/// before the deadline would only poll again), 0 once it passed.
pub(crate) fn poll_timeout(deadline: Option<std::time::Instant>) -> i32 {
    match deadline {
        None => -1,
        Some(at) => {
            let left = at.saturating_duration_since(std::time::Instant::now());
            left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        }
    }
}

/// Blocks every signal in the calling thread, as libzmq does in the threads it starts: a
/// signal sent to the process (Ctrl-C's SIGINT, SIGTERM) then runs its handler on one of the
/// application's threads, where it ends a blocking call with EINTR, never on an I/O thread.
/// Faults (SIGSEGV, ...) still kill the process: a blocked synchronous signal cannot be held.
pub(crate) fn block_signals() {
    // SAFETY: `set` is a local sigset_t that sigfillset initialises before use; the old mask
    // is not wanted (NULL).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// A duplicate of a descriptor the user hands over (USE_FD), owned by us, so that closing
/// ours never closes theirs. Fails with `EBADF` if `fd` is not open.
pub(crate) fn dup_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes no pointers; an invalid `fd` just returns -1/EBADF.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just created by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Pins the calling thread to `cpus` (context option THREAD_AFFINITY_CPU_ADD); numbers no
/// `cpu_set_t` holds (CPU_SETSIZE and up) are skipped, as glibc's CPU_SET skips them.
pub(crate) fn set_thread_affinity(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; all-zero is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus.iter().filter(|&&cpu| cpu < libc::CPU_SETSIZE as usize) {
        // SAFETY: CPU_SET writes a bit within `set`; `cpu` is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: passes a valid pointer to `set` and its exact size; 0 means this thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the calling thread's scheduling policy and/or priority (-1 keeps the current one),
/// as libzmq does for THREAD_SCHED_POLICY and THREAD_PRIORITY.
pub(crate) fn set_thread_sched(policy: i32, priority: i32) -> io::Result<()> {
    let mut current: libc::c_int = 0;
    // SAFETY: sched_param is plain data; all-zero is valid.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: pthread_self() is this live thread; both out-pointers are valid locals.
    let rc = unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut current, &mut param) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    if policy >= 0 {
        current = policy;
    }
    if priority >= 0 {
        param.sched_priority = priority;
    }
    // SAFETY: as above; `param` is a valid, initialised sched_param.
    let rc = unsafe { libc::pthread_setschedparam(libc::pthread_self(), current, &param) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    #[test]
    fn eventfd_signals_and_drains() {
        let e = EventFd::new().unwrap();
        let mut p = [libc::pollfd { fd: e.raw(), events: libc::POLLIN, revents: 0 }];
        assert_eq!(poll(&mut p, 0).unwrap(), 0);
        e.signal();
        e.signal();
        assert_eq!(poll(&mut p, 0).unwrap(), 1);
        e.drain();
        assert_eq!(poll(&mut p, 0).unwrap(), 0);
    }

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

    #[test]
    fn cpu_numbers_beyond_a_cpu_set_are_skipped() {
        // On a thread of its own: pinning changes the calling thread.
        std::thread::spawn(|| set_thread_affinity(&[0, libc::CPU_SETSIZE as usize, 1 << 20]))
            .join()
            .expect("no panic")
            .expect("CPU 0 is pinned, the rest skipped");
    }
}
