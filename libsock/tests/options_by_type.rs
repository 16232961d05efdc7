//! The options of one socket type set on another: `EINVAL` (`Error::InvalidArgument`) as in
//! libzmq 4.3, whose per-type `xsetsockopt` handles them (REP being a ROUTER underneath, REQ
//! a DEALER, PUB an XPUB). Checked live against libzmq (the `zmq` crate) for every option that
//! crate can set, and against libzmq 4.3.4's answers (measured with Debian's libzmq5) for the
//! rest.

use libsock::{Context, Error, OptionValue, SocketOption, SocketType};

/// The classic types, with the `zmq` crate's name for each.
const TYPES: [(SocketType, zmq::SocketType); 11] = [
    (SocketType::PAIR, zmq::PAIR),
    (SocketType::PUB, zmq::PUB),
    (SocketType::SUB, zmq::SUB),
    (SocketType::REQ, zmq::REQ),
    (SocketType::REP, zmq::REP),
    (SocketType::DEALER, zmq::DEALER),
    (SocketType::ROUTER, zmq::ROUTER),
    (SocketType::PULL, zmq::PULL),
    (SocketType::PUSH, zmq::PUSH),
    (SocketType::XPUB, zmq::XPUB),
    (SocketType::XSUB, zmq::XSUB),
];

/// Sets an option on a libzmq socket; true when libzmq took it (false: EINVAL).
type ZmqSetter = fn(&zmq::Socket) -> zmq::Result<()>;

fn accepted(what: &str, result: Result<(), Error>) -> bool {
    match result {
        Ok(()) => true,
        Err(Error::InvalidArgument(_)) => false,
        Err(e) => panic!("{what}: {e:?} (expected success or InvalidArgument)"),
    }
}

#[test]
fn type_specific_options_are_refused_where_libzmq_refuses_them() {
    let live: [(SocketOption, OptionValue, ZmqSetter); 8] = [
        (SocketOption::ROUTER_MANDATORY, OptionValue::Int(1), |s| s.set_router_mandatory(true)),
        (SocketOption::ROUTER_HANDOVER, OptionValue::Int(1), |s| s.set_router_handover(true)),
        (SocketOption::PROBE_ROUTER, OptionValue::Int(1), |s| s.set_probe_router(true)),
        (SocketOption::REQ_CORRELATE, OptionValue::Int(1), |s| s.set_req_correlate(true)),
        (SocketOption::REQ_RELAXED, OptionValue::Int(1), |s| s.set_req_relaxed(true)),
        (SocketOption::XPUB_VERBOSE, OptionValue::Int(1), |s| s.set_xpub_verbose(true)),
        (SocketOption::XPUB_WELCOME_MSG, OptionValue::Bytes(b"hi".to_vec()), |s| {
            s.set_xpub_welcome_msg(Some("hi"))
        }),
        (SocketOption::CONFLATE, OptionValue::Int(1), |s| s.set_conflate(true)),
    ];
    let ctx = Context::new();
    let z = zmq::Context::new();
    for (ours, theirs) in TYPES {
        for (option, value, set) in &live {
            let what = format!("{option:?} on {ours:?}");
            let s = ctx.socket(ours).unwrap();
            let zs = z.socket(theirs).unwrap();
            let libzmq = match set(&zs) {
                Ok(()) => true,
                Err(zmq::Error::EINVAL) => false,
                Err(e) => panic!("{what}: libzmq answered {e}"),
            };
            assert_eq!(accepted(&what, s.set_option(*option, value.clone())), libzmq, "{what}");
            // The by-number path (zmq_setsockopt's) answers the same.
            let raw = s.set_option_raw(option.to_raw(), value.clone());
            assert_eq!(accepted(&what, raw), libzmq, "{what} by number");
        }
    }
}

#[test]
fn options_the_zmq_crate_cannot_set_follow_libzmq_4_3_4() {
    use SocketType::*;
    // What Debian's libzmq 4.3.4 accepts (zmq_setsockopt returned 0; EINVAL elsewhere).
    let table: [(SocketOption, OptionValue, &[SocketType]); 5] = [
        (SocketOption::CONNECT_ROUTING_ID, OptionValue::Bytes(b"x".to_vec()), &[REP, ROUTER, STREAM]),
        (SocketOption::XPUB_NODROP, OptionValue::Int(1), &[PUB, XPUB]),
        (SocketOption::XPUB_MANUAL, OptionValue::Int(1), &[PUB, XPUB]),
        (SocketOption::XPUB_VERBOSER, OptionValue::Int(1), &[PUB, XPUB]),
        (SocketOption::STREAM_NOTIFY, OptionValue::Int(1), &[STREAM]),
    ];
    let ctx = Context::new();
    let types = TYPES.iter().map(|(t, _)| *t).chain([STREAM]);
    for kind in types {
        for (option, value, takes) in &table {
            let what = format!("{option:?} on {kind:?}");
            let s = ctx.socket(kind).unwrap();
            assert_eq!(
                accepted(&what, s.set_option(*option, value.clone())),
                takes.contains(&kind),
                "{what}"
            );
        }
    }
}

#[test]
fn subscribe_where_it_does_not_apply_is_einval() {
    let ctx = Context::new();
    for kind in [SocketType::PUSH, SocketType::DEALER, SocketType::PUB, SocketType::XPUB] {
        let s = ctx.socket(kind).unwrap();
        assert!(matches!(s.set_subscribe(b"a"), Err(Error::InvalidArgument(_))), "{kind:?}");
        assert_eq!(
            s.set_option_raw(6, OptionValue::Bytes(b"a".to_vec())).unwrap_err().to_raw(),
            libc_einval()
        );
    }
    let xpub = ctx.socket(SocketType::XPUB).unwrap();
    xpub.set_xpub_manual(true).unwrap();
    xpub.set_subscribe(b"a").unwrap();
    ctx.socket(SocketType::SUB).unwrap().set_subscribe(b"a").unwrap();
}

fn libc_einval() -> i32 {
    22
}
