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

/// An integer macro of a zmq.h: its name and whether it is under `ZMQ_BUILD_DRAFT_API`.
struct Macro {
    name: String,
    draft: bool,
}

/// The `#define NAME value` lines of a header with a numeric value, each marked draft when it
/// sits inside `#ifdef ZMQ_BUILD_DRAFT_API` (nesting followed).
fn macros_of(text: &str) -> Vec<(Macro, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<bool> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with("#if") {
            stack.push(line == "#ifdef ZMQ_BUILD_DRAFT_API");
        } else if line.starts_with("#endif") {
            stack.pop();
        } else if let Some(rest) = line.strip_prefix("#define ") {
            let mut parts = rest.trim().splitn(2, char::is_whitespace);
            let name = parts.next().unwrap();
            let value = parts.next().unwrap_or("").trim();
            let numeric = value.starts_with(|c: char| c.is_ascii_digit() || c == '(' || c == '-')
                || value.starts_with("ZMQ_");
            if !name.contains('(') && numeric && name != "ZMQ_VERSION" {
                let draft = stack.iter().any(|d| *d);
                out.push((Macro { name: name.to_owned(), draft }, value.to_owned()));
            }
        }
    }
    out
}

/// `(functions, integer macros)` declared by include/zmq.h.
fn header_names() -> (Vec<String>, Vec<Macro>) {
    let text = std::fs::read_to_string(common::include_dir().join("zmq.h")).unwrap();
    let mut fns = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("ZMQ_EXPORT") || !pending.is_empty() {
            pending.push_str(line);
            pending.push(' ');
            if let Some(paren) = pending.find(" (") {
                let name = pending[..paren].rsplit([' ', '*']).next().unwrap().to_owned();
                fns.push(name);
                pending.clear();
            }
        }
    }
    (fns, macros_of(&text).into_iter().map(|(m, _)| m).collect())
}

/// The functions zmq.h declares inside `#ifdef ZMQ_BUILD_DRAFT_API`.
fn draft_functions() -> Vec<String> {
    let text = std::fs::read_to_string(common::include_dir().join("zmq.h")).unwrap();
    let mut stack: Vec<bool> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("#if") {
            stack.push(line.trim_end() == "#ifdef ZMQ_BUILD_DRAFT_API");
        } else if line.starts_with("#endif") {
            stack.pop();
        } else if line.starts_with("ZMQ_EXPORT") && stack.iter().any(|d| *d) {
            if let Some(paren) = line.find(" (") {
                out.push(line[..paren].rsplit([' ', '*']).next().unwrap().to_owned());
            }
        }
    }
    out
}

/// Compiles and runs a C program printing sizes, offsets and the value of every macro the
/// header defines in that mode: the stable ones without `ZMQ_BUILD_DRAFT_API`, all of them
/// with it.
fn c_view(draft: bool) -> BTreeMap<String, i64> {
    let (mut fns, macros) = header_names();
    // Draft functions exist only with ZMQ_BUILD_DRAFT_API, and in the library only when it
    // was built with its `draft` feature.
    let drafts = draft_functions();
    fns.retain(|f| !drafts.contains(f) || (draft && cfg!(feature = "draft")));
    assert!(fns.len() >= 70, "parsed only {} functions", fns.len());
    let mut src = String::new();
    if draft {
        src.push_str("#define ZMQ_BUILD_DRAFT_API\n");
    }
    src.push_str("#include <stdio.h>\n#include <stddef.h>\n#include <zmq.h>\n#include <zmq_utils.h>\n");
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
    if draft {
        for (name, expr) in [
            ("sizeof_poller_event", "sizeof (zmq_poller_event_t)"),
            ("offsetof_ev_socket", "offsetof (zmq_poller_event_t, socket)"),
            ("offsetof_ev_fd", "offsetof (zmq_poller_event_t, fd)"),
            ("offsetof_ev_user_data", "offsetof (zmq_poller_event_t, user_data)"),
            ("offsetof_ev_events", "offsetof (zmq_poller_event_t, events)"),
        ] {
            writeln!(src, "    printf (\"{name} %lld\\n\", (long long) {expr});").unwrap();
        }
    }
    for m in macros.iter().filter(|m| draft || !m.draft) {
        let n = &m.name;
        writeln!(src, "    printf (\"{n} %lld\\n\", (long long) ({n}));").unwrap();
    }
    // A draft macro must not leak into the stable view.
    for m in macros.iter().filter(|m| !draft && m.draft) {
        let n = &m.name;
        writeln!(src, "#ifdef {n}\n    printf (\"leaked {n}\\n\");\n#endif").unwrap();
    }
    for e in ["EFSM", "ENOCOMPATPROTO", "ETERM", "EMTHREAD", "ENOTSUP", "EHOSTUNREACH", "ENOTSOCK", "EAGAIN"]
    {
        writeln!(src, "    printf (\"{e} %lld\\n\", (long long) ({e}));").unwrap();
    }
    src.push_str("    return 0;\n}\n");
    let name = if draft { "abi_check_draft" } else { "abi_check_stable" };
    let path = common::out_dir().join(format!("{name}.c"));
    std::fs::write(&path, src).unwrap();
    let exe = common::build(name, common::Lang::C, &[path], &["-Wno-error"]);
    let out = common::run_ok(&exe, &[]);
    assert!(!out.contains("leaked"), "draft macros visible without ZMQ_BUILD_DRAFT_API:\n{out}");
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

/// libzmq 4.3's stable socket options end at ZMQ_BINDTODEVICE (92); later numbers are draft.
const LAST_STABLE_OPTION: i32 = 92;

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
    let draft = c_view(true);
    let c = c_view(false);
    // Structs.
    assert_eq!(c["sizeof_msg"], size_of::<zmq_msg_t>() as i64);
    assert_eq!(c["sizeof_msg"], 64);
    assert_eq!(c["alignof_msg"], align_of::<zmq_msg_t>() as i64);
    assert_eq!(c["sizeof_pollitem"], size_of::<zmq_pollitem_t>() as i64);
    assert_eq!(c["offsetof_socket"], offset_of!(zmq_pollitem_t, socket) as i64);
    assert_eq!(c["offsetof_fd"], offset_of!(zmq_pollitem_t, fd) as i64);
    assert_eq!(c["offsetof_events"], offset_of!(zmq_pollitem_t, events) as i64);
    assert_eq!(c["offsetof_revents"], offset_of!(zmq_pollitem_t, revents) as i64);

    #[cfg(feature = "draft")]
    {
        use sock::poller::zmq_poller_event_t as Ev;
        assert_eq!(draft["sizeof_poller_event"], size_of::<Ev>() as i64);
        assert_eq!(draft["offsetof_ev_socket"], offset_of!(Ev, socket) as i64);
        assert_eq!(draft["offsetof_ev_fd"], offset_of!(Ev, fd) as i64);
        assert_eq!(draft["offsetof_ev_user_data"], offset_of!(Ev, user_data) as i64);
        assert_eq!(draft["offsetof_ev_events"], offset_of!(Ev, events) as i64);
    }
    assert_eq!(draft["sizeof_poller_event"], 4 * size_of::<usize>() as i64);

    // Socket types, every one libsock has.
    for t in SocketType::ALL {
        assert_eq!(c[&format!("ZMQ_{}", t.as_str())], t.to_raw() as i64, "{t:?}");
    }
    // STREAM is kept out of SocketType::ALL (it pairs with no other type).
    assert_eq!(c["ZMQ_STREAM"], libsock::STREAM.to_raw() as i64);
    assert_eq!(c["ZMQ_STREAM"], 11);
    // Every stored option of libsock's table is in the header with the same number: a stable
    // one in the stable part, a draft one only with ZMQ_BUILD_DRAFT_API.
    let (mut stable, mut drafts) = (0, 0);
    for raw in 0..1000 {
        if let Some(opt) = SocketOption::from_raw(raw) {
            let name = format!("ZMQ_{opt:?}");
            if raw <= LAST_STABLE_OPTION {
                assert_eq!(c.get(&name), Some(&(raw as i64)), "{name} missing or different in zmq.h");
                stable += 1;
            } else {
                assert_eq!(c.get(&name), None, "{name} is draft in libzmq 4.3 but stable in zmq.h");
                assert_eq!(
                    draft.get(&name),
                    Some(&(raw as i64)),
                    "{name} missing or different in zmq.h's ZMQ_BUILD_DRAFT_API part"
                );
                drafts += 1;
            }
        }
    }
    assert!(stable >= 50 && drafts >= 5, "{stable} stable and {drafts} draft options");
    // The draft view is the stable view plus the draft macros, with the same values.
    for (name, v) in c.iter().filter(|(name, _)| *name != "functions") {
        assert_eq!(draft.get(name), Some(v), "{name} differs between stable and draft views");
    }
    // Monitor events.
    for bit in 0..16 {
        if let Some(e) = SocketEvent::from_raw(1 << bit) {
            let name = format!("ZMQ_EVENT_{}", screaming(&format!("{e:?}")));
            assert_eq!(c.get(&name), Some(&(1i64 << bit)), "{name}");
        }
    }
    assert_eq!(c["ZMQ_EVENT_ALL"], libsock::EVENT_ALL as i64);
    #[cfg(feature = "draft")]
    assert_eq!(draft["ZMQ_EVENT_PIPES_STATS"], libsock::EVENT_PIPES_STATS as i64);
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

/// libzmq 4.3's own zmq.h, from the zeromq-src crate the `zmq` dev-dependency builds.
fn libzmq_header() -> Option<String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))?;
    for registry in std::fs::read_dir(home.join("registry/src")).ok()?.flatten() {
        for krate in std::fs::read_dir(registry.path()).ok()?.flatten() {
            let name = krate.file_name().to_string_lossy().into_owned();
            if name.starts_with("zeromq-src-") && name.contains("+4.3.") {
                if let Ok(text) = std::fs::read_to_string(krate.path().join("vendor/include/zmq.h")) {
                    return Some(text);
                }
            }
        }
    }
    None
}

#[test]
fn stable_and_draft_parts_agree_with_libzmq() {
    let Some(theirs) = libzmq_header() else {
        eprintln!("SKIP: libzmq 4.3's zmq.h (zeromq-src) not found");
        return;
    };
    let theirs: BTreeMap<String, (bool, String)> =
        macros_of(&theirs).into_iter().map(|(m, v)| (m.name, (m.draft, v))).collect();
    let ours = std::fs::read_to_string(common::include_dir().join("zmq.h")).unwrap();
    let mut compared = 0;
    for (m, value) in macros_of(&ours) {
        // Only plain numbers: libzmq spells some values as expressions of other macros.
        let Some((draft, v)) = theirs.get(&m.name) else { continue };
        if value.parse::<i64>().is_err() || v.parse::<i64>().is_err() {
            continue;
        }
        assert_eq!(&value, v, "{} differs from libzmq's zmq.h", m.name);
        assert_eq!(m.draft, *draft, "{}: draft in one header, stable in the other", m.name);
        compared += 1;
    }
    assert!(compared >= 150, "compared only {compared} macros");
    // libzmq agrees with the stable/draft split the other test applies to libsock's options.
    for raw in 0..1000 {
        if let Some(opt) = SocketOption::from_raw(raw) {
            let name = format!("ZMQ_{opt:?}");
            let expected = (raw > LAST_STABLE_OPTION, raw.to_string());
            assert_eq!(theirs.get(&name), Some(&expected), "{name} in libzmq's zmq.h");
        }
    }
    assert_eq!(theirs.get("ZMQ_STREAM"), Some(&(false, "11".to_owned())));
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
    let drafts = draft_functions();
    assert!(drafts.iter().all(|f| declared.contains(f)) && drafts.len() >= 6, "{drafts:?}");
    for f in &exported {
        assert!(declared.contains(f), "{f} is exported but not declared in zmq.h");
    }
    for f in &declared {
        // The draft functions are in the library exactly when it has the `draft` feature.
        let expected = !drafts.contains(f) || cfg!(feature = "draft");
        assert_eq!(exported.contains(f), expected, "{f}: declared in zmq.h, exported: {}", !expected);
    }
}

/// The `ZMQ_EXPORT` declarations of a header, one line each, by function name, each marked
/// draft when inside `#ifdef ZMQ_BUILD_DRAFT_API`.
fn prototypes_of(text: &str) -> BTreeMap<String, (bool, String)> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<bool> = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("#if") {
            stack.push(line.trim_end() == "#ifdef ZMQ_BUILD_DRAFT_API");
        } else if line.starts_with("#endif") {
            stack.pop();
        } else if line.starts_with("ZMQ_EXPORT") || !pending.is_empty() {
            pending.push_str(line.trim());
            pending.push(' ');
            if pending.contains(';') {
                let decl = pending.trim().trim_start_matches("ZMQ_EXPORT").trim().to_owned();
                let name =
                    decl[..decl.find('(').unwrap()].trim().rsplit([' ', '*']).next().unwrap().to_owned();
                out.insert(name, (stack.iter().any(|d| *d), decl));
                pending.clear();
            }
        }
    }
    out
}

/// Every function both headers declare has a compatible prototype (libzmq's declaration,
/// repeated after including libsock's zmq.h, must compile: C rejects a conflicting
/// redeclaration) and is draft in both or in neither; libsock's draft functions all exist in
/// libzmq 4.3.4's draft API.
#[test]
fn prototypes_agree_with_libzmq() {
    let Some(theirs) = libzmq_header() else {
        eprintln!("SKIP: libzmq 4.3's zmq.h (zeromq-src) not found");
        return;
    };
    let theirs = prototypes_of(&theirs);
    let ours = prototypes_of(&std::fs::read_to_string(common::include_dir().join("zmq.h")).unwrap());
    let mut src = String::from("#define ZMQ_BUILD_DRAFT_API\n#include <zmq.h>\n#include <zmq_utils.h>\n");
    let mut compared = 0;
    for (name, (draft, _)) in &ours {
        let Some((their_draft, decl)) = theirs.get(name) else {
            assert!(!draft, "{name} is draft in zmq.h but not in libzmq 4.3.4's draft API");
            continue;
        };
        assert_eq!(draft, their_draft, "{name}: draft in one header, stable in the other");
        writeln!(src, "{decl}").unwrap();
        compared += 1;
    }
    src.push_str("int main (void)\n{\n    return 0;\n}\n");
    assert!(compared >= 80, "compared only {compared} prototypes");
    let path = common::out_dir().join("abi_prototypes.c");
    std::fs::write(&path, src).unwrap();
    common::build("abi_prototypes", common::Lang::C, &[path], &[]);
}
