//! The Flux file as serde structs, and its conversion to a [`Topology`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value as Yaml;

use super::lines;
use crate::grouping::Grouping;
use crate::registry::{Properties, Registry};
use crate::topology::{ComponentDef, Factory, Subscription, Topology, TopologyConfig};
use crate::tuple::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FluxFile {
    name: String,
    #[serde(default)]
    config: BTreeMap<String, Yaml>,
    #[serde(default)]
    spouts: Vec<FluxComponent>,
    #[serde(default)]
    bolts: Vec<FluxComponent>,
    #[serde(default)]
    streams: Vec<FluxStream>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FluxComponent {
    id: String,
    #[serde(rename = "className")]
    class_name: String,
    #[serde(default = "one")]
    parallelism: usize,
    #[serde(rename = "numTasks")]
    num_tasks: Option<usize>,
    #[serde(default)]
    properties: Vec<FluxProperty>,
    #[serde(default)]
    config: BTreeMap<String, Yaml>,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FluxProperty {
    name: String,
    value: Yaml,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FluxStream {
    #[allow(dead_code)]
    name: Option<String>,
    from: String,
    to: String,
    grouping: FluxGrouping,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FluxGrouping {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
    #[serde(rename = "streamId")]
    stream_id: Option<String>,
    #[serde(rename = "customClass")]
    custom_class: Option<FluxCustom>,
}

#[derive(Deserialize)]
struct FluxCustom {
    #[serde(rename = "className")]
    class_name: String,
}

type Located<T> = Result<T, (usize, String)>;

/// Parses `text` into a topology (not yet validated as a graph).
pub(super) fn build(text: &str, registry: &Registry) -> Located<Topology> {
    let file: FluxFile = serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line());
        // serde_yaml appends " at line L column C"; the line is reported in front already.
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        (line, msg)
    })?;
    let mut topology = Topology { name: file.name.clone(), ..Topology::default() };
    topology.config = config(&file.config, text)?;
    let spout_lines = lines::items(text, "spouts");
    let bolt_lines = lines::items(text, "bolts");
    for (i, c) in file.spouts.iter().enumerate() {
        let line = spout_lines.get(i).copied().unwrap_or(0);
        topology.components.push(component(c, true, line, text, registry)?);
    }
    for (i, c) in file.bolts.iter().enumerate() {
        let line = bolt_lines.get(i).copied().unwrap_or(0);
        topology.components.push(component(c, false, line, text, registry)?);
    }
    let stream_lines = lines::items(text, "streams");
    for (i, s) in file.streams.iter().enumerate() {
        let line = stream_lines.get(i).copied().unwrap_or(0);
        let grouping = grouping(&s.grouping, registry).map_err(|m| (line, m))?;
        let stream = s.grouping.stream_id.clone().unwrap_or_else(|| crate::DEFAULT_STREAM.to_owned());
        topology.streams.push(Subscription {
            from: s.from.clone(),
            stream,
            to: s.to.clone(),
            grouping,
            line,
        });
    }
    Ok(topology)
}

fn component(
    c: &FluxComponent,
    spout: bool,
    line: usize,
    text: &str,
    registry: &Registry,
) -> Located<ComponentDef> {
    let kind = if spout { "spout" } else { "bolt" };
    let mut props = Vec::new();
    for p in &c.properties {
        props.push((p.name.clone(), value(&p.value)));
    }
    let props = Properties::new(props);
    let made = if spout {
        registry.spout(&c.class_name, &props).map(|r| r.map(Factory::Spout))
    } else {
        registry.bolt(&c.class_name, &props).map(|r| r.map(Factory::Bolt))
    };
    let factory = match made {
        None => {
            let msg = format!(
                "{kind} {:?}: unknown className {:?} (known {kind}s: {})",
                c.id,
                c.class_name,
                registry.names(spout)
            );
            return Err((line, msg));
        }
        Some(Err(e)) => return Err((line, format!("{kind} {:?} ({}): {e}", c.id, c.class_name))),
        Some(Ok(f)) => f,
    };
    let tick = match c.config.get("topology.tick.tuple.freq.secs") {
        None => None,
        Some(v) => Some(v.as_f64().filter(|f| *f > 0.0).ok_or_else(|| {
            (
                lines::find(text, "topology.tick.tuple.freq.secs").max(line),
                "tick frequency must be a positive number".to_owned(),
            )
        })?),
    };
    if let Some(k) = c.config.keys().find(|k| *k != "topology.tick.tuple.freq.secs") {
        return Err((line, format!("{kind} {:?}: unsupported component config {k:?}", c.id)));
    }
    Ok(ComponentDef {
        id: c.id.clone(),
        factory,
        parallelism: c.parallelism,
        tasks: c.num_tasks.unwrap_or(c.parallelism),
        tick_freq_secs: tick,
        line,
    })
}

fn grouping(g: &FluxGrouping, registry: &Registry) -> Result<Grouping, String> {
    let fields = if g.fields.is_empty() { g.args.clone() } else { g.fields.clone() };
    let kind = g.kind.to_uppercase();
    if !fields.is_empty() && !matches!(kind.as_str(), "FIELDS" | "PARTIAL_KEY") {
        return Err(format!("grouping {kind} takes no fields"));
    }
    Ok(match kind.as_str() {
        "SHUFFLE" => Grouping::Shuffle,
        "FIELDS" => Grouping::Fields(fields),
        "PARTIAL_KEY" => Grouping::PartialKey(fields),
        "ALL" => Grouping::All,
        "GLOBAL" => Grouping::Global,
        "NONE" => Grouping::None,
        "DIRECT" => Grouping::Direct,
        "LOCAL_OR_SHUFFLE" => Grouping::LocalOrShuffle,
        "CUSTOM" => {
            let class = g.custom_class.as_ref().ok_or("CUSTOM grouping needs customClass: {className: …}")?;
            let f = registry
                .grouping(&class.class_name)
                .ok_or_else(|| format!("unknown custom grouping className {:?}", class.class_name))?;
            Grouping::Custom(class.class_name.clone(), f)
        }
        other => {
            return Err(format!(
                "unknown grouping type {other:?} (SHUFFLE, FIELDS, PARTIAL_KEY, ALL, GLOBAL, NONE, DIRECT, LOCAL_OR_SHUFFLE, CUSTOM)"
            ))
        }
    })
}

fn config(map: &BTreeMap<String, Yaml>, text: &str) -> Located<TopologyConfig> {
    let mut c = TopologyConfig::default();
    for (key, v) in map {
        let line = lines::find(text, key);
        let uint = || {
            v.as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| (line, format!("{key}: expected a non-negative integer")))
        };
        let pos = || {
            v.as_f64()
                .filter(|f| *f > 0.0)
                .ok_or_else(|| (line, format!("{key}: expected a positive number")))
        };
        match key.as_str() {
            "topology.message.timeout.secs" => c.message_timeout_secs = uint()?.max(1) as u64,
            "topology.max.spout.pending" => c.max_spout_pending = Some(uint()?.max(1)),
            "topology.acker.executors" => c.acker_executors = uint()?,
            "topology.tick.tuple.freq.secs" => c.tick_freq_secs = Some(pos()?),
            "topology.executor.receive.buffer.size" => c.receive_buffer = uint()?.max(1),
            "topology.transfer.batch.size" => c.batch_size = uint()?.max(1),
            "topology.stats.sample.rate" => c.stats_sample_rate = pos()?.min(1.0),
            "topology.workers" => {
                c.workers = uint()?;
                if c.workers != 1 {
                    return Err((line, "topology.workers: only 1 (this process) is supported yet".into()));
                }
            }
            "topology.debug" => {}
            other => return Err((line, format!("unsupported config key {other:?}"))),
        }
    }
    Ok(c)
}

fn value(y: &Yaml) -> Value {
    match y {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => n.as_i64().map_or_else(|| Value::F64(n.as_f64().unwrap_or(f64::NAN)), Value::I64),
        Yaml::String(s) => Value::Str(s.clone()),
        Yaml::Sequence(s) => Value::List(s.iter().map(value).collect()),
        Yaml::Mapping(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.as_str().map_or_else(|| format!("{k:?}"), str::to_owned), value(v)))
                .collect(),
        ),
        Yaml::Tagged(t) => value(&t.value),
    }
}
