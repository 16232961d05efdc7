//! cppzmq, the header-only C++ binding (Debian `cppzmq-dev`), compiled against libsock's
//! zmq.h and run on libsock.so. Skips with a message when the package is not installed
//! (.ci/run installs it).

mod common;

use std::path::Path;

#[test]
fn cppzmq_program_builds_and_runs_on_libsock() {
    let header =
        ["/usr/include/zmq.hpp", "/usr/local/include/zmq.hpp"].into_iter().find(|p| Path::new(p).exists());
    let Some(header) = header else {
        eprintln!("SKIP: cppzmq's zmq.hpp not found (apt-get install cppzmq-dev)");
        return;
    };
    // Our include dir comes first, so zmq.hpp's `#include <zmq.h>` finds libsock's header.
    let hpp_dir = Path::new(header).parent().unwrap().to_string_lossy().into_owned();
    let exe = common::build(
        "cppzmq_client",
        common::Lang::Cxx,
        &[common::c_dir().join("cppzmq_client.cpp")],
        &["-idirafter", &hpp_dir],
    );
    let out = common::run_ok(&exe, &[]);
    assert!(out.contains("cppzmq ok"), "{out}");
}
