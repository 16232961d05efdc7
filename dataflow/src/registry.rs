//! `className` → component: the built-ins, and whatever a user's own binary registers.
//!
//! ```
//! use dataflow::{Registry, components::Splitter, Basic};
//! let mut r = Registry::new();
//! r.register_bolt("MySplitter", |_props| Ok(std::sync::Arc::new(|| Box::new(Basic(Splitter::default())) as _)));
//! assert!(r.has_bolt("MySplitter"));
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use libsock::SocketType;

use crate::component::Basic;
use crate::components::{Counter, Generator, Logger, SocketBolt, SocketSpec, SocketSpout, Splitter};
use crate::grouping::CustomFactory;
use crate::topology::{BoltFactory, SpoutFactory};
use crate::tuple::Value;

/// A component's `properties`, by name.
#[derive(Clone, Debug, Default)]
pub struct Properties {
    values: HashMap<String, Value>,
}

impl Properties {
    /// Properties from (name, value) pairs.
    pub fn new(values: impl IntoIterator<Item = (String, Value)>) -> Properties {
        Properties { values: values.into_iter().collect() }
    }

    /// A raw value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// A text property.
    pub fn str(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("property {name:?}: expected text, got {other}")),
        }
    }

    /// A non-negative integer property.
    pub fn u64(&self, name: &str) -> Result<Option<u64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::I64(v)) if *v >= 0 => Ok(Some(*v as u64)),
            Some(other) => Err(format!("property {name:?}: expected a non-negative integer, got {other}")),
        }
    }

    /// A boolean property.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!("property {name:?}: expected true or false, got {other}")),
        }
    }

    /// A list of text (a single text counts as a one-element list).
    pub fn strs(&self, name: &str) -> Result<Vec<String>, String> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Str(s)) => Ok(vec![s.clone()]),
            Some(Value::List(l)) => l
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("property {name:?}: expected text, got {v}"))
                })
                .collect(),
            Some(other) => Err(format!("property {name:?}: expected a list of text, got {other}")),
        }
    }

    /// Fails on any property not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), String> {
        let mut names: Vec<_> = self.values.keys().filter(|k| !known.contains(&k.as_str())).collect();
        names.sort();
        match names.first() {
            None => Ok(()),
            Some(n) => Err(format!("unknown property {n:?} (known: {})", known.join(", "))),
        }
    }
}

type SpoutMaker = Arc<dyn Fn(&Properties) -> Result<SpoutFactory, String> + Send + Sync>;
type BoltMaker = Arc<dyn Fn(&Properties) -> Result<BoltFactory, String> + Send + Sync>;

/// Component classes by name.
#[derive(Clone)]
pub struct Registry {
    spouts: HashMap<String, SpoutMaker>,
    bolts: HashMap<String, BoltMaker>,
    groupings: HashMap<String, CustomFactory>,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

impl Registry {
    /// A registry with the built-ins: `SocketSpout`, `Generator`, `SocketBolt`, `Splitter`,
    /// `Counter`, `Logger`.
    pub fn new() -> Registry {
        let mut r = Registry { spouts: HashMap::new(), bolts: HashMap::new(), groupings: HashMap::new() };
        r.register_spout("SocketSpout", socket_spout);
        r.register_spout("Generator", generator);
        r.register_bolt("SocketBolt", socket_bolt);
        r.register_bolt("Splitter", |p| {
            p.only(&["lowercase"])?;
            let lowercase = p.bool("lowercase")?.unwrap_or(false);
            Ok(Arc::new(move || Box::new(Basic(Splitter { lowercase }))))
        });
        r.register_bolt("Counter", |p| {
            p.only(&["field", "passthrough"])?;
            let c = Counter {
                field: p.str("field")?,
                passthrough: p.bool("passthrough")?.unwrap_or(false),
                ..Counter::default()
            };
            Ok(Arc::new(move || Box::new(Basic(c.clone()))))
        });
        r.register_bolt("Logger", |p| {
            p.only(&[])?;
            Ok(Arc::new(|| Box::new(Basic(Logger::default()))))
        });
        r
    }

    /// Registers a spout class: `make` checks the properties and returns the factory.
    pub fn register_spout<F>(&mut self, class: &str, make: F)
    where
        F: Fn(&Properties) -> Result<SpoutFactory, String> + Send + Sync + 'static,
    {
        self.spouts.insert(class.to_owned(), Arc::new(make));
    }

    /// Registers a bolt class.
    pub fn register_bolt<F>(&mut self, class: &str, make: F)
    where
        F: Fn(&Properties) -> Result<BoltFactory, String> + Send + Sync + 'static,
    {
        self.bolts.insert(class.to_owned(), Arc::new(make));
    }

    /// Registers a custom grouping class.
    pub fn register_grouping(&mut self, class: &str, factory: CustomFactory) {
        self.groupings.insert(class.to_owned(), factory);
    }

    /// Whether a spout class exists.
    pub fn has_spout(&self, class: &str) -> bool {
        self.spouts.contains_key(class)
    }

    /// Whether a bolt class exists.
    pub fn has_bolt(&self, class: &str) -> bool {
        self.bolts.contains_key(class)
    }

    pub(crate) fn spout(&self, class: &str, p: &Properties) -> Option<Result<SpoutFactory, String>> {
        self.spouts.get(class).map(|m| m(p))
    }

    pub(crate) fn bolt(&self, class: &str, p: &Properties) -> Option<Result<BoltFactory, String>> {
        self.bolts.get(class).map(|m| m(p))
    }

    pub(crate) fn grouping(&self, class: &str) -> Option<CustomFactory> {
        self.groupings.get(class).cloned()
    }

    /// Every class name, for error messages.
    pub(crate) fn names(&self, spouts: bool) -> String {
        let mut v: Vec<&str> = if spouts {
            self.spouts.keys().map(String::as_str).collect()
        } else {
            self.bolts.keys().map(String::as_str).collect()
        };
        v.sort_unstable();
        v.join(", ")
    }
}

fn socket_spec(p: &Properties) -> Result<SocketSpec, String> {
    let kind = p.str("type")?.ok_or("property \"type\" (the socket type, e.g. pull) is required")?;
    let kind = SocketType::from_name(kind.to_uppercase().as_bytes())
        .ok_or_else(|| format!("unknown socket type {kind:?}"))?;
    let mut spec = SocketSpec::new(kind);
    spec.bind = p.strs("bind")?;
    spec.connect = p.strs("connect")?;
    spec.subscribe = p.strs("subscribe")?;
    if let Some(h) = p.u64("hwm")? {
        spec.hwm = i32::try_from(h).map_err(|_| "property \"hwm\": too large")?;
    }
    spec.validate()?;
    Ok(spec)
}

fn socket_spout(p: &Properties) -> Result<SpoutFactory, String> {
    p.only(&["type", "bind", "connect", "subscribe", "hwm", "fields", "reliable"])?;
    let spec = socket_spec(p)?;
    let mut fields = p.strs("fields")?;
    if fields.is_empty() {
        fields.push("message".into());
    }
    let reliable = p.bool("reliable")?.unwrap_or(true);
    Ok(Arc::new(move || Box::new(SocketSpout::new(spec.clone(), fields.clone(), reliable))))
}

fn socket_bolt(p: &Properties) -> Result<BoltFactory, String> {
    p.only(&["type", "bind", "connect", "hwm"])?;
    let spec = socket_spec(p)?;
    Ok(Arc::new(move || Box::new(Basic(SocketBolt::new(spec.clone())))))
}

fn generator(p: &Properties) -> Result<SpoutFactory, String> {
    p.only(&["sentences", "size", "count", "reliable"])?;
    let count = p.u64("count")?.unwrap_or(0);
    let sentences = p.strs("sentences")?;
    let g = if sentences.is_empty() {
        Generator::payload(p.u64("size")?.unwrap_or(100) as usize, count)
    } else {
        Generator::sentences(sentences, count)
    };
    let g = g.reliable(p.bool("reliable")?.unwrap_or(true));
    Ok(Arc::new(move || Box::new(g.clone())))
}
