//! cppzmq, the header-only C++ binding (Debian `cppzmq-dev`), compiled against libsock's
//! zmq.h and run on libsock.so. Skips with a message when the package is not installed
//! (.ci/run installs it).

mod common;

use std::path::Path;

/// Builds `tests/c/<name>.cpp` with cppzmq and runs it; `None` when cppzmq is missing.
fn cppzmq_program(name: &str) -> Option<String> {
    let header =
        ["/usr/include/zmq.hpp", "/usr/local/include/zmq.hpp"].into_iter().find(|p| Path::new(p).exists());
    let Some(header) = header else {
        eprintln!("SKIP: cppzmq's zmq.hpp not found (apt-get install cppzmq-dev)");
        return None;
    };
    // Our include dir comes first, so zmq.hpp's `#include <zmq.h>` finds libsock's header.
    let hpp_dir = Path::new(header).parent().unwrap().to_string_lossy().into_owned();
    let exe = common::build(
        name,
        common::Lang::Cxx,
        &[common::c_dir().join(format!("{name}.cpp"))],
        &["-idirafter", &hpp_dir],
    );
    Some(common::run_ok(&exe, &[]))
}

#[test]
fn cppzmq_program_builds_and_runs_on_libsock() {
    if let Some(out) = cppzmq_program("cppzmq_client") {
        assert!(out.contains("cppzmq ok"), "{out}");
    }
}

/// cppzmq's draft mode (`zmq::poller_t`, `zmq::active_poller_t`, SERVER/CLIENT): needs the
/// bindings' `draft` feature.
#[cfg(feature = "draft")]
#[test]
fn cppzmq_poller_builds_and_runs_on_libsock() {
    if let Some(out) = cppzmq_program("cppzmq_poller") {
        assert!(out.contains("cppzmq poller ok"), "{out}");
    }
}
