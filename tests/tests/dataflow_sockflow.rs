//! End to end across crates and processes: a libzmq PUSH feeds the `sockflow` command running
//! a Flux YAML word count (with an included file, a `components` endpoint referenced by the
//! spout, and `configMethods` on the sink), and a libzmq PULL reads the counts. The command
//! is then stopped with SIGTERM and must exit cleanly.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INCLUDED: &str = "config:
  topology.max.spout.pending: 500
bolts:
  - {id: split, className: Splitter, parallelism: 2, properties: [{name: lowercase, value: true}]}
  - {id: count, className: Counter, parallelism: 2, properties: [{name: field, value: word}]}
";

fn topology(input: &str, output: &str) -> String {
    format!(
        "name: e2e
includes:
  - {{file: bolts.yaml}}
components:
  - {{id: input, className: Endpoint, constructorArgs: [\"{input}\"]}}
spouts:
  - id: lines
    className: SocketSpout
    properties:
      - {{name: type, value: pull}}
      - {{name: connect, ref: input}}
      - {{name: fields, value: [line]}}
bolts:
  - id: out
    className: SocketBolt
    configMethods:
      - {{name: withType, args: [push]}}
      - {{name: withConnect, args: [\"{output}\"]}}
streams:
  - {{from: lines, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: count, grouping: {{type: FIELDS, args: [word]}}}}
  - {{from: count, to: out, grouping: {{type: SHUFFLE}}}}
"
    )
}

#[test]
fn libzmq_push_to_sockflow_with_a_yaml_file_to_libzmq_pull() {
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    let input = push.get_last_endpoint().unwrap().unwrap();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let output = pull.get_last_endpoint().unwrap().unwrap();
    pull.set_rcvtimeo(1000).unwrap();

    let dir = std::env::temp_dir().join(format!("sockflow-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bolts.yaml"), INCLUDED).unwrap();
    let file = dir.join("wc.yaml");
    std::fs::write(&file, topology(&input, &output)).unwrap();

    let check = Command::new(env!("CARGO_BIN_EXE_tests-sockflow")).arg("check").arg(&file).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("bolt count"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_tests-sockflow"))
        .args(["run", "--print-every", "0"])
        .arg(&file)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let n = 300;
    for i in 0..n {
        // Blocks until the spout's PULL has connected, then queues.
        push.send(if i % 2 == 0 { "The cat" } else { "the dog" }, 0).unwrap();
    }
    let mut last: HashMap<String, i64> = HashMap::new();
    let expected = [("the", n), ("cat", n / 2), ("dog", n / 2)];
    let done = |last: &HashMap<String, i64>| expected.iter().all(|(w, c)| last.get(*w) == Some(c));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(&last) && Instant::now() < deadline {
        let Ok(frames) = pull.recv_multipart(0) else { continue };
        assert_eq!(frames.len(), 2, "one frame per field: word, count");
        let word = String::from_utf8(frames[0].clone()).unwrap();
        let count: i64 = String::from_utf8(frames[1].clone()).unwrap().parse().unwrap();
        let e = last.entry(word).or_insert(0);
        *e = (*e).max(count);
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(done(&last), "{last:?}");
    assert_eq!(last.len(), 3, "{last:?}");
    assert!(status.success(), "sockflow exited with {status}");
}
