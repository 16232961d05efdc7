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
    // With libsodium (Debian's libsodium-dev, which libzmq3-dev brings along) this libzmq
    // has CURVE as well as ws://: the one peer here for CURVE over ws. Without it, the
    // tests that need CURVE skip (`LIBZMQ_DRAFT_CURVE`).
    let sodium = libsodium();
    let mut build = zeromq_src::Build::new();
    build.enable_draft(true);
    if let Some(lib_dir) = &sodium {
        build.with_libsodium(Some(zeromq_src::LibLocation::new(lib_dir, "/usr/include")));
        // zeromq-src 0.2's own search line quotes the path, which cargo does not take.
        println!("cargo:rustc-link-search=native={lib_dir}");
    } else {
        println!("cargo:warning=libsodium not found (apt-get install libsodium-dev): the draft libzmq has no CURVE");
    }
    build.build();
    println!("cargo:rustc-env=LIBZMQ_DRAFT_CURVE={}", u8::from(sodium.is_some()));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let peer = out.join("draft_peer");
    let compiler = cc::Build::new().cpp(true).get_compiler();
    let status = Command::new(compiler.path())
        .args(["-O1", "-DZMQ_BUILD_DRAFT_API", "-DZMQ_STATIC", "-x", "c", "peer.c", "-x", "none"])
        .arg(format!("-I{}", out.join("source/include").display()))
        .arg(format!("-L{}", out.join("lib").display()))
        .arg("-lzmq")
        .args(sodium.iter().map(|dir| format!("-L{dir}")))
        .args(sodium.as_ref().map(|_| "-lsodium"))
        .args(["-lstdc++", "-lpthread", "-o"])
        .arg(&peer)
        .status()
        .expect("running the C++ compiler for peer.c");
    assert!(status.success(), "compiling peer.c failed");
    println!("cargo:rustc-env=LIBZMQ_DRAFT_PEER={}", peer.display());
}

/// The directory of a static libsodium with its header in /usr/include, if there is one.
fn libsodium() -> Option<String> {
    if !std::path::Path::new("/usr/include/sodium.h").exists() {
        return None;
    }
    let dirs = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ];
    dirs.iter().find(|d| std::path::Path::new(d).join("libsodium.a").exists()).map(|d| d.to_string())
}
