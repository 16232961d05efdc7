//! DGRAM: raw UDP datagrams (libzmq's `dgram_t`). The socket binds `udp://ip:port` (see
//! [`super::udp`]); each message is two frames, an address (`"ip:port"`) then a body: the
//! destination when sent, the source when received. One pipe, the udp endpoint's.

use super::super::routing::{FairQueue, LoadBalancer, PipeId, Pipes, Routing, SendError};
use crate::error::Error;
use crate::message::Message;

/// DGRAM's routing: a single pipe, messages of exactly two frames out.
#[derive(Default)]
pub(crate) struct Dgram {
    pipe: Option<PipeId>,
    out: LoadBalancer,
    inp: FairQueue,
    /// The address frame went; the body is next.
    more_out: bool,
}

impl Routing for Dgram {
    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        if self.pipe.is_some() {
            tracing::debug!("DGRAM socket already has its udp endpoint; refusing another pipe");
            return false;
        }
        self.pipe = Some(id);
        self.out.attach(id);
        self.inp.attach(id);
        true
    }

    fn detach(&mut self, id: PipeId) {
        if self.pipe == Some(id) {
            self.pipe = None;
            self.out.detach(id);
            self.inp.detach(id);
            self.more_out = false;
        }
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        if self.pipe.is_none() {
            return Err(SendError::Fail(Error::HostUnreachable));
        }
        // Two frames: the address with MORE, then the body without.
        if msg.get_more() == self.more_out {
            let what = if self.more_out {
                "the body ends a DGRAM message"
            } else {
                "a DGRAM message starts with an address frame (MORE)"
            };
            return Err(SendError::Fail(Error::invalid(what)));
        }
        let more = msg.get_more();
        self.out.send(msg, pipes)?;
        self.more_out = more;
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        self.inp.recv_msg(pipes)
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        self.pipe.is_some() && self.out.can_send(pipes)
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.inp.can_recv(pipes)
    }
}
