//! RADIO and DISH: publish/subscribe by exact group name.
//!
//! On the wire (and in pipes) a RADIO message is two frames, the group with MORE then the
//! body. A DISH's joins travel up its pipes as `0x01` + group (leave: `0x00` + group); the
//! session turns them into `JOIN`/`LEAVE` commands and back (see the module above).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::super::pubsub::record_and_forward;
use super::super::routing::{FairQueue, PipeId, Pipes, Routing, SendError};
use super::refuse_more;
use crate::error::Error;
use crate::message::{Message, GROUP_MAX_LENGTH};
use crate::socket::SocketShared;

/// RADIO: sends each message to the DISHes that joined its group; drops for a DISH at its
/// HWM (libzmq's default, lossy RADIO).
#[derive(Default)]
pub(crate) struct Radio {
    pipes: Vec<PipeId>,
    /// Group → the pipes that joined it.
    members: HashMap<Vec<u8>, Vec<PipeId>>,
    /// udp pipes: they get every group (the receiving DISH filters).
    everything: Vec<PipeId>,
}

impl Radio {
    /// Applies the joins and leaves a DISH sent; anything else from it is ignored.
    fn drain(&mut self, id: PipeId, pipes: &mut Pipes) {
        while let Some(msg) = pipes.end(id).rx.read() {
            match msg.split_first() {
                Some((1, group)) if !msg.get_more() => {
                    let list = self.members.entry(group.to_vec()).or_default();
                    if !list.contains(&id) {
                        list.push(id);
                    }
                }
                Some((0, group)) if !msg.get_more() => {
                    if let Some(list) = self.members.get_mut(group) {
                        list.retain(|p| *p != id);
                        if list.is_empty() {
                            self.members.remove(group);
                        }
                    }
                }
                // Only from a udp pipe of this socket's own, never from a peer.
                Some((&super::udp::ALL_GROUPS, [])) if !msg.get_more() && pipes.slab[id].udp => {
                    self.everything.push(id)
                }
                _ => tracing::debug!(len = msg.len(), "RADIO ignores a message from a DISH"),
            }
        }
        if pipes.end(id).rx.is_terminated() {
            pipes.mark_dead(id);
        }
    }
}

impl Routing for Radio {
    fn on_wake(&mut self, pipes: &mut Pipes) {
        for i in 0..self.pipes.len() {
            self.drain(self.pipes[i], pipes);
        }
    }

    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.pipes.push(id);
        self.drain(id, pipes);
        true
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.retain(|p| *p != id);
        self.everything.retain(|p| *p != id);
        self.members.retain(|_, list| {
            list.retain(|p| *p != id);
            !list.is_empty()
        });
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        let msg = refuse_more(msg)?;
        self.on_wake(pipes);
        let joined = self.members.get(msg.group().as_bytes()).map_or(&[][..], |v| &v[..]);
        for &id in joined.iter().chain(&self.everything) {
            let end = pipes.end(id);
            if !end.tx.can_write() {
                continue;
            }
            let mut group = Message::from(msg.group());
            group.set_more(true);
            end.tx.write(group);
            end.tx.write(msg.clone());
            end.tx.flush();
        }
        Ok(())
    }

    fn recv(&mut self, _: &mut Pipes) -> Result<Message, Error> {
        Err(Error::NotSupported)
    }

    fn refuses_recv(&self) -> bool {
        true
    }

    fn can_send(&mut self, _: &mut Pipes) -> bool {
        true
    }

    fn can_recv(&mut self, _: &mut Pipes) -> bool {
        false
    }
}

/// DISH: receives the messages of the groups it joined, fair-queued from every RADIO.
pub(crate) struct Dish {
    fq: FairQueue,
    pipes: Vec<PipeId>,
    joined: HashSet<Vec<u8>>,
    /// Mirrors the joined groups for the engine, which sends them at every handshake.
    shared: Arc<SocketShared>,
    /// Recent changes by snapshot version, to bring a new pipe up to date exactly.
    log: VecDeque<(u64, Message)>,
    /// A matching message found by `can_recv` (as libzmq's DISH prefetches), so polling
    /// does not report messages of groups it would drop.
    ready: Option<Message>,
}

impl Dish {
    pub(crate) fn new(shared: Arc<SocketShared>) -> Dish {
        Dish {
            fq: FairQueue::default(),
            pipes: Vec::new(),
            joined: HashSet::new(),
            shared,
            log: VecDeque::new(),
            ready: None,
        }
    }

    /// Records a join or leave and sends it to every RADIO whose connection is up; the
    /// others get the current groups from their engine at the handshake.
    fn forward(&mut self, group: &[u8], join: bool, pipes: &mut Pipes) {
        let mut body = vec![u8::from(join)];
        body.extend_from_slice(group);
        let msg = Message::from(body);
        record_and_forward(&self.shared, &mut self.log, &self.pipes, group, join, &msg, pipes);
    }

    fn catch_up(&self, id: PipeId, since: u64, pipes: &mut Pipes) {
        if self.log.front().is_some_and(|(v, _)| *v > since + 1) {
            return self.send_all(id, pipes);
        }
        for (_, msg) in self.log.iter().filter(|(v, _)| *v > since) {
            pipes.end(id).tx.send_one(msg.clone());
        }
    }

    fn send_all(&self, id: PipeId, pipes: &mut Pipes) {
        for group in &self.joined {
            let mut body = vec![1u8];
            body.extend_from_slice(group);
            pipes.end(id).tx.write(Message::from(body));
        }
        pipes.end(id).tx.flush();
    }

    /// The next message of a joined group. Malformed input (a group frame without MORE or
    /// over 255 bytes, a multipart body) is dropped, as libzmq's DISH refuses it.
    fn next(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        loop {
            let (group, _) = self.fq.recv(pipes)?;
            if !group.get_more() {
                tracing::debug!("DISH drops a single frame without a group");
                continue;
            }
            // Pipes publish whole messages: the body is there already.
            let (mut body, _) = self.fq.recv(pipes)?;
            let mut more = body.get_more();
            let whole = !more;
            while more {
                more = self.fq.recv(pipes)?.0.get_more();
            }
            if !whole || group.len() > GROUP_MAX_LENGTH || !self.joined.contains(&*group) {
                continue;
            }
            // Joined groups are text without NUL, so this cannot fail for a joined one.
            if let Some(name) = group.as_str() {
                if body.set_group(name).is_ok() {
                    return Ok(body);
                }
            }
        }
    }
}

impl Routing for Dish {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.pipes.push(id);
        self.fq.attach(id);
        let rec = &pipes.slab[id];
        if rec.inproc {
            self.send_all(id, pipes);
        } else if rec.ready {
            self.catch_up(id, rec.sub_version, pipes);
        }
        true
    }

    fn peer_ready(&mut self, id: PipeId, _reconnected: bool, pipes: &mut Pipes) {
        self.catch_up(id, pipes.slab[id].sub_version, pipes);
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.retain(|p| *p != id);
        self.fq.detach(id);
    }

    /// Join (`on`) or leave a group: joining one already joined, or leaving one not joined,
    /// fails with EINVAL as in libzmq.
    fn subscribe(&mut self, group: &[u8], on: bool, pipes: &mut Pipes) -> Result<(), Error> {
        crate::message::check_group(
            std::str::from_utf8(group).map_err(|_| Error::invalid("a group is text"))?,
        )?;
        let changed = if on { self.joined.insert(group.to_vec()) } else { self.joined.remove(group) };
        if !changed {
            let what = if on { "already joined" } else { "not joined" };
            return Err(Error::invalid(format!("group {:?} {what}", String::from_utf8_lossy(group))));
        }
        self.forward(group, on, pipes);
        Ok(())
    }

    fn send(&mut self, _: Message, _: &mut Pipes) -> Result<(), SendError> {
        Err(SendError::Fail(Error::NotSupported))
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        match self.ready.take() {
            Some(msg) => Ok(msg),
            None => self.next(pipes),
        }
    }

    fn can_send(&mut self, _: &mut Pipes) -> bool {
        false
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        if self.ready.is_none() {
            self.ready = self.next(pipes).ok();
        }
        self.ready.is_some()
    }
}
