//! # libsock's C ABI: `zmq.h`, implemented on libsock
//!
//! A C or C++ program written for libzmq 4.3 compiles against `include/zmq.h` and links
//! against `libsock.so` (or `libsock.a`) instead of libzmq, unchanged.
//!
//! ## Rules of this crate (after rustls-ffi)
//!
//! - Every `extern "C"` function is a thin wrapper: it checks its pointers, runs its body
//!   behind a panic boundary ([`boundary`]), maps errors to `errno` and calls libsock's
//!   public Rust API. No messaging logic lives here. The exceptions have no path that can
//!   panic, so no boundary: the small utilities (`zmq_strerror`, `zmq_version`, the atomic
//!   counters, stopwatches, `zmq_sleep`, `zmq_threadclose`) and the hot paths of
//!   `zmq_msg_init_size` and `zmq_msg_close` (which say why where they skip it).
//! - Handles (`void *` contexts and sockets) start with a tag word, so NULL, closed and
//!   wrong-kind handles give libzmq's errors (`EFAULT`, `ENOTSOCK`) instead of undefined
//!   behaviour; closed handles stay allocated for a while ([`handle`]) so the check is sound.
//! - `unsafe` is allowed in this crate only (the workspace denies it elsewhere); every block
//!   says why it is sound in a `// SAFETY:` comment.
//! - Socket options go through libsock's by-number path ([`libsock::SocketOption`]), so
//!   options added to libsock's table appear in C with no change here.
#![allow(unsafe_code)]
#![allow(non_camel_case_types)]
#![warn(missing_docs)]

pub mod boundary;
pub mod consts;
pub mod context;
#[cfg(feature = "draft")]
pub mod draft;
pub mod handle;
#[cfg(feature = "draft")]
pub mod monitor;
pub mod msg;
pub mod poll;
#[cfg(feature = "draft")]
pub mod poller;
pub mod proxy;
pub mod sock;
pub mod socket;
pub mod sockopt;
pub mod timers;
pub mod utils;
pub mod z85;

pub use msg::zmq_msg_t;
pub use poll::zmq_pollitem_t;
