//! # dataflow
//!
//! Storm's stream-processing model on libsock: spouts emit tuples, bolts process them, stream
//! groupings pick the task for each tuple, and ackers guarantee that every spout tuple is fully
//! processed or replayed. Topologies are built in code ([`TopologyBuilder`]) or read from a
//! Flux-shaped YAML file ([`config`]); `sockflow` runs them.
//!
//! ## Layers, and who may call whom
//!
//! Top to bottom; a module imports only from the layers below its own
//! (`tests/tests/layers.rs` at the workspace root checks every `crate::` path):
//!
//! ```text
//! cli          the sockflow command: check, run, deploy, keygen
//! deploy/      Kubernetes and systemd manifests for a topology's workers
//! config/      file → typed model, every check, errors with file lines
//! registry/    className → component factory: the built-ins, shell components' properties
//! components/, multilang/, testing
//!              built-in spouts and bolts (DRPC's among them); components in any language
//!              (Storm's multilang); a topology run on fixed tuples, every emit captured
//!              (Storm's `Testing.completeTopology`)
//! window/, state/
//!              windowed bolts (Storm's BaseWindowedBolt) and stateful bolts (IStatefulBolt,
//!              checkpointed), each run as an ordinary bolt
//! runtime/     executors (threads), transfer over libsock sockets, acker, metrics
//! workers/     where each executor's inbox is: inproc in a process, tcp between workers
//! plan/        logical → physical: tasks, executors, placement on workers, routes (pure)
//! topology     the logical topology + validation (shared by the builder and config files)
//! component    the traits users implement, and what a task knows of the topology
//! grouping     stream groupings
//! wire         the protobuf messages every tuple and ack travels as (schema as prost types;
//!              the hot path encodes/decodes them by hand in `wire::codec`, same bytes)
//! tuple        values, tuples, tuple-tree ids, the reserved stream names
//! ```
//!
//! - One import goes up, by design: the `component` traits' methods take the runtime's
//!   collectors (`SpoutCollector`, `BoltCollector`, `BasicCollector`), which emit through
//!   the executor's state.
//! - `plan` never runs anything; `runtime` never reads files; the acker is a pure state
//!   machine over (root, xor) events and virtual time.
//! - Executors reach each other only through `runtime::transfer`, whose endpoints
//!   (`workers::Endpoints`) are `inproc://` within a worker and `tcp://` between workers,
//!   without touching the executors.
//! - Only libsock's public API is used.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod component;
pub mod components;
pub mod config;
pub mod deploy;
pub mod grouping;
pub mod multilang;
pub mod plan;
pub mod registry;
pub mod runtime;
pub mod state;
pub mod testing;
pub mod topology;
pub mod tuple;
pub mod window;
pub mod wire;
pub mod workers;

pub use component::{
    Basic, BasicBolt, Bolt, FailReason, Limits, OutputDeclarer, Spout, StopSignal, TaskContext,
    DEFAULT_STREAM, SYSTEM_COMPONENT, TICK_STREAM,
};
pub use grouping::{CustomGrouping, Grouping};
pub use plan::Plan;
pub use registry::Registry;
pub use runtime::{start, BasicCollector, BoltCollector, Running, SpoutCollector};
pub use topology::{Topology, TopologyBuilder, TopologyConfig, TopologyError, WorkerKey};
pub use tuple::{Tuple, Value};
