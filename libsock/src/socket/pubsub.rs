//! PUB, XPUB, SUB and XSUB.
//!
//! Subscriptions travel as messages (`0x01` + topic to subscribe, `0x00` + topic to cancel)
//! in pipes; the engine turns them into SUBSCRIBE/CANCEL commands for ZMTP 3.1 peers. The
//! publisher filters with a [`SubscriptionTrie`] and drops for subscribers at their HWM.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use super::routing::{FairQueue, PipeId, Pipes, Routing, SendError};
use super::trie::SubscriptionTrie;
use crate::error::Error;
use crate::message::Message;
use crate::options::Options;
use crate::socket::SocketShared;

/// PUB and XPUB.
pub(crate) struct Publisher {
    xpub: bool,
    verbose: bool,
    /// XPUB_VERBOSER: unsubscribes go up too, each of them.
    verboser: bool,
    manual: bool,
    /// XPUB_MANUAL_LAST_VALUE: the first message after a manual subscribe goes only to the
    /// peer that asked (it gets its "last value" without the others seeing it twice).
    last_value: bool,
    /// XPUB_NODROP: a subscriber at its HWM makes send block instead of missing the message.
    nodrop: bool,
    /// INVERT_MATCHING: send to the subscribers that do *not* match.
    invert: bool,
    /// The peer the next message goes to alone (XPUB_MANUAL_LAST_VALUE).
    send_last_only: Option<PipeId>,
    welcome: Option<Message>,
    pipes: Vec<PipeId>,
    trie: SubscriptionTrie,
    /// Subscribers of the message being sent (fixed by its first frame).
    targets: Vec<PipeId>,
    more: bool,
    /// XPUB: subscription messages and upstream messages waiting for the application.
    up: VecDeque<Message>,
    /// XPUB_MANUAL: the pipe of each (un)subscription in `up`, in order (`None`: a cancel
    /// made up for a subscriber that left). Each receive takes the next one, whatever it
    /// receives (upstream messages have no entry), as libzmq's `_pending_pipes`.
    pending_pipes: VecDeque<Option<PipeId>>,
    /// XPUB_MANUAL: the pipe that ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE apply to (libzmq's
    /// `_last_pipe`).
    last_sub_pipe: Option<PipeId>,
    /// XPUB_MANUAL: the topics each subscriber asked for (as it sent them, not as the
    /// application translated them): when it goes, the application gets a cancel for each,
    /// as from libzmq's `_manual_subscriptions`.
    manual_asked: HashMap<PipeId, BTreeSet<Vec<u8>>>,
    /// ONLY_FIRST_SUBSCRIBE: the frames after a message's first are subscription changes
    /// only when the first one was.
    only_first: bool,
    /// The frame read from a subscriber continues a multipart message.
    more_up: bool,
    /// Whether the frames of that message may be subscription changes (libzmq's
    /// `xpub_t::_process_subscribe`).
    subscriptions_up: bool,
    /// XPUB: a wake came while messages in `up` waited for the application, and the pipes
    /// are not read yet. libzmq's XPUB reads a subscriber's pipe when it processes the
    /// pipe's activation, which a receive does only once nothing is pending, so what the
    /// subscribers sent since is weighed (VERBOSE, the trie) when that happens, not before.
    unread: bool,
}

impl Publisher {
    pub(crate) fn new(xpub: bool) -> Publisher {
        Publisher {
            xpub,
            verbose: false,
            verboser: false,
            manual: false,
            last_value: false,
            nodrop: false,
            invert: false,
            send_last_only: None,
            welcome: None,
            pipes: Vec::new(),
            trie: SubscriptionTrie::default(),
            targets: Vec::new(),
            more: false,
            up: VecDeque::new(),
            pending_pipes: VecDeque::new(),
            last_sub_pipe: None,
            manual_asked: HashMap::new(),
            only_first: false,
            more_up: false,
            subscriptions_up: true,
            unread: false,
        }
    }

    /// Reads subscription messages from every subscriber.
    fn drain(&mut self, pipes: &mut Pipes) {
        self.unread = false;
        for i in 0..self.pipes.len() {
            let id = self.pipes[i];
            while let Some(msg) = pipes.end(id).rx.read() {
                self.on_subscription(id, msg);
            }
            if pipes.end(id).rx.is_terminated() {
                pipes.mark_dead(id);
            }
        }
    }

    /// One frame from subscriber `id`. As in libzmq 4.3's `xpub_t::xread_activated`, every
    /// frame that starts with 0 or 1 is an (un)subscription, whether or not it is part of a
    /// multipart message, and goes up (when it does) as a message of its own, without MORE;
    /// with ONLY_FIRST_SUBSCRIBE, a later frame is one only when its message's first was.
    fn on_subscription(&mut self, id: PipeId, mut msg: Message) {
        let first = !self.more_up;
        self.more_up = msg.get_more();
        let kind = match msg.first() {
            Some(&k @ (0 | 1)) if first || self.subscriptions_up => Some(k),
            _ => None,
        };
        if first {
            self.subscriptions_up = !self.only_first || kind.is_some();
        }
        let kind = match kind {
            Some(k) => k,
            // Anything else from a subscriber: XPUB hands it up, PUB ignores it.
            _ => {
                if self.xpub {
                    self.up.push_back(msg);
                }
                return;
            }
        };
        msg.set_more(false);
        let topic = &msg[1..];
        if self.manual {
            // A PUB takes XPUB_MANUAL too (libzmq's pub_t is an xpub_t), and then applies
            // nothing: it has no receive to hand the subscriptions to the application.
            if !self.xpub {
                return;
            }
            let asked = self.manual_asked.entry(id).or_default();
            if kind == 1 {
                asked.insert(topic.to_vec());
            } else {
                asked.remove(topic);
            }
            self.up.push_back(msg);
            self.pending_pipes.push_back(Some(id));
            return;
        }
        let pass_up = if kind == 1 {
            self.trie.add(topic, id, false) || self.verbose
        } else {
            self.trie.remove_or_unknown(topic, id) || self.verboser
        };
        if self.xpub && pass_up {
            self.up.push_back(msg);
        }
    }
}

impl Publisher {
    /// The subscribers of a message starting with `msg`'s first frame.
    fn select_targets(&mut self, msg: &Message) {
        self.targets.clear();
        self.trie.matches(msg, &mut self.targets);
        if self.invert {
            let matched = std::mem::take(&mut self.targets);
            self.targets.extend(self.pipes.iter().filter(|p| !matched.contains(p)));
        }
        if let Some(only) = self.send_last_only {
            self.targets.retain(|p| *p == only);
        }
    }

    /// Writes one frame of a published message to subscriber `id`'s pipe.
    #[inline]
    fn deliver(pipes: &mut Pipes, id: PipeId, msg: Message, more: bool) {
        let end = pipes.end(id);
        end.tx.write(msg);
        if !more {
            end.tx.flush();
        }
    }
}

impl Routing for Publisher {
    fn configure(&mut self, o: &Options) {
        // The options keep these flags as libzmq does (`Options::couple_xpub_flags`).
        self.verbose = o.xpub_verbose;
        self.verboser = o.xpub_verboser;
        self.manual = o.xpub_manual;
        self.last_value = o.xpub_manual_last_value;
        self.nodrop = o.xpub_nodrop;
        self.invert = o.invert_matching;
        self.only_first = o.only_first_subscribe;
        self.welcome = (!o.xpub_welcome_msg.is_empty()).then(|| Message::from(o.xpub_welcome_msg.clone()));
    }

    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.pipes.push(id);
        if let (true, Some(w)) = (self.xpub, &self.welcome) {
            pipes.end(id).tx.write(w.clone());
            pipes.end(id).tx.flush();
        }
        while let Some(msg) = pipes.end(id).rx.read() {
            self.on_subscription(id, msg);
        }
        true
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.retain(|p| *p != id);
        self.targets.retain(|p| *p != id);
        if self.send_last_only == Some(id) {
            self.send_last_only = None;
        }
        if self.last_sub_pipe == Some(id) {
            self.last_sub_pipe = None;
        }
        // XPUB_VERBOSER: a cancel for each topic the peer had, as if it had sent them all;
        // otherwise only for those nobody else wants now.
        let emptied = self.trie.remove_pipe(id, self.verboser);
        let gone = match self.manual {
            // The application subscribed this peer to its own topics: it learns of the peer
            // leaving through a cancel of each topic the peer had asked for.
            true => self.manual_asked.remove(&id).unwrap_or_default().into_iter().collect(),
            false => emptied,
        };
        for topic in gone {
            if self.xpub {
                let mut body = vec![0u8];
                body.extend_from_slice(&topic);
                self.up.push_back(Message::from(body));
                if self.manual {
                    // As libzmq: no subscriber to apply a manual subscription to from here on.
                    self.last_sub_pipe = None;
                    self.pending_pipes.push_back(None);
                }
            }
        }
    }

    fn on_wake(&mut self, pipes: &mut Pipes) {
        if self.up.is_empty() {
            self.drain(pipes);
        } else {
            self.unread = true;
        }
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        let more = msg.get_more();
        if !self.more {
            if self.unread {
                // A send takes the subscriptions in, whatever waits for the application.
                self.drain(pipes);
            }
            self.select_targets(&msg);
            if self.nodrop {
                // All or nothing: wait until every subscriber has room.
                if let Some(full) = self.targets.iter().find(|id| !pipes.end(**id).tx.can_write()) {
                    if !pipes.end(*full).tx.is_reader_gone() {
                        return Err(SendError::Again(msg));
                    }
                }
            }
            self.send_last_only = None;
            // A subscriber at its high water mark misses this message. Without NODROP the
            // publisher never waits for room, so it must not ask to be woken when there is
            // some again (`has_room`): that would cost a wake per message per full subscriber.
            let nodrop = self.nodrop;
            let matched = self.targets.len();
            self.targets.retain(|id| {
                let end = pipes.end(*id);
                let room = if nodrop { end.tx.can_write() } else { end.tx.has_room() };
                room || {
                    if end.tx.is_reader_gone() {
                        pipes.dead.push(*id);
                    }
                    false
                }
            });
            if matched > 0 && self.targets.is_empty() && !nodrop {
                // Every subscriber is at its high water mark and the message is dropped for
                // all: the publisher outruns its readers. Spinning on would only drop more,
                // while the threads that drain those pipes (the I/O thread, subscribers on
                // the same host) wait for a core; so the sender gives up the rest of its
                // time slice (the call still returns at once, as libzmq's PUB does, and
                // costs one `sched_yield` when no other thread wants the core). Measured:
                // 64 B fan-out to 4 on 2 cores, delivered per subscriber 0.24-0.77 M/s ->
                // 0.93-1.17 M/s (BENCHMARKS.md, "PUB/SUB: yield when every subscriber is full").
                std::thread::yield_now();
            }
        }
        // The last subscriber takes the frame itself: one reference-count round trip fewer,
        // none at all for a single subscriber.
        if let Some((last, rest)) = self.targets.split_last() {
            for id in rest {
                Self::deliver(pipes, *id, msg.clone(), more);
            }
            Self::deliver(pipes, *last, msg, more);
        }
        self.more = more;
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        if !self.xpub {
            return Err(Error::NotSupported);
        }
        // What is pending first, then the pipes: libzmq's `socket_base_t::recv` processes
        // commands (so reads the pipes) only when `xpub_t::xrecv` found nothing.
        if self.up.is_empty() {
            self.drain(pipes);
        }
        let msg = self.up.pop_front().ok_or(Error::WouldBlock)?;
        // Only in manual mode, as libzmq's `xpub_t::xrecv` (the mode may have changed since
        // the subscription was queued).
        if self.manual {
            if let Some(from) = self.pending_pipes.pop_front() {
                self.last_sub_pipe = from.filter(|id| self.pipes.contains(id));
            }
        }
        Ok(msg)
    }

    /// [`Routing::recv`] into `out`, released only when a subscription message comes: with
    /// none pending, libzmq's `xpub_t::xrecv` leaves the message as it was.
    fn recv_into(&mut self, pipes: &mut Pipes, out: &mut Message) -> Result<(), Error> {
        let msg = self.recv(pipes)?;
        out.clear();
        out.put_cleared(msg);
        Ok(())
    }

    fn subscribe(&mut self, topic: &[u8], on: bool, _: &mut Pipes) -> Result<(), Error> {
        // A PUB with XPUB_MANUAL takes them too, as libzmq's, and has no subscriber to
        // apply them to.
        if !self.manual {
            return Err(super::routing::subscribe_does_not_apply());
        }
        // No subscriber to apply it to (it left, or nothing was read yet): nothing to do, as
        // in libzmq.
        let Some(id) = self.last_sub_pipe else { return Ok(()) };
        if on {
            self.trie.add(topic, id, false);
            if self.last_value {
                self.send_last_only = Some(id);
            }
        } else {
            self.trie.remove(topic, id);
        }
        Ok(())
    }

    fn can_send(&mut self, pipes: &mut Pipes) -> bool {
        !self.nodrop || self.pipes.iter().all(|id| pipes.end(*id).tx.can_write())
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.drain(pipes);
        !self.up.is_empty()
    }

    fn refuses_recv(&self) -> bool {
        !self.xpub
    }
}

/// SUB and XSUB.
pub(crate) struct Subscriber {
    xsub: bool,
    /// INVERT_MATCHING: deliver what matches none of our subscriptions.
    invert: bool,
    /// This socket's own subscriptions (pipe 0 stands for "us"), counted.
    subs: SubscriptionTrie,
    pipes: Vec<PipeId>,
    fq: FairQueue,
    /// XSUB: the frame being sent continues a multipart message.
    sending_more: bool,
    /// XSUB: whether the frames of the message being sent may be subscription changes
    /// (libzmq's `xsub_t::_process_subscribe`): always, or with ONLY_FIRST_SUBSCRIBE only
    /// when its first frame was one.
    subscriptions_in_message: bool,
    /// ONLY_FIRST_SUBSCRIBE.
    only_first: bool,
    /// Frames of a received (matching) multipart message still to come.
    receiving_more: bool,
    /// Mirrors the subscribed topics for the engine (see `SocketShared::subscriptions`).
    shared: Arc<SocketShared>,
    /// Recent subscription messages by version, to bring a pipe from an engine snapshot up to
    /// date exactly.
    log: VecDeque<(u64, Message)>,
    /// SUB: a matching frame taken from the pipes by [`Routing::can_recv`] (libzmq's
    /// `xsub_t::_has_message`), returned by the next receive.
    prefetched: Option<Message>,
}

/// How many subscription changes are kept for catching up new pipes.
const LOG_LIMIT: usize = 4096;

/// Records a subscription change in the socket's snapshot and in `log`, then sends `msg` to
/// every pipe of `ids` whose connection is up (SUB/XSUB and DISH share this).
pub(super) fn record_and_forward(
    shared: &SocketShared,
    log: &mut VecDeque<(u64, Message)>,
    ids: &[PipeId],
    topic: &[u8],
    on: bool,
    msg: &Message,
    pipes: &mut Pipes,
) {
    record(shared, log, topic, on, msg);
    for id in ids {
        if pipes.slab[*id].ready {
            pipes.end(*id).tx.send_one(msg.clone());
        }
    }
}

/// Records a subscription change (`msg`, a whole message) in the socket's snapshot, which a
/// connection sends at its handshake, and in `log`, which brings later pipes up to date.
fn record(shared: &SocketShared, log: &mut VecDeque<(u64, Message)>, topic: &[u8], on: bool, msg: &Message) {
    let version = {
        let mut snap = shared.subscriptions.lock();
        if on {
            snap.topics.insert(topic.to_vec());
        } else {
            snap.topics.remove(topic);
        }
        snap.version += 1;
        snap.version
    };
    if log.len() == LOG_LIMIT {
        log.pop_front();
    }
    log.push_back((version, msg.clone()));
}

impl Subscriber {
    pub(crate) fn new(xsub: bool, shared: Arc<SocketShared>) -> Subscriber {
        Subscriber {
            xsub,
            invert: false,
            subs: SubscriptionTrie::default(),
            pipes: Vec::new(),
            fq: FairQueue::default(),
            sending_more: false,
            subscriptions_in_message: true,
            only_first: false,
            receiving_more: false,
            shared,
            log: VecDeque::new(),
            prefetched: None,
        }
    }

    /// Whether a frame is one to deliver: every frame on XSUB and after a delivered first
    /// frame; on SUB a first frame that matches (or, with INVERT_MATCHING, does not).
    #[inline]
    fn delivers(&self, first: &Message) -> bool {
        self.receiving_more || self.xsub || self.subs.matches_any(first) != self.invert
    }

    /// Drops the frames after an undelivered first frame with MORE set. They are all there
    /// already: pipes publish whole messages.
    fn drop_rest(&mut self, mut more: bool, pipes: &mut Pipes) -> Result<(), Error> {
        while more {
            more = self.fq.recv(pipes)?.0.get_more();
        }
        Ok(())
    }

    /// Sends `msg` to every publisher (queued for those still connecting).
    fn upstream(&self, msg: &Message, pipes: &mut Pipes) {
        for id in &self.pipes {
            let end = pipes.end(*id);
            end.tx.write(msg.clone());
            if !msg.get_more() {
                end.tx.flush();
            }
        }
    }

    /// Sends a subscription change to every publisher whose connection is up; the others get
    /// the current set from their engine at the handshake.
    fn forward(&mut self, topic: &[u8], subscribe: bool, msg: &Message, pipes: &mut Pipes) {
        let ids = &self.pipes;
        record_and_forward(&self.shared, &mut self.log, ids, topic, subscribe, msg, pipes);
    }

    /// Brings a pipe whose engine sent the snapshot at `since` up to date.
    fn catch_up(&self, id: PipeId, since: u64, pipes: &mut Pipes) {
        let complete = self.log.front().is_none_or(|(v, _)| *v <= since + 1);
        if !complete {
            // Too far behind for the log: resend everything (a publisher ignores repeats).
            return self.send_all_subscriptions(id, pipes);
        }
        for (_, msg) in self.log.iter().filter(|(v, _)| *v > since) {
            pipes.end(id).tx.send_one(msg.clone());
        }
    }

    fn send_all_subscriptions(&self, id: PipeId, pipes: &mut Pipes) {
        for (topic, _) in self.subs.topics() {
            let mut body = vec![1u8];
            body.extend_from_slice(&topic);
            pipes.end(id).tx.write(Message::from(body));
        }
        pipes.end(id).tx.flush();
    }

    /// Applies a subscription change made inside a multipart message: as libzmq 4.3's
    /// `xsub_t::xsend` does, any frame starting with 0 or 1 is one. It is recorded (for
    /// publishers that connect later, as a message of its own) and goes on to every pipe as
    /// the frame of the message it is, where a publisher (libzmq's too) takes it; a cancel
    /// of a topic still held is dropped, as libzmq drops it. Returns false for a frame that
    /// is not a subscription change.
    #[cold]
    fn subscription_in_message(&mut self, msg: &Message, pipes: &mut Pipes) -> bool {
        let Some((&kind @ (0 | 1), topic)) = msg.split_first() else { return false };
        let on = kind == 1;
        if on {
            self.subs.add(topic, 0, true);
        } else if !self.subs.remove(topic, 0) {
            return true;
        }
        let mut alone = msg.clone();
        alone.set_more(false);
        record(&self.shared, &mut self.log, topic, on, &alone);
        self.upstream(msg, pipes);
        true
    }

    /// Applies and forwards a subscription change sent as a message of one frame; returns
    /// false for a message that is not one.
    fn subscription(&mut self, msg: &Message, pipes: &mut Pipes) -> bool {
        match msg.split_first() {
            Some((1, topic)) => {
                // Every subscribe is forwarded, as libzmq does (an XPUB_VERBOSE sees each).
                self.subs.add(topic, 0, true);
                self.forward(topic, true, msg, pipes);
                true
            }
            Some((0, topic)) => {
                // Forward a cancel only when our last reference to the topic goes.
                if self.subs.remove(topic, 0) {
                    self.forward(topic, false, msg, pipes);
                }
                true
            }
            _ => false,
        }
    }
}

impl Routing for Subscriber {
    fn configure(&mut self, o: &Options) {
        self.invert = o.invert_matching;
        self.only_first = o.only_first_subscribe;
    }

    fn reads_into_cleared(&self) -> bool {
        true
    }

    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.pipes.push(id);
        self.fq.attach(id);
        let rec = &pipes.slab[id];
        if rec.inproc {
            self.send_all_subscriptions(id, pipes);
        } else if rec.ready {
            self.catch_up(id, rec.sub_version, pipes);
        }
        true
    }

    fn peer_ready(&mut self, id: PipeId, _reconnected: bool, pipes: &mut Pipes) {
        self.catch_up(id, pipes.slab[id].sub_version, pipes);
    }

    fn reading_from(&self) -> Option<PipeId> {
        self.fq.locked()
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.retain(|p| *p != id);
        self.fq.detach(id);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        if !self.xsub {
            return Err(SendError::Fail(Error::NotSupported));
        }
        let first = !self.sending_more;
        let whole = first && !msg.get_more();
        self.sending_more = msg.get_more();
        if first {
            // As libzmq's xsub_t::xsend: the first frame is always looked at.
            self.subscriptions_in_message = !self.only_first;
        } else if !self.subscriptions_in_message {
            self.upstream(&msg, pipes);
            return Ok(());
        }
        let changed =
            if whole { self.subscription(&msg, pipes) } else { self.subscription_in_message(&msg, pipes) };
        if changed {
            self.subscriptions_in_message = true;
            return Err(SendError::Subscribed);
        }
        self.upstream(&msg, pipes);
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        if let Some(msg) = self.prefetched.take() {
            self.receiving_more = msg.get_more();
            return Ok(msg);
        }
        loop {
            let (msg, _) = self.fq.recv(pipes)?;
            // SUB filters; XSUB passes everything, as libzmq's does (a proxy relies on it).
            if self.delivers(&msg) {
                self.receiving_more = msg.get_more();
                return Ok(msg);
            }
            // Not subscribed (a publisher that does not filter): drop the whole message.
            self.drop_rest(msg.get_more(), pipes)?;
        }
    }

    /// [`Routing::recv`] straight into `out` (see `FairQueue::recv_msg_into`), filtered the
    /// same way; a frame dropped as unsubscribed leaves `out` cleared for the next one.
    fn recv_into(&mut self, pipes: &mut Pipes, out: &mut Message) -> Result<(), Error> {
        if let Some(msg) = self.prefetched.take() {
            self.receiving_more = msg.get_more();
            out.put_cleared(msg);
            return Ok(());
        }
        loop {
            self.fq.recv_msg_into(pipes, out)?;
            if self.delivers(out) {
                self.receiving_more = out.get_more();
                return Ok(());
            }
            let more = out.get_more();
            out.clear();
            self.drop_rest(more, pipes)?;
        }
    }

    fn subscribe(&mut self, topic: &[u8], on: bool, pipes: &mut Pipes) -> Result<(), Error> {
        let mut body = vec![u8::from(on)];
        body.extend_from_slice(topic);
        self.subscription(&Message::from(body), pipes);
        Ok(())
    }

    fn can_send(&mut self, _: &mut Pipes) -> bool {
        self.xsub
    }

    /// As libzmq's `xsub_t::xhas_in`: on SUB, readable means a frame to deliver is there.
    /// Frames the subscriptions drop are dropped here, and the first one to deliver is kept
    /// for the next receive, so a poll never wakes for a message `recv` would not return
    /// (after an unsubscribe, say).
    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        if self.receiving_more || self.prefetched.is_some() {
            return true;
        }
        if self.xsub {
            return self.fq.can_recv(pipes);
        }
        loop {
            let Ok((msg, _)) = self.fq.recv(pipes) else { return false };
            if self.delivers(&msg) {
                self.prefetched = Some(msg);
                return true;
            }
            if self.drop_rest(msg.get_more(), pipes).is_err() {
                return false;
            }
        }
    }
}

#[cfg(test)]
#[path = "pubsub_tests.rs"]
mod tests;
