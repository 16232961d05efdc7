//! The handler side of ZAP as the engine asks it ([`ZapHandler`]): a context answers whether
//! a handler is bound in it, and runs each request through a REQ socket of its own.

use std::sync::Arc;

use super::Socket;
use crate::context::ContextInner;
use crate::engine::{ZapHandler, ZAP_ENDPOINT};
use crate::socket_type::SocketType;

/// How long a helper waits for the handler before answering "500" itself.
const ZAP_TIMEOUT_MS: i32 = 10_000;

impl ZapHandler for ContextInner {
    fn is_bound(&self) -> bool {
        self.inproc.is_bound(&ZAP_ENDPOINT["inproc://".len()..])
    }

    fn exchange(self: Arc<Self>, request: &[Vec<u8>]) -> crate::Result<Vec<Vec<u8>>> {
        let req = Socket::new(self, SocketType::REQ)?;
        req.set_linger(0)?;
        req.set_rcvtimeo(ZAP_TIMEOUT_MS)?;
        req.set_sndtimeo(ZAP_TIMEOUT_MS)?;
        req.connect(ZAP_ENDPOINT)?;
        req.send_multipart(request, 0)?;
        req.recv_multipart(0)
    }
}
