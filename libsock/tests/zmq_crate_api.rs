//! Code written for the `zmq` crate runs on libsock: the same source (the macro below) is
//! compiled twice, once against the `zmq` crate (libzmq 4.3) and once against libsock under
//! the name `zmq` (`use libsock as zmq`), and each program must behave the same on both.
//! README's "Coming from the zmq crate" lists what still differs (error variants, a few
//! return types); the source here stays inside what both accept.

/// The programs, written against the `zmq` crate's API.
macro_rules! zmq_crate_programs {
    () => {
        use std::thread;

        /// libzmq's ETERM (`HAUSNUMERO + 53`) and EAGAIN.
        const ETERM: i32 = 156_384_765;
        const EAGAIN: i32 = 11;
        const ENOENT: i32 = 2;

        pub fn hello_world() -> Result<(), zmq::Error> {
            let ctx = zmq::Context::new();
            ctx.set_io_threads(2)?;
            let rep = ctx.socket(zmq::REP)?;
            rep.set_linger(0)?;
            rep.bind("tcp://127.0.0.1:*")?;
            let endpoint = last_endpoint(&rep);
            let req = ctx.socket(zmq::REQ)?;
            req.set_linger(0)?;
            req.connect(&endpoint)?;
            req.send("Hello", 0)?;
            let request = rep.recv_msg(0)?;
            assert_eq!(request.as_str(), Some("Hello"));
            assert!(!request.get_more());
            rep.send(zmq::Message::from("World"), 0)?;
            assert_eq!(req.recv_string(0)?, Ok("World".to_owned()));
            assert_eq!(rep.get_socket_type()?, zmq::REP);
            Ok(())
        }

        pub fn messages_multipart_and_buffers() -> Result<(), zmq::Error> {
            let ctx = zmq::Context::new();
            let pull = ctx.socket(zmq::PULL)?;
            pull.bind("inproc://api-multipart")?;
            let push = ctx.socket(zmq::PUSH)?;
            push.connect("inproc://api-multipart")?;
            push.send_multipart(["job", "42"], 0)?;
            assert_eq!(pull.recv_multipart(0)?, vec![b"job".to_vec(), b"42".to_vec()]);

            let mut sized = zmq::Message::with_size(4);
            assert_eq!(&sized[..], &[0u8; 4][..]);
            sized.copy_from_slice(b"abcd");
            push.send(sized, zmq::SNDMORE)?;
            push.send(&b"tail"[..], 0)?;
            let mut msg = zmq::Message::new();
            pull.recv(&mut msg, 0)?;
            assert_eq!(&msg[..], b"abcd");
            assert!(msg.get_more() && pull.get_rcvmore()?);
            let mut buf = [0u8; 2];
            assert_eq!(pull.recv_into(&mut buf, 0)?, 4, "the frame's size, cut to the buffer");
            assert_eq!(&buf, b"ta");
            assert!(!pull.get_rcvmore()?);

            let err = pull.recv_bytes(zmq::DONTWAIT).unwrap_err();
            assert_eq!(err.to_raw(), EAGAIN);
            Ok(())
        }

        pub fn options_poll_and_pubsub() -> Result<(), zmq::Error> {
            let ctx = zmq::Context::new();
            let publisher = ctx.socket(zmq::PUB)?;
            publisher.set_sndhwm(100)?;
            assert_eq!(publisher.get_sndhwm()?, 100);
            publisher.bind("inproc://api-pubsub")?;
            let subscriber = ctx.socket(zmq::SUB)?;
            subscriber.set_identity(b"me")?;
            assert_eq!(subscriber.get_identity()?, b"me".to_vec());
            subscriber.set_rcvtimeo(5_000)?;
            subscriber.set_subscribe(b"news")?;
            subscriber.connect("inproc://api-pubsub")?;
            let mut items = [subscriber.as_poll_item(zmq::POLLOUT)];
            assert!(items[0].has_socket(&subscriber) && !items[0].has_socket(&publisher));
            items[0].set_events(zmq::POLLIN);
            assert_eq!(zmq::poll(&mut items, 0)?, 0);
            assert!(!items[0].is_readable());
            assert_eq!(subscriber.poll(zmq::POLLIN, 0)?, 0);
            assert_eq!(publisher.poll(zmq::POLLOUT, 0)?, 1, "PUB never blocks");
            let stdin = zmq::PollItem::from_fd(0, zmq::POLLIN);
            assert!(stdin.has_fd(0) && !stdin.has_fd(1) && !stdin.has_socket(&subscriber));
            // The subscription reaches the publisher asynchronously: publish until it lands.
            for _ in 0..500 {
                publisher.send("weather: rain", 0)?;
                publisher.send("news: libsock", 0)?;
                if zmq::poll(&mut items, 10)? == 1 {
                    break;
                }
            }
            assert!(items[0].is_readable());
            assert_eq!(subscriber.poll(zmq::POLLIN, -1)?, 1);
            assert_eq!(subscriber.recv_string(0)?, Ok("news: libsock".to_owned()));
            Ok(())
        }

        pub fn monitor_reports_listening() -> Result<(), zmq::Error> {
            let ctx = zmq::Context::new();
            let server = ctx.socket(zmq::ROUTER)?;
            server.set_linger(0)?;
            server.monitor("inproc://api-monitor", zmq::SocketEvent::ALL as i32)?;
            let events = ctx.socket(zmq::PAIR)?;
            events.set_linger(0)?;
            events.set_rcvtimeo(5_000)?;
            events.connect("inproc://api-monitor")?;
            server.bind("tcp://127.0.0.1:*")?;
            let frames = events.recv_multipart(0)?;
            assert_eq!(frames.len(), 2);
            assert_eq!(u16::from_le_bytes([frames[0][0], frames[0][1]]), 0x0008, "LISTENING");
            assert_eq!(String::from_utf8_lossy(&frames[1]), last_endpoint(&server));
            Ok(())
        }

        pub fn proxy_with_capture_until_destroy() -> Result<(), zmq::Error> {
            let mut ctx = zmq::Context::new();
            let mut frontend = ctx.socket(zmq::PULL)?;
            frontend.bind("inproc://api-proxy-in")?;
            let mut backend = ctx.socket(zmq::PUSH)?;
            backend.bind("inproc://api-proxy-out")?;
            let mut capture = ctx.socket(zmq::PAIR)?;
            capture.bind("inproc://api-proxy-capture")?;
            for s in [&frontend, &backend, &capture] {
                s.set_linger(0)?;
            }
            let proxy = thread::spawn(move || {
                let outcome = zmq::proxy_with_capture(&mut frontend, &mut backend, &mut capture);
                outcome.map_err(|e| e.to_raw())
            });
            let input = ctx.socket(zmq::PUSH)?;
            input.connect("inproc://api-proxy-in")?;
            let output = ctx.socket(zmq::PULL)?;
            output.connect("inproc://api-proxy-out")?;
            let copies = ctx.socket(zmq::PAIR)?;
            copies.connect("inproc://api-proxy-capture")?;
            input.send("through", 0)?;
            assert_eq!(output.recv_bytes(0)?, b"through");
            assert_eq!(copies.recv_bytes(0)?, b"through");
            for s in [&input, &output, &copies] {
                s.set_linger(0)?;
            }
            drop((input, output, copies));
            // The proxy's sockets fail with ETERM; its thread drops them; destroy returns.
            ctx.destroy()?;
            assert_eq!(proxy.join().unwrap(), Err(ETERM));
            Ok(())
        }

        pub fn a_dialer_without_reconnect_forgets_its_endpoint() -> Result<(), zmq::Error> {
            let ctx = zmq::Context::new();
            let server = ctx.socket(zmq::PULL)?;
            server.set_linger(0)?;
            server.bind("tcp://127.0.0.1:*")?;
            let endpoint = last_endpoint(&server);
            let client = ctx.socket(zmq::PUSH)?;
            client.set_linger(0)?;
            client.set_reconnect_ivl(-1)?;
            client.monitor("inproc://api-gone", 0x0200)?; // DISCONNECTED
            let events = ctx.socket(zmq::PAIR)?;
            events.set_rcvtimeo(5_000)?;
            events.connect("inproc://api-gone")?;
            client.connect(&endpoint)?;
            client.send("x", 0)?;
            assert_eq!(server.recv_bytes(0)?, b"x");
            drop(server);
            let frames = events.recv_multipart(0)?;
            assert_eq!(u16::from_le_bytes([frames[0][0], frames[0][1]]), 0x0200, "DISCONNECTED");
            // libzmq's session tells the socket just after the event (libsock just before).
            thread::sleep(std::time::Duration::from_millis(200));
            assert_eq!(client.disconnect(&endpoint).map_err(|e| e.to_raw()), Err(ENOENT));
            Ok(())
        }

        /// Round robin as libzmq's `lb_t` turns it: after the last peer the turn wraps to
        /// the first at once, so a peer that joins then waits one message (czmq's
        /// zpoller_test relies on this).
        pub fn push_gives_a_new_peer_its_turn_after_the_first() -> Result<(), zmq::Error> {
            let ctx = zmq::Context::new();
            let push = ctx.socket(zmq::PUSH)?;
            push.set_linger(0)?;
            push.bind("tcp://127.0.0.1:*")?;
            let endpoint = last_endpoint(&push);
            let (a, b) = (ctx.socket(zmq::PULL)?, ctx.socket(zmq::PULL)?);
            a.set_rcvtimeo(5_000)?;
            b.set_rcvtimeo(5_000)?;
            a.connect(&endpoint)?;
            push.send("1", 0)?; // queued for A's connection
            assert_eq!(a.recv_bytes(0)?, b"1");
            // B's handshake done (however long a loaded machine takes), and a little longer
            // for the PUSH to take its pipe (libzmq reads its commands at most once a ms).
            push.monitor("inproc://api-turn", 0x1000)?; // HANDSHAKE_SUCCEEDED
            let events = ctx.socket(zmq::PAIR)?;
            events.set_rcvtimeo(10_000)?;
            events.connect("inproc://api-turn")?;
            b.connect(&endpoint)?;
            let frames = events.recv_multipart(0)?;
            assert_eq!(u16::from_le_bytes([frames[0][0], frames[0][1]]), 0x1000, "HANDSHAKE_SUCCEEDED");
            thread::sleep(std::time::Duration::from_millis(100));
            for m in ["2", "3", "4", "5"] {
                push.send(m, 0)?;
            }
            assert_eq!(a.recv_bytes(0)?, b"2", "the turn wrapped to A before B joined");
            assert_eq!(b.recv_bytes(0)?, b"3");
            assert_eq!(a.recv_bytes(0)?, b"4");
            assert_eq!(b.recv_bytes(0)?, b"5");
            Ok(())
        }

        /// `poll` reads the descriptors before the sockets' events, as libzmq's zmq_poll: an
        /// item for a socket's own ZMQ_FD is ready together with the socket's item, though
        /// reading the socket's events clears that descriptor (czmq's zpoller_test polls both).
        pub fn poll_reports_a_sockets_fd_with_the_socket() -> Result<(), zmq::Error> {
            let ctx = zmq::Context::new();
            let pull = ctx.socket(zmq::PULL)?;
            pull.bind("tcp://127.0.0.1:*")?;
            let push = ctx.socket(zmq::PUSH)?;
            push.set_linger(0)?;
            push.connect(&last_endpoint(&pull))?;
            push.send("x", 0)?;
            thread::sleep(std::time::Duration::from_millis(300)); // delivered
            let fd = pull.get_fd()?;
            let mut items = [pull.as_poll_item(zmq::POLLIN), zmq::PollItem::from_fd(fd, zmq::POLLIN)];
            assert_eq!(zmq::poll(&mut items, 1_000)?, 2);
            assert!(items[0].is_readable() && items[1].is_readable());
            // The socket's item consumed the signal: the descriptor alone is quiet now.
            let mut fd_only = [zmq::PollItem::from_fd(fd, zmq::POLLIN)];
            assert_eq!(zmq::poll(&mut fd_only, 0)?, 0);
            assert_eq!(pull.recv_bytes(0)?, b"x");
            Ok(())
        }

        /// A SUB polls readable only for a message `recv` would return, as libzmq's xsub
        /// (which filters while polling): a message queued before an unsubscribe wakes no
        /// poll (pyzmq's test_subscribe_method).
        pub fn sub_is_readable_only_for_subscribed_messages() -> Result<(), zmq::Error> {
            let ctx = zmq::Context::new();
            let publisher = ctx.socket(zmq::PUB)?;
            publisher.set_linger(0)?;
            publisher.bind("tcp://127.0.0.1:*")?;
            let sub = ctx.socket(zmq::SUB)?;
            sub.set_subscribe(b"prefix")?;
            sub.connect(&last_endpoint(&publisher))?;
            // Until the subscription reached the publisher: the first canary through.
            for _ in 0..100 {
                publisher.send("prefix-canary", 0)?;
                if sub.poll(zmq::POLLIN, 100)? > 0 {
                    break;
                }
            }
            assert_eq!(sub.recv_bytes(0)?, b"prefix-canary");
            publisher.send("prefix-late", 0)?;
            thread::sleep(std::time::Duration::from_millis(300)); // queued at the SUB
            sub.set_unsubscribe(b"prefix")?;
            assert_eq!(sub.poll(zmq::POLLIN, 300)?, 0, "nothing it would deliver");
            assert_eq!(sub.recv_bytes(zmq::DONTWAIT).map_err(|e| e.to_raw()), Err(EAGAIN));
            Ok(())
        }

        pub fn version_and_z85() -> Result<(), zmq::Error> {
            let (major, minor, _) = zmq::version();
            assert_eq!((major, minor), (4, 3));
            let key = [7u8; 32];
            let text = zmq::z85_encode(&key).unwrap();
            assert_eq!(text.len(), 40);
            assert_eq!(zmq::z85_decode(&text).unwrap(), key.to_vec());
            Ok(())
        }
    };
}

/// The programs against the `zmq` crate (libzmq).
mod on_libzmq {
    zmq_crate_programs!();

    fn last_endpoint(s: &zmq::Socket) -> String {
        s.get_last_endpoint().unwrap().unwrap()
    }
}

/// The same programs against libsock.
mod on_libsock {
    use libsock as zmq;

    zmq_crate_programs!();

    fn last_endpoint(s: &zmq::Socket) -> String {
        s.get_last_endpoint().unwrap()
    }
}

/// A test per program: first on libzmq (the reference), then on libsock.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if let Err(e) = on_libzmq::$name() {
                    panic!("on libzmq: {e}");
                }
                if let Err(e) = on_libsock::$name() {
                    panic!("on libsock: {e}");
                }
            }
        )*
    };
}

on_both!(
    hello_world,
    messages_multipart_and_buffers,
    options_poll_and_pubsub,
    monitor_reports_listening,
    proxy_with_capture_until_destroy,
    a_dialer_without_reconnect_forgets_its_endpoint,
    push_gives_a_new_peer_its_turn_after_the_first,
    poll_reports_a_sockets_fd_with_the_socket,
    sub_is_readable_only_for_subscribed_messages,
    version_and_z85,
);
