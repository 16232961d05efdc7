//! libsock's library proxies (`libsock::proxy`, `proxy_steerable`) between libzmq peers (the
//! `zmq` crate), and libsock peers through libzmq's own `zmq_proxy`: both directions of
//! interop for the three devices.

use std::thread;
use std::time::Duration;

use libsock::{Context, Error, ProxyStatistics, Socket, SocketType};

const TIMEOUT_MS: i32 = 10_000;

fn bound(ctx: &Context, kind: SocketType, ep: &str) -> (Socket, String) {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.bind(ep).unwrap();
    let ep = s.get_last_endpoint().unwrap();
    (s, ep)
}

fn zs(ctx: &zmq::Context, kind: zmq::SocketType, ep: &str) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s.connect(ep).unwrap();
    s
}

/// Runs a libsock proxy of `kinds` on its own thread (binding both sides on `transport`, a
/// REP control on inproc); returns the endpoints, the context and the thread.
fn libsock_device(
    kinds: (SocketType, SocketType),
    transport: &str,
) -> (String, String, Context, thread::JoinHandle<libsock::Result<()>>) {
    let ctx = Context::new();
    let c = ctx.clone();
    let transport = transport.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    let running = thread::spawn(move || {
        let (mut fe, fe_ep) = bound(&c, kinds.0, &transport);
        let (mut be, be_ep) = bound(&c, kinds.1, &transport);
        let (mut control, _) = bound(&c, SocketType::REP, "inproc://control");
        tx.send((fe_ep, be_ep)).unwrap();
        libsock::proxy_steerable(&mut fe, &mut be, &mut control)
    });
    let (fe, be) = rx.recv().unwrap();
    (fe, be, ctx, running)
}

fn stop(ctx: &Context, running: thread::JoinHandle<libsock::Result<()>>) -> ProxyStatistics {
    let control = ctx.socket(SocketType::REQ).unwrap();
    control.set_rcvtimeo(TIMEOUT_MS).unwrap();
    control.connect("inproc://control").unwrap();
    control.send("STATISTICS", 0).unwrap();
    let stats = ProxyStatistics::from_frames(&control.recv_multipart(0).unwrap()).unwrap();
    control.send("TERMINATE", 0).unwrap();
    control.recv_multipart(0).unwrap();
    running.join().unwrap().unwrap();
    stats
}

#[test]
fn libsock_queue_between_libzmq_clients_and_workers() {
    for transport in ["tcp://127.0.0.1:*", "ipc://*"] {
        let (fe, be, ctx, running) = libsock_device((SocketType::ROUTER, SocketType::DEALER), transport);
        let z = zmq::Context::new();
        // The workers serve until the clients are done (a quiet spell alone does not end
        // them: on a loaded machine a request may take a while to come).
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let rep = zs(&z, zmq::REP, &be);
                rep.set_rcvtimeo(100).unwrap();
                let done = done.clone();
                thread::spawn(move || {
                    let mut n = 0;
                    loop {
                        let Ok(mut parts) = rep.recv_multipart(0) else {
                            if done.load(std::sync::atomic::Ordering::SeqCst) {
                                return n;
                            }
                            continue;
                        };
                        parts.push(format!("w{w}").into_bytes());
                        rep.send_multipart(parts, 0).unwrap();
                        n += 1;
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(100));
        let clients: Vec<_> = (0..3)
            .map(|c| {
                let req = zs(&z, zmq::REQ, &fe);
                thread::spawn(move || {
                    for i in 0..20 {
                        req.send_multipart([format!("c{c}").into_bytes(), format!("{i}").into_bytes()], 0)
                            .unwrap();
                        let reply = req.recv_multipart(0).unwrap();
                        assert_eq!(&reply[..2], [format!("c{c}").into_bytes(), format!("{i}").into_bytes()]);
                    }
                })
            })
            .collect();
        clients.into_iter().for_each(|c| c.join().unwrap());
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let s = stop(&ctx, running);
        assert_eq!((s.frontend.msg_in, s.backend.msg_in), (60, 60), "{transport}");
        let served: Vec<usize> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(served.iter().sum::<usize>(), 60);
        assert!(served.iter().all(|&n| n > 0), "requests were not spread: {served:?}");
    }
}

#[test]
fn libsock_forwarder_between_libzmq_publisher_and_subscribers() {
    let (fe, be, ctx, running) = libsock_device((SocketType::XSUB, SocketType::XPUB), "tcp://127.0.0.1:*");
    let z = zmq::Context::new();
    let publisher = z.socket(zmq::XPUB).unwrap();
    publisher.set_linger(0).unwrap();
    publisher.set_rcvtimeo(TIMEOUT_MS).unwrap();
    publisher.connect(&fe).unwrap();
    let sub = zs(&z, zmq::SUB, &be);
    sub.set_subscribe(b"news").unwrap();
    // The subscription travels SUB -> libsock XPUB -> libsock XSUB -> libzmq XPUB.
    assert_eq!(publisher.recv_bytes(0).unwrap(), b"\x01news");
    for i in 0..10 {
        publisher.send(format!("sport {i}").as_str(), 0).unwrap();
        publisher.send_multipart([format!("news {i}").into_bytes(), b"body".to_vec()], 0).unwrap();
    }
    for i in 0..10 {
        assert_eq!(sub.recv_multipart(0).unwrap(), [format!("news {i}").into_bytes(), b"body".to_vec()]);
    }
    drop(sub);
    assert_eq!(publisher.recv_bytes(0).unwrap(), b"\x00news");
    let s = stop(&ctx, running);
    assert_eq!(s.frontend.msg_in, 10, "the publisher filtered at the source");
}

#[test]
fn libsock_streamer_between_libzmq_pipeline_ends_stops_with_eterm() {
    let ctx = Context::new();
    let c = ctx.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let running = thread::spawn(move || {
        let (pull, a) = bound(&c, SocketType::PULL, "ipc://*");
        let (push, b) = bound(&c, SocketType::PUSH, "tcp://127.0.0.1:*");
        tx.send((a, b)).unwrap();
        libsock::proxy(&pull, &push)
    });
    let (a, b) = rx.recv().unwrap();
    let z = zmq::Context::new();
    let push = zs(&z, zmq::PUSH, &a);
    let pull = zs(&z, zmq::PULL, &b);
    for i in 0..1000 {
        push.send(format!("{i}").as_str(), 0).unwrap();
    }
    for i in 0..1000 {
        assert_eq!(pull.recv_string(0).unwrap().unwrap(), i.to_string());
    }
    ctx.shutdown();
    assert!(matches!(running.join().unwrap(), Err(Error::ContextTerminated)));
}

#[test]
fn libsock_peers_through_libzmq_zmq_proxy() {
    let z = zmq::Context::new();
    let frontend = z.socket(zmq::ROUTER).unwrap();
    frontend.bind("tcp://127.0.0.1:*").unwrap();
    let backend = z.socket(zmq::DEALER).unwrap();
    backend.bind("tcp://127.0.0.1:*").unwrap();
    let (fe, be) =
        (frontend.get_last_endpoint().unwrap().unwrap(), backend.get_last_endpoint().unwrap().unwrap());
    thread::spawn(move || {
        let _ = zmq::proxy(&frontend, &backend); // ends with the process
    });
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::REP).unwrap();
    rep.set_rcvtimeo(TIMEOUT_MS).unwrap();
    rep.connect(&be).unwrap();
    let req = ctx.socket(SocketType::REQ).unwrap();
    req.set_rcvtimeo(TIMEOUT_MS).unwrap();
    req.connect(&fe).unwrap();
    for i in 0..10 {
        req.send(format!("q{i}").as_str(), 0).unwrap();
        let q = rep.recv_bytes(0).unwrap();
        rep.send([&q[..], b"!"].concat(), 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), format!("q{i}!").into_bytes());
    }
}
