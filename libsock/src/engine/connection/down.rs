//! A link's end: reconnect or removal, what the socket and the pipe are told, and the
//! monitor event and code for each cause. Apart because every path of the other files
//! ends here, and it is mostly mapping errors to libzmq's codes.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use super::{Connection, Down, Flow};
use crate::codec::{CodecError, CommandName};
use crate::engine::Ctx;
use crate::mailbox::events::{self as monitor, SocketEvent};
use crate::mailbox::SocketCmd;
use crate::message::Message;
use crate::session::SessionError;

impl Connection {
    /// The stream failed or closed: log why, then reconnect or end.
    pub(super) fn link_down(&mut self, ctx: &Ctx<'_>, why: Down) -> Flow {
        let handshaking = self.link.as_ref().and_then(|l| l.session.as_ref()).is_some_and(|s| !s.is_active());
        match &why {
            Down::Protocol(e) => tracing::warn!(endpoint = %self.name, "closing connection: {e}"),
            Down::Io(e) if self.link.as_ref().is_some_and(|l| l.session.is_none()) => {
                tracing::debug!(endpoint = %self.name, "connect failed: {e}")
            }
            Down::Io(e) => tracing::info!(endpoint = %self.name, "connection lost: {e}"),
            Down::Closed if handshaking => {
                tracing::info!(endpoint = %self.name, "peer closed the connection during the handshake")
            }
            Down::Closed => tracing::debug!(endpoint = %self.name, "peer closed the connection"),
            Down::SocketGone => return Flow::Remove,
        }
        // What the session queued before it found the fault goes out first (best effort),
        // as it has in libzmq by then: on a mechanism mismatch the rest of our greeting,
        // queued when the peer's version arrived with its mechanism, so the peer reports
        // the mismatch, not that we hung up; the PONG to a PING read just before a bad
        // frame, which libzmq writes at once (`process_heartbeat_message`).
        // A refusal's queued ERROR tells the refused peer why.
        // Over ws, a close frame behind it says why.
        // Not behind a message the application thread left half written (it writes no more).
        let between_messages = self.link.as_ref().and_then(|l| l.direct.as_ref()).is_none_or(|d| d.settle());
        if let (Down::Protocol(e), Some(link), true) = (&why, &mut self.link, between_messages) {
            if let Some(session) = &mut link.session {
                let _ = match &mut link.ws {
                    Some(ws) => session.out().write_to(&mut ws.writer(&mut link.stream)),
                    None => session.out().write_to(&mut link.stream),
                };
            }
            if let Some(ws) = &mut link.ws {
                ws.fail(&mut link.stream, e);
            }
        }
        let reports_bad_metadata =
            self.link.as_ref().and_then(|l| l.session.as_ref()).is_some_and(|s| s.reports_bad_metadata());
        let was_up = self.link.as_ref().and_then(|l| l.session.as_ref()).is_some_and(|s| s.is_active());
        if let (true, true, Some(p)) = (was_up, self.cfg.router_notify & 2 != 0, &mut self.pipe) {
            // ROUTER_NOTIFY: [id, empty] after the peer's last complete message.
            p.tx.discard_incomplete();
            p.tx.send_one(Message::new());
        }
        if let (true, false, Some(msg), Some(p)) =
            (was_up, self.dial.is_some(), &self.cfg.disconnect_msg, &mut self.pipe)
        {
            // DISCONNECT_MSG: as libzmq's session, only for accepted peers that finished the
            // handshake; the ROUTER receives it as [id, msg] after the peer's last message (a SERVER
            // with the peer's routing id on it).
            p.tx.discard_incomplete();
            p.tx.send_one(Message::from(msg.clone()));
        }
        let refused = matches!(&why, Down::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused);
        // A peer that broke the protocol (a malformed command, another mechanism, a frame over
        // MAXMSGSIZE) or answered with ERROR (ZAP refused us) is not asked again: libzmq 4.3
        // ends the session on a protocol error instead of reconnecting.
        // The side that refused its peer with an ERROR (ZAP said 400 or 500) is not at fault:
        // libzmq's waits for the refused peer to hang up, which it takes as a lost connection
        // (a dialer reconnects, or with no RECONNECT_IVL its endpoint ends).
        let refused_peer =
            matches!(&why, Down::Protocol(SessionError::AuthFailed(status)) if status != "300");
        let protocol_error = !refused_peer && matches!(&why, Down::Protocol(e) if e.is_protocol_error());
        let stop = (refused && self.cfg.reconnect_stop & 1 != 0)
            || (handshaking && self.cfg.reconnect_stop & 2 != 0)
            || protocol_error;
        // As libzmq's session, a dialer whose connect was refused under RECONNECT_STOP, or
        // whose connection was lost with no RECONNECT_IVL, has its socket forget the
        // endpoint (`term_endpoint`): disconnecting it then fails with ENOENT. Stopped on a
        // failed handshake or a protocol error, the endpoint stays, as there.
        let had_connection = self.link.as_ref().is_some_and(|l| l.session.is_some());
        let endpoint_ends = self.dial.is_some()
            && !self.closing
            && !self.released
            && ((refused && self.cfg.reconnect_stop & 1 != 0)
                || (had_connection && !stop && self.cfg.reconnect_ivl.is_none()));
        if endpoint_ends {
            // Before the monitor hears of it: a disconnect made on DISCONNECTED or CLOSED
            // finds the endpoint already gone.
            let _ = self.socket.post(SocketCmd::DialerEnded { endpoint: self.endpoint });
        }
        self.zap_pending = None;
        if let Some(mut link) = self.link.take() {
            let _ = ctx.registry.deregister(&mut link.stream);
            let fd = link.stream.as_fd().as_raw_fd() as u32;
            if link.session.is_some() {
                self.report_down(&why, handshaking, reports_bad_metadata, fd);
            } else {
                // A connect attempt that never completed (refused, timed out): libzmq's
                // connecter closes its socket and reports CLOSED, before CONNECT_RETRIED.
                self.socket.monitor.emit_at(SocketEvent::Closed, fd, self.ends.addrs());
            }
            self.ends.unlinked();
        }
        // After the link (and its direct write side) is gone: nothing can be sent behind this.
        self.drop_partial_out();
        self.connect_deadline = None;
        if stop {
            tracing::info!(endpoint = %self.name, "not reconnecting (RECONNECT_STOP, or a protocol error)");
        }
        let redial = self.dial.is_some() && !self.released;
        if redial && !had_connection && !stop && !self.closing && self.cfg.reconnect_ivl.is_none() {
            // As libzmq's connecter with no RECONNECT_IVL: an attempt that failed is not
            // made again, but the endpoint stays, and so does its pipe: what is sent queues
            // (POLLOUT without IMMEDIATE) and a disconnect finds the endpoint.
            return Flow::Keep;
        }
        let reconnect =
            !stop && self.cfg.reconnect_ivl.is_some() && !(self.closing && self.nothing_to_send());
        let Some((_, backoff)) = self.dial.as_mut().filter(|_| reconnect && redial) else {
            return Flow::Remove;
        };
        let delay = backoff.next_delay();
        if self.cfg.immediate {
            // With IMMEDIATE the pipe exists only while a peer is connected.
            if let Some(mut p) = self.pipe.take() {
                p.close(0);
            }
        } else if let Some(p) = &mut self.pipe {
            p.tx.discard_incomplete();
            let _ = self.socket.post(SocketCmd::PeerLost { endpoint: self.endpoint });
        }
        self.retry_at = Some(ctx.now + delay);
        self.socket.monitor.emit_at(SocketEvent::ConnectRetried, delay.as_millis() as u32, self.ends.addrs());
        self.read_paused = false;
        Flow::Keep
    }

    /// The link went down part way through sending a multipart message: drop the rest of
    /// it from the pipe (it is all there: pipes publish whole messages), as libzmq does.
    fn drop_partial_out(&mut self) {
        if !std::mem::take(&mut self.out_mid) {
            return;
        }
        if let Some(p) = &mut self.pipe {
            while let Some(m) = p.rx.read() {
                if !m.get_more() {
                    break;
                }
            }
        }
    }

    /// Tells the monitor how a connected stream ended; `reports_bad_metadata`: whether
    /// libzmq's mechanism on our side reports a peer's bad properties
    /// ([`Session::reports_bad_metadata`](crate::session::Session::reports_bad_metadata)).
    fn report_down(&self, why: &Down, handshaking: bool, reports_bad_metadata: bool, fd: u32) {
        let m = &self.socket.monitor;
        if handshaking {
            match why {
                Down::Protocol(SessionError::AuthFailed(status) | SessionError::PeerError(status))
                    if status_code(status).is_some() =>
                {
                    let code = status_code(status).unwrap_or(0);
                    m.emit_at(SocketEvent::HandshakeFailedAuth, code, self.ends.addrs())
                }
                Down::Protocol(
                    SessionError::MechanismMismatch { .. }
                    | SessionError::Protocol(CodecError::UnknownMechanism),
                ) => m.emit_at(
                    SocketEvent::HandshakeFailedProtocol,
                    monitor::PROTOCOL_ERROR_MECHANISM_MISMATCH,
                    self.ends.addrs(),
                ),
                Down::Protocol(SessionError::ZapUnavailable) => {
                    m.emit_at(SocketEvent::HandshakeFailedNoDetail, libc::EFAULT as u32, self.ends.addrs())
                }
                // libzmq reports the errno its engine last saw: the EAGAIN of the read that
                // found nothing, on either side.
                Down::Protocol(SessionError::HandshakeTimeout(_)) => {
                    m.emit_at(SocketEvent::HandshakeFailedNoDetail, libc::EAGAIN as u32, self.ends.addrs())
                }
                // As libzmq: the errno of the failed read or write, EPIPE when the peer closed.
                Down::Closed => {
                    m.emit_at(SocketEvent::HandshakeFailedNoDetail, libc::EPIPE as u32, self.ends.addrs())
                }
                Down::Io(e) => {
                    let errno = e.raw_os_error().unwrap_or(0) as u32;
                    m.emit_at(SocketEvent::HandshakeFailedNoDetail, errno, self.ends.addrs())
                }
                // A frame over MAXMSGSIZE fails in libzmq's decoder, which reports nothing but
                // the disconnect, in the handshake too. An ERROR whose reason is no status
                // code reports nothing either (`mechanism_t::handle_error_reason`).
                Down::Protocol(
                    SessionError::Protocol(CodecError::FrameTooLarge { .. })
                    | SessionError::OutOfMemory(_)
                    | SessionError::PeerError(_),
                ) => {}
                Down::Protocol(SessionError::Protocol(e)) if is_bad_metadata(e) && !reports_bad_metadata => {}
                Down::Protocol(e) => {
                    m.emit_at(SocketEvent::HandshakeFailedProtocol, protocol_code(e), self.ends.addrs())
                }
                Down::SocketGone => {}
            }
        }
        m.emit_at(SocketEvent::Disconnected, fd, self.ends.addrs());
    }
}

/// A ZAP status code (`300`, `400`, `500`) in an ERROR reason or a refusal.
fn status_code(reason: &str) -> Option<u32> {
    let code: u32 = reason.parse().ok()?;
    (300..600).contains(&code).then_some(code)
}

/// libzmq's `ZMQ_PROTOCOL_ERROR_*` code for a handshake failure.
fn protocol_code(e: &SessionError) -> u32 {
    match e {
        SessionError::ZapMalformed(code) => *code,
        SessionError::UnexpectedCommand(_) => monitor::PROTOCOL_ERROR_UNEXPECTED_COMMAND,
        // libzmq's mechanisms read a data frame in the handshake as a command they did not
        // expect.
        SessionError::DataBeforeReady => monitor::PROTOCOL_ERROR_UNEXPECTED_COMMAND,
        SessionError::Protocol(CodecError::MalformedCommand) => monitor::PROTOCOL_ERROR_MALFORMED_COMMAND,
        SessionError::Protocol(CodecError::Malformed(name)) => match name {
            CommandName::Message => monitor::PROTOCOL_ERROR_MALFORMED_MESSAGE,
            CommandName::Hello => monitor::PROTOCOL_ERROR_MALFORMED_HELLO,
            CommandName::Initiate => monitor::PROTOCOL_ERROR_MALFORMED_INITIATE,
            CommandName::Error => monitor::PROTOCOL_ERROR_MALFORMED_ERROR,
            CommandName::Ready => monitor::PROTOCOL_ERROR_MALFORMED_READY,
            CommandName::Welcome => monitor::PROTOCOL_ERROR_MALFORMED_WELCOME,
        },
        SessionError::Protocol(CodecError::Cryptographic | CodecError::WeakKey) => {
            monitor::PROTOCOL_ERROR_CRYPTOGRAPHIC
        }
        SessionError::Protocol(e) if is_bad_metadata(e) => monitor::PROTOCOL_ERROR_INVALID_METADATA,
        SessionError::Protocol(CodecError::WebSocket(_)) => monitor::PROTOCOL_ERROR_WS_UNSPECIFIED,
        _ => monitor::PROTOCOL_ERROR_UNSPECIFIED,
    }
}

/// Whether `e` is about the peer's properties (READY's, or those in INITIATE).
fn is_bad_metadata(e: &CodecError) -> bool {
    matches!(
        e,
        CodecError::MalformedProperty
            | CodecError::MissingSocketType
            | CodecError::UnknownSocketType
            | CodecError::IncompatibleSocketType { .. }
            | CodecError::BadRoutingId
    )
}
