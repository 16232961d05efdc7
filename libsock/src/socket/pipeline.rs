//! PUSH and PULL: the pipeline pattern.

use super::routing::{FairQueue, LoadBalancer, PipeId, Pipes, Routing, SendError};
use crate::error::Error;
use crate::message::Message;

/// PUSH: round robin to pullers with room; blocks at HWM or with no peer.
#[derive(Default)]
pub(crate) struct Push {
    lb: LoadBalancer,
}

impl Routing for Push {
    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        self.lb.attach(id);
        true
    }

    fn detach(&mut self, id: PipeId) {
        self.lb.detach(id);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        self.lb.send(msg, pipes)
    }

    fn recv(&mut self, _: &mut Pipes) -> Result<Message, Error> {
        Err(Error::NotSupported)
    }

    fn refuses_recv(&self) -> bool {
        true
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        self.lb.can_send(pipes)
    }

    fn can_recv(&mut self, _: &mut Pipes) -> bool {
        false
    }
}

/// PULL: fair-queues messages from every pusher.
#[derive(Default)]
pub(crate) struct Pull {
    pub(super) fq: FairQueue,
}

impl Routing for Pull {
    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        self.fq.attach(id);
        true
    }

    fn reading_from(&self) -> Option<PipeId> {
        self.fq.locked()
    }

    fn detach(&mut self, id: PipeId) {
        self.fq.detach(id);
    }

    fn send(&mut self, _: Message, _: &mut Pipes) -> Result<(), SendError> {
        Err(SendError::Fail(Error::NotSupported))
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        self.fq.recv_msg(pipes)
    }

    fn reads_into_cleared(&self) -> bool {
        true
    }

    fn recv_into(&mut self, pipes: &mut Pipes, out: &mut Message) -> Result<(), Error> {
        self.fq.recv_msg_into(pipes, out)
    }

    fn can_send(&mut self, _: &mut Pipes) -> bool {
        false
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.can_recv(pipes)
    }
}
