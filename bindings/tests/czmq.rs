//! czmq, the high-level C library built on libzmq, runs its own self-tests on libsock: the
//! unchanged Debian build (`libczmq4`, compiled and linked against libzmq 4.3) loads libsock
//! through the `libzmq.so.5` name, README's drop-in recipe. Each czmq class that uses
//! ZeroMQ is one test: sockets of every type and their options (`zsock`, `zsock_option`),
//! actors over inproc PAIRs (`zactor`), `zpoller`/`zloop` (zmq_poll), `zmonitor`,
//! `zproxy` (zmq_proxy_steerable), `zauth`/`zcert` (ZAP over inproc, PLAIN and CURVE),
//! `zgossip`, and messages (`zframe`, `zmsg`, `zstr`). A failed check aborts czmq's test.
//!
//! Skips with a message when libczmq is not installed (.ci/run installs `libczmq4`).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// `tests/c/czmq_selftest.c`, built without libsock (libczmq brings "libzmq"), and a
/// directory where `libzmq.so.5` is this test run's libsock.so.
fn runner() -> &'static (PathBuf, PathBuf) {
    static RUNNER: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUNNER.get_or_init(|| {
        let exe = common::out_dir().join("czmq_selftest");
        let tmp = common::out_dir().join(format!("czmq_selftest.tmp.{}", std::process::id()));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let out = Command::new(&cc)
            .args(["-std=gnu11", "-O1", "-Wall", "-Werror"])
            .arg(common::c_dir().join("czmq_selftest.c"))
            .arg("-o")
            .arg(&tmp)
            .arg("-ldl")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
        assert!(
            out.status.success(),
            "compiling czmq_selftest failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&tmp, &exe).expect("move czmq_selftest into place");
        let compat = common::out_dir().join("czmq-compat");
        std::fs::create_dir_all(&compat).expect("create czmq-compat");
        let link = compat.join("libzmq.so.5");
        let _ = std::fs::remove_file(&link);
        if let Err(e) = std::os::unix::fs::symlink(common::deps_dir().join("libsock.so"), &link) {
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "symlink {}: {e}", link.display());
        }
        (exe, compat)
    })
}

/// Failures of czmq's own tests that are races in the test, seen on libzmq as on libsock:
/// such a run is tried again (at most [`TRIES`] runs in all). zgossip_test has its actor
/// "alpha" deliver its two own tuples in a row, but alpha's loop reads a tuple that came
/// from "beta" through "base" in between when its thread ran late: on 2026-12-06, 3 in 490
/// runs on libzmq 4.3.4 and 6 in 690 on libsock, with and without two busy loops beside.
const KNOWN_RACES: &[&str] = &["zgossip_test: Assertion `streq (key, \"inproc://alpha-2\")' failed"];
const TRIES: usize = 4;

/// Runs czmq's `<class>_test` on libsock, in a directory of its own (zauth and zcert write
/// certificate files there). `None` when libczmq is missing (skipped), else its output.
fn czmq_selftest(class: &str, debug_loader: bool) -> Option<String> {
    for attempt in 1..=TRIES {
        match czmq_selftest_once(class, debug_loader) {
            Err(race) if attempt < TRIES => {
                eprintln!("czmq's {class}_test lost its own race ({race}); again")
            }
            Err(race) => panic!("czmq's {class}_test lost its own race {TRIES} times in a row: {race}"),
            Ok(out) => return out,
        }
    }
    unreachable!()
}

/// One run of [`czmq_selftest`]; `Err` names the [`KNOWN_RACES`] entry it failed on.
fn czmq_selftest_once(class: &str, debug_loader: bool) -> Result<Option<String>, &'static str> {
    let (exe, compat) = runner();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(exe);
    cmd.arg(class).current_dir(dir.path()).env("LD_LIBRARY_PATH", compat);
    if debug_loader {
        cmd.env("LD_DEBUG", "libs");
    }
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start czmq_selftest");
    let out = common::finish(child, &format!("czmq's {class}_test"), Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() == Some(77) {
        eprintln!("SKIP: {} (apt-get install libczmq4)", stdout.trim());
        return Ok(None);
    }
    if !out.status.success() {
        if let Some(race) = KNOWN_RACES.iter().find(|race| stderr.contains(*race)) {
            return Err(race);
        }
    }
    assert!(
        out.status.success(),
        "czmq's {class}_test failed on libsock ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(&format!("{class}_test passed")), "{stdout}");
    Ok(Some(stderr))
}

macro_rules! czmq_classes {
    ($($class:ident,)*) => {
        $(
            #[test]
            fn $class() {
                czmq_selftest(stringify!($class), false);
            }
        )*
    };
}

czmq_classes! {
    zactor,
    zauth,
    zcert,
    zcertstore,
    zframe,
    zgossip,
    zloop,
    zmonitor,
    zmsg,
    zpoller,
    zproxy,
    zsock,
    zsock_option,
    zstr,
    zsys,
}

/// The self-tests above really run on libsock: the loader takes libzmq.so.5 from the
/// directory that names libsock so, not the system's libzmq that libczmq was linked with.
#[test]
fn czmq_loads_libsock_as_libzmq() {
    let Some(trace) = czmq_selftest("zstr", true) else { return };
    let compat = &runner().1;
    let loaded = format!("{}/libzmq.so.5", compat.display());
    assert!(
        trace.contains(&format!("calling init: {loaded}")),
        "libzmq.so.5 not loaded from {loaded}:\n{trace}"
    );
}
