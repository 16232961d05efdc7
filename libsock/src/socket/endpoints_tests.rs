//! The heartbeat options set here at work in the I/O thread: a timeout judges what the
//! kernel holds, not only what the thread has read, so a thread that ran late does not drop
//! a live peer whose PONG is already there.

use std::sync::mpsc;
use std::time::Duration;

use crate::engine::pause;
use crate::{Context, SocketEvent, DEALER, ROUTER, SNDMORE};

/// libzmq's test_heartbeat_notimeout with the late thread made certain. Both ends share the
/// context's one I/O thread. After the ROUTER's PING (interval and timeout 50 ms) that
/// thread stops for 200 ms; in its next round the DEALER's connection reads the PING and
/// writes the PONG, then the ROUTER's timer is due. Judged on what it had read, the link
/// died there (libzmq's suite failed so on a loaded CI host); the PONG is in the kernel.
#[test]
fn a_pong_waiting_in_the_kernel_when_a_late_thread_judges_the_heartbeat_keeps_the_link() {
    let ctx = Context::new();
    let (router, dealer) = (ctx.socket(ROUTER).unwrap(), ctx.socket(DEALER).unwrap());
    for s in [&router, &dealer] {
        s.set_linger(0).unwrap();
    }
    router.set_heartbeat_ivl(50).unwrap();
    let events = router
        .monitor_events(i32::from(SocketEvent::Accepted.to_raw() | SocketEvent::Disconnected.to_raw()))
        .unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    dealer.connect(&router.get_last_endpoint().unwrap()).unwrap();
    assert_eq!(events.recv_event(5000).unwrap().event, SocketEvent::Accepted);
    dealer.send("hello", 0).unwrap();
    router.set_rcvtimeo(5000).unwrap();
    let identity = router.recv_bytes(0).unwrap();
    assert_eq!(router.recv_bytes(0).unwrap(), b"hello");

    for _ in 0..3 {
        let (reached, pinged) = mpsc::channel();
        pause::after_ping(router.core().shared(), reached, Duration::from_millis(200));
        pinged.recv_timeout(Duration::from_secs(5)).expect("the ROUTER never sent a PING");
    }
    if let Ok(e) = events.recv_event(300) {
        panic!("the live DEALER's link went down: {e:?}");
    }
    router.send(identity, SNDMORE).unwrap();
    router.send("still here", 0).unwrap();
    dealer.set_rcvtimeo(5000).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"still here");
}
