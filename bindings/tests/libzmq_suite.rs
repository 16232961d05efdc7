//! libzmq 4.3.4's own test programs, built against libsock's stable `zmq.h` and run on
//! `libsock.so`: "existing code is the test" (issue 11). The runner and the list of programs
//! not run, with the reason, are in `common/libzmq_suite.rs`, shared with
//! `libzmq_suite_draft.rs` (the programs that need the draft API).
//!
//! Every program of libzmq's suite is in [`PASSING`] (built and run here, one test each; all
//! its Unity cases must pass), in the draft list or in `NOT_RUN`, and
//! `every_libzmq_test_program_is_accounted_for` keeps it that way. Run one program:
//! `cargo test -p libsock-bindings --test libzmq_suite test_pair_tcp`; the built programs
//! and their output are in `target/debug/c-tests/libzmq-suite/`.

mod common;

use common::libzmq_suite::{
    check_accounting, draft_programs, run_program, stable_programs_with_draft_parts, Api,
};

/// The libzmq test programs that pass whole on libsock, each run by a test of its name.
macro_rules! passing {
    ($($name:ident,)*) => {
        /// The programs run here.
        const PASSING: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                run_program(stringify!($name), Api::Stable);
            }
        )*
    };
}

macro_rules! names {
    ($($name:ident,)*) => {
        &[$(stringify!($name)),*]
    };
}

/// The programs `libzmq_suite_draft.rs` runs (with `--features draft`).
const DRAFT_PASSING: &[&str] = draft_programs!(names);

/// Programs of [`PASSING`] that `libzmq_suite_draft.rs` runs again with their draft parts.
const RERUN_ON_DRAFT: &[&str] = stable_programs_with_draft_parts!(names);

passing! {
    test_abstract_ipc,
    test_ancillaries,
    test_atomics,
    test_base85,
    test_bind_after_connect_tcp,
    test_bind_curve_fuzzer,
    test_bind_fuzzer,
    test_bind_null_fuzzer,
    test_bind_src_address,
    test_bind_stream_fuzzer,
    test_bind_ws_fuzzer,
    test_capabilities,
    test_conflate,
    test_connect_curve_fuzzer,
    test_connect_fuzzer,
    test_connect_null_fuzzer,
    test_connect_resolve,
    test_connect_rid,
    test_connect_stream_fuzzer,
    test_connect_ws_fuzzer,
    test_ctx_destroy,
    test_ctx_options,
    test_diffserv,
    test_disconnect_inproc,
    test_filter_ipc,
    test_fork,
    test_getsockopt_memset,
    test_heartbeats,
    test_hwm,
    test_immediate,
    test_inproc_connect,
    test_invalid_rep,
    test_iov,
    test_ipc_wildcard,
    test_issue_566,
    test_last_endpoint,
    test_many_sockets,
    test_metadata,
    test_mock_pub_sub,
    test_monitor,
    test_msg_ffn,
    test_msg_flags,
    test_pair_inproc,
    test_pair_ipc,
    test_pair_tcp,
    test_pair_tcp_cap_net_admin,
    test_probe_router,
    test_proxy,
    test_proxy_hwm,
    test_proxy_single_socket,
    test_proxy_terminate,
    test_pub_invert_matching,
    test_rebind_ipc,
    test_reconnect_ivl,
    test_reconnect_options,
    test_req_correlate,
    test_req_relaxed,
    test_reqrep_device,
    test_reqrep_inproc,
    test_reqrep_ipc,
    test_reqrep_tcp,
    test_router_handover,
    test_router_mandatory,
    test_security_curve,
    test_security_no_zap_handler,
    test_security_null,
    test_security_plain,
    test_security_zap,
    test_setsockopt,
    test_shutdown_stress,
    test_socket_null,
    test_socket_options_fuzzer,
    test_sockopt_hwm,
    test_socks,
    test_spec_dealer,
    test_spec_pushpull,
    test_spec_rep,
    test_spec_req,
    test_spec_router,
    test_srcfd,
    test_stream,
    test_stream_disconnect,
    test_stream_empty,
    test_stream_exceeds_buffer,
    test_stream_timeout,
    test_sub_forward,
    test_system,
    test_tcp_accept_filter,
    test_term_endpoint,
    test_timeo,
    test_timers,
    test_unbind_wildcard,
    test_use_fd,
    test_ws_transport,
    test_xpub_manual,
    test_xpub_nodrop,
    test_xpub_verbose,
    test_xpub_welcome_msg,
    test_z85_decode_fuzzer,
    test_zmq_poll_fd,
}

#[test]
fn every_libzmq_test_program_is_accounted_for() {
    check_accounting(PASSING, DRAFT_PASSING, RERUN_ON_DRAFT);
}
