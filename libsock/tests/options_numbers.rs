//! Every libzmq 4.3 socket option by number: stored ones round-trip, read-only ones read as
//! in libzmq, inapplicable ones answer EINVAL, defaults match a real libzmq socket.

mod common;

use common::socket;
use libsock::{
    Context, Error, OptionValue, SocketOption, SocketType, DEALER, PAIR, PULL, REQ, ROUTER, SUB, XPUB,
};

/// A valid value different from `current`, for the option numbered `raw`.
fn other_value(raw: i32, current: &OptionValue) -> OptionValue {
    match current {
        // HEARTBEAT_TTL is kept in deciseconds, as libzmq's: 1 ms would read back 0.
        OptionValue::Int(0) if raw == 76 => OptionValue::Int(100),
        OptionValue::Int(0) => OptionValue::Int(1),
        OptionValue::Int(1) if [73, 42, 39].contains(&raw) || raw > 50 && raw != 66 => OptionValue::Int(0),
        OptionValue::Int(v) => OptionValue::Int(v + 1),
        OptionValue::Long(v) => OptionValue::Long(v + 1),
        OptionValue::Bytes(_) if raw == 92 => OptionValue::Bytes(b"lo".to_vec()),
        // CURVE keys (PUBLICKEY, SECRETKEY, SERVERKEY) are 32 bytes.
        OptionValue::Bytes(_) if (48..=50).contains(&raw) => OptionValue::Bytes(vec![7; 32]),
        OptionValue::Bytes(_) => OptionValue::Bytes(b"abc".to_vec()),
    }
}

/// A socket type that takes the option numbered `raw` (the socket-type options apply to
/// their own types only, as in libzmq: `options_by_type.rs`).
fn type_taking(raw: i32) -> SocketType {
    match raw {
        33 | 56 | 61 | 97 => ROUTER, // ROUTER_MANDATORY, _HANDOVER, CONNECT_ROUTING_ID, ROUTER_NOTIFY
        52 | 53 => REQ,              // REQ_CORRELATE, REQ_RELAXED
        40 | 69 | 71 | 72 | 78 | 98 | 108 => XPUB, // the XPUB_* options, ONLY_FIRST_SUBSCRIBE
        73 => SocketType::STREAM,    // STREAM_NOTIFY
        _ => DEALER,
    }
}

#[test]
fn every_stored_option_round_trips_by_number() {
    let ctx = Context::new();
    let mut count = 0;
    for raw in 0..200 {
        let Some(opt) = SocketOption::from_raw(raw) else { continue };
        let s = socket(&ctx, type_taking(raw));
        assert_eq!(opt.to_raw(), raw);
        // The write-only ones (as in libzmq) read back through the typed API only.
        let read = |s: &libsock::Socket| {
            if WRITE_ONLY_STORED.contains(&raw) {
                s.get_option(opt)
            } else {
                s.get_option_raw(raw)
            }
        };
        let before = read(&s).unwrap();
        let value = other_value(raw, &before);
        s.set_option_raw(raw, value.clone()).unwrap_or_else(|e| panic!("{opt:?} = {value:?}: {e}"));
        let after = read(&s).unwrap();
        // CONNECT_ROUTING_ID is consumed by the next connect, not by reads.
        assert_eq!(after, value, "{opt:?} ({raw})");
        assert_eq!(s.get_option(opt).unwrap(), value);
        count += 1;
    }
    assert!(count >= 48, "only {count} stored options");
}

#[test]
fn out_of_range_values_are_einval() {
    let ctx = Context::new();
    // A ROUTER: every option below applies to it (ROUTER_NOTIFY only to ROUTER and REP).
    let s = socket(&ctx, ROUTER);
    for (raw, bad) in [
        (54, OptionValue::Int(2)),                // CONFLATE is boolean
        (97, OptionValue::Int(4)),                // ROUTER_NOTIFY bits
        (57, OptionValue::Int(-1)),               // TOS: any int >= 0, as libzmq
        (92, OptionValue::Bytes(vec![b'x'; 16])), // BINDTODEVICE: IFNAMSIZ
        (23, OptionValue::Bytes(b"x".to_vec())),  // SNDHWM takes an int
        (89, OptionValue::Int(-2)),               // USE_FD
    ] {
        let err = s.set_option_raw(raw, bad.clone()).unwrap_err();
        assert_eq!(err.to_raw(), 22, "option {raw} = {bad:?}: {err}");
    }
}

/// libzmq's socket types take their own on/off options as any value >= 0 (non-zero: on);
/// libzmq's test_proxy_hwm sets REQ_CORRELATE and REQ_RELAXED to 10. Negative values stay
/// EINVAL, and CONFLATE (checked in options.cpp) stays strictly 0 or 1 (above).
#[test]
fn socket_type_flags_take_any_non_negative_value() {
    let ctx = Context::new();
    let s = socket(&ctx, REQ);
    for raw in [52, 53] {
        s.set_option_raw(raw, OptionValue::Int(10)).unwrap();
        assert_eq!(s.get_option_raw(raw).unwrap(), OptionValue::Int(1), "option {raw}");
        assert_eq!(s.set_option_raw(raw, OptionValue::Int(-1)).unwrap_err().to_raw(), 22, "option {raw}");
    }
}

#[test]
fn read_only_options_read_as_in_libzmq() {
    let ctx = Context::new();
    let s = socket(&ctx, ROUTER);
    s.bind("tcp://127.0.0.1:*").unwrap();
    let int = |raw| match s.get_option_raw(raw).unwrap() {
        OptionValue::Int(v) => v,
        other => panic!("{raw}: {other:?}"),
    };
    assert_eq!(int(16), 6, "TYPE = ZMQ_ROUTER");
    assert_eq!(int(13), 0, "RCVMORE");
    assert_eq!(int(15) & 1, 0, "EVENTS: nothing to read");
    assert_eq!(int(15) & 2, 2, "EVENTS: a ROUTER can always send");
    assert!(int(14) >= 0, "FD");
    assert_eq!(int(43), 0, "MECHANISM = ZMQ_NULL");
    assert_eq!(int(81), 0, "THREAD_SAFE");
    assert_eq!(int(31), 1, "IPV4ONLY is !IPV6");
    let ep = s.get_option_raw(32).unwrap();
    assert_eq!(ep, OptionValue::Bytes(s.get_last_endpoint().unwrap().into_bytes()));
    for raw in [13, 14, 15, 16, 32, 43, 81] {
        assert_eq!(
            s.set_option_raw(raw, OptionValue::Int(0)).unwrap_err().to_raw(),
            22,
            "{raw} is read-only"
        );
    }
    for raw in [6, 7, 38] {
        assert_eq!(s.get_option_raw(raw).unwrap_err().to_raw(), 22, "{raw} is write-only");
    }
    let stream = socket(&ctx, SocketType::STREAM);
    assert_eq!(stream.get_option_raw(16).unwrap(), OptionValue::Int(11));
}

/// libzmq 4.3's `options_t::getsockopt` has no case for these: WSS_KEY_PEM, WSS_CERT_PEM,
/// WSS_TRUST_PEM, WSS_HOSTNAME, WSS_TRUST_SYSTEM, HELLO_MSG, DISCONNECT_MSG.
const WRITE_ONLY_STORED: [i32; 7] = [103, 104, 105, 106, 107, 110, 111];

#[test]
fn wss_and_hello_options_are_write_only_by_number() {
    let ctx = Context::new();
    let s = socket(&ctx, DEALER);
    let key = b"-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n".to_vec();
    s.set_option_raw(103, OptionValue::Bytes(key.clone())).unwrap();
    s.set_option_raw(106, OptionValue::Bytes(b"example.org".to_vec())).unwrap();
    s.set_option_raw(107, OptionValue::Int(1)).unwrap();
    s.set_option_raw(110, OptionValue::Bytes(b"hello".to_vec())).unwrap();
    for raw in WRITE_ONLY_STORED {
        let err = s.get_option_raw(raw).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{raw}: {err}");
        assert_eq!(err.to_raw(), 22, "{raw}");
    }
    // Stored all the same: what a bind or a connect uses, and what the typed API reads.
    assert_eq!(s.get_wss_key_pem().unwrap(), key);
    assert_eq!(s.get_wss_hostname().unwrap(), b"example.org");
    assert!(s.get_wss_trust_system().unwrap());
    assert_eq!(s.get_hello_msg().unwrap(), b"hello");
    // The libsock-only file options are paths, not secrets: they read back.
    s.set_option_raw(0x4C53_0003, OptionValue::Bytes(b"/etc/key.pem".to_vec())).unwrap();
    assert_eq!(s.get_option_raw(0x4C53_0003).unwrap(), OptionValue::Bytes(b"/etc/key.pem".to_vec()));
}

#[test]
fn inapplicable_and_unknown_options_are_einval() {
    let ctx = Context::new();
    let s = socket(&ctx, PAIR);
    // VMCI, GSSAPI, and numbers libzmq never had.
    for raw in [62, 63, 64, 65, 85, 86, 87, 88, 90, 91, 1000, -1] {
        let set = s.set_option_raw(raw, OptionValue::Int(1)).unwrap_err();
        assert!(matches!(set, Error::InvalidArgument(_)), "{raw}: {set}");
        assert_eq!(s.get_option_raw(raw).unwrap_err().to_raw(), 22, "{raw}");
    }
}

#[test]
fn subscribe_by_number_filters() {
    let ctx = Context::new();
    let publ = socket(&ctx, libsock::PUB);
    publ.bind("inproc://by-number").unwrap();
    let sub = socket(&ctx, SUB);
    sub.connect("inproc://by-number").unwrap();
    sub.set_option_raw(6, OptionValue::Bytes(b"a".to_vec())).unwrap();
    publ.send("b", 0).unwrap();
    publ.send("a", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"a");
}

#[test]
fn defaults_match_a_real_libzmq_socket() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let ours = ctx.socket(PULL).unwrap();
    let theirs = z.socket(zmq::PULL).unwrap();
    let int = |raw| ours.get_option_raw(raw).unwrap();
    use OptionValue::{Int, Long};
    assert_eq!(int(23), Int(theirs.get_sndhwm().unwrap()));
    assert_eq!(int(24), Int(theirs.get_rcvhwm().unwrap()));
    assert_eq!(int(17), Int(theirs.get_linger().unwrap()));
    assert_eq!(int(18), Int(theirs.get_reconnect_ivl().unwrap()));
    assert_eq!(int(21), Int(theirs.get_reconnect_ivl_max().unwrap()));
    assert_eq!(int(19), Int(theirs.get_backlog().unwrap()));
    assert_eq!(int(22), Long(theirs.get_maxmsgsize().unwrap()));
    assert_eq!(int(57), Int(theirs.get_tos().unwrap()));
    assert_eq!(int(79), Int(theirs.get_connect_timeout().unwrap()));
    assert_eq!(int(66), Int(theirs.get_handshake_ivl().unwrap()));
    assert_eq!(int(54), Int(theirs.is_conflate().unwrap().into()));
    // PROBE_ROUTER (51) is write-only in libzmq; libsock also lets it be read.
    assert_eq!(int(42), Int(theirs.is_ipv6().unwrap().into()));
    assert_eq!(int(39), Int(theirs.is_immediate().unwrap().into()));
    assert_eq!(int(4), Long(theirs.get_affinity().unwrap() as i64));
    assert_eq!(int(34), Int(theirs.get_tcp_keepalive().unwrap()));
    assert_eq!(int(11), Int(theirs.get_sndbuf().unwrap()));
    assert_eq!(int(16), Int(theirs.get_socket_type().unwrap() as i32));
    assert_eq!(int(8), Int(theirs.get_rate().unwrap()));
    assert_eq!(int(9), Int(theirs.get_recovery_ivl().unwrap()));
    assert_eq!(int(25), Int(theirs.get_multicast_hops().unwrap()));
    assert_eq!(int(84), Int(1500), "MULTICAST_MAXTPDU: libzmq's options.cpp default");
    assert_eq!(int(96), Int(1), "MULTICAST_LOOP: libzmq's options.cpp default");
}

/// libzmq stores the multicast options on every socket whatever transports it was built
/// with, and programs written for it set them (czmq's zsock_option_test asserts that they
/// succeed): they are stored here too, with libzmq's ranges.
#[test]
fn multicast_options_are_stored_with_libzmqs_ranges() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    let ours = socket(&ctx, libsock::PUB);
    let theirs = z.socket(zmq::PUB).unwrap();
    for v in [-1, 0, 1, 250, i32::MAX] {
        assert_eq!(ours.set_rate(v).is_ok(), theirs.set_rate(v).is_ok(), "RATE {v}");
        assert_eq!(ours.set_recovery_ivl(v).is_ok(), theirs.set_recovery_ivl(v).is_ok(), "RECOVERY_IVL {v}");
        assert_eq!(ours.set_multicast_hops(v).is_ok(), theirs.set_multicast_hops(v).is_ok(), "HOPS {v}");
        assert_eq!(ours.get_rate().unwrap(), theirs.get_rate().unwrap(), "RATE after {v}");
        assert_eq!(ours.get_recovery_ivl().unwrap(), theirs.get_recovery_ivl().unwrap());
        assert_eq!(ours.get_multicast_hops().unwrap(), theirs.get_multicast_hops().unwrap());
    }
    // MULTICAST_MAXTPDU (> 0) and MULTICAST_LOOP (a boolean) by number.
    assert!(ours.set_option_raw(84, OptionValue::Int(0)).is_err());
    ours.set_option_raw(84, OptionValue::Int(9000)).unwrap();
    assert_eq!(ours.get_option_raw(84).unwrap(), OptionValue::Int(9000));
    ours.set_option_raw(96, OptionValue::Int(0)).unwrap();
    assert_eq!(ours.get_option_raw(96).unwrap(), OptionValue::Int(0));
}

#[test]
fn use_fd_serves_a_listener_the_caller_opened() {
    use std::os::fd::AsRawFd;
    let ctx = Context::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let pull = socket(&ctx, PULL);
    pull.set_use_fd(listener.as_raw_fd()).unwrap();
    pull.bind(&format!("tcp://{addr}")).unwrap();
    assert_eq!(pull.get_last_endpoint().unwrap(), format!("tcp://{addr}"));
    let z = zmq::Context::new();
    let push = z.socket(zmq::PUSH).unwrap();
    push.connect(&format!("tcp://{addr}")).unwrap();
    push.send("via inherited fd", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"via inherited fd");
    let bad = socket(&ctx, PULL);
    bad.set_use_fd(987_654).unwrap();
    assert!(bad.bind("tcp://127.0.0.1:1").is_err(), "a descriptor that is not open fails the bind");
}

#[test]
fn tcp_accept_filter_turns_away_other_peers() {
    let ctx = Context::new();
    let z = zmq::Context::new();
    for (filter, allowed) in [("127.0.0.0/8", true), ("10.0.0.0/8", false)] {
        let pull = socket(&ctx, PULL);
        pull.set_option_raw(38, OptionValue::Bytes(format!("{filter}\0").into_bytes())).unwrap();
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let push = z.socket(zmq::PUSH).unwrap();
        push.set_linger(0).unwrap();
        push.connect(&pull.get_last_endpoint().unwrap()).unwrap();
        push.send("knock", 0).unwrap();
        pull.set_rcvtimeo(if allowed { 5000 } else { 300 }).unwrap();
        assert_eq!(pull.recv_bytes(0).is_ok(), allowed, "filter {filter}");
    }
    let pull = socket(&ctx, PULL);
    assert!(pull.set_tcp_accept_filter(Some(b"not-an-address")).is_err());
    pull.set_option_raw(38, OptionValue::Bytes(Vec::new())).unwrap();
}

#[test]
fn ipc_filters_turn_away_other_processes_users_and_groups() {
    let ctx = Context::new();
    let dir = tempfile::tempdir().unwrap();
    let z = zmq::Context::new();
    let (pid, (uid, gid)) = (std::process::id(), own_ids());
    // (option, id, whether our own peer is let in)
    let cases =
        [(58, pid, true), (58, pid + 1, false), (59, uid, true), (59, uid + 4242, false), (60, gid, true)];
    for (i, (option, id, allowed)) in cases.into_iter().enumerate() {
        let pull = socket(&ctx, PULL);
        pull.set_option_raw(option, OptionValue::Bytes(id.to_ne_bytes().to_vec())).unwrap();
        let endpoint = format!("ipc://{}/f{i}", dir.path().display());
        pull.bind(&endpoint).unwrap();
        let push = z.socket(zmq::PUSH).unwrap();
        push.set_linger(0).unwrap();
        push.connect(&endpoint).unwrap();
        push.send("knock", 0).unwrap();
        pull.set_rcvtimeo(if allowed { 5000 } else { 300 }).unwrap();
        assert_eq!(pull.recv_bytes(0).is_ok(), allowed, "option {option} = {id}");
    }
    // (NULL, 0) clears a list; the filters are write-only.
    let pull = socket(&ctx, PULL);
    pull.set_option_raw(59, OptionValue::Bytes(Vec::new())).unwrap();
    assert!(pull.get_option_raw(59).is_err());
}

/// This process's uid and gid, from /proc (no libc call needed in a test).
fn own_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u32 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("Uid:"), field("Gid:"))
}
