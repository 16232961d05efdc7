//! Benchmarks and perf tools for libsock.
//!
//! Three levels, from the inside out:
//!
//! - `benches/` (criterion, `cargo bench -p benches`): the codec and inproc pipes in memory.
//! - `src/bin/{local,remote}_{thr,lat}`, `inproc_{thr,lat}`: libsock builds of libzmq's perf
//!   tools, same command lines and same output lines ([`perf`]), so they swap one-for-one with
//!   libzmq's own binaries in scripts.
//! - `src/bin/compare` ([`runner`]): the same workloads over libsock, libzmq (the `zmq`
//!   crate), ØMQ.rs (`omq-tokio`), zmq.rs (`zeromq`) and a raw-socket baseline, in one go,
//!   sender and receiver in separate processes, and a markdown table of medians.
//!
//! ## Layout, and who may call whom
//!
//! ```text
//! runner/    the compare command: plans cells, spawns workers, collects results, prints tables
//!   │  spawns itself as `compare worker …`, talks over stdin/stdout lines (coord)
//! worker     one role (receiver, sender, echo server, …) of one implementation
//!   │
//! roles      the workloads, written once over the `Lib`/`Sock` traits (workload)
//!   │
//! imp/       one small module per implementation; zeromq (async-only) has its own roles
//! ```
//!
//! Rules: implementation modules know nothing about processes or tables; roles know nothing
//! about processes (they talk to the outside only through [`coord::Coord`]); only `runner` and
//! `worker` spawn, print or parse.
//!
//! Every implementation is driven the way its users would drive it, through its public API,
//! with the same work per message: the sender copies the payload from a slice into a new
//! message (libzmq's perf tool allocates a fresh message per send too), the receiver takes
//! each message as the library hands it out, the echo server sends back what it received.

pub mod coord;
pub mod cpu;
pub mod imp;
pub mod mem;
pub mod perf;
pub mod roles;
pub mod runner;
pub mod stats;
pub mod worker;
pub mod workload;
