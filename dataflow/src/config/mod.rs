//! Topology files in the shape of Storm's Flux YAML: parsing, `${…}` substitution, and every
//! check, with the file's line in each error, before anything runs.
//!
//! Supported: `name`, `config`, `spouts`, `bolts` (`id`, `className`, `parallelism`,
//! `numTasks`, `properties: [{name, value}]`, per-component `config` for the tick frequency),
//! `streams` (`name`, `from`, `to`, `grouping: {type, args | fields, streamId, customClass}`).
//! Not supported (reported as unknown fields): Flux's `includes`, `components` (beans),
//! `constructorArgs` and `configMethods`.

mod lines;
mod model;
mod subst;

use std::fmt;
use std::path::Path;

pub use subst::Substitution;

use crate::registry::Registry;
use crate::topology::Topology;

/// A problem with a topology file: where, and what.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct ConfigError {
    /// The file (as given).
    pub file: String,
    /// 1-based line (0: the whole file).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

/// Reads, substitutes, parses and validates a topology file.
pub fn load(path: &Path, subst: &Substitution, registry: &Registry) -> Result<Topology, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, &file, subst, registry)
}

/// Substitutes, parses and validates topology text; `file` names it in errors.
pub fn parse(
    text: &str,
    file: &str,
    subst: &Substitution,
    registry: &Registry,
) -> Result<Topology, ConfigError> {
    let at = |line: usize, message: String| ConfigError { file: file.to_owned(), line, message };
    let text = subst.apply(text).map_err(|(line, m)| at(line, m))?;
    let topology = model::build(&text, registry).map_err(|(line, m)| at(line, m))?;
    topology.validate().map_err(|e| at(e.line, e.message))?;
    Ok(topology)
}
