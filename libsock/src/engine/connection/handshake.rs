//! The end of a connection's handshake: ZAP questions and answers, a subscriber's topics,
//! the pipe to the socket, and the application thread's direct write and read sides.
//! Apart because it runs once per link, not per message.

use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;

use super::output::subscription;
use super::{Connection, Down, Flow};
use crate::codec::null::PeerInfo;
use crate::engine::direct::{DirectTx, Framing};
use crate::engine::direct_rx::DirectRx;
use crate::engine::zap::Asked;
use crate::engine::Ctx;
use crate::mailbox::events::SocketEvent;
use crate::mailbox::{SocketCmd, SubscriptionSnapshot};
use crate::message::Message;
use crate::pipe::pipe;
use crate::session::{SessionError, ZapReply, ZapRequest};

impl Connection {
    /// Asks the ZAP handler about the peer; without a handler the answer is immediate.
    pub(super) fn ask_zap(&mut self, ctx: &Ctx<'_>, request: ZapRequest) -> Result<(), Down> {
        let link = self.link.as_mut().ok_or(Down::Closed)?;
        let address = link.session.as_ref().map_or("", |s| s.peer_address());
        match self.cfg.zap.ask(request, address, ctx.io, ctx.token) {
            Asked::Now(reply) => {
                let session = link.session.as_mut().ok_or(Down::Closed)?;
                session.zap_reply(reply, ctx.now).map_err(Down::Protocol)
            }
            Asked::NoHandler => Err(Down::Protocol(SessionError::ZapUnavailable)),
            Asked::Later(id) => {
                self.zap_pending = Some(id);
                Ok(())
            }
        }
    }

    /// The ZAP handler answered: the handshake goes on (or fails), then buffered input flows.
    pub(crate) fn on_zap_reply(&mut self, ctx: &Ctx<'_>, id: u64, reply: Result<ZapReply, u32>) -> Flow {
        if self.zap_pending != Some(id) {
            return Flow::Keep;
        }
        self.zap_pending = None;
        let reply = match reply {
            Ok(reply) => reply,
            Err(code) => return self.link_down(ctx, Down::Protocol(SessionError::ZapMalformed(code))),
        };
        let result = match self.link.as_mut().and_then(|l| l.session.as_mut()) {
            Some(session) => session.zap_reply(reply, ctx.now),
            None => return Flow::Keep,
        };
        match result {
            Ok(()) => self.pump(ctx, true, true),
            Err(e) => self.link_down(ctx, Down::Protocol(e)),
        }
    }

    pub(super) fn on_handshake(&mut self, ctx: &Ctx<'_>, peer: PeerInfo) -> Result<(), Down> {
        let link = self.link.as_ref().ok_or(Down::Closed)?;
        tracing::debug!(endpoint = %self.name, peer = %link.peer, peer_type = %peer.socket_type, "handshake done");
        self.socket.monitor.emit_at(SocketEvent::HandshakeSucceeded, 0, self.ends.addrs());
        if let Some((_, backoff)) = &mut self.dial {
            backoff.reset();
        }
        let reconnected = self.handshakes > 0;
        self.handshakes += 1;
        // A subscriber's snapshot stays locked until the socket has this connection's
        // command (PeerReady or Attach, posted below): a subscription change made meanwhile
        // is either in the snapshot or recorded after the command was posted, and the socket
        // then applies the command right after the change, which sends the pipe the change
        // (`SocketCore::change_subscription`). Posted after the unlock, the command could
        // wait in the mailbox for the application's next call on the socket, and the change
        // with it: libzmq's test_hwm_pubsub hung so, waiting for the subscription.
        let socket = self.socket.clone();
        let snapshot = self.cfg.subscriptions_as_commands.then(|| socket.subscriptions.lock());
        let sub_version = match &snapshot {
            Some(snapshot) => self.send_subscriptions(snapshot)?,
            None => 0,
        };
        #[cfg(test)]
        crate::engine::pause::reached_after_snapshot(&self.socket);
        if let (true, Some(hello), Some(_)) = (reconnected, &self.cfg.hello_msg, &self.pipe) {
            // HELLO_MSG after a reconnect: the hello queued on the kept pipe went to the
            // first connection; as libzmq's hello_msg_session_t, each new one starts with it,
            // ahead of the queued messages (and of direct writes, armed below).
            let session = self.link.as_mut().and_then(|l| l.session.as_mut()).ok_or(Down::Closed)?;
            session.send(&Message::from(hello.clone()));
        }
        self.arm_direct(ctx);
        let ends = self.ends.addrs();
        if let Some(p) = &mut self.pipe {
            p.set_ends(ends.local, ends.remote);
            let cmd = SocketCmd::PeerReady { endpoint: self.endpoint, peer, reconnected, sub_version };
            let _ = self.socket.post(cmd);
            if self.cfg.router_notify & 1 != 0 {
                p.tx.send_one(Message::new());
            }
            return Ok(());
        }
        let (mut ours, mut theirs) = pipe(self.cfg.rcvhwm, self.cfg.sndhwm);
        ours.set_io_owner(ctx.waker());
        ours.set_ends(ends.local, ends.remote);
        if let Some(hello) = &self.cfg.hello_msg {
            // HELLO_MSG: written on the socket's side of the new pipe, as if the socket had
            // sent it first, so the peer gets it even before the socket next runs.
            theirs.tx.send_one(Message::from(hello.clone()));
        }
        if let Some(d) = self.link.as_ref().and_then(|l| l.direct.clone()) {
            ours.rx.set_direct(Some(d));
        }
        if let Some(rx) = self.link.as_ref().and_then(|l| l.rx.clone()) {
            ours.tx.set_direct_source(Some(rx));
        }
        if self.cfg.router_notify & 1 != 0 {
            // ROUTER_NOTIFY: the ROUTER sees [id, empty] before anything the peer sends.
            ours.tx.send_one(Message::new());
        }
        self.pipe = Some(ours);
        let cmd =
            SocketCmd::Attach { end: theirs, peer, endpoint: self.endpoint, sub_version: Some(sub_version) };
        self.socket.post(cmd).map_err(|_| Down::SocketGone)
    }

    /// A subscriber's topics go out first, from the I/O thread: a new or returning publisher
    /// must not wait for the application to touch the socket. Subscription messages still
    /// queued from before are stale (the snapshot covers them) and are dropped; the socket
    /// sends the changes made after the returned snapshot version.
    fn send_subscriptions(&mut self, snapshot: &SubscriptionSnapshot) -> Result<u64, Down> {
        if let Some(p) = &mut self.pipe {
            p.rx.retain_queued(|m| subscription(m, true).is_none());
        }
        let session = self.link.as_mut().and_then(|l| l.session.as_mut()).ok_or(Down::Closed)?;
        for topic in &snapshot.topics {
            session.send_subscription(true, topic);
        }
        Ok(snapshot.version)
    }

    /// Gives the application thread a direct write side for this link, if it may have one
    /// (see `direct`: not for subscribers), and a read side
    /// (`direct_rx`) for the socket types that take one.
    fn arm_direct(&mut self, ctx: &Ctx<'_>) {
        if self.cfg.subscriptions_as_commands {
            return;
        }
        let Some(link) = &mut self.link else { return };
        // CURVE: the write side encrypts with the session's sender, the read side opens
        // with its receiving direction (`session::shared_cipher`).
        let curve = link.session.as_ref().and_then(|s| s.curve_out());
        // ws://: the write side frames WebSocket frames of its own, the read side takes
        // whole data frames and hands back the rest (pings, closes); over wss:// both go
        // through the link's TLS session (`ws_tls`).
        let ws_server = link.ws.as_ref().map(|ws| ws.is_server());
        let framing = match (&link.ws, curve.clone()) {
            (None, None) => Framing::Zmtp,
            (None, Some(curve)) => Framing::Curve(curve),
            (Some(ws), curve) => match ws.direct_tls() {
                Ok(tls) => Framing::Ws(ws.direct_encoder(), tls, curve),
                Err(()) => return,
            },
        };
        let tls = match &framing {
            Framing::Ws(_, tls, _) => tls.clone(),
            _ => None,
        };
        let io_pending = link.session.as_mut().is_some_and(|s| !s.out().is_empty())
            || link.ws.as_ref().is_some_and(|ws| ws.has_pending());
        let fd = link.stream.as_fd().as_raw_fd();
        let direct = Arc::new(DirectTx::new(fd, ctx.waker(), io_pending, framing));
        link.direct = Some(direct.clone());
        if let Some(p) = &self.pipe {
            p.rx.set_direct(Some(direct));
        }
        let kind = self.cfg.session.socket_type;
        if crate::engine::direct_rx::eligible(kind) {
            let meta = link.session.as_ref().and_then(|s| s.metadata()).cloned();
            let app: Arc<dyn crate::pipe::Wake> = self.socket.signal.clone();
            let max = self.cfg.session.max_msg_size;
            let poll = (ctx.registry.as_raw_fd(), ctx.token.0 as u64);
            let flood = (self.cfg.session.socket_type == crate::socket_type::SocketType::PULL)
                .then(|| self.socket.blocking_receiver.clone());
            let mut rx = DirectRx::new(fd, poll, ctx.waker(), app, max, meta, flood);
            if self.cfg.session.socket_type == crate::socket_type::SocketType::REQ {
                rx = rx.replies_only();
            }
            if let Some(server) = ws_server {
                rx = rx.websocket(server, tls);
            }
            if let Some(curve) = link.session.as_ref().and_then(|s| s.curve_in()) {
                rx = rx.curve(curve);
            }
            let rx = Arc::new(rx);
            link.rx = Some(rx.clone());
            self.rx_tick = None;
            if let Some(p) = &self.pipe {
                p.tx.set_direct_source(Some(rx));
            }
        }
    }
}
