//! Exit codes, and the errors that pick them.
//!
//! Every failure travels as an [`anyhow::Error`] whose message is what the user sees after
//! `sockcat: `. A [`TimedOut`] anywhere in its chain makes the exit code [`TIMED_OUT`];
//! anything else is [`RUNTIME_ERROR`]. Usage errors never get this far: clap reports them.

use std::fmt;

use anyhow::anyhow;
use libsock::Error;

/// Exit code: success.
pub const SUCCESS: u8 = 0;
/// Exit code: runtime error (bad endpoint, bind refused, unsupported type, I/O).
pub const RUNTIME_ERROR: u8 = 1;
/// Exit code: usage error (clap's own code for bad arguments).
pub const USAGE_ERROR: u8 = 2;
/// Exit code: `--timeout` expired.
pub const TIMED_OUT: u8 = 3;

/// What `--timeout` expired on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Waiting for a message to arrive.
    Receive,
    /// Waiting for room to queue a message (no peer, or peers at their high water mark).
    Send,
}

/// `--timeout` expired: exit code [`TIMED_OUT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    /// What sockcat was waiting for.
    pub waiting: Waiting,
    /// The `--timeout` value, in milliseconds.
    pub ms: u32,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.waiting {
            Waiting::Receive => write!(f, "timed out: no message arrived within {} ms", self.ms),
            Waiting::Send => {
                write!(f, "timed out: could not send a message within {} ms (is a peer connected?)", self.ms)
            }
        }
    }
}

impl std::error::Error for TimedOut {}

/// The exit code for an error: [`TIMED_OUT`] if a [`TimedOut`] is in its chain.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<TimedOut>()) {
        TIMED_OUT
    } else {
        RUNTIME_ERROR
    }
}

/// Turns a libsock error from a send or receive into sockcat's error: an expired SNDTIMEO or
/// RCVTIMEO (or `--timeout 0`, which makes every wait fail at once) becomes [`TimedOut`].
pub fn io_error(err: Error, waiting: Waiting, timeout_ms: Option<u32>) -> anyhow::Error {
    match (err, timeout_ms) {
        (Error::TimedOut | Error::WouldBlock, Some(ms)) => TimedOut { waiting, ms }.into(),
        (err, _) => {
            let what = match waiting {
                Waiting::Receive => "receive",
                Waiting::Send => "send",
            };
            anyhow!("cannot {what}: {err}")
        }
    }
}

/// Judges a finished send: `Ok(true)` sent; `Ok(false)` dropped with a warning because a
/// ROUTER has no peer with the routing id in the first frame (sockcat sets ROUTER_MANDATORY
/// so that this is reported instead of silent); anything else is an error.
pub fn check_sent(
    result: libsock::Result<()>,
    frames: &[Vec<u8>],
    timeout_ms: Option<u32>,
) -> anyhow::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(Error::HostUnreachable) => {
            let id = frames.first().map(|f| String::from_utf8_lossy(f)).unwrap_or_default();
            tracing::warn!("no peer with routing id {id:?}; message dropped");
            Ok(false)
        }
        Err(e) => Err(io_error(e, Waiting::Send, timeout_ms)),
    }
}

/// Explains a failed bind or connect, naming the endpoint.
pub fn endpoint_error(err: Error, verb: &str, endpoint: &str) -> anyhow::Error {
    match err {
        Error::InvalidArgument(why) => anyhow!("invalid endpoint {endpoint:?}: {why}"),
        Error::ProtocolNotSupported(why) if why.contains("STREAM") => {
            anyhow!("invalid endpoint {endpoint:?}: {why}")
        }
        Error::ProtocolNotSupported(_) => {
            anyhow!(
                "invalid endpoint {endpoint:?}: unknown transport (use tcp://, ipc://, inproc:// or ws://)"
            )
        }
        Error::IncompatibleProtocol(why) => anyhow!("invalid endpoint {endpoint:?}: {why}"),
        Error::AddrInUse(_) => anyhow!("cannot {verb} {endpoint:?}: address already in use"),
        Error::AddrNotAvailable(_) => {
            anyhow!("cannot {verb} {endpoint:?}: address not available on this host")
        }
        err => anyhow!("cannot {verb} {endpoint:?}: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_pick_exit_code_3_even_with_context() {
        let e = io_error(Error::TimedOut, Waiting::Receive, Some(200));
        assert_eq!(exit_code(&e), TIMED_OUT);
        assert_eq!(e.to_string(), "timed out: no message arrived within 200 ms");
        assert_eq!(exit_code(&e.context("while doing X")), TIMED_OUT);
        let e = io_error(Error::WouldBlock, Waiting::Send, Some(0));
        assert!(e.to_string().contains("could not send"));
        assert_eq!(exit_code(&anyhow!("boom")), RUNTIME_ERROR);
    }

    #[test]
    fn other_io_errors_are_runtime_errors() {
        let e = io_error(Error::ContextTerminated, Waiting::Send, Some(5));
        assert_eq!(exit_code(&e), RUNTIME_ERROR);
        assert_eq!(e.to_string(), "cannot send: context was terminated");
    }

    #[test]
    fn unroutable_messages_are_dropped_not_fatal() {
        let frames = [b"nobody".to_vec(), b"hi".to_vec()];
        assert!(check_sent(Ok(()), &frames, None).unwrap());
        assert!(!check_sent(Err(Error::HostUnreachable), &frames, None).unwrap());
        let err = check_sent(Err(Error::TimedOut), &frames, Some(9)).unwrap_err();
        assert_eq!(exit_code(&err), TIMED_OUT);
    }

    #[test]
    fn endpoint_errors_name_the_endpoint() {
        let e = endpoint_error(Error::AddrInUse("x".into()), "bind to", "tcp://127.0.0.1:1");
        assert_eq!(e.to_string(), "cannot bind to \"tcp://127.0.0.1:1\": address already in use");
        let e = endpoint_error(Error::InvalidArgument("why".into()), "connect to", "tcp://nope");
        assert_eq!(e.to_string(), "invalid endpoint \"tcp://nope\": why");
        let e = endpoint_error(Error::ProtocolNotSupported("udp".into()), "bind to", "udp://x");
        assert!(e.to_string().starts_with("invalid endpoint \"udp://x\""));
    }
}
