//! Builds libzmq 4.3 with its draft API (`zeromq-src`, the source the `zmq` crate builds
//! too) and links `peer.c` against it into the `draft_peer` program the tests run.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=peer.c");
    println!("cargo:rerun-if-changed=build.rs");
    // libzmq's own compiler warnings are not ours to fix; keep them out of cargo's output.
    if env::var_os("CXXFLAGS").is_none() {
        env::set_var("CXXFLAGS", "-w");
    }
    zeromq_src::Build::new().enable_draft(true).build();
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let peer = out.join("draft_peer");
    let compiler = cc::Build::new().cpp(true).get_compiler();
    let status = Command::new(compiler.path())
        .args(["-O1", "-DZMQ_BUILD_DRAFT_API", "-DZMQ_STATIC", "-x", "c", "peer.c", "-x", "none"])
        .arg(format!("-I{}", out.join("source/include").display()))
        .arg(format!("-L{}", out.join("lib").display()))
        .args(["-lzmq", "-lstdc++", "-lpthread", "-o"])
        .arg(&peer)
        .status()
        .expect("running the C++ compiler for peer.c");
    assert!(status.success(), "compiling peer.c failed");
    println!("cargo:rustc-env=LIBZMQ_DRAFT_PEER={}", peer.display());
}
