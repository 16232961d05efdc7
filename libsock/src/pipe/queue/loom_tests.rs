//! The real queue under loom (`scripts/loom.sh`): a writer at its high water mark and a
//! reader, each sleeping whenever it cannot go on, over every interleaving of a few messages
//! (up to 3 preemptions: `sys::sync::check`). A lost wake leaves both asleep, which loom reports as a deadlock;
//! a message out of order or lost fails the assertions. This checks the queue's own wake
//! rules (when the reader decides on a wake, when the writer registers) on top of the
//! handshakes that `sys::ring` and `pipe::progress` check alone.

use super::*;
use loom::sync::Notify;

/// A waker a loom thread can sleep on (a wake before the sleep is kept).
struct Bell(Notify);

impl Wake for Bell {
    fn wake(&self) {
        self.0.notify();
    }
}

fn run(hwm: u64, count: u8) {
    crate::sys::sync::check(move || {
        let (mut w, mut r) = queue(hwm);
        let (writer_bell, reader_bell) = (Arc::new(Bell(Notify::new())), Arc::new(Bell(Notify::new())));
        w.set_waker(writer_bell.clone());
        r.set_waker(reader_bell.clone());
        let reader = loom::thread::spawn(move || {
            for i in 0..count {
                let msg = loop {
                    match r.read() {
                        Some(msg) => break msg,
                        None => reader_bell.0.wait(),
                    }
                };
                assert_eq!(&msg[..], &[i], "messages arrive in order, each once");
            }
        });
        for i in 0..count {
            while !w.can_write() {
                writer_bell.0.wait();
            }
            w.send_one(Message::from_slice(&[i]));
        }
        reader.join().unwrap();
    });
}

#[test]
fn loom_writer_at_hwm_1_and_reader_never_both_sleep() {
    run(1, 3);
}

#[test]
fn loom_writer_at_hwm_2_and_reader_never_both_sleep() {
    run(2, 3);
}

#[test]
fn loom_writer_at_hwm_3_gets_room_in_low_water_mark_steps_and_is_woken() {
    // LWM 2: the credit moves every second message taken, not at each one.
    run(3, 4);
}
