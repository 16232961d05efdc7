//! The `compare` command: the same workloads over every implementation, on this machine, in
//! one go.
//!
//! ```text
//! cargo run --release -p benches --bin compare -- [--quick] [--only thr,lat,pubsub,mem] …
//! cargo run --release -p benches --bin compare -- memory        # the memory check alone
//! cargo run --release -p benches --bin compare -- --only curve  # CURVE vs libzmq+libsodium
//! ```
//!
//! CURVE runs only when asked for (`--only curve`): its libzmq side needs the system's
//! libzmq with libsodium and a C compiler ([`curve_cells`]).
//!
//! For each cell (pattern × transport × size) it runs every implementation `reps` times,
//! rotating the order each repetition so drift on a noisy machine spreads evenly, each run in
//! fresh worker processes (sender and receiver apart; inproc: two threads of one worker). It
//! prints progress on stderr and, at the end, markdown tables of medians on stdout.

pub mod cells;
pub mod curve_cells;
pub mod proc;
pub mod proxy_cells;
pub mod table;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::worker::{self, WorkerArgs};
use crate::workload::{Impl, KernelBuffers, Pattern, Transport};
use cells::{Cell, Params};
use table::{size_label, Results};

/// Compare libsock with libzmq, ØMQ.rs, zmq.rs and raw sockets.
#[derive(Parser, Debug)]
#[command(name = "compare", args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    run: RunOpts,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Only the memory workload (1000 queued 64 KiB messages, peak RSS growth per side).
    Memory(RunOpts),
    /// One role in its own process (used by the runner itself).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// What to run.
#[derive(Args, Debug, Clone)]
pub struct RunOpts {
    /// CI smoke run: one repetition of 0.05 s per cell, 100 queued messages for memory.
    #[arg(long)]
    quick: bool,
    /// Repetitions per implementation and cell [default: 3, quick: 1].
    #[arg(long)]
    reps: Option<usize>,
    /// Seconds each sender sends or each client pings [default: 1.0, quick: 0.05].
    #[arg(long)]
    secs: Option<f64>,
    /// Workloads [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Pattern>,
    /// Implementations [default: all].
    #[arg(long = "impls", value_enum, value_delimiter = ',')]
    impls: Vec<Impl>,
    /// Transports for PUSH/PULL and REQ/REP [default: tcp,ipc,inproc for PUSH/PULL, tcp for
    /// REQ/REP; also ws, wss]. REQ/REP leaves inproc out: its two ends are two processes.
    #[arg(long, value_enum, value_delimiter = ',')]
    transports: Vec<Transport>,
    /// PUSH/PULL body sizes.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 64, 1024, 65536])]
    sizes: Vec<usize>,
    /// REQ/REP body sizes.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 1024])]
    lat_sizes: Vec<usize>,
    /// PUB/SUB body sizes.
    #[arg(long, value_delimiter = ',', default_values_t = [64, 1024])]
    pubsub_sizes: Vec<usize>,
    /// Subscribers in the PUB/SUB fan-out.
    #[arg(long, default_value_t = 4)]
    subscribers: usize,
    /// Messages queued by the memory workload [default: 1000, quick: 100].
    #[arg(long)]
    mem_count: Option<u64>,
    /// Body size of the memory workload.
    #[arg(long, default_value_t = 65536)]
    mem_size: usize,
    #[command(flatten)]
    bufs: KernelBuffers,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Entry point of the `compare` binary; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let run = match cli.cmd {
        Some(Cmd::Worker(args)) => return worker::main(&args),
        Some(Cmd::Memory(mut opts)) => {
            opts.only = vec![Pattern::Mem];
            opts
        }
        None => cli.run,
    };
    match compare(&run) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("compare: {e:#}");
            1
        }
    }
}

fn or_all<T: Copy>(chosen: &[T], all: &[T]) -> Vec<T> {
    if chosen.is_empty() {
        all.to_vec()
    } else {
        chosen.to_vec()
    }
}

/// The cells to run, in table order.
fn plan(o: &RunOpts) -> Vec<Cell> {
    let patterns = or_all(
        &o.only,
        &[Pattern::Thr, Pattern::Lat, Pattern::PubSub, Pattern::Mem, Pattern::ProxyThr, Pattern::ProxyLat],
    );
    let transports = or_all(&o.transports, &[Transport::Tcp, Transport::Ipc, Transport::Inproc]);
    let mut cells = Vec::new();
    let cell = |pattern, transport, size| Cell { pattern, transport, size };
    if patterns.contains(&Pattern::Thr) {
        for &t in &transports {
            cells.extend(o.sizes.iter().map(|&s| cell(Pattern::Thr, t, s)));
        }
    }
    if patterns.contains(&Pattern::Lat) {
        for &t in &lat_transports(o) {
            cells.extend(o.lat_sizes.iter().map(|&s| cell(Pattern::Lat, t, s)));
        }
    }
    if patterns.contains(&Pattern::PubSub) {
        cells.extend(o.pubsub_sizes.iter().map(|&s| cell(Pattern::PubSub, Transport::Tcp, s)));
    }
    if patterns.contains(&Pattern::Mem) {
        cells.push(cell(Pattern::Mem, Transport::Tcp, o.mem_size));
    }
    if patterns.contains(&Pattern::ProxyThr) {
        cells.extend([64, 1024].map(|s| cell(Pattern::ProxyThr, Transport::Tcp, s)));
    }
    if patterns.contains(&Pattern::ProxyLat) {
        cells.push(cell(Pattern::ProxyLat, Transport::Tcp, 1));
    }
    cells
}

/// REQ/REP's transports: tcp unless `--transports` names others; never inproc, which does not
/// reach from the client's process to the server's.
fn lat_transports(o: &RunOpts) -> Vec<Transport> {
    if o.transports.is_empty() {
        return vec![Transport::Tcp];
    }
    let chosen: Vec<Transport> = o.transports.iter().copied().filter(|&t| t != Transport::Inproc).collect();
    if chosen.is_empty() {
        eprintln!("compare: no REQ/REP cells: it does not run over inproc (its two ends are two processes)");
    }
    chosen
}

fn compare(o: &RunOpts) -> Result<()> {
    let reps = o.reps.unwrap_or(if o.quick { 1 } else { 3 }).max(1);
    let params = Params {
        secs: o.secs.unwrap_or(if o.quick { 0.05 } else { 1.0 }),
        mem_count: o.mem_count.unwrap_or(if o.quick { 100 } else { 1000 }),
        mem_hwm: 1000,
        subscribers: o.subscribers,
        bufs: o.bufs,
    };
    let impls = or_all(&o.impls, &Impl::ALL);
    let cells = plan(o);
    let started = Instant::now();
    let mut results = Results::default();
    let runnable = |c: &Cell, i: Impl| i.supports(c.pattern, c.transport).is_ok();
    let total: usize = cells.iter().map(|c| impls.iter().filter(|&&i| runnable(c, i)).count() * reps).sum();
    let mut done = 0;
    for &cell in &cells {
        for rep in 0..reps {
            for k in 0..impls.len() {
                let imp = impls[(k + rep) % impls.len()];
                if !runnable(&cell, imp) {
                    continue;
                }
                done += 1;
                let r = cells::measure(imp, cell, &params).map_err(|e| format!("{e:#}"));
                eprintln!(
                    "[{done}/{total}] {:?} {} {} {} rep {}: {}",
                    cell.pattern,
                    cell.transport,
                    size_label(cell.size),
                    imp.label(),
                    rep + 1,
                    match &r {
                        Ok(f) => f.to_line(),
                        Err(e) => format!("FAILED {e}"),
                    }
                );
                results.add(cell, imp, r);
            }
        }
    }
    let mut report = render(o, &results, &cells, &impls, reps, &params, started);
    if o.only.contains(&Pattern::Curve) {
        report.push_str(&curve_cells::run(reps, params.secs));
    }
    print!("{report}");
    if let Some(path) = &o.out {
        std::fs::write(path, &report)?;
    }
    Ok(())
}

fn render(
    o: &RunOpts,
    res: &Results,
    cells: &[Cell],
    impls: &[Impl],
    reps: usize,
    p: &Params,
    started: Instant,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", machine_line(reps, p, started));
    let has = |pat| cells.iter().any(|c: &Cell| c.pattern == pat);
    if has(Pattern::Thr) {
        let _ = writeln!(out, "{}", table::thr_table(res, cells, impls, reps));
    }
    if has(Pattern::Lat) {
        let _ = writeln!(out, "{}", table::lat_table(res, cells, impls, reps));
    }
    if has(Pattern::PubSub) {
        let _ = writeln!(out, "{}", table::pubsub_table(res, cells, impls, reps, o.subscribers));
    }
    if has(Pattern::Thr) || has(Pattern::Lat) || has(Pattern::PubSub) {
        let _ = writeln!(out, "{}", table::cpu_table(res, cells, impls, reps));
    }
    if has(Pattern::Mem) {
        let _ = write!(out, "{}", table::mem_table(res, cells, impls, p.mem_count, p.mem_hwm));
    }
    if has(Pattern::ProxyThr) || has(Pattern::ProxyLat) {
        let _ = writeln!(out, "{}", table::proxy_table(res, cells, impls, reps));
    }
    if let Some(line) = table::noise_line(res, cells, impls) {
        let _ = writeln!(out, "{line}\n");
    }
    if !cells.is_empty() && impls.contains(&Impl::Libsock) && impls.contains(&Impl::Libzmq) {
        let _ = writeln!(out, "{}", table::targets(res, cells, p.mem_count));
    }
    out
}

/// Where and how this run happened.
fn machine_line(reps: usize, p: &Params, started: Instant) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let (a, b, c) = zmq::version();
    let bufs = p.bufs.describe();
    format!(
        "_{cpus} CPUs, {model}, Linux {}; libzmq {a}.{b}.{c}; {reps} repetition(s) of {:.2} s \
         per cell and implementation{bufs}; run took {:.0} s; load average at the end: {}._\n",
        kernel.trim(),
        p.secs,
        started.elapsed().as_secs_f64(),
        load_average()
    )
}

/// The 1-minute load average: other work on the machine skews every number.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}
