//! The draft API through zmq.h (`-DZMQ_BUILD_DRAFT_API`) on libsock built with its `draft`
//! feature: CLIENT/SERVER, RADIO/DISH, SCATTER/GATHER, PEER, CHANNEL and DGRAM from C, those
//! shared by several pthreads (they are thread-safe, as in libzmq), the poller
//! (`zmq_poller_*`) and versioned monitoring (`zmq_socket_monitor_versioned`,
//! `zmq_socket_monitor_pipes_stats`).

mod common;

#[test]
fn client_server_radio_dish_scatter_gather_peer_channel_dgram_from_c() {
    common::c_program("draft");
}

#[test]
fn pthreads_share_one_client_and_one_server_from_c() {
    common::c_program("thread_safe");
}

#[test]
fn poller_over_sockets_thread_safe_sockets_and_descriptors_from_c() {
    common::c_program("poller");
}

#[test]
fn monitor_versioned_events_and_pipes_stats_from_c() {
    common::c_program("monitor_v2");
}
