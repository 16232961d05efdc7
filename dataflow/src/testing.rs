//! Testing a topology as Storm's `Testing.completeTopology` does: its spouts replaced by
//! fixed tuples (`MockedSources`), every tuple each component emits captured, and the run ended
//! once every spout tuple is complete.
//!
//! ```
//! use dataflow::components::{Counter, Splitter};
//! use dataflow::testing::{complete_topology, MockedSources};
//! use dataflow::{Basic, TopologyBuilder, Value};
//!
//! let mut b = TopologyBuilder::new("wc");
//! b.set_spout("lines", || Box::new(dataflow::components::Generator::sentences(vec![], 0)), 1);
//! b.set_bolt("split", || Box::new(Basic(Splitter::default())), 2).shuffle_grouping("lines");
//! b.set_bolt("count", || Box::new(Basic(Counter::by("word"))), 2).fields_grouping("split", &["word"]);
//! let mut mocked = MockedSources::new();
//! mocked.add("lines", vec![vec![Value::from("a b a")]]);
//! let result = complete_topology(&b.build().unwrap(), &mocked).unwrap();
//! let mut words = result.read_tuples("split");
//! words.sort_by_key(|t| t[0].to_string());
//! assert_eq!(words, vec![vec![Value::from("a")], vec![Value::from("a")], vec![Value::from("b")]]);
//! assert_eq!(result.acked("lines"), 1);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::component::{
    BasicBolt, FailReason, OutputDeclarer, Spout, StreamDecl, TaskContext, DEFAULT_STREAM,
};
use crate::grouping::Grouping;
use crate::runtime::{BasicCollector, SpoutCollector};
use crate::topology::{ComponentDef, Factory, Subscription, Topology};
use crate::tuple::{Tuple, Value};

/// How long the stop may take before the run returns without it.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The id of the bolt that captures every stream (ids starting with `__` are the runtime's).
pub const CAPTURE_COMPONENT: &str = "testing.capture";

/// Fixed tuples for the spouts (Storm's `MockedSources`): each spout of the topology emits
/// exactly these (each once, spread over its tasks), and nothing if it has none.
#[derive(Clone, Debug, Default)]
pub struct MockedSources {
    tuples: HashMap<String, Vec<(String, Vec<Value>)>>,
}

impl MockedSources {
    /// No tuples for any spout.
    pub fn new() -> MockedSources {
        MockedSources::default()
    }

    /// `spout` emits these tuples on its default stream (Storm's `addMockData`).
    pub fn add(&mut self, spout: &str, tuples: Vec<Vec<Value>>) -> &mut Self {
        self.add_stream(spout, DEFAULT_STREAM, tuples)
    }

    /// `spout` emits these tuples on `stream`.
    pub fn add_stream(&mut self, spout: &str, stream: &str, tuples: Vec<Vec<Value>>) -> &mut Self {
        let list = self.tuples.entry(spout.to_owned()).or_default();
        list.extend(tuples.into_iter().map(|t| (stream.to_owned(), t)));
        self
    }
}

/// How long [`complete_topology_with`] waits.
#[derive(Clone, Copy, Debug)]
pub struct CompleteOptions {
    /// At most this long for every spout tuple to complete (60 s).
    pub timeout: Duration,
    /// Once they have, until no tuple was captured for this long, for emits that are not
    /// anchored and so not part of any tree (100 ms).
    pub quiet: Duration,
}

impl Default for CompleteOptions {
    fn default() -> CompleteOptions {
        CompleteOptions { timeout: Duration::from_secs(60), quiet: Duration::from_millis(100) }
    }
}

/// What a completed run emitted, by component and stream, and how its spout tuples ended.
#[derive(Clone, Debug, Default)]
pub struct CompletedTopology {
    tuples: BTreeMap<(String, String), Vec<Vec<Value>>>,
    acked: HashMap<String, usize>,
    failed: HashMap<String, Vec<FailReason>>,
}

impl CompletedTopology {
    /// The tuples `component` emitted on its default stream (Storm's `readTuples`), in the
    /// order they were captured (one capturing task: the order of arrival).
    pub fn read_tuples(&self, component: &str) -> Vec<Vec<Value>> {
        self.read_stream(component, DEFAULT_STREAM)
    }

    /// The tuples `component` emitted on `stream`.
    pub fn read_stream(&self, component: &str, stream: &str) -> Vec<Vec<Value>> {
        self.tuples.get(&(component.to_owned(), stream.to_owned())).cloned().unwrap_or_default()
    }

    /// Every captured (component, stream) and its tuples.
    pub fn streams(&self) -> &BTreeMap<(String, String), Vec<Vec<Value>>> {
        &self.tuples
    }

    /// How many of `spout`'s tuples were acked.
    pub fn acked(&self, spout: &str) -> usize {
        self.acked.get(spout).copied().unwrap_or(0)
    }

    /// Why `spout`'s failed tuples failed (mocked tuples are not replayed).
    pub fn failed(&self, spout: &str) -> &[FailReason] {
        self.failed.get(spout).map_or(&[], Vec::as_slice)
    }
}

/// [`complete_topology_with`] with the default options.
pub fn complete_topology(topology: &Topology, mocked: &MockedSources) -> Result<CompletedTopology, String> {
    complete_topology_with(topology, mocked, CompleteOptions::default())
}

/// Runs `topology` in this process with its spouts replaced by `mocked`'s tuples, captures
/// every tuple any component emits on a stream that is not direct, waits until every mocked
/// tuple is acked or failed (and the captures are quiet), stops it and returns what was
/// captured. An error if it does not start or does not complete in time.
pub fn complete_topology_with(
    topology: &Topology,
    mocked: &MockedSources,
    options: CompleteOptions,
) -> Result<CompletedTopology, String> {
    let declared = topology.declared_streams();
    if let Some(unknown) = mocked.tuples.keys().find(|id| {
        !topology.components.iter().any(|c| &c.id == *id && matches!(c.factory, Factory::Spout(_)))
    }) {
        return Err(format!("mocked tuples for {unknown:?}, which is not a spout of the topology"));
    }
    let state = Arc::new(Mutex::new(Shared::default()));
    let mut test = topology.clone();
    let mut expected = 0;
    for c in &mut test.components {
        let Factory::Spout(_) = c.factory else { continue };
        let tuples = mocked.tuples.get(&c.id).cloned().unwrap_or_default();
        expected += tuples.len();
        let streams = declared.get(&c.id).cloned().unwrap_or_default();
        let (id, state, tuples) = (c.id.clone(), state.clone(), Arc::new(tuples));
        c.factory = Factory::Spout(Arc::new(move || {
            Box::new(FixedTuples {
                id: id.clone(),
                streams: streams.clone(),
                tuples: tuples.clone(),
                state: state.clone(),
                next: 0,
                step: 1,
            })
        }));
    }
    for (component, streams) in &declared {
        for s in streams.iter().filter(|s| !s.direct) {
            test.streams.push(Subscription {
                from: component.clone(),
                stream: s.id.clone(),
                to: CAPTURE_COMPONENT.into(),
                grouping: Grouping::Global,
                line: 0,
                source: 0,
            });
        }
    }
    let capture = state.clone();
    test.components.push(ComponentDef {
        id: CAPTURE_COMPONENT.into(),
        factory: Factory::Bolt(Arc::new(move || Box::new(crate::Basic(Capture(capture.clone()))))),
        parallelism: 1,
        tasks: 1,
        tick_freq_secs: None,
        workers: Vec::new(),
        line: 0,
        source: 0,
        max_spout_pending: None,
    });
    // One process: every pin goes.
    test.config.workers = 1;
    for c in &mut test.components {
        c.workers.clear();
    }
    let running = crate::start(&test).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + options.timeout;
    let mut completed = false;
    while Instant::now() < deadline {
        let s = state.lock().unwrap_or_else(|e| e.into_inner());
        let done = s.completed() >= expected;
        let quiet = s.last_capture.is_none_or(|t| t.elapsed() >= options.quiet);
        drop(s);
        if done && quiet {
            completed = true;
            break;
        }
        if !running.is_running() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let failure = running.failure();
    // Counted now: the stop below fails what is still in flight, and those failures (trees
    // that "completed" only because of the stop) must not count as done within the timeout.
    let completed_in_time = state.lock().unwrap_or_else(|e| e.into_inner()).completed();
    // A bolt blocked for good (a PUSH sink without a peer) would hold the shutdown forever:
    // it gets a while, then its threads are left behind.
    let (stopped_tx, stopped) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        running.shutdown(Duration::ZERO);
        let _ = stopped_tx.send(());
    });
    let stuck = stopped.recv_timeout(STOP_WAIT).is_err();
    let s = std::mem::take(&mut *state.lock().unwrap_or_else(|e| e.into_inner()));
    if !completed {
        let mut why = match failure {
            Some(why) => format!("the topology stopped: {why}"),
            None => format!(
                "{completed_in_time} of {expected} mocked tuples completed within {:?}",
                options.timeout
            ),
        };
        if stuck {
            why.push_str(&format!(
                " (and a component was still busy {STOP_WAIT:?} after the stop: \
                 a sink blocked without a peer?)"
            ));
        }
        return Err(why);
    }
    Ok(CompletedTopology { tuples: s.tuples, acked: s.acked, failed: s.failed })
}

/// What the fixed spouts and the capturing bolt record.
#[derive(Default)]
struct Shared {
    tuples: BTreeMap<(String, String), Vec<Vec<Value>>>,
    acked: HashMap<String, usize>,
    failed: HashMap<String, Vec<FailReason>>,
    last_capture: Option<Instant>,
}

impl Shared {
    fn completed(&self) -> usize {
        self.acked.values().sum::<usize>() + self.failed.values().map(Vec::len).sum::<usize>()
    }
}

/// Storm's `FixedTupleSpout`: emits its tuples once each (task `i` of `n` the `i`-th, the
/// `i + n`-th…), tracked, and records their acks and fails; replays nothing.
struct FixedTuples {
    id: String,
    streams: Vec<StreamDecl>,
    tuples: Arc<Vec<(String, Vec<Value>)>>,
    state: Arc<Mutex<Shared>>,
    next: usize,
    step: usize,
}

impl Spout for FixedTuples {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        for s in &self.streams {
            let fields: Vec<&str> = s.fields.iter().map(String::as_str).collect();
            if s.direct {
                d.declare_direct_stream(&s.id, &fields);
            } else {
                d.declare_stream(&s.id, &fields);
            }
        }
    }

    fn open(&mut self, ctx: &TaskContext) -> Result<(), String> {
        self.next = ctx.task_index;
        self.step = ctx.component_tasks.len().max(1);
        Ok(())
    }

    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        for _ in 0..64 {
            let Some((stream, values)) = self.tuples.get(self.next) else { return };
            c.emit_stream(stream, values.clone(), Some(self.next as u64));
            self.next += self.step;
        }
    }

    fn ack(&mut self, _msg_id: u64) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s.acked.entry(self.id.clone()).or_default() += 1;
    }

    fn fail(&mut self, _msg_id: u64, why: &FailReason) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.failed.entry(self.id.clone()).or_default().push(why.clone());
    }
}

/// Records every tuple it gets under its (component, stream).
struct Capture(Arc<Mutex<Shared>>);

impl BasicBolt for Capture {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}

    fn execute(&mut self, input: &Tuple, _c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        if input.is_tick() {
            return Ok(());
        }
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = (input.source_component().to_owned(), input.stream().to_owned());
        s.tuples.entry(key).or_default().push(input.values.clone());
        s.last_capture = Some(Instant::now());
        Ok(())
    }
}
