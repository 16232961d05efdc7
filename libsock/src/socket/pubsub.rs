//! PUB, XPUB, SUB and XSUB.
//!
//! Subscriptions travel as messages (`0x01` + topic to subscribe, `0x00` + topic to cancel)
//! in pipes; the engine turns them into SUBSCRIBE/CANCEL commands for ZMTP 3.1 peers. The
//! publisher filters with a [`SubscriptionTrie`] and drops for subscribers at their HWM.

use std::collections::VecDeque;

use super::routing::{FairQueue, PipeId, Pipes, Routing, SendError};
use super::trie::SubscriptionTrie;
use crate::error::Error;
use crate::message::Message;
use crate::options::Options;

/// PUB and XPUB.
pub(crate) struct Publisher {
    xpub: bool,
    verbose: bool,
    manual: bool,
    welcome: Option<Message>,
    pipes: Vec<PipeId>,
    trie: SubscriptionTrie,
    /// Subscribers of the message being sent (fixed by its first frame).
    targets: Vec<PipeId>,
    more: bool,
    /// XPUB: subscription messages waiting for the application.
    up: VecDeque<Message>,
    /// XPUB_MANUAL: the pipe whose subscription the application is deciding on.
    last_sub_pipe: Option<PipeId>,
}

impl Publisher {
    pub(crate) fn new(xpub: bool) -> Publisher {
        Publisher {
            xpub,
            verbose: false,
            manual: false,
            welcome: None,
            pipes: Vec::new(),
            trie: SubscriptionTrie::default(),
            targets: Vec::new(),
            more: false,
            up: VecDeque::new(),
            last_sub_pipe: None,
        }
    }

    /// Reads subscription messages from every subscriber.
    fn drain(&mut self, pipes: &mut Pipes) {
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

    fn on_subscription(&mut self, id: PipeId, msg: Message) {
        let (kind, topic) = match msg.split_first() {
            Some((k @ (0 | 1), topic)) if !msg.get_more() => (*k, topic),
            // Anything else from a subscriber: XPUB hands it up, PUB ignores it.
            _ => {
                if self.xpub {
                    self.up.push_back(msg);
                }
                return;
            }
        };
        if self.manual {
            self.last_sub_pipe = Some(id);
            self.up.push_back(msg);
            return;
        }
        let pass_up = if kind == 1 {
            self.trie.add(topic, id, false) || self.verbose
        } else {
            self.trie.remove(topic, id)
        };
        if self.xpub && pass_up {
            self.up.push_back(msg);
        }
    }
}

impl Routing for Publisher {
    fn configure(&mut self, o: &Options) {
        self.verbose = o.xpub_verbose;
        self.manual = o.xpub_manual;
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
        for topic in self.trie.remove_pipe(id) {
            if self.xpub && !self.manual {
                let mut body = vec![0u8];
                body.extend_from_slice(&topic);
                self.up.push_back(Message::from(body));
            }
        }
    }

    fn on_wake(&mut self, pipes: &mut Pipes) {
        self.drain(pipes);
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        let more = msg.get_more();
        if !self.more {
            self.targets.clear();
            self.trie.matches(&msg, &mut self.targets);
            // A subscriber at its high water mark misses this message.
            self.targets.retain(|id| {
                let end = pipes.end(*id);
                end.tx.can_write() || {
                    if end.tx.is_reader_gone() {
                        pipes.dead.push(*id);
                    }
                    false
                }
            });
        }
        for id in &self.targets {
            let end = pipes.end(*id);
            end.tx.write(msg.clone());
            if !more {
                end.tx.flush();
            }
        }
        self.more = more;
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        if !self.xpub {
            return Err(Error::NotSupported);
        }
        self.drain(pipes);
        self.up.pop_front().ok_or(Error::WouldBlock)
    }

    fn subscribe(&mut self, topic: &[u8], on: bool, _: &mut Pipes) -> Result<(), Error> {
        let (true, Some(id)) = (self.xpub && self.manual, self.last_sub_pipe) else {
            return Err(Error::NotSupported);
        };
        if on {
            self.trie.add(topic, id, false);
        } else {
            self.trie.remove(topic, id);
        }
        Ok(())
    }

    fn can_send(&mut self, _: &mut Pipes) -> bool {
        true
    }

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.drain(pipes);
        !self.up.is_empty()
    }
}

/// SUB and XSUB.
pub(crate) struct Subscriber {
    xsub: bool,
    /// This socket's own subscriptions (pipe 0 stands for "us"), counted.
    subs: SubscriptionTrie,
    pipes: Vec<PipeId>,
    fq: FairQueue,
    /// XSUB: frames of an upstream multipart message still to come.
    sending_more: bool,
    /// Frames of a received (matching) multipart message still to come.
    receiving_more: bool,
}

impl Subscriber {
    pub(crate) fn new(xsub: bool) -> Subscriber {
        Subscriber {
            xsub,
            subs: SubscriptionTrie::default(),
            pipes: Vec::new(),
            fq: FairQueue::default(),
            sending_more: false,
            receiving_more: false,
        }
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

    fn send_all_subscriptions(&self, id: PipeId, pipes: &mut Pipes) {
        for (topic, _) in self.subs.topics() {
            let mut body = vec![1u8];
            body.extend_from_slice(&topic);
            pipes.end(id).tx.write(Message::from(body));
        }
        pipes.end(id).tx.flush();
    }

    /// Applies and forwards a subscription change; returns false for a message that is not one.
    fn subscription(&mut self, msg: &Message, pipes: &mut Pipes) -> bool {
        match msg.split_first() {
            Some((1, topic)) if !msg.get_more() => {
                self.subs.add(topic, 0, true);
                self.upstream(msg, pipes);
                true
            }
            Some((0, topic)) if !msg.get_more() => {
                // Forward a cancel only when our last reference to the topic goes.
                if self.subs.remove(topic, 0) {
                    self.upstream(msg, pipes);
                }
                true
            }
            _ => false,
        }
    }
}

impl Routing for Subscriber {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.pipes.push(id);
        self.fq.attach(id);
        self.send_all_subscriptions(id, pipes);
        true
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.retain(|p| *p != id);
        self.fq.detach(id);
    }

    fn peer_ready(&mut self, id: PipeId, reconnected: bool, pipes: &mut Pipes) {
        // What was queued for the broken connection was discarded by the engine.
        if reconnected {
            self.send_all_subscriptions(id, pipes);
        }
    }

    fn send(&mut self, msg: Message, pipes: &mut Pipes) -> Result<(), SendError> {
        if !self.xsub {
            return Err(SendError::Fail(Error::NotSupported));
        }
        if !self.sending_more && self.subscription(&msg, pipes) {
            return Ok(());
        }
        self.sending_more = msg.get_more();
        self.upstream(&msg, pipes);
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Message, Error> {
        loop {
            let (msg, _) = self.fq.recv(pipes)?;
            if self.receiving_more || self.subs.matches_any(&msg) {
                self.receiving_more = msg.get_more();
                return Ok(msg);
            }
            // Not subscribed (a publisher that does not filter): drop the whole message. Its
            // frames are all there already: pipes publish whole messages.
            let mut more = msg.get_more();
            while more {
                more = self.fq.recv(pipes)?.0.get_more();
            }
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

    fn can_recv(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.can_recv(pipes)
    }
}
