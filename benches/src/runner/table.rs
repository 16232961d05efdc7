//! Markdown tables of medians, with ratios against libzmq, and the targets check.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::cells::Cell;
use super::proxy_cells::RELAY_NS;
use crate::imp::libsock::lat_uses_pair;
use crate::stats::{median, Fields};
use crate::workload::{Impl, Pattern, Transport};

/// Every sample taken, by cell and implementation (one entry per repetition).
#[derive(Default)]
pub struct Results {
    samples: HashMap<(Cell, Impl), Vec<Result<Fields, String>>>,
}

/// What a table cell shows for one implementation.
enum Shown {
    /// Not run: the reason.
    Skipped(&'static str),
    /// Every repetition failed: the first error.
    Failed(String),
    /// Median of the repetitions that worked, and how many failed.
    Value(Fields, usize),
}

impl Results {
    /// Records one repetition.
    pub fn add(&mut self, cell: Cell, imp: Impl, r: Result<Fields, String>) {
        self.samples.entry((cell, imp)).or_default().push(r);
    }

    /// The median of `field` over the working repetitions.
    pub fn median(&self, cell: Cell, imp: Impl, field: &str) -> Option<f64> {
        let v: Vec<f64> =
            self.samples.get(&(cell, imp))?.iter().filter_map(|r| r.as_ref().ok()?.get(field).ok()).collect();
        median(&v)
    }

    fn shown(&self, cell: Cell, imp: Impl, fields: &[&str]) -> Shown {
        if let Err(why) = imp.supports(cell.pattern, cell.transport) {
            return Shown::Skipped(why);
        }
        let Some(runs) = self.samples.get(&(cell, imp)) else {
            return Shown::Skipped("not run");
        };
        let failed = runs.iter().filter(|r| r.is_err()).count();
        if failed == runs.len() {
            let first = runs.iter().find_map(|r| r.as_ref().err()).cloned();
            return Shown::Failed(first.unwrap_or_default());
        }
        let mut f = Fields::new();
        for name in fields {
            if let Some(m) = self.median(cell, imp, name) {
                f.set(name, m);
            }
        }
        Shown::Value(f, failed)
    }
}

/// `1 B`, `64 B`, `1 KiB`, `64 KiB`.
pub fn size_label(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// `4.41 M`, `37.2 k`, `950`.
fn rate_label(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn ratio_label(ours: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 => format!(" ({:.2}×)", ours / b),
        _ => String::new(),
    }
}

fn header(out: &mut String, first: &[&str], impls: &[Impl], lat: bool) {
    let mut names: Vec<String> = first.iter().map(|s| s.to_string()).collect();
    for imp in impls {
        let name = if lat && *imp == Impl::Libsock && lat_uses_pair() {
            "libsock (PAIR)".to_string()
        } else {
            imp.label().to_string()
        };
        names.push(name);
    }
    let _ = writeln!(out, "| {} |", names.join(" | "));
    let aligns: Vec<&str> =
        names.iter().enumerate().map(|(i, _)| if i < first.len() { "---" } else { "---:" }).collect();
    let _ = writeln!(out, "|{}|", aligns.join("|"));
}

/// Renders one implementation's cell with `value(fields, libzmq's fields)`.
fn cell_text(
    res: &Results,
    cell: Cell,
    imp: Impl,
    fields: &[&str],
    value: &dyn Fn(&Fields, Option<&Fields>) -> String,
) -> String {
    let base = match res.shown(cell, Impl::Libzmq, fields) {
        Shown::Value(f, _) if imp != Impl::Libzmq => Some(f),
        _ => None,
    };
    match res.shown(cell, imp, fields) {
        Shown::Skipped(why) => why.to_string(),
        Shown::Failed(e) => {
            let e: String = e.chars().take(60).collect();
            format!("failed: {}", e.replace('|', "/"))
        }
        Shown::Value(f, 0) => value(&f, base.as_ref()),
        Shown::Value(f, n) => format!("{} [{n} failed]", value(&f, base.as_ref())),
    }
}

/// How much repetitions of the same cell disagree: per implementation, the median over cells
/// of max/min of the main number (rate, or p50).
pub fn noise_line(res: &Results, cells: &[Cell], impls: &[Impl]) -> Option<String> {
    let mut parts = Vec::new();
    for &imp in impls {
        let spreads: Vec<f64> = cells
            .iter()
            .filter_map(|&c| {
                let field = match c.pattern {
                    Pattern::Thr | Pattern::PubSub | Pattern::ProxyThr => "rate",
                    Pattern::Lat | Pattern::ProxyLat => "p50_us",
                    Pattern::Mem | Pattern::Curve => return None,
                };
                let v: Vec<f64> = res
                    .samples
                    .get(&(c, imp))?
                    .iter()
                    .filter_map(|r| r.as_ref().ok()?.get(field).ok())
                    .collect();
                let max = v.iter().copied().fold(f64::NAN, f64::max);
                let min = v.iter().copied().fold(f64::NAN, f64::min);
                (v.len() > 1 && min > 0.0).then(|| max / min)
            })
            .collect();
        if let Some(m) = median(&spreads) {
            parts.push(format!("{} {m:.2}×", imp.label()));
        }
    }
    (!parts.is_empty()).then(|| {
        format!(
            "Run-to-run spread (max/min over the repetitions of a cell, median over cells): {}.",
            parts.join(", ")
        )
    })
}

/// PUSH/PULL throughput.
pub fn thr_table(res: &Results, cells: &[Cell], impls: &[Impl], reps: usize) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "### PUSH/PULL throughput (msg/s, median of {reps}; in brackets: ratio to libzmq)\n");
    header(&mut out, &["transport", "size"], impls, false);
    let value = |f: &Fields, b: Option<&Fields>| {
        let r = f.get("rate").unwrap_or(f64::NAN);
        rate_label(r) + &ratio_label(r, b.and_then(|b| b.get("rate").ok()))
    };
    for &cell in cells.iter().filter(|c| c.pattern == Pattern::Thr) {
        let mut row = vec![cell.transport.to_string(), size_label(cell.size)];
        row.extend(impls.iter().map(|&i| cell_text(res, cell, i, &["rate"], &value)));
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// REQ/REP round trips.
pub fn lat_table(res: &Results, cells: &[Cell], impls: &[Impl], reps: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### REQ/REP round trip (µs, p50 / p99, median of {reps}; in brackets: p50 ratio to libzmq)\n"
    );
    header(&mut out, &["transport", "size"], impls, true);
    let fields = ["p50_us", "p99_us"];
    let value = |f: &Fields, b: Option<&Fields>| {
        let p50 = f.get("p50_us").unwrap_or(f64::NAN);
        let p99 = f.get("p99_us").unwrap_or(f64::NAN);
        format!("{p50:.1} / {p99:.1}") + &ratio_label(p50, b.and_then(|b| b.get("p50_us").ok()))
    };
    for &cell in cells.iter().filter(|c| c.pattern == Pattern::Lat) {
        let mut row = vec![cell.transport.to_string(), size_label(cell.size)];
        row.extend(impls.iter().map(|&i| cell_text(res, cell, i, &fields, &value)));
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    if lat_uses_pair() && impls.contains(&Impl::Libsock) {
        let _ = writeln!(
            out,
            "\nCaveat: libsock has no REQ/REP yet; its column is PAIR ping-pong (same bodies, \
             one frame fewer per message than REQ/REP's delimiter + body)."
        );
    }
    out
}

/// PUB/SUB fan-out.
pub fn pubsub_table(res: &Results, cells: &[Cell], impls: &[Impl], reps: usize, subs: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### PUB/SUB fan-out to {subs} subscribers over tcp (msg/s received per subscriber, \
         share of published messages delivered; median of {reps}; ratio to libzmq)\n"
    );
    header(&mut out, &["size"], impls, false);
    let fields = ["rate", "delivered"];
    let value = |f: &Fields, b: Option<&Fields>| {
        let r = f.get("rate").unwrap_or(f64::NAN);
        let d = f.get("delivered").unwrap_or(f64::NAN) * 100.0;
        format!("{}, {d:.0}%", rate_label(r)) + &ratio_label(r, b.and_then(|b| b.get("rate").ok()))
    };
    for &cell in cells.iter().filter(|c| c.pattern == Pattern::PubSub) {
        let mut row = vec![size_label(cell.size)];
        row.extend(impls.iter().map(|&i| cell_text(res, cell, i, &fields, &value)));
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// CPU time per message (per round trip for REQ/REP), both processes together and split.
pub fn cpu_table(res: &Results, cells: &[Cell], impls: &[Impl], reps: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### CPU per message (ns of user + system time, both processes: total (sender + receiver); \
         REQ/REP: per round trip, client + server; PUB/SUB: per message received by a subscriber; \
         median of {reps}; in brackets: total ratio to libzmq)\n"
    );
    header(&mut out, &["workload", "transport", "size"], impls, false);
    let fields = ["cpu_ns", "cpu_a_ns", "cpu_b_ns"];
    let value = |f: &Fields, b: Option<&Fields>| {
        let t = f.get("cpu_ns").unwrap_or(f64::NAN);
        let (a, r) = (f.get("cpu_a_ns").unwrap_or(f64::NAN), f.get("cpu_b_ns").unwrap_or(f64::NAN));
        let split = if r > 0.0 { format!(" ({a:.0} + {r:.0})") } else { String::new() };
        format!("{t:.0}{split}") + &ratio_label(t, b.and_then(|b| b.get("cpu_ns").ok()))
    };
    // Memory cells measure no CPU time; proxy cells show their relay's in the proxy table.
    let measured = |c: &&Cell| matches!(c.pattern, Pattern::Thr | Pattern::Lat | Pattern::PubSub);
    for &cell in cells.iter().filter(measured) {
        let mut row =
            vec![pattern_name(cell.pattern).to_string(), cell.transport.to_string(), size_label(cell.size)];
        row.extend(impls.iter().map(|&i| cell_text(res, cell, i, &fields, &value)));
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// Memory held by queued messages.
pub fn mem_table(res: &Results, cells: &[Cell], impls: &[Impl], count: u64, hwm: i32) -> String {
    let mut out = String::new();
    for &cell in cells.iter().filter(|c| c.pattern == Pattern::Mem) {
        let bound = count as f64 * cell.size as f64;
        let _ = writeln!(
            out,
            "### Memory: {count} queued {} messages over {}, HWM {hwm} (peak RSS growth of each \
             process; target below 1.25 × queued bytes = {:.1} MiB)\n",
            size_label(cell.size),
            cell.transport,
            1.25 * bound / MIB
        );
        let _ = writeln!(out, "| implementation | sender | receiver | worst / queued bytes |");
        let _ = writeln!(out, "|---|---:|---:|---:|");
        for &imp in impls {
            let fields = ["send_growth", "recv_growth"];
            let text = match res.shown(cell, imp, &fields) {
                Shown::Skipped(why) => format!("{why} | | "),
                Shown::Failed(e) => format!("failed: {} | | ", e.chars().take(60).collect::<String>()),
                Shown::Value(f, _) => {
                    let s = f.get("send_growth").unwrap_or(f64::NAN);
                    let r = f.get("recv_growth").unwrap_or(f64::NAN);
                    format!("{:.1} MiB | {:.1} MiB | {:.2}", s / MIB, r / MIB, s.max(r) / bound)
                }
            };
            let _ = writeln!(out, "| {} | {text} |", imp.label());
        }
        let _ = writeln!(out);
    }
    out
}

const MIB: f64 = 1024.0 * 1024.0;

fn mark(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// One target row: the goal, the cell, the measured ratio and whether it is met.
fn target_row(out: &mut String, goal: &str, c: Cell, what: &str, r: Option<f64>, ok: impl Fn(f64) -> bool) {
    if let Some(r) = r {
        let label = format!("{} {} {}", pattern_name(c.pattern), c.transport, size_label(c.size));
        let _ = writeln!(out, "| {goal} | {label} | {what} {r:.2}× | {} |", mark(ok(r)));
    }
}

/// The targets (issue 7) against the measured medians.
pub fn targets(res: &Results, cells: &[Cell], queued: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Targets\n");
    let _ = writeln!(out, "| target | cell | measured | verdict |");
    let _ = writeln!(out, "|---|---|---:|---|");
    let ratio = |c: Cell, field: &str, other: Impl| -> Option<f64> {
        Some(res.median(c, Impl::Libsock, field)? / res.median(c, other, field)?)
    };
    let o = &mut out;
    for &c in cells {
        let small = c.size == 1 || c.size == 64;
        match (c.pattern, c.transport) {
            (Pattern::Thr, Transport::Inproc) => {
                target_row(o, "inproc ≥ 2× libzmq", c, "/ libzmq", ratio(c, "rate", Impl::Libzmq), |r| {
                    r >= 2.0
                })
            }
            (Pattern::Thr, _) => {
                let (goal, want) =
                    if c.size <= 1024 { ("≥ 2× libzmq", 2.0) } else { ("≥ 1.2× libzmq", 1.2) };
                target_row(o, goal, c, "/ libzmq", ratio(c, "rate", Impl::Libzmq), |r| r >= want);
                if small {
                    target_row(o, "≥ 1.3× ØMQ.rs", c, "/ ØMQ.rs", ratio(c, "rate", Impl::Omq), |r| {
                        r >= 1.3
                    });
                    target_row(o, "within 2× of raw", c, "/ raw", ratio(c, "rate", Impl::Raw), |r| r >= 0.5);
                }
                if c.size <= 1024 {
                    let r = ratio(c, "cpu_ns", Impl::Libzmq);
                    target_row(o, "CPU/msg ≤ 0.5× libzmq", c, "CPU / libzmq", r, |r| r <= 0.5);
                }
            }
            (Pattern::Lat, _) if c.size == 1 => {
                target_row(
                    o,
                    "p50 ≤ 0.7× libzmq",
                    c,
                    "p50 / libzmq",
                    ratio(c, "p50_us", Impl::Libzmq),
                    |r| r <= 0.7,
                );
                target_row(o, "p50 ≤ 1.3× raw", c, "p50 / raw", ratio(c, "p50_us", Impl::Raw), |r| {
                    r <= 1.3
                });
                target_row(o, "p99 ≤ libzmq", c, "p99 / libzmq", ratio(c, "p99_us", Impl::Libzmq), |r| {
                    r <= 1.0
                });
            }
            (Pattern::PubSub, _) if c.size == 64 => {
                target_row(o, "fan-out ≥ 2× libzmq", c, "/ libzmq", ratio(c, "rate", Impl::Libzmq), |r| {
                    r >= 2.0
                })
            }
            (Pattern::ProxyThr, _) => target_row(
                o,
                "streamer ≥ 1.5× libzmq",
                c,
                "/ libzmq",
                ratio(c, "rate", Impl::Libzmq),
                |r| r >= 1.5,
            ),
            (Pattern::ProxyLat, _) => {
                let r = ratio(c, "p50_us", Impl::Libzmq);
                target_row(o, "queue p50 ≤ libzmq", c, "p50 / libzmq", r, |r| r <= 1.0)
            }
            _ => {}
        }
    }
    for &c in cells.iter().filter(|c| c.pattern == Pattern::Mem) {
        let bound = queued as f64 * c.size as f64;
        let worst = res
            .median(c, Impl::Libsock, "send_growth")
            .zip(res.median(c, Impl::Libsock, "recv_growth"))
            .map(|(s, r)| s.max(r) / bound);
        if let Some(w) = worst {
            let _ = writeln!(
                out,
                "| memory < 1.25 × queued bytes | {} {} | {w:.2} (of queued bytes) | {} |",
                c.transport,
                size_label(c.size),
                mark(w < 1.25)
            );
        }
    }
    if let Some(line) = rivals_line(res, cells) {
        let _ = writeln!(out, "\n{line}");
    }
    out
}

fn pattern_name(p: Pattern) -> &'static str {
    match p {
        Pattern::Thr => "PUSH/PULL",
        Pattern::Lat => "REQ/REP",
        Pattern::PubSub => "PUB/SUB",
        Pattern::Mem => "memory",
        Pattern::ProxyThr => "PUSH→streamer→PULL",
        Pattern::ProxyLat => "REQ→queue→REP",
        Pattern::Curve => "CURVE",
    }
}

/// "Ahead of ØMQ.rs and zmq.rs in k of n cells" (`None` when no rival ran).
fn rivals_line(res: &Results, cells: &[Cell]) -> Option<String> {
    let (mut ahead, mut total) = (0, 0);
    for &c in cells {
        let (field, higher_better) = match c.pattern {
            Pattern::Thr | Pattern::PubSub => ("rate", true),
            Pattern::Lat => ("p50_us", false),
            Pattern::Mem | Pattern::ProxyThr | Pattern::ProxyLat | Pattern::Curve => continue,
        };
        let Some(ours) = res.median(c, Impl::Libsock, field) else {
            continue;
        };
        let rivals: Vec<f64> =
            [Impl::Omq, Impl::Zeromq].iter().filter_map(|&i| res.median(c, i, field)).collect();
        if rivals.is_empty() {
            continue;
        }
        total += 1;
        if rivals.iter().all(|&r| if higher_better { ours > r } else { ours < r }) {
            ahead += 1;
        }
    }
    (total > 0).then(|| {
        format!(
            "Ahead of both ØMQ.rs and zmq.rs (where they run): {ahead} of {total} cells ({}).",
            mark(ahead == total)
        )
    })
}

/// Through a proxy: libsock's (what `sockdev` runs) against libzmq's `zmq_proxy`, with each
/// implementation's own sockets at both ends.
pub fn proxy_table(res: &Results, cells: &[Cell], impls: &[Impl], reps: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Through a proxy over tcp (PUSH→streamer→PULL msg/s; REQ→queue→REP µs p50 / p99; \
         median of {reps}; in brackets: ratio to libzmq; relay: the proxy process's CPU time per \
         message or round trip)\n"
    );
    header(&mut out, &["workload", "size"], impls, false);
    let value = |f: &Fields, b: Option<&Fields>| {
        let main = match f.get("rate") {
            Ok(r) => rate_label(r) + &ratio_label(r, b.and_then(|b| b.get("rate").ok())),
            Err(_) => {
                let p50 = f.get("p50_us").unwrap_or(f64::NAN);
                let p99 = f.get("p99_us").unwrap_or(f64::NAN);
                format!("{p50:.1} / {p99:.1}") + &ratio_label(p50, b.and_then(|b| b.get("p50_us").ok()))
            }
        };
        match f.get(RELAY_NS) {
            Ok(ns) => format!("{main}; relay {ns:.0} ns"),
            Err(_) => main,
        }
    };
    for &cell in cells.iter().filter(|c| matches!(c.pattern, Pattern::ProxyThr | Pattern::ProxyLat)) {
        let fields: &[&str] = if cell.pattern == Pattern::ProxyThr {
            &["rate", RELAY_NS]
        } else {
            &["p50_us", "p99_us", RELAY_NS]
        };
        let mut row = vec![pattern_name(cell.pattern).to_string(), size_label(cell.size)];
        row.extend(impls.iter().map(|&i| cell_text(res, cell, i, fields, &value)));
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}
