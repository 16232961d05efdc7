//! The draft API through zmq.h (`-DZMQ_BUILD_DRAFT_API`) on libsock built with its `draft`
//! feature: CLIENT/SERVER, RADIO/DISH, SCATTER/GATHER from C.

mod common;

#[test]
fn client_server_radio_dish_scatter_gather_from_c() {
    common::c_program("draft");
}
