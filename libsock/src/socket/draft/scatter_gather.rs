//! SCATTER and GATHER: PUSH and PULL for single-part messages.

use super::super::routing::{FairQueue, LoadBalancer, PipeId, Pipes, Routing, SendError};
use super::refuse_more;
use crate::error::Error;
use crate::message::Message;

/// Receives the next single-part message, dropping multipart ones whole (libzmq's GATHER,
/// CLIENT and SERVER do the same). Returns the pipe it came from.
pub(super) fn recv_single(fq: &mut FairQueue, pipes: &mut Pipes) -> Result<(Message, PipeId), Error> {
    loop {
        let (msg, id) = fq.recv(pipes)?;
        if !msg.get_more() {
            return Ok((msg, id));
        }
        // Pipes publish whole messages: the rest of this one is there already.
        let mut more = true;
        while more {
            more = fq.recv(pipes)?.0.get_more();
        }
    }
}

/// SCATTER: round robin to GATHERs with room; blocks at HWM or with no peer.
#[derive(Default)]
pub(crate) struct Scatter {
    lb: LoadBalancer,
}

impl Routing for Scatter {
    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        self.lb.attach(id);
        true
    }

    fn detach(&mut self, id: PipeId) {
        self.lb.detach(id);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        self.lb.send(refuse_more(msg)?, pipes)
    }

    fn recv(&mut self, _: &mut Pipes) -> Result<Message, Error> {
        Err(Error::NotSupported)
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        self.lb.can_send(pipes)
    }

    fn can_recv(&mut self, _: &mut Pipes) -> bool {
        false
    }
}

/// GATHER: fair-queues from every SCATTER.
#[derive(Default)]
pub(crate) struct Gather {
    fq: FairQueue,
}

impl Routing for Gather {
    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        self.fq.attach(id);
        true
    }

    fn detach(&mut self, id: PipeId) {
        self.fq.detach(id);
    }

    fn send(&mut self, _: Message, _: &mut Pipes) -> Result<(), SendError> {
        Err(SendError::Fail(Error::NotSupported))
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        recv_single(&mut self.fq, pipes).map(|(msg, _)| msg)
    }

    fn can_send(&mut self, _: &mut Pipes) -> bool {
        false
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.can_recv(pipes)
    }
}
