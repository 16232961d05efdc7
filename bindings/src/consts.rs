//! zmq.h's numbers that this crate uses itself (the header is checked against libsock's
//! own tables by `tests/abi.rs`).

use std::ffi::c_int;

const HAUSNUMERO: c_int = 156_384_712;
/// `ZMQ_ENOTSOCK`: not a socket handle (the system value on Linux).
pub const ENOTSOCK: c_int = libc::ENOTSOCK;
/// `EFSM`: the operation is not allowed in the socket's current state (REQ/REP turns).
pub const EFSM: c_int = HAUSNUMERO + 51;
/// `ENOCOMPATPROTO`: the transport does not fit the socket type.
pub const ENOCOMPATPROTO: c_int = HAUSNUMERO + 52;
/// `ETERM`: the context was terminated.
pub const ETERM: c_int = HAUSNUMERO + 53;
/// `EMTHREAD`: no I/O thread is available.
pub const EMTHREAD: c_int = HAUSNUMERO + 54;

// Context options.
/// `ZMQ_IO_THREADS`: the context's I/O thread count.
pub const IO_THREADS: c_int = 1;
/// `ZMQ_MAX_SOCKETS`: how many sockets the context may hold.
pub const MAX_SOCKETS: c_int = 2;
/// `ZMQ_SOCKET_LIMIT`: the largest `ZMQ_MAX_SOCKETS` accepted (read only).
pub const SOCKET_LIMIT: c_int = 3;
/// `ZMQ_THREAD_PRIORITY`: the I/O threads' scheduling priority (same number as SOCKET_LIMIT in zmq.h; set only).
pub const THREAD_PRIORITY: c_int = 3;
/// `ZMQ_THREAD_SCHED_POLICY`: the I/O threads' scheduling policy.
pub const THREAD_SCHED_POLICY: c_int = 4;
/// `ZMQ_MAX_MSGSZ`: the largest message size the context accepts (context option).
pub const MAX_MSGSZ: c_int = 5;
/// `ZMQ_MSG_T_SIZE`: `sizeof(zmq_msg_t)` (read only).
pub const MSG_T_SIZE: c_int = 6;
/// `ZMQ_IO_THREADS_DFLT`: the default I/O thread count.
pub const IO_THREADS_DFLT: c_int = 1;
/// `ZMQ_MAX_SOCKETS_DFLT`: the default socket limit.
pub const MAX_SOCKETS_DFLT: c_int = 1023;
/// `ZMQ_BLOCKY`: whether `zmq_ctx_term` waits for lingering messages (context option).
pub const BLOCKY: c_int = 70;

// Socket options that are actions or state rather than rows of libsock's option table.
/// `ZMQ_SUBSCRIBE`: adds a SUB/XSUB topic prefix.
pub const SUBSCRIBE: c_int = 6;
/// `ZMQ_UNSUBSCRIBE`: removes a SUB/XSUB topic prefix.
pub const UNSUBSCRIBE: c_int = 7;
/// `ZMQ_RCVMORE`: whether the last frame received has more frames after it.
pub const RCVMORE: c_int = 13;
/// `ZMQ_FD`: the descriptor that signals the socket's events (edge-triggered).
pub const FD: c_int = 14;
/// `ZMQ_EVENTS`: `ZMQ_POLLIN`/`ZMQ_POLLOUT` as they stand now.
pub const EVENTS: c_int = 15;
/// `ZMQ_TYPE`: the socket type.
pub const TYPE: c_int = 16;
/// `ZMQ_LAST_ENDPOINT`: the endpoint last bound, with the port resolved.
pub const LAST_ENDPOINT: c_int = 32;
/// `ZMQ_IPV6`: whether tcp endpoints may use IPv6.
pub const IPV6: c_int = 42;
/// Deprecated inverse of IPV6.
pub const IPV4ONLY: c_int = 31;
/// `ZMQ_MECHANISM`: the security mechanism (NULL, PLAIN, CURVE).
pub const MECHANISM: c_int = 43;
/// `ZMQ_PLAIN_SERVER`: act as a PLAIN server.
pub const PLAIN_SERVER: c_int = 44;
/// `ZMQ_PLAIN_USERNAME`: the PLAIN client's user name.
pub const PLAIN_USERNAME: c_int = 45;
/// `ZMQ_PLAIN_PASSWORD`: the PLAIN client's password.
pub const PLAIN_PASSWORD: c_int = 46;
/// `ZMQ_THREAD_SAFE`: whether the socket may be used from several threads (read only).
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
/// Options whose non-NULL empty value libzmq refuses (EINVAL); `(NULL, 0)` clears them.
pub const EMPTY_IS_INVALID: [c_int; 7] = [
    38, // TCP_ACCEPT_FILTER
    55, // ZAP_DOMAIN
    58, // IPC_FILTER_PID
    59, // IPC_FILTER_UID
    60, // IPC_FILTER_GID
    68, // SOCKS_PROXY
    92, // BINDTODEVICE
];
/// CURVE key options: 32 raw bytes, or Z85 text when read into a 41-byte buffer.
pub const CURVE_KEY_OPTIONS: [c_int; 3] = [48, 49, 50];

// Message properties.
/// `ZMQ_MORE`: the message property "more frames follow".
pub const MORE: c_int = 1;
/// `ZMQ_SRCFD`: the message property "descriptor it came in on".
pub const SRCFD: c_int = 2;
/// `ZMQ_SHARED`: the message property "body shared with a copy".
pub const SHARED: c_int = 3;

// Poll events.
/// `ZMQ_POLLIN`: a message can be received (or an fd is readable).
pub const POLLIN: i16 = 1;
/// `ZMQ_POLLOUT`: a message can be sent (or an fd is writable).
pub const POLLOUT: i16 = 2;
/// `ZMQ_POLLERR`: an error condition on a polled fd.
pub const POLLERR: i16 = 4;

// Devices.
/// `ZMQ_STREAMER`: `zmq_device` kind, a PULL→PUSH relay.
pub const STREAMER: c_int = 1;
/// `ZMQ_FORWARDER`: `zmq_device` kind, a SUB→PUB relay.
pub const FORWARDER: c_int = 2;
/// `ZMQ_QUEUE`: `zmq_device` kind, a ROUTER→DEALER relay.
pub const QUEUE: c_int = 3;

/// The libzmq release whose stable API the header reproduces ([`libsock::version`]).
pub const VERSION: (c_int, c_int, c_int) = libsock::version();
