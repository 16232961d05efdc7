//! STREAM: raw TCP peers (HTTP clients, telnet), no ZMTP.
//!
//! Each connection is one pipe whose messages are raw byte chunks (the engine's
//! [`crate::engine`] raw mode). Received data arrives as `[id, bytes]`; sending `[id, bytes]`
//! writes to that peer and `[id, empty]` closes it. With STREAM_NOTIFY (the default) the engine
//! puts an empty chunk in the pipe when the connection opens and when it closes, which reaches
//! the application as `[id, empty]`, in order with the data. A send to a peer that has gone
//! fails with HostUnreachable (as in libzmq); the engine stops reading the pipe before it
//! announces the close, so that holds at once for the application that received `[id, empty]`.
//!
//! Routing ids are 5 bytes (`0x00` + a counter), or CONNECT_ROUTING_ID for a connect.
//!
//! A ROUTER set to ROUTER_RAW (libzmq's deprecated form of STREAM) routes the same way,
//! except that, as a ROUTER, it drops a message to an unknown peer unless ROUTER_MANDATORY
//! is set ([`Stream::router_raw`]).

use std::collections::HashMap;

use bytes::Bytes;

use super::routing::{FairQueue, PipeId, Pipes, Routing, SendError};
use crate::error::Error;
use crate::message::Message;

enum Out {
    /// The next frame names the peer.
    ExpectId,
    /// The data frame goes to this pipe.
    To(PipeId),
    /// An id frame came without SNDMORE: the next frame goes nowhere (libzmq's rule).
    Discard,
}

/// The STREAM socket type.
pub(crate) struct Stream {
    fq: FairQueue,
    by_id: HashMap<Bytes, PipeId>,
    ids: HashMap<PipeId, Bytes>,
    next_id: u32,
    /// A received chunk held back while its routing id frame is returned first.
    held: Option<Message>,
    out: Out,
    /// The id the last attach generated (see [`Routing::take_generated_id`]).
    generated: Option<Bytes>,
    /// Whether this is a ROUTER in raw mode (ROUTER_RAW).
    as_router: bool,
    /// Whether a send to an unknown peer fails (HostUnreachable) rather than being dropped:
    /// always for STREAM, with ROUTER_MANDATORY for a raw ROUTER.
    unroutable_fails: bool,
}

impl Stream {
    pub(crate) fn new() -> Stream {
        Stream {
            fq: FairQueue::default(),
            by_id: HashMap::new(),
            ids: HashMap::new(),
            next_id: 0x6b8b_4567,
            held: None,
            out: Out::ExpectId,
            generated: None,
            as_router: false,
            unroutable_fails: true,
        }
    }

    /// The routing of a ROUTER switched to raw mode by ROUTER_RAW.
    pub(crate) fn router_raw() -> Stream {
        Stream { as_router: true, ..Stream::new() }
    }

    fn auto_id(&mut self) -> Bytes {
        loop {
            self.next_id = self.next_id.wrapping_add(1);
            let mut auto = vec![0u8];
            auto.extend_from_slice(&self.next_id.to_be_bytes());
            let auto = Bytes::from(auto);
            if !self.by_id.contains_key(&auto) {
                return auto;
            }
        }
    }
}

impl Routing for Stream {
    fn configure(&mut self, o: &crate::options::Options) {
        self.unroutable_fails = !self.as_router || o.router_mandatory;
    }

    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        // A connect's CONNECT_ROUTING_ID: on the pipe made at connect time, or carried by the
        // engine as the peer's identity for a pipe made when a connection came up.
        let rec = &pipes.slab[id];
        let wanted = rec
            .connect_id
            .clone()
            .or_else(|| rec.peer.as_ref().map(|p| p.identity.clone()))
            .filter(|i| !i.is_empty());
        let rid = match wanted {
            Some(rid) if !self.by_id.contains_key(&rid) => rid,
            Some(_) => {
                tracing::warn!("STREAM: CONNECT_ROUTING_ID already in use, using a generated id");
                self.auto_id()
            }
            None => {
                let auto = self.auto_id();
                self.generated = Some(auto.clone());
                auto
            }
        };
        self.by_id.insert(rid.clone(), id);
        self.ids.insert(id, rid);
        self.fq.attach(id);
        true
    }

    fn take_generated_id(&mut self) -> Option<Bytes> {
        self.generated.take()
    }

    fn reading_from(&self) -> Option<PipeId> {
        self.fq.locked()
    }

    fn detach(&mut self, id: PipeId) {
        if let Some(rid) = self.ids.remove(&id) {
            self.by_id.remove(&rid);
        }
        self.fq.detach(id);
        if matches!(self.out, Out::To(p) if p == id) {
            self.out = Out::ExpectId;
        }
    }

    fn send(&mut self, mut msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        match self.out {
            Out::ExpectId => {
                if !msg.get_more() {
                    // libzmq takes an id frame without SNDMORE as malformed and ignores it
                    // silently (the send succeeds), and drops the frame after it too.
                    self.out = Out::Discard;
                    return Ok(());
                }
                let target = self.by_id.get(&*msg).copied().filter(|p| !pipes.end(*p).tx.is_reader_gone());
                let Some(p) = target else {
                    if !self.unroutable_fails {
                        // A raw ROUTER without ROUTER_MANDATORY: dropped, data frame too.
                        self.out = Out::Discard;
                        return Ok(());
                    }
                    return Err(SendError::Fail(Error::HostUnreachable));
                };
                if !pipes.end(p).tx.can_write() {
                    return Err(SendError::Again(msg));
                }
                self.out = Out::To(p);
            }
            Out::Discard => self.out = Out::ExpectId,
            Out::To(p) => {
                // Each data frame is one chunk of the byte stream; MORE means nothing here.
                msg.set_more(false);
                let close = msg.is_empty();
                pipes.end(p).tx.send_one(msg);
                self.out = Out::ExpectId;
                if close {
                    // The engine closes the connection once what was queued before is written;
                    // the pipe stays in the fair queue until it ends, so it gets reaped, but
                    // nothing more from it reaches the application (as in libzmq).
                    if let Some(rid) = self.ids.remove(&p) {
                        self.by_id.remove(&rid);
                    }
                }
            }
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        if let Some(held) = self.held.take() {
            return Ok(held);
        }
        let (mut msg, rid) = loop {
            let (msg, pipe) = self.fq.recv(pipes)?;
            if let Some(rid) = self.ids.get(&pipe) {
                break (msg, rid.clone());
            }
        };
        msg.set_more(false);
        let mut id_frame = Message::from_bytes(rid);
        id_frame.copy_metadata_from(&msg);
        id_frame.set_more(true);
        self.held = Some(msg);
        Ok(id_frame)
    }

    fn can_send(&mut self, _: &mut Pipes) -> bool {
        true
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.held.is_some() || self.fq.can_recv(pipes)
    }
}
