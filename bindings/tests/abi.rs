//! The header against the library: a C file that includes zmq.h and takes the address of
//! every function it declares must compile and link against libsock.so; struct sizes,
//! alignments and offsets, and every constant the header defines, as the C compiler sees
//! them, must equal the Rust side's values (libsock's socket-type, option and event tables,
//! errno values and flags).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::mem::{align_of, offset_of, size_of};

use libsock::{SocketEvent, SocketOption, SocketType};
use sock::{zmq_msg_t, zmq_pollitem_t};

/// Declared by zmq.h (so C++ headers such as cppzmq compile) but not yet exported: they
/// wait for libsock's proxy (see README, "C API"). A program calling them fails to link.
const NOT_PROVIDED: [&str; 3] = ["zmq_proxy", "zmq_proxy_steerable", "zmq_device"];

/// `(functions, integer macros)` declared by include/zmq.h.
fn header_names() -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(common::include_dir().join("zmq.h")).unwrap();
    let mut fns = Vec::new();
    let mut macros = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("ZMQ_EXPORT") || !pending.is_empty() {
            pending.push_str(line);
            pending.push(' ');
            if let Some(paren) = pending.find(" (") {
                let name = pending[..paren].rsplit([' ', '*']).next().unwrap().to_owned();
                if !NOT_PROVIDED.contains(&name.as_str()) {
                    fns.push(name);
                }
                pending.clear();
            }
        } else if let Some(rest) = line.strip_prefix("#define ") {
            let mut parts = rest.splitn(2, ' ');
            let name = parts.next().unwrap();
            let value = parts.next().unwrap_or("").trim();
            let numeric = value.starts_with(|c: char| c.is_ascii_digit() || c == '(' || c == '-')
                || value.starts_with("ZMQ_");
            if !name.contains('(') && numeric && name != "ZMQ_VERSION" {
                macros.push(name.to_owned());
            }
        }
    }
    (fns, macros)
}

/// Compiles and runs a C program printing sizes, offsets and every macro's value.
fn c_view() -> BTreeMap<String, i64> {
    let (fns, macros) = header_names();
    assert!(fns.len() >= 67, "parsed only {} functions", fns.len());
    let mut src =
        String::from("#include <stdio.h>\n#include <stddef.h>\n#include <zmq.h>\n#include <zmq_utils.h>\n");
    src.push_str("void *const functions[] = {\n");
    for f in &fns {
        writeln!(src, "    (void *) {f},").unwrap();
    }
    src.push_str("};\nint main (void)\n{\n");
    src.push_str("    printf (\"functions %d\\n\", (int) (sizeof functions / sizeof functions[0]));\n");
    for (name, expr) in [
        ("sizeof_msg", "sizeof (zmq_msg_t)"),
        ("alignof_msg", "_Alignof (zmq_msg_t)"),
        ("sizeof_pollitem", "sizeof (zmq_pollitem_t)"),
        ("offsetof_socket", "offsetof (zmq_pollitem_t, socket)"),
        ("offsetof_fd", "offsetof (zmq_pollitem_t, fd)"),
        ("offsetof_events", "offsetof (zmq_pollitem_t, events)"),
        ("offsetof_revents", "offsetof (zmq_pollitem_t, revents)"),
    ] {
        writeln!(src, "    printf (\"{name} %lld\\n\", (long long) {expr});").unwrap();
    }
    for m in &macros {
        writeln!(src, "    printf (\"{m} %lld\\n\", (long long) ({m}));").unwrap();
    }
    for e in ["EFSM", "ENOCOMPATPROTO", "ETERM", "EMTHREAD", "ENOTSUP", "EHOSTUNREACH", "ENOTSOCK", "EAGAIN"]
    {
        writeln!(src, "    printf (\"{e} %lld\\n\", (long long) ({e}));").unwrap();
    }
    src.push_str("    return 0;\n}\n");
    let path = common::out_dir().join("abi_check.c");
    std::fs::write(&path, src).unwrap();
    let exe = common::build("abi_check", common::Lang::C, &[path], &["-Wno-error"]);
    let out = common::run_ok(&exe, &[]);
    let view: BTreeMap<String, i64> = out
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect();
    assert_eq!(view["functions"], fns.len() as i64);
    view
}

fn screaming(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[test]
fn header_matches_the_library() {
    let c = c_view();
    // Structs.
    assert_eq!(c["sizeof_msg"], size_of::<zmq_msg_t>() as i64);
    assert_eq!(c["sizeof_msg"], 64);
    assert_eq!(c["alignof_msg"], align_of::<zmq_msg_t>() as i64);
    assert_eq!(c["sizeof_pollitem"], size_of::<zmq_pollitem_t>() as i64);
    assert_eq!(c["offsetof_socket"], offset_of!(zmq_pollitem_t, socket) as i64);
    assert_eq!(c["offsetof_fd"], offset_of!(zmq_pollitem_t, fd) as i64);
    assert_eq!(c["offsetof_events"], offset_of!(zmq_pollitem_t, events) as i64);
    assert_eq!(c["offsetof_revents"], offset_of!(zmq_pollitem_t, revents) as i64);

    // Socket types, every one libsock has.
    for t in SocketType::ALL {
        assert_eq!(c[&format!("ZMQ_{}", t.as_str())], t.to_raw() as i64, "{t:?}");
    }
    // Every stored option of libsock's table is in the header with the same number.
    let mut options = 0;
    for raw in 0..1000 {
        if let Some(opt) = SocketOption::from_raw(raw) {
            let name = format!("ZMQ_{opt:?}");
            assert_eq!(c.get(&name), Some(&(raw as i64)), "{name} missing or different in zmq.h");
            options += 1;
        }
    }
    assert!(options >= 30);
    // Monitor events.
    for bit in 0..16 {
        if let Some(e) = SocketEvent::from_raw(1 << bit) {
            let name = format!("ZMQ_EVENT_{}", screaming(&format!("{e:?}")));
            assert_eq!(c.get(&name), Some(&(1i64 << bit)), "{name}");
        }
    }
    assert_eq!(c["ZMQ_EVENT_ALL"], libsock::EVENT_ALL as i64);
    // Flags and poll bits.
    assert_eq!(c["ZMQ_DONTWAIT"], libsock::DONTWAIT as i64);
    assert_eq!(c["ZMQ_SNDMORE"], libsock::SNDMORE as i64);
    assert_eq!(c["ZMQ_POLLIN"], libsock::POLLIN as i64);
    assert_eq!(c["ZMQ_POLLOUT"], libsock::POLLOUT as i64);
    assert_eq!(c["ZMQ_POLLERR"], libsock::POLLERR as i64);
    // Protocol error values carried by HANDSHAKE_FAILED_PROTOCOL.
    use libsock::protocol_error::*;
    assert_eq!(c["ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED"], PROTOCOL_ERROR_UNSPECIFIED as i64);
    assert_eq!(c["ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND"], PROTOCOL_ERROR_UNEXPECTED_COMMAND as i64);
    assert_eq!(c["ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE"], PROTOCOL_ERROR_INVALID_SEQUENCE as i64);
    assert_eq!(
        c["ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED"],
        PROTOCOL_ERROR_MALFORMED_COMMAND as i64
    );
    assert_eq!(c["ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA"], PROTOCOL_ERROR_INVALID_METADATA as i64);
    assert_eq!(c["ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH"], PROTOCOL_ERROR_MECHANISM_MISMATCH as i64);
    // errno values: libsock's, this crate's, and the system's.
    assert_eq!(c["EFSM"], libsock::EFSM as i64);
    assert_eq!(c["ETERM"], libsock::ETERM as i64);
    assert_eq!(c["EFSM"], sock::consts::EFSM as i64);
    assert_eq!(c["ENOCOMPATPROTO"], sock::consts::ENOCOMPATPROTO as i64);
    assert_eq!(c["EMTHREAD"], sock::consts::EMTHREAD as i64);
    assert_eq!(c["ENOTSUP"], libc_errno::ENOTSUP);
    assert_eq!(c["EHOSTUNREACH"], libsock::Error::HostUnreachable.to_raw() as i64);
    assert_eq!(c["ENOTSOCK"], sock::consts::ENOTSOCK as i64);
    assert_eq!(c["EAGAIN"], libsock::Error::WouldBlock.to_raw() as i64);
    // Context options and message properties this crate implements.
    use sock::consts;
    for (name, v) in [
        ("ZMQ_IO_THREADS", consts::IO_THREADS),
        ("ZMQ_MAX_SOCKETS", consts::MAX_SOCKETS),
        ("ZMQ_SOCKET_LIMIT", consts::SOCKET_LIMIT),
        ("ZMQ_THREAD_PRIORITY", consts::THREAD_PRIORITY),
        ("ZMQ_THREAD_SCHED_POLICY", consts::THREAD_SCHED_POLICY),
        ("ZMQ_MAX_MSGSZ", consts::MAX_MSGSZ),
        ("ZMQ_MSG_T_SIZE", consts::MSG_T_SIZE),
        ("ZMQ_IO_THREADS_DFLT", consts::IO_THREADS_DFLT),
        ("ZMQ_MAX_SOCKETS_DFLT", consts::MAX_SOCKETS_DFLT),
        ("ZMQ_BLOCKY", consts::BLOCKY),
        ("ZMQ_SUBSCRIBE", consts::SUBSCRIBE),
        ("ZMQ_UNSUBSCRIBE", consts::UNSUBSCRIBE),
        ("ZMQ_RCVMORE", consts::RCVMORE),
        ("ZMQ_FD", consts::FD),
        ("ZMQ_EVENTS", consts::EVENTS),
        ("ZMQ_TYPE", consts::TYPE),
        ("ZMQ_LAST_ENDPOINT", consts::LAST_ENDPOINT),
        ("ZMQ_IPV6", consts::IPV6),
        ("ZMQ_IPV4ONLY", consts::IPV4ONLY),
        ("ZMQ_MECHANISM", consts::MECHANISM),
        ("ZMQ_THREAD_SAFE", consts::THREAD_SAFE),
        ("ZMQ_MORE", consts::MORE),
        ("ZMQ_SRCFD", consts::SRCFD),
        ("ZMQ_SHARED", consts::SHARED),
        ("ZMQ_STREAMER", consts::STREAMER),
        ("ZMQ_FORWARDER", consts::FORWARDER),
        ("ZMQ_QUEUE", consts::QUEUE),
        ("ZMQ_VERSION_MAJOR", consts::VERSION.0),
        ("ZMQ_VERSION_MINOR", consts::VERSION.1),
        ("ZMQ_VERSION_PATCH", consts::VERSION.2),
    ] {
        assert_eq!(c[name], v as i64, "{name}");
    }
}

/// The system's errno numbers the header must not redefine.
mod libc_errno {
    pub const ENOTSUP: i64 = 95;
}

#[test]
fn library_exports_exactly_the_header_functions() {
    let out = match std::process::Command::new("nm")
        .arg("-D")
        .arg("--defined-only")
        .arg(common::deps_dir().join("libsock.so"))
        .output()
    {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!("SKIP: nm (binutils) not available");
            return;
        }
    };
    let exported: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|s| s.starts_with("zmq_"))
        .map(str::to_owned)
        .collect();
    let (declared, _) = header_names();
    for f in &exported {
        assert!(declared.contains(f), "{f} is exported but not declared in zmq.h");
    }
    for f in &declared {
        assert!(exported.contains(f), "{f} is declared in zmq.h but not exported");
    }
}
