//! bindings/install.sh: installs the library, header and pkg-config file under a prefix; a
//! C program then builds with `pkg-config --cflags --libs libsock` and runs. With
//! `--zmq-compat`, a program linked against libzmq (Debian's) runs on libsock unchanged
//! through the `libzmq.so.5` name. Parts needing pkg-config or libzmq3-dev skip with a
//! message when those are missing (.ci/run installs them).

mod common;

use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

fn install(prefix: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(prefix)
        .arg("--lib-from")
        .arg(common::deps_dir())
        .arg("--zmq-compat")
        .output()
        .unwrap();
    assert!(out.status.success(), "install.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    for f in ["lib/libsock.so.0", "lib/libsock.so", "lib/libsock.a", "include/zmq.h", "include/zmq_utils.h"] {
        assert!(prefix.join(f).exists(), "{f} not installed");
    }
}

#[test]
fn installed_library_builds_with_pkg_config() {
    let prefix = tempfile::tempdir().unwrap();
    install(prefix.path());
    if !have("pkg-config") {
        eprintln!("SKIP: pkg-config not installed");
        return;
    }
    let pc = prefix.path().join("lib/pkgconfig");
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libsock"])
        .env("PKG_CONFIG_PATH", &pc)
        .output()
        .unwrap();
    assert!(flags.status.success());
    let flags = String::from_utf8(flags.stdout).unwrap();
    assert!(flags.contains("-lsock"), "{flags}");
    let exe = prefix.path().join("hello");
    let mut cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    cc.arg(common::c_dir().join("hello_reqrep.c")).arg("-I").arg(common::c_dir()).arg("-o").arg(&exe);
    cc.args(flags.split_whitespace());
    cc.arg(format!("-Wl,-rpath,{}", prefix.path().join("lib").display()));
    let out = cc.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(common::run_ok(&exe, &[]).contains("hello_reqrep ok"));
}

#[test]
fn program_linked_against_libzmq_runs_on_libsock() {
    let prefix = tempfile::tempdir().unwrap();
    install(prefix.path());
    if !Path::new("/usr/include/zmq.h").exists() || !have("pkg-config") {
        eprintln!("SKIP: libzmq3-dev or pkg-config not installed");
        return;
    }
    let libzmq = Command::new("pkg-config").args(["--libs", "libzmq"]).output().unwrap();
    if !libzmq.status.success() {
        eprintln!("SKIP: pkg-config has no libzmq (apt-get install libzmq3-dev)");
        return;
    }
    // Built against the system's zmq.h and libzmq.so: no trace of libsock at build time.
    let exe = prefix.path().join("hello-libzmq");
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-I")
        .arg(common::c_dir())
        .arg("-idirafter")
        .arg("/usr/include")
        .arg(common::c_dir().join("hello_reqrep.c"))
        .arg("-o")
        .arg(&exe)
        .args(String::from_utf8(libzmq.stdout).unwrap().split_whitespace())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let compat = prefix.path().join("lib/libsock-compat");
    let out = Command::new(&exe).env("LD_LIBRARY_PATH", &compat).env("LD_DEBUG", "libs").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The dynamic loader really took libzmq.so.5 from the compat directory.
    let trace = String::from_utf8_lossy(&out.stderr);
    let loaded = format!("{}/libzmq.so.5", compat.display());
    assert!(trace.contains(&loaded), "libzmq.so.5 not loaded from {loaded}:\n{trace}");
}
