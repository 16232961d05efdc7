//! C programs written against zmq.h, built and linked with libsock.so and run.

mod common;

#[test]
fn hello_world_req_rep_over_tcp_ipc_inproc() {
    common::c_program("hello_reqrep");
}

#[test]
fn every_socket_pair_exchanges_messages() {
    common::c_program("socket_pairs");
}

/// The zguide's `s_interrupted` idiom: a signal handler ends blocking calls with EINTR. The
/// same program on the system's libzmq shows that this is libzmq's behaviour.
#[test]
fn a_signal_ends_blocking_calls_with_eintr() {
    assert!(common::c_program("interrupt").contains("interrupt ok"));
    if let Some(exe) = common::build_c_on_system_libzmq("interrupt") {
        assert!(common::run_ok(&exe, &[]).contains("interrupt ok"));
    }
}

/// Option buffer sizes as libzmq checks them (exact for options_t's ints and int64s); the
/// same program on the system's libzmq shows that these are libzmq's rules.
#[test]
fn option_buffers_take_libzmq_sizes() {
    assert!(common::c_program("option_sizes").contains("option sizes ok"));
    if let Some(exe) = common::build_c_on_system_libzmq("option_sizes") {
        assert!(common::run_ok(&exe, &[]).contains("option sizes ok"));
    }
}

/// Interface names in tcp binds, ENODEV, and unbind/disconnect parsing first, on both
/// libraries.
#[test]
fn endpoints_follow_libzmq_rules() {
    assert!(common::c_program("endpoint_rules").contains("endpoint rules ok"));
    if let Some(exe) = common::build_c_on_system_libzmq("endpoint_rules") {
        assert!(common::run_ok(&exe, &[]).contains("endpoint rules ok"));
    }
}

#[test]
fn multipart_messages() {
    common::c_program("multipart");
}

#[test]
fn poll_over_sockets_and_fds() {
    common::c_program("poll");
}

#[test]
fn socket_monitor_events() {
    common::c_program("monitor");
}

#[test]
fn msg_init_data_free_fn_runs_once() {
    common::c_program("msg_ownership");
}

#[test]
fn msg_send_moves_the_body_and_a_failed_send_leaves_it_intact() {
    common::c_program("msg_send_failure");
}

#[test]
fn error_paths_set_libzmq_errno() {
    common::c_program("errors");
}

#[test]
fn utilities_version_z85_counters_timers() {
    common::c_program("utils");
}

#[test]
fn proxy_steerable_and_device() {
    common::c_program("proxy");
}

#[test]
fn curve_req_rep_and_plain_metadata() {
    common::c_program("security");
}

#[test]
fn null_metadata_srcfd_and_zap() {
    common::c_program("null_metadata");
}
