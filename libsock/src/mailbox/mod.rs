//! What a socket shares with the threads that serve it: its mailbox of commands, its signal
//! and where its events go. It sits beneath both `socket` and `engine` (and `monitor`), so
//! each of them imports it and none of them imports the other to talk across threads.

pub(crate) mod events;
pub(crate) mod monitor_frames;
pub(crate) mod signal;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::codec::null::PeerInfo;
use crate::pipe::PipeEnd;
pub(crate) use signal::Signal;

/// Identifies one bind or connect of one socket, across threads.
pub(crate) type EndpointId = u64;

/// Commands posted to a socket by I/O threads and inproc peers.
// Pipe ends travel by value: commands are rare (one per connection event), boxing would
// cost an allocation each, and the size only matters for the mailbox's slots.
#[allow(clippy::large_enum_variant)]
pub(crate) enum SocketCmd {
    /// A new peer is connected through this pipe end.
    /// `sub_version`: the subscription snapshot the engine already sent (SUB/XSUB); `None`
    /// for an inproc peer (no engine).
    Attach { end: PipeEnd, peer: PeerInfo, endpoint: EndpointId, sub_version: Option<u64> },
    /// A pipe made at connect time has finished its handshake.
    PeerReady { endpoint: EndpointId, peer: PeerInfo, reconnected: bool, sub_version: u64 },
    /// The connection behind a connect-time pipe broke; it is reconnecting.
    PeerLost { endpoint: EndpointId },
    /// A dialer gave up for good where libzmq's session asks its socket to forget the
    /// endpoint (a refused connect under RECONNECT_STOP, a lost connection without
    /// RECONNECT_IVL): the socket forgets it too.
    DialerEnded { endpoint: EndpointId },
}

/// A subscriber's current topics and a version bumped by every change, so a pipe that
/// receives a snapshot at version `v` can then be sent exactly the changes after `v`.
#[derive(Default)]
pub(crate) struct SubscriptionSnapshot {
    pub topics: std::collections::BTreeSet<Vec<u8>>,
    pub version: u64,
}

/// The part of a socket other threads may touch.
pub(crate) struct SocketShared {
    pub(crate) signal: Arc<Signal>,
    /// Where connection events go (`Socket::monitor`).
    pub(crate) monitor: events::MonitorSlot,
    /// SUB/XSUB: the topics subscribed now, which the engine sends at every handshake so
    /// that subscriptions reach a new or returning publisher without the application's help.
    pub(crate) subscriptions: Mutex<SubscriptionSnapshot>,
    mailbox: Mutex<Mailbox>,
    pub(crate) pending: AtomicBool,
    /// The socket's thread receives by blocking calls (its last receive blocked, with at
    /// most one pipe): a PULL's connection may then hand it a flood (`engine::direct_rx`
    /// rule 8). Set and cleared by that thread, read by the I/O threads.
    pub(crate) blocking_receiver: Arc<AtomicBool>,
}

#[derive(Default)]
struct Mailbox {
    cmds: Vec<SocketCmd>,
    closed: bool,
}

impl SocketShared {
    pub(crate) fn new() -> SocketShared {
        SocketShared {
            signal: Arc::default(),
            monitor: Default::default(),
            subscriptions: Mutex::default(),
            mailbox: Mutex::default(),
            pending: AtomicBool::new(false),
            blocking_receiver: Arc::default(),
        }
    }

    /// Takes every posted command (for mailboxes that no socket core reads).
    pub(crate) fn take_commands(&self) -> Vec<SocketCmd> {
        self.take()
    }

    /// Delivers a command and wakes the socket. Fails (returning it) once the socket closed.
    #[allow(clippy::result_large_err)] // The caller needs the pipe end back to close it.
    pub(crate) fn post(&self, cmd: SocketCmd) -> std::result::Result<(), SocketCmd> {
        let mut mb = self.mailbox.lock();
        if mb.closed {
            return Err(cmd);
        }
        mb.cmds.push(cmd);
        self.pending.store(true, Ordering::Release);
        drop(mb);
        crate::pipe::Wake::wake(&*self.signal);
        Ok(())
    }

    pub(crate) fn take(&self) -> Vec<SocketCmd> {
        let mut mb = self.mailbox.lock();
        self.pending.store(false, Ordering::Relaxed);
        std::mem::take(&mut mb.cmds)
    }

    pub(crate) fn close(&self) -> Vec<SocketCmd> {
        let mut mb = self.mailbox.lock();
        mb.closed = true;
        std::mem::take(&mut mb.cmds)
    }
}
