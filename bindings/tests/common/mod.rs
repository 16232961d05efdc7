//! A small runner for C and C++ test programs: compiles them against `include/zmq.h`, links
//! them with the `libsock.so` cargo built for this test run, and runs them with a deadline.
#![allow(dead_code)]

pub mod fuzz_corpus;
pub mod libzmq_suite;
#[path = "../../../libsock/tests/common/netns.rs"]
pub mod netns;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The directory holding the `libsock.so` cargo built with this test binary.
pub fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps dir").to_path_buf();
    assert!(deps.join("libsock.so").exists(), "libsock.so not found in {}", deps.display());
    deps
}

/// A directory with `libsock.so` and `libsock.so.0` (its soname) linking to cargo's build,
/// as an installation would have them.
pub fn lib_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let built = deps_dir().join("libsock.so");
        let dir = deps_dir().parent().expect("profile dir").join("c-tests/lib");
        std::fs::create_dir_all(&dir).expect("create c-tests/lib");
        for name in ["libsock.so", "libsock.so.0"] {
            let link = dir.join(name);
            let _ = std::fs::remove_file(&link);
            if let Err(e) = std::os::unix::fs::symlink(&built, &link) {
                assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "symlink {}: {e}", link.display());
            }
        }
        dir
    })
    .clone()
}

/// bindings/include
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// bindings/tests/c
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// Where compiled test programs go.
pub fn out_dir() -> PathBuf {
    let dir = deps_dir().parent().expect("profile dir").join("c-tests");
    std::fs::create_dir_all(&dir).expect("create c-tests dir");
    dir
}

/// Which compiler: C (`$CC` or cc) or C++ (`$CXX` or c++).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    C,
    Cxx,
}

/// Compiles `sources` into an executable `name` linked against libsock; panics with the
/// compiler's output on failure. `extra` goes before the sources (include paths, defines).
pub fn build(name: &str, lang: Lang, sources: &[PathBuf], extra: &[&str]) -> PathBuf {
    let (var, default, std) = match lang {
        Lang::C => ("CC", "cc", "-std=gnu11"),
        Lang::Cxx => ("CXX", "c++", "-std=c++17"),
    };
    let compiler = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let exe = out_dir().join(name);
    // Tests build the same program concurrently: write a private file, then rename it over.
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = out_dir().join(format!("{name}.tmp.{}.{seq}", std::process::id()));
    let lib = lib_dir();
    let mut cmd = Command::new(&compiler);
    // Whether libsock.so has the draft API (`zmq_has ("draft")`), for programs to check.
    let draft = format!("-DLIBSOCK_TEST_DRAFT={}", i32::from(cfg!(feature = "draft")));
    cmd.args([std, "-O1", "-g", "-Wall", "-Werror", "-pthread", &draft])
        .arg("-I")
        .arg(include_dir())
        .arg("-I")
        .arg(c_dir())
        .args(extra)
        .args(sources)
        .arg("-o")
        .arg(&tmp)
        .arg("-L")
        .arg(&lib)
        .arg("-lsock")
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(out.status.success(), "compiling {name} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    std::fs::rename(&tmp, &exe).expect("move the program into place");
    exe
}

/// Compiles `tests/c/<name>.c` as a C program.
pub fn build_c(name: &str) -> PathBuf {
    build(name, Lang::C, &[c_dir().join(format!("{name}.c"))], &[])
}

/// Compiles `tests/c/<name>.c` against the system's zmq.h and libzmq.so (Debian's
/// libzmq3-dev), so a test can show that libzmq behaves as it expects of libsock; `None`,
/// with a SKIP line, where they are not installed.
pub fn build_c_on_system_libzmq(name: &str) -> Option<PathBuf> {
    if !Path::new("/usr/include/zmq.h").exists() {
        eprintln!("SKIP {name} on libzmq: libzmq3-dev is not installed");
        return None;
    }
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let exe = out_dir().join(format!("{name}-libzmq"));
    let tmp = out_dir().join(format!("{name}-libzmq.tmp.{}", std::process::id()));
    let out = Command::new(&compiler)
        .args(["-std=gnu11", "-O1", "-g", "-Wall", "-Werror", "-pthread", "-DLIBSOCK_TEST_DRAFT=0"])
        .arg("-I")
        .arg(c_dir())
        .arg(c_dir().join(format!("{name}.c")))
        .arg("-o")
        .arg(&tmp)
        .arg("-lzmq")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(
        out.status.success(),
        "compiling {name} on libzmq failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &exe).expect("move the program into place");
    Some(exe)
}

/// Starts `exe` with `args`, output captured.
pub fn spawn(exe: &Path, args: &[&str]) -> Child {
    Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()))
}

/// Waits for `child` for up to `limit`; kills it and panics if it takes longer.
pub fn finish(mut child: Child, what: &str, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!("{what} hung; stdout:\n{}", String::from_utf8_lossy(&out.stdout));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("collect output")
}

/// Runs `exe` to completion and asserts it exited 0; returns its stdout.
pub fn run_ok(exe: &Path, args: &[&str]) -> String {
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let out = finish(spawn(exe, args), &name, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Builds and runs `tests/c/<name>.c`, asserting success.
pub fn c_program(name: &str) -> String {
    run_ok(&build_c(name), &[])
}

/// libzmq's source tree (`vendor/` of the `zeromq-src` crate the `zmq` dev-dependency
/// builds), for its perf tools; `None` if cargo's registry does not have it.
pub fn libzmq_vendor_dir() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    for registry in std::fs::read_dir(cargo_home.join("registry/src")).ok()?.flatten() {
        for krate in std::fs::read_dir(registry.path()).ok()?.flatten() {
            let name = krate.file_name().to_string_lossy().into_owned();
            let vendor = krate.path().join("vendor");
            if name.starts_with("zeromq-src-") && vendor.join("perf/local_thr.cpp").exists() {
                return Some(vendor);
            }
        }
    }
    None
}

/// A free loopback tcp endpoint (for programs that must be told where to bind).
pub fn free_tcp_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
    format!("tcp://127.0.0.1:{}", listener.local_addr().unwrap().port())
}
