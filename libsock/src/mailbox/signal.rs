//! [`Signal`]: how a socket's user thread sleeps until one of its pipes or its mailbox changes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::pipe::Wake;
use crate::sys::{self, EventFd};

/// A sticky wake-up flag: a wake that arrives before the wait is not lost.
#[derive(Default)]
pub(crate) struct Signal {
    raised: Mutex<bool>,
    cond: Condvar,
    /// Counts wakes, so a socket can tell cheaply whether anything happened since it looked.
    generation: AtomicU64,
    /// Made on demand (`ZMQ_FD`): readable after a wake, for outside event loops.
    fd: OnceLock<EventFd>,
    /// The descriptor was handed out ([`Signal::fd`]): every wake signals it.
    exported: AtomicBool,
    /// The socket's thread polls the descriptor in a direct receive (`engine::direct_rx`):
    /// wakes signal it meanwhile. Otherwise an unexported descriptor costs wakes nothing.
    polling: AtomicBool,
}

impl Signal {
    /// The readiness descriptor, created on first use (and signalled once, so the caller
    /// looks at the socket's events at least once).
    pub(crate) fn fd(&self) -> std::io::Result<&EventFd> {
        let first = !self.exported.swap(true, Ordering::SeqCst);
        let fd = self.own_fd()?;
        if first {
            // Wakes before now did not signal it (if it existed): look at events once.
            fd.signal();
        }
        Ok(fd)
    }

    /// The descriptor for the socket's own thread to poll in a direct receive, between
    /// [`Signal::set_polling`] calls (not handed out: wakes signal it only meanwhile).
    pub(crate) fn own_fd(&self) -> std::io::Result<&EventFd> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd);
        }
        let fd = EventFd::new()?;
        fd.signal();
        Ok(self.fd.get_or_init(|| fd))
    }

    /// The socket's thread starts (`true`) or stops polling the descriptor. Set before it
    /// last looks at [`Signal::generation`], so a wake either changes what it sees or
    /// signals the descriptor (both sides use sequentially consistent accesses).
    pub(crate) fn set_polling(&self, on: bool) {
        self.polling.store(on, Ordering::SeqCst);
    }

    /// Clears the descriptor's readiness before the socket's events are examined.
    pub(crate) fn drain_fd(&self) {
        if let Some(fd) = self.fd.get() {
            fd.drain();
        }
    }

    /// How many wakes happened so far.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        // SeqCst (a plain load on x86): pairs with `set_polling`, see there.
        self.generation.load(Ordering::SeqCst)
    }

    /// Spins (no sleep, no syscall) until a wake arrives, `limit` passes or `deadline` comes;
    /// true if woken. The flag stays raised for [`Signal::wait`] to lower.
    pub(crate) fn spin(&self, limit: Duration, deadline: Option<Instant>) -> bool {
        let seen = self.generation();
        let start = Instant::now();
        let end = deadline.map_or(start + limit, |d| d.min(start + limit));
        loop {
            for _ in 0..64 {
                if self.generation() != seen {
                    return true;
                }
                std::hint::spin_loop();
            }
            if Instant::now() >= end {
                return false;
            }
        }
    }

    /// Sleeps until raised or until `deadline`. Returns false on timeout. Lowers the flag.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut raised = self.raised.lock();
        while !*raised {
            match deadline {
                None => self.cond.wait(&mut raised),
                Some(d) => {
                    if self.cond.wait_until(&mut raised, d).timed_out() {
                        break;
                    }
                }
            }
        }
        std::mem::replace(&mut *raised, false)
    }

    /// [`Signal::wait`] that a signal handler can end, as libzmq's blocking calls (which
    /// sleep in `poll(2)`) are ended: sleeps on the descriptor rather than the condvar.
    /// `Err(Interrupted)` when a handler ran before a wake came. Not a futex, which would
    /// be cheaper: `FUTEX_WAIT` restarts after a handler installed with SA_RESTART (glibc's
    /// `signal()`, signal-hook), where `poll(2)` never does.
    pub(crate) fn wait_interruptible(&self, deadline: Option<Instant>) -> crate::Result<bool> {
        let fd = self.own_fd()?;
        // Set before looking at the flag: a wake that the look misses signals the descriptor
        // (see `set_polling`; `wake` raises the flag under the lock, then loads `polling`).
        self.set_polling(true);
        let result = loop {
            if std::mem::replace(&mut *self.raised.lock(), false) {
                break Ok(true);
            }
            let timeout_ms = sys::poll_timeout(deadline);
            if timeout_ms == 0 {
                break Ok(false);
            }
            let mut fds = [libc::pollfd { fd: fd.raw(), events: libc::POLLIN, revents: 0 }];
            match sys::poll_once(&mut fds, timeout_ms) {
                // Readable: maybe from an earlier wake (already seen); the flag decides.
                Ok(_) => fd.drain(),
                Err(e) => break Err(crate::Error::from_wait(e)),
            }
        };
        self.set_polling(false);
        result
    }
}

impl Wake for Signal {
    fn wake(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut raised = self.raised.lock();
        let was_raised = std::mem::replace(&mut *raised, true);
        drop(raised);
        // Notified after unlocking, so the sleeper does not wake into a held lock.
        if !was_raised {
            self.cond.notify_one();
        }
        if let Some(fd) = self.fd.get() {
            if self.exported.load(Ordering::Relaxed) || self.polling.load(Ordering::SeqCst) {
                fd.signal();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn an_early_wake_is_kept() {
        let s = Signal::default();
        s.wake();
        assert!(s.wait(Some(Instant::now())));
        assert!(!s.wait(Some(Instant::now() + Duration::from_millis(5))));
    }

    #[test]
    fn spin_sees_a_wake_and_gives_up_at_its_limit() {
        let s = Arc::new(Signal::default());
        assert!(!s.spin(Duration::from_micros(50), None));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.spin(Duration::from_secs(30), None));
        // Wake until it returns: on a loaded machine the thread may start spinning only after
        // a first wake, which it then never sees (it counts wakes from when it starts).
        while !t.is_finished() {
            std::thread::sleep(Duration::from_millis(20));
            s.wake();
        }
        assert!(t.join().unwrap());
        assert!(s.wait(Some(Instant::now())), "the wake is still there for wait");
    }

    #[test]
    fn an_interruptible_wait_sees_early_and_late_wakes_and_times_out() {
        let s = Arc::new(Signal::default());
        s.wake();
        assert!(s.wait_interruptible(Some(Instant::now())).unwrap());
        let start = Instant::now();
        assert!(!s.wait_interruptible(Some(start + Duration::from_millis(5))).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(5));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait_interruptible(None).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        s.wake();
        assert!(t.join().unwrap());
    }

    #[test]
    fn wakes_a_sleeping_thread() {
        let s = Arc::new(Signal::default());
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait(None));
        std::thread::sleep(Duration::from_millis(20));
        s.wake();
        assert!(t.join().unwrap());
    }
}
