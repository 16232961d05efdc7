//! One module per implementation. Each maps [`Role`](crate::workload::Role)s onto its socket
//! types and the [`Sock`](crate::workload::Sock) calls onto its API, and nothing more.
//!
//! zmq.rs is async-only, so `zeromq` also carries its own copies of the roles.

pub mod libsock;
pub mod libzmq;
pub mod omq;
pub mod raw;
pub mod zeromq;
