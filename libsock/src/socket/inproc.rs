//! inproc://: sockets of one context joined directly by a pipe, with no I/O thread.
//!
//! Bind and connect work in either order: a connect to a name nobody bound yet leaves its far
//! pipe end here, and the socket that binds the name later adopts it.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{SocketCmd, SocketShared};
use crate::codec::null::PeerInfo;
use crate::engine::EndpointId;
use crate::error::{Error, Result};
use crate::pipe::{pipe, PipeEnd};

/// A socket bound to an inproc name.
pub(crate) struct Binder {
    pub shared: Arc<SocketShared>,
    pub me: PeerInfo,
    pub sndhwm: u64,
    pub rcvhwm: u64,
    pub id: EndpointId,
    /// The binder's HELLO_MSG, queued on its end of each new pipe here (it may be idle).
    pub hello: Option<bytes::Bytes>,
}

/// A connect waiting for its name to be bound.
pub(crate) struct Pending {
    /// The binder's end of the pipe.
    pub end: PipeEnd,
    /// Who connected.
    pub peer: PeerInfo,
    /// The connecting socket's SNDHWM and RCVHWM: the bind adds its own shares to them.
    pub sndhwm: u64,
    pub rcvhwm: u64,
}

enum Slot {
    Bound(Binder),
    Waiting(Vec<Pending>),
}

/// The inproc names of one context.
#[derive(Default)]
pub(crate) struct InprocRegistry {
    names: Mutex<HashMap<String, Slot>>,
}

/// inproc pipes hold both sides' high water marks, as in libzmq (0 = unbounded).
fn sum_hwm(a: u64, b: u64) -> u64 {
    if a == 0 || b == 0 {
        0
    } else {
        a + b
    }
}

impl InprocRegistry {
    /// Binds `name`; returns the connects that were waiting for it.
    pub(crate) fn bind(&self, name: &str, binder: Binder) -> Result<Vec<Pending>> {
        let mut names = self.names.lock();
        let waiting = match names.remove(name) {
            Some(Slot::Bound(b)) => {
                names.insert(name.to_owned(), Slot::Bound(b));
                return Err(Error::AddrInUse(format!("inproc://{name}")));
            }
            Some(Slot::Waiting(mut w)) => {
                // Connected first: the pipes held only the connecting side's shares so far
                // (libzmq's connect_inproc_sockets sums both sides' at the bind).
                for p in &mut w {
                    p.end.tx.set_hwm(sum_hwm(binder.sndhwm, p.rcvhwm));
                    p.end.rx.set_hwm(sum_hwm(p.sndhwm, binder.rcvhwm));
                }
                w
            }
            None => Vec::new(),
        };
        names.insert(name.to_owned(), Slot::Bound(binder));
        Ok(waiting)
    }

    /// Connects to `name`: returns this side's pipe end and, if the name is bound, the peer.
    pub(crate) fn connect(
        &self,
        name: &str,
        me: PeerInfo,
        sndhwm: u64,
        rcvhwm: u64,
    ) -> Result<(PipeEnd, Option<PeerInfo>)> {
        let mut names = self.names.lock();
        match names.get_mut(name) {
            Some(Slot::Bound(b)) => {
                // No socket-type check: inproc has no handshake, and libzmq 4.3 joins any two
                // sockets here (its test_inproc_connect has PAIRs connect to a PULL).
                let (ours, mut theirs) = pipe(sum_hwm(sndhwm, b.rcvhwm), sum_hwm(b.sndhwm, rcvhwm));
                if let Some(hello) = &b.hello {
                    theirs.tx.send_one(hello.clone().into());
                }
                let peer = b.me.clone();
                // A binder that closed meanwhile hands the end back; dropping it closes the pipe.
                let _ = b.shared.post(SocketCmd::Attach {
                    end: theirs,
                    peer: me,
                    endpoint: b.id,
                    sub_version: None,
                });
                Ok((ours, Some(peer)))
            }
            Some(Slot::Waiting(list)) => {
                let (ours, theirs) = pipe(sndhwm, rcvhwm);
                list.push(Pending { end: theirs, peer: me, sndhwm, rcvhwm });
                Ok((ours, None))
            }
            None => {
                let (ours, theirs) = pipe(sndhwm, rcvhwm);
                let pending = Pending { end: theirs, peer: me, sndhwm, rcvhwm };
                names.insert(name.to_owned(), Slot::Waiting(vec![pending]));
                Ok((ours, None))
            }
        }
    }

    /// Whether a socket is bound to `name` (ZAP asks its handler only when one is).
    pub(crate) fn is_bound(&self, name: &str) -> bool {
        matches!(self.names.lock().get(name), Some(Slot::Bound(_)))
    }

    /// Releases `name` if `id` still holds it.
    pub(crate) fn unbind(&self, name: &str, id: EndpointId) {
        let mut names = self.names.lock();
        if matches!(names.get(name), Some(Slot::Bound(b)) if b.id == id) {
            names.remove(name);
        }
    }
}
