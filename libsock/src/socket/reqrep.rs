//! DEALER, REQ and REP.
//!
//! REQ and REP speak the envelope convention: a request or reply is preceded by routing
//! frames ending with an empty delimiter frame. REQ adds the delimiter (and, with
//! REQ_CORRELATE, a request id before it); REP keeps the envelope of each request and puts it
//! back in front of the reply.

use super::routing::{FairQueue, LoadBalancer, PipeId, Pipes, Routing, SendError};
use crate::error::Error;
use crate::message::Message;
use crate::options::Options;

/// DEALER: round robin out, fair queue in, no envelopes.
#[derive(Default)]
pub(crate) struct Dealer {
    lb: LoadBalancer,
    pub(super) fq: FairQueue,
}

impl Routing for Dealer {
    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        self.lb.attach(id);
        self.fq.attach(id);
        true
    }

    fn reading_from(&self) -> Option<PipeId> {
        self.fq.locked()
    }

    fn detach(&mut self, id: PipeId) {
        self.lb.detach(id);
        self.fq.detach(id);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        self.lb.send(msg, pipes)
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

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        !self.lb.is_empty() && self.lb.can_send(pipes)
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.can_recv(pipes)
    }
}

fn frame(body: &[u8], more: bool) -> Message {
    let mut m = Message::from_slice(body);
    m.set_more(more);
    m
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqState {
    /// Ready to send a request.
    Idle,
    /// Request frames are going out.
    Sending,
    /// Waiting for the reply's envelope.
    Waiting,
    /// Reply frames are coming in.
    Receiving,
}

/// REQ: strict send/receive alternation, one outstanding request.
pub(crate) struct Req {
    lb: LoadBalancer,
    state: ReqState,
    /// The pipe the outstanding request went to: only its reply is accepted.
    reply_pipe: Option<PipeId>,
    relaxed: bool,
    correlate: bool,
    request_id: u32,
}

impl Req {
    pub(crate) fn new() -> Req {
        Req {
            lb: LoadBalancer::default(),
            state: ReqState::Idle,
            reply_pipe: None,
            relaxed: false,
            correlate: false,
            request_id: 0x5eed_0000,
        }
    }

    /// Sends the envelope (request id if correlating, then the delimiter) to the next pipe.
    fn start_request(&mut self, pipes: &mut Pipes) -> Result<(), SendError> {
        self.request_id = self.request_id.wrapping_add(1);
        let head =
            if self.correlate { frame(&self.request_id.to_be_bytes(), true) } else { frame(&[], true) };
        self.lb.send(head, pipes)?;
        if self.correlate {
            // The load balancer is locked on the pipe now; this cannot fail.
            let _ = self.lb.send(frame(&[], true), pipes);
        }
        self.reply_pipe = self.lb.locked();
        self.state = ReqState::Sending;
        // Whatever has arrived by now answers an earlier request: dropped, as libzmq's
        // req_t does when a request begins, so a late reply to an abandoned request (or a
        // stray message) is never taken for this one's reply.
        // (Without parking the readers: a read of an empty pipe asks its writer for a
        // wake-up, ~85 instructions a request in `Req::send`; this look costs ~3.)
        for &p in self.lb.pipes() {
            pipes.end(p).rx.discard_ready();
        }
        Ok(())
    }

    /// Reads the reply envelope from `pipe`; returns false (after dropping the message) if it
    /// is not the envelope of our request.
    fn accept_envelope(&mut self, pipe: PipeId, pipes: &mut Pipes) -> Option<bool> {
        let end = pipes.end(pipe);
        let first = end.rx.read()?;
        let mut ok = first.get_more();
        if ok && self.correlate {
            ok = *first == self.request_id.to_be_bytes();
            if ok {
                ok = end.rx.read().is_some_and(|d| d.is_empty() && d.get_more());
            }
        } else if ok {
            ok = first.is_empty();
        }
        if !ok {
            // Drop the rest of the malformed or stale reply.
            let mut more = first.get_more();
            while more {
                more = end.rx.read().is_some_and(|m| m.get_more());
            }
        }
        Some(ok)
    }
}

impl Routing for Req {
    fn configure(&mut self, o: &Options) {
        self.relaxed = o.req_relaxed;
        self.correlate = o.req_correlate;
    }

    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        self.lb.attach(id);
        true
    }

    fn reading_from(&self) -> Option<PipeId> {
        if self.state == ReqState::Receiving {
            self.reply_pipe
        } else {
            None
        }
    }

    fn detach(&mut self, id: PipeId) {
        self.lb.detach(id);
        if self.reply_pipe == Some(id) {
            self.reply_pipe = None;
        }
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        match self.state {
            ReqState::Waiting | ReqState::Receiving if !self.relaxed => {
                return Err(SendError::Fail(Error::InvalidState))
            }
            ReqState::Waiting | ReqState::Receiving => self.state = ReqState::Idle,
            _ => {}
        }
        if self.state == ReqState::Idle {
            if let Err(e) = self.start_request(pipes) {
                return Err(match e {
                    SendError::Again(_) => SendError::Again(msg),
                    fail => fail,
                });
            }
        }
        let more = msg.get_more();
        self.lb.send(msg, pipes)?;
        if !more {
            self.state = ReqState::Waiting;
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        match self.state {
            ReqState::Idle | ReqState::Sending => return Err(Error::InvalidState),
            ReqState::Receiving => {}
            ReqState::Waiting => loop {
                let Some(pipe) = self.reply_pipe else { return Err(Error::WouldBlock) };
                // Replies from other peers answer abandoned requests: drop them (as libzmq).
                for &other in self.lb.pipes().iter().filter(|p| **p != pipe) {
                    while pipes.end(other).rx.read().is_some() {}
                }
                match self.accept_envelope(pipe, pipes) {
                    None if pipes.end(pipe).rx.is_terminated() => {
                        pipes.mark_dead(pipe);
                        return Err(Error::WouldBlock);
                    }
                    None => return Err(Error::WouldBlock),
                    Some(true) => {
                        self.state = ReqState::Receiving;
                        break;
                    }
                    Some(false) => {}
                }
            },
        }
        let pipe = self.reply_pipe.ok_or(Error::WouldBlock)?;
        let msg = pipes.end(pipe).rx.read().ok_or(Error::WouldBlock)?;
        if !msg.get_more() {
            self.state = ReqState::Idle;
        }
        Ok(msg)
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        (self.relaxed || matches!(self.state, ReqState::Idle | ReqState::Sending)) && self.lb.can_send(pipes)
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        matches!(self.state, ReqState::Waiting | ReqState::Receiving)
            && self.reply_pipe.is_some_and(|p| pipes.end(p).rx.has_message())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RepState {
    /// Ready to receive a request.
    Idle,
    /// Request body frames are coming in.
    Receiving,
    /// The request was read; the reply may be sent.
    Replying,
    /// Reply frames are going out.
    Sending,
}

/// REP: receives a request, then sends exactly one reply to whoever asked.
pub(crate) struct Rep {
    fq: FairQueue,
    state: RepState,
    envelope: Vec<Message>,
    reply_pipe: Option<PipeId>,
    /// The reply cannot be delivered (peer gone or full): swallow it.
    dropping: bool,
}

impl Rep {
    pub(crate) fn new() -> Rep {
        Rep {
            fq: FairQueue::default(),
            state: RepState::Idle,
            envelope: Vec::new(),
            reply_pipe: None,
            dropping: false,
        }
    }
}

impl Routing for Rep {
    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        self.fq.attach(id);
        true
    }

    fn reading_from(&self) -> Option<PipeId> {
        self.fq.locked()
    }

    fn detach(&mut self, id: PipeId) {
        self.fq.detach(id);
        if self.reply_pipe == Some(id) {
            self.reply_pipe = None;
        }
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        if matches!(self.state, RepState::Replying | RepState::Sending) {
            return Err(Error::InvalidState);
        }
        while self.state == RepState::Idle {
            // Envelope frames up to and including the empty delimiter. Pipes publish whole
            // messages, so once the first frame is here the rest is too.
            let (msg, pipe) = self.fq.recv(pipes)?;
            let (delimiter, more) = (msg.is_empty(), msg.get_more());
            self.envelope.push(msg);
            if !more {
                tracing::debug!("REP dropped a request without an envelope delimiter");
                self.envelope.clear();
            } else if delimiter {
                self.reply_pipe = Some(pipe);
                self.state = RepState::Receiving;
            }
        }
        let (msg, _) = self.fq.recv(pipes)?;
        if !msg.get_more() {
            self.state = RepState::Replying;
        }
        Ok(msg)
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        if self.state == RepState::Replying {
            self.dropping = !self.reply_pipe.is_some_and(|p| pipes.end(p).tx.can_write());
            if !self.dropping {
                let end = pipes.end(self.reply_pipe.unwrap_or_default());
                for part in self.envelope.drain(..) {
                    end.tx.write(part);
                }
            }
            self.envelope.clear();
            self.state = RepState::Sending;
        } else if self.state != RepState::Sending {
            return Err(SendError::Fail(Error::InvalidState));
        }
        let more = msg.get_more();
        if !self.dropping {
            if let Some(p) = self.reply_pipe {
                let end = pipes.end(p);
                end.tx.write(msg);
                if !more {
                    end.tx.flush();
                }
            }
        }
        if !more {
            self.state = RepState::Idle;
            self.reply_pipe = None;
        }
        Ok(())
    }

    fn can_send(&mut self, _: &mut Pipes) -> bool {
        matches!(self.state, RepState::Replying | RepState::Sending)
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        matches!(self.state, RepState::Idle | RepState::Receiving) && self.fq.can_recv(pipes)
    }
}
