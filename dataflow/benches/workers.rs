//! Issue 13's benchmarks: (1) the spout → 3 bolts chain (shuffle, fields, shuffle; 100-byte
//! tuples) split over 2 worker processes talking tcp on loopback, acked and unacked; (2) tuples
//! per second through a trivial Python multilang bolt.
//!
//! `cargo bench -p dataflow --bench workers [-- SECS] [restart]` (`SOCKFLOW_BENCH_CURVE=KEY`: the
//! worker link over CURVE). Each figure is the spout's steady rate
//! over SECS (default 6) after a 2 s warm-up, read from the spout worker's metrics; complete
//! latency p50/p99 from the spout's histogram; CPU is user + system time of every process
//! involved over the same window (both workers; sockflow and its Python children), so "per
//! CPU-second" figures do not depend on what else the machine runs. Workers are this program
//! run again. (3) The same Python child alone, fed pre-encoded tuples through a pipe, is the
//! yardstick for (2): the multilang bolt should cost little beyond the child's own JSON work.
#![allow(missing_docs)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
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
        // 5000 by default; `SOCKFLOW_BENCH_PENDING` sets it (fewer pending trees: lower
        // complete latency, by Little's law, at some cost in throughput).
        let pending = std::env::var("SOCKFLOW_BENCH_PENDING").ok().and_then(|p| p.parse().ok());
        c.max_spout_pending = acked.then_some(pending.unwrap_or(5000));
        c.acker_executors = usize::from(acked);
        // Storm's default 30 s: trees lost with a killed worker are failed by the acker when
        // the worker's link breaks, not after this. `SOCKFLOW_BENCH_TIMEOUT` overrides it.
        if let Some(t) = std::env::var("SOCKFLOW_BENCH_TIMEOUT").ok().and_then(|t| t.parse().ok()) {
            c.message_timeout_secs = t;
        }
        // `SOCKFLOW_BENCH_CURVE=KEY` (a `sockflow keygen` key): the worker link over CURVE.
        if let Ok(key) = std::env::var("SOCKFLOW_BENCH_CURVE") {
            c.worker_curve = Some(dataflow::WorkerKey::from_secret(&key).expect("SOCKFLOW_BENCH_CURVE"));
        }
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

/// CPU seconds (user + system) used so far by process `pid` (Linux, 100 Hz ticks).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// This process and its children (other workers, multilang children).
fn family() -> Vec<u32> {
    let me = std::process::id();
    let mut pids = vec![me];
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(me) {
            pids.push(pid);
        }
    }
    pids
}

/// Spout tuples/s (acked, or emitted when unacked) over `secs`, complete p50/p99 in µs, and
/// tuples per CPU-second of every process involved.
fn measure(hub: &MetricsHub, acked: bool, secs: f64) -> (f64, u64, u64, f64) {
    let count = |h: &MetricsHub| h.component_total("spout", |t| if acked { t.acked } else { t.emitted });
    std::thread::sleep(Duration::from_secs(2));
    let pids = family();
    let cpu = || pids.iter().map(|&p| cpu_secs(p)).sum::<f64>();
    let (n0, t0, c0) = (count(hub), Instant::now(), cpu());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let n = count(hub) - n0;
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    let per_cpu = n as f64 / (cpu() - c0).max(0.01);
    let snap = hub.snapshot();
    let h = snap.iter().find(|t| &*t.component == "spout").map(|t| t.complete_us.clone());
    let (p50, p99) =
        h.filter(|h| !h.is_empty()).map_or((0, 0), |h| (h.value_at_quantile(0.5), h.value_at_quantile(0.99)));
    (rate, p50, p99, per_cpu)
}

/// The trivial Python bolt alone: `n` tuples written to its stdin up front (as the bolt
/// would send them), read until it has answered each (emit + ack). Returns tuples/s and
/// tuples per CPU-second of the child.
fn child_alone(n: usize) -> (f64, f64) {
    let script = format!("{}/tests/multilang/splitsentence.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .args([script.as_str(), "--trivial"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let pid_dir = std::env::temp_dir().join(format!("flowbench-{}", std::process::id()));
    std::fs::create_dir_all(&pid_dir).unwrap();
    let mut hello = Vec::new();
    let context = serde_json::json!({"taskid": 1, "task->component": {}});
    dataflow::multilang::protocol::handshake(
        &mut hello,
        &serde_json::json!({}),
        &pid_dir.display().to_string(),
        &context,
    );
    let mut input = Vec::new();
    for i in 0..n {
        let v = [dataflow::Value::from("the cat sat on the mat")];
        dataflow::multilang::protocol::tuple(&mut input, &i.to_string(), "spout", "default", 1, &v);
    }
    let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    stdin.write_all(&hello).unwrap();
    let (mut buf, mut seen) = (vec![0u8; 1 << 16], Vec::new());
    while !seen.ends_with(b"\nend\n") {
        let k = stdout.read(&mut buf).unwrap();
        assert!(k > 0, "child quit during the handshake");
        seen.extend_from_slice(&buf[..k]);
    }
    let (t0, c0) = (Instant::now(), cpu_secs(child.id()));
    let writer = std::thread::spawn(move || {
        stdin.write_all(&input).unwrap();
        stdin
    });
    // Each tuple is answered by two messages (emit, ack), each ending in a line "end".
    let (mut ends, mut tail) = (0usize, [0u8; 4]);
    while ends < 2 * n {
        let k = stdout.read(&mut buf).unwrap();
        assert!(k > 0, "child quit");
        for &b in &buf[..k] {
            if b == b'\n' && &tail == b"\nend" {
                ends += 1;
            }
            tail = [tail[1], tail[2], tail[3], b];
        }
    }
    let (dt, cpu) = (t0.elapsed().as_secs_f64(), cpu_secs(child.id()) - c0);
    drop(writer.join());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&pid_dir);
    (n as f64 / dt, n as f64 / cpu.max(0.01))
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
    let secs: f64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(6.0);
    println!("machine: {} cores; {}", std::thread::available_parallelism().map_or(0, |n| n.get()), load());
    if std::env::args().any(|a| a == "restart") {
        return restart(secs);
    }
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
        let (rate, p50, p99, per_cpu) = measure(&running.metrics(), acked, secs);
        let what = if acked { "acked" } else { "unacked" };
        println!("2 workers over tcp, 3-bolt chain, {what}: {rate:.0} spout tuples/s ({per_cpu:.0} per CPU-second), complete p50 {p50} µs p99 {p99} µs");
        let _ = other.kill();
        let _ = other.wait();
        running.shutdown(Duration::from_millis(200));
    }
    for children in [1, 2] {
        let running = dataflow::start(&multilang(children)).unwrap();
        let (rate, p50, p99, per_cpu) = measure(&running.metrics(), true, secs);
        println!(
            "trivial Python multilang bolt x{children} (acked): {rate:.0} tuples/s ({per_cpu:.0} per CPU-second, sockflow and children), complete p50 {p50} µs p99 {p99} µs"
        );
        running.shutdown(Duration::from_millis(200));
    }
    let (rate, per_cpu) = child_alone(200_000);
    println!("the same Python child alone, fed from a pipe: {rate:.0} tuples/s ({per_cpu:.0} per CPU-second of the child)");
}

fn spawn_worker(acked: bool, port: u16) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env("SOCKFLOW_BENCH_WORKER", "1")
        .env("SOCKFLOW_BENCH_ACKED", if acked { "1" } else { "0" })
        .env("SOCKFLOW_BENCH_PORT", port.to_string())
        .spawn()
        .unwrap()
}

/// Issue 13's "back to full speed within 5 s of a restart" (`-- SECS restart`; the child
/// inherits `SOCKFLOW_BENCH_TIMEOUT`): the acked 2-worker chain runs for
/// SECS, worker 1 (the bolts') is killed with SIGKILL and restarted a second later, and the
/// spout's acked rate is sampled each second (executors publish metrics about once a second)
/// until a one-second window reaches 80 % of the rate before the kill.
fn restart(secs: f64) {
    let port = 21000 + fastrand::u16(0..100) * 100;
    let mut other = spawn_worker(true, port);
    let running = dataflow::runtime::start_worker(&chain(true, port), 0).unwrap();
    let hub = running.metrics();
    let (before, _, _, _) = measure(&hub, true, secs);
    let _ = other.kill();
    let _ = other.wait();
    std::thread::sleep(Duration::from_secs(1));
    let mut other = spawn_worker(true, port);
    let restarted = Instant::now();
    let acked = || hub.component_total("spout", |t| t.acked);
    let (mut last, mut at) = (acked(), Instant::now());
    let back = loop {
        std::thread::sleep(Duration::from_secs(1));
        let (n, now) = (acked(), Instant::now());
        let rate = (n - last) as f64 / now.duration_since(at).as_secs_f64();
        (last, at) = (n, now);
        if rate >= 0.8 * before {
            break Some((restarted.elapsed().as_secs_f64(), rate));
        }
        if restarted.elapsed() > Duration::from_secs(30) {
            break None;
        }
    };
    let failed = hub.component_total("spout", |t| t.failed);
    match back {
        Some((t, rate)) => println!(
            "restart: {before:.0} acked/s before the kill; {rate:.0}/s in the 1 s window ending {t:.1} s after the restart (≥ 80 %); {failed} trees failed and replayed"
        ),
        None => println!("restart: {before:.0} acked/s before the kill; not back to 80 % within 30 s ({failed} failed)"),
    }
    let _ = other.kill();
    let _ = other.wait();
    running.shutdown(Duration::from_millis(200));
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| format!("load average {}", l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")))
        .unwrap_or_default()
}
