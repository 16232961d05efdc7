//! The layers of `src/lib.rs`'s diagram are the real import order: every `crate::…` path in
//! a module's code (comments aside; names re-exported at the crate root traced to their
//! module) names a module of a lower layer, or of its own layer only in the user-thread API
//! layer, whose context, sockets and poller call each other by design. A new import that
//! climbs (say `engine` reaching for `socket`) fails here with the file and line.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Top to bottom. A module may import from the layers below its own.
const LAYERS: &[&[&str]] = &[
    // The user thread's API: the context, sockets, poll, monitors, proxies, the ZAP handler.
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
    &["socket_type", "error", "sys"],
];

/// The layer whose modules may import each other.
const ONE_LAYER: usize = 0;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate's top-level module a file belongs to (`None` for lib.rs).
fn top_module(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(stem) => Some(stem.to_owned()),
        None => Some(first),
    }
}

/// Names lib.rs re-exports at the crate root (`pub use socket::{Socket, …};`), by module.
fn root_reexports() -> HashMap<String, String> {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut names = HashMap::new();
    for stmt in lib.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else { continue };
        let Some((module, items)) = rest.split_once("::") else { continue };
        for name in items.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|n| !n.is_empty()) {
            names.insert(name.to_owned(), module.to_owned());
        }
    }
    names
}

/// The first path segment after each `crate::` on a line (each name of `crate::{a, b::c}`).
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::` in macros, or part of a longer name
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            for item in group.split(',') {
                let head = item.trim().split("::").next().unwrap_or("").trim();
                if !head.is_empty() {
                    found.push(head.to_owned());
                }
            }
        } else {
            let head: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.push(head);
        }
    }
    found
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn every_module_has_a_layer() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        if let Some(module) = top_module(&file) {
            assert!(layer_of(&module).is_some(), "{module} ({}) is in no layer of LAYERS", file.display());
        }
    }
}

#[test]
fn imports_only_go_down_the_layers() {
    let reexports = root_reexports();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut climbs = Vec::new();
    let mut checked = 0;
    for file in &files {
        let Some(module) = top_module(file) else { continue };
        let Some(own) = layer_of(&module) else { continue };
        // A `use crate::{…}` group may span lines: join each statement's lines first.
        let text = fs::read_to_string(file).unwrap();
        let mut statement = String::new();
        let mut first_line = 0;
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("").trim();
            if code.is_empty() {
                continue;
            }
            if statement.is_empty() {
                first_line = number + 1;
            }
            statement.push_str(code);
            statement.push(' ');
            let open = statement.matches('{').count() > statement.matches('}').count();
            if open && statement.contains("crate::{") {
                continue;
            }
            for name in crate_paths(&statement) {
                let target = reexports.get(&name).cloned().unwrap_or(name);
                let Some(theirs) = layer_of(&target) else { continue }; // a macro or root item
                checked += 1;
                if target != module && !(theirs > own || (theirs == own && own == ONE_LAYER)) {
                    climbs.push(format!("{}:{first_line}: {module} imports {target}", file.display()));
                }
            }
            statement.clear();
        }
    }
    assert!(checked > 100, "only {checked} crate:: paths found: the scan is broken");
    assert!(climbs.is_empty(), "imports against the layers of lib.rs:\n{}", climbs.join("\n"));
}
