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

/// `c_api.rs`'s EINTR program again, with the draft poller's wait.
#[test]
fn a_signal_ends_blocking_calls_and_the_poller_wait_with_eintr() {
    assert!(common::c_program("interrupt").contains("interrupt ok"));
}

#[test]
fn poller_over_sockets_thread_safe_sockets_and_descriptors_from_c() {
    common::c_program("poller");
}

#[test]
fn monitor_versioned_events_and_pipes_stats_from_c() {
    common::c_program("monitor_v2");
}
