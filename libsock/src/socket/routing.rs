//! What a socket type plugs in: the [`Routing`] trait, and the two policies most types are
//! built from: [`LoadBalancer`] (round robin over pipes with room) and [`FairQueue`] (round
//! robin over pipes with messages).
//!
//! Routing code sees pipes and messages only: never transports, threads or options it was not
//! given. Blocking, timeouts and pipe bookkeeping are the socket core's job.

use slab::Slab;

use crate::codec::null::PeerInfo;
use crate::engine::EndpointId;
use crate::error::Error;
use crate::message::Message;
use crate::options::Options;
use crate::pipe::PipeEnd;

/// A pipe's index in its socket's [`Pipes`].
pub(crate) type PipeId = usize;

/// One attached pipe and what is known about its peer.
pub(crate) struct PipeRec {
    pub end: PipeEnd,
    /// Known once the handshake is done (at once for accepted and inproc pipes).
    pub peer: Option<PeerInfo>,
    /// The bind or connect this pipe came from.
    pub endpoint: Option<EndpointId>,
    /// The peer behind the pipe has completed a handshake (false for a connect-side pipe
    /// until its connection is up, and again while it reconnects).
    pub ready: bool,
    /// The routing id a ROUTER gives this peer (CONNECT_ROUTING_ID at connect time).
    pub connect_id: Option<bytes::Bytes>,
    /// Joined directly to another socket (no I/O thread, no handshake).
    pub inproc: bool,
    /// SUB/XSUB: the subscription snapshot version the engine sent at the last handshake.
    pub sub_version: u64,
    /// The connection made this pipe at its handshake and handed it over (an accepted
    /// peer, an IMMEDIATE dialer), as libzmq's session does: at an unbind or disconnect,
    /// the connection's end ends it, so what it holds is still received.
    pub handed_over: bool,
    /// The connection's own pipe end, once its endpoint was unbound or disconnected while
    /// `end` (then a copy of what it held) still had messages to read: closed, and the
    /// connection with it, when the pipe is forgotten (see `SocketCore::retire`).
    pub retired: Option<Box<PipeEnd>>,
    /// Served by one of this socket's own udp threads (draft), never by a peer: the only
    /// pipe a RADIO takes "send me every group" from.
    #[cfg_attr(not(feature = "draft"), allow(dead_code))]
    pub udp: bool,
}

impl PipeRec {
    /// Closes the pipe (see [`PipeEnd::close`]) and the connection's end it replaced.
    pub(crate) fn close(mut self, linger_ms: i32) {
        self.end.close(linger_ms);
        if let Some(mut end) = self.retired.take() {
            end.close(linger_ms);
        }
    }
}

/// A socket's pipes, plus the ones routing found dead (the core reaps them).
#[derive(Default)]
pub(crate) struct Pipes {
    pub slab: Slab<PipeRec>,
    pub dead: Vec<PipeId>,
}

impl Pipes {
    #[inline]
    pub(crate) fn end(&mut self, id: PipeId) -> &mut PipeEnd {
        &mut self.slab[id].end
    }

    /// Marks pipe `id` for the core to forget. One that still holds messages from its peer
    /// stays until they are read (see `SocketCore::reap`).
    pub(crate) fn mark_dead(&mut self, id: PipeId) {
        self.dead.push(id);
    }

    /// Whether pipe `id`'s peer is gone and everything it sent has been read: nothing can
    /// come from it or reach it any more. A socket with room for one peer (PAIR, CHANNEL),
    /// or for one pipe per routing id (ROUTER), lets a newcomer take such a pipe's place at
    /// once, rather than only after a send or receive found it dead. libzmq frees it only
    /// when a receive reads its end, so there a PAIR that only sends never takes a new peer.
    pub(crate) fn has_ended(&mut self, id: PipeId) -> bool {
        let end = self.end(id);
        end.tx.is_reader_gone() && end.rx.is_terminated()
    }

    /// Whether a socket with room for one peer (PAIR, CHANNEL; `kind` names it in the log),
    /// whose peer now is `current`, takes another: `Some(ended)` takes it, `ended` being a
    /// predecessor whose pipe has ended ([`Pipes::has_ended`]), now marked dead, for the
    /// caller to forget; `None` refuses it.
    pub(crate) fn room_for_one_peer(
        &mut self,
        current: Option<PipeId>,
        kind: &str,
    ) -> Option<Option<PipeId>> {
        match current {
            None => Some(None),
            Some(old) if self.has_ended(old) => {
                self.mark_dead(old);
                Some(Some(old))
            }
            Some(_) => {
                tracing::debug!("{kind} socket already has a peer; refusing another");
                None
            }
        }
    }

    /// Marks pipe `id` for the core to forget now, dropping what it holds: the routing no
    /// longer reads it (a peer refused, or replaced under ROUTER_HANDOVER).
    pub(crate) fn refuse(&mut self, id: PipeId) {
        while self.end(id).rx.read().is_some() {}
        self.dead.push(id);
    }
}

/// A send that could not complete.
pub(crate) enum SendError {
    /// No pipe can take it now: block or report WouldBlock. The message comes back.
    Again(Message),
    /// It failed for good.
    Fail(Error),
    /// Not a failure: taken as a subscription change (an XSUB's `0x01`/`0x00` message). The
    /// core then applies what I/O threads posted meanwhile, as after SUBSCRIBE
    /// (`SocketCore::change_subscription`); off the fast path, where subscriptions belong.
    Subscribed,
}

/// The per-type part of a socket.
pub(crate) trait Routing: Send {
    /// Takes the options the routing depends on (called after every option change).
    fn configure(&mut self, _options: &Options) {}
    /// Something woke the socket: a chance to read pipes the routing watches on its own
    /// (a publisher's subscriptions).
    fn on_wake(&mut self, _pipes: &mut Pipes) {}
    /// SUBSCRIBE/UNSUBSCRIBE on this socket.
    fn subscribe(&mut self, _topic: &[u8], _on: bool, _pipes: &mut Pipes) -> Result<(), Error> {
        Err(subscribe_does_not_apply())
    }
    /// A pipe was attached. Returning false refuses it (the core closes it).
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool;
    /// A pipe is gone; forget it.
    fn detach(&mut self, id: PipeId);
    /// The pipe whose multipart message a receive is part way through (the rest of it is
    /// already in that pipe: pipes publish whole messages), if any. An unbind or disconnect
    /// that ends the pipe keeps that rest, so a message is never delivered in part.
    fn reading_from(&self) -> Option<PipeId> {
        None
    }
    /// The handshake of a pre-made (connect-side) pipe completed; `reconnected` after the
    /// first time.
    fn peer_ready(&mut self, _id: PipeId, _reconnected: bool, _pipes: &mut Pipes) {}

    /// STREAM: the routing id the last [`Routing::attach`] generated, which libzmq also
    /// stores as the socket's own ROUTING_ID (a quirk its tests read back).
    fn take_generated_id(&mut self) -> Option<bytes::Bytes> {
        None
    }
    /// ROUTER: [`crate::POLLOUT`] if a message to the peer named `routing_id` would be
    /// queued now, else 0; an unknown peer is `HostUnreachable`. Other types: `NotSupported`.
    #[cfg(feature = "draft")]
    fn peer_state(&mut self, _routing_id: &[u8], _pipes: &mut Pipes) -> Result<i16, Error> {
        Err(Error::NotSupported)
    }
    /// PEER: the routing id given to the last pipe attached since the previous call, if
    /// any (`zmq_connect_peer` returns the one its connect attached). Others: `None`.
    #[cfg(feature = "draft")]
    fn take_last_routing_id(&mut self) -> Option<u32> {
        None
    }
    /// Sends one frame.
    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError>;
    /// Receives one frame; `Err(Error::WouldBlock)` when none is available.
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error>;
    /// Whether [`Routing::recv_into`] reads into a message already cleared: the fair-queued
    /// types (PULL, PAIR, DEALER, SUB, XSUB), whose receive never refuses, so the core
    /// clears it first, where the clear costs least (asked once, at the socket's creation).
    fn reads_into_cleared(&self) -> bool {
        false
    }
    /// Whether this type never receives (PUSH, PUB, RADIO): the core then refuses a receive
    /// before it takes its commands, as libzmq's `socket_base_t::recv`, whose `xrecv` fails
    /// first (asked once, at the socket's creation).
    fn refuses_recv(&self) -> bool {
        false
    }
    /// [`Routing::recv`] into `out`, whose old content is released as libzmq's sockets
    /// release it: when they look for a frame in their pipes, so that a receive finding none
    /// (`WouldBlock`) leaves an empty message and one refused (`NotSupported`,
    /// `InvalidState`) leaves it as it was. The fair-queued types
    /// ([`Routing::reads_into_cleared`]) get it cleared and read the frame straight into it:
    /// `Socket::recv(&mut Message)` and the C API's `zmq_msg_recv`.
    #[inline]
    fn recv_into(&mut self, pipes: &mut Pipes, out: &mut Message) -> Result<(), Error> {
        let result = self.recv(pipes);
        if matches!(result, Ok(_) | Err(Error::WouldBlock)) {
            out.clear();
        }
        result.map(|msg| out.put_cleared(msg))
    }
    /// Whether a send would not block now (for polling).
    fn can_send(&mut self, pipes: &mut Pipes) -> bool;
    /// Whether a receive would not block now (for polling).
    fn can_recv(&mut self, pipes: &mut Pipes) -> bool;
}

/// Round robin over pipes with room; a multipart message stays on one pipe.
#[derive(Default)]
pub(crate) struct LoadBalancer {
    pipes: Vec<PipeId>,
    current: usize,
    /// The pipe taking the rest of a multipart message.
    locked: Option<PipeId>,
    /// The locked pipe died mid-message: swallow the rest of that message.
    dropping: bool,
}

impl LoadBalancer {
    pub(crate) fn attach(&mut self, id: PipeId) {
        self.pipes.push(id);
    }

    pub(crate) fn detach(&mut self, id: PipeId) {
        self.pipes.retain(|p| *p != id);
        if self.current >= self.pipes.len() {
            self.current = 0;
        }
        if self.locked == Some(id) {
            self.locked = None;
            self.dropping = true;
        }
    }

    /// Moves the turn to the next pipe, wrapping at once as libzmq's `lb_t` does: after
    /// the last pipe the turn is the first one's, even if a pipe attaches before the next
    /// send (it gets the message after that). So with one peer, then a second, the second
    /// message still goes to the first peer, as in libzmq.
    #[inline(always)]
    fn advance(&mut self) {
        self.current += 1;
        if self.current >= self.pipes.len() {
            self.current = 0;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pipes.is_empty()
    }

    /// The attached pipes.
    pub(crate) fn pipes(&self) -> &[PipeId] {
        &self.pipes
    }

    /// The pipe the current multipart message is going to.
    pub(crate) fn locked(&self) -> Option<PipeId> {
        self.locked
    }

    /// Sends a frame to the next pipe with room.
    ///
    /// Inlined: the common case (a single-frame message, no multipart message under way, the
    /// pipe whose turn it is has room) is the first round of the round robin; the other
    /// rounds, multipart messages and dropping are out of line (not `#[cold]`: envelopes and
    /// several peers are ordinary). Always inlined: each socket type's `send` is then this
    /// code, not a call to it.
    #[inline(always)]
    pub(crate) fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        if self.locked.is_some() || self.dropping || msg.get_more() {
            return self.send_other(msg, pipes);
        }
        // `current` is always a pipe's index (or 0): see `advance` and `detach`.
        let Some(&id) = self.pipes.get(self.current) else {
            return self.send_rounds(msg, pipes, self.pipes.len());
        };
        let end = pipes.end(id);
        if end.tx.can_write() {
            end.tx.send_one(msg);
            self.advance();
            return Ok(());
        }
        self.send_next(msg, pipes, id)
    }

    /// [`LoadBalancer::send`]'s other rounds: pipe `full` (the current one) had no room.
    #[inline(never)]
    fn send_next(&mut self, msg: Message, pipes: &mut Pipes, full: PipeId) -> Result<(), SendError> {
        if pipes.end(full).tx.is_reader_gone() {
            pipes.mark_dead(full);
        }
        self.advance();
        self.send_rounds(msg, pipes, self.pipes.len() - 1)
    }

    /// [`LoadBalancer::send`] of a frame of a multipart message, or while dropping.
    #[inline(never)]
    fn send_other(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        let more = msg.get_more();
        if self.dropping {
            self.dropping = more;
            return Ok(());
        }
        if let Some(id) = self.locked {
            let end = pipes.end(id);
            end.tx.write(msg);
            if !more {
                end.tx.flush();
                self.locked = None;
                // The next message goes to the next peer, as after a single-frame one.
                self.advance();
            }
            return Ok(());
        }
        self.send_rounds(msg, pipes, self.pipes.len())
    }

    /// Up to `rounds` steps of the round robin from the current pipe.
    fn send_rounds(&mut self, msg: Message, pipes: &mut Pipes, rounds: usize) -> Result<(), SendError> {
        let more = msg.get_more();
        for _ in 0..rounds {
            if self.current >= self.pipes.len() {
                self.current = 0;
            }
            let id = self.pipes[self.current];
            let end = pipes.end(id);
            if end.tx.can_write() {
                if more {
                    end.tx.write(msg);
                    self.locked = Some(id);
                } else {
                    end.tx.send_one(msg);
                    self.advance();
                }
                return Ok(());
            }
            if end.tx.is_reader_gone() {
                pipes.mark_dead(id);
            }
            self.advance();
        }
        Err(SendError::Again(msg))
    }

    pub(crate) fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        self.locked.is_some() || self.pipes.iter().any(|id| pipes.end(*id).tx.can_write())
    }
}

/// Round robin over pipes with messages; a multipart message is read whole from one pipe.
#[derive(Default)]
pub(crate) struct FairQueue {
    pipes: Vec<PipeId>,
    current: usize,
    locked: Option<PipeId>,
    /// The pipe the last frame came from.
    last: PipeId,
}

impl FairQueue {
    pub(crate) fn attach(&mut self, id: PipeId) {
        self.pipes.push(id);
    }

    pub(crate) fn detach(&mut self, id: PipeId) {
        self.pipes.retain(|p| *p != id);
        if self.locked == Some(id) {
            self.locked = None;
        }
    }

    /// The pipe a multipart message is being read from (see [`Routing::reading_from`]).
    pub(crate) fn locked(&self) -> Option<PipeId> {
        self.locked
    }

    /// The next frame and the pipe it came from.
    #[inline]
    pub(crate) fn recv(&mut self, pipes: &mut Pipes) -> Result<(Message, PipeId), Error> {
        let msg = self.recv_msg(pipes)?;
        Ok((msg, self.last))
    }

    /// The next frame, for routings that need not know its pipe.
    ///
    /// Inlined: the common case (no multipart message under way, the pipe whose turn it is
    /// has a frame) is the first round of the round robin; the rest is out of line (not
    /// `#[cold]`, as for [`LoadBalancer::send`]).
    #[inline(always)]
    pub(crate) fn recv_msg(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        if self.locked.is_some() {
            return self.recv_locked(pipes);
        }
        if self.current >= self.pipes.len() {
            self.current = 0;
        }
        let Some(&id) = self.pipes.get(self.current) else { return Err(Error::WouldBlock) };
        match pipes.end(id).rx.read() {
            Some(msg) => {
                self.take(id, msg.get_more());
                Ok(msg)
            }
            None => self.recv_next(pipes, id),
        }
    }

    /// [`FairQueue::recv_msg`] into `out`, a cleared message (libzmq's `fq_t::recvpipe`
    /// releases it even when no frame comes): the common case reads the frame straight into
    /// it (see `Reader::read_into`); the others go the usual way.
    #[inline(always)]
    pub(crate) fn recv_msg_into(&mut self, pipes: &mut Pipes, out: &mut Message) -> Result<(), Error> {
        if self.locked.is_none() {
            if self.current >= self.pipes.len() {
                self.current = 0;
            }
            if let Some(&id) = self.pipes.get(self.current) {
                if pipes.end(id).rx.read_into(out) {
                    self.take(id, out.get_more());
                    return Ok(());
                }
            }
        }
        // (The current pipe, just found empty, is looked at once more there: the rare path.)
        self.recv_msg(pipes).map(|msg| out.put_cleared(msg))
    }

    /// Notes that a frame came from pipe `id`, with MORE set or not.
    #[inline]
    fn take(&mut self, id: PipeId, more: bool) {
        self.last = id;
        if more {
            self.locked = Some(id);
        } else {
            self.current += 1;
        }
    }

    /// [`FairQueue::recv_msg`]'s other rounds: pipe `empty` (the current one) had nothing.
    #[inline(never)]
    fn recv_next(&mut self, pipes: &mut Pipes, empty: PipeId) -> Result<Message, Error> {
        if pipes.end(empty).rx.is_terminated() {
            pipes.mark_dead(empty);
        }
        self.current += 1;
        self.recv_rounds(pipes, self.pipes.len() - 1)
    }

    /// [`FairQueue::recv_msg`] in the middle of a multipart message.
    #[inline(never)]
    fn recv_locked(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        if let Some(id) = self.locked {
            // Pipes publish whole messages, so the rest of this one is already there.
            if let Some(msg) = pipes.end(id).rx.read() {
                self.last = id;
                if !msg.get_more() {
                    self.locked = None;
                    self.current += 1;
                }
                return Ok(msg);
            }
            self.locked = None;
        }
        self.recv_rounds(pipes, self.pipes.len())
    }

    /// Up to `rounds` steps of the round robin from the current pipe.
    fn recv_rounds(&mut self, pipes: &mut Pipes, rounds: usize) -> Result<Message, Error> {
        for _ in 0..rounds {
            if self.current >= self.pipes.len() {
                self.current = 0;
            }
            let id = self.pipes[self.current];
            let end = pipes.end(id);
            if let Some(msg) = end.rx.read() {
                self.take(id, msg.get_more());
                return Ok(msg);
            }
            if end.rx.is_terminated() {
                pipes.mark_dead(id);
            }
            self.current += 1;
        }
        Err(Error::WouldBlock)
    }

    /// Whether a pipe has a frame. As libzmq's `fq_t::has_in`, a pipe found read to its end
    /// on the way is marked dead (there the delimiter is read, which ends the pipe, and with
    /// it a connection that was kept open until its messages were read); the pipes after
    /// the first with a frame are not looked at.
    pub(crate) fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        if self.locked.is_some() {
            return true;
        }
        for &id in &self.pipes {
            let rx = &mut pipes.end(id).rx;
            if rx.has_message() {
                return true;
            }
            if rx.is_terminated() {
                pipes.mark_dead(id);
            }
        }
        false
    }
}

/// SUBSCRIBE/UNSUBSCRIBE on a socket they do not apply to: `EINVAL`, as libzmq's
/// `zmq_setsockopt` answers (they apply to SUB, XSUB, and XPUB with XPUB_MANUAL).
pub(crate) fn subscribe_does_not_apply() -> Error {
    Error::invalid("SUBSCRIBE and UNSUBSCRIBE apply to SUB, XSUB and XPUB_MANUAL sockets")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::pipe;

    fn add(pipes: &mut Pipes, hwm: u64) -> (PipeId, PipeEnd) {
        let (ours, theirs) = pipe(hwm, hwm);
        (
            pipes.slab.insert(PipeRec {
                end: ours,
                peer: None,
                endpoint: None,
                ready: true,
                connect_id: None,
                inproc: true,
                sub_version: 0,
                handed_over: false,
                retired: None,
                udp: false,
            }),
            theirs,
        )
    }

    fn frame(body: &str, more: bool) -> Message {
        let mut m = Message::from(body);
        m.set_more(more);
        m
    }

    #[test]
    fn load_balancer_rotates_and_skips_full_pipes() {
        let mut pipes = Pipes::default();
        let mut lb = LoadBalancer::default();
        let (a, mut pa) = add(&mut pipes, 1);
        let (b, mut pb) = add(&mut pipes, 1);
        lb.attach(a);
        lb.attach(b);
        assert!(lb.send(frame("1", false), &mut pipes).is_ok());
        assert!(lb.send(frame("2", false), &mut pipes).is_ok());
        assert!(matches!(lb.send(frame("3", false), &mut pipes), Err(SendError::Again(_))));
        assert_eq!(&*pa.rx.read().unwrap(), b"1");
        assert_eq!(&*pb.rx.read().unwrap(), b"2");
        assert!(lb.send(frame("3", false), &mut pipes).is_ok());
        assert_eq!(&*pa.rx.read().unwrap(), b"3");
    }

    #[test]
    fn multipart_stays_on_one_pipe_and_dead_pipes_are_reported() {
        let mut pipes = Pipes::default();
        let mut lb = LoadBalancer::default();
        let (a, mut pa) = add(&mut pipes, 0);
        let (b, mut pb) = add(&mut pipes, 0);
        lb.attach(a);
        lb.attach(b);
        for body in ["x", "y"] {
            assert!(lb.send(frame(body, true), &mut pipes).is_ok());
        }
        assert!(lb.send(frame("z", false), &mut pipes).is_ok());
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| pa.rx.read().map(|m| m.to_vec())).collect();
        assert_eq!(got, vec![b"x".to_vec(), b"y".to_vec(), b"z".to_vec()]);
        pb.close(0);
        pa.close(0);
        assert!(matches!(lb.send(frame("w", false), &mut pipes), Err(SendError::Again(_))));
        assert_eq!(pipes.dead.len(), 2);
    }

    #[test]
    fn multipart_messages_rotate_too() {
        let mut pipes = Pipes::default();
        let mut lb = LoadBalancer::default();
        let (a, mut pa) = add(&mut pipes, 0);
        let (b, mut pb) = add(&mut pipes, 0);
        lb.attach(a);
        lb.attach(b);
        for _ in 0..2 {
            assert!(lb.send(frame("head", true), &mut pipes).is_ok());
            assert!(lb.send(frame("tail", false), &mut pipes).is_ok());
        }
        let count = |p: &mut PipeEnd| std::iter::from_fn(|| p.rx.read()).count();
        assert_eq!((count(&mut pa), count(&mut pb)), (2, 2));
    }

    fn drain(p: &mut PipeEnd) -> Vec<String> {
        std::iter::from_fn(|| p.rx.read()).map(|m| String::from_utf8(m.to_vec()).unwrap()).collect()
    }

    /// The inlined first round and the out-of-line rounds, multipart messages and full
    /// pipes, alternating: the round robin and every pipe's order stay those of one loop.
    #[test]
    fn load_balancer_fast_and_slow_paths_keep_the_round_robin() {
        let mut pipes = Pipes::default();
        let mut lb = LoadBalancer::default();
        let (a, mut pa) = add(&mut pipes, 2);
        let (b, mut pb) = add(&mut pipes, 2);
        let (c, mut pc) = add(&mut pipes, 2);
        for id in [a, b, c] {
            lb.attach(id);
        }
        let send = |lb: &mut LoadBalancer, pipes: &mut Pipes, body: &str, more: bool| {
            lb.send(frame(body, more), pipes).is_ok()
        };
        assert!(send(&mut lb, &mut pipes, "1", false)); // a (first round)
        assert!(send(&mut lb, &mut pipes, "2a", true)); // b, locked (multipart)
        assert!(send(&mut lb, &mut pipes, "2b", false)); // b, unlocked
        assert!(send(&mut lb, &mut pipes, "3", false)); // c
        assert!(send(&mut lb, &mut pipes, "4", false)); // a: now full
        assert!(send(&mut lb, &mut pipes, "5", false)); // b: now full
        assert!(send(&mut lb, &mut pipes, "6", false)); // c: now full
        assert!(!send(&mut lb, &mut pipes, "7", false), "every pipe is at its HWM");
        // b makes room: "7" skips a (full, the first round) and goes to b (a later round).
        assert_eq!(pb.rx.read().map(|m| m.to_vec()), Some(b"2a".to_vec()));
        assert_eq!(pb.rx.read().map(|m| m.to_vec()), Some(b"2b".to_vec()));
        assert!(send(&mut lb, &mut pipes, "7", false));
        // The turn is now c's: full, then a, b full too.
        assert!(!send(&mut lb, &mut pipes, "8", false));
        assert!(pipes.dead.is_empty());
        assert_eq!(drain(&mut pa), ["1", "4"]);
        // a has room: the first round (c, full) fails, the next takes it.
        assert!(send(&mut lb, &mut pipes, "8", false));
        assert!(send(&mut lb, &mut pipes, "9", true)); // b is full, c full: a, locked
        assert!(send(&mut lb, &mut pipes, "10", false));
        assert_eq!(drain(&mut pa), ["8", "9", "10"]);
        assert_eq!(drain(&mut pb), ["5", "7"]);
        assert_eq!(drain(&mut pc), ["3", "6"]);
        // A pipe whose reader left is reported dead when its turn fails.
        pc.close(0);
        assert!(send(&mut lb, &mut pipes, "11", false)); // b
        assert!(send(&mut lb, &mut pipes, "12", false)); // c's turn: gone, so a
        assert_eq!(drain(&mut pb), ["11"]);
        assert_eq!(drain(&mut pa), ["12"]);
        assert_eq!(pipes.dead, [c]);
    }

    /// As above for receiving: an empty current pipe sends the search to the later rounds,
    /// a multipart message is read whole, the pipe of every frame is reported.
    #[test]
    fn fair_queue_fast_and_slow_paths_keep_the_order() {
        let mut pipes = Pipes::default();
        let mut fq = FairQueue::default();
        let (a, mut pa) = add(&mut pipes, 0);
        let (b, mut pb) = add(&mut pipes, 0);
        let (c, mut pc) = add(&mut pipes, 0);
        for id in [a, b, c] {
            fq.attach(id);
        }
        pa.send(frame("a1", false));
        pa.tx.write(frame("a2x", true));
        pa.tx.write(frame("a2y", false));
        pa.tx.flush();
        pc.send(frame("c1", false));
        pc.send(frame("c2", false));
        let mut got = Vec::new();
        while let Ok((m, id)) = fq.recv(&mut pipes) {
            got.push((String::from_utf8(m.to_vec()).unwrap(), id));
        }
        let want = [("a1", a), ("c1", c), ("a2x", a), ("a2y", a), ("c2", c)];
        assert_eq!(got, want.map(|(s, id)| (s.to_string(), id)));
        // Frames published after every pipe was found empty are found.
        pb.send(frame("b1", false));
        assert_eq!(fq.recv_msg(&mut pipes).ok().map(|m| m.to_vec()), Some(b"b1".to_vec()));
        assert!(pipes.dead.is_empty());
        pa.close(0);
        assert!(matches!(fq.recv_msg(&mut pipes), Err(Error::WouldBlock)));
        assert_eq!(pipes.dead, [a]);
    }

    #[test]
    fn fair_queue_alternates_between_busy_pipes() {
        let mut pipes = Pipes::default();
        let mut fq = FairQueue::default();
        let (a, mut pa) = add(&mut pipes, 0);
        let (b, mut pb) = add(&mut pipes, 0);
        fq.attach(a);
        fq.attach(b);
        for i in 0..3 {
            pa.send(frame(&format!("a{i}"), false));
            pb.send(frame(&format!("b{i}"), false));
        }
        let order: Vec<String> =
            (0..6).map(|_| String::from_utf8(fq.recv(&mut pipes).unwrap().0.to_vec()).unwrap()).collect();
        assert_eq!(order, ["a0", "b0", "a1", "b1", "a2", "b2"]);
        assert!(matches!(fq.recv(&mut pipes), Err(Error::WouldBlock)));
    }

    #[test]
    fn fair_queue_reads_multipart_whole() {
        let mut pipes = Pipes::default();
        let mut fq = FairQueue::default();
        let (a, mut pa) = add(&mut pipes, 0);
        let (b, mut pb) = add(&mut pipes, 0);
        fq.attach(a);
        fq.attach(b);
        pa.tx.write(frame("a1", true));
        pa.tx.write(frame("a2", false));
        pa.tx.flush();
        pb.send(frame("b", false));
        let got: Vec<(Vec<u8>, PipeId)> = (0..3)
            .map(|_| {
                let (m, id) = fq.recv(&mut pipes).unwrap();
                (m.to_vec(), id)
            })
            .collect();
        assert_eq!(got, vec![(b"a1".to_vec(), a), (b"a2".to_vec(), a), (b"b".to_vec(), b)]);
    }
}
