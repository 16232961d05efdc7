//! Dialing: a connect's stream, its progress through any SOCKS handshake to ZMTP, and the
//! monitor events on the way. Apart because accepted connections never pass here.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use bytes::BytesMut;
use mio::Interest;

use super::{Connection, Down, Flow, Link};
use crate::engine::socks_phase;
use crate::engine::ws_link::WsLink;
use crate::engine::Ctx;
use crate::mailbox::events::SocketEvent;
use crate::session::Session;
use crate::transport::DialTarget;

impl Connection {
    /// Moves a dialed stream towards ZMTP: the connect, then any SOCKS handshake. Returns
    /// whether the session has started.
    pub(super) fn progress_connect(&mut self, ctx: &Ctx<'_>) -> io::Result<bool> {
        let Some(link) = &mut self.link else { return Ok(false) };
        if !link.stream.connect_result()? {
            return Ok(false);
        }
        if let Some(socks) = &mut link.socks {
            let Some(rest) = socks_phase::drive(socks, &mut link.stream)? else { return Ok(false) };
            link.rbuf.extend_from_slice(&rest);
            link.socks = None;
        }
        tracing::debug!(endpoint = %self.name, "connected");
        let fd = link.stream.as_fd().as_raw_fd() as u32;
        self.ends.connected(link.stream.local_name());
        self.socket.monitor.emit_at(SocketEvent::Connected, fd, self.ends.addrs());
        let mut session = Session::new(self.cfg.session.clone(), ctx.now);
        session.set_peer_address(&link.stream.peer_address());
        session.set_peer_fd(fd as i32);
        link.session = Some(session);
        self.connect_deadline = None;
        Ok(true)
    }

    pub(super) fn dial_now(&mut self, ctx: &Ctx<'_>) -> Flow {
        if self.closing && self.nothing_to_send() {
            return Flow::Remove;
        }
        let Some((target, _)) = &self.dial else {
            return Flow::Remove;
        };
        match target.dial(&self.cfg.net) {
            Ok(mut stream) => {
                if let Err(e) =
                    ctx.registry.register(&mut stream, ctx.token, Interest::READABLE | Interest::WRITABLE)
                {
                    return self.link_down(ctx, Down::Io(e));
                }
                let peer = self.name.clone();
                let socks = target.socks();
                let out_batch = super::output::out_batch(&stream, &self.cfg.net);
                let ws = match target {
                    DialTarget::Ws(t) => {
                        let tls = t.tls.as_ref().map(|tls| (tls.config.clone(), tls.name.clone()));
                        Some(WsLink::client(&t.host, &t.path, &self.cfg.session, tls))
                    }
                    _ => None,
                };
                self.link = Some(Link {
                    out_batch,
                    stream,
                    session: None,
                    rbuf: BytesMut::new(),
                    peer,
                    ws,
                    socks,
                    direct: None,
                    out_full: false,
                    rx: None,
                    draining: None,
                });
                self.connect_deadline = self.cfg.connect_timeout.map(|t| ctx.now + t);
                if !target.connects_at_once() {
                    self.socket.monitor.emit_at(SocketEvent::ConnectDelayed, 115, self.ends.addrs());
                }
                Flow::Keep
            }
            Err(failure) => {
                // As libzmq's connecter, which closes the socket of an attempt that failed
                // at once (an ipc path nobody listens on) and says so.
                if let Some(fd) = failure.closed_fd {
                    self.socket.monitor.emit_at(SocketEvent::Closed, fd, self.ends.addrs());
                }
                self.link_down(ctx, Down::Io(failure.error))
            }
        }
    }
}
