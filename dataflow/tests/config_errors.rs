//! Every kind of topology file error is reported with its line and a clear message, before
//! anything runs.

use dataflow::config::{self, ConfigError, Substitution};
use dataflow::Registry;

const GOOD: &str = "name: t
config:
  topology.max.spout.pending: 10
spouts:
  - id: gen
    className: Generator
    properties:
      - name: sentences
        value: [a b]
bolts:
  - id: split
    className: Splitter
  - id: count
    className: Counter
streams:
  - from: gen
    to: split
    grouping:
      type: SHUFFLE
  - from: split
    to: count
    grouping:
      type: FIELDS
      args: [word]
";

fn parse(text: &str) -> Result<dataflow::Topology, ConfigError> {
    config::parse(text, "t.yaml", &Substitution::default(), &Registry::new())
}

#[track_caller]
fn error(text: &str, line: usize, needle: &str) {
    let e = parse(text).err().unwrap_or_else(|| panic!("accepted:\n{text}"));
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains(needle), "{e:?} lacks {needle:?}");
    assert!(e.to_string().starts_with(&format!("t.yaml:{line}: ")), "{e}");
}

#[test]
fn the_good_file_parses() {
    let t = parse(GOOD).unwrap();
    assert_eq!(t.components.len(), 3);
    assert_eq!(t.config.max_spout_pending, Some(10));
}

#[test]
fn yaml_syntax_errors() {
    error(&GOOD.replace("  - id: split", "  - id: [split"), 11, "");
}

#[test]
fn unknown_and_missing_fields() {
    error(
        &GOOD.replace("    className: Splitter", "    className: Splitter\n    parallelizm: 2"),
        13,
        "unknown field `parallelizm`",
    );
    error(&GOOD.replacen("name: t\n", "", 1), 1, "missing field `name`");
    error(&GOOD.replace("    className: Counter\n", ""), 13, "missing field `className`");
}

#[test]
fn type_errors() {
    error(
        &GOOD.replace("    className: Splitter", "    className: Splitter\n    parallelism: two"),
        13,
        "invalid type",
    );
    error(
        &GOOD.replace("topology.max.spout.pending: 10", "topology.max.spout.pending: lots"),
        3,
        "non-negative integer",
    );
    error(&GOOD.replace("value: [a b]", "value: 3"), 5, "expected a list of text");
}

#[test]
fn unknown_classes_and_bad_properties() {
    error(&GOOD.replace("className: Splitter", "className: Spliter"), 11, "unknown className \"Spliter\"");
    error(&GOOD.replace("className: Generator", "className: Splitter"), 5, "unknown className");
    error(&GOOD.replace("name: sentences", "name: sentence"), 5, "unknown property \"sentence\"");
    let socket = GOOD.replace(
        "    className: Generator\n    properties:\n      - name: sentences\n        value: [a b]",
        "    className: SocketSpout\n    properties:\n      - name: type\n        value: pull",
    );
    error(&socket, 5, "at least one `bind` or `connect`");
    error(&socket.replace("value: pull", "value: pul"), 5, "unknown socket type");
    let bad_ep = socket
        .replace("        value: pull", "        value: pull\n      - name: bind\n        value: tcp://nope");
    error(&bad_ep, 5, "invalid endpoint");
}

#[test]
fn socket_security_errors_name_the_component_line() {
    let spout = |props: &str| {
        GOOD.replace(
            "    className: Generator\n    properties:\n      - name: sentences\n        value: [a b]\n",
            &format!(
                "    className: SocketSpout\n    properties:\n      - {{name: type, value: pull}}\n      \
                 - {{name: bind, value: \"tcp://127.0.0.1:5555\"}}\n{props}"
            ),
        )
    };
    let secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    let server = format!(
        "      - {{name: curveServer, value: true}}\n      - {{name: curveSecretKey, value: \"{secret}\"}}\n"
    );
    assert!(parse(&spout(&server)).is_ok(), "{:?}", parse(&spout(&server)).err());
    error(&spout("      - {name: curveServer, value: true}\n"), 5, "curveServer needs curveSecretKey");
    error(&spout(&server.replace(secret, "tooshort")), 5, "not a Z85 secret key");
    error(
        &spout(&format!("{server}      - {{name: plainServer, value: true}}\n")),
        5,
        "curveServer and plainServer cannot be used together",
    );
    error(
        &spout("      - {name: plainServer, value: true}\n"),
        5,
        "a PLAIN server needs at least one account",
    );
    error(
        &spout(&format!("{server}      - {{name: curveClientKeys, value: [\"nope\"]}}\n")),
        5,
        "property \"curveClientKeys\": \"nope\"",
    );
    error(
        &spout(&server).replace("tcp://127.0.0.1:5555", "inproc://in"),
        5,
        "inproc:// has no security mechanism",
    );
    error(
        &spout(&format!("{server}      - {{name: userIdField, value: message}}\n")),
        5,
        "property \"userIdField\": a name of its own",
    );
    // The secret is never in a message.
    let e = parse(&spout(&format!("{server}      - {{name: plainUsername, value: u}}\n"))).err().unwrap();
    assert!(e.message.contains("curveServer and plainUsername") && !e.message.contains(secret), "{e}");
}

#[test]
fn wss_files_that_do_not_read_name_the_component_line_and_the_file() {
    let spout = |props: &str| {
        GOOD.replace(
            "    className: Generator\n    properties:\n      - name: sentences\n        value: [a b]\n",
            &format!(
                "    className: SocketSpout\n    properties:\n      - {{name: type, value: pull}}\n      \
                 - {{name: bind, value: \"wss://127.0.0.1:5555/in\"}}\n{props}"
            ),
        )
    };
    let wss = format!("{}/../libsock/tests/data/wss", env!("CARGO_MANIFEST_DIR"));
    let good = format!(
        "      - {{name: wssCert, value: {wss}/server_chain.pem}}\n      - {{name: wssKey, value: {wss}/server.key}}\n"
    );
    assert!(parse(&spout(&good)).is_ok(), "{:?}", parse(&spout(&good)).err());
    error(
        &spout(&good.replace("server_chain.pem", "nope.pem")),
        5,
        &format!("property \"wssCert\" {wss}/nope.pem: cannot read it: "),
    );
    error(&spout(&good.replace("server.key", "ca.pem")), 5, "ca.pem: no PEM private key in it");
    error(&spout(""), 5, "wss://127.0.0.1:5555/in: a wss:// bind needs wssCert and wssKey");
}

#[test]
fn bad_streams_and_groupings() {
    error(&GOOD.replace("type: SHUFFLE", "type: SHUFLE"), 16, "unknown grouping type \"SHUFLE\"");
    error(&GOOD.replace("  - from: gen", "  - from: generator"), 16, "unknown component \"generator\"");
    error(&GOOD.replace("    to: split", "    to: gen"), 16, "which is a spout");
    error(&GOOD.replace("args: [word]", "args: [words]"), 20, "missing field \"words\"");
    error(
        &GOOD.replace("type: SHUFFLE", "type: SHUFFLE\n      streamId: other"),
        16,
        "declares no stream \"other\"",
    );
    error(&GOOD.replace("type: SHUFFLE", "type: DIRECT"), 16, "not declared direct");
    error(&GOOD.replace("type: SHUFFLE", "type: SHUFFLE\n      args: [x]"), 16, "takes no fields");
    error(
        &GOOD.replace("type: SHUFFLE", "type: CUSTOM\n      customClass: {className: Nope}"),
        16,
        "unknown custom grouping",
    );
}

#[test]
fn cycles_and_duplicates() {
    let cycle = format!("{GOOD}  - from: count\n    to: split\n    grouping:\n      type: SHUFFLE\n");
    error(&cycle, 25, "cycle: split -> count -> split");
    error(&GOOD.replace("  - id: count", "  - id: split"), 13, "duplicate component id");
    error(
        &GOOD.replace("    className: Counter", "    className: Counter\n    parallelism: 0"),
        13,
        "parallelism",
    );
}

#[test]
fn config_keys_and_substitution() {
    error(
        &GOOD.replace("topology.max.spout.pending: 10", "topology.max.spout.pendin: 10"),
        3,
        "unsupported config key",
    );
    let acker_cap =
        |v: &str| GOOD.replace("topology.max.spout.pending: 10", &format!("topology.acker.max.pending: {v}"));
    error(&acker_cap("0"), 3, "topology.acker.max.pending: at least 1");
    error(&acker_cap("-5"), 3, "topology.acker.max.pending: expected a non-negative integer");
    error(&acker_cap("lots"), 3, "expected a non-negative integer");
    error(&GOOD.replace("value: [a b]", "value: [\"${ENV-DATAFLOW_SURELY_UNSET}\"]"), 9, "needs -e");
    let Err(e) = config::parse(
        &GOOD.replace("value: [a b]", "value: [\"${ENV-DATAFLOW_SURELY_UNSET}\"]"),
        "t.yaml",
        &Substitution { env: true, ..Substitution::default() },
        &Registry::new(),
    ) else {
        panic!("accepted")
    };
    assert_eq!((e.line, e.message.contains("DATAFLOW_SURELY_UNSET is not set")), (9, true), "{e}");
    error(&GOOD.replace("value: [a b]", "value: [\"${sentence}\"]"), 9, "needs --filter");
}

#[test]
fn the_acker_cap_is_set_or_follows_the_spouts_allowance() {
    let t = parse(GOOD).unwrap();
    assert_eq!(t.config.acker_max_pending, None);
    assert_eq!(t.config.acker_pending_cap(1), dataflow::topology::DEFAULT_ACKER_MAX_PENDING);
    let mut c = t.config.clone();
    c.max_spout_pending = Some(100_000);
    assert_eq!(c.acker_pending_cap(8), 1_600_000, "twice what 8 spout tasks may have in flight");
    let set = GOOD.replace(
        "topology.max.spout.pending: 10",
        "topology.max.spout.pending: 100000\n  topology.acker.max.pending: 5000",
    );
    let t = parse(&set).unwrap();
    assert_eq!((t.config.acker_max_pending, t.config.acker_pending_cap(8)), (Some(5000), 5000));
}

#[test]
fn filter_files_supply_properties() {
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("t.properties");
    std::fs::write(&props, "# sentences\nsentence = hello world\n").unwrap();
    let mut subst = Substitution::default();
    subst.read_properties(&props).unwrap();
    let text = GOOD.replace("value: [a b]", "value: [\"${sentence}\"]");
    assert!(config::parse(&text, "t.yaml", &subst, &Registry::new()).is_ok());
    std::fs::write(&props, "no separator here\n").unwrap();
    assert!(subst.read_properties(&props).unwrap_err().contains("t.properties:1:"));
}

#[test]
fn the_readme_example_parses() {
    let text = include_str!("../examples/wordcount.yaml");
    let mut subst = Substitution::default();
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("ports.properties");
    std::fs::write(&props, "p=1\n").unwrap();
    subst.read_properties(&props).unwrap();
    let text = text.replace("${ENV-WC_IN_PORT}", "5555").replace("${ENV-WC_OUT_PORT}", "5556");
    let t = config::parse(&text, "wordcount.yaml", &subst, &Registry::new()).unwrap();
    assert_eq!(t.components.len(), 4);
    assert_eq!(t.config.max_spout_pending, Some(5000));
}

#[test]
fn storms_own_keys_load_and_timeouts_can_be_turned_off() {
    let with = |line: &str| GOOD.replace("topology.max.spout.pending: 10", line);
    // Storm's JVM and serialization settings mean nothing here: ignored (with a warning).
    let t = parse(&with("topology.worker.childopts: \"-Xmx2g\"\n  topology.kryo.register: [a.B]")).unwrap();
    assert_eq!(t.config.message_timeout_secs, 30);
    // Storm's switch for message timeouts.
    let t = parse(&with("topology.enable.message.timeouts: false")).unwrap();
    assert_eq!(t.config.message_timeout_secs, dataflow::topology::NO_MESSAGE_TIMEOUT_SECS);
    let t =
        parse(&with("topology.enable.message.timeouts: true\n  topology.message.timeout.secs: 7")).unwrap();
    assert_eq!(t.config.message_timeout_secs, 7);
    error(&with("topology.enable.message.timeouts: sometimes"), 3, "expected true or false");
    // A misspelt key is still an error.
    error(&with("topology.worker.childopt: x"), 3, "unsupported config key");
}

#[test]
fn storms_other_keys_and_the_topologys_own_settings() {
    use dataflow::Value;
    let with = |line: &str| GOOD.replace("topology.max.spout.pending: 10", line);
    // Your own keys (outside Storm's names) are the components' conf, as given; Storm's keys
    // are there too; the worker key is not.
    let key = dataflow::WorkerKey::generate();
    let t = parse(&with(&format!(
        "app.words: [a, b]\n  app.limit: 3\n  topology.message.timeout.secs: 9\n  \
         topology.worker.curve.secretkey: '{}'",
        key.secret()
    )))
    .unwrap();
    assert!(t.config.worker_curve.is_some());
    let conf = &t.config.conf;
    assert_eq!(
        conf.get("app.words"),
        Some(&Value::List(vec![Value::Str("a".into()), Value::Str("b".into())]))
    );
    assert_eq!(conf.get("app.limit"), Some(&Value::I64(3)));
    assert_eq!(conf.get("topology.message.timeout.secs"), Some(&Value::I64(9)));
    assert_eq!(conf.len(), 3);
    // A Storm name nobody knows is still a misspelling.
    error(&with("topology.max.spout.pendng: 3"), 3, "unsupported config key");
    error(&with("storm.messaging.transportt: x"), 3, "unsupported config key");

    // `topology.max.task.parallelism` bounds every component's executors and tasks.
    let text = with("topology.max.task.parallelism: 2").replace(
        "  - id: split\n    className: Splitter\n",
        "  - id: split\n    className: Splitter\n    parallelism: 4\n    numTasks: 8\n",
    );
    let t = parse(&text).unwrap();
    let plan = dataflow::Plan::new(&t);
    let split = plan.components.iter().find(|c| &*c.id == "split").unwrap();
    assert_eq!(split.tasks.len(), 2);
    assert_eq!(plan.executors.iter().filter(|e| plan.components[e.component].id == split.id).count(), 2);
    error(&with("topology.max.task.parallelism: 0"), 3, "at least 1");

    // How long an executor may be silent before the worker reports itself unhealthy.
    assert_eq!(parse(&with("topology.worker.timeout.secs: 7")).unwrap().config.worker_timeout_secs, 7);
    assert_eq!(parse(&with("app.x: 1")).unwrap().config.worker_timeout_secs, 30, "Storm's default");
    error(&with("topology.worker.timeout.secs: 0"), 3, "topology.worker.timeout.secs: at least 1");
    error(&with("topology.worker.timeout.secs: soon"), 3, "expected a non-negative integer");

    // The error throttle, Storm 2's batch size, and the multilang settings.
    let t = parse(&with(
        "topology.max.error.report.per.interval: 2\n  topology.error.throttle.interval.secs: 60\n  \
         topology.producer.batch.size: 16\n  topology.subprocess.timeout.secs: 5\n  \
         topology.shellbolt.max.pending: 7\n  \
         topology.multilang.serializer: org.apache.storm.multilang.JsonSerializer",
    ))
    .unwrap();
    assert_eq!((t.config.errors_logged_per_interval, t.config.error_interval_secs), (2, 60));
    assert_eq!(t.config.batch_size, 16);
    error(
        &with("topology.multilang.serializer: my.MsgPack"),
        3,
        "only org.apache.storm.multilang.JsonSerializer",
    );
    error(&with("topology.shellbolt.max.pending: lots"), 3, "non-negative integer");

    // Storm's queue and wait-strategy knobs load (with a warning): libsock's sockets do that.
    let t = parse(&with("topology.backpressure.enable: false\n  topology.executor.send.buffer.size: 1024"));
    assert!(t.is_ok(), "{:?}", t.err());
}

#[test]
fn command_line_config_overrides_the_files() {
    let parse_with = |options: &[&str]| {
        let subst = Substitution {
            config_overrides: options.iter().map(|o| o.to_string()).collect(),
            ..Substitution::default()
        };
        config::parse(GOOD, "t.yaml", &subst, &Registry::new())
    };
    let t = parse_with(&[
        "topology.max.spout.pending=500",
        "app.words=[a, b]",
        "app.name=[v2",
        "topology.debug=true",
    ])
    .unwrap();
    assert_eq!(t.config.max_spout_pending, Some(500), "the option beats the file");
    assert!(t.config.debug);
    let words =
        dataflow::Value::List(vec![dataflow::Value::Str("a".into()), dataflow::Value::Str("b".into())]);
    assert_eq!(t.config.conf.get("app.words"), Some(&words));
    assert_eq!(
        t.config.conf.get("app.name"),
        Some(&dataflow::Value::Str("[v2".into())),
        "text when not YAML"
    );
    // Errors name the option by its rank.
    let e = parse_with(&["topology.debug=true", "topology.workers=many"]).err().unwrap();
    assert_eq!(e.to_string(), "command line (-c):2: topology.workers: expected a non-negative integer");
    let e = parse_with(&["topology.debug"]).err().unwrap();
    assert_eq!(e.to_string(), "command line (-c):1: \"topology.debug\": expected KEY=VALUE");
    let e = parse_with(&["topology.max.spout.pendng=3"]).err().unwrap();
    assert!(e.to_string().starts_with("command line (-c):1: unsupported config key"), "{e}");
}

#[test]
fn socket_components_that_would_bind_one_endpoint_twice_are_errors() {
    let sink = |parallelism: usize, endpoint: &str| {
        GOOD.replace(
            "streams:\n",
            &format!(
            "  - id: out\n    className: SocketBolt\n    parallelism: {parallelism}\n    properties:\n      \
             - {{name: type, value: push}}\n      - {{name: bind, value: \"{endpoint}\"}}\nstreams:\n"
        ),
        )
    };
    assert!(parse(&sink(1, "tcp://127.0.0.1:5556")).is_ok());
    error(
        &sink(2, "tcp://127.0.0.1:5556"),
        15,
        "2 tasks in one process would each bind tcp://127.0.0.1:5556",
    );
    error(&sink(3, "ipc:///tmp/out"), 15, "use connect, or parallelism 1");
    // A port the system picks is a different endpoint for each task.
    assert!(parse(&sink(2, "tcp://127.0.0.1:*")).is_ok());
    // Several workers may be on several hosts, each binding its own.
    let spread = sink(2, "tcp://0.0.0.0:5556").replace("config:\n", "config:\n  topology.workers: 2\n");
    assert!(parse(&spread).is_ok(), "{:?}", parse(&spread).err());
    let spout = GOOD.replace(
        "    className: Generator\n    properties:\n      - name: sentences\n        value: [a b]\n",
        "    className: SocketSpout\n    parallelism: 2\n    properties:\n      - {name: type, value: pull}\n      \
         - {name: bind, value: \"tcp://127.0.0.1:5555\"}\n      - {name: fields, value: [line]}\n",
    );
    error(&spout, 5, "2 tasks in one process would each bind tcp://127.0.0.1:5555");
}

#[test]
fn a_spout_takes_its_own_max_pending_in_its_config() {
    let own = GOOD.replace(
        "    className: Generator\n",
        "    className: Generator\n    config: {topology.max.spout.pending: 3}\n",
    );
    let t = parse(&own).unwrap();
    assert_eq!(t.components[0].max_spout_pending, Some(3));
    let plan = dataflow::Plan::new(&t).to_string();
    assert!(plan.contains("spout gen: tasks [1], max pending 3 a task"), "{plan}");
    error(&own.replace("pending: 3}", "pending: 0}"), 7, "max spout pending must be a positive integer");
    let bolt = GOOD.replace(
        "    className: Splitter\n",
        "    className: Splitter\n    config: {topology.max.spout.pending: 3}\n",
    );
    error(&bolt, 13, "topology.max.spout.pending is a spout's");
}
