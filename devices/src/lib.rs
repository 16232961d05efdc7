//! # devices
//!
//! Command-line tools built on libsock (the proxies themselves live in libsock).
//!
//! - [`sockcat`]: a netcat for ZeroMQ-style sockets; the `sockcat` binary is a thin wrapper
//!   around [`sockcat::main`].
//! - [`security`]: the CURVE and PLAIN flags both tools take.
//! - [`wss`]: the `wss://` flags both tools take (PEM files for TLS).
//! - [`sockdev`]: the queue, forwarder and streamer relays over [`libsock::Proxy`]; the
//!   `sockdev` binary is a thin wrapper around [`sockdev::main`].
//!
//! ## Rules
//!
//! - This crate uses only libsock's public API, like any application would: no private hooks,
//!   so whatever works here works for users too.
//! - No unsafe code; the binaries stay thin and the logic lives in modules with unit tests.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod security;
pub mod sockcat;
pub mod sockdev;
pub mod wss;

/// The README's Rust examples, compiled and run as doctests so the front door stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
