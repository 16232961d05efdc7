//! Test-only pause points in the I/O thread (compiled only for libsock's unit tests): a test
//! stops a connection at an exact step of its handshake and makes its application call
//! there, an interleaving a race otherwise hits once in hundreds of runs.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::mailbox::SocketShared;

/// One armed pause: whose connection, who to tell it got there, and for how long it stops.
struct Pause {
    socket: usize,
    reached: Sender<()>,
    stop: Duration,
}

static AFTER_SNAPSHOT: Mutex<Vec<Pause>> = Mutex::new(Vec::new());

/// The next handshake of a connection of `socket` (a subscriber) tells `reached` once it
/// has sent the subscription snapshot, then stops its I/O thread for `stop` before it tells
/// the socket that the peer is ready.
pub(crate) fn after_snapshot(socket: &Arc<SocketShared>, reached: Sender<()>, stop: Duration) {
    let socket = Arc::as_ptr(socket) as usize;
    AFTER_SNAPSHOT.lock().unwrap().push(Pause { socket, reached, stop });
}

/// The I/O thread's side: pauses here if a test armed it for `socket`.
pub(super) fn reached_after_snapshot(socket: &Arc<SocketShared>) {
    let key = Arc::as_ptr(socket) as usize;
    let pause = {
        let mut armed = AFTER_SNAPSHOT.lock().unwrap();
        armed.iter().position(|p| p.socket == key).map(|i| armed.swap_remove(i))
    };
    if let Some(pause) = pause {
        let _ = pause.reached.send(());
        std::thread::sleep(pause.stop);
    }
}
