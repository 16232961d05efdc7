//! The only `unsafe` code in libsock, fenced in one module.
//!
//! - [`os`]: thin calls into the operating system.
//! - [`pool`]: recycled buffers for message bodies (no `malloc`/`free` per message).
//! - [`ring`]: the lock-free single-producer single-consumer queue under the pipes.
//! - [`salsa20`]: Salsa20 one, two, four or eight blocks at a time (SSE2, AVX2) for CURVE's MESSAGE
//!   cipher.
//! - [`sync`]: std's atomics, or loom's for the model checks of the lock-free code.
//!
//! Every block has a `SAFETY:` comment. The rest of the crate is `#![deny(unsafe_code)]`.
#![allow(unsafe_code)]

pub(crate) mod followed;
mod os;
pub(crate) mod pool;
pub(crate) mod ring;
pub(crate) mod salsa20;
pub(crate) mod sync;

pub(crate) use os::*;
