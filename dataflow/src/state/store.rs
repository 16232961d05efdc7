//! Where a stateful bolt's checkpoints live: this process's memory (Storm's default
//! `InMemoryKeyValueStateProvider`: survives a replaced bolt instance, not the process) or
//! one file per task (survives restarts: put the directory on a persistent volume).
//!
//! A file is a prost message (`StateFile`), written to a temporary file, synced and renamed
//! over the last one, so a crash leaves the previous checkpoint or the new one, never half of
//! one. Reading one is reading hostile bytes: a file that does not decode, or that was
//! written for another number of tasks, is an error naming it, never a panic.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use prost::Message as _;

use crate::tuple::Value;
use crate::wire::WireValue;

/// The file format's version (the first field of every file).
const VERSION: u32 = 1;

/// A task's checkpoint on disk.
#[derive(Clone, PartialEq, prost::Message)]
struct StateFile {
    #[prost(uint32, tag = "1")]
    version: u32,
    /// The component's task count when it was written (keys are spread by it).
    #[prost(uint32, tag = "2")]
    tasks: u32,
    #[prost(message, repeated, tag = "3")]
    entries: Vec<Entry>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Entry {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    value: Option<WireValue>,
}

/// A checkpoint: the component's task count then, and the task's entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// How many tasks the component had.
    pub tasks: u32,
    /// The state's entries.
    pub entries: HashMap<String, Value>,
}

/// Encodes a snapshot as a state file's bytes.
pub fn encode(s: &Snapshot) -> Vec<u8> {
    encode_entries(s.tasks, &s.entries)
}

/// Keys in order: the same state gives the same bytes.
fn encode_entries(tasks: u32, entries: &HashMap<String, Value>) -> Vec<u8> {
    let mut sorted: Vec<(&String, &Value)> = entries.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let entries = sorted
        .into_iter()
        .map(|(k, v)| Entry { key: k.clone(), value: Some(WireValue::from(v.clone())) })
        .collect();
    StateFile { version: VERSION, tasks, entries }.encode_to_vec()
}

/// Decodes a state file's bytes (any bytes: an error says what is wrong).
pub fn decode(bytes: &[u8]) -> Result<Snapshot, String> {
    let f = StateFile::decode(bytes).map_err(|e| format!("not a state file ({e})"))?;
    if f.version != VERSION {
        return Err(format!("state file version {} (this build reads {VERSION})", f.version));
    }
    let mut entries = HashMap::with_capacity(f.entries.len().min(1 << 16));
    for e in f.entries {
        let v = e.value.map_or(Value::Null, Value::from);
        if entries.insert(e.key, v).is_some() {
            return Err("a key is in the state file twice".into());
        }
    }
    Ok(Snapshot { tasks: f.tasks, entries })
}

/// Where one task's checkpoints go.
#[derive(Clone, Debug)]
pub(crate) enum Store {
    /// In this process, under this key.
    Memory(String),
    /// In this file.
    File(PathBuf),
}

/// Checkpoints kept in memory, by topology, component and task index.
fn memory() -> &'static Mutex<HashMap<String, Snapshot>> {
    static MEMORY: OnceLock<Mutex<HashMap<String, Snapshot>>> = OnceLock::new();
    MEMORY.get_or_init(Mutex::default)
}

/// A name safe as one path component: letters, digits, `-` and `_` as they are, the rest as
/// `%XX` (so `..`, `/` and the like in a component id cannot leave the directory).
fn path_safe(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Store {
    /// The store of task `index` of `component` in `topology`: in memory, or under `dir`.
    pub(crate) fn new(dir: Option<&Path>, topology: &str, component: &str, index: usize) -> Store {
        match dir {
            None => Store::Memory(format!("{topology}/{component}/{index}")),
            Some(d) => {
                let file = format!("{index}.state");
                Store::File(d.join(path_safe(topology)).join(path_safe(component)).join(file))
            }
        }
    }

    /// Where it is, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Store::Memory(key) => format!("memory ({key})"),
            Store::File(p) => p.display().to_string(),
        }
    }

    /// The last checkpoint, if there is one.
    pub(crate) fn load(&self) -> Result<Option<Snapshot>, String> {
        match self {
            Store::Memory(key) => Ok(memory().lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned()),
            Store::File(p) => match fs::read(p) {
                Ok(bytes) => decode(&bytes).map(Some).map_err(|e| format!("{}: {e}", p.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("{}: {e}", p.display())),
            },
        }
    }

    /// Replaces the last checkpoint with `entries`, written by a component of `tasks` tasks
    /// (a file: durably, all or nothing).
    pub(crate) fn save(&self, tasks: u32, entries: &HashMap<String, Value>) -> Result<(), String> {
        match self {
            Store::Memory(key) => {
                let s = Snapshot { tasks, entries: entries.clone() };
                memory().lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), s);
                Ok(())
            }
            Store::File(p) => write_atomically(p, &encode_entries(tasks, entries))
                .map_err(|e| format!("{}: {e}", p.display())),
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, renames it over `path` and
/// syncs the directory: after a crash, `path` holds the old bytes or the new ones.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = path.with_extension("state.tmp");
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        let mut entries = HashMap::new();
        entries.insert("the".to_owned(), Value::I64(3));
        entries.insert("list".to_owned(), Value::List(vec![Value::Str("a".into()), Value::Null]));
        entries.insert("none".to_owned(), Value::Null);
        Snapshot { tasks: 2, entries }
    }

    #[test]
    fn files_round_trip_and_bad_bytes_are_errors() {
        let s = snapshot();
        assert_eq!(decode(&encode(&s)), Ok(s.clone()));
        assert_eq!(decode(&[]).unwrap_err(), "state file version 0 (this build reads 1)");
        let mut bytes = encode(&s);
        bytes.truncate(bytes.len() - 3);
        assert!(decode(&bytes).unwrap_err().starts_with("not a state file"));
        let other = StateFile { version: 9, tasks: 1, entries: Vec::new() }.encode_to_vec();
        assert_eq!(decode(&other).unwrap_err(), "state file version 9 (this build reads 1)");
        let twice = StateFile {
            version: VERSION,
            tasks: 1,
            entries: vec![Entry { key: "k".into(), value: None }; 2],
        }
        .encode_to_vec();
        assert_eq!(decode(&twice).unwrap_err(), "a key is in the state file twice");
    }

    #[test]
    fn a_file_store_keeps_the_last_checkpoint_and_stays_in_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(Some(dir.path()), "wc", "../../etc", 1);
        let Store::File(path) = &store else { panic!("a file store") };
        assert!(path.starts_with(dir.path()), "{}", path.display());
        assert_eq!(path.strip_prefix(dir.path()).unwrap(), Path::new("wc/%2E%2E%2F%2E%2E%2Fetc/1.state"));
        assert_eq!(store.load(), Ok(None));
        let s = snapshot();
        store.save(s.tasks, &s.entries).unwrap();
        store.save(2, &HashMap::new()).unwrap();
        assert_eq!(store.load(), Ok(Some(Snapshot { tasks: 2, ..Snapshot::default() })));
        store.save(s.tasks, &s.entries).unwrap();
        assert_eq!(store.load(), Ok(Some(s)));
        // A directory it cannot write is an error naming the file.
        let blocked = Store::new(Some(&path.join("not-a-dir")), "wc", "c", 0);
        assert!(blocked.save(1, &HashMap::new()).unwrap_err().contains("not-a-dir"));
        fs::write(path, b"\xff\xff\xff").unwrap();
        assert!(store.load().unwrap_err().contains("not a state file"));
    }

    #[test]
    fn a_memory_store_is_per_task() {
        let (a, b) = (Store::new(None, "mem-test", "c", 0), Store::new(None, "mem-test", "c", 1));
        a.save(2, &snapshot().entries).unwrap();
        assert_eq!(a.load(), Ok(Some(snapshot())));
        assert_eq!(b.load(), Ok(None));
    }
}
