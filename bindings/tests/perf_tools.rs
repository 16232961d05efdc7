//! libzmq's own perf tools (`perf/{local,remote}_{thr,lat}.cpp` from the libzmq source the
//! `zmq` dev-dependency builds) compiled unchanged against libsock's zmq.h and libsock.so,
//! and run at small sizes: they must build and complete. BENCHMARKS.md has the figures.

mod common;

use std::path::PathBuf;
use std::time::Duration;

/// Copies the tool's source next to a copy of our header laid out as it expects
/// (`#include "../include/zmq.h"`) and builds it. `None` when libzmq's source is missing.
fn build_tool(name: &str) -> Option<PathBuf> {
    let Some(vendor) = common::libzmq_vendor_dir() else {
        eprintln!("SKIP: libzmq source (zeromq-src in cargo's registry) not found");
        return None;
    };
    // One directory per tool: the two tests run in parallel, and copying a header that the
    // other test's compiler is reading would hand it a truncated file.
    let root = common::out_dir().join(format!("libzmq-perf-{name}"));
    std::fs::create_dir_all(root.join("perf")).unwrap();
    std::fs::create_dir_all(root.join("include")).unwrap();
    for h in ["zmq.h", "zmq_utils.h"] {
        std::fs::copy(common::include_dir().join(h), root.join("include").join(h)).unwrap();
    }
    let src = root.join("perf").join(format!("{name}.cpp"));
    std::fs::copy(vendor.join("perf").join(format!("{name}.cpp")), &src).unwrap();
    Some(common::build(&format!("perf_{name}"), common::Lang::Cxx, &[src], &["-Wno-error"]))
}

fn run_pair(local: &str, remote: &str, size: &str, count: &str) {
    let (Some(local), Some(remote)) = (build_tool(local), build_tool(remote)) else { return };
    let ep = common::free_tcp_endpoint();
    let server = common::spawn(&local, &[&ep, size, count]);
    std::thread::sleep(Duration::from_millis(100));
    let client = common::spawn(&remote, &[&ep, size, count]);
    let c = common::finish(client, "remote tool", Duration::from_secs(60));
    let s = common::finish(server, "local tool", Duration::from_secs(60));
    let report = String::from_utf8_lossy(&s.stdout).into_owned() + &String::from_utf8_lossy(&c.stdout);
    assert!(s.status.success() && c.status.success(), "perf tools failed:\n{report}");
    assert!(report.contains("message count: ") || report.contains("roundtrip count: "), "{report}");
    println!("{report}");
}

#[test]
fn libzmq_throughput_tools_run_on_libsock() {
    run_pair("local_thr", "remote_thr", "100", "20000");
}

#[test]
fn libzmq_latency_tools_run_on_libsock() {
    run_pair("local_lat", "remote_lat", "100", "500");
}
