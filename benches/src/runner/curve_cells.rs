//! The CURVE rows (`compare --only curve`): throughput at 64 B and 1 KiB and latency at 64 B
//! over tcp, libsock against libzmq + libsodium.
//!
//! The `zmq` crate's libzmq has no CURVE, so the libzmq side is the system's libzmq (Debian's
//! libzmq3-dev, built with libsodium) through `benches/c/curve_perf.c`, compiled here with
//! `cc`; the libsock side is this package's `local_thr`/`remote_thr`/`local_lat`/`remote_lat`
//! with `<enable_curve>` = 1. Both print the same lines (libzmq's perf tools' format). Where
//! `cc`, zmq.h or a CURVE-capable libzmq is missing, the libzmq column says why.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};

/// One CURVE row: throughput or latency at a body size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Thr,
    Lat,
}

const ROWS: [(Kind, usize); 3] = [(Kind::Thr, 64), (Kind::Thr, 1024), (Kind::Lat, 64)];

/// A pair of perf processes may take this long before it counts as hung.
const LIMIT: Duration = Duration::from_secs(120);

/// Runs the rows `reps` times each (alternating libsock and libzmq) and returns the markdown.
/// `secs` scales the message counts (1.0: 200 000 messages for throughput, 20 000 round
/// trips for latency).
pub fn run(reps: usize, secs: f64) -> String {
    let libzmq = curve_perf();
    let missing: Vec<&str> = ["local_thr", "remote_thr", "local_lat", "remote_lat"]
        .into_iter()
        .filter(|t| !own_dir().join(t).exists())
        .collect();
    if !missing.is_empty() {
        return format!(
            "### CURVE over tcp\n\nnot run: libsock's perf tools ({}) are not built next to this \
             binary; run `cargo build --release -p benches` first.\n\n",
            missing.join(", ")
        );
    }
    let mut out = String::from("### CURVE over tcp (libsock vs libzmq + libsodium)\n\n");
    let _ = writeln!(out, "| CURVE, tcp | libsock | libzmq + libsodium | libsock / libzmq |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (kind, size) in ROWS {
        let count = match kind {
            Kind::Thr => (200_000.0 * secs).max(2000.0) as u64,
            Kind::Lat => (20_000.0 * secs).max(200.0) as u64,
        };
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for rep in 0..reps {
            let ls = measure(&Tool::Libsock(own_dir()), kind, size, count);
            eprintln!("[curve] {kind:?} {size} B libsock rep {}: {}", rep + 1, shown(&ls));
            ours.extend(ls.ok());
            if let Ok(cp) = &libzmq {
                let lz = measure(&Tool::Libzmq(cp.clone()), kind, size, count);
                eprintln!("[curve] {kind:?} {size} B libzmq rep {}: {}", rep + 1, shown(&lz));
                theirs.extend(lz.ok());
            }
        }
        let (a, b) = (median(&mut ours), median(&mut theirs));
        let unit = if kind == Kind::Thr { "msg/s" } else { "µs one-way" };
        let cell = |v: Option<f64>| v.map_or("failed".to_string(), |v| format!("{v:.1}"));
        let theirs_cell = match &libzmq {
            Ok(_) => cell(b),
            Err(why) => format!("n/a ({why})"),
        };
        let ratio = match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "–".into(),
        };
        let what = if kind == Kind::Thr { "throughput" } else { "latency" };
        let _ = writeln!(out, "| {what} {size} B ({unit}) | {} | {theirs_cell} | {ratio} |", cell(a));
    }
    let _ = writeln!(
        out,
        "\n_Medians of {reps} run(s); each run is a fresh pair of processes (handshake included). \
         Lower is better for latency, so there a ratio below 1 favours libsock._\n"
    );
    out
}

fn shown(r: &Result<f64>) -> String {
    match r {
        Ok(v) => format!("{v:.1}"),
        Err(e) => format!("FAILED {e:#}"),
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Where this binary's sibling perf tools are (the same cargo profile directory).
fn own_dir() -> PathBuf {
    std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default()
}

enum Tool {
    /// The directory holding libsock's perf tools.
    Libsock(PathBuf),
    /// The compiled `curve_perf`.
    Libzmq(PathBuf),
}

impl Tool {
    fn command(&self, role: &str, ep: &str, size: usize, count: u64) -> Command {
        let (size, count) = (size.to_string(), count.to_string());
        let mut c = match self {
            Tool::Libsock(dir) => {
                let mut c = Command::new(dir.join(role));
                c.args([ep, &size, &count, "1"]);
                c
            }
            Tool::Libzmq(bin) => {
                let mut c = Command::new(bin);
                c.args([role, ep, &size, &count]);
                c
            }
        };
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }
}

/// One run: the local side binds, the remote side connects (it retries until the bind is
/// there); throughput is printed by `local_thr`, latency by `remote_lat` (libzmq's layout).
fn measure(tool: &Tool, kind: Kind, size: usize, count: u64) -> Result<f64> {
    let ep = free_endpoint()?;
    let (local, remote, key) = match kind {
        Kind::Thr => ("local_thr", "remote_thr", "mean throughput:"),
        Kind::Lat => ("local_lat", "remote_lat", "average latency:"),
    };
    let local = tool.command(local, &ep, size, count).spawn().context("cannot start the local side")?;
    let remote = tool.command(remote, &ep, size, count).spawn().context("cannot start the remote side")?;
    let deadline = Instant::now() + LIMIT;
    let remote_out = wait(remote, deadline)?;
    let local_out = wait(local, deadline)?;
    for (side, out) in [("remote", &remote_out), ("local", &local_out)] {
        if !out.status.success() {
            bail!("{side} side failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
    }
    let text = String::from_utf8_lossy(&local_out.stdout).into_owned()
        + &String::from_utf8_lossy(&remote_out.stdout);
    let line =
        text.lines().find(|l| l.contains(key)).ok_or_else(|| anyhow!("no {key:?} line in {text:?}"))?;
    line.split_whitespace().nth(2).and_then(|v| v.parse().ok()).ok_or_else(|| anyhow!("cannot read {line:?}"))
}

/// Waits for `child` until `deadline`, then kills it.
fn wait(mut child: std::process::Child, deadline: Instant) -> Result<Output> {
    loop {
        if child.try_wait()?.is_some() {
            return Ok(child.wait_with_output()?);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_endpoint() -> Result<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(format!("tcp://127.0.0.1:{}", l.local_addr()?.port()))
}

/// Compiles `curve_perf.c` against the system's libzmq and checks it has CURVE; the error
/// is the short reason shown in the table.
fn curve_perf() -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/curve_perf.c");
    let bin = own_dir().join("curve_perf");
    let built = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&source)
        .arg("-lzmq")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !built.is_ok_and(|s| s.success()) {
        return Err("cannot build curve_perf: needs cc and libzmq3-dev".into());
    }
    // remote_thr with a count of 0 exits at once; before anything it checks zmq_has("curve").
    let probe = Command::new(&bin).args(["remote_thr", "tcp://127.0.0.1:1", "1", "0"]).output();
    match probe {
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("no CURVE") => {
            Err("the system's libzmq has no CURVE".into())
        }
        Ok(_) => Ok(bin),
        Err(e) => Err(format!("cannot run curve_perf: {e}")),
    }
}
