//! [`Socket::set_interruptible`]: a signal handler that runs while a call blocks ends the
//! call with [`Error::Interrupted`] (EINTR), as libzmq's calls are ended; by default the
//! call keeps waiting. Both ways a receive can sleep are covered: reading its one tcp
//! connection itself (a direct receive) and sleeping until another thread queues a message.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use libsock::{Context, Error, PollItem, Socket, SocketType, POLLIN};
use nix::sys::pthread::{pthread_kill, pthread_self, Pthread};
use nix::sys::signal::Signal::SIGUSR1;

/// Set by SIGUSR1's handler (installed on first use).
fn handled() -> &'static Arc<AtomicBool> {
    static HANDLED: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    HANDLED.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(SIGUSR1 as i32, flag.clone()).expect("install a SIGUSR1 handler");
        flag
    })
}

/// Runs `call` on a thread of its own and signals that thread every 20 ms until the call
/// returns (a signal that comes before it blocks is handled without ending anything).
/// Panics, leaving the thread blocked, if the call does not return within 30 s.
fn signalled<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    handled();
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        tx.send(pthread_self()).unwrap();
        call()
    });
    let tid = rx.recv().unwrap();
    let give_up = Instant::now() + Duration::from_secs(30);
    while !worker.is_finished() {
        assert!(Instant::now() < give_up, "the call was never interrupted");
        thread::sleep(Duration::from_millis(20));
        // Not joined yet: `tid` still names the thread.
        pthread_kill(tid, SIGUSR1).unwrap();
    }
    worker.join().unwrap()
}

/// A PULL bound and a PUSH connected to it over `transport`, the link up.
fn pipeline(ctx: &Context, endpoint: &str) -> (Socket, Socket) {
    let pull = ctx.socket(SocketType::PULL).unwrap();
    let push = ctx.socket(SocketType::PUSH).unwrap();
    pull.set_linger(0).unwrap();
    push.set_linger(0).unwrap();
    pull.bind(endpoint).unwrap();
    push.connect(&pull.get_last_endpoint().unwrap()).unwrap();
    push.send("up", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"up");
    (pull, push)
}

#[test]
fn an_interruptible_receive_ends_and_can_be_called_again() {
    let ctx = Context::new();
    for endpoint in ["tcp://127.0.0.1:*", "inproc://interrupt-recv"] {
        let (pull, push) = pipeline(&ctx, endpoint);
        pull.set_interruptible(true);
        assert!(pull.is_interruptible());
        let (pull, result) = signalled(move || {
            let result = pull.recv_bytes(0);
            (pull, result)
        });
        assert!(matches!(result, Err(Error::Interrupted)), "{endpoint}: {result:?}");
        assert_eq!(Error::Interrupted.to_raw(), libc::EINTR);
        push.send("after", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"after", "{endpoint}");
    }
}

#[test]
fn an_interruptible_send_at_the_high_water_mark_ends() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::PULL).unwrap();
    let push = ctx.socket(SocketType::PUSH).unwrap();
    pull.set_rcvhwm(1).unwrap();
    push.set_sndhwm(1).unwrap();
    push.set_linger(0).unwrap();
    pull.bind("inproc://interrupt-send").unwrap();
    push.connect("inproc://interrupt-send").unwrap();
    push.set_interruptible(true);
    let (sent, result) = signalled(move || {
        let mut sent = 0;
        loop {
            match push.send("x", 0) {
                Ok(()) => sent += 1,
                Err(e) => return (sent, e),
            }
        }
    });
    assert!(matches!(result, Error::Interrupted), "{result:?}");
    assert!((1..=4).contains(&sent), "{sent} sent before blocking");
    drop(pull);
}

#[test]
fn interruptible_polls_end() {
    let ctx = Context::new();
    let (pull, _push) = pipeline(&ctx, "inproc://interrupt-poll");
    pull.set_interruptible(true);
    let (pull, result) = signalled(move || {
        let result = pull.poll(POLLIN, -1);
        (pull, result)
    });
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
    drop(pull);
    // A plain descriptor that never becomes readable.
    let (quiet, _writer) = std::os::unix::net::UnixStream::pair().unwrap();
    let result = signalled(move || {
        use std::os::fd::AsRawFd;
        libsock::poll_interruptible(&mut [PollItem::from_fd(quiet.as_raw_fd(), POLLIN)], 30_000)
    });
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
}

/// Signals thread `tid`, which must not end meanwhile, until its handler ran five times.
fn signal_five_times(tid: Pthread) {
    for _ in 0..5 {
        handled().store(false, Ordering::SeqCst);
        pthread_kill(tid, SIGUSR1).unwrap();
        while !handled().load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// By default handlers run and the call goes on waiting: a Rust program's own signal
/// handling never surfaces as an error.
#[test]
fn by_default_a_blocked_call_waits_through_signals() {
    handled();
    let ctx = Context::new();
    for endpoint in ["tcp://127.0.0.1:*", "inproc://interrupt-default"] {
        let (pull, push) = pipeline(&ctx, endpoint);
        assert!(!pull.is_interruptible());
        let (tx, rx) = mpsc::channel();
        let receiver = thread::spawn(move || {
            tx.send(pthread_self()).unwrap();
            let polled = libsock::poll(&mut [pull.as_poll_item(POLLIN)], -1);
            (polled.map(|_| pull.recv_bytes(0)), pull)
        });
        signal_five_times(rx.recv().unwrap());
        assert!(!receiver.is_finished(), "{endpoint}: a signal ended the poll");
        push.send("late", 0).unwrap();
        let (got, pull) = receiver.join().unwrap();
        assert_eq!(got.unwrap().unwrap(), b"late", "{endpoint}");
        // The receive itself, blocking.
        let (tx, rx) = mpsc::channel();
        let receiver = thread::spawn(move || {
            tx.send(pthread_self()).unwrap();
            pull.recv_bytes(0)
        });
        signal_five_times(rx.recv().unwrap());
        assert!(!receiver.is_finished(), "{endpoint}: a signal ended the receive");
        push.send("later", 0).unwrap();
        assert_eq!(receiver.join().unwrap().unwrap(), b"later", "{endpoint}");
    }
}

#[test]
fn an_interruptible_term_ends_and_can_be_called_again() {
    // Waiting for a socket still open: interrupted; the socket then fails with ETERM and,
    // once dropped, a second call ends the context.
    let ctx = Context::new();
    let open = ctx.socket(SocketType::PUSH).unwrap();
    let waiting = ctx.clone();
    let (waiting, result) = signalled(move || {
        let result = waiting.term_interruptible();
        (waiting, result)
    });
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
    assert!(matches!(open.send("x", libsock::DONTWAIT), Err(Error::ContextTerminated)));
    drop(open);
    waiting.term_interruptible().unwrap();
    assert!(matches!(ctx.socket(SocketType::PUSH), Err(Error::ContextTerminated)));

    // Waiting for LINGER to deliver to a peer that is not there yet: interrupted; once the
    // peer comes, a second call returns and the message is there.
    let peer_ctx = Context::new();
    let probe = peer_ctx.socket(SocketType::PULL).unwrap();
    probe.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = probe.get_last_endpoint().unwrap();
    drop(probe);
    let ctx = Context::new();
    let lingering = ctx.socket(SocketType::PUSH).unwrap();
    lingering.connect(&endpoint).unwrap();
    lingering.send("lingered", 0).unwrap();
    drop(lingering);
    let (ctx, result) = signalled(move || {
        let result = ctx.term_interruptible();
        (ctx, result)
    });
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
    let late = peer_ctx.socket(SocketType::PULL).unwrap();
    late.bind(&endpoint).unwrap();
    ctx.term_interruptible().unwrap();
    assert_eq!(late.recv_bytes(0).unwrap(), b"lingered");
}

#[test]
fn term_waits_through_handled_signals_by_default() {
    handled();
    let ctx = Context::new();
    let open = ctx.socket(SocketType::PUSH).unwrap();
    let waiting = ctx.clone();
    let (tx, rx) = mpsc::channel();
    let term = thread::spawn(move || {
        tx.send(pthread_self()).unwrap();
        waiting.term()
    });
    signal_five_times(rx.recv().unwrap());
    assert!(!term.is_finished(), "a signal ended the term");
    drop(open);
    term.join().unwrap().unwrap();
}
