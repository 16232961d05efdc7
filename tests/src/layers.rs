//! The layer check behind `tests/tests/layers.rs`: a crate's `src/lib.rs` draws its modules
//! in layers, and every `crate::…` path in a module's code (comments aside; names
//! re-exported at the crate root traced to their module) must name a module of a lower
//! layer, of its own layer where that layer's modules call each other by design, or one of
//! the crate's named exceptions. A new import that climbs fails with its file and line.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// One crate's declared layers.
pub struct Layers<'a> {
    /// The crate's `src/` directory.
    pub src: PathBuf,
    /// Top to bottom; a module may import from the layers below its own.
    pub layers: &'a [&'a [&'a str]],
    /// Layers whose modules may import each other.
    pub mutual: &'a [usize],
    /// (importer, imported) pairs allowed to climb, each a documented exception.
    pub exceptions: &'a [(&'a str, &'a str)],
}

impl Layers<'_> {
    fn layer_of(&self, module: &str) -> Option<usize> {
        self.layers.iter().position(|layer| layer.contains(&module))
    }

    /// The crate's top-level module a file belongs to (`None` for lib.rs and binaries).
    fn top_module(&self, file: &Path) -> Option<String> {
        let rel = file.strip_prefix(&self.src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
        match first.strip_suffix(".rs") {
            // The crate root; binaries (src/main.rs, src/bin/) are crates of their own.
            Some("lib" | "main") => None,
            None if first == "bin" => None,
            Some(stem) => Some(stem.to_owned()),
            None => Some(first),
        }
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        rust_files(&self.src, &mut out);
        out
    }

    /// Modules that are in no layer, with a file of each.
    pub fn unplaced(&self) -> Vec<String> {
        let mut out = Vec::new();
        for file in self.files() {
            if let Some(module) = self.top_module(&file) {
                if self.layer_of(&module).is_none() {
                    out.push(format!("{module} ({})", file.display()));
                }
            }
        }
        out
    }

    /// Every import against the layers (`file:line: a imports b`), and how many `crate::`
    /// paths were checked (so that a broken scan shows as too few).
    pub fn climbs(&self) -> (Vec<String>, usize) {
        let reexports = root_reexports(&self.src);
        let (mut climbs, mut checked) = (Vec::new(), 0);
        for file in &self.files() {
            let Some(module) = self.top_module(file) else { continue };
            let Some(own) = self.layer_of(&module) else { continue };
            for (line, name) in crate_paths_by_statement(&fs::read_to_string(file).unwrap()) {
                let target = reexports.get(&name).cloned().unwrap_or(name);
                let Some(theirs) = self.layer_of(&target) else { continue }; // a macro or root item
                checked += 1;
                let allowed = target == module
                    || theirs > own
                    || (theirs == own && self.mutual.contains(&own))
                    || self.exceptions.contains(&(module.as_str(), target.as_str()));
                if !allowed {
                    climbs.push(format!("{}:{line}: {module} imports {target}", file.display()));
                }
            }
        }
        (climbs, checked)
    }
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

/// Names lib.rs re-exports at the crate root (`pub use socket::{Socket, …};`), by module.
fn root_reexports(src: &Path) -> HashMap<String, String> {
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
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

/// (first line, module name) of each `crate::` path, statement by statement: a
/// `use crate::{…}` group may span lines, so each statement's lines are joined first. A
/// file's unit tests (`#[cfg(test)] mod tests`, at its end) may use any layer: the scan
/// stops there.
fn crate_paths_by_statement(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut statement = String::new();
    let mut first_line = 0;
    let mut cfg_test = false;
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("").trim();
        if code.is_empty() {
            continue;
        }
        if cfg_test && code.starts_with("mod tests") {
            break;
        }
        cfg_test = code == "#[cfg(test)]";
        if statement.is_empty() {
            first_line = number + 1;
        }
        statement.push_str(code);
        statement.push(' ');
        let open = statement.matches('{').count() > statement.matches('}').count();
        if open && statement.contains("crate::{") {
            continue;
        }
        out.extend(crate_paths(&statement).into_iter().map(|name| (first_line, name)));
        statement.clear();
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_found_in_groups_and_spanning_statements() {
        let text = "use crate::{a::X,\n    b};\nlet y = crate::c::f(); // crate::d\nmacro $crate::e\n\
                    #[cfg(test)]\nmod tests {\n    use crate::f;\n}";
        let found = crate_paths_by_statement(text);
        let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(found[2].0, 3);
    }
}
