//! ROUTER: addresses peers by routing id.
//!
//! Received messages get the sender's routing id prepended; a sent message's first frame
//! names the peer. Ids come from CONNECT_ROUTING_ID, else the peer's announced identity, else
//! an automatic 5-byte id (`0x00` + a counter).

use std::collections::HashMap;

use bytes::Bytes;

use super::routing::{FairQueue, PipeId, Pipes, Routing, SendError};
use crate::error::Error;
use crate::message::Message;
use crate::options::Options;

enum Out {
    /// The next frame names the peer.
    ExpectId,
    /// Frames go to this pipe.
    To(PipeId),
    /// The peer is unknown or full: swallow the rest of the message.
    Drop,
}

/// The ROUTER socket type.
pub(crate) struct Router {
    fq: FairQueue,
    by_id: HashMap<Bytes, PipeId>,
    ids: HashMap<PipeId, Bytes>,
    next_id: u32,
    mandatory: bool,
    handover: bool,
    /// A received frame held back while its routing id frame is returned first.
    held: Option<Message>,
    receiving_more: bool,
    out: Out,
}

impl Router {
    pub(crate) fn new() -> Router {
        Router {
            fq: FairQueue::default(),
            by_id: HashMap::new(),
            ids: HashMap::new(),
            next_id: 0x6b8b_4567,
            mandatory: false,
            handover: false,
            held: None,
            receiving_more: false,
            out: Out::ExpectId,
        }
    }

    /// Gives pipe `id` its routing id; returns false if it must be refused.
    fn identify(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        let rec = &pipes.slab[id];
        let chosen = rec
            .connect_id
            .clone()
            .or_else(|| rec.peer.as_ref().map(|p| p.identity.clone()).filter(|i| !i.is_empty()));
        let routing_id = match chosen {
            Some(rid) => {
                if let Some(&old) = self.by_id.get(&rid) {
                    if pipes.has_ended(old) {
                        // A peer that left, say a worker restarting with its fixed id.
                        self.forget(old);
                        pipes.mark_dead(old);
                    } else if !self.handover {
                        tracing::debug!("ROUTER refused a peer with a routing id already in use");
                        return false;
                    } else {
                        self.forget(old);
                        pipes.refuse(old);
                    }
                }
                rid
            }
            None => loop {
                self.next_id = self.next_id.wrapping_add(1);
                let mut auto = vec![0u8];
                auto.extend_from_slice(&self.next_id.to_be_bytes());
                let auto = Bytes::from(auto);
                if !self.by_id.contains_key(&auto) {
                    break auto;
                }
            },
        };
        self.by_id.insert(routing_id.clone(), id);
        self.ids.insert(id, routing_id);
        self.fq.attach(id);
        true
    }

    /// Stops routing to pipe `id` (its peer left); what it sent can still be received, with
    /// its routing id.
    fn unroute(&mut self, id: PipeId) {
        if let Some(rid) = self.ids.get(&id) {
            if self.by_id.get(rid) == Some(&id) {
                self.by_id.remove(rid);
            }
        }
        if matches!(self.out, Out::To(p) if p == id) {
            self.out = Out::Drop;
        }
    }

    fn forget(&mut self, id: PipeId) {
        self.unroute(id);
        if self.ids.remove(&id).is_some() {
            self.fq.detach(id);
        }
    }
}

impl Routing for Router {
    fn configure(&mut self, o: &Options) {
        self.mandatory = o.router_mandatory;
        self.handover = o.router_handover;
    }

    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        // A connect-side pipe is identified once its handshake tells who is there, unless
        // CONNECT_ROUTING_ID names it: then it is routable at once, as in libzmq, and what is
        // sent to it queues until the connection is up.
        let rec = &pipes.slab[id];
        (!rec.ready && rec.connect_id.is_none()) || self.identify(id, pipes)
    }

    fn peer_ready(&mut self, id: PipeId, _reconnected: bool, pipes: &mut Pipes) {
        if pipes.slab[id].connect_id.is_some() && self.ids.contains_key(&id) {
            // Named by CONNECT_ROUTING_ID at attach; the handshake changes nothing.
            return;
        }
        self.forget(id);
        if !self.identify(id, pipes) {
            pipes.refuse(id);
        }
    }

    fn reading_from(&self) -> Option<PipeId> {
        self.fq.locked()
    }

    fn detach(&mut self, id: PipeId) {
        self.forget(id);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        let more = msg.get_more();
        match self.out {
            Out::ExpectId => {
                if !more {
                    // A lone routing id with no body: nothing to send.
                    return Ok(());
                }
                let mut target = self.by_id.get(&*msg).copied();
                if let Some(p) = target.filter(|p| pipes.end(*p).tx.is_reader_gone()) {
                    // The peer left: no longer routable from now, rather than from when a
                    // receive reads its pipe to the end.
                    self.unroute(p);
                    pipes.mark_dead(p);
                    target = None;
                }
                self.out = match target {
                    Some(p) if pipes.end(p).tx.can_write() => Out::To(p),
                    Some(_) if self.mandatory => return Err(SendError::Again(msg)),
                    None if self.mandatory => return Err(SendError::Fail(Error::HostUnreachable)),
                    _ => Out::Drop,
                };
            }
            Out::To(p) => {
                let end = pipes.end(p);
                end.tx.write(msg);
                if !more {
                    end.tx.flush();
                    self.out = Out::ExpectId;
                }
            }
            Out::Drop => {
                if !more {
                    self.out = Out::ExpectId;
                }
            }
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        if let Some(held) = self.held.take() {
            self.receiving_more = held.get_more();
            return Ok(held);
        }
        let (msg, pipe) = self.fq.recv(pipes)?;
        if self.receiving_more {
            self.receiving_more = msg.get_more();
            return Ok(msg);
        }
        let rid = self.ids.get(&pipe).cloned().unwrap_or_default();
        let mut id_frame = Message::from_bytes(rid);
        id_frame.set_more(true);
        // As libzmq's router_t::xrecv: the routing id frame carries the connection's
        // metadata (Peer-Address, User-Id, ZMQ_SRCFD), which is what zmq_msg_gets is most
        // often asked of, the first frame a ROUTER receives.
        id_frame.copy_metadata_from(&msg);
        self.held = Some(msg);
        Ok(id_frame)
    }

    #[cfg(feature = "draft")]
    fn peer_state(&mut self, routing_id: &[u8], pipes: &mut Pipes) -> Result<i16, Error> {
        // As libzmq's router_t::get_peer_state: only the outgoing pipe's room counts.
        match self.by_id.get(routing_id).copied() {
            Some(p) if !pipes.end(p).tx.is_reader_gone() => {
                Ok(if pipes.end(p).tx.can_write() { crate::socket::POLLOUT } else { 0 })
            }
            _ => Err(Error::HostUnreachable),
        }
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        // As libzmq's router_t::xhas_out: always, as a message to an unknown or full peer is
        // dropped; with ROUTER_MANDATORY only while some peer has room for one.
        !self.mandatory || self.by_id.values().any(|p| pipes.end(*p).tx.can_write())
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.held.is_some() || self.fq.can_recv(pipes)
    }
}
