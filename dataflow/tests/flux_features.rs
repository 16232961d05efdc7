//! Flux's `includes` (with `override`), `components` with `ref`/`reflist`, and
//! `configMethods`, mapped onto the registry; their errors carry the right file and line.
//! Also: socket components open their sockets on the embedding program's libsock context;
//! the file's `config:` (the topology's own settings too) reaches classes and tasks.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dataflow::config::{self, ConfigError, Substitution};
use dataflow::registry::{Properties, CONSTRUCTOR_ARGS};
use dataflow::{Basic, CustomGrouping, Registry, Value};

fn load(path: &Path, registry: &Registry) -> Result<dataflow::Topology, ConfigError> {
    config::load(path, &Substitution::default(), registry)
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const BASE: &str = "config:
  topology.max.spout.pending: 7
  topology.message.timeout.secs: 5
spouts:
  - id: gen
    className: Generator
    properties: [{name: sentences, value: [a b]}]
bolts:
  - id: split
    className: Splitter
streams:
  - {from: gen, to: split, grouping: {type: SHUFFLE}}
";

fn main_text(override_: bool) -> String {
    format!(
        "name: t
includes:
  - resource: false
    file: base.yaml
    override: {override_}
config:
  topology.max.spout.pending: 10
bolts:
  - id: split
    className: Splitter
    parallelism: 2
  - id: count
    className: Counter
streams:
  - {{from: split, to: count, grouping: {{type: FIELDS, args: [word]}}}}
"
    )
}

#[test]
fn includes_merge_with_flux_override_semantics() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base.yaml", BASE);
    let main = write(dir.path(), "main.yaml", &main_text(false));
    let t = load(&main, &Registry::new()).unwrap();
    // The including file wins; what only the include has is added.
    assert_eq!(t.name, "t");
    assert_eq!(t.config.max_spout_pending, Some(10));
    assert_eq!(t.config.message_timeout_secs, 5);
    let ids: Vec<&str> = t.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["gen", "split", "count"]);
    assert_eq!(t.components[1].parallelism, 2);
    assert_eq!(t.streams.len(), 2, "streams are appended");

    let main = write(dir.path(), "main.yaml", &main_text(true));
    let t = load(&main, &Registry::new()).unwrap();
    assert_eq!(t.config.max_spout_pending, Some(7), "override: true lets the include win");
    assert_eq!(t.components.iter().find(|c| c.id == "split").unwrap().parallelism, 1);
}

#[test]
fn include_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "main.yaml", &main_text(false));
    // A missing file: the including file's `includes` item.
    let e = load(&main, &Registry::new()).err().unwrap();
    assert_eq!((e.file.as_str(), e.line), (main.to_str().unwrap(), 3), "{e}");
    assert!(e.message.contains("base.yaml: cannot read"), "{e}");
    // An error inside the include: its own name and line.
    let base = write(dir.path(), "base.yaml", &BASE.replace("className: Generator", "className: Generatr"));
    let e = load(&main, &Registry::new()).err().unwrap();
    assert_eq!((e.file.as_str(), e.line), (base.to_str().unwrap(), 5), "{e}");
    assert!(e.message.contains("unknown className \"Generatr\""), "{e}");
    // (The include's `split` is not even built: the including file's wins.)
    write(dir.path(), "base.yaml", &BASE.replace("className: Splitter", "className: Spliter"));
    assert!(load(&main, &Registry::new()).is_ok());
    // A validation error (found after merging) in an included stream.
    write(dir.path(), "base.yaml", &BASE.replace("to: split", "to: splat"));
    let e = load(&main, &Registry::new()).err().unwrap();
    assert_eq!((e.file.as_str(), e.line), (base.to_str().unwrap(), 12), "{e}");
    assert!(e.message.contains("unknown component \"splat\""), "{e}");
    // A cycle.
    write(dir.path(), "base.yaml", &format!("includes: [{{file: main.yaml}}]\n{BASE}"));
    let e = load(&main, &Registry::new()).err().unwrap();
    assert_eq!((e.file.as_str(), e.line), (base.to_str().unwrap(), 1), "{e}");
    assert!(e.message.contains("include cycle"), "{e}");
}

/// A bolt class that records the properties it was built from.
fn probe_registry(seen: &Arc<Mutex<Vec<Properties>>>) -> Registry {
    let mut r = Registry::new();
    let s = seen.clone();
    r.register_bolt("Probe", move |p| {
        s.lock().unwrap().push(p.clone());
        Ok(Arc::new(|| Box::new(Basic(dataflow::components::Logger::default()))))
    });
    r.register_config_method("Probe", "withLineTerminator", |p, args| match args {
        [Value::Str(t)] => {
            p.set("terminator", Value::Str(t.clone()));
            Ok(())
        }
        _ => Err("expected one text argument".into()),
    });
    r
}

const REFS: &str = "name: refs
components:
  - id: endpoint
    className: Endpoint
    constructorArgs: [\"tcp://127.0.0.1:5555\"]
  - id: params
    className: Map
    properties:
      - {name: modulo, value: 3}
      - name: where
        ref: endpoint
    configMethods:
      - {name: put, args: [extra, true]}
spouts:
  - {id: gen, className: Generator, properties: [{name: sentences, value: [a b]}]}
bolts:
  - id: probe
    className: Probe
    constructorArgs: [{ref: endpoint}, {reflist: [endpoint, endpoint]}, 4]
    properties:
      - name: target
        ref: params
    configMethods:
      - name: withLineTerminator
        args: [\"\\r\\n\"]
streams:
  - {from: gen, to: probe, grouping: {type: SHUFFLE}}
";

fn parse(text: &str, registry: &Registry) -> Result<dataflow::Topology, ConfigError> {
    config::parse(text, "refs.yaml", &Substitution::default(), registry)
}

#[test]
fn components_refs_and_config_methods_reach_the_class() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    parse(REFS, &probe_registry(&seen)).unwrap();
    let p = seen.lock().unwrap().pop().expect("Probe was built");
    let ep = Value::Str("tcp://127.0.0.1:5555".into());
    let args = Value::List(vec![ep.clone(), Value::List(vec![ep.clone(), ep.clone()]), Value::I64(4)]);
    assert_eq!(p.get(CONSTRUCTOR_ARGS), Some(&args));
    let target: HashMap<String, Value> = match p.get("target") {
        Some(Value::Map(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(target.get("modulo"), Some(&Value::I64(3)));
    assert_eq!(target.get("where"), Some(&ep));
    assert_eq!(target.get("extra"), Some(&Value::Bool(true)), "Map's put configMethod");
    assert_eq!(p.get("terminator"), Some(&Value::Str("\r\n".into())));
}

#[track_caller]
fn error(text: &str, line: usize, needle: &str) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let e = parse(text, &probe_registry(&seen)).err().unwrap_or_else(|| panic!("accepted:\n{text}"));
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains(needle), "{e:?} lacks {needle:?}");
}

#[test]
fn bad_refs_and_methods_are_errors_at_their_line() {
    error(
        &REFS.replace("        ref: params", "        ref: parms"),
        22,
        "unknown ref \"parms\" (components: endpoint, params)",
    );
    error(&REFS.replace("{reflist: [endpoint,", "{reflist: [endpont,"), 19, "unknown ref \"endpont\"");
    error(
        &REFS.replace("name: withLineTerminator", "name: withLineEnd"),
        24,
        "unknown configMethod \"withLineEnd\" (known: withLineTerminator)",
    );
    error(
        &REFS.replace("args: [\"\\r\\n\"]", "args: [1]"),
        24,
        "configMethod withLineTerminator: expected one text",
    );
    error(
        &REFS.replace("{name: put, args: [extra, true]}", "{name: push, args: [1]}"),
        13,
        "unknown configMethod \"push\" (known: put)",
    );
    error(&REFS.replace("className: Endpoint", "className: Endpoit"), 3, "unknown className \"Endpoit\"");
    error(&REFS.replace("tcp://127.0.0.1:5555", "tcp://nowhere"), 3, "invalid endpoint");
    error(
        &REFS.replace("        ref: endpoint\n", "        ref: params\n"),
        11,
        "components ref cycle: params -> params",
    );
    error(
        &REFS.replace("        ref: params", "        ref: params\n        value: 1"),
        21,
        "exactly one of value or ref",
    );
    error(&REFS.replace("  - id: params", "  - id: endpoint"), 6, "duplicate components id");
    error(
        &REFS.replace(
            "{id: gen, className: Generator,",
            "{id: gen, className: Generator, constructorArgs: [1],",
        ),
        15,
        "takes no constructorArgs",
    );
}

/// Sends every tuple to the task `modulo` picks: its parameter comes from a `ref`.
struct Modulo(i64, Vec<u32>);

impl CustomGrouping for Modulo {
    fn prepare(&mut self, target_tasks: &[u32]) {
        self.1 = target_tasks.to_vec();
    }
    fn choose_tasks(&mut self, _values: &[Value], out: &mut Vec<u32>) {
        out.push(self.1[self.0 as usize % self.1.len()]);
    }
}

#[test]
fn a_custom_grouping_takes_its_parameters_from_a_component() {
    let mut r = Registry::new();
    let got = Arc::new(Mutex::new(None));
    let g = got.clone();
    r.register_grouping_with("Modulo", move |p| {
        p.only(&[CONSTRUCTOR_ARGS])?;
        let Some(Value::List(a)) = p.get(CONSTRUCTOR_ARGS) else {
            return Err("needs constructorArgs".into());
        };
        let Some(&Value::I64(m)) = a.first() else { return Err("constructorArgs: [modulo]".into()) };
        *g.lock().unwrap() = Some(m);
        Ok(Arc::new(move || Box::new(Modulo(m, Vec::new()))))
    });
    let text = "name: g
components:
  - {id: m, className: Value, constructorArgs: [5]}
spouts: [{id: gen, className: Generator}]
bolts: [{id: b, className: Logger, parallelism: 2}]
streams:
  - from: gen
    to: b
    grouping:
      type: CUSTOM
      customClass:
        className: Modulo
        constructorArgs: [{ref: m}]
";
    parse(text, &r).unwrap();
    assert_eq!(*got.lock().unwrap(), Some(5));
    let e = parse(&text.replace("{ref: m}", "{ref: n}"), &r).err().unwrap();
    assert_eq!(e.line, 13, "{e}");
    let e = parse(&text.replace("[{ref: m}]", "[x]"), &r).err().unwrap();
    assert!(e.message.contains("custom grouping Modulo: constructorArgs: [modulo]") && e.line == 7, "{e}");
}

#[test]
fn socket_components_use_the_programs_context_and_its_inproc_endpoints() {
    let ctx = libsock::Context::new();
    let push = ctx.socket(libsock::PUSH).unwrap();
    push.bind("inproc://flux-features-in").unwrap();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.bind("inproc://flux-features-out").unwrap();
    pull.set_rcvtimeo(10_000).unwrap();
    let text = "name: inproc
components:
  - {id: in, className: Endpoint, constructorArgs: [\"inproc://flux-features-in\"]}
spouts:
  - id: lines
    className: SocketSpout
    properties:
      - {name: type, value: pull}
      - {name: connect, ref: in}
    configMethods:
      - {name: withFields, args: [line]}
bolts:
  - {id: split, className: Splitter}
  - {id: count, className: Counter, parallelism: 2, configMethods: [{name: setField, args: [word]}]}
  - id: out
    className: SocketBolt
    configMethods:
      - {name: withType, args: [push]}
      - {name: withConnect, args: [\"inproc://flux-features-out\"]}
streams:
  - {from: lines, to: split, grouping: {type: SHUFFLE}}
  - {from: split, to: count, grouping: {type: FIELDS, args: [word]}}
  - {from: count, to: out, grouping: {type: SHUFFLE}}
";
    let mut topology = parse(text, &Registry::new()).unwrap();
    topology.context = Some(ctx.clone());
    let running = dataflow::start(&topology).unwrap();
    for _ in 0..50 {
        push.send("a b a", 0).unwrap();
    }
    let mut last: HashMap<String, i64> = HashMap::new();
    while last.get("a") != Some(&100) || last.get("b") != Some(&50) {
        let Ok(frames) = pull.recv_multipart(0) else { break };
        let word = String::from_utf8(frames[0].clone()).unwrap();
        let n: i64 = String::from_utf8(frames[1].clone()).unwrap().parse().unwrap();
        let e = last.entry(word).or_insert(0);
        *e = (*e).max(n);
    }
    assert!(running.shutdown(Duration::from_secs(10)));
    assert_eq!((last.get("a"), last.get("b")), (Some(&100), Some(&50)), "{last:?}");
    // The program's context is still usable after the topology stopped.
    assert!(ctx.socket(libsock::PAIR).is_ok());
}

#[test]
fn the_flux_example_loads_with_its_include() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/wordcount-flux.yaml");
    std::env::set_var("WC_IN_PORT", "5555");
    std::env::set_var("WC_OUT_PORT", "5556");
    let subst = Substitution { env: true, ..Substitution::default() };
    let t = config::load(&file, &subst, &Registry::new()).unwrap();
    let ids: Vec<&str> = t.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["lines", "out", "split", "count"]);
    assert_eq!(t.config.max_spout_pending, Some(5000));
    assert_eq!(t.streams.len(), 3);
}

/// Prefixes each word with `prefix` (from the topology's conf at `prepare`) and repeats it
/// `times` (a property, else the conf's `greeting.times` when the class is built).
struct Greeter {
    times: usize,
    prefix: String,
}

impl dataflow::BasicBolt for Greeter {
    fn declare_outputs(&self, d: &mut dataflow::OutputDeclarer) {
        d.declare(&["greeting"]);
    }
    fn prepare(&mut self, ctx: &dataflow::TaskContext) -> Result<(), String> {
        match ctx.conf.get("greeting.prefix") {
            Some(Value::Str(p)) => self.prefix = p.clone(),
            other => return Err(format!("greeting.prefix: expected text, got {other:?}")),
        }
        Ok(())
    }
    fn execute(
        &mut self,
        t: &dataflow::Tuple,
        c: &mut dataflow::BasicCollector<'_, '_>,
    ) -> Result<(), String> {
        let word = t.values[0].as_str().unwrap_or_default();
        c.emit(vec![Value::Str(format!("{}{word}", self.prefix).repeat(self.times))]);
        Ok(())
    }
}

#[test]
fn the_topologys_own_settings_reach_classes_and_tasks() {
    let mut registry = Registry::new();
    registry.register_bolt("Greeter", |p| {
        let times = match (p.u64("times")?, p.conf().get("greeting.times")) {
            (Some(n), _) => n as usize,
            (None, Some(Value::I64(n))) => *n as usize,
            (None, _) => 1,
        };
        Ok(Arc::new(move || Box::new(Basic(Greeter { times, prefix: String::new() }))))
    });
    let ctx = libsock::Context::new();
    let push = ctx.socket(libsock::PUSH).unwrap();
    push.bind("inproc://flux-conf-in").unwrap();
    let pull = ctx.socket(libsock::PULL).unwrap();
    pull.bind("inproc://flux-conf-out").unwrap();
    pull.set_rcvtimeo(10_000).unwrap();
    let text = "name: conf
config:
  greeting.prefix: \"hi \"
  greeting.times: 2
spouts:
  - id: words
    className: SocketSpout
    properties:
      - {name: type, value: pull}
      - {name: connect, value: \"inproc://flux-conf-in\"}
      - {name: fields, value: [word]}
bolts:
  - {id: greet, className: Greeter}
  - id: out
    className: SocketBolt
    properties:
      - {name: type, value: push}
      - {name: connect, value: \"inproc://flux-conf-out\"}
streams:
  - {from: words, to: greet, grouping: {type: SHUFFLE}}
  - {from: greet, to: out, grouping: {type: SHUFFLE}}
";
    let mut topology = parse(text, &registry).unwrap();
    topology.context = Some(ctx.clone());
    let running = dataflow::start(&topology).unwrap();
    push.send("bob", 0).unwrap();
    let got = pull.recv_bytes(0).map(|b| String::from_utf8(b).unwrap()).ok();
    running.shutdown(Duration::from_secs(2));
    assert_eq!(got.as_deref(), Some("hi bobhi bob"));

    // Without the setting, the bolt's prepare fails: the start fails with its reason.
    let mut topology = parse(&text.replace("  greeting.prefix: \"hi \"\n", ""), &registry).unwrap();
    topology.context = Some(ctx.clone());
    let e = dataflow::start(&topology).err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("bolt greet task 2: prepare failed: greeting.prefix: expected text, got None")
    );
}
