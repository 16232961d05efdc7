//! A C program on libsock talking to libzmq 4.3 (the `zmq` crate, built from source) over
//! tcp, as client and as server.
//!
//! This test binary links libzmq itself, so it must not use the `sock` crate (both define
//! the `zmq_*` symbols); the C program links libsock.so.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

#[test]
fn libsock_req_client_against_libzmq_rep_server() {
    let exe = common::build_c("interop_peer");
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.get_last_endpoint().unwrap().unwrap();
    let child = common::spawn(&exe, &["req", &ep]);
    rep.set_rcvtimeo(20_000).unwrap();
    for i in 0..100 {
        let msg = rep.recv_bytes(0).expect("request from the libsock client");
        assert_eq!(msg.len(), i * 700);
        rep.send(msg, 0).unwrap();
    }
    let out = common::finish(child, "interop_peer req", Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn libzmq_dealer_client_against_libsock_router_server() {
    let exe = common::build_c("interop_peer");
    let mut child = common::spawn(&exe, &["router"]);
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let ep = line.trim().to_owned();
    assert!(ep.starts_with("tcp://127.0.0.1:"), "endpoint: {ep:?}");

    let ctx = zmq::Context::new();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_identity(b"libzmq-dealer").unwrap();
    dealer.set_rcvtimeo(20_000).unwrap();
    dealer.connect(&ep).unwrap();
    for i in 0..100u32 {
        let parts = vec![b"head".to_vec(), vec![7u8; i as usize * 100], i.to_le_bytes().to_vec()];
        dealer.send_multipart(&parts, 0).unwrap();
        let echoed = dealer.recv_multipart(0).expect("echo from the libsock router");
        assert_eq!(echoed, parts);
    }
    let out = common::finish(child, "interop_peer router", Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
