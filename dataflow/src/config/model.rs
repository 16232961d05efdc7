//! The Flux file as serde structs, and its conversion to a [`Topology`].

use std::collections::BTreeMap;

use serde_yaml::Value as Yaml;

use super::flux::{At, FluxComponent, FluxFile, FluxGrouping, Sources};
use super::refs::{Resolver, Spec};
use super::ConfigError;
use crate::grouping::Grouping;
use crate::registry::Registry;
use crate::state::StateSpec;
use crate::topology::{
    ComponentDef, Factory, Subscription, Topology, TopologyConfig, WorkerKey, NO_MESSAGE_TIMEOUT_SECS,
};
use crate::tuple::Value;

/// Converts the read (and merged) file into a topology (not yet validated as a graph).
pub(super) fn build(
    file: &FluxFile,
    sources: &Sources,
    registry: &Registry,
) -> Result<Topology, ConfigError> {
    let Some(name) = file.name.clone() else {
        return Err(sources.err(At { src: 0, line: 1 }, "missing field `name`".into()));
    };
    let mut topology = Topology { name, ..Topology::default() };
    topology.config = config(&file.config, &file.config_at, sources)?;
    crate::workers::configure(
        &mut topology.config,
        &file.workers,
        file.config.contains_key("topology.workers"),
    )
    .map_err(|m| sources.err(file.workers_at, m))?;
    let conf = std::sync::Arc::new(topology.config.conf.clone());
    let mut refs = Resolver::new(registry, sources, &file.components, conf)?;
    refs.build_all(&file.components)?;
    for c in &file.spouts {
        topology.components.push(component(c, true, sources, &mut refs, registry)?);
    }
    for c in &file.bolts {
        topology.components.push(component(c, false, sources, &mut refs, registry)?);
    }
    for s in &file.streams {
        let grouping = grouping(&s.grouping, registry, &mut refs).map_err(|e| e.at(s.at, sources))?;
        let stream = s.grouping.stream_id.clone().unwrap_or_else(|| crate::DEFAULT_STREAM.to_owned());
        topology.streams.push(Subscription {
            from: s.from.clone(),
            stream,
            to: s.to.clone(),
            grouping,
            line: s.at.line,
            source: s.at.src,
        });
    }
    Ok(topology)
}

fn component(
    c: &FluxComponent,
    spout: bool,
    sources: &Sources,
    refs: &mut Resolver<'_>,
    registry: &Registry,
) -> Result<ComponentDef, ConfigError> {
    let kind = if spout { "spout" } else { "bolt" };
    let err = |m: String| sources.err(c.at, m);
    let spec = Spec {
        what: format!("{kind} {:?}", c.id),
        class: &c.class_name,
        constructor_args: c.constructor_args.as_deref(),
        properties: &c.properties,
        methods: &c.config_methods,
        at: c.at,
    };
    let props = refs.properties(&spec)?;
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
            return Err(err(msg));
        }
        Some(Err(e)) => return Err(err(format!("{kind} {:?} ({}): {e}", c.id, c.class_name))),
        Some(Ok(f)) => f,
    };
    let tick = match c.config.get("topology.tick.tuple.freq.secs") {
        None => None,
        Some(v) => Some(v.as_f64().filter(|f| *f > 0.0).ok_or_else(|| {
            let at = sources.find_from(c.at, &["topology.tick.tuple.freq.secs"]);
            sources.err(at, "tick frequency must be a positive number".to_owned())
        })?),
    };
    let max_spout_pending = match c.config.get("topology.max.spout.pending") {
        None => None,
        Some(v) => {
            let at = sources.find_from(c.at, &["topology.max.spout.pending"]);
            if !spout {
                return Err(
                    sources.err(at, format!("bolt {:?}: topology.max.spout.pending is a spout's", c.id))
                );
            }
            let n = v.as_u64().filter(|n| *n > 0);
            Some(n.ok_or_else(|| sources.err(at, "max spout pending must be a positive integer".into()))?
                as usize)
        }
    };
    let known = ["topology.tick.tuple.freq.secs", "topology.max.spout.pending"];
    if let Some(k) = c.config.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(err(format!("{kind} {:?}: unsupported component config {k:?}", c.id)));
    }
    let workers = match (c.worker, &c.workers) {
        (Some(_), Some(_)) => {
            let at = sources.find_from(c.at, &["worker"]);
            return Err(sources.err(at, format!("{kind} {:?}: give worker or workers, not both", c.id)));
        }
        (Some(w), None) => vec![w],
        (None, Some(ws)) if ws.is_empty() => {
            let at = sources.find_from(c.at, &["workers"]);
            return Err(sources.err(at, format!("{kind} {:?}: workers: [] pins to no worker", c.id)));
        }
        (None, Some(ws)) => ws.clone(),
        (None, None) => Vec::new(),
    };
    Ok(ComponentDef {
        id: c.id.clone(),
        factory,
        parallelism: c.parallelism,
        tasks: c.num_tasks.unwrap_or(c.parallelism),
        tick_freq_secs: tick,
        workers,
        line: c.at.line,
        source: c.at.src,
        max_spout_pending,
    })
}

/// A grouping error: a plain message (at the stream's line) or one already located.
enum GroupingError {
    Here(String),
    Located(ConfigError),
}

impl GroupingError {
    fn at(self, at: At, sources: &Sources) -> ConfigError {
        match self {
            GroupingError::Here(m) => sources.err(at, m),
            GroupingError::Located(e) => e,
        }
    }
}

impl From<String> for GroupingError {
    fn from(m: String) -> Self {
        GroupingError::Here(m)
    }
}

impl From<&str> for GroupingError {
    fn from(m: &str) -> Self {
        GroupingError::Here(m.to_owned())
    }
}

fn grouping(
    g: &FluxGrouping,
    registry: &Registry,
    refs: &mut Resolver<'_>,
) -> Result<Grouping, GroupingError> {
    let fields = if g.fields.is_empty() { g.args.clone() } else { g.fields.clone() };
    let kind = g.kind.to_uppercase();
    if !fields.is_empty() && !matches!(kind.as_str(), "FIELDS" | "PARTIAL_KEY") {
        return Err(format!("grouping {kind} takes no fields").into());
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
            let spec = Spec {
                what: "customClass".to_owned(),
                class: &class.class_name,
                constructor_args: class.constructor_args.as_deref(),
                properties: &class.properties,
                methods: &class.config_methods,
                at: class.at,
            };
            let props = refs.properties(&spec).map_err(GroupingError::Located)?;
            let f = match registry.grouping(&class.class_name, &props) {
                None => return Err(format!("unknown custom grouping className {:?}", class.class_name).into()),
                Some(Err(e)) => return Err(format!("custom grouping {}: {e}", class.class_name).into()),
                Some(Ok(f)) => f,
            };
            Grouping::Custom(class.class_name.clone(), f)
        }
        other => {
            return Err(format!(
                "unknown grouping type {other:?} (SHUFFLE, FIELDS, PARTIAL_KEY, ALL, GLOBAL, NONE, DIRECT, LOCAL_OR_SHUFFLE, CUSTOM)"
            )
            .into())
        }
    })
}

fn config(
    map: &BTreeMap<String, Yaml>,
    ats: &BTreeMap<String, At>,
    sources: &Sources,
) -> Result<TopologyConfig, ConfigError> {
    let mut c = TopologyConfig::default();
    let mut timeouts_enabled = true;
    for (key, v) in map {
        let at = ats.get(key).copied().unwrap_or_default();
        let uint = || {
            v.as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| sources.err(at, format!("{key}: expected a non-negative integer")))
        };
        let pos = || {
            v.as_f64()
                .filter(|f| *f > 0.0)
                .ok_or_else(|| sources.err(at, format!("{key}: expected a positive number")))
        };
        match key.as_str() {
            "topology.message.timeout.secs" => c.message_timeout_secs = uint()?.max(1) as u64,
            "topology.max.spout.pending" => c.max_spout_pending = Some(uint()?.max(1)),
            "topology.acker.executors" => c.acker_executors = uint()?,
            "topology.acker.max.pending" => {
                let n = uint()?;
                if n == 0 {
                    return Err(
                        sources.err(at, format!("{key}: at least 1 (tree entries each acker task keeps)"))
                    );
                }
                c.acker_max_pending = Some(n);
            }
            "topology.tick.tuple.freq.secs" => c.tick_freq_secs = Some(pos()?),
            "topology.executor.receive.buffer.size" => c.receive_buffer = uint()?.max(1),
            // Storm 2's name for the same setting.
            "topology.transfer.batch.size" | "topology.producer.batch.size" => c.batch_size = uint()?.max(1),
            "topology.stats.sample.rate" => c.stats_sample_rate = pos()?.min(1.0),
            "topology.workers" => {
                c.workers = uint()?;
                if c.workers == 0 {
                    return Err(sources.err(at, "topology.workers: at least 1".into()));
                }
            }
            "topology.worker.curve.secretkey" | "topology.worker.curve.secretkey.file" => {
                if map.contains_key("topology.worker.curve.secretkey")
                    && map.contains_key("topology.worker.curve.secretkey.file")
                {
                    let msg = "give topology.worker.curve.secretkey or its .file, not both";
                    return Err(sources.err(at, msg.into()));
                }
                c.worker_curve = Some(worker_key(key, v, at, sources)?);
            }
            "topology.enable.message.timeouts" => {
                timeouts_enabled =
                    v.as_bool().ok_or_else(|| sources.err(at, format!("{key}: expected true or false")))?;
            }
            "topology.max.task.parallelism" => {
                c.max_task_parallelism = Some(uint()?);
                if c.max_task_parallelism == Some(0) {
                    return Err(sources.err(at, format!("{key}: at least 1")));
                }
            }
            "topology.max.error.report.per.interval" => {
                c.errors_logged_per_interval = u32::try_from(uint()?).unwrap_or(u32::MAX);
            }
            "topology.worker.timeout.secs" => {
                c.worker_timeout_secs = uint()? as u64;
                if c.worker_timeout_secs == 0 {
                    return Err(sources.err(at, format!("{key}: at least 1")));
                }
            }
            "topology.error.throttle.interval.secs" => c.error_interval_secs = uint()?.max(1) as u64,
            // Read by the multilang components (a property of their own beats them).
            "topology.subprocess.timeout.secs" | "topology.shellbolt.max.pending" => {
                uint()?;
            }
            "topology.multilang.serializer" if v.as_str() != Some(JSON_SERIALIZER) => {
                let msg = format!("{key}: only {JSON_SERIALIZER} (multilang speaks JSON here)");
                return Err(sources.err(at, msg));
            }
            "topology.multilang.serializer" => {}
            // Read by stateful bolts (`crate::state`); checked together below.
            "topology.state.provider"
            | "topology.state.provider.config"
            | "topology.state.checkpoint.interval.ms" => {}
            "topology.debug" => {
                c.debug =
                    v.as_bool().ok_or_else(|| sources.err(at, format!("{key}: expected true or false")))?;
            }
            k if STORM_ONLY_KEYS.contains(&k) => {
                let why =
                    format!("{k}: a Storm setting for the JVM, serialization or scheduling: ignored here");
                tracing::warn!("{}", sources.err(at, why));
            }
            k if STORM_TUNING_KEYS.contains(&k) => {
                let why = format!(
                    "{k}: tunes Storm's own queues and wait strategies, which libsock's replace: ignored here"
                );
                tracing::warn!("{}", sources.err(at, why));
            }
            // Read by `sockflow deploy` (resource requests).
            "deploy.cpu" | "deploy.memory" => {}
            // Storm's names: a misspelt one is an error, never silently ignored.
            other if other.starts_with("topology.") || other.starts_with("storm.") => {
                return Err(sources.err(at, format!("unsupported config key {other:?}")));
            }
            // Anything else is the topology's own setting, for its components to read.
            _ => {}
        }
        // The worker key stays out of what components (and multilang children) are given.
        if !key.starts_with("topology.worker.curve.secretkey") {
            c.conf.insert(key.clone(), super::refs::value(v));
        }
    }
    if !timeouts_enabled {
        c.message_timeout_secs = NO_MESSAGE_TIMEOUT_SECS;
    }
    state_config(&mut c, ats, sources)?;
    Ok(c)
}

/// Checks the `topology.state.*` keys (at the first one's line) and makes a relative state
/// directory relative to the topology file, as the stateful bolts will read it.
fn state_config(
    c: &mut TopologyConfig,
    ats: &BTreeMap<String, At>,
    sources: &Sources,
) -> Result<(), ConfigError> {
    let keys = [
        "topology.state.provider",
        "topology.state.provider.config",
        "topology.state.checkpoint.interval.ms",
    ];
    let Some(at) = keys.iter().find_map(|k| ats.get(*k).copied()) else { return Ok(()) };
    let file = sources.files.get(at.src).map_or("", |f| f.0.as_str());
    let base = std::path::Path::new(file).parent().unwrap_or(std::path::Path::new(""));
    let spec = StateSpec::from_conf(&c.conf, base).map_err(|e| sources.err(at, e))?;
    if let Some(dir) = spec.dir {
        let config = BTreeMap::from([("dir".to_owned(), Value::Str(dir.display().to_string()))]);
        c.conf.insert(keys[1].to_owned(), Value::Map(config));
    }
    Ok(())
}

/// The only `topology.multilang.serializer` there is here.
const JSON_SERIALIZER: &str = "org.apache.storm.multilang.JsonSerializer";

/// Storm's knobs for its Disruptor/JCTools queues, back-pressure and wait strategies: libsock's
/// bounded sockets do that work here, so they load with a warning.
const STORM_TUNING_KEYS: &[&str] = &[
    "topology.backpressure.enable",
    "topology.backpressure.wait.strategy",
    "topology.backpressure.check.millis",
    "topology.batch.flush.interval.millis",
    "topology.bolt.wait.strategy",
    "topology.bolts.outgoing.overflow.buffer.enable",
    "topology.disruptor.batch.size",
    "topology.disruptor.batch.timeout.millis",
    "topology.disruptor.wait.timeout.millis",
    "topology.executor.overflow.limit",
    "topology.executor.send.buffer.size",
    "topology.sleep.spout.wait.strategy.time.ms",
    "topology.spout.recvq.skips",
    "topology.spout.wait.strategy",
    "topology.transfer.buffer.size",
    "topology.tuple.serializer",
    "topology.worker.receiver.thread.count",
    "topology.worker.shared.thread.pool.size",
];

/// Keys of Storm's that mean nothing here (JVM options, Kryo serialization, Storm's
/// scheduler and resource-aware placement, its event logger and metrics consumers): a Flux
/// file written for Storm still loads, with a warning for each. Any other unknown key is an
/// error, so that a misspelt one is not silently ignored.
const STORM_ONLY_KEYS: &[&str] = &[
    "topology.worker.childopts",
    "topology.worker.gc.childopts",
    "topology.worker.logwriter.childopts",
    "topology.worker.max.heap.size.mb",
    "topology.classpath",
    "topology.environment",
    "topology.fall.back.on.java.serialization",
    "topology.kryo.register",
    "topology.kryo.decorators",
    "topology.kryo.factory",
    "topology.skip.missing.kryo.registrations",
    "topology.testing.always.try.serialize",
    "topology.component.resources.onheap.memory.mb",
    "topology.component.resources.offheap.memory.mb",
    "topology.component.cpu.pcore.percent",
    "topology.scheduler.strategy",
    "topology.priority",
    "topology.eventlogger.executors",
    "topology.metrics.consumer.register",
    "topology.builtin.metrics.bucket.size.secs",
];

/// The worker key from `topology.worker.curve.secretkey` (the key, normally `"${ENV-NAME}"`)
/// or `….file` (a path, relative to the topology file, holding the key: a mounted Secret).
fn worker_key(key: &str, v: &Yaml, at: At, sources: &Sources) -> Result<WorkerKey, ConfigError> {
    let err = |m: String| sources.err(at, format!("{key}: {m}"));
    // Z85 keys hold YAML indicators ('#', '{', '&', ...): only a quoted string is safe.
    let text = v.as_str().ok_or_else(|| err("expected a quoted string".into()))?;
    let secret = if key.ends_with(".file") {
        let file = sources.files.get(at.src).map_or("", |f| f.0.as_str());
        let path = std::path::Path::new(file).parent().unwrap_or(std::path::Path::new("")).join(text);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        // The key alone on a line, or a secret certificate (czmq's, pyzmq's NAME.key_secret).
        match libsock::parse_certificate(&text) {
            Ok((_, Some(secret))) => secret,
            Ok((_, None)) => {
                return Err(err(format!("{} is a public certificate: give the secret one", path.display())))
            }
            Err(_) => text,
        }
    } else {
        text.to_owned()
    };
    WorkerKey::from_secret(&secret).map_err(err)
}
