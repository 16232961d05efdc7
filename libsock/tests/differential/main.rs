//! Differential tests: the same random sequence of socket operations run on libsock and on
//! libzmq 4.3 (the `zmq` crate builds it from source), over inproc, one step at a time, with
//! everything a user could observe after each step compared: received frames, errno values.
//!
//! Each case is a seed; a mismatch names it, the setup and the operations up to the step
//! that differed, so it replays exactly (`DIFF_SEED=N cargo test --test differential`).
//! The CI run covers a few hundred cases; `stress_*` variants (ignored) run many more.

mod pubsub;
mod twin;

/// The seeds a test runs: `DIFF_SEED` alone when set (replaying one failure), else `count`
/// seeds from `first`.
fn seeds(first: u64, count: u64) -> Vec<u64> {
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
