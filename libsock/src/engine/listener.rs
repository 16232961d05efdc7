//! A bound tcp or ipc listener inside an I/O thread.

use std::io;
use std::sync::Arc;

use super::{ConnConfig, EndpointId};
use crate::socket::SocketShared;
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
                    accepted.push(conn);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    tracing::warn!(endpoint = %self.name, "accept failed: {e}");
                    break;
                }
            }
        }
        accepted
    }
}
