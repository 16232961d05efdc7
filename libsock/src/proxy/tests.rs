//! The proxy loop over inproc sockets: forwarding, back-pressure, capture, control, ending.

use std::thread;

use super::*;
use crate::{Context, DEALER, DONTWAIT, PAIR, PULL, PUSH, REP, REQ, ROUTER};

fn socket(ctx: &Context, kind: crate::SocketType, bind: Option<&str>, connect: Option<&str>) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(5000).unwrap();
    s.set_sndtimeo(5000).unwrap();
    if let Some(ep) = bind {
        s.bind(ep).unwrap();
    }
    if let Some(ep) = connect {
        s.connect(ep).unwrap();
    }
    s
}

/// Starts a steerable streamer (PULL `in` → PUSH `out`) on its own thread, with a PAIR
/// control at `ctl` and a PAIR capture at `cap`.
fn streamer(ctx: &Context, name: &str, hwm: i32) -> thread::JoinHandle<Result<()>> {
    let ctx = ctx.clone();
    let name = name.to_owned();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = thread::spawn(move || {
        let mut input = ctx.socket(PULL).unwrap();
        input.set_rcvhwm(hwm).unwrap();
        input.bind(&format!("inproc://{name}-in")).unwrap();
        let mut output = socket(&ctx, PUSH, Some(&format!("inproc://{name}-out")), None);
        output.set_sndhwm(hwm).unwrap();
        let mut control = socket(&ctx, PAIR, Some(&format!("inproc://{name}-ctl")), None);
        let mut capture = socket(&ctx, PAIR, Some(&format!("inproc://{name}-cap")), None);
        ready_tx.send(()).unwrap();
        proxy_steerable_with_capture(&mut input, &mut output, &mut capture, &mut control)
    });
    ready_rx.recv().unwrap();
    handle
}

fn stats_of(control: &Socket) -> ProxyStatistics {
    control.send("STATISTICS", 0).unwrap();
    ProxyStatistics::from_frames(&control.recv_multipart(0).unwrap()).unwrap()
}

#[test]
fn streamer_keeps_multipart_whole_and_counts() {
    let ctx = Context::new();
    let running = streamer(&ctx, "p-multi", 1000);
    let push = socket(&ctx, PUSH, None, Some("inproc://p-multi-in"));
    let pull = socket(&ctx, PULL, None, Some("inproc://p-multi-out"));
    let capture = socket(&ctx, PAIR, None, Some("inproc://p-multi-cap"));
    let control = socket(&ctx, PAIR, None, Some("inproc://p-multi-ctl"));
    for i in 0..100u32 {
        push.send_multipart([format!("head{i}"), "x".repeat(100)], 0).unwrap();
    }
    for i in 0..100u32 {
        assert_eq!(pull.recv_multipart(0).unwrap(), vec![format!("head{i}").into_bytes(), vec![b'x'; 100]]);
        assert_eq!(capture.recv_multipart(0).unwrap()[0], format!("head{i}").into_bytes());
    }
    let s = stats_of(&control);
    let bytes: u64 = (0..100u32).map(|i| format!("head{i}").len() as u64 + 100).sum();
    assert_eq!(s.frontend, SideStats { msg_in: 100, bytes_in: bytes, msg_out: 0, bytes_out: 0 });
    assert_eq!(s.backend, SideStats { msg_in: 0, bytes_in: 0, msg_out: 100, bytes_out: bytes });
    control.send("TERMINATE", 0).unwrap();
    running.join().unwrap().unwrap();
}

#[test]
fn a_full_output_holds_the_input_back_and_loses_nothing() {
    let ctx = Context::new();
    let running = streamer(&ctx, "p-hwm", 10);
    let push = socket(&ctx, PUSH, None, None);
    push.set_sndhwm(10).unwrap();
    push.connect("inproc://p-hwm-in").unwrap();
    let control = socket(&ctx, PAIR, None, Some("inproc://p-hwm-ctl"));
    // No reader yet: the proxy can take only what fits into its output and its input pipes.
    let mut sent = 0u32;
    while push.send(sent.to_string(), DONTWAIT).is_ok() {
        sent += 1;
    }
    assert!(sent < 200, "the proxy kept reading with a full output ({sent} sent)");
    let pull = socket(&ctx, PULL, None, Some("inproc://p-hwm-out"));
    for i in 0..sent {
        assert_eq!(pull.recv_string(0).unwrap().unwrap(), i.to_string());
    }
    assert_eq!(stats_of(&control).backend.msg_out, u64::from(sent));
    control.send("TERMINATE", 0).unwrap();
    running.join().unwrap().unwrap();
}

#[test]
fn pause_holds_messages_until_resume() {
    let ctx = Context::new();
    let running = streamer(&ctx, "p-pause", 1000);
    let control = socket(&ctx, PAIR, None, Some("inproc://p-pause-ctl"));
    let push = socket(&ctx, PUSH, None, Some("inproc://p-pause-in"));
    let pull = socket(&ctx, PULL, None, Some("inproc://p-pause-out"));
    control.send("PAUSE", 0).unwrap();
    // The STATISTICS reply proves PAUSE was applied before the next message.
    assert_eq!(stats_of(&control).frontend.msg_in, 0);
    push.send("held", 0).unwrap();
    pull.set_rcvtimeo(100).unwrap();
    assert!(matches!(pull.recv_bytes(0), Err(Error::TimedOut)));
    control.send("RESUME", 0).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"held");
    control.send("TERMINATE", 0).unwrap();
    running.join().unwrap().unwrap();
}

#[test]
fn queue_with_rep_control_and_capture_of_both_directions() {
    let ctx = Context::new();
    let c = ctx.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let running = thread::spawn(move || {
        let mut frontend = socket(&c, ROUTER, Some("inproc://q-front"), None);
        let mut backend = socket(&c, DEALER, Some("inproc://q-back"), None);
        let mut control = socket(&c, REP, Some("inproc://q-ctl"), None);
        let mut capture = socket(&c, PAIR, Some("inproc://q-cap"), None);
        ready_tx.send(()).unwrap();
        proxy_steerable_with_capture(&mut frontend, &mut backend, &mut capture, &mut control)
    });
    ready_rx.recv().unwrap();
    let capture = socket(&ctx, PAIR, None, Some("inproc://q-cap"));
    let worker = socket(&ctx, REP, None, Some("inproc://q-back"));
    let client = socket(&ctx, REQ, None, Some("inproc://q-front"));
    let control = socket(&ctx, REQ, None, Some("inproc://q-ctl"));
    client.send("ping", 0).unwrap();
    assert_eq!(worker.recv_bytes(0).unwrap(), b"ping");
    worker.send("pong", 0).unwrap();
    assert_eq!(client.recv_bytes(0).unwrap(), b"pong");
    // Request (routing id, delimiter, body), then reply, each a whole message.
    let request = capture.recv_multipart(0).unwrap();
    assert_eq!(&request[1..], [b"".to_vec(), b"ping".to_vec()]);
    let reply = capture.recv_multipart(0).unwrap();
    assert_eq!((reply[0].clone(), &reply[1..]), (request[0].clone(), &[b"".to_vec(), b"pong".to_vec()][..]));
    for command in ["PAUSE", "RESUME", "bogus"] {
        control.send(command, 0).unwrap();
        assert_eq!(control.recv_multipart(0).unwrap(), vec![Vec::<u8>::new()], "{command}");
    }
    control.send("STATISTICS", 0).unwrap();
    let s = ProxyStatistics::from_frames(&control.recv_multipart(0).unwrap()).unwrap();
    assert_eq!((s.frontend.msg_in, s.frontend.msg_out, s.backend.msg_in, s.backend.msg_out), (1, 1, 1, 1));
    control.send("TERMINATE", 0).unwrap();
    assert_eq!(control.recv_multipart(0).unwrap(), vec![Vec::<u8>::new()]);
    running.join().unwrap().unwrap();
}

#[test]
fn shutdown_ends_a_plain_proxy_with_eterm_and_a_stopper_ends_it_cleanly() {
    let ctx = Context::new();
    let c = ctx.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let running = thread::spawn(move || {
        let (a, b) = (socket(&c, PULL, None, None), socket(&c, PUSH, None, None));
        tx.send(()).unwrap();
        proxy(&a, &b)
    });
    rx.recv().unwrap();
    thread::sleep(std::time::Duration::from_millis(20)); // let it reach its wait
    ctx.shutdown();
    assert!(matches!(running.join().unwrap(), Err(Error::ContextTerminated)));

    let ctx = Context::new();
    let (a, b) = (socket(&ctx, PULL, None, None), socket(&ctx, PUSH, None, None));
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || {
        let stopper: ProxyStopper = rx.recv().unwrap();
        thread::sleep(std::time::Duration::from_millis(20));
        stopper.stop();
    });
    let mut proxy = Proxy::new(&a, &b);
    tx.send(proxy.stopper().unwrap()).unwrap();
    proxy.run().unwrap();
    waiter.join().unwrap();
}

#[test]
fn a_nudge_makes_a_waiting_proxy_come_round_once_without_stopping_it() {
    let ctx = Context::new();
    let (a, b) = (socket(&ctx, PULL, None, None), socket(&ctx, PUSH, None, None));
    let mut proxy = Proxy::new(&a, &b);
    let (stats, stopper) = (proxy.stats(), proxy.stopper().unwrap());
    let prober = thread::spawn(move || {
        let settle = || {
            // Waits until the count holds still for 50 ms (the proxy sleeps in its wait).
            let mut last = stats.turns();
            loop {
                thread::sleep(std::time::Duration::from_millis(50));
                let now = stats.turns();
                if now == last {
                    return now;
                }
                last = now;
            }
        };
        let idle = settle();
        let mut after = Vec::new();
        for _ in 0..3 {
            stopper.nudge();
            after.push(settle());
        }
        stopper.stop();
        (idle, after)
    });
    proxy.run().unwrap();
    let (idle, after) = prober.join().unwrap();
    assert!(idle >= 1, "the loop never turned");
    // Each nudge: one or two turns (a wake may race the sleep), then quiet again: the byte
    // was taken, so the wait does not spin.
    let mut prev = idle;
    for n in after {
        assert!((prev + 1..=prev + 2).contains(&n), "turns {prev} -> {n} after a nudge");
        prev = n;
    }
}

#[test]
fn sockets_that_cannot_forward_are_refused() {
    let ctx = Context::new();
    let (a, b) = (socket(&ctx, PUSH, None, None), socket(&ctx, PUSH, None, None));
    assert!(matches!(proxy(&a, &b), Err(Error::InvalidArgument(_))));
}

/// A streamer PULL `in` → PUSH `out` copying to a PUSH capture bound at `cap` with `hwm`,
/// nothing connected to the capture yet; stopped by the returned stopper.
fn streamer_with_push_capture(
    ctx: &Context,
    name: &str,
    hwm: i32,
) -> (thread::JoinHandle<(Result<()>, ProxyStatistics)>, ProxyStopper) {
    let (ctx, name) = (ctx.clone(), name.to_owned());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = thread::spawn(move || {
        let input = socket(&ctx, PULL, Some(&format!("inproc://{name}-in")), None);
        let output = socket(&ctx, PUSH, Some(&format!("inproc://{name}-out")), None);
        let capture = socket(&ctx, PUSH, None, None);
        capture.set_sndhwm(hwm).unwrap();
        capture.bind(&format!("inproc://{name}-cap")).unwrap();
        let mut proxy = Proxy::new(&input, &output).capture(&capture);
        let (stats, stopper) = (proxy.stats(), proxy.stopper().unwrap());
        ready_tx.send(stopper).unwrap();
        let result = proxy.run();
        (result, stats.snapshot())
    });
    (handle, ready_rx.recv().unwrap())
}

#[test]
fn a_capture_peer_that_connects_late_still_gets_every_copy_in_order() {
    let ctx = Context::new();
    let (running, stopper) = streamer_with_push_capture(&ctx, "p-late", 1000);
    let push = socket(&ctx, PUSH, None, Some("inproc://p-late-in"));
    let pull = socket(&ctx, PULL, None, Some("inproc://p-late-out"));
    for i in 0..50u32 {
        push.send_multipart([format!("m{i}"), "tail".into()], 0).unwrap();
    }
    for i in 0..50u32 {
        assert_eq!(pull.recv_multipart(0).unwrap()[0], format!("m{i}").into_bytes());
    }
    // Every message went through before the capture had a peer (libzmq's proxy would have
    // blocked on the first copy; pyzmq's proxy tests connect the capture just before sending).
    let capture = socket(&ctx, PULL, None, Some("inproc://p-late-cap"));
    for i in 0..50u32 {
        assert_eq!(capture.recv_multipart(0).unwrap(), vec![format!("m{i}").into_bytes(), b"tail".to_vec()]);
    }
    stopper.stop();
    let (result, stats) = running.join().unwrap();
    result.unwrap();
    assert_eq!(stats.capture_dropped, 0);
}

#[test]
fn a_capture_that_never_reads_drops_beyond_its_backlog_and_the_proxy_goes_on() {
    const HWM: i32 = 10;
    const SENT: u32 = 500;
    let ctx = Context::new();
    let (running, stopper) = streamer_with_push_capture(&ctx, "p-stuck", HWM);
    let capture = socket(&ctx, PULL, None, None);
    capture.set_rcvhwm(HWM).unwrap();
    capture.connect("inproc://p-stuck-cap").unwrap();
    let push = socket(&ctx, PUSH, None, Some("inproc://p-stuck-in"));
    let pull = socket(&ctx, PULL, None, Some("inproc://p-stuck-out"));
    let sender = thread::spawn(move || {
        for i in 0..SENT {
            push.send_multipart([format!("m{i}"), "tail".into()], 0).unwrap();
        }
        push
    });
    for i in 0..SENT {
        assert_eq!(pull.recv_multipart(0).unwrap()[0], format!("m{i}").into_bytes());
    }
    drop(sender.join().unwrap());
    stopper.stop();
    let (result, stats) = running.join().unwrap();
    result.unwrap();
    // What the capture kept: the first copies, whole and in order, then none.
    let mut kept = 0;
    while let Ok(copy) = capture.recv_multipart(DONTWAIT) {
        assert_eq!(copy, vec![format!("m{kept}").into_bytes(), b"tail".to_vec()]);
        kept += 1;
    }
    // Its queues (inproc: SNDHWM + RCVHWM) filled; the backlog (SNDHWM more) died with the
    // proxy; everything else was dropped and counted.
    assert!(kept >= HWM as u64, "{kept} copies kept");
    assert_eq!(stats.capture_dropped + kept + HWM as u64, SENT as u64, "{kept} kept");
}
