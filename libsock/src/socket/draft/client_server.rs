//! CLIENT and SERVER: request/reply without envelopes. A SERVER names each peer by a 32-bit
//! routing id carried on the message itself ([`Message::routing_id`]). PEER is a SERVER
//! that also connects, and learns the routing id of what it connects to
//! (`Socket::connect_peer`).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use super::super::reqrep::Dealer;
use super::super::routing::{FairQueue, PipeId, Pipes, Routing, SendError};
use super::refuse_more;
use super::scatter_gather::recv_single;
use crate::error::Error;
use crate::message::Message;

/// CLIENT: a DEALER for single-part messages (round robin out, fair queue in).
#[derive(Default)]
pub(crate) struct Client(Dealer);

impl Routing for Client {
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
        recv_single(&mut self.0.fq, pipes).map(|(msg, _)| msg)
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        self.0.can_send(pipes)
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.0.can_recv(pipes)
    }
}

/// SERVER (and PEER): fair queue in, stamping each message with its peer's routing id; a
/// send goes to the peer its routing id names (EHOSTUNREACH when there is none).
pub(crate) struct Server {
    fq: FairQueue,
    by_id: HashMap<u32, PipeId>,
    ids: HashMap<PipeId, u32>,
    next_id: u32,
    /// The routing id of the last pipe attached, until taken (PEER's connect_peer).
    last_attached: Option<u32>,
}

impl Server {
    pub(crate) fn new() -> Server {
        // libzmq starts at a random id, so ids from an earlier run of a server are unlikely to
        // name a new peer by accident.
        let start = std::collections::hash_map::RandomState::new().build_hasher().finish() as u32;
        Server {
            fq: FairQueue::default(),
            by_id: HashMap::new(),
            ids: HashMap::new(),
            next_id: start,
            last_attached: None,
        }
    }

    fn allocate_id(&mut self) -> u32 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if id != 0 && !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }
}

impl Routing for Server {
    fn attach(&mut self, id: PipeId, _: &mut Pipes) -> bool {
        let rid = self.allocate_id();
        self.by_id.insert(rid, id);
        self.ids.insert(id, rid);
        self.fq.attach(id);
        self.last_attached = Some(rid);
        true
    }

    fn take_last_routing_id(&mut self) -> Option<u32> {
        self.last_attached.take()
    }

    fn detach(&mut self, id: PipeId) {
        if let Some(rid) = self.ids.remove(&id) {
            self.by_id.remove(&rid);
        }
        self.fq.detach(id);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        let mut msg = refuse_more(msg)?;
        let Some(&id) = self.by_id.get(&msg.routing_id()) else {
            return Err(SendError::Fail(Error::HostUnreachable));
        };
        let end = pipes.end(id);
        if end.tx.is_reader_gone() {
            pipes.mark_dead(id);
            return Err(SendError::Fail(Error::HostUnreachable));
        }
        if !end.tx.can_write() {
            return Err(SendError::Again(msg));
        }
        // The id means something only to this socket (an inproc peer must not see it).
        msg.clear_routing_id();
        end.tx.send_one(msg);
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        let (mut msg, id) = recv_single(&mut self.fq, pipes)?;
        if let Some(&rid) = self.ids.get(&id) {
            msg.set_routing_id(rid)?;
        }
        Ok(msg)
    }

    /// Always: whether a send blocks depends on the peer it names (as in libzmq).
    fn can_send(&mut self, _: &mut Pipes) -> bool {
        true
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.can_recv(pipes)
    }
}

/// CHANNEL: a PAIR for single-part messages (one peer; MORE refused; a multipart message
/// from the peer dropped whole), as libzmq's `channel_t`.
#[derive(Default)]
pub(crate) struct Channel {
    peer: Option<PipeId>,
    fq: FairQueue,
}

impl Routing for Channel {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        let Some(ended) = pipes.room_for_one_peer(self.peer, "CHANNEL") else { return false };
        if let Some(old) = ended {
            self.detach(old);
        }
        self.peer = Some(id);
        self.fq.attach(id);
        true
    }

    fn detach(&mut self, id: PipeId) {
        if self.peer == Some(id) {
            self.peer = None;
            self.fq.detach(id);
        }
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        let msg = refuse_more(msg)?;
        let Some(id) = self.peer else { return Err(SendError::Again(msg)) };
        let end = pipes.end(id);
        if end.tx.is_reader_gone() {
            pipes.mark_dead(id);
            return Err(SendError::Again(msg));
        }
        if !end.tx.can_write() {
            return Err(SendError::Again(msg));
        }
        end.tx.send_one(msg);
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        recv_single(&mut self.fq, pipes).map(|(msg, _)| msg)
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        self.peer.is_some_and(|id| pipes.end(id).tx.can_write())
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.can_recv(pipes)
    }
}
