//! [`TopologyBuilder`]: topologies built in code.

use std::sync::Arc;

use super::{ComponentDef, Factory, Subscription, Topology, TopologyConfig, TopologyError};
use crate::component::{Bolt, Spout, DEFAULT_STREAM};
use crate::grouping::Grouping;

/// Builds a topology in code, as Storm's `TopologyBuilder` does.
///
/// ```
/// use dataflow::{TopologyBuilder, components::{Generator, Splitter, Counter}, Basic};
/// let mut b = TopologyBuilder::new("wc");
/// b.set_spout("gen", || Box::new(Generator::sentences(vec!["a b".into()], 10)), 1);
/// b.set_bolt("split", || Box::new(Basic(Splitter::default())), 2).shuffle_grouping("gen");
/// b.set_bolt("count", || Box::new(Basic(Counter::default())), 2).fields_grouping("split", &["word"]);
/// assert!(b.build().is_ok());
/// ```
pub struct TopologyBuilder {
    topology: Topology,
}

/// Declares one bolt's subscriptions (returned by [`TopologyBuilder::set_bolt`]).
pub struct BoltDeclarer<'a> {
    topology: &'a mut Topology,
    id: String,
}

impl TopologyBuilder {
    /// A new, empty topology.
    pub fn new(name: &str) -> TopologyBuilder {
        TopologyBuilder { topology: Topology { name: name.to_owned(), ..Topology::default() } }
    }

    /// The settings, to change.
    pub fn config(&mut self) -> &mut TopologyConfig {
        &mut self.topology.config
    }

    /// Adds a spout with `parallelism` executors (one task each).
    pub fn set_spout<F>(&mut self, id: &str, factory: F, parallelism: usize) -> &mut ComponentDef
    where
        F: Fn() -> Box<dyn Spout> + Send + Sync + 'static,
    {
        self.add(id, Factory::Spout(Arc::new(factory)), parallelism)
    }

    /// Adds a bolt with `parallelism` executors; subscribe it with the returned declarer.
    pub fn set_bolt<F>(&mut self, id: &str, factory: F, parallelism: usize) -> BoltDeclarer<'_>
    where
        F: Fn() -> Box<dyn Bolt> + Send + Sync + 'static,
    {
        self.add(id, Factory::Bolt(Arc::new(factory)), parallelism);
        BoltDeclarer { topology: &mut self.topology, id: id.to_owned() }
    }

    fn add(&mut self, id: &str, factory: Factory, parallelism: usize) -> &mut ComponentDef {
        let def = ComponentDef {
            id: id.to_owned(),
            factory,
            parallelism,
            tasks: parallelism,
            tick_freq_secs: None,
            workers: Vec::new(),
            line: 0,
            source: 0,
            max_spout_pending: None,
        };
        self.topology.components.push(def);
        self.topology.components.last_mut().expect("just pushed")
    }

    /// Sets the libsock context the socket components open their sockets on (see
    /// [`Topology::context`]): the program's own, so its `inproc://` endpoints are reachable.
    pub fn context(&mut self, ctx: &libsock::Context) -> &mut Self {
        self.topology.context = Some(ctx.clone());
        self
    }

    /// Validates and returns the topology.
    pub fn build(self) -> Result<Topology, TopologyError> {
        self.topology.validate()?;
        Ok(self.topology)
    }
}

impl BoltDeclarer<'_> {
    /// Subscribes to `from`'s default stream with `grouping`.
    pub fn grouping(self, from: &str, grouping: Grouping) -> Self {
        self.stream_grouping(from, DEFAULT_STREAM, grouping)
    }

    /// Subscribes to a named stream with `grouping`.
    pub fn stream_grouping(self, from: &str, stream: &str, grouping: Grouping) -> Self {
        let sub = Subscription {
            from: from.into(),
            stream: stream.into(),
            to: self.id.clone(),
            grouping,
            line: 0,
            source: 0,
        };
        self.topology.streams.push(sub);
        self
    }

    /// Shuffle grouping on the default stream.
    pub fn shuffle_grouping(self, from: &str) -> Self {
        self.grouping(from, Grouping::Shuffle)
    }

    /// Fields grouping on the default stream.
    pub fn fields_grouping(self, from: &str, fields: &[&str]) -> Self {
        self.grouping(from, Grouping::Fields(fields.iter().map(|f| (*f).to_owned()).collect()))
    }

    /// Sets the number of tasks (≥ parallelism).
    pub fn num_tasks(self, tasks: usize) -> Self {
        if let Some(c) = self.topology.components.iter_mut().find(|c| c.id == self.id) {
            c.tasks = tasks;
        }
        self
    }

    /// Pins this bolt's executors to these workers (round robin over them).
    pub fn workers(self, workers: &[usize]) -> Self {
        if let Some(c) = self.topology.components.iter_mut().find(|c| c.id == self.id) {
            c.workers = workers.to_vec();
        }
        self
    }

    /// Sets this bolt's tick frequency.
    pub fn tick_freq_secs(self, secs: f64) -> Self {
        if let Some(c) = self.topology.components.iter_mut().find(|c| c.id == self.id) {
            c.tick_freq_secs = Some(secs);
        }
        self
    }
}
