//! What a DRPC call costs: `DRPCSpout → Echo → ReturnResults` in one process, clients over
//! tcp on loopback. One client calling in turn (round-trip latency p50/p99/p99.9), then
//! CLIENTS clients at once (calls per second and CPU per call). Arguments are 100 bytes.
//!
//! With `--router`, the clients call through a `DrpcRouter` (`sockflow drpc-server`) in
//! front of the spout, in a thread of the same process.
//!
//! `cargo bench -p dataflow --bench drpc -- [SECS] [CLIENTS] [--router]`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dataflow::components::drpc::{DrpcClient, DrpcRouter, DrpcSpout, ReturnResults};
use dataflow::components::SocketSpec;
use dataflow::{Basic, BasicBolt, BasicCollector, OutputDeclarer, TopologyBuilder, Tuple};
use hdrhistogram::Histogram;

/// The function: its argument is its result.
struct Echo;

impl BasicBolt for Echo {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["result", "return-info"]);
    }
    fn execute(&mut self, t: &Tuple, c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        c.emit(t.values.clone());
        Ok(())
    }
}

/// Process CPU time (user + system) so far.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name; ticks of 10 ms.
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    Duration::from_millis(ticks * 10)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let secs: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(5.0);
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut spec = SocketSpec::new(libsock::SocketType::ROUTER);
    spec.bind.push(endpoint.clone());
    let mut b = TopologyBuilder::new("drpc-bench");
    b.config().max_spout_pending = Some(1000);
    b.set_spout("drpc", move || Box::new(DrpcSpout::new("echo", spec.clone())), 1);
    b.set_bolt("echo", || Box::new(Basic(Echo)), 1).shuffle_grouping("drpc");
    b.set_bolt("return", || Box::new(Basic(ReturnResults::new())), 1).shuffle_grouping("echo");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let arg = "x".repeat(100);
    let routing = Arc::new(AtomicBool::new(false));
    let (endpoint, router) = if std::env::args().any(|a| a == "--router") {
        let functions = [("echo".to_owned(), vec![endpoint.clone()])];
        let mut router = DrpcRouter::new(&["tcp://127.0.0.1:*".to_owned()], &functions).unwrap();
        let front = router.endpoint().unwrap();
        let stop = routing.clone();
        println!("through a DrpcRouter at {front}");
        (front, Some(std::thread::spawn(move || router.run(&stop).unwrap())))
    } else {
        (endpoint, None)
    };

    // One client, call after call.
    let client = DrpcClient::connect(&endpoint).unwrap();
    // Until the spout is up (a router answers "no spout connected" until it is).
    let up = Instant::now() + Duration::from_secs(10);
    while let Err(e) = client.execute("echo", &arg) {
        assert!(Instant::now() < up, "the function never answered: {e}");
        std::thread::sleep(Duration::from_millis(10));
    }
    for _ in 0..200 {
        client.execute("echo", &arg).unwrap();
    }
    let mut h = Histogram::<u64>::new(3).unwrap();
    let until = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < until {
        let t = Instant::now();
        client.execute("echo", &arg).unwrap();
        h.record(t.elapsed().as_micros() as u64).unwrap();
    }
    println!(
        "1 client: {} calls, {:.0} calls/s; round trip p50 {} µs, p99 {} µs, p99.9 {} µs",
        h.len(),
        h.len() as f64 / secs,
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999)
    );

    // CLIENTS clients at once.
    let calls = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (cpu0, t0) = (cpu(), Instant::now());
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (calls, stop, endpoint, arg) = (calls.clone(), stop.clone(), endpoint.clone(), arg.clone());
            std::thread::spawn(move || {
                let client = DrpcClient::connect(&endpoint).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    client.execute("echo", &arg).unwrap();
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let (n, wall, cpu_used) = (calls.load(Ordering::Relaxed), t0.elapsed(), cpu() - cpu0);
    println!(
        "{clients} clients: {:.0} calls/s; {:.1} µs CPU a call (clients included)",
        n as f64 / wall.as_secs_f64(),
        cpu_used.as_secs_f64() * 1e6 / n.max(1) as f64
    );
    routing.store(true, Ordering::Relaxed);
    if let Some(r) = router {
        r.join().unwrap();
    }
    running.shutdown(Duration::from_secs(2));
}
