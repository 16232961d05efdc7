//! A topology fed by a libzmq PUSH and drained by a libzmq PULL (the `zmq` crate builds
//! libzmq 4.3 from source), through SocketSpout and SocketBolt, configured from YAML: over
//! tcp, and over `ws://` (libzmq's WebSocket transport).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use dataflow::config::{self, Substitution};
use dataflow::Registry;

#[test]
fn libzmq_push_feeds_and_libzmq_pull_drains_a_word_count() {
    word_count_between_libzmq_sockets("tcp");
}

#[test]
fn libzmq_push_and_pull_over_websocket_around_a_word_count() {
    word_count_between_libzmq_sockets("ws");
}

fn word_count_between_libzmq_sockets(transport: &str) {
    let zctx = zmq::Context::new();
    let push = zctx.socket(zmq::PUSH).unwrap();
    push.bind(&format!("{transport}://127.0.0.1:*")).unwrap();
    let input = push.get_last_endpoint().unwrap().unwrap();
    let pull = zctx.socket(zmq::PULL).unwrap();
    pull.bind(&format!("{transport}://127.0.0.1:*")).unwrap();
    let output = pull.get_last_endpoint().unwrap().unwrap();
    pull.set_rcvtimeo(10_000).unwrap();

    let yaml = format!(
        r#"
name: interop
spouts:
  - id: in
    className: SocketSpout
    properties:
      - {{name: type, value: pull}}
      - {{name: connect, value: "{input}"}}
      - {{name: fields, value: [line, tag]}}
bolts:
  - id: split
    className: Splitter
    parallelism: 2
  - id: count
    className: Counter
    parallelism: 2
    properties:
      - {{name: field, value: word}}
  - id: out
    className: SocketBolt
    properties:
      - {{name: type, value: push}}
      - {{name: connect, value: "{output}"}}
streams:
  - {{from: in, to: split, grouping: {{type: SHUFFLE}}}}
  - {{from: split, to: count, grouping: {{type: FIELDS, args: [word]}}}}
  - {{from: count, to: out, grouping: {{type: SHUFFLE}}}}
"#
    );
    let topology = config::parse(&yaml, "interop.yaml", &Substitution::default(), &Registry::new()).unwrap();
    let running = dataflow::start(&topology).unwrap();
    for i in 0..100 {
        // Two frames: the spout makes them two fields; the splitter reads the first.
        push.send_multipart(["a b a", &format!("{i}")], 0).unwrap();
    }
    let mut last: HashMap<String, i64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (last.get("a") != Some(&200) || last.get("b") != Some(&100)) && Instant::now() < deadline {
        let Ok(frames) = pull.recv_multipart(0) else { break };
        assert_eq!(frames.len(), 2, "one frame per field");
        let word = String::from_utf8(frames[0].clone()).unwrap();
        let n: i64 = String::from_utf8(frames[1].clone()).unwrap().parse().expect("count as decimal text");
        let e = last.entry(word).or_insert(0);
        *e = (*e).max(n);
    }
    assert!(running.shutdown(Duration::from_secs(5)));
    assert_eq!(last.get("a"), Some(&200), "{last:?}");
    assert_eq!(last.get("b"), Some(&100), "{last:?}");
    assert_eq!(last.len(), 2);
}
