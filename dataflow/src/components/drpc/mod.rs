//! Storm's Distributed RPC: a topology as a function that clients call and wait on.
//!
//! A [`DrpcSpout`] binds a ROUTER socket (or connects one to a queue device's backend): each
//! request, `[function, argument]` from a REQ or DEALER client, becomes a tuple
//! `(args, return-info)`; the topology computes a result and its last bolt emits
//! `(result, return-info)` to [`ReturnResults`], which hands the result back to the spout task
//! that holds the request, which replies `[OK, result]` to the client. A request whose tuple
//! tree fails or times out is answered `[ERROR, why]` at once, as Storm's `DRPCSpout` fails the
//! request. [`DrpcClient`] (and `sockflow drpc`) is the client side.
//!
//! The spout is the server: several spout tasks serve one address behind a queue device
//! (`sockdev queue`), each connecting to its backend, and several functions share one address
//! (Storm's DRPC server on port 3772) behind a [`DrpcRouter`] (`sockflow drpc-server`), which
//! hands each request to its function's spouts and keeps no state.

mod client;
pub mod protocol;
mod results;
mod router;
mod router_stats;
mod spout;

use std::sync::OnceLock;

pub use client::{DrpcClient, DrpcError};
pub use results::ReturnResults;
pub use router::DrpcRouter;
pub use router_stats::RouterStats;
pub use spout::{DrpcSpout, DEFAULT_REQUEST_TIMEOUT_SECS, MAX_PENDING_REQUESTS};

use crate::component::TaskContext;

/// The libsock context DRPC sockets open on: the topology's ([`crate::Topology::context`]) if
/// the program gave one, else one shared by the process, so that a spout's `inproc://`
/// results endpoint is reachable from every `ReturnResults` task of the process.
fn context(task: &TaskContext) -> libsock::Context {
    static SHARED: OnceLock<libsock::Context> = OnceLock::new();
    task.libsock.clone().unwrap_or_else(|| SHARED.get_or_init(libsock::Context::new).clone())
}

/// This process's random name, written in every `return-info`: `ReturnResults` tells by it
/// whether an `inproc://` results endpoint is in its own process.
fn process_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| format!("{}-{:016x}", std::process::id(), fastrand::u64(..)))
}

/// A secret no peer can guess: the spout task's token in its `return-info`.
fn secret_token() -> String {
    // A CURVE public key is 32 bytes from the system's random generator, in Z85 (no quote
    // or backslash, so it goes into JSON as is).
    libsock::curve_keypair().0
}

/// The worker links' CURVE key, for DRPC links between workers (none inside one process).
fn worker_key(task: &TaskContext) -> Result<Option<crate::topology::WorkerKey>, String> {
    task.worker_secret.as_deref().map(crate::topology::WorkerKey::from_secret).transpose()
}
