//! High water marks as libzmq 4.3 applies them (its test_hwm and test_sockopt_hwm): an
//! inproc pipe is bounded by the sender's SNDHWM plus the receiver's RCVHWM whichever side
//! connected first, and SNDHWM/RCVHWM changed after connecting apply to the pipes already
//! there; a sender at its HWM gets room back in steps of libzmq's low water mark.

use libsock::{Context, Socket, DONTWAIT, PULL, PUSH};

/// Sends empty messages without blocking until the pipe is full; how many went.
fn fill(push: &Socket) -> usize {
    (0..10_000).take_while(|_| push.send(&b""[..], DONTWAIT).is_ok()).count()
}

fn drain(pull: &Socket) -> usize {
    (0..10_000).take_while(|_| pull.recv_bytes(DONTWAIT).is_ok()).count()
}

#[test]
fn inproc_sums_both_sides_when_the_receiver_connected_first() {
    let ctx = Context::new();
    let (push, pull) = (ctx.socket(PUSH).unwrap(), ctx.socket(PULL).unwrap());
    pull.set_rcvhwm(2).unwrap();
    push.set_sndhwm(2).unwrap();
    pull.connect("inproc://hwm-connect-first").unwrap();
    push.bind("inproc://hwm-connect-first").unwrap();
    assert_eq!(fill(&push), 4, "SNDHWM 2 + RCVHWM 2");
    assert_eq!(drain(&pull), 4);
}

#[test]
fn a_raised_sndhwm_applies_to_a_connected_pipe() {
    let ctx = Context::new();
    let (push, pull) = (ctx.socket(PUSH).unwrap(), ctx.socket(PULL).unwrap());
    pull.set_rcvhwm(1).unwrap();
    push.set_sndhwm(1).unwrap();
    pull.connect("inproc://hwm-raised").unwrap();
    push.bind("inproc://hwm-raised").unwrap();
    push.set_sndhwm(5).unwrap();
    assert_eq!(push.get_sndhwm().unwrap(), 5);
    assert_eq!(fill(&push), 6, "SNDHWM 5 + RCVHWM 1");
}

#[test]
fn a_lowered_sndhwm_bounds_the_next_fill_and_loses_nothing_queued() {
    let ctx = Context::new();
    let (push, pull) = (ctx.socket(PUSH).unwrap(), ctx.socket(PULL).unwrap());
    pull.set_rcvhwm(1).unwrap();
    push.set_sndhwm(100).unwrap();
    push.bind("inproc://hwm-lowered").unwrap();
    pull.connect("inproc://hwm-lowered").unwrap();
    let queued = fill(&push);
    assert_eq!(queued, 101);
    push.set_sndhwm(70).unwrap();
    assert_eq!(drain(&pull), queued, "lowering the bound drops nothing already queued");
    // Bounded by SNDHWM 70 + RCVHWM 1 = 71, less the 29 taken since the reader's last low
    // water mark step (LWM 36 of the new bound: credit for 72 of the 101). libzmq's
    // test_sockopt_hwm asserts only 1 to 71 ("Really this should be 71, but the lwm stuff
    // kicks in"): its reader learns of the new bound by a command, and steps by the old LWM
    // 51 until it processed it (21 here when it had not).
    assert_eq!(fill(&push), 42);
}

#[test]
fn changing_rcvhwm_on_a_live_tcp_pipe_loses_nothing() {
    let ctx = Context::new();
    let (push, pull) = (ctx.socket(PUSH).unwrap(), ctx.socket(PULL).unwrap());
    pull.set_rcvhwm(1).unwrap();
    push.set_sndhwm(1).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    push.connect(&pull.get_last_endpoint().unwrap()).unwrap();
    pull.set_rcvhwm(1000).unwrap();
    // Everything sent arrives, in order, across the change.
    for i in 0..500u32 {
        push.send(&i.to_le_bytes()[..], 0).unwrap();
    }
    for i in 0..500u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes());
    }
}

/// The steps `a_full_sender_gets_room_in_steps_of_the_low_water_mark` checks: fills an inproc
/// pipe bounded 10 + 10 with `fill`, takes messages one at a time with `take` and notes how
/// many `fill` sends after each (`ready` first lets libzmq's sender process its commands).
fn room_after_each_take(fill: impl Fn() -> usize, take: impl Fn(), ready: impl Fn()) -> Vec<usize> {
    let mut room = vec![fill()];
    for _ in 0..12 {
        take();
        ready();
        room.push(fill());
    }
    room
}

/// libzmq's low water mark (pipe.cpp: `compute_lwm`, and `read` sending `activate_write`
/// once per LWM messages taken): a sender at its HWM gets room back only in steps of the
/// LWM, (20 + 1) / 2 = 10 here, each time the receiver has taken that many, and never for
/// a single message taken, even one that empties the pipe. libzmq's test_proxy_hwm counts
/// on it: through a proxy at HWM 10, 20, 30 or 40 messages, never 41 (the subscriber taking
/// one).
#[test]
fn a_full_sender_gets_room_in_steps_of_the_low_water_mark() {
    let want = [20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0];

    let ctx = Context::new();
    let (push, pull) = (ctx.socket(PUSH).unwrap(), ctx.socket(PULL).unwrap());
    push.set_sndhwm(10).unwrap();
    pull.set_rcvhwm(10).unwrap();
    pull.bind("inproc://hwm-lwm").unwrap();
    push.connect("inproc://hwm-lwm").unwrap();
    let room = room_after_each_take(|| fill(&push), || drop(pull.recv_bytes(0).unwrap()), || ());
    assert_eq!(room, want, "libsock");

    // The same steps on libzmq.
    let zctx = zmq::Context::new();
    let (zpush, zpull) = (zctx.socket(zmq::PUSH).unwrap(), zctx.socket(zmq::PULL).unwrap());
    zpush.set_sndhwm(10).unwrap();
    zpull.set_rcvhwm(10).unwrap();
    zpull.bind("inproc://hwm-lwm").unwrap();
    zpush.connect("inproc://hwm-lwm").unwrap();
    let zfill = || (0..10_000).take_while(|_| zpush.send(&b""[..], zmq::DONTWAIT).is_ok()).count();
    let ztake = || drop(zpull.recv_bytes(0).unwrap());
    // ZMQ_EVENTS makes the sender process its commands (the reader's activate_write), which
    // a DONTWAIT send does at most once a millisecond.
    let room = room_after_each_take(zfill, ztake, || {
        zpush.get_events().unwrap();
    });
    assert_eq!(room, want, "libzmq 4.3");
}
