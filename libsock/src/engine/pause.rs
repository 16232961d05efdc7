//! Test-only pause points in the I/O thread (compiled only for libsock's unit tests): a test
//! stops a connection at an exact step and makes its application call there, or lets time
//! pass, an interleaving a race otherwise hits once in hundreds of runs.

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
static AFTER_PING: Mutex<Vec<Pause>> = Mutex::new(Vec::new());

/// The next handshake of a connection of `socket` (a subscriber) tells `reached` once it
/// has sent the subscription snapshot, then stops its I/O thread for `stop` before it tells
/// the socket that the peer is ready.
pub(crate) fn after_snapshot(socket: &Arc<SocketShared>, reached: Sender<()>, stop: Duration) {
    arm(&AFTER_SNAPSHOT, socket, reached, stop);
}

/// The next connection of `socket` to send a heartbeat PING tells `reached` once the PING is
/// written, then stops its I/O thread for `stop` (a thread run late on a loaded host).
pub(crate) fn after_ping(socket: &Arc<SocketShared>, reached: Sender<()>, stop: Duration) {
    arm(&AFTER_PING, socket, reached, stop);
}

/// The I/O thread's side of [`after_snapshot`].
pub(super) fn reached_after_snapshot(socket: &Arc<SocketShared>) {
    reached(&AFTER_SNAPSHOT, socket);
}

/// The I/O thread's side of [`after_ping`].
pub(super) fn reached_after_ping(socket: &Arc<SocketShared>) {
    reached(&AFTER_PING, socket);
}

fn arm(point: &Mutex<Vec<Pause>>, socket: &Arc<SocketShared>, reached: Sender<()>, stop: Duration) {
    let socket = Arc::as_ptr(socket) as usize;
    point.lock().unwrap().push(Pause { socket, reached, stop });
}

/// Pauses here if a test armed `point` for `socket`.
fn reached(point: &Mutex<Vec<Pause>>, socket: &Arc<SocketShared>) {
    let key = Arc::as_ptr(socket) as usize;
    let pause = {
        let mut armed = point.lock().unwrap();
        armed.iter().position(|p| p.socket == key).map(|i| armed.swap_remove(i))
    };
    if let Some(pause) = pause {
        let _ = pause.reached.send(());
        std::thread::sleep(pause.stop);
    }
}
