//! # libsock
//!
//! Brokerless messaging in pure Rust, speaking ZeroMQ's wire protocol (ZMTP 3.1) so it talks
//! to every libzmq program, with an API shaped like the `zmq` crate's.
//!
//! ```
//! let ctx = libsock::Context::new();
//! let pull = ctx.socket(libsock::PULL)?;
//! pull.bind("tcp://127.0.0.1:*")?;
//! let push = ctx.socket(libsock::PUSH)?;
//! push.connect(&pull.get_last_endpoint()?)?;
//! push.send_multipart(["job", "42"], 0)?;
//! assert_eq!(pull.recv_multipart(0)?, vec![b"job".to_vec(), b"42".to_vec()]);
//! # Ok::<(), libsock::Error>(())
//! ```
//!
//! ## Layers, and who may call whom
//!
//! ```text
//! context, socket/, poll,      user thread: routing per type, blocking, options, polling,
//!   monitor, proxy/, auth/     monitors, proxies, the ZAP handler
//! engine/                      I/O threads: mio loop, connections, timers, reconnects
//! mailbox/, transport/         what engine and sockets share: commands, signal, event slot;
//!                              tcp, ipc listeners and dialers yielding byte streams
//! session/, pipe/              ZMTP state machine: handshake, heartbeats (no I/O, no clock);
//!                              bounded queues of frames; wakes only on empty→non-empty
//! message, options             messages and their bodies; socket options
//! codec/, z85, ctx_options     pure encode/decode of greetings, frames, commands
//! socket_type, error, sys/,    sys: the only unsafe code: raw OS calls, the SPSC ring,
//!   capabilities               recycled message bodies, CURVE's SIMD Salsa20;
//!                              capabilities: what `has` (zmq_has) answers
//! ```
//!
//! - Imports only go down (the workspace's `tests/tests/layers.rs` checks every `crate::`
//!   path against this order); the user-thread layer's context, sockets, poller, monitors
//!   and proxies call each other.
//! - `codec` and `session` never touch a socket or read the clock.
//! - `socket` moves messages only through pipes; it uses `transport` to parse endpoints and
//!   open listeners, which it hands to the engine, and `session`'s configuration types
//!   (`SessionConfig`, `Security`, ...) to describe, from its options, the sessions the
//!   engine will run; it never drives a session itself. `engine` reaches a socket only by
//!   posting to its mailbox (`mailbox/`, beneath both: `engine` never imports `socket` or
//!   `monitor`), and the application's ZAP handler only through `engine::ZapHandler`,
//!   which the socket layer implements for a context.
//! - The lock-free code two threads share (`sys::ring`, `pipe/progress.rs`) takes its
//!   atomics from `sys::sync`: loom's under `--cfg loom`, for the model checks.
//! - Transports never call back into sockets; inproc joins sockets with a pipe directly.
//! - A pipe may hold a `DirectSink` (defined in `pipe/`, implemented in `engine/direct.rs`):
//!   a message sent right after the sending thread waited is written to its idle connection by
//!   that thread itself, under the connection's write lock, instead of crossing to the I/O
//!   thread.
//! - A pipe may hold a `DirectSource` (likewise, `engine/direct_rx.rs`): a thread blocked in
//!   `recv` on an empty pipe reads its connection itself, under the connection's read lock;
//!   a PULL's I/O thread hands a flood over to it at the high water mark.
//! - A session decodes runs of short data frames into a `FrameSink` (defined in `session/`,
//!   implemented over the pipe in `engine/pipe_sink.rs`), so floods skip the per-frame
//!   decoder without `session` knowing pipes.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod capabilities;
pub mod codec;
mod context;
pub mod ctx_options;
mod engine;
mod error;
mod mailbox;
mod message;
mod monitor;
mod options;
mod pipe;
mod poll;
mod proxy;
pub mod session;
mod socket;
mod socket_type;
mod sys;
mod transport;
mod z85;

pub use auth::{
    create_certificates, load_certificate, load_certificates, parse_certificate, public_certificate,
    secret_certificate, Authenticator, CurveClient,
};
pub use capabilities::{has, version};
pub use context::Context;
pub use error::{Error, Result, EFSM, EMTHREAD, ENOCOMPATPROTO, ETERM};
pub use message::{Message, Metadata, INLINE_CAPACITY, POOLED_MAX};
pub use monitor::{Monitor, MonitorEvent, SocketEvent, EVENT_ALL};
#[cfg(feature = "draft")]
pub use monitor::{MonitorEventV2, EVENT_PIPES_STATS};
/// libzmq's protocol error codes carried by [`SocketEvent::HandshakeFailedProtocol`].
pub mod protocol_error {
    pub use crate::monitor::{
        PROTOCOL_ERROR_CRYPTOGRAPHIC, PROTOCOL_ERROR_INVALID_METADATA, PROTOCOL_ERROR_INVALID_SEQUENCE,
        PROTOCOL_ERROR_MALFORMED_COMMAND, PROTOCOL_ERROR_MALFORMED_ERROR, PROTOCOL_ERROR_MALFORMED_HELLO,
        PROTOCOL_ERROR_MALFORMED_INITIATE, PROTOCOL_ERROR_MALFORMED_MESSAGE, PROTOCOL_ERROR_MALFORMED_READY,
        PROTOCOL_ERROR_MALFORMED_WELCOME, PROTOCOL_ERROR_MECHANISM_MISMATCH,
        PROTOCOL_ERROR_UNEXPECTED_COMMAND, PROTOCOL_ERROR_UNSPECIFIED,
    };
    pub use crate::monitor::{
        PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID, PROTOCOL_ERROR_ZAP_BAD_VERSION,
        PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE, PROTOCOL_ERROR_ZAP_MALFORMED_REPLY,
    };
}
#[cfg(feature = "draft")]
pub use message::GROUP_MAX_LENGTH;
pub use options::{OptionValue, Options, SocketOption};
pub use poll::{poll, poll_interruptible, PollItem, POLLERR, POLLPRI};
pub use proxy::{
    proxy, proxy_steerable, proxy_steerable_with_capture, proxy_with_capture, Proxy, ProxyStatistics,
    ProxyStats, ProxyStopper, SideStats,
};
#[cfg(feature = "draft")]
pub use socket::draft::{ReadinessSet, ThreadSafeSocket};
pub use socket::SendOrReturn;
pub use socket::{Socket, DONTWAIT, POLLIN, POLLOUT, SNDMORE};
pub use socket_type::SocketType;
pub use socket_type::SocketType::*;
pub use transport::Endpoint;
pub use z85::{curve_keypair, curve_public, z85_decode, z85_encode, CurveKeyPair};

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
