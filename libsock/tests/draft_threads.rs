//! [`ThreadSafeSocket`]: one socket used by several threads at once.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use libsock::{
    Context, Error, Message, OptionValue, SocketOption, SocketType, ThreadSafeSocket, CLIENT, SERVER,
};

fn socket(ctx: &Context, kind: SocketType, rcvtimeo: i32) -> ThreadSafeSocket {
    let s = ctx.thread_safe_socket(kind).unwrap();
    s.set_option(SocketOption::LINGER, OptionValue::Int(0)).unwrap();
    s.set_option(SocketOption::RCVTIMEO, OptionValue::Int(rcvtimeo)).unwrap();
    s.set_option(SocketOption::SNDTIMEO, OptionValue::Int(10_000)).unwrap();
    s
}

const _: () = {
    const fn sync<T: Sync + Send>() {}
    sync::<ThreadSafeSocket>();
};

#[test]
fn many_threads_share_a_client_and_a_server() {
    const SENDERS: usize = 4;
    const EACH: usize = 50;
    for transport in ["tcp://127.0.0.1:*", "inproc://draft-threads"] {
        let ctx = Context::new();
        let server = socket(&ctx, SERVER, 100);
        server.bind(transport).unwrap();
        let client = socket(&ctx, CLIENT, 10_000);
        client.connect(&server.get_last_endpoint().unwrap()).unwrap();
        let answered = AtomicUsize::new(0);
        let replies = std::thread::scope(|s| {
            // Three threads serve from one SERVER socket.
            for _ in 0..3 {
                s.spawn(|| {
                    while answered.load(Ordering::SeqCst) < SENDERS * EACH {
                        let request = match server.recv_msg(0) {
                            Ok(m) => m,
                            Err(Error::TimedOut) => continue,
                            Err(e) => panic!("{e}"),
                        };
                        let mut reply = Message::from(format!("re:{}", request.as_str().unwrap()));
                        reply.set_routing_id(request.routing_id()).unwrap();
                        server.send_msg(reply, 0).unwrap();
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            // Four threads send through one CLIENT and collect whichever replies they get.
            let handles: Vec<_> = (0..SENDERS)
                .map(|t| {
                    let client = &client;
                    s.spawn(move || {
                        let mut got = Vec::new();
                        for i in 0..EACH {
                            client.send(format!("{t}-{i}"), 0).unwrap();
                        }
                        for _ in 0..EACH {
                            got.push(String::from_utf8(client.recv_bytes(0).unwrap()).unwrap());
                        }
                        got
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect::<BTreeSet<_>>()
        });
        let expected: BTreeSet<String> =
            (0..SENDERS).flat_map(|t| (0..EACH).map(move |i| format!("re:{t}-{i}"))).collect();
        assert_eq!(replies, expected, "{transport}");
    }
}

#[test]
fn a_blocked_receiver_does_not_hold_up_a_sender() {
    let ctx = Context::new();
    let server = socket(&ctx, SERVER, 10_000);
    server.bind("inproc://draft-blocked").unwrap();
    let client = socket(&ctx, CLIENT, 10_000);
    client.connect("inproc://draft-blocked").unwrap();
    std::thread::scope(|s| {
        // This thread waits in recv on the client before anything was sent ...
        let waiter = s.spawn(|| client.recv_bytes(0));
        // ... while this one sends through the same client (it would time out if the
        // waiting thread kept the socket locked).
        std::thread::sleep(std::time::Duration::from_millis(50));
        client.send("ping", 0).unwrap();
        let request = server.recv_msg(0).unwrap();
        let mut reply = Message::from("pong");
        reply.set_routing_id(request.routing_id()).unwrap();
        server.send_msg(reply, 0).unwrap();
        assert_eq!(waiter.join().unwrap().unwrap(), b"pong");
    });
}

#[test]
fn receives_into_a_message_and_into_a_buffer_as_a_plain_socket_does() {
    let ctx = Context::new();
    let server = socket(&ctx, SERVER, 10_000);
    server.bind("inproc://draft-recv-into").unwrap();
    let client = socket(&ctx, CLIENT, 10_000);
    client.connect("inproc://draft-recv-into").unwrap();
    client.send("first", 0).unwrap();
    client.send("second frame", 0).unwrap();
    // Into a message: its old body is replaced, the routing id comes with the frame.
    let mut msg = Message::from("stale");
    server.recv(&mut msg, 0).unwrap();
    assert_eq!(&msg[..], b"first");
    assert_ne!(msg.routing_id(), 0);
    // Into a buffer too small: what fits, and the frame's whole size.
    let mut buf = [0u8; 6];
    assert_eq!(server.recv_into(&mut buf, 0).unwrap(), 12);
    assert_eq!(&buf, b"second");
    // A failed receive leaves the message empty, as zmq_msg_recv does.
    assert!(matches!(server.recv(&mut msg, libsock::DONTWAIT), Err(Error::WouldBlock)));
    assert!(msg.is_empty());
    // ... but a terminated context leaves it as it was.
    let mut kept = Message::from("kept");
    ctx.shutdown();
    assert!(matches!(server.recv(&mut kept, 0), Err(Error::ContextTerminated)));
    assert_eq!(&kept[..], b"kept");
}

#[test]
fn shutdown_wakes_every_blocked_thread() {
    let ctx = Context::new();
    let client = socket(&ctx, CLIENT, -1);
    client.connect("inproc://draft-nobody").unwrap();
    std::thread::scope(|s| {
        let waiters: Vec<_> = (0..3).map(|_| s.spawn(|| client.recv_msg(0))).collect();
        std::thread::sleep(std::time::Duration::from_millis(50));
        ctx.shutdown();
        for w in waiters {
            assert!(matches!(w.join().unwrap(), Err(Error::ContextTerminated)));
        }
    });
}

#[test]
fn options_by_number_monitor_and_poll_on_a_shared_socket() {
    let ctx = Context::new();
    let server = socket(&ctx, SERVER, 10_000);
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = socket(&ctx, CLIENT, 10_000);
    // ZMQ_THREAD_SAFE (81) reads 1; ZMQ_FD (14) is EINVAL, as libzmq's thread-safe sockets.
    assert_eq!(client.get_option_raw(81).unwrap(), OptionValue::Int(1));
    assert!(client.get_thread_safe().unwrap());
    assert!(matches!(client.get_option_raw(14), Err(Error::InvalidArgument(_))));
    // By number: SNDHWM (23) and TYPE (16).
    client.set_option_raw(23, OptionValue::Int(9)).unwrap();
    assert_eq!(client.get_option_raw(23).unwrap(), OptionValue::Int(9));
    assert_eq!(client.get_option_raw(16).unwrap(), OptionValue::Int(13));
    client.monitor("inproc://draft-threads-monitor", libsock::EVENT_ALL).unwrap();
    let monitor = ctx.socket(SocketType::PAIR).unwrap();
    monitor.connect("inproc://draft-threads-monitor").unwrap();
    client.connect(&server.get_last_endpoint().unwrap()).unwrap();
    // Another thread polls the SERVER while this one sends on the CLIENT.
    std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let mut items = [server.as_poll_item(libsock::POLLIN)];
            libsock::poll(&mut items, 30_000).unwrap();
            items[0].is_readable()
        });
        client.send("ping", 0).unwrap();
        assert!(poller.join().unwrap());
    });
    assert_eq!(server.get_events().unwrap() & libsock::POLLIN, libsock::POLLIN);
    assert_eq!(server.recv_bytes(0).unwrap(), b"ping");
    // The monitor saw the connection (its first frame: event number and value).
    assert!(!monitor.recv_bytes(0).unwrap().is_empty());
}
