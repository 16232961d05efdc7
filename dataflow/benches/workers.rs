//! Issue 13's benchmarks: (1) the spout → 3 bolts chain (shuffle, fields, shuffle; 100-byte
//! tuples) split over 2 worker processes talking tcp on loopback, acked and unacked; (2) tuples
//! per second through a trivial Python multilang bolt.
//!
//! `cargo bench -p dataflow --bench workers [-- SECS]`. Each figure is the spout's steady rate
//! over SECS (default 10) after a 2 s warm-up, read from the spout worker's metrics; complete
//! latency p50/p99 from the spout's histogram. Workers are this program run again.
#![allow(missing_docs)]

use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dataflow::components::{Counter, Generator};
use dataflow::multilang::{ShellBolt, ShellSpec};
use dataflow::runtime::MetricsHub;
use dataflow::{Basic, Topology, TopologyBuilder};

fn chain(acked: bool, base_port: u16) -> Topology {
    let mut b = TopologyBuilder::new("chain2w");
    {
        let c = b.config();
        c.workers = 2;
        c.worker_addresses = vec![format!("127.0.0.1:{base_port}"), format!("127.0.0.1:{}", base_port + 100)];
        c.max_spout_pending = acked.then_some(5000);
        c.acker_executors = usize::from(acked);
    }
    b.set_spout("spout", move || Box::new(Generator::payload(100, 0).reliable(acked)), 1);
    b.set_bolt("b1", || Box::new(Basic(Counter::passthrough())), 1).shuffle_grouping("spout");
    b.set_bolt("b2", || Box::new(Basic(Counter::passthrough())), 1).fields_grouping("b1", &["payload"]);
    b.set_bolt("b3", || Box::new(Basic(Counter::passthrough())), 1).shuffle_grouping("b2");
    b.build().unwrap()
}

fn multilang(children: usize) -> Topology {
    let script = format!("{}/tests/multilang/splitsentence.py", env!("CARGO_MANIFEST_DIR"));
    let spec =
        Arc::new(ShellSpec::new(vec!["python3".into(), script, "--trivial".into()], vec!["sentence".into()]));
    let mut b = TopologyBuilder::new("multilang");
    b.config().max_spout_pending = Some(2000);
    b.set_spout("spout", || Box::new(Generator::sentences(vec!["the cat sat on the mat".into()], 0)), 1);
    b.set_bolt("py", move || Box::new(ShellBolt::new(spec.clone())), children).shuffle_grouping("spout");
    b.build().unwrap()
}

/// Spout tuples/s (acked, or emitted when unacked) over `secs`, and complete p50/p99 in µs.
fn measure(hub: &MetricsHub, acked: bool, secs: f64) -> (f64, u64, u64) {
    let count = |h: &MetricsHub| h.component_total("spout", |t| if acked { t.acked } else { t.emitted });
    std::thread::sleep(Duration::from_secs(2));
    let (n0, t0) = (count(hub), Instant::now());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let rate = (count(hub) - n0) as f64 / t0.elapsed().as_secs_f64();
    let snap = hub.snapshot();
    let h = snap.iter().find(|t| &*t.component == "spout").map(|t| t.complete_us.clone());
    let (p50, p99) =
        h.filter(|h| !h.is_empty()).map_or((0, 0), |h| (h.value_at_quantile(0.5), h.value_at_quantile(0.99)));
    (rate, p50, p99)
}

fn worker(k: usize, acked: bool, port: u16) {
    let running = dataflow::runtime::start_worker(&chain(acked, port), k).unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        assert!(running.is_running());
    }
}

fn main() {
    if let Ok(k) = std::env::var("SOCKFLOW_BENCH_WORKER") {
        let acked = std::env::var("SOCKFLOW_BENCH_ACKED").is_ok_and(|v| v == "1");
        let port = std::env::var("SOCKFLOW_BENCH_PORT").unwrap().parse().unwrap();
        return worker(k.parse().unwrap(), acked, port);
    }
    let secs: f64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10.0);
    println!("machine: {} cores; {}", std::thread::available_parallelism().map_or(0, |n| n.get()), load());
    for acked in [false, true] {
        let port = 21000 + fastrand::u16(0..100) * 100;
        // Worker 0 (the spout's) runs here, to read its metrics; worker 1 is a child process.
        let mut other: Child = Command::new(std::env::current_exe().unwrap())
            .env("SOCKFLOW_BENCH_WORKER", "1")
            .env("SOCKFLOW_BENCH_ACKED", if acked { "1" } else { "0" })
            .env("SOCKFLOW_BENCH_PORT", port.to_string())
            .spawn()
            .unwrap();
        let running = dataflow::runtime::start_worker(&chain(acked, port), 0).unwrap();
        let (rate, p50, p99) = measure(&running.metrics(), acked, secs);
        let what = if acked { "acked" } else { "unacked" };
        println!("2 workers over tcp, 3-bolt chain, {what}: {rate:.0} spout tuples/s, complete p50 {p50} µs p99 {p99} µs");
        let _ = other.kill();
        let _ = other.wait();
        running.shutdown(Duration::from_millis(200));
    }
    for children in [1, 2] {
        let running = dataflow::start(&multilang(children)).unwrap();
        let (rate, p50, p99) = measure(&running.metrics(), true, secs);
        println!(
            "trivial Python multilang bolt x{children} (acked): {rate:.0} tuples/s, complete p50 {p50} µs p99 {p99} µs"
        );
        running.shutdown(Duration::from_millis(200));
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| format!("load average {}", l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")))
        .unwrap_or_default()
}
