//! libzmq 4.3.4's own test programs, built against libsock's `zmq.h` and run on
//! `libsock.so`: "existing code is the test" (issue 11). The sources are libzmq's
//! `tests/*.cpp` with its Unity-based `testutil`, from the `zeromq-src` crate in cargo's
//! registry (the `zmq` dev-dependency's libzmq); they are copied next to libsock's header and
//! a Linux `platform.hpp` (`tests/libzmq/platform.hpp`), since they include
//! `../include/zmq.h` and `../src/platform.hpp` relative to themselves.
//!
//! Every program of libzmq's suite is either in [`PASSING`] (built and run here, one test
//! each; all its Unity cases must pass) or in [`NOT_RUN`] with the reason, and
//! `every_libzmq_test_program_is_accounted_for` keeps it that way. Run one program:
//! `cargo test -p libsock-bindings --test libzmq_suite test_pair_tcp`; the built programs
//! and their output are in `target/debug/c-tests/libzmq-suite/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The libzmq test programs that pass whole on libsock, each run by a test of its name.
macro_rules! passing {
    ($($name:ident,)*) => {
        /// The programs run here.
        const PASSING: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                run_program(stringify!($name));
            }
        )*
    };
}

passing! {
    test_ancillaries,
    test_atomics,
    test_base85,
    test_bind_after_connect_tcp,
    test_conflate,
    test_ctx_destroy,
    test_diffserv,
    test_disconnect_inproc,
    test_filter_ipc,
    test_fork,
    test_hwm_pubsub,
    test_immediate,
    test_invalid_rep,
    test_ipc_wildcard,
    test_issue_566,
    test_last_endpoint,
    test_many_sockets,
    test_metadata,
    test_mock_pub_sub,
    test_msg_ffn,
    test_pair_inproc,
    test_pair_tcp,
    test_pair_tcp_cap_net_admin,
    test_probe_router,
    test_proxy,
    test_proxy_single_socket,
    test_proxy_terminate,
    test_pub_invert_matching,
    test_rebind_ipc,
    test_reconnect_options,
    test_req_correlate,
    test_req_relaxed,
    test_reqrep_device,
    test_reqrep_inproc,
    test_reqrep_ipc,
    test_router_handover,
    test_router_mandatory,
    test_security_no_zap_handler,
    test_security_null,
    test_security_plain,
    test_setsockopt,
    test_shutdown_stress,
    test_socket_null,
    test_spec_dealer,
    test_spec_pushpull,
    test_spec_rep,
    test_spec_req,
    test_spec_router,
    test_srcfd,
    test_stream_empty,
    test_stream_exceeds_buffer,
    test_stream_timeout,
    test_sub_forward,
    test_system,
    test_tcp_accept_filter,
    test_timeo,
    test_unbind_wildcard,
    test_use_fd,
    test_xpub_nodrop,
    test_xpub_verbose,
    test_xpub_welcome_msg,
    test_zmq_poll_fd,
}

/// The programs not run, and why. "draft": uses libzmq's draft API (CLIENT/SERVER, RADIO/DISH,
/// the poller, ...), which the stable `zmq.h` does not declare, as libzmq's own stable build
/// skips them.
const NOT_RUN: &[(&str, &str)] = &[
    ("test_abstract_ipc", "TODO: rc=1 2 Tests 1 Failures 0 Ignored "),
    ("test_address_tipc", "TIPC transport (not in libsock)"),
    ("test_app_meta", "draft: ‘ZMQ_METADATA’ was not declared in this scope"),
    ("test_bind_curve_fuzzer", "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)"),
    ("test_bind_fuzzer", "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)"),
    ("test_bind_null_fuzzer", "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)"),
    ("test_bind_src_address", "TODO: rc=1 1 Tests 1 Failures 0 Ignored "),
    ("test_bind_stream_fuzzer", "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)"),
    ("test_bind_ws_fuzzer", "WebSocket transports (not in libsock)"),
    ("test_capabilities", "TODO: rc=1 1 Tests 1 Failures 0 Ignored "),
    ("test_channel", "draft: ‘ZMQ_CHANNEL’ was not declared in this scope"),
    ("test_client_server", "draft: ‘ZMQ_SERVER’ was not declared in this scope; did you mean ‘ZMQ_CURVE’?"),
    (
        "test_connect_curve_fuzzer",
        "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)",
    ),
    ("test_connect_delay_tipc", "TIPC transport (not in libsock)"),
    ("test_connect_fuzzer", "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)"),
    ("test_connect_null_fuzzer", "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)"),
    ("test_connect_resolve", "TODO: rc=1 6 Tests 1 Failures 0 Ignored "),
    ("test_connect_rid", "TODO: rc=124 "),
    (
        "test_connect_stream_fuzzer",
        "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)",
    ),
    ("test_connect_ws_fuzzer", "WebSocket transports (not in libsock)"),
    ("test_ctx_options", "draft: ‘ctx’ was not declared in this scope"),
    ("test_dgram", "draft: ‘ZMQ_DGRAM’ was not declared in this scope; did you mean ‘ZMQ_STREAM’?"),
    ("test_disconnect_msg", "draft: ‘ZMQ_SERVER’ was not declared in this scope; did you mean ‘ZMQ_CURVE’?"),
    ("test_getsockopt_memset", "TODO: rc=1 1 Tests 1 Failures 0 Ignored "),
    ("test_heartbeats", "TODO: rc=3 20 Tests 3 Failures 0 Ignored "),
    ("test_hello_msg", "draft: ‘ZMQ_HELLO_MSG’ was not declared in this scope"),
    ("test_hwm", "TODO: rc=2 11 Tests 2 Failures 0 Ignored "),
    ("test_inproc_connect", "TODO: rc=124 "),
    ("test_iov", "draft: redefinition of ‘struct iovec’"),
    ("test_monitor", "TODO: rc=1 2 Tests 1 Failures 0 Ignored "),
    ("test_msg_flags", "TODO: rc=1 3 Tests 1 Failures 0 Ignored "),
    (
        "test_msg_init",
        "draft: ‘zmq_msg_init_buffer’ was not declared in this scope; did you mean ‘test_msg_init_buffer’?",
    ),
    ("test_pair_ipc", "TODO: rc=1 2 Tests 1 Failures 0 Ignored "),
    ("test_pair_tipc", "TIPC transport (not in libsock)"),
    ("test_pair_vmci", "VMCI transport (not in libsock)"),
    ("test_peer", "draft: ‘ZMQ_PEER’ was not declared in this scope; did you mean ‘ZMQ_PAIR’?"),
    (
        "test_poller",
        "draft: ‘zmq_poller_destroy’ was not declared in this scope; did you mean ‘zmq_timers_destroy’?",
    ),
    ("test_proxy_hwm", "TODO: rc=134 "),
    (
        "test_radio_dish",
        "draft: ‘zmq_msg_set_group’ was not declared in this scope; did you mean ‘zmq_msg_set’?",
    ),
    ("test_reconnect_ivl", "TODO: rc=3 3 Tests 3 Failures 0 Ignored "),
    ("test_reqrep_device_tipc", "TIPC transport (not in libsock)"),
    ("test_reqrep_tcp", "TODO: rc=4 6 Tests 4 Failures 0 Ignored "),
    ("test_reqrep_tipc", "TIPC transport (not in libsock)"),
    ("test_reqrep_vmci", "VMCI transport (not in libsock)"),
    ("test_router_mandatory_hwm", "TODO: rc=1 1 Tests 1 Failures 0 Ignored "),
    ("test_router_mandatory_tipc", "TIPC transport (not in libsock)"),
    (
        "test_router_notify",
        "draft: ‘ZMQ_ROUTER_NOTIFY’ was not declared in this scope; did you mean ‘ZMQ_ROUTER_RAW’?",
    ),
    ("test_scatter_gather", "draft: ‘ZMQ_SCATTER’ was not declared in this scope"),
    ("test_security_curve", "draft: ../src/tweetnacl.h: No such file or directory"),
    ("test_security_gssapi", "GSSAPI mechanism (not in libsock)"),
    ("test_security_zap", "TODO: rc=124 "),
    ("test_shutdown_stress_tipc", "TIPC transport (not in libsock)"),
    (
        "test_socket_options_fuzzer",
        "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)",
    ),
    ("test_sockopt_hwm", "TODO: rc=3 3 Tests 3 Failures 0 Ignored "),
    ("test_socks", "TODO: rc=3 15 Tests 3 Failures 7 Ignored "),
    ("test_sodium", "checks libzmq's own libsodium build"),
    ("test_stream", "TODO: rc=2 2 Tests 2 Failures 0 Ignored "),
    ("test_stream_disconnect", "TODO: rc=1 1 Tests 1 Failures 0 Ignored "),
    ("test_sub_forward_tipc", "TIPC transport (not in libsock)"),
    ("test_term_endpoint", "TODO: rc=2 4 Tests 2 Failures 0 Ignored "),
    ("test_term_endpoint_tipc", "TIPC transport (not in libsock)"),
    ("test_thread_safe", "draft: ‘ZMQ_SERVER’ was not declared in this scope; did you mean ‘ZMQ_CURVE’?"),
    ("test_timers", "TODO: rc=1 3 Tests 1 Failures 0 Ignored "),
    ("test_ws_transport", "WebSocket transports (not in libsock)"),
    ("test_wss_transport", "WebSocket transports (not in libsock)"),
    ("test_xpub_manual", "TODO: rc=124 "),
    ("test_xpub_manual_last_value", "draft: ‘ZMQ_XPUB_MANUAL_LAST_VALUE’ was not declared in this scope"),
    ("test_z85_decode_fuzzer", "libzmq's libFuzzer harnesses (need libFuzzer; libsock has its own, fuzz/)"),
];

/// The test sources and the compiled support objects (Unity, libzmq's testutil).
struct Suite {
    dir: PathBuf,
    objects: Vec<PathBuf>,
}

fn compiler() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".to_owned())
}

fn compile_flags(dir: &Path, vendor: &Path) -> Vec<String> {
    let inc = |p: PathBuf| format!("-I{}", p.display());
    vec![
        "-std=c++11".into(),
        "-O1".into(),
        "-g".into(),
        "-pthread".into(),
        inc(dir.join("include")),
        inc(dir.join("src")),
        inc(dir.join("tests")),
        inc(vendor.join("external/unity")),
    ]
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Copies the sources and builds the support objects once; `None` (the tests then skip) when
/// cargo's registry has no libzmq source.
fn suite() -> Option<&'static Suite> {
    static SUITE: OnceLock<Option<Suite>> = OnceLock::new();
    SUITE
        .get_or_init(|| {
            let Some(vendor) = common::libzmq_vendor_dir() else {
                eprintln!("SKIP: libzmq source (zeromq-src in cargo's registry) not found");
                return None;
            };
            let dir = common::out_dir().join("libzmq-suite");
            for sub in ["tests", "include", "src", "obj", "bin"] {
                std::fs::create_dir_all(dir.join(sub)).unwrap();
            }
            for entry in std::fs::read_dir(vendor.join("tests")).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".cpp") || name.ends_with(".hpp") {
                    std::fs::copy(entry.path(), dir.join("tests").join(&name)).unwrap();
                }
            }
            for h in ["zmq.h", "zmq_utils.h"] {
                std::fs::copy(common::include_dir().join(h), dir.join("include").join(h)).unwrap();
            }
            let platform = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/libzmq/platform.hpp");
            std::fs::copy(platform, dir.join("src/platform.hpp")).unwrap();
            std::fs::copy(vendor.join("src/stdint.hpp"), dir.join("src/stdint.hpp")).unwrap();
            let flags = compile_flags(&dir, &vendor);
            let mut objects = Vec::new();
            let unity = dir.join("obj/unity.o");
            let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
            run(
                Command::new(cc)
                    .args(["-O1", "-c"])
                    .arg(vendor.join("external/unity/unity.c"))
                    .arg(format!("-I{}", vendor.join("external/unity").display()))
                    .arg("-o")
                    .arg(&unity),
                "compiling unity.c",
            );
            objects.push(unity);
            for name in ["testutil", "testutil_unity", "testutil_monitoring", "testutil_security"] {
                let object = dir.join(format!("obj/{name}.o"));
                run(
                    Command::new(compiler())
                        .args(&flags)
                        .arg("-c")
                        .arg(dir.join(format!("tests/{name}.cpp")))
                        .arg("-o")
                        .arg(&object),
                    &format!("compiling {name}.cpp"),
                );
                objects.push(object);
            }
            Some(Suite { dir, objects })
        })
        .as_ref()
}

/// Builds libzmq's `tests/<name>.cpp` against libsock and runs it: it must exit 0 with
/// Unity's "0 Failures".
fn run_program(name: &str) {
    let Some(suite) = suite() else { return };
    let vendor = common::libzmq_vendor_dir().unwrap();
    let exe = suite.dir.join("bin").join(name);
    let lib = common::lib_dir();
    run(
        Command::new(compiler())
            .args(compile_flags(&suite.dir, &vendor))
            .arg(suite.dir.join(format!("tests/{name}.cpp")))
            .args(&suite.objects)
            .arg("-L")
            .arg(&lib)
            .arg("-lsock")
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .arg("-o")
            .arg(&exe),
        &format!("building {name}"),
    );
    let out = common::finish(common::spawn(&exe, &[]), name, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(" 0 Failures"),
        "libzmq's {name} on libsock ({}):\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_libzmq_test_program_is_accounted_for() {
    let Some(vendor) = common::libzmq_vendor_dir() else {
        eprintln!("SKIP: libzmq source (zeromq-src in cargo's registry) not found");
        return;
    };
    let mut unlisted = Vec::new();
    for entry in std::fs::read_dir(vendor.join("tests")).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file.strip_suffix(".cpp") else { continue };
        if name.starts_with("testutil") {
            continue;
        }
        let listed = PASSING.contains(&name) as usize + NOT_RUN.iter().filter(|(n, _)| *n == name).count();
        if listed != 1 {
            unlisted.push(format!("{name} (listed {listed} times)"));
        }
    }
    unlisted.sort();
    assert!(
        unlisted.is_empty(),
        "libzmq test programs in neither PASSING nor NOT_RUN, or in both:\n{}",
        unlisted.join("\n")
    );
}
