//! zmq.h's numbers that this crate uses itself (the header is checked against libsock's
//! own tables by `tests/abi.rs`).
#![allow(missing_docs)]

use std::ffi::c_int;

const HAUSNUMERO: c_int = 156_384_712;
pub const ENOTSOCK: c_int = libc::ENOTSOCK;
pub const EFSM: c_int = HAUSNUMERO + 51;
pub const ENOCOMPATPROTO: c_int = HAUSNUMERO + 52;
pub const ETERM: c_int = HAUSNUMERO + 53;
pub const EMTHREAD: c_int = HAUSNUMERO + 54;

// Context options.
pub const IO_THREADS: c_int = 1;
pub const MAX_SOCKETS: c_int = 2;
pub const SOCKET_LIMIT: c_int = 3;
pub const THREAD_PRIORITY: c_int = 3;
pub const THREAD_SCHED_POLICY: c_int = 4;
pub const MAX_MSGSZ: c_int = 5;
pub const MSG_T_SIZE: c_int = 6;
pub const IO_THREADS_DFLT: c_int = 1;
pub const MAX_SOCKETS_DFLT: c_int = 1023;
pub const BLOCKY: c_int = 70;

// Socket options that are actions or state rather than rows of libsock's option table.
pub const SUBSCRIBE: c_int = 6;
pub const UNSUBSCRIBE: c_int = 7;
pub const RCVMORE: c_int = 13;
pub const FD: c_int = 14;
pub const EVENTS: c_int = 15;
pub const TYPE: c_int = 16;
pub const LAST_ENDPOINT: c_int = 32;
pub const IPV6: c_int = 42;
/// Deprecated inverse of IPV6.
pub const IPV4ONLY: c_int = 31;
pub const MECHANISM: c_int = 43;
pub const PLAIN_SERVER: c_int = 44;
pub const PLAIN_USERNAME: c_int = 45;
pub const PLAIN_PASSWORD: c_int = 46;
pub const THREAD_SAFE: c_int = 81;

/// Read-only state options (setting them fails in libsock; never probed for their type).
pub const READ_ONLY: [c_int; 7] = [RCVMORE, FD, EVENTS, TYPE, LAST_ENDPOINT, MECHANISM, THREAD_SAFE];

/// Byte-string options libzmq returns NUL-terminated from `zmq_getsockopt`.
pub const STRING_OPTIONS: [c_int; 10] = [
    LAST_ENDPOINT,
    45,  // PLAIN_USERNAME
    46,  // PLAIN_PASSWORD
    55,  // ZAP_DOMAIN
    63,  // GSSAPI_PRINCIPAL
    64,  // GSSAPI_SERVICE_PRINCIPAL
    68,  // SOCKS_PROXY
    92,  // BINDTODEVICE
    99,  // SOCKS_USERNAME (draft)
    100, // SOCKS_PASSWORD (draft)
];
/// String options whose non-NULL empty value libzmq refuses (EINVAL); `(NULL, 0)` clears them.
pub const EMPTY_IS_INVALID: [c_int; 3] = [
    38, // TCP_ACCEPT_FILTER
    68, // SOCKS_PROXY
    92, // BINDTODEVICE
];
/// CURVE key options: 32 raw bytes, or Z85 text when read into a 41-byte buffer.
pub const CURVE_KEY_OPTIONS: [c_int; 3] = [48, 49, 50];

// Message properties.
pub const MORE: c_int = 1;
pub const SRCFD: c_int = 2;
pub const SHARED: c_int = 3;

// Poll events.
pub const POLLIN: i16 = 1;
pub const POLLOUT: i16 = 2;
pub const POLLERR: i16 = 4;

// Devices.
pub const STREAMER: c_int = 1;
pub const FORWARDER: c_int = 2;
pub const QUEUE: c_int = 3;

/// The libzmq release whose stable API the header reproduces.
pub const VERSION: (c_int, c_int, c_int) = (4, 3, 4);
