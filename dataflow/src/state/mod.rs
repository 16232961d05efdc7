//! Stateful bolts (Storm's `IStatefulBolt` with a `KeyValueState`): a bolt whose state the
//! topology checkpoints, and gives back after a restart.
//!
//! ```
//! use dataflow::state::{KeyValueState, Stateful, StateSpec, StatefulBolt};
//! use dataflow::{BasicCollector, OutputDeclarer, Tuple, Value};
//!
//! /// Counts words; the counts survive restarts.
//! struct WordCount;
//! impl StatefulBolt for WordCount {
//!     fn declare_outputs(&self, d: &mut OutputDeclarer) {
//!         d.declare(&["word", "count"]);
//!     }
//!     fn execute(
//!         &mut self,
//!         input: &Tuple,
//!         state: &mut KeyValueState,
//!         c: &mut BasicCollector<'_, '_>,
//!     ) -> Result<(), String> {
//!         let word = input.values[0].to_string();
//!         let n = state.get(&word).and_then(Value::as_i64).unwrap_or(0) + 1;
//!         state.put(word.clone(), Value::I64(n));
//!         c.emit(vec![Value::Str(word), Value::I64(n)]);
//!         Ok(())
//!     }
//! }
//! let bolt = Stateful::new(WordCount, StateSpec::files("/var/lib/sockflow"));
//! # let _ = bolt;
//! ```
//!
//! Every `topology.state.checkpoint.interval.ms` (1 s) each task saves its state and only then
//! acks the inputs it executed since the last checkpoint (as Storm acks a stateful bolt's
//! tuples once the state they changed is committed): an input whose effect was lost with
//! its task is not acked, times out and replays, and one that was acked is in the state. A
//! checkpoint that cannot be saved fails those inputs and rolls the state back to the last
//! one (Storm's rollback), so their replays count once. The
//! guarantee is at least once, as in Storm: an input replayed after a checkpoint that holds
//! its effect counts twice. Each task checkpoints on its own, with no checkpoint stream
//! across the topology; the interval must be below `topology.message.timeout.secs`.
//!
//! Where (`topology.state.provider`): in memory (Storm's default
//! `org.apache.storm.state.InMemoryKeyValueStateProvider`; a replaced bolt instance gets it
//! back, a restarted process does not) or in files (`FileKeyValueStateProvider`, with
//! `topology.state.provider.config: {dir: …}`: one file per task,
//! `DIR/TOPOLOGY/COMPONENT/TASK_INDEX.state`, replaced atomically). A task's file holds the
//! keys the groupings sent it, so it is refused if the component's task count changed.

mod store;

pub use store::{decode, encode, Snapshot};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::component::{Bolt, Limits, OutputDeclarer, TaskContext};
use crate::runtime::{BasicCollector, BoltCollector};
use crate::tuple::{Tuple, Value};
use store::Store;

/// Storm's `topology.state.provider` for checkpoints in memory.
pub const MEMORY_PROVIDER: &str = "org.apache.storm.state.InMemoryKeyValueStateProvider";
/// `topology.state.provider` for checkpoints in files (this project's).
pub const FILE_PROVIDER: &str = "FileKeyValueStateProvider";
/// Inputs a task holds unacked at most before it checkpoints early.
const MAX_HELD: usize = 50_000;

/// A bolt's key-value state (Storm's `KeyValueState`), keys as text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyValueState {
    entries: HashMap<String, Value>,
    changed: bool,
}

impl KeyValueState {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.get(key)
    }

    /// The value of `key`, to change in place (no new key: [`KeyValueState::put`] makes one).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let v = self.entries.get_mut(key);
        self.changed |= v.is_some();
        v
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: impl Into<String>, value: Value) {
        self.entries.insert(key.into(), value);
        self.changed = true;
    }

    /// Removes `key`, returning its value.
    pub fn delete(&mut self, key: &str) -> Option<Value> {
        let old = self.entries.remove(key);
        self.changed |= old.is_some();
        old
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it has no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A bolt with checkpointed state (Storm's `IStatefulBolt<KeyValueState>`), run by wrapping
/// it in [`Stateful`]. Its emits are anchored to the input; an input is acked once the state
/// `execute` left is checkpointed (`Ok`), or failed at once (`Err`).
pub trait StatefulBolt: Send {
    /// Declares the output streams.
    fn declare_outputs(&self, declarer: &mut OutputDeclarer);
    /// Called once before anything else. An error stops the start, as for any bolt.
    fn prepare(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        Ok(())
    }
    /// Storm's `initState`: the state of the last checkpoint (empty the first time), after
    /// `prepare` and before any input.
    fn init_state(&mut self, _state: &mut KeyValueState) {}
    /// Processes one input, reading and changing `state`.
    fn execute(
        &mut self,
        input: &Tuple,
        state: &mut KeyValueState,
        collector: &mut BasicCollector<'_, '_>,
    ) -> Result<(), String>;
    /// Storm's `preCommit`: called before each checkpoint.
    fn pre_commit(&mut self, _state: &mut KeyValueState) {}
    /// Storm's `preRollback`: a checkpoint could not be saved, so the state goes back to the
    /// last one (then [`StatefulBolt::init_state`] is called again with it) and the inputs
    /// executed since fail and replay.
    fn pre_rollback(&mut self) {}
    /// Called once at the end (after a last checkpoint).
    fn cleanup(&mut self) {}
}

impl StatefulBolt for Box<dyn StatefulBolt> {
    fn declare_outputs(&self, declarer: &mut OutputDeclarer) {
        (**self).declare_outputs(declarer);
    }
    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        (**self).prepare(ctx)
    }
    fn init_state(&mut self, state: &mut KeyValueState) {
        (**self).init_state(state);
    }
    fn execute(
        &mut self,
        input: &Tuple,
        state: &mut KeyValueState,
        collector: &mut BasicCollector<'_, '_>,
    ) -> Result<(), String> {
        (**self).execute(input, state, collector)
    }
    fn pre_commit(&mut self, state: &mut KeyValueState) {
        (**self).pre_commit(state);
    }
    fn pre_rollback(&mut self) {
        (**self).pre_rollback();
    }
    fn cleanup(&mut self) {
        (**self).cleanup();
    }
}

/// Where checkpoints go, and how often.
#[derive(Clone, Debug, PartialEq)]
pub struct StateSpec {
    /// A directory for files (none: this process's memory).
    pub dir: Option<PathBuf>,
    /// `topology.state.checkpoint.interval.ms`.
    pub interval: Duration,
}

impl StateSpec {
    /// Checkpoints in memory, every second.
    pub fn memory() -> StateSpec {
        StateSpec { dir: None, interval: Duration::from_secs(1) }
    }

    /// Checkpoints in files under `dir`, every second.
    pub fn files(dir: impl Into<PathBuf>) -> StateSpec {
        StateSpec { dir: Some(dir.into()), ..StateSpec::memory() }
    }

    /// The same, checkpointing every `interval`.
    pub fn every(self, interval: Duration) -> StateSpec {
        StateSpec { interval, ..self }
    }

    /// From a topology's conf: `topology.state.provider` (memory by default; Storm's class
    /// name or `InMemoryKeyValueStateProvider`, or [`FILE_PROVIDER`]),
    /// `topology.state.provider.config` (a map, or Storm's JSON text, with `dir` for files;
    /// a relative `dir` is relative to `base`) and `topology.state.checkpoint.interval.ms`.
    pub fn from_conf(conf: &BTreeMap<String, Value>, base: &Path) -> Result<StateSpec, String> {
        let mut spec = StateSpec::memory();
        if let Some(v) = conf.get("topology.state.checkpoint.interval.ms") {
            match v.as_i64() {
                Some(ms) if ms > 0 => spec.interval = Duration::from_millis(ms as u64),
                _ => return Err("topology.state.checkpoint.interval.ms: expected a positive integer".into()),
            }
        }
        let provider = match conf.get("topology.state.provider") {
            None => MEMORY_PROVIDER,
            Some(v) => v.as_str().ok_or("topology.state.provider: expected a class name")?,
        };
        match provider {
            MEMORY_PROVIDER | "InMemoryKeyValueStateProvider" => Ok(spec),
            FILE_PROVIDER => {
                let dir = provider_dir(conf.get("topology.state.provider.config"))?;
                Ok(StateSpec { dir: Some(base.join(dir)), ..spec })
            }
            other => Err(format!(
                "topology.state.provider: {other:?} is not available here \
                 ({MEMORY_PROVIDER} or {FILE_PROVIDER} with topology.state.provider.config: {{dir: …}})"
            )),
        }
    }
}

/// `dir` of `topology.state.provider.config`: a map, or a map in JSON text (Storm's form).
fn provider_dir(config: Option<&Value>) -> Result<String, String> {
    let missing = "topology.state.provider.config: needs {dir: …} for FileKeyValueStateProvider";
    let map = match config {
        Some(Value::Map(m)) => m.clone(),
        Some(Value::Str(text)) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(o)) => o
                .into_iter()
                .map(|(k, v)| (k, v.as_str().map_or(Value::Null, |s| Value::Str(s.into()))))
                .collect(),
            _ => return Err(format!("{missing} (its text is not a JSON object)")),
        },
        _ => return Err(missing.into()),
    };
    match map.get("dir") {
        Some(Value::Str(d)) if !d.is_empty() => Ok(d.clone()),
        _ => Err(missing.into()),
    }
}

/// Runs a [`StatefulBolt`] as a [`Bolt`]: restores its state at `prepare`, checkpoints it
/// every interval and acks inputs once their effect is checkpointed.
pub struct Stateful<B> {
    bolt: B,
    spec: StateSpec,
    store: Option<Store>,
    tasks: u32,
    state: KeyValueState,
    /// Executed inputs (their values dropped), acked at the next checkpoint.
    held: Vec<Tuple>,
    last_checkpoint: Instant,
    executed: u32,
}

impl<B: StatefulBolt> Stateful<B> {
    /// `bolt`, checkpointed as `spec` says.
    pub fn new(bolt: B, spec: StateSpec) -> Stateful<B> {
        Stateful {
            bolt,
            spec,
            store: None,
            tasks: 0,
            state: KeyValueState::default(),
            held: Vec::new(),
            last_checkpoint: Instant::now(),
            executed: 0,
        }
    }

    /// Saves the state (if it changed) and acks the inputs held for it; if it cannot be
    /// saved, the error is reported, they fail (and replay) and the state rolls back.
    fn checkpoint(&mut self, c: &mut BoltCollector<'_>) {
        self.last_checkpoint = Instant::now();
        self.bolt.pre_commit(&mut self.state);
        if let Err(e) = self.save() {
            let why = format!("state checkpoint failed: {e}");
            c.report_error(&why);
            self.held.drain(..).for_each(|t| c.fail(&t, &why));
            self.rollback();
            return;
        }
        self.held.drain(..).for_each(|t| c.ack(&t));
    }

    /// Back to the last checkpoint: every change since belongs to inputs that just failed
    /// and will replay, so they count once. If it cannot be read either, the state stays as
    /// it is (those inputs may then count twice: at least once).
    fn rollback(&mut self) {
        self.bolt.pre_rollback();
        match self.store.as_ref().map(Store::load) {
            Some(Ok(Some(last))) => {
                self.state = KeyValueState { entries: last.entries, changed: false };
                self.bolt.init_state(&mut self.state);
            }
            Some(Err(e)) => tracing::error!("state rollback failed, the state is kept: {e}"),
            _ => tracing::error!("state rollback: no checkpoint, the state is kept"),
        }
    }

    fn save(&mut self) -> Result<(), String> {
        if !self.state.changed {
            return Ok(());
        }
        let store = self.store.as_ref().ok_or("not prepared")?;
        store.save(self.tasks, &self.state.entries)?;
        self.state.changed = false;
        Ok(())
    }
}

impl<B: StatefulBolt> Bolt for Stateful<B> {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        self.bolt.declare_outputs(d);
    }

    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        self.bolt.prepare(ctx)?;
        let store = Store::new(self.spec.dir.as_deref(), &ctx.topology, &ctx.component, ctx.task_index);
        self.tasks = ctx.component_tasks.len() as u32;
        let entries = match store.load()? {
            // A first run writes every task's (empty) checkpoint at once: the task count is
            // then on record, and a directory it cannot write stops the start.
            None => {
                store.save(self.tasks, &HashMap::new())?;
                HashMap::new()
            }
            Some(s) if s.tasks == self.tasks => s.entries,
            Some(s) => {
                return Err(format!(
                    "{}: saved by {} task(s), the component now has {}: its keys would be on the \
                     wrong tasks (remove the state to start afresh)",
                    store.describe(),
                    s.tasks,
                    self.tasks
                ))
            }
        };
        tracing::info!(
            "{} task {}: state of {} key(s) from {}",
            ctx.component,
            ctx.task_id,
            entries.len(),
            store.describe()
        );
        self.state = KeyValueState { entries, changed: false };
        self.store = Some(store);
        self.bolt.init_state(&mut self.state);
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    fn execute(&mut self, mut input: Tuple, c: &mut BoltCollector<'_>) {
        let result =
            self.bolt.execute(&input, &mut self.state, &mut BasicCollector { inner: &mut *c, input: &input });
        match result {
            Ok(()) => {
                // Only its tree ids are needed to ack it.
                input.values = Vec::new();
                self.held.push(input);
            }
            Err(reason) => c.fail(&input, &reason),
        }
        self.executed = self.executed.wrapping_add(1);
        let due = self.executed % 64 == 0 && self.last_checkpoint.elapsed() >= self.spec.interval;
        if due || self.held.len() >= MAX_HELD {
            self.checkpoint(c);
        }
    }

    fn poll(&mut self, c: &mut BoltCollector<'_>) -> bool {
        if !self.held.is_empty() && self.last_checkpoint.elapsed() >= self.spec.interval {
            self.checkpoint(c);
        }
        false
    }

    fn cleanup(&mut self) {
        // Inputs still held cannot be acked any more: they replay, so the state they changed
        // is not saved (it would count them twice). Without any, the last changes are saved.
        if self.held.is_empty() {
            if let Err(e) = self.save() {
                tracing::error!("last state checkpoint failed: {e}");
            }
        }
        self.bolt.cleanup();
    }

    fn summary(&self) -> Option<String> {
        let at = self
            .spec
            .dir
            .as_ref()
            .map_or("in memory".to_owned(), |d| format!("in files under {}", d.display()));
        Some(format!("stateful: checkpoints {at} every {} ms", self.spec.interval.as_millis()))
    }

    fn check(&self, limits: &Limits) -> Result<(), String> {
        if self.spec.interval.as_secs_f64() >= limits.message_timeout_secs as f64 {
            return Err(format!(
                "topology.state.checkpoint.interval.ms ({} ms) must be below topology.message.timeout.secs \
                 ({} s): inputs wait for the checkpoint to be acked",
                self.spec.interval.as_millis(),
                limits.message_timeout_secs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changes_are_tracked() {
        let mut s = KeyValueState::default();
        assert!(s.delete("none").is_none() && !s.changed, "removing nothing changes nothing");
        s.put("a", Value::I64(1));
        assert!(s.changed && s.get("a") == Some(&Value::I64(1)) && s.len() == 1);
        s.changed = false;
        assert_eq!(s.delete("a"), Some(Value::I64(1)));
        assert!(s.changed && s.is_empty());
    }

    #[test]
    fn specs_from_storms_keys() {
        let conf = |pairs: &[(&str, Value)]| pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(StateSpec::from_conf(&BTreeMap::new(), Path::new("/x")), Ok(StateSpec::memory()));
        let json = conf(&[
            ("topology.state.provider", Value::Str(FILE_PROVIDER.into())),
            ("topology.state.provider.config", Value::Str(r#"{"dir": "st"}"#.into())),
            ("topology.state.checkpoint.interval.ms", Value::I64(250)),
        ]);
        let want = StateSpec::files("/x/st").every(Duration::from_millis(250));
        assert_eq!(StateSpec::from_conf(&json, Path::new("/x")), Ok(want));
        let map = conf(&[
            ("topology.state.provider", Value::Str(FILE_PROVIDER.into())),
            (
                "topology.state.provider.config",
                Value::Map([("dir".into(), Value::Str("/abs".into()))].into()),
            ),
        ]);
        assert_eq!(StateSpec::from_conf(&map, Path::new("/x")), Ok(StateSpec::files("/abs")));
        let no_dir = conf(&[("topology.state.provider", Value::Str(FILE_PROVIDER.into()))]);
        assert!(StateSpec::from_conf(&no_dir, Path::new("")).unwrap_err().contains("needs {dir: …}"));
    }
}
