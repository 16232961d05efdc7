//! Each crate's layers, as its `src/lib.rs` draws them, are the real import order (see
//! `tests::layers` for the rules): a new import that climbs fails here with its file and
//! line, and a new module must be given a layer.

use std::path::Path;

use tests::layers::Layers;

fn src(krate: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate).join("src")
}

fn check(layers: &Layers<'_>, at_least: usize) {
    let unplaced = layers.unplaced();
    assert!(unplaced.is_empty(), "modules in no layer: {}", unplaced.join(", "));
    let (climbs, checked) = layers.climbs();
    assert!(checked >= at_least, "only {checked} crate:: paths found: the scan is broken");
    assert!(climbs.is_empty(), "imports against the layers of lib.rs:\n{}", climbs.join("\n"));
}

#[test]
fn libsock_imports_go_down_its_layers() {
    check(
        &Layers {
            src: src("libsock"),
            layers: &[
                // The user thread's API: the context, sockets, poll, monitors, proxies, the
                // ZAP handler (they call each other by design).
                &["context", "socket", "poll", "monitor", "proxy", "auth"],
                // Decoder entry points for the fuzz targets (feature `fuzzing`).
                &["fuzzing"],
                // I/O threads.
                &["engine"],
                // What the engine and the sockets share; byte streams.
                &["mailbox", "transport"],
                // The sans-I/O ZMTP state machine; the queues between threads.
                &["session", "pipe"],
                &["message", "options"],
                &["codec", "z85", "ctx_options"],
                &["socket_type", "error", "sys", "capabilities"],
            ],
            mutual: &[0],
            exceptions: &[],
        },
        100,
    );
}

#[test]
fn dataflow_imports_go_down_its_layers() {
    check(
        &Layers {
            src: src("dataflow"),
            layers: &[
                &["cli"],
                &["deploy"],
                &["config"],
                &["registry"],
                &["components", "multilang", "testing"],
                &["window", "state"],
                &["runtime"],
                &["workers"],
                &["plan"],
                &["topology"],
                &["component"],
                &["grouping"],
                &["wire"],
                &["tuple"],
            ],
            mutual: &[],
            // The component traits' methods take the runtime's collectors (`SpoutCollector`,
            // `BoltCollector`, `BasicCollector`): the one import up, documented in lib.rs.
            exceptions: &[("component", "runtime")],
        },
        60,
    );
}

#[test]
fn service_modules_stand_apart() {
    check(
        &Layers {
            src: src("service"),
            // `watch` (a loop's health) over four independent tools that none imports
            // another: a command takes any one without the others' rules.
            layers: &[&["watch"], &["http", "notify", "keys", "wss"]],
            mutual: &[],
            exceptions: &[],
        },
        2,
    );
}
