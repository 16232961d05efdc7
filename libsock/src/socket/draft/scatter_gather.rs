//! SCATTER and GATHER: PUSH and PULL for single-part messages.

use super::super::pipeline::{Pull, Push};
use super::super::routing::{FairQueue, PipeId, Pipes, Routing, SendError};
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

/// SCATTER: a PUSH that refuses multipart messages.
#[derive(Default)]
pub(crate) struct Scatter(Push);

impl Routing for Scatter {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.0.attach(id, pipes)
    }

    fn detach(&mut self, id: PipeId) {
        self.0.detach(id);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        self.0.send(refuse_more(msg)?, pipes)
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        self.0.recv(pipes)
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        self.0.can_send(pipes)
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.0.can_recv(pipes)
    }
}

/// GATHER: a PULL that drops multipart messages.
#[derive(Default)]
pub(crate) struct Gather(Pull);

impl Routing for Gather {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.0.attach(id, pipes)
    }

    fn detach(&mut self, id: PipeId) {
        self.0.detach(id);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        self.0.send(msg, pipes)
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        recv_single(&mut self.0.fq, pipes).map(|(msg, _)| msg)
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        self.0.can_send(pipes)
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.0.can_recv(pipes)
    }
}
