//! libzmq's draft socket types (feature `draft`): CLIENT/SERVER, RADIO/DISH and
//! SCATTER/GATHER, and [`ThreadSafeSocket`], the `Sync` socket they are meant to be used
//! through.
//!
//! All six carry single-part messages only: sending with MORE fails with EINVAL, and a
//! multipart message from a peer is dropped whole, as libzmq does. Their wire behaviour
//! follows libzmq 4.3 (`src/server.cpp`, `radio.cpp`, `dish.cpp`):
//!
//! - CLIENT/SERVER and SCATTER/GATHER put nothing extra on the wire: a SERVER's routing ids
//!   are local (a random u32 start, counting up, never 0) and never sent.
//! - RADIO sends each message as two frames, the group (MORE) then the body; a DISH sends
//!   `JOIN`/`LEAVE` commands (ZMTP command frames `\x04JOIN<group>`, `\x05LEAVE<group>`),
//!   whatever the peer's ZMTP minor version. Inside libsock, joins travel the pipe as
//!   subscription-style messages (`0x01`/`0x00` + group) that the session turns into and out
//!   of those commands, and the I/O thread sends a DISH's current groups at every handshake
//!   (the mechanism SUB uses for its topics).

mod client_server;
mod radio_dish;
mod readiness;
mod scatter_gather;
mod thread_safe;
pub(crate) mod udp;

pub use readiness::ReadinessSet;
pub use thread_safe::ThreadSafeSocket;

use std::sync::Arc;

use super::routing::{Routing, SendError};
use super::SocketShared;
use crate::error::Error;
use crate::message::Message;
use crate::socket_type::SocketType;

/// The routing of a draft type.
pub(crate) fn routing(kind: SocketType, shared: &Arc<SocketShared>) -> Box<dyn Routing> {
    match kind {
        SocketType::SERVER => Box::new(client_server::Server::new()),
        SocketType::CLIENT => Box::<client_server::Client>::default(),
        SocketType::RADIO => Box::<radio_dish::Radio>::default(),
        SocketType::DISH => Box::new(radio_dish::Dish::new(shared.clone())),
        SocketType::GATHER => Box::<scatter_gather::Gather>::default(),
        _ => Box::<scatter_gather::Scatter>::default(),
    }
}

/// Thread-safe types refuse multipart messages (libzmq: EINVAL).
fn refuse_more(msg: Message) -> Result<Message, SendError> {
    if msg.get_more() {
        return Err(SendError::Fail(Error::invalid("this socket type sends single-part messages only")));
    }
    Ok(msg)
}

/// DISH group membership on a plain (single-thread) [`super::Socket`] (feature `draft`);
/// [`ThreadSafeSocket`] has the same methods.
impl super::Socket {
    /// DISH: receive the messages of `group` (EINVAL if already joined), `zmq_join`.
    pub fn join(&self, group: &str) -> crate::Result<()> {
        self.group_change(group, true)
    }

    /// DISH: stop receiving `group` (EINVAL if not joined), `zmq_leave`.
    pub fn leave(&self, group: &str) -> crate::Result<()> {
        self.group_change(group, false)
    }

    fn group_change(&self, group: &str, join: bool) -> crate::Result<()> {
        let mut core = self.core();
        core.check_alive()?;
        if core.kind != SocketType::DISH {
            return Err(Error::NotSupported);
        }
        core.change_subscription(group.as_bytes(), join)
    }
}
