//! libzmq's draft socket types (feature `draft`): CLIENT/SERVER, RADIO/DISH,
//! SCATTER/GATHER, PEER and CHANNEL, and [`ThreadSafeSocket`], the `Sync` socket they are
//! meant to be used through; and DGRAM (raw UDP, not thread-safe, in `dgram` and `udp`).
//!
//! All eight thread-safe types carry single-part messages only: sending with MORE fails with EINVAL, and a
//! multipart message from a peer is dropped whole, as libzmq does. Their wire behaviour
//! follows libzmq 4.3 (`src/server.cpp`, `radio.cpp`, `dish.cpp`):
//!
//! - CLIENT/SERVER, PEER, CHANNEL and SCATTER/GATHER put nothing extra on the wire: a
//!   SERVER's or PEER's routing ids are local (a random u32 start, counting up, never 0)
//!   and never sent.
//! - RADIO sends each message as two frames, the group (MORE) then the body; a DISH sends
//!   `JOIN`/`LEAVE` commands (ZMTP command frames `\x04JOIN<group>`, `\x05LEAVE<group>`),
//!   whatever the peer's ZMTP minor version. Inside libsock, joins travel the pipe as
//!   subscription-style messages (`0x01`/`0x00` + group) that the session turns into and out
//!   of those commands, and the I/O thread sends a DISH's current groups at every handshake
//!   (the mechanism SUB uses for its topics).

mod client_server;
mod dgram;
mod radio_dish;
mod readiness;
mod scatter_gather;
mod thread_safe;
pub(crate) mod udp;
mod udp_address;

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
        SocketType::PEER => Box::new(client_server::Server::new()),
        SocketType::CHANNEL => Box::<client_server::Channel>::default(),
        SocketType::DGRAM => Box::<dgram::Dgram>::default(),
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

    /// PEER: connects to `endpoint` like [`super::Socket::connect`] and returns the routing
    /// id that names the peer there (set it on messages to send them to that peer), as
    /// `zmq_connect_peer`. The pipe exists from now on, so the id is known before the
    /// connection is up; that needs IMMEDIATE off (libzmq refuses too). Other types:
    /// `NotSupported`.
    pub fn connect_peer(&self, endpoint: &str) -> crate::Result<u32> {
        let mut core = self.core();
        core.check_alive()?;
        if core.kind != SocketType::PEER {
            return Err(Error::NotSupported);
        }
        if core.options.immediate {
            return Err(Error::invalid("connect_peer needs IMMEDIATE off: with it no pipe exists to name"));
        }
        core.routing.take_last_routing_id();
        core.connect(endpoint)?;
        core.routing
            .take_last_routing_id()
            .ok_or_else(|| Error::invalid(format!("no peer to name at {endpoint:?} (a connection refused?)")))
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
