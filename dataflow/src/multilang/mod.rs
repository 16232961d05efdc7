//! Components in any language: Storm's multilang protocol over a child's stdin/stdout, so
//! existing Storm multilang code (Python, Node, Ruby adapters) runs unchanged.
//!
//! In a topology file, Flux's own class names work as in Flux:
//!
//! ```yaml
//! bolts:
//!   - id: split
//!     className: org.apache.storm.flux.wrappers.bolts.FluxShellBolt
//!     constructorArgs: [["python3", "splitsentence.py"], ["word"]]
//!     properties:                 # optional, beyond Flux
//!       - {name: timeoutSecs, value: 10}    # silence + no CPU → hung → restarted
//!       - {name: maxPending, value: 1000}   # tuples inside the child (back-pressure)
//! ```
//!
//! - `protocol`: the sans-I/O codec (framing, handshake, message types).
//! - `child`: one child process (spawn, bounded queues, stderr to the logs, liveness).
//! - `context`: the handshake's view of the topology (Storm's keys).
//! - `bolt`, `spout`: the components. A crashed, hung or misbehaving child is restarted; a
//!   bolt's pending tuples fail with the reason (so their spouts replay them).

mod bolt;
mod child;
mod context;
pub mod protocol;
mod spout;

use std::time::Duration;

pub use bolt::ShellBolt;
pub use child::ChildSpec;
pub use spout::ShellSpout;

use context::context;

use serde_json::Value as Json;

use crate::component::TaskContext;

/// Wait before starting a child again after it died (no tight crash loops).
const RESTART_BACKOFF: Duration = Duration::from_millis(200);

/// A shell component: the child to run, its output fields, and the topology conf it gets.
#[derive(Clone, Debug)]
pub struct ShellSpec {
    /// How to run the child.
    pub child: ChildSpec,
    /// Output fields of the default stream.
    pub fields: Vec<String>,
    /// At most this many input tuples inside a bolt's child at once.
    pub max_pending: usize,
    /// Extra entries for the handshake's `conf`.
    pub conf: serde_json::Map<String, Json>,
}

impl ShellSpec {
    /// Runs `command` (program and arguments), declaring `fields`.
    pub fn new(command: Vec<String>, fields: Vec<String>) -> ShellSpec {
        ShellSpec {
            child: ChildSpec { command, cwd: None, timeout: Duration::from_secs(30), queue: 1024 },
            fields,
            max_pending: 1000,
            conf: serde_json::Map::new(),
        }
    }

    /// The handshake's `conf`: the topology's (its file's `config:`, your own keys among
    /// them), this spec's extra entries, and `topology.name`.
    fn conf(&self, ctx: &TaskContext) -> Json {
        let mut conf: serde_json::Map<String, Json> =
            ctx.conf.iter().map(|(k, v)| (k.clone(), protocol::to_json(v))).collect();
        conf.extend(self.conf.clone());
        conf.insert("topology.name".into(), Json::from(&*ctx.topology));
        Json::Object(conf)
    }
}
