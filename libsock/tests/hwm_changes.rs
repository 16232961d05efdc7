//! High water marks as libzmq 4.3 applies them (its test_hwm and test_sockopt_hwm): an
//! inproc pipe is bounded by the sender's SNDHWM plus the receiver's RCVHWM whichever side
//! connected first, and SNDHWM/RCVHWM changed after connecting apply to the pipes already
//! there.

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
    assert_eq!(fill(&push), 71, "SNDHWM 70 + RCVHWM 1");
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
