//! A bound tcp or ipc listener inside an I/O thread.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;

use super::{ConnConfig, EndpointId};
use crate::mailbox::events::{EventAddrs, SocketEvent};
use crate::mailbox::SocketShared;
use crate::transport::{Listener, Stream};

pub(crate) struct ListenerEntry {
    pub id: EndpointId,
    pub listener: Listener,
    pub cfg: Arc<ConnConfig>,
    pub socket: Arc<SocketShared>,
    pub name: String,
}

impl ListenerEntry {
    /// Accepts every pending connection (the listener is edge-triggered).
    pub(crate) fn accept_all(&mut self) -> Vec<(Stream, String)> {
        let mut accepted = Vec::new();
        loop {
            match self.listener.accept(&self.cfg.net) {
                Ok(conn) => {
                    tracing::debug!(endpoint = %self.name, peer = %conn.1, "accepted connection");
                    let fd = conn.0.as_fd().as_raw_fd() as u32;
                    let local = conn.0.local_name();
                    let addrs = EventAddrs { name: &self.name, local: &local, remote: &conn.1 };
                    self.socket.monitor.emit_at(SocketEvent::Accepted, fd, addrs);
                    accepted.push(conn);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                    // TCP_ACCEPT_FILTER turned a peer away; the next one may be welcome.
                    self.socket.monitor.emit(SocketEvent::AcceptFailed, libc::EACCES as u32, &self.name);
                }
                Err(e) => {
                    tracing::warn!(endpoint = %self.name, "accept failed: {e}");
                    let errno = e.raw_os_error().unwrap_or(0) as u32;
                    self.socket.monitor.emit(SocketEvent::AcceptFailed, errno, &self.name);
                    break;
                }
            }
        }
        accepted
    }
}
