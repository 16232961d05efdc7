//! PAIR: exactly one peer; further peers are refused.

use super::routing::{FairQueue, LoadBalancer, PipeId, Pipes, Routing, SendError};
use crate::error::Error;
use crate::message::Message;

/// PAIR reuses the balancer and queue with at most one pipe in each.
#[derive(Default)]
pub(crate) struct Pair {
    peer: Option<PipeId>,
    out: LoadBalancer,
    inp: FairQueue,
}

impl Routing for Pair {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        let Some(ended) = pipes.room_for_one_peer(self.peer, "PAIR") else { return false };
        if let Some(old) = ended {
            self.detach(old);
        }
        self.peer = Some(id);
        self.out.attach(id);
        self.inp.attach(id);
        true
    }

    fn reading_from(&self) -> Option<PipeId> {
        self.inp.locked()
    }

    fn detach(&mut self, id: PipeId) {
        if self.peer == Some(id) {
            self.peer = None;
            self.out.detach(id);
            self.inp.detach(id);
        }
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        self.out.send(msg, pipes)
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        self.inp.recv_msg(pipes)
    }

    fn reads_into_cleared(&self) -> bool {
        true
    }

    fn recv_into(&mut self, pipes: &mut Pipes, out: &mut Message) -> Result<(), Error> {
        self.inp.recv_msg_into(pipes, out)
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        !self.out.is_empty() && self.out.can_send(pipes)
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.inp.can_recv(pipes)
    }
}
