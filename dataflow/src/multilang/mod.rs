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
//! - `bolt`, `spout`: the components. A crashed, hung or misbehaving child is restarted; a
//!   bolt's pending tuples fail with the reason (so their spouts replay them).

mod bolt;
mod child;
pub mod protocol;
mod spout;

use std::sync::Arc;
use std::time::Duration;

pub use bolt::ShellBolt;
pub use child::ChildSpec;
pub use spout::ShellSpout;

use serde_json::{json, Value as Json};

use crate::component::TaskContext;
use crate::registry::{Properties, Registry};
use crate::tuple::Value;

/// Flux's class name for shell spouts.
pub const FLUX_SHELL_SPOUT: &str = "org.apache.storm.flux.wrappers.spouts.FluxShellSpout";
/// Flux's class name for shell bolts.
pub const FLUX_SHELL_BOLT: &str = "org.apache.storm.flux.wrappers.bolts.FluxShellBolt";
/// The property a component's `constructorArgs` arrive in.
pub const CONSTRUCTOR_ARGS: &str = "constructorArgs";

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

    fn conf(&self, ctx: &TaskContext) -> Json {
        let mut conf = self.conf.clone();
        conf.insert("topology.name".into(), Json::from(&*ctx.topology));
        Json::Object(conf)
    }
}

/// The handshake's `context` for a task.
fn context(ctx: &TaskContext) -> Json {
    let tasks: serde_json::Map<String, Json> =
        ctx.component_tasks.iter().map(|t| (t.to_string(), Json::from(&*ctx.component))).collect();
    json!({ "task->component": tasks, "taskid": ctx.task_id, "componentid": &*ctx.component })
}

/// Reads `constructorArgs: [[command, args...], [fields...]]` and the optional properties.
fn spec(p: &Properties) -> Result<Arc<ShellSpec>, String> {
    p.only(&[CONSTRUCTOR_ARGS, "timeoutSecs", "maxPending", "queueSize", "cwd"])?;
    let usage = "constructorArgs: [[command, args...], [output fields...]] is required";
    let Some(Value::List(args)) = p.get(CONSTRUCTOR_ARGS) else { return Err(usage.into()) };
    let texts = |v: &Value, what: &str| -> Result<Vec<String>, String> {
        match v {
            Value::List(l) => l
                .iter()
                .map(|x| match x {
                    Value::Str(s) => Ok(s.clone()),
                    Value::I64(_) | Value::F64(_) | Value::Bool(_) => Ok(x.to_string()),
                    other => Err(format!("{what}: expected text, got {other}")),
                })
                .collect(),
            other => Err(format!("{what}: expected a list, got {other}")),
        }
    };
    let (command, fields) = match args.as_slice() {
        [c] => (texts(c, "command")?, Vec::new()),
        [c, f] => (texts(c, "command")?, texts(f, "output fields")?),
        _ => return Err(usage.into()),
    };
    if command.is_empty() || command[0].is_empty() {
        return Err("constructorArgs: the command is empty".into());
    }
    let mut s = ShellSpec::new(command, fields);
    if let Some(t) = p.u64("timeoutSecs")? {
        s.child.timeout = Duration::from_secs(t.max(1));
    }
    if let Some(n) = p.u64("maxPending")? {
        s.max_pending = n.max(1) as usize;
    }
    if let Some(n) = p.u64("queueSize")? {
        s.child.queue = n.max(1) as usize;
    }
    s.child.cwd = p.str("cwd")?.map(Into::into);
    Ok(Arc::new(s))
}

/// Registers `FluxShellSpout` and `FluxShellBolt` (under Flux's class names and the short ones
/// `ShellSpout` and `ShellBolt`).
pub fn register(r: &mut Registry) {
    for name in [FLUX_SHELL_SPOUT, "ShellSpout"] {
        r.register_spout(name, |p| {
            let s = spec(p)?;
            Ok(Arc::new(move || Box::new(ShellSpout::new(s.clone()))))
        });
    }
    for name in [FLUX_SHELL_BOLT, "ShellBolt"] {
        r.register_bolt(name, |p| {
            let s = spec(p)?;
            Ok(Arc::new(move || Box::new(ShellBolt::new(s.clone()))))
        });
    }
}
