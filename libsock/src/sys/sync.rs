//! The atomics and cell of the lock-free code that two threads share (the ring, the pipe's
//! progress count): std's, or loom's under `--cfg loom`, so that the model checks
//! (`scripts/loom.sh`) see every access of that code. Nothing else in the crate uses them.

#[cfg(loom)]
pub(crate) use loom::{
    cell::UnsafeCell,
    sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize},
    sync::Arc,
};
pub(crate) use std::sync::atomic::Ordering;
#[cfg(not(loom))]
pub(crate) use std::{
    cell::UnsafeCell,
    sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize},
    sync::Arc,
};

/// Runs a loom model check of `f`: every interleaving with at most 3 preemptions (enough
/// for the races these protocols have: each needs one or two switches at the wrong point),
/// or `LOOM_MAX_PREEMPTIONS` when set (deeper runs by hand).
#[cfg(all(test, loom))]
pub(crate) fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}
