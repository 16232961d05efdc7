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
