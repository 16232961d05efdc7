//! libzmq 4.3.4's own test programs that need its draft API (the poller, CLIENT/SERVER,
//! RADIO/DISH, SCATTER/GATHER, ...), built with `-DZMQ_BUILD_DRAFT_API` against libsock's
//! `zmq.h` and run on `libsock.so` built with the `draft` feature
//! (`cargo test -p libsock-bindings --features draft --test libzmq_suite_draft`).
//!
//! The lists are `draft_programs!` and `stable_programs_with_draft_parts!` (stable programs
//! run again with their draft parts) in `common/libzmq_suite.rs`, with the runner this file
//! shares with `libzmq_suite.rs`; programs not run are listed there with the reason. Built
//! programs are in `target/debug/c-tests/libzmq-suite-draft/`.

mod common;

use common::libzmq_suite::{draft_programs, run_program, stable_programs_with_draft_parts, Api};

/// One test per program, named after it.
macro_rules! draft_tests {
    ($($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                run_program(stringify!($name), Api::Draft);
            }
        )*
    };
}

draft_programs!(draft_tests);
// Stable programs again, with their `#ifdef ZMQ_BUILD_DRAFT_API` parts.
stable_programs_with_draft_parts!(draft_tests);
