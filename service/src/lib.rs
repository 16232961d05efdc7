//! What libsock's long-running commands (`sockdev`, `sockflow run`, `sockflow drpc-server`)
//! share with the service managers that run them, so that each behaves the same under
//! Kubernetes and systemd:
//!
//! - [`http`]: the endpoint of `--metrics ADDR`: `/metrics` (the Prometheus text format),
//!   `/healthz` (liveness) and `/readyz` (readiness), hardened against slow or hostile clients;
//! - [`notify`]: `sd_notify(3)` for units of `Type=notify`: `READY=1`, `STATUS=`, `STOPPING=1`,
//!   and the watchdog fed only while the process says it is healthy;
//! - [`keys`]: CURVE keys as an operator gives them: a Z85 key, or a certificate file (czmq's
//!   and pyzmq's format), or a directory of them for the clients a server admits;
//! - [`wss`]: `wss://` settings as an operator gives them: PEM files (certificate chain, key,
//!   trusted authorities), read and checked with errors naming the file, for libsock's `WSS_*`
//!   options;
//! - [`watch`], over `http` and `notify`: the health of a process whose work is one loop (a
//!   relay, a router), from the loop's turn count, for `/healthz` and the watchdog.
//!
//! `http`, `notify`, `keys` and `wss` are independent of each other; `watch` uses the first
//! two. Only `keys` and `wss` use libsock (its certificate functions, its socket options). No
//! command-line parsing lives here: each command names its own flags and turns these errors
//! into its own messages.

#![deny(unsafe_code)]

pub mod http;
pub mod keys;
pub mod notify;
pub mod watch;
pub mod wss;
