//! Flux's `components` (named objects), `ref`/`reflist` to them, and `configMethods`, mapped
//! onto the [`Registry`]: an object class turns its constructor arguments and properties into
//! a [`Value`] that each `ref` stands for; a config method is a registered setter that edits
//! the properties a class is built from.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_yaml::Value as Yaml;

use super::flux::{At, FluxMethod, FluxObject, FluxProperty, Sources};
use super::ConfigError;
use crate::registry::{Properties, Registry, CONSTRUCTOR_ARGS};
use crate::tuple::Value;

/// Resolves `ref`s to the file's `components`, each built once, in any order.
pub(super) struct Resolver<'a> {
    registry: &'a Registry,
    sources: &'a Sources,
    objects: HashMap<&'a str, &'a FluxObject>,
    /// The topology's conf, handed to every class with its properties.
    conf: Arc<BTreeMap<String, Value>>,
    built: HashMap<String, Value>,
    /// Ids being built (to report ref cycles).
    stack: Vec<String>,
}

/// What a component's `properties`, `constructorArgs` and `configMethods` say.
pub(super) struct Spec<'a> {
    /// "spout \"id\"" and the like, for messages.
    pub what: String,
    pub class: &'a str,
    pub constructor_args: Option<&'a [Yaml]>,
    pub properties: &'a [FluxProperty],
    pub methods: &'a [FluxMethod],
    pub at: At,
}

impl<'a> Resolver<'a> {
    /// Checks the ids of `objects`; builds nothing yet.
    pub fn new(
        registry: &'a Registry,
        sources: &'a Sources,
        objects: &'a [FluxObject],
        conf: Arc<BTreeMap<String, Value>>,
    ) -> Result<Resolver<'a>, ConfigError> {
        let mut map = HashMap::new();
        for o in objects {
            if o.id.is_empty() {
                return Err(sources.err(o.at, "a components entry needs an id".into()));
            }
            if map.insert(o.id.as_str(), o).is_some() {
                return Err(sources.err(o.at, format!("duplicate components id {:?}", o.id)));
            }
        }
        Ok(Resolver { registry, sources, objects: map, conf, built: HashMap::new(), stack: Vec::new() })
    }

    /// Builds every object (so that errors in unused ones are reported too, as Flux does).
    pub fn build_all(&mut self, objects: &'a [FluxObject]) -> Result<(), ConfigError> {
        for o in objects {
            self.object(&o.id, o.at)?;
        }
        Ok(())
    }

    /// The value of object `id`, referenced at `at`.
    fn object(&mut self, id: &str, at: At) -> Result<Value, ConfigError> {
        if let Some(v) = self.built.get(id) {
            return Ok(v.clone());
        }
        let Some(&o) = self.objects.get(id) else {
            let mut known: Vec<&str> = self.objects.keys().copied().collect();
            known.sort_unstable();
            let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
            return Err(self.sources.err(at, format!("unknown ref {id:?} (components: {known})")));
        };
        if self.stack.iter().any(|s| s == id) {
            let cycle = format!("{} -> {id}", self.stack.join(" -> "));
            return Err(self.sources.err(at, format!("components ref cycle: {cycle}")));
        }
        self.stack.push(id.to_owned());
        let spec = Spec {
            what: format!("component {id:?}"),
            class: &o.class_name,
            constructor_args: o.constructor_args.as_deref(),
            properties: &o.properties,
            methods: &o.config_methods,
            at: o.at,
        };
        let props = self.properties(&spec)?;
        let value = match self.registry.object(&o.class_name, &props) {
            None => {
                let msg = format!(
                    "component {id:?}: unknown className {:?} (known: {})",
                    o.class_name,
                    self.registry.object_names()
                );
                return Err(self.sources.err(o.at, msg));
            }
            Some(Err(e)) => {
                return Err(self.sources.err(o.at, format!("component {id:?} ({}): {e}", o.class_name)))
            }
            Some(Ok(v)) => v,
        };
        self.stack.pop();
        self.built.insert(id.to_owned(), value.clone());
        Ok(value)
    }

    /// The properties a class is built from: `properties` (values or refs), the constructor
    /// arguments as property [`CONSTRUCTOR_ARGS`], then each config method applied in order.
    pub fn properties(&mut self, spec: &Spec<'_>) -> Result<Properties, ConfigError> {
        let mut props = Vec::new();
        for p in spec.properties {
            let here = self.sources.find_from(spec.at, &["name", &p.name]);
            let v = match (&p.value, &p.reference) {
                (Some(v), None) => self.arg(v, here)?,
                (None, Some(r)) => self.object(r, self.sources.find_from(here, &["ref", r]))?,
                _ => {
                    let msg =
                        format!("{}: property {:?} needs exactly one of value or ref", spec.what, p.name);
                    return Err(self.sources.err(here, msg));
                }
            };
            props.push((p.name.clone(), v));
        }
        if let Some(args) = spec.constructor_args {
            let here = self.sources.find_from(spec.at, &["constructorArgs"]);
            let args = args.iter().map(|a| self.arg(a, here)).collect::<Result<_, _>>()?;
            props.push((CONSTRUCTOR_ARGS.to_owned(), Value::List(args)));
        }
        let file = self.sources.files.get(spec.at.src).map_or("", |f| f.0.as_str());
        let dir = std::path::Path::new(file).parent().unwrap_or(std::path::Path::new(""));
        let mut props = Properties::new(props).with_conf(self.conf.clone()).with_base_dir(dir);
        for m in spec.methods {
            let here = self.sources.find_from(spec.at, &["name", &m.name]);
            let args: Vec<Value> = m.args.iter().map(|a| self.arg(a, here)).collect::<Result<_, _>>()?;
            match self.registry.call_method(spec.class, &m.name, &mut props, &args) {
                Ok(()) => {}
                Err(None) => {
                    let msg = format!(
                        "{} ({}): unknown configMethod {:?} (known: {})",
                        spec.what,
                        spec.class,
                        m.name,
                        self.registry.method_names(spec.class)
                    );
                    return Err(self.sources.err(here, msg));
                }
                Err(Some(e)) => {
                    let msg = format!("{} ({}): configMethod {}: {e}", spec.what, spec.class, m.name);
                    return Err(self.sources.err(here, msg));
                }
            }
        }
        Ok(props)
    }

    /// A constructor or method argument: `{ref: id}` and `{reflist: [ids]}` stand for
    /// objects; anything else is a literal value.
    fn arg(&mut self, y: &Yaml, at: At) -> Result<Value, ConfigError> {
        if let Yaml::Mapping(m) = y {
            if m.len() == 1 {
                if let Some(Yaml::String(id)) = m.get("ref") {
                    return self.object(id, self.sources.find_from(at, &["ref", id]));
                }
                if let Some(Yaml::Sequence(ids)) = m.get("reflist") {
                    let mut out = Vec::new();
                    for id in ids {
                        let Some(id) = id.as_str() else {
                            return Err(self.sources.err(at, "reflist: expected component ids".into()));
                        };
                        out.push(self.object(id, self.sources.find_from(at, &[id]))?);
                    }
                    return Ok(Value::List(out));
                }
            }
        }
        if let Yaml::Sequence(s) = y {
            return Ok(Value::List(s.iter().map(|v| self.arg(v, at)).collect::<Result<_, _>>()?));
        }
        Ok(value(y))
    }
}

/// A YAML value as a tuple [`Value`].
pub(super) fn value(y: &Yaml) -> Value {
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
