//! Context options (`zmq_ctx_set`/`zmq_ctx_get` numbers) and what they change.

use libsock::ctx_options::*;
use libsock::{Context, Error, PAIR};

/// `(name, Cpus_allowed_list)` of this process's threads.
fn threads() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let cpus = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap_or("").trim();
        out.push((comm.trim().to_string(), cpus.to_string()));
    }
    out
}

#[test]
fn defaults_match_libzmq() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    assert_eq!(ctx.get(IO_THREADS).unwrap(), z.get_io_threads().unwrap());
    let expected = [(MAX_SOCKETS, 1023), (SOCKET_LIMIT, 65535), (MAX_MSGSZ, i32::MAX), (MSG_T_SIZE, 64)];
    for (opt, value) in expected {
        assert_eq!(ctx.get(opt).unwrap(), value, "option {opt}");
    }
    for (opt, value) in [(ZERO_COPY_RECV, 1), (IPV6, 0), (BLOCKY, 1), (THREAD_SCHED_POLICY, -1)] {
        assert_eq!(ctx.get(opt).unwrap(), value, "option {opt}");
    }
    assert_eq!(ctx.get(THREAD_AFFINITY_CPU_ADD).unwrap_err().to_raw(), 22, "set-only");
    assert_eq!(ctx.set(MSG_T_SIZE, 1).unwrap_err().to_raw(), 22, "get-only");
    assert_eq!(ctx.set(1234, 1).unwrap_err().to_raw(), 22);
}

#[test]
fn max_sockets_is_enforced_with_emfile() {
    let ctx = Context::new();
    ctx.set(MAX_SOCKETS, 2).unwrap();
    let a = ctx.socket(PAIR).unwrap();
    let _b = ctx.socket(PAIR).unwrap();
    let err = ctx.socket(PAIR).map(|_| ()).unwrap_err();
    assert!(matches!(err, Error::TooManyOpenFiles) && err.to_raw() == 24);
    drop(a);
    let c = ctx.socket(PAIR).unwrap();
    // A socket with a live tcp connection counts as closed once dropped, though its I/O
    // thread may still hold its state for a moment: MAX_SOCKETS counts sockets, as libzmq.
    let peer_ctx = Context::new();
    let peer = peer_ctx.socket(PAIR).unwrap();
    peer.bind("tcp://127.0.0.1:*").unwrap();
    c.connect(&peer.get_last_endpoint().unwrap()).unwrap();
    c.send("x", 0).unwrap();
    assert_eq!(peer.recv_bytes(0).unwrap(), b"x");
    drop(c);
    ctx.socket(PAIR).unwrap();
}

#[test]
fn blocky_and_ipv6_set_new_sockets_defaults() {
    let ctx = Context::new();
    assert_eq!(ctx.socket(PAIR).unwrap().get_linger().unwrap(), -1);
    ctx.set(BLOCKY, 0).unwrap();
    ctx.set(IPV6, 1).unwrap();
    let s = ctx.socket(PAIR).unwrap();
    assert_eq!(s.get_linger().unwrap(), 0, "BLOCKY = 0: sockets do not linger");
    assert!(s.get_ipv6().unwrap());
}

#[test]
fn io_thread_options_shape_the_threads() {
    let ctx = Context::new();
    ctx.set(IO_THREADS, 3).unwrap();
    ctx.set_thread_name_prefix("ctxopt").unwrap();
    ctx.set(THREAD_AFFINITY_CPU_ADD, 0).unwrap();
    assert_eq!(ctx.get_io_threads(), 3);
    let _s = ctx.socket(PAIR).unwrap();
    // Each thread names and pins itself as it starts: wait until all three have.
    let pinned =
        || threads().into_iter().filter(|(name, cpus)| name.starts_with("ctxopt/io-") && cpus == "0").count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pinned() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(pinned(), 3, "three I/O threads named ctxopt/io-N, pinned to CPU 0: {:?}", threads());
    // Thread options set after the threads started change nothing (as in libzmq).
    ctx.set(IO_THREADS, 5).unwrap();
    assert_eq!(ctx.get_io_threads(), 3);
}

#[test]
fn zero_io_threads_is_inproc_only() {
    let ctx = Context::new();
    ctx.set(IO_THREADS, 0).unwrap();
    let a = ctx.socket(PAIR).unwrap();
    // libzmq answers EMTHREAD for tcp and ipc, on bind and on connect.
    let z = zmq::Context::new();
    z.set_io_threads(0).unwrap();
    let zs = z.socket(zmq::PAIR).unwrap();
    assert_eq!(zs.bind("tcp://127.0.0.1:*").unwrap_err(), zmq::Error::EMTHREAD);
    assert_eq!(zs.connect("tcp://127.0.0.1:5555").unwrap_err(), zmq::Error::EMTHREAD);
    for endpoint in ["tcp://127.0.0.1:*", "ipc:///tmp/libsock-no-io-threads"] {
        let e = a.bind(endpoint).unwrap_err();
        assert!(matches!(e, Error::NoIoThread), "{e}");
        assert_eq!(e.to_raw(), libsock::EMTHREAD);
        assert_eq!(e.to_raw(), zmq::Error::EMTHREAD.to_raw());
    }
    for endpoint in ["tcp://127.0.0.1:5555", "ipc:///tmp/libsock-no-io-threads"] {
        assert_eq!(a.connect(endpoint).unwrap_err().to_raw(), libsock::EMTHREAD);
    }
    assert!(!std::path::Path::new("/tmp/libsock-no-io-threads").exists());
    a.bind("inproc://no-io").unwrap();
    let b = ctx.socket(PAIR).unwrap();
    b.connect("inproc://no-io").unwrap();
    b.send("still works", 0).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"still works");
}
