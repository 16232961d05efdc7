//! Topology files in the shape of Storm's Flux YAML: parsing, `${…}` substitution, and every
//! check, with the file's line in each error, before anything runs.
//!
//! Supported: `name`, `config`, `includes` (`file`, `resource`, `override`), `components`
//! (`id`, `className`, `constructorArgs`, `properties`, `configMethods`), `spouts`, `bolts`
//! (`id`, `className`, `parallelism`, `numTasks`, `properties: [{name, value | ref}]`,
//! `constructorArgs`, `configMethods: [{name, args}]`, per-component `config` for the tick
//! frequency and a spout's own max pending, `worker: K` / `workers: [K, …]` pins), `streams` (`name`, `from`, `to`,
//! `grouping: {type, args | fields, streamId, customClass}`), `workers`. A `ref` (in
//! `properties`, `constructorArgs` and `configMethods` args; `reflist` for a list) stands for
//! the value the registry's object class built from that `components` entry; a config method
//! is a setter the class registered ([`Registry::register_config_method`]).

mod flux;
mod lines;
mod model;
mod refs;
mod subst;

use std::fmt;
use std::path::Path;

pub use subst::{with_throwaway_worker_key, Substitution, WORKER_KEY, WORKER_KEY_FILE};

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

/// Substitutes, parses and validates topology text; `file` names it in errors, and its
/// directory is where `includes` are looked up.
pub fn parse(
    text: &str,
    file: &str,
    subst: &Substitution,
    registry: &Registry,
) -> Result<Topology, ConfigError> {
    let mut sources = flux::Sources::default();
    let read = flux::read(text, file, subst, &mut sources)?;
    let topology = model::build(&read, &sources, registry)?;
    topology.validate_located().map_err(|(src, e)| sources.err(flux::At { src, line: e.line }, e.message))?;
    Ok(topology)
}
