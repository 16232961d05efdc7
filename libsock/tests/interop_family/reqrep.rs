//! REQ/REP through ROUTER and DEALER.

use super::*;

/// Two REQs of `req_lib` (one named, one anonymous) talk to a ROUTER of the other library,
/// which answers them out of order by their envelopes.
fn reqs_through_router_case(req_lib: Lib, router_binds: bool) {
    let world = World::new();
    let router = world.socket(req_lib.other(), ROUTER);
    let named = world.socket(req_lib, REQ);
    named.set_routing_id(b"client-a");
    let anon = world.socket(req_lib, REQ);
    if router_binds {
        let ep = router.bind(&world, "tcp");
        named.connect(&ep);
        anon.connect(&ep);
    } else {
        router.connect(&named.bind(&world, "tcp"));
        router.connect(&anon.bind(&world, "tcp"));
    }
    for round in 0..3 {
        named.send(format!("from a {round}"));
        anon.send_parts(&[format!("from anon {round}"), "more".into()]);
        let mut by_body = std::collections::HashMap::new();
        for _ in 0..2 {
            let m = router.recv_parts();
            assert!(
                m.len() >= 3 && m[1].is_empty(),
                "{}: envelope [id, \"\", body]: {:?}",
                router.label(),
                show(m)
            );
            by_body.insert(m[2].clone(), m);
        }
        let a = &by_body[format!("from a {round}").as_bytes()];
        assert_eq!(a, &parts(&["client-a", "", &format!("from a {round}")]));
        let b = &by_body[format!("from anon {round}").as_bytes()];
        assert_eq!(b.len(), 4);
        assert_eq!(b[3], b"more");
        assert_auto_id(&b[0], &router.label());
        // Reply to the second asker first.
        router.send_parts(&[&b[0][..], b"", format!("to anon {round}").as_bytes()]);
        router.send_parts(&[&a[0][..], b"", format!("to a {round}").as_bytes(), b"x"]);
        assert_eq!(anon.recv(), format!("to anon {round}").into_bytes());
        assert_eq!(named.recv_parts(), parts(&[&format!("to a {round}"), "x"]));
    }
    assert_no_io_panics();
}

#[test]
fn libzmq_reqs_through_libsock_router_router_binds() {
    reqs_through_router_case(Lib::Libzmq, true);
}

#[test]
fn libzmq_reqs_through_libsock_router_reqs_bind() {
    reqs_through_router_case(Lib::Libzmq, false);
}

#[test]
fn libsock_reqs_through_libzmq_router_router_binds() {
    reqs_through_router_case(Lib::Libsock, true);
}

#[test]
fn libsock_reqs_through_libzmq_router_reqs_bind() {
    reqs_through_router_case(Lib::Libsock, false);
}

/// REQ clients -> ROUTER (frontend) | DEALER (backend) -> REP workers, where the broker's two
/// sockets are of `broker_lib` and the clients and workers of the other library; the test
/// thread forwards frames between frontend and backend by hand.
fn broker_chain_case(broker_lib: Lib, transport: &str) {
    const CLIENTS: usize = 3;
    const WORKERS: usize = 2;
    const REQUESTS: usize = 30;
    let started = Instant::now();
    let world = World::new();
    let edge = broker_lib.other();
    let frontend = world.socket(broker_lib, ROUTER);
    let backend = world.socket(broker_lib, DEALER);
    let fe = frontend.bind(&world, transport);
    let be = backend.bind(&world, transport);
    let clients: Vec<Sock> = (0..CLIENTS)
        .map(|_| {
            let s = world.socket(edge, REQ);
            s.connect(&fe);
            s
        })
        .collect();
    let workers: Vec<Sock> = (0..WORKERS)
        .map(|_| {
            let s = world.socket(edge, REP);
            s.set_rcvtimeo(20);
            s.connect(&be);
            s
        })
        .collect();
    let done = AtomicBool::new(false);
    let served = Mutex::new(vec![0usize; WORKERS]);
    let forwarded = std::thread::scope(|scope| {
        for (w, worker) in workers.into_iter().enumerate() {
            let (done, served) = (&done, &served);
            scope.spawn(move || {
                while !done.load(Ordering::Acquire) {
                    if let Some(request) = worker.try_recv_parts() {
                        let mut reply = vec![format!("worker {w}").into_bytes()];
                        reply.extend(request);
                        worker.send_parts(&reply);
                        served.lock().unwrap()[w] += 1;
                    }
                }
            });
        }
        let client_threads: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(c, client)| {
                scope.spawn(move || {
                    for i in 0..REQUESTS {
                        let request = format!("client {c} request {i}");
                        client.send_parts(&[request.as_str(), "payload"]);
                        let reply = client.recv_parts();
                        assert_eq!(reply.len(), 3, "client {c}: {:?}", show(reply));
                        assert!(reply[0].starts_with(b"worker "), "client {c}: {:?}", show(reply));
                        assert_eq!(
                            &reply[1..],
                            &parts(&[&request, "payload"])[..],
                            "client {c} got another's reply"
                        );
                    }
                })
            })
            .collect();
        // The broker: frontend -> backend keeps [id, "", body...]; backend -> frontend returns it.
        let deadline = Instant::now() + ms(10_000);
        let mut forwarded = 0usize;
        while !client_threads.iter().all(|t| t.is_finished()) {
            if Instant::now() > deadline {
                done.store(true, Ordering::Release);
                panic!("broker: clients not done after 10 s ({forwarded} messages forwarded)");
            }
            poll_in(&frontend, &backend, 10);
            while let Some(m) = frontend.recv_nowait() {
                assert!(m.len() >= 3 && m[1].is_empty(), "frontend got {:?}", show(m));
                backend.send_parts(&m);
                forwarded += 1;
            }
            while let Some(m) = backend.recv_nowait() {
                assert!(m.len() >= 3 && m[1].is_empty(), "backend got {:?}", show(m));
                frontend.send_parts(&m);
                forwarded += 1;
            }
        }
        done.store(true, Ordering::Release);
        for t in client_threads {
            if let Err(e) = t.join() {
                std::panic::resume_unwind(e);
            }
        }
        forwarded
    });
    assert_eq!(forwarded, 2 * CLIENTS * REQUESTS);
    let served = served.into_inner().unwrap();
    // How the work was spread is not checked here (see `round_robin_*`): only that every
    // reply found its way back through both libraries.
    assert_eq!(served.iter().sum::<usize>(), CLIENTS * REQUESTS);
    assert_no_io_panics();
    eprintln!("broker in {broker_lib:?} over {transport}: served {served:?} in {:?}", started.elapsed());
}

#[test]
fn broker_chain_libzmq_req_libsock_router_dealer_libzmq_rep_tcp() {
    broker_chain_case(Lib::Libsock, "tcp");
}

#[test]
fn broker_chain_libzmq_req_libsock_router_dealer_libzmq_rep_ipc() {
    broker_chain_case(Lib::Libsock, "ipc");
}

#[test]
fn broker_chain_libsock_req_libzmq_router_dealer_libsock_rep_tcp() {
    broker_chain_case(Lib::Libzmq, "tcp");
}

/// A libsock DEALER or REQ connected to two libzmq peers (DEALERs or REPs) sends four
/// messages: round robin gives each peer two, whatever the number of frames per message
/// (libzmq's lb_t moves to the next pipe after the last frame of a message).
fn round_robin_case(kind: SocketType, multipart: bool) {
    let world = World::new();
    let ls = world.socket(Lib::Libsock, kind);
    let peer_kind = if kind == REQ { REP } else { DEALER };
    // Connect-side pipes exist from connect() on, so both peers take part from the start.
    let peers: Vec<Sock> = (0..2)
        .map(|_| {
            let p = world.socket(Lib::Libzmq, peer_kind);
            ls.connect(&p.bind(&world, "tcp"));
            p
        })
        .collect();
    let mut counts = [0usize; 2];
    for i in 0..4 {
        let msg = if multipart { parts(&[&format!("m{i}"), "part 2"]) } else { parts(&[&format!("m{i}")]) };
        ls.send_parts(&msg);
        if kind == REQ {
            // Whichever REP got the request answers it.
            let deadline = Instant::now() + ms(3000);
            'wait: loop {
                for (k, p) in peers.iter().enumerate() {
                    if let Some(m) = p.recv_nowait() {
                        assert_eq!(m, msg);
                        counts[k] += 1;
                        p.send("ok");
                        break 'wait;
                    }
                }
                assert!(Instant::now() < deadline, "request {i} reached no REP");
                std::thread::sleep(ms(2));
            }
            assert_eq!(ls.recv(), b"ok");
        }
    }
    if kind == DEALER {
        for (k, p) in peers.iter().enumerate() {
            // Two each, in the usual time; then a short wait shows nothing more comes.
            while counts[k] < 2 {
                let Some(m) = p.try_recv_parts() else { break };
                assert_eq!(m.len(), msg_len(multipart), "{:?}", show(m));
                counts[k] += 1;
            }
            p.set_rcvtimeo(300);
            while let Some(m) = p.try_recv_parts() {
                assert_eq!(m.len(), msg_len(multipart), "{:?}", show(m));
                counts[k] += 1;
            }
        }
    }
    assert_eq!(
        counts,
        [2, 2],
        "libsock {kind} spreads {} over two peers",
        match (kind, multipart) {
            (REQ, _) => "requests (delimiter + body: always multipart on the wire)",
            (_, true) => "multipart messages",
            (_, false) => "single-frame messages",
        }
    );
    assert_no_io_panics();
}

fn msg_len(multipart: bool) -> usize {
    if multipart {
        2
    } else {
        1
    }
}

#[test]
fn round_robin_libsock_dealer_single_frame_messages() {
    round_robin_case(DEALER, false);
}

#[test]
fn round_robin_libsock_dealer_multipart_messages() {
    round_robin_case(DEALER, true);
}

#[test]
fn round_robin_libsock_req_over_two_libzmq_reps() {
    round_robin_case(REQ, false);
}
