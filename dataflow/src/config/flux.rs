//! The Flux file as serde structs, each item stamped with the file and line it came from, and
//! Flux's `includes` merged in.
//!
//! Include semantics are Flux's (`FluxParser`): the included file is read (its own includes
//! first), `${…}` substituted, and merged into the including one. With `override: false`
//! (the default) the including file wins: config keys, `components`, `spouts` and `bolts`
//! with an id it already has are ignored (with a warning); with `override: true` the included
//! file's replace them. Streams are appended. `file` is relative to the including file's
//! directory; `resource: true` (a Java classpath resource in Flux) is looked up the same way,
//! as there is no classpath here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value as Yaml;

use super::{lines, ConfigError, Substitution};

/// Where an item was written: index into [`Sources`] and 1-based line (0: unknown).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct At {
    pub src: usize,
    pub line: usize,
}

/// Every file read (the top one first), after substitution.
#[derive(Default)]
pub(super) struct Sources {
    pub files: Vec<(String, String)>,
}

impl Sources {
    /// An error at `at`.
    pub fn err(&self, at: At, message: String) -> ConfigError {
        let file = self.files.get(at.src).map_or_else(String::new, |f| f.0.clone());
        ConfigError { file, line: at.line, message }
    }

    /// The text of a source.
    pub fn text(&self, src: usize) -> &str {
        self.files.get(src).map_or("", |f| f.1.as_str())
    }

    /// The first line at or after `at` containing every needle, as an [`At`].
    pub fn find_from(&self, at: At, needles: &[&str]) -> At {
        At { src: at.src, line: lines::find_from(self.text(at.src), at.line, needles) }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FluxFile {
    pub name: Option<String>,
    #[serde(default)]
    pub includes: Vec<FluxInclude>,
    #[serde(default)]
    pub config: BTreeMap<String, Yaml>,
    #[serde(skip)]
    pub config_at: BTreeMap<String, At>,
    /// Flux's beans: named values that `ref`s stand for.
    #[serde(default)]
    pub components: Vec<FluxObject>,
    #[serde(default)]
    pub spouts: Vec<FluxComponent>,
    #[serde(default)]
    pub bolts: Vec<FluxComponent>,
    #[serde(default)]
    pub streams: Vec<FluxStream>,
    /// Each worker's `host:port` (multi-worker topologies).
    #[serde(default)]
    pub workers: Vec<String>,
    #[serde(skip)]
    pub workers_at: At,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FluxInclude {
    #[serde(default)]
    #[allow(dead_code)]
    pub resource: bool,
    pub file: String,
    #[serde(default, rename = "override")]
    pub override_: bool,
}

/// A `components:` entry, or a grouping's `customClass`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FluxObject {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "className")]
    pub class_name: String,
    #[serde(rename = "constructorArgs")]
    pub constructor_args: Option<Vec<Yaml>>,
    #[serde(default)]
    pub properties: Vec<FluxProperty>,
    #[serde(default, rename = "configMethods")]
    pub config_methods: Vec<FluxMethod>,
    #[serde(skip)]
    pub at: At,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FluxComponent {
    pub id: String,
    #[serde(rename = "className")]
    pub class_name: String,
    #[serde(default = "one")]
    pub parallelism: usize,
    #[serde(rename = "numTasks")]
    pub num_tasks: Option<usize>,
    #[serde(default)]
    pub properties: Vec<FluxProperty>,
    #[serde(default)]
    pub config: BTreeMap<String, Yaml>,
    /// Flux's constructor arguments (shell components), passed on as a property.
    #[serde(rename = "constructorArgs")]
    pub constructor_args: Option<Vec<Yaml>>,
    #[serde(default, rename = "configMethods")]
    pub config_methods: Vec<FluxMethod>,
    /// Pins the component's executors to this worker.
    pub worker: Option<usize>,
    /// Pins the component's executors to these workers (round robin).
    pub workers: Option<Vec<usize>>,
    #[serde(skip)]
    pub at: At,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FluxProperty {
    pub name: String,
    pub value: Option<Yaml>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FluxMethod {
    pub name: String,
    #[serde(default)]
    pub args: Vec<Yaml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FluxStream {
    #[allow(dead_code)]
    pub name: Option<String>,
    pub from: String,
    pub to: String,
    pub grouping: FluxGrouping,
    #[serde(skip)]
    pub at: At,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FluxGrouping {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(rename = "streamId")]
    pub stream_id: Option<String>,
    #[serde(rename = "customClass")]
    pub custom_class: Option<FluxObject>,
}

/// Reads `text` (named `file`) and everything it includes.
pub(super) fn read(
    text: &str,
    file: &str,
    subst: &Substitution,
    sources: &mut Sources,
) -> Result<FluxFile, ConfigError> {
    let mut f = read_one(text, file, subst, sources, &mut Vec::new())?;
    overrides(&mut f, &subst.config_overrides, sources)?;
    Ok(f)
}

/// The name of the `-c KEY=VALUE` options in errors; the line is the option's rank.
pub(super) const COMMAND_LINE: &str = "command line (-c)";

/// Applies `-c KEY=VALUE` options (Storm's `storm jar -c`) over the files' `config:`, each a
/// YAML value (`2`, `true`, `[a, b]`; text if it is not one), as if at line N of a source
/// named [`COMMAND_LINE`].
fn overrides(f: &mut FluxFile, options: &[String], sources: &mut Sources) -> Result<(), ConfigError> {
    if options.is_empty() {
        return Ok(());
    }
    let src = sources.files.len();
    sources.files.push((COMMAND_LINE.to_owned(), options.join("\n")));
    for (i, option) in options.iter().enumerate() {
        let at = At { src, line: i + 1 };
        let Some((key, text)) = option.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(sources.err(at, format!("{option:?}: expected KEY=VALUE")));
        };
        let value = match serde_yaml::from_str::<Yaml>(text) {
            Ok(v) if !text.trim().is_empty() => v,
            _ => Yaml::String(text.to_owned()),
        };
        f.config.insert(key.trim().to_owned(), value);
        f.config_at.insert(key.trim().to_owned(), at);
    }
    Ok(())
}

fn read_one(
    text: &str,
    file: &str,
    subst: &Substitution,
    sources: &mut Sources,
    stack: &mut Vec<PathBuf>,
) -> Result<FluxFile, ConfigError> {
    let src = sources.files.len();
    let at = |line| At { src, line };
    sources.files.push((file.to_owned(), String::new()));
    let keyless;
    let text = if subst.for_deploy {
        keyless = super::with_throwaway_worker_key(text);
        &keyless
    } else {
        text
    };
    let text = subst.apply(text).map_err(|(line, m)| sources.err(at(line), m))?;
    sources.files[src].1 = text.clone();
    let mut f: FluxFile = serde_yaml::from_str(&text).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line());
        // serde_yaml appends " at line L column C"; the line is reported in front already.
        let msg = e.to_string();
        sources.err(at(line), msg.split(" at line ").next().unwrap_or(&msg).to_owned())
    })?;
    stamp(&mut f, &text, src);
    if subst.for_deploy && !stack.is_empty() {
        if let Some(key) =
            [super::WORKER_KEY, super::WORKER_KEY_FILE].into_iter().find(|k| f.config.contains_key(*k))
        {
            let here = f.config_at.get(key).copied().unwrap_or(at(0));
            let msg = format!(
                "{key} in an included file: `sockflow deploy` needs it in the main topology file, where it sets up the key's source (environment or file)"
            );
            return Err(sources.err(here, msg));
        }
    }
    let path = PathBuf::from(file);
    stack.push(std::fs::canonicalize(&path).unwrap_or(path.clone()));
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (include_lines, includes_key) = (lines::items(&text, "includes"), lines::key(&text, "includes"));
    for (i, inc) in std::mem::take(&mut f.includes).into_iter().enumerate() {
        let here = at(include_lines.get(i).copied().unwrap_or(includes_key));
        let target = dir.join(&inc.file);
        let canonical = std::fs::canonicalize(&target).unwrap_or(target.clone());
        if stack.contains(&canonical) {
            let msg = format!("include cycle: {} includes itself (through {})", inc.file, file);
            return Err(sources.err(here, msg));
        }
        let inc_text = std::fs::read_to_string(&target)
            .map_err(|e| sources.err(here, format!("include {}: cannot read: {e}", target.display())))?;
        let included = read_one(&inc_text, &target.display().to_string(), subst, sources, stack)?;
        merge(&mut f, included, inc.override_, &target.display().to_string());
    }
    stack.pop();
    Ok(f)
}

/// Records where each item of `f` is written in `text`.
fn stamp(f: &mut FluxFile, text: &str, src: usize) {
    // Items of a flow-style list (`spouts: [{…}, {…}]`) get the section's line.
    let stamp_all = |section: &str, ats: &mut dyn Iterator<Item = &mut At>| {
        let (items, key) = (lines::items(text, section), lines::key(text, section));
        for (i, a) in ats.enumerate() {
            *a = At { src, line: items.get(i).copied().unwrap_or(key) };
        }
    };
    stamp_all("components", &mut f.components.iter_mut().map(|c| &mut c.at));
    stamp_all("spouts", &mut f.spouts.iter_mut().map(|c| &mut c.at));
    stamp_all("bolts", &mut f.bolts.iter_mut().map(|c| &mut c.at));
    stamp_all("streams", &mut f.streams.iter_mut().map(|c| &mut c.at));
    for s in &mut f.streams {
        if let Some(c) = &mut s.grouping.custom_class {
            c.at = At { src, line: lines::find_from(text, s.at.line, &["customClass"]) };
        }
    }
    f.config_at = f.config.keys().map(|k| (k.clone(), At { src, line: lines::find(text, k) })).collect();
    f.workers_at = At { src, line: lines::key(text, "workers") };
}

/// Merges an included file into the including one (see the module's doc).
fn merge(into: &mut FluxFile, inc: FluxFile, override_: bool, file: &str) {
    if into.name.is_none() || (override_ && inc.name.is_some()) {
        into.name = inc.name.or(into.name.take());
    }
    for (k, v) in inc.config {
        if override_ || !into.config.contains_key(&k) {
            into.config_at.insert(k.clone(), inc.config_at.get(&k).copied().unwrap_or_default());
            into.config.insert(k, v);
        } else {
            tracing::warn!("{file}: config key {k:?} ignored: the including file sets it (override: false)");
        }
    }
    merge_by_id(&mut into.components, inc.components, override_, file, |c| &c.id);
    merge_by_id(&mut into.spouts, inc.spouts, override_, file, |c| &c.id);
    merge_by_id(&mut into.bolts, inc.bolts, override_, file, |c| &c.id);
    into.streams.extend(inc.streams);
    if !inc.workers.is_empty() && (override_ || into.workers.is_empty()) {
        into.workers = inc.workers;
        into.workers_at = inc.workers_at;
    }
}

fn merge_by_id<T>(into: &mut Vec<T>, inc: Vec<T>, override_: bool, file: &str, id: fn(&T) -> &String) {
    for item in inc {
        match into.iter().position(|x| id(x) == id(&item)) {
            Some(i) if override_ => into[i] = item,
            Some(_) => tracing::warn!(
                "{file}: {:?} ignored: the including file defines it (override: false)",
                id(&item)
            ),
            None => into.push(item),
        }
    }
}
