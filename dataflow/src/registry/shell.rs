//! The shell components' class names (Flux's and short ones) and their properties: the
//! glue between a topology file and `crate::multilang`, which knows nothing of registries.

use std::sync::Arc;
use std::time::Duration;

use super::{Properties, Registry, CONSTRUCTOR_ARGS};
use crate::multilang::{ShellBolt, ShellSpec, ShellSpout};
use crate::tuple::Value;

/// Flux's class name for shell spouts.
pub const FLUX_SHELL_SPOUT: &str = "org.apache.storm.flux.wrappers.spouts.FluxShellSpout";
/// Flux's class name for shell bolts.
pub const FLUX_SHELL_BOLT: &str = "org.apache.storm.flux.wrappers.bolts.FluxShellBolt";

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
    // Storm's topology-wide settings, unless the component's own properties say otherwise.
    let conf = |key: &str| match p.conf().get(key) {
        Some(Value::I64(n)) if *n >= 0 => Some(*n as u64),
        _ => None,
    };
    if let Some(t) = p.u64("timeoutSecs")?.or_else(|| conf("topology.subprocess.timeout.secs")) {
        s.child.timeout = Duration::from_secs(t.max(1));
    }
    if let Some(n) = p.u64("maxPending")?.or_else(|| conf("topology.shellbolt.max.pending")) {
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
pub(super) fn register(r: &mut Registry) {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn storms_topology_keys_are_defaults_that_properties_beat() {
        let args = Value::List(vec![
            Value::List(vec![Value::Str("python3".into()), Value::Str("split.py".into())]),
            Value::List(vec![Value::Str("word".into())]),
        ]);
        let conf: BTreeMap<String, Value> = [
            ("topology.subprocess.timeout.secs".to_owned(), Value::I64(7)),
            ("topology.shellbolt.max.pending".to_owned(), Value::I64(20)),
        ]
        .into();
        let conf = Arc::new(conf);
        let p = Properties::new([(CONSTRUCTOR_ARGS.to_owned(), args.clone())]).with_conf(conf.clone());
        let s = spec(&p).unwrap();
        assert_eq!((s.child.timeout, s.max_pending), (Duration::from_secs(7), 20));
        let own = [("timeoutSecs".to_owned(), Value::I64(3)), ("maxPending".to_owned(), Value::I64(5))];
        let p = Properties::new([(CONSTRUCTOR_ARGS.to_owned(), args.clone())].into_iter().chain(own))
            .with_conf(conf);
        let s = spec(&p).unwrap();
        assert_eq!((s.child.timeout, s.max_pending), (Duration::from_secs(3), 5));
        let s = spec(&Properties::new([(CONSTRUCTOR_ARGS.to_owned(), args)])).unwrap();
        assert_eq!((s.child.timeout, s.max_pending), (Duration::from_secs(30), 1000), "the defaults");
    }
}
