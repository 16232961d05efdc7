//! The library's error type, mapped one-to-one onto the errno values libzmq reports.

use std::io;

/// Errors from socket and context operations.
///
/// Every variant maps onto one errno value ([`Error::to_raw`]), the value libzmq's C API would
/// report, so the C bindings and users coming from the `zmq` crate see familiar codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Non-blocking mode was requested and the operation cannot complete now (`EAGAIN`).
    #[error("resource temporarily unavailable")]
    WouldBlock,
    /// A send or receive timeout (`SNDTIMEO`/`RCVTIMEO`) expired (`EAGAIN`, as in libzmq).
    #[error("operation timed out")]
    TimedOut,
    /// The operation is not valid in the socket's current state (`EFSM`), e.g. REQ sending twice.
    #[error("operation cannot be accomplished in current state")]
    InvalidState,
    /// The socket type does not support the operation (`ENOTSUP`).
    #[error("operation not supported by this socket type")]
    NotSupported,
    /// An argument, option value or endpoint is invalid (`EINVAL`).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The endpoint's transport is not known (`EPROTONOSUPPORT`).
    #[error("protocol not supported: {0}")]
    ProtocolNotSupported(String),
    /// The transport cannot be used by this socket type, or not this way round
    /// (`ENOCOMPATPROTO`): `udp://` is for a RADIO's connect and a DISH's bind only.
    #[error("protocol not compatible with the socket type: {0}")]
    IncompatibleProtocol(String),
    /// The address is in use (`EADDRINUSE`).
    #[error("address already in use: {0}")]
    AddrInUse(String),
    /// The address cannot be bound on this host (`EADDRNOTAVAIL`).
    #[error("cannot assign requested address: {0}")]
    AddrNotAvailable(String),
    /// Unbinding or disconnecting an endpoint the socket does not have, or an inproc
    /// endpoint nobody bound (`ENOENT`).
    #[error("no such endpoint: {0}")]
    NoSuchEndpoint(String),
    /// A ROUTER with `ROUTER_MANDATORY` was asked to send to an unknown peer (`EHOSTUNREACH`).
    #[error("host unreachable")]
    HostUnreachable,
    /// The context was terminated (`ETERM`).
    #[error("context was terminated")]
    ContextTerminated,
    /// The message is larger than allowed (`EMSGSIZE`).
    #[error("message too long")]
    MessageTooLong,
    /// Too many sockets or file descriptors (`EMFILE`).
    #[error("too many open files")]
    TooManyOpenFiles,
    /// The context has no I/O thread to serve a tcp or ipc endpoint (`EMTHREAD`):
    /// `IO_THREADS` was set to 0, which leaves inproc only.
    #[error("no I/O thread is available (IO_THREADS = 0)")]
    NoIoThread,
    /// A signal handler ran while the call was blocked (`EINTR`); the call can be retried.
    /// Only on sockets that ask for it ([`crate::Socket::set_interruptible`], which the C
    /// API sets on every socket as libzmq behaves), in their blocking sends, receives and
    /// polls, and in [`crate::poll_interruptible`].
    #[error("interrupted system call")]
    Interrupted,
    /// An operating system error (its own errno).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// libzmq's own errno values for conditions POSIX has no code for.
const ZMQ_HAUSNUMERO: i32 = 156_384_712;
/// `EFSM` as libzmq defines it.
pub const EFSM: i32 = ZMQ_HAUSNUMERO + 51;
/// `ENOCOMPATPROTO` as libzmq defines it.
pub const ENOCOMPATPROTO: i32 = ZMQ_HAUSNUMERO + 52;
/// `ETERM` as libzmq defines it.
pub const ETERM: i32 = ZMQ_HAUSNUMERO + 53;
/// `EMTHREAD` as libzmq defines it.
pub const EMTHREAD: i32 = ZMQ_HAUSNUMERO + 54;

const EAGAIN: i32 = 11;
const EINVAL: i32 = 22;
const ENOTSUP: i32 = 95;
const EPROTONOSUPPORT: i32 = 93;
const EADDRINUSE: i32 = 98;
const EADDRNOTAVAIL: i32 = 99;
const ENOENT: i32 = 2;
const EHOSTUNREACH: i32 = 113;
const EMSGSIZE: i32 = 90;
const EMFILE: i32 = 24;
const EIO: i32 = 5;
const EINTR: i32 = 4;

impl Error {
    /// The errno value libzmq would set for this error.
    pub fn to_raw(&self) -> i32 {
        match self {
            Error::WouldBlock | Error::TimedOut => EAGAIN,
            Error::InvalidState => EFSM,
            Error::NotSupported => ENOTSUP,
            Error::InvalidArgument(_) => EINVAL,
            Error::ProtocolNotSupported(_) => EPROTONOSUPPORT,
            Error::IncompatibleProtocol(_) => ENOCOMPATPROTO,
            Error::AddrInUse(_) => EADDRINUSE,
            Error::AddrNotAvailable(_) => EADDRNOTAVAIL,
            Error::NoSuchEndpoint(_) => ENOENT,
            Error::HostUnreachable => EHOSTUNREACH,
            Error::ContextTerminated => ETERM,
            Error::MessageTooLong => EMSGSIZE,
            Error::TooManyOpenFiles => EMFILE,
            Error::NoIoThread => EMTHREAD,
            Error::Interrupted => EINTR,
            Error::Io(e) => e.raw_os_error().unwrap_or(EIO),
        }
    }

    /// Classifies an OS error from binding `endpoint`.
    pub(crate) fn from_bind(err: io::Error, endpoint: &str) -> Error {
        match err.kind() {
            io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_owned()),
            io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable(endpoint.to_owned()),
            _ if err.raw_os_error() == Some(EMFILE) => Error::TooManyOpenFiles,
            _ => Error::Io(err),
        }
    }

    /// An OS error from a wait that a signal may end: EINTR becomes [`Error::Interrupted`].
    pub(crate) fn from_wait(err: io::Error) -> Error {
        if err.kind() == io::ErrorKind::Interrupted {
            Error::Interrupted
        } else {
            Error::Io(err)
        }
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Error {
        Error::InvalidArgument(what.into())
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        match err {
            Error::Io(e) => e,
            Error::WouldBlock => io::ErrorKind::WouldBlock.into(),
            Error::TimedOut => io::ErrorKind::TimedOut.into(),
            Error::Interrupted => io::ErrorKind::Interrupted.into(),
            other => io::Error::other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_values_match_libzmq() {
        assert_eq!(Error::WouldBlock.to_raw(), 11);
        assert_eq!(Error::InvalidState.to_raw(), 156_384_763);
        assert_eq!(Error::ContextTerminated.to_raw(), 156_384_765);
        assert_eq!(Error::IncompatibleProtocol(String::new()).to_raw(), 156_384_764);
        assert_eq!(Error::HostUnreachable.to_raw(), 113);
        assert_eq!(Error::NoIoThread.to_raw(), 156_384_766);
        assert_eq!(Error::Interrupted.to_raw(), 4);
        let refused = io::Error::from_raw_os_error(111);
        assert_eq!(Error::Io(refused).to_raw(), 111);
    }

    #[test]
    fn bind_errors_are_classified() {
        let e = Error::from_bind(io::ErrorKind::AddrInUse.into(), "tcp://x:1");
        assert!(matches!(e, Error::AddrInUse(ep) if ep == "tcp://x:1"));
    }
}
