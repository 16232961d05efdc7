//! `DrpcClient`: calls a topology's DRPC function (Storm's `DRPCClient`).

use std::cell::Cell;
use std::time::{Duration, Instant};

use libsock::{Context, Socket, SocketType};

use super::protocol::{ERROR, OK};
use crate::components::Security;

/// Why a DRPC call gave no result.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DrpcError {
    /// The topology answered with an error (Storm's `DRPCExecutionException`): its tuple
    /// tree failed or timed out, the function is unknown there, the request was malformed…
    #[error("{0}")]
    Failed(String),
    /// No answer within the client's timeout.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// A socket error.
    #[error("{0}")]
    Socket(String),
    /// The answer was not `[OK|ERROR, payload]`.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

/// A DRPC client: a DEALER socket connected to a DRPC spout (or the queue in front of
/// several). One call at a time; a call that timed out leaves the client usable.
///
/// ```no_run
/// use dataflow::components::drpc::DrpcClient;
/// let client = DrpcClient::connect("tcp://127.0.0.1:3772")?;
/// let result = client.execute("exclamation", "hello")?;
/// # Ok::<(), dataflow::components::drpc::DrpcError>(())
/// ```
pub struct DrpcClient {
    socket: Socket,
    timeout: Duration,
    calls: Cell<u64>,
    _ctx: Context,
}

impl DrpcClient {
    /// Connects to `endpoint` (on a context of its own); calls wait 60 s at most.
    pub fn connect(endpoint: &str) -> Result<DrpcClient, DrpcError> {
        DrpcClient::connect_on(&Context::new(), endpoint)
    }

    /// Connects to `endpoint` on `ctx` (for `inproc://` endpoints).
    pub fn connect_on(ctx: &Context, endpoint: &str) -> Result<DrpcClient, DrpcError> {
        DrpcClient::connect_with(ctx, endpoint, &Security::Null)
    }

    /// Connects to `endpoint` on `ctx` as a CURVE or PLAIN client of a spout whose socket is
    /// a CURVE or PLAIN server (a server `security` is refused).
    pub fn connect_with(ctx: &Context, endpoint: &str, security: &Security) -> Result<DrpcClient, DrpcError> {
        let socket_error = |e: libsock::Error| DrpcError::Socket(e.to_string());
        if matches!(security, Security::CurveServer { .. } | Security::PlainServer { .. }) {
            return Err(DrpcError::Socket("a DRPC client is a CURVE or PLAIN client, not a server".into()));
        }
        security.validate([endpoint.to_owned()].iter()).map_err(DrpcError::Socket)?;
        // REQ's strict turns would leave the socket unusable after a timed-out call; a DEALER
        // with the REQ envelope (an empty delimiter) is answered the same and can go on.
        let socket = ctx.socket(SocketType::DEALER).map_err(socket_error)?;
        socket.set_linger(0).map_err(socket_error)?;
        security.apply(&socket).map_err(socket_error)?;
        socket.connect(endpoint).map_err(|e| DrpcError::Socket(format!("connect {endpoint}: {e}")))?;
        Ok(DrpcClient { socket, timeout: Duration::from_secs(60), calls: Cell::new(0), _ctx: ctx.clone() })
    }

    /// Calls wait at most this long for their answer.
    pub fn timeout(mut self, timeout: Duration) -> DrpcClient {
        self.timeout = timeout;
        self
    }

    /// Calls `function` with `args` and waits for its result.
    pub fn execute(&self, function: &str, args: &str) -> Result<String, DrpcError> {
        let bytes = self.execute_bytes(function.as_bytes(), args.as_bytes())?;
        String::from_utf8(bytes).map_err(|_| DrpcError::Malformed("the result is not UTF-8".into()))
    }

    /// [`DrpcClient::execute`] with bytes.
    pub fn execute_bytes(&self, function: &[u8], args: &[u8]) -> Result<Vec<u8>, DrpcError> {
        let socket_error = |e: libsock::Error| DrpcError::Socket(e.to_string());
        let timed_out = |e: libsock::Error| match e {
            libsock::Error::TimedOut | libsock::Error::WouldBlock => DrpcError::TimedOut(self.timeout),
            e => DrpcError::Socket(e.to_string()),
        };
        let deadline = Instant::now() + self.timeout;
        let millis_left = || {
            let left = deadline.saturating_duration_since(Instant::now());
            i32::try_from(left.as_millis()).unwrap_or(i32::MAX)
        };
        // The envelope comes back as sent: a number before the delimiter tells this call's
        // answer from a late one to an earlier call that timed out.
        let call = self.calls.get().wrapping_add(1);
        self.calls.set(call);
        let call = call.to_be_bytes();
        self.socket.set_sndtimeo(millis_left()).map_err(socket_error)?;
        self.socket.send_multipart([&call[..], b"", function, args], 0).map_err(timed_out)?;
        loop {
            self.socket.set_rcvtimeo(millis_left().max(1)).map_err(socket_error)?;
            let frames = self.socket.recv_multipart(0).map_err(timed_out)?;
            match <[Vec<u8>; 4]>::try_from(frames) {
                Ok([id, delimiter, status, payload]) if delimiter.is_empty() => {
                    if id != call {
                        continue;
                    }
                    return if status == OK {
                        Ok(payload)
                    } else if status == ERROR {
                        Err(DrpcError::Failed(String::from_utf8_lossy(&payload).into_owned()))
                    } else {
                        Err(DrpcError::Malformed(format!("status {:?}", String::from_utf8_lossy(&status))))
                    };
                }
                Ok(_) => return Err(DrpcError::Malformed("no empty delimiter".into())),
                Err(frames) => {
                    return Err(DrpcError::Malformed(format!(
                        "{} frames, not [call, \"\", status, payload]",
                        frames.len()
                    )))
                }
            }
        }
    }
}
