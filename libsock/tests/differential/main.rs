//! Differential tests: the same random sequence of socket operations run on libsock and on
//! libzmq 4.3 (the `zmq` crate builds it from source), over inproc (`connections`: tcp and
//! ipc), one step at a time, with everything a user could observe after each step compared:
//! received frames, errno values, monitor events.
//!
//! Each case is a seed; a mismatch names it, the setup and the operations up to the step
//! that differed, so it replays exactly (`DIFF_SEED=N cargo test --test differential`).
//! `DIFF_TRACE=1` adds every step's observations, `DIFF_ALL=1` prints every failing case,
//! `DIFF_CASES=N` runs N cases, `DIFF_FIRST=N` from seed N; `DIFF_NO_RERUN=1` fails a case
//! at its first difference (else it runs once more, see [`run_cases`]); `DIFF_PROGRESS=1`
//! names each seed and step as it starts (with `-- --nocapture`), for a case that makes a
//! library abort.
//! The CI run covers a few hundred cases; `stress_*` variants (ignored) run many more.

use std::fmt::{Debug, Write as _};

mod connections;
mod fanin;
mod pipeline;
mod pubsub;
mod reqrep;
mod security;
mod twin;
mod watch;
mod wire;

/// The seeds a test runs: `DIFF_SEED` alone when set (replaying one failure), else `count`
/// seeds (or `DIFF_CASES`) from `first` (or `DIFF_FIRST`).
fn seeds(first: u64, count: u64) -> Vec<u64> {
    let count = std::env::var("DIFF_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(count);
    let first = std::env::var("DIFF_FIRST").ok().and_then(|s| s.parse().ok()).unwrap_or(first);
    match std::env::var("DIFF_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (first..first + count).collect(),
    }
}

/// Whether `DIFF_TRACE` asks for every step's observations in a failure's log, not only the
/// operations.
fn tracing() -> bool {
    std::env::var_os("DIFF_TRACE").is_some()
}

/// Whether `DIFF_PROGRESS` asks for each seed and step to be named as it starts.
fn progress() -> bool {
    std::env::var_os("DIFF_PROGRESS").is_some()
}

/// Runs the cases `seeds(first, count)` gives; panics with the first difference found, once
/// all have run (and how many differ). `DIFF_ALL` prints each difference as it is found.
///
/// A case that differs runs once more before it counts: a seed replays the same operations,
/// so a difference of behaviour shows again, while one of timing on a loaded machine (a
/// step's quiet period that one library outlasted) seldom does. The first report is
/// printed either way. `DIFF_NO_RERUN` turns the rerun off (when hunting timing faults).
fn run_cases(first: u64, count: u64, case: impl Fn(u64) -> Result<(), String>) {
    let progress = progress();
    let all = std::env::var_os("DIFF_ALL").is_some();
    let rerun = std::env::var_os("DIFF_NO_RERUN").is_none();
    let failures: Vec<String> = seeds(first, count)
        .into_iter()
        .filter_map(|seed| {
            if progress {
                eprintln!("seed {seed}");
            }
            let once = case(seed).err()?;
            if !rerun {
                return Some(once);
            }
            eprintln!("=====\nseed {seed} differed; running it again\n{once}");
            let failure = case(seed).err()?;
            if failure != once {
                eprintln!("(the rerun of seed {seed} differed elsewhere)");
            }
            if all {
                eprintln!("=====\n{failure}");
            }
            Some(failure)
        })
        .collect();
    if let Some(first) = failures.first() {
        panic!("{} of the cases differ; the first:\n{first}", failures.len());
    }
}

/// Runs `steps` operations from `next` on both sides (libsock's first) in lockstep, and
/// compares what `step` reports after each, starting with step 0, before any operation.
/// `Err` is `log` followed by the operations up to the first difference and both reports.
fn lockstep<S, O: Debug>(
    mut log: String,
    sides: &mut [S; 2],
    steps: usize,
    mut next: impl FnMut() -> O,
    mut step: impl FnMut(&mut S, Option<&O>) -> String,
) -> Result<(), String> {
    if progress() {
        eprint!("{log}");
    }
    for n in 0..=steps {
        let op = (n > 0).then(&mut next);
        if progress() {
            eprintln!("step {n}: {op:?}");
        }
        let seen: Vec<String> = sides.iter_mut().map(|side| step(side, op.as_ref())).collect();
        let _ = writeln!(log, "step {n}: {op:?}");
        if tracing() {
            log.push_str(&seen[0]);
        }
        if seen[0] != seen[1] {
            return Err(format!("{log}--- libsock:\n{}--- libzmq:\n{}", seen[0], seen[1]));
        }
    }
    Ok(())
}
