//! `className` → component: the built-ins, and whatever a user's own binary registers.
//!
//! ```
//! use dataflow::{Registry, components::Splitter, Basic};
//! let mut r = Registry::new();
//! r.register_bolt("MySplitter", |_props| Ok(std::sync::Arc::new(|| Box::new(Basic(Splitter::default())) as _)));
//! assert!(r.has_bolt("MySplitter"));
//! ```

mod builtins;
mod drpc;
mod security;
mod shell;
mod window;

pub use shell::{FLUX_SHELL_BOLT, FLUX_SHELL_SPOUT};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use builtins::{builtin_methods, builtin_objects, generator, socket_bolt, socket_spout};

use crate::component::Basic;
use crate::components::{Counter, Logger, Splitter, StatefulCounter};
use crate::grouping::CustomFactory;
use crate::state::{StateSpec, Stateful, StatefulBolt};
use crate::topology::{BoltFactory, SpoutFactory};
use crate::tuple::Value;
use crate::window::{Windowed, WindowedBolt};

/// A component's `properties`, by name, and the topology's conf (its `config:` section).
#[derive(Clone, Debug, Default)]
pub struct Properties {
    values: HashMap<String, Value>,
    conf: Arc<BTreeMap<String, Value>>,
    /// The directory of the file that set them: relative paths in them start there.
    base_dir: Option<Arc<std::path::Path>>,
}

impl Properties {
    /// Properties from (name, value) pairs (with an empty conf).
    pub fn new(values: impl IntoIterator<Item = (String, Value)>) -> Properties {
        Properties { values: values.into_iter().collect(), conf: Arc::default(), base_dir: None }
    }

    /// The same, their relative paths taken from `dir` (the topology file's directory).
    pub fn with_base_dir(self, dir: &std::path::Path) -> Properties {
        Properties { base_dir: Some(dir.into()), ..self }
    }

    /// A path a property names: relative to the topology file's directory when relative
    /// (and the properties came from a file), as is otherwise.
    pub fn path(&self, value: &str) -> std::path::PathBuf {
        match &self.base_dir {
            Some(dir) if std::path::Path::new(value).is_relative() => dir.join(value),
            _ => value.into(),
        }
    }

    /// The same, seeing `conf` as the topology's conf.
    pub fn with_conf(self, conf: Arc<BTreeMap<String, Value>>) -> Properties {
        Properties { conf, ..self }
    }

    /// The topology's conf ([`crate::TopologyConfig::conf`]): for settings a class takes
    /// from the topology unless its own properties say otherwise.
    pub fn conf(&self) -> &BTreeMap<String, Value> {
        &self.conf
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

    /// Sets (or replaces) a property: what a `configMethods` setter does.
    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    /// Appends to a list property (a text value becomes the list's first item); list
    /// arguments are flattened. `withConnect(a)` twice connects to both.
    pub fn append(&mut self, name: &str, values: &[Value]) {
        let mut list = match self.values.remove(name) {
            None => Vec::new(),
            Some(Value::List(l)) => l,
            Some(other) => vec![other],
        };
        for v in values {
            match v {
                Value::List(l) => list.extend(l.iter().cloned()),
                other => list.push(other.clone()),
            }
        }
        self.values.insert(name.to_owned(), Value::List(list));
    }

    /// Removes a property, returning its value.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.values.remove(name)
    }

    /// Fails on any property not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), String> {
        let mut names: Vec<_> = self.values.keys().filter(|k| !known.contains(&k.as_str())).collect();
        names.sort();
        match names.first() {
            None => Ok(()),
            Some(n) if *n == CONSTRUCTOR_ARGS => Err("this class takes no constructorArgs".into()),
            Some(n) => Err(format!("unknown property {n:?} (known: {})", known.join(", "))),
        }
    }
}

type SpoutMaker = Arc<dyn Fn(&Properties) -> Result<SpoutFactory, String> + Send + Sync>;
type BoltMaker = Arc<dyn Fn(&Properties) -> Result<BoltFactory, String> + Send + Sync>;
type GroupingMaker = Arc<dyn Fn(&Properties) -> Result<CustomFactory, String> + Send + Sync>;
type ObjectMaker = Arc<dyn Fn(&Properties) -> Result<Value, String> + Send + Sync>;

/// A `configMethods` entry's implementation: applies the call's arguments to the
/// component's properties before its class builds it (Flux calls the Java method instead).
pub type ConfigMethod = Arc<dyn Fn(&mut Properties, &[Value]) -> Result<(), String> + Send + Sync>;

/// Component classes by name.
#[derive(Clone)]
pub struct Registry {
    spouts: HashMap<String, SpoutMaker>,
    bolts: HashMap<String, BoltMaker>,
    groupings: HashMap<String, GroupingMaker>,
    objects: HashMap<String, ObjectMaker>,
    /// (class, method name) → setter.
    methods: HashMap<(String, String), ConfigMethod>,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

impl Registry {
    /// A registry with the built-ins: `SocketSpout`, `Generator`, `SocketBolt`, `Splitter`,
    /// `Counter`, `Logger`, the stateful `StatefulCounter`, the windowed `WindowCounter`, `WindowSum` and `JoinBolt` (also as
    /// `org.apache.storm.bolt.JoinBolt`), DRPC's `DRPCSpout` and `ReturnResults` (also by
    /// their `org.apache.storm.drpc.` names), and the object
    /// classes `Endpoint`, `Value`, `List`, `Map`, `Count`, `Duration`.
    pub fn new() -> Registry {
        let mut r = Registry {
            spouts: HashMap::new(),
            bolts: HashMap::new(),
            groupings: HashMap::new(),
            objects: HashMap::new(),
            methods: HashMap::new(),
        };
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
        r.register_stateful_bolt("StatefulCounter", |p| {
            p.only(&["field"])?;
            let c = StatefulCounter { field: p.str("field")? };
            Ok(Arc::new(move || Box::new(c.clone())))
        });
        r.register_bolt("Logger", |p| {
            p.only(&[])?;
            Ok(Arc::new(|| Box::new(Basic(Logger::default()))))
        });
        shell::register(&mut r);
        drpc::register(&mut r);
        builtin_methods(&mut r);
        builtin_objects(&mut r);
        window::objects(&mut r);
        window::builtins(&mut r);
        window::join(&mut r);
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

    /// Registers a windowed bolt class (a [`WindowedBolt`]): `make` checks the properties and
    /// returns the factory; the window comes from the entry's `configMethods`, as in Flux:
    /// `withWindow(length)` (sliding at every tuple), `withWindow(length, sliding)` and
    /// `withTumblingWindow(length)`, each argument a `ref` to a `components:` entry of class
    /// `Count` or `Duration` (or Storm's `org.apache.storm.topology.base.BaseWindowedBolt$Count`
    /// and `$Duration`) or a plain number of tuples.
    pub fn register_windowed_bolt<F>(&mut self, class: &str, make: F)
    where
        F: Fn(&Properties) -> Result<WindowedFactory, String> + Send + Sync + 'static,
    {
        let name = class.to_owned();
        self.register_bolt(class, move |p| {
            let mut p = p.clone();
            let window = p.take(WINDOW).ok_or_else(|| {
                format!("{name} is a windowed bolt: give it a window with configMethods withWindow or withTumblingWindow")
            })?;
            let spec = window::spec_of(&window)?;
            let make_bolt = make(&p)?;
            Ok(Arc::new(move || Box::new(Windowed::new(make_bolt(), spec.clone()))))
        });
        for (method, set) in window::methods() {
            self.methods.insert((class.to_owned(), method.to_owned()), set);
        }
    }

    /// Registers a stateful bolt class (a [`StatefulBolt`]): `make` checks the properties and
    /// returns the factory; where and how often its state is checkpointed comes from the
    /// topology's `topology.state.*` config (see [`crate::state`]).
    pub fn register_stateful_bolt<F>(&mut self, class: &str, make: F)
    where
        F: Fn(&Properties) -> Result<StatefulFactory, String> + Send + Sync + 'static,
    {
        self.register_bolt(class, move |p| {
            // The file loader made a relative state directory absolute.
            let spec = StateSpec::from_conf(p.conf(), std::path::Path::new(""))?;
            let make_bolt = make(p)?;
            Ok(Arc::new(move || Box::new(Stateful::new(make_bolt(), spec.clone()))))
        });
    }

    /// Registers a custom grouping class that takes no parameters.
    pub fn register_grouping(&mut self, class: &str, factory: CustomFactory) {
        self.register_grouping_with(class, move |p| {
            p.only(&[])?;
            Ok(factory.clone())
        });
    }

    /// Registers a custom grouping class built from the `customClass`'s `constructorArgs`
    /// (the property [`CONSTRUCTOR_ARGS`]), `properties` and `configMethods`.
    pub fn register_grouping_with<F>(&mut self, class: &str, make: F)
    where
        F: Fn(&Properties) -> Result<CustomFactory, String> + Send + Sync + 'static,
    {
        self.groupings.insert(class.to_owned(), Arc::new(make));
    }

    /// Registers a class for the file's `components:` section (Flux's beans): `make` turns
    /// the entry's `constructorArgs` (property [`CONSTRUCTOR_ARGS`]) and `properties` into the
    /// value a `ref` to it stands for.
    pub fn register_object<F>(&mut self, class: &str, make: F)
    where
        F: Fn(&Properties) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.objects.insert(class.to_owned(), Arc::new(make));
    }

    /// Registers `configMethods` entry `method` for `class` (a spout, bolt, grouping or
    /// object class): it edits the properties the class is then built from.
    pub fn register_config_method<F>(&mut self, class: &str, method: &str, set: F)
    where
        F: Fn(&mut Properties, &[Value]) -> Result<(), String> + Send + Sync + 'static,
    {
        self.methods.insert((class.to_owned(), method.to_owned()), Arc::new(set));
    }

    /// Whether an object class (for `components:`) exists.
    pub fn has_object(&self, class: &str) -> bool {
        self.objects.contains_key(class)
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

    pub(crate) fn grouping(&self, class: &str, p: &Properties) -> Option<Result<CustomFactory, String>> {
        self.groupings.get(class).map(|m| m(p))
    }

    pub(crate) fn object(&self, class: &str, p: &Properties) -> Option<Result<Value, String>> {
        self.objects.get(class).map(|m| m(p))
    }

    /// Object class names, for error messages.
    pub(crate) fn object_names(&self) -> String {
        let mut v: Vec<&str> = self.objects.keys().map(String::as_str).collect();
        v.sort_unstable();
        v.join(", ")
    }

    /// Applies a `configMethods` call to `props`; `Err(None)`: `class` has no such method.
    pub(crate) fn call_method(
        &self,
        class: &str,
        method: &str,
        props: &mut Properties,
        args: &[Value],
    ) -> Result<(), Option<String>> {
        let m = self.methods.get(&(class.to_owned(), method.to_owned())).ok_or(None)?;
        m(props, args).map_err(Some)
    }

    /// The `configMethods` of a class, for error messages.
    pub(crate) fn method_names(&self, class: &str) -> String {
        let mut v: Vec<&str> =
            self.methods.keys().filter(|(c, _)| c == class).map(|(_, m)| m.as_str()).collect();
        v.sort_unstable();
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
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

/// A windowed bolt's maker: builds a new instance for each task.
pub type WindowedFactory = Arc<dyn Fn() -> Box<dyn WindowedBolt> + Send + Sync>;

/// Makes a stateful bolt instance (one per task).
pub type StatefulFactory = Arc<dyn Fn() -> Box<dyn StatefulBolt> + Send + Sync>;

/// The property the window `configMethods` set (read and removed before the class's maker
/// sees the properties).
const WINDOW: &str = "__window";

/// The property holding a component's `constructorArgs` (a list).
pub const CONSTRUCTOR_ARGS: &str = "constructorArgs";
