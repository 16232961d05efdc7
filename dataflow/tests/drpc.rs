//! Storm's DRPC: clients call a topology as a function through a `DRPCSpout`, results come
//! back through `ReturnResults`. Clients here are libsock's `DrpcClient`, libzmq REQ and
//! DEALER sockets (the `zmq` crate), and hostile peers.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dataflow::components::drpc::{DrpcClient, DrpcError};
use dataflow::config::{self, Substitution};
use dataflow::{BasicBolt, BasicCollector, OutputDeclarer, Registry, Tuple, Value};

/// Return-infos the bolt saw, for tests that play the part of `ReturnResults`.
type Infos = Arc<Mutex<Vec<String>>>;

/// A DRPC function's body: `(args, return-info)` in, `(result, return-info)` out. The result
/// is the number of words and the argument (`"2 words: a b"`), except for arguments that
/// start with a command: `bad…` fails, `lost…` is acked and never answered, `slow…` waits
/// 600 ms, `held…` is recorded and never answered, `garble…` sends a broken return-info,
/// `where…` answers the spout task's results endpoint, `detour…` sends its result where no
/// spout listens.
#[derive(Default, Clone)]
struct Words {
    infos: Infos,
}

impl BasicBolt for Words {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["result", "return-info"]);
    }
    fn execute(&mut self, t: &Tuple, c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        let (Some(Value::Str(args)), Some(Value::Str(info))) = (t.values.first(), t.values.get(1)) else {
            return Err("expected (args, return-info)".into());
        };
        let info = info.clone();
        let result = if args.starts_with("bad") {
            return Err(format!("no {args:?} here"));
        } else if args.starts_with("lost") {
            return Ok(());
        } else if args.starts_with("held") {
            self.infos.lock().unwrap().push(info);
            return Ok(());
        } else if args.starts_with("garble") {
            c.emit(vec![Value::Str("x".into()), Value::Str("{not json".into())]);
            return Ok(());
        } else if args.starts_with("detour") {
            // Where no spout listens: ReturnResults cannot deliver it.
            let mut v: serde_json::Value = serde_json::from_str(&info).unwrap();
            v["endpoint"] = "tcp://127.0.0.1:1".into();
            c.emit(vec![Value::Str("lost".into()), Value::Str(v.to_string())]);
            return Ok(());
        } else if args.starts_with("where") {
            let v: serde_json::Value = serde_json::from_str(&info).unwrap();
            v["endpoint"].as_str().unwrap().to_owned()
        } else {
            if args.starts_with("slow") {
                std::thread::sleep(Duration::from_millis(600));
            }
            format!("{} words: {args}", args.split_whitespace().count())
        };
        c.emit(vec![Value::Str(result), Value::Str(info)]);
        Ok(())
    }
}

fn registry(words: Words) -> Registry {
    let mut r = Registry::new();
    r.register_bolt("Words", move |_| {
        let w = words.clone();
        Ok(Arc::new(move || Box::new(dataflow::component::Basic(w.clone()))))
    });
    r
}

/// A topology `DRPCSpout(words) → Words → ReturnResults` with the spout's `properties` and
/// the topology's `config` lines.
fn topology_yaml(spout_properties: &str, config: &str, spout_parallelism: usize) -> String {
    format!(
        r#"
name: drpc
config:
  topology.message.timeout.secs: 10
{config}
spouts:
  - id: drpc
    className: org.apache.storm.drpc.DRPCSpout
    constructorArgs: [words]
    parallelism: {spout_parallelism}
    properties:
{spout_properties}
bolts:
  - {{id: words, className: Words, parallelism: 2}}
  - {{id: return, className: org.apache.storm.drpc.ReturnResults, parallelism: 2}}
streams:
  - {{from: drpc, to: words, grouping: {{type: SHUFFLE}}}}
  - {{from: words, to: return, grouping: {{type: SHUFFLE}}}}
"#
    )
}

fn start(yaml: &str, words: Words) -> dataflow::Running {
    let topology = config::parse(yaml, "drpc.yaml", &Substitution::default(), &registry(words)).unwrap();
    dataflow::start(&topology).unwrap()
}

fn tcp_endpoint() -> String {
    format!("tcp://127.0.0.1:{}", common::free_ports(23000, 1))
}

fn bound_at(endpoint: &str) -> String {
    format!("      - {{name: bind, value: \"{endpoint}\"}}")
}

#[test]
fn clients_at_once_each_get_their_own_result_and_libzmq_req_and_dealer_are_clients() {
    let endpoint = tcp_endpoint();
    let running = start(&topology_yaml(&bound_at(&endpoint), "", 1), Words::default());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let client = DrpcClient::connect(&endpoint).unwrap().timeout(Duration::from_secs(20));
                for i in 0..50 {
                    let args = format!("client {t} call {i}");
                    assert_eq!(client.execute("words", &args).unwrap(), format!("4 words: {args}"));
                }
            })
        })
        .collect();
    // libzmq 4.3 as the client: a REQ socket, then a DEALER with the REQ envelope.
    let zctx = zmq::Context::new();
    let req = zctx.socket(zmq::REQ).unwrap();
    req.set_rcvtimeo(20_000).unwrap();
    req.connect(&endpoint).unwrap();
    for i in 0..20 {
        req.send_multipart(["words", &format!("from libzmq {i}")], 0).unwrap();
        let reply = req.recv_multipart(0).unwrap();
        assert_eq!(reply, vec![b"OK".to_vec(), format!("3 words: from libzmq {i}").into_bytes()]);
    }
    let dealer = zctx.socket(zmq::DEALER).unwrap();
    dealer.set_rcvtimeo(20_000).unwrap();
    dealer.connect(&endpoint).unwrap();
    for i in 0..10 {
        dealer.send_multipart(["", "words", &format!("dealer {i}")], 0).unwrap();
    }
    let mut got: Vec<String> = (0..10)
        .map(|_| {
            let reply = dealer.recv_multipart(0).unwrap();
            assert_eq!(reply.len(), 3, "{reply:?}");
            assert_eq!((&reply[0][..], &reply[1][..]), (&b""[..], &b"OK"[..]));
            String::from_utf8(reply[2].clone()).unwrap()
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..10).map(|i| format!("2 words: dealer {i}")).collect();
    want.sort();
    assert_eq!(got, want);
    for t in threads {
        t.join().unwrap();
    }
    assert!(running.shutdown(Duration::from_secs(5)));
}

#[test]
fn failed_lost_and_malformed_requests_are_answered_with_why() {
    let endpoint = tcp_endpoint();
    let running =
        start(&topology_yaml(&bound_at(&endpoint), "  drpc.request.timeout.secs: 1", 1), Words::default());
    let client = DrpcClient::connect(&endpoint).unwrap().timeout(Duration::from_secs(20));
    let err = client.execute("words", "bad apple").unwrap_err();
    let DrpcError::Failed(why) = &err else { panic!("{err:?}") };
    assert!(why.starts_with("request failed: failed by words (task "), "{why}");
    assert!(why.ends_with(r#"): no "bad apple" here"#), "{why}");

    let started = Instant::now();
    let err = client.execute("words", "lost cause").unwrap_err();
    assert_eq!(err, DrpcError::Failed("no result within 1s".into()));
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());

    let err = client.execute("count", "a").unwrap_err();
    assert_eq!(
        err,
        DrpcError::Failed(r#"unknown DRPC function "count": this endpoint serves "words""#.into())
    );
    assert_eq!(client.execute("words", "still fine").unwrap(), "2 words: still fine");

    // A call that times out at the client: its late answer is not taken for the next one's.
    let impatient = DrpcClient::connect(&endpoint).unwrap().timeout(Duration::from_millis(200));
    assert_eq!(
        impatient.execute("words", "slow one").unwrap_err(),
        DrpcError::TimedOut(Duration::from_millis(200))
    );
    let patient = impatient.timeout(Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(700)); // the slow answer arrives meanwhile
    assert_eq!(patient.execute("words", "next").unwrap(), "1 words: next");

    // libzmq peers that do not follow the protocol get an error, not a hang.
    let zctx = zmq::Context::new();
    let req = zctx.socket(zmq::REQ).unwrap();
    req.set_rcvtimeo(20_000).unwrap();
    req.connect(&endpoint).unwrap();
    for request in [vec!["words"], vec!["words", "a", "b"]] {
        req.send_multipart(&request, 0).unwrap();
        let reply = req.recv_multipart(0).unwrap();
        assert_eq!(reply[0], b"ERROR");
        let why = String::from_utf8(reply[1].clone()).unwrap();
        assert!(why.starts_with("bad request: expected 2 frames (function, argument), got "), "{why}");
    }
    // A request larger than 16 MiB drops that client; the others go on.
    let big = zctx.socket(zmq::DEALER).unwrap();
    big.connect(&endpoint).unwrap();
    big.send_multipart([&b""[..], b"words", &vec![b'x'; 17 << 20]], 0).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(client.execute("words", "after the big one").unwrap(), "4 words: after the big one");

    // The spout's metrics: 9 requests (the big one never arrived), 4 answered with a result
    // (the slow one's too, though its client had gone), 5 with an error.
    let hub = running.metrics();
    let want = [("drpc_requests", 9.0), ("drpc_results", 4.0), ("drpc_errors", 5.0), ("drpc_pending", 0.0)];
    let mut custom = Vec::new();
    let published = common::eventually(5, || {
        let spout = hub.snapshot().into_iter().find(|t| &*t.component == "drpc").unwrap();
        custom = spout.custom;
        want.iter().all(|(k, v)| custom.iter().any(|(n, x)| n == k && x == v))
    });
    assert!(published, "{custom:?}");
    assert!(running.shutdown(Duration::from_secs(5)));
}

#[test]
fn forged_results_are_dropped_and_a_broken_return_info_fails_its_request() {
    let endpoint = tcp_endpoint();
    let words = Words::default();
    let properties =
        format!("{}\n      - {{name: results, value: \"tcp://127.0.0.1:*\"}}", bound_at(&endpoint));
    let running = start(&topology_yaml(&properties, "", 1), words.clone());
    let client = DrpcClient::connect(&endpoint).unwrap().timeout(Duration::from_secs(20));

    // The spout advertises the port the system picked.
    let results_at = client.execute("words", "where").unwrap();
    assert!(results_at.starts_with("tcp://127.0.0.1:") && !results_at.ends_with(":*"), "{results_at}");

    // The bolt holds this request: the test plays ReturnResults, and a forger.
    let call = std::thread::spawn(move || client.execute("words", "held one"));
    assert!(common::eventually(10, || !words.infos.lock().unwrap().is_empty()));
    let info: serde_json::Value = serde_json::from_str(&words.infos.lock().unwrap()[0]).unwrap();
    let (id, token) = (info["id"].as_str().unwrap(), info["token"].as_str().unwrap());
    assert_eq!(info["endpoint"].as_str().unwrap(), results_at);
    let zctx = zmq::Context::new();
    let push = zctx.socket(zmq::PUSH).unwrap();
    push.connect(&results_at).unwrap();
    push.send_multipart([id, "guessed-token", "forged"], 0).unwrap();
    push.send_multipart(["not a number", token, "forged"], 0).unwrap();
    push.send_multipart([id, token], 0).unwrap();
    push.send(&b"one frame"[..], 0).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!call.is_finished(), "a forged or malformed result was taken");
    push.send_multipart([id, token, "genuine"], 0).unwrap();
    assert_eq!(call.join().unwrap().unwrap(), "genuine");

    // A result for a spout that is not there: after 5 s ReturnResults fails its tuple.
    let client2 = DrpcClient::connect(&endpoint).unwrap().timeout(Duration::from_secs(20));
    let started = Instant::now();
    let err = client2.execute("words", "detour").unwrap_err();
    let DrpcError::Failed(why) = &err else { panic!("{err:?}") };
    assert!(why.starts_with("request failed: failed by return (task "), "{why}");
    assert!(
        why.ends_with("result not delivered to tcp://127.0.0.1:1: send: the socket stayed full"),
        "{why}"
    );
    assert!(started.elapsed() >= Duration::from_secs(5), "{:?}", started.elapsed());

    // A bolt that breaks the return-info: ReturnResults fails the tuple, the request fails.
    let client = DrpcClient::connect(&endpoint).unwrap().timeout(Duration::from_secs(20));
    let err = client.execute("words", "garble").unwrap_err();
    let DrpcError::Failed(why) = &err else { panic!("{err:?}") };
    assert!(why.starts_with("request failed: failed by return (task "), "{why}");
    assert!(why.contains("bad return-info"), "{why}");
    assert!(running.shutdown(Duration::from_secs(5)));
}

#[test]
fn spout_tasks_behind_a_queue_device_serve_one_address() {
    let ctx = libsock::Context::new();
    let (front, back) = (tcp_endpoint(), tcp_endpoint());
    let (f, b) = (front.clone(), back.clone());
    let ctx2 = ctx.clone();
    let proxy = std::thread::spawn(move || {
        let mut frontend = ctx2.socket(libsock::SocketType::ROUTER).unwrap();
        frontend.bind(&f).unwrap();
        let mut backend = ctx2.socket(libsock::SocketType::DEALER).unwrap();
        backend.bind(&b).unwrap();
        let mut control = ctx2.socket(libsock::SocketType::PAIR).unwrap();
        control.bind("inproc://drpc-queue-control").unwrap();
        libsock::proxy_steerable(&mut frontend, &mut backend, &mut control)
    });
    let properties = format!("      - {{name: connect, value: \"{back}\"}}");
    let running = start(&topology_yaml(&properties, "", 2), Words::default());
    let client = DrpcClient::connect(&front).unwrap().timeout(Duration::from_secs(20));
    let mut servers = HashSet::new();
    for i in 0..20 {
        assert_eq!(
            client.execute("words", &format!("via queue {i}")).unwrap(),
            format!("3 words: via queue {i}")
        );
    }
    // The queue deals requests round robin: consecutive ones reach both tasks.
    for _ in 0..20 {
        servers.insert(client.execute("words", "where").unwrap());
    }
    assert_eq!(servers.len(), 2, "both spout tasks served: {servers:?}");
    assert!(running.shutdown(Duration::from_secs(5)));
    let control = ctx.socket(libsock::SocketType::PAIR).unwrap();
    control.connect("inproc://drpc-queue-control").unwrap();
    control.send(&b"TERMINATE"[..], 0).unwrap();
    proxy.join().unwrap().unwrap();
}

#[test]
fn a_request_in_flight_when_the_topology_stops_is_answered() {
    let endpoint = tcp_endpoint();
    let words = Words::default();
    let running = start(&topology_yaml(&bound_at(&endpoint), "", 1), words.clone());
    let client = DrpcClient::connect(&endpoint).unwrap().timeout(Duration::from_secs(20));
    assert_eq!(client.execute("words", "warm up").unwrap(), "2 words: warm up");
    let call = std::thread::spawn(move || client.execute("words", "held forever"));
    assert!(common::eventually(10, || !words.infos.lock().unwrap().is_empty()));
    // Its tree completed (acked without a result): the spout still waits for one at the end.
    running.shutdown(Duration::from_millis(300));
    assert_eq!(call.join().unwrap().unwrap_err(), DrpcError::Failed("the topology stopped".into()));
}

#[test]
fn drpc_mistakes_are_errors_at_their_line() {
    let err = |yaml: &str| match config::parse(
        yaml,
        "d.yaml",
        &Substitution::default(),
        &registry(Words::default()),
    ) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    };
    let spout = |body: &str| {
        format!(
            "name: d\nspouts:\n  - id: drpc\n    className: DRPCSpout\n{body}\nbolts:\n  - {{id: r, className: ReturnResults}}\nstreams:\n  - {{from: drpc, to: r, grouping: {{type: SHUFFLE}}}}\n"
        )
    };
    let e = err(&spout("    properties: [{name: bind, value: \"tcp://127.0.0.1:5\"}]"));
    assert!(e.starts_with("d.yaml:3:") && e.contains("DRPCSpout needs constructorArgs: [FUNCTION]"), "{e}");
    let e = err(&spout("    constructorArgs: [words]"));
    assert!(e.starts_with("d.yaml:3:") && e.contains("DRPCSpout needs a `bind` endpoint"), "{e}");
    let e = err(&spout(
        "    constructorArgs: [words, 2]\n    properties: [{name: bind, value: \"tcp://127.0.0.1:5\"}]",
    ));
    assert!(e.contains("one constructor argument"), "{e}");
    let e = err(&spout(
        "    constructorArgs: [words]\n    properties: [{name: bind, value: \"tcp://127.0.0.1:5\"}, {name: results, value: \"nope\"}]",
    ));
    assert!(e.contains("property \"results\""), "{e}");
    let e = err(&spout("    constructorArgs: [words]\n    parallelism: 2\n    properties: [{name: bind, value: \"tcp://127.0.0.1:5\"}]"));
    assert!(e.starts_with("d.yaml:3:") && e.contains("would each bind tcp://127.0.0.1:5"), "{e}");
    let e = err(&spout("    constructorArgs: [words]\n    properties: [{name: bind, value: \"tcp://127.0.0.1:5\"}, {name: type, value: pull}]"));
    assert!(e.contains("type"), "{e}");
    // Config methods as in Flux.
    let ok = spout("    constructorArgs: [words]\n    configMethods: [{name: withBind, args: [\"tcp://127.0.0.1:5\"]}, {name: withResults, args: [\"tcp://127.0.0.1:*\"]}]");
    config::parse(&ok, "d.yaml", &Substitution::default(), &registry(Words::default())).unwrap();
}
