//! Unit tests of the queue: HWM and low water mark accounting, wake-ups, CONFLATE,
//! multipart atomicity, close and metadata.

#[test]
fn conflate_keeps_only_the_newest_whole_message() {
    let (mut w, mut r) = queue(2);
    w.set_conflate();
    for i in 0..10 {
        assert!(w.can_write(), "CONFLATE ignores the HWM");
        w.send_one(Message::from(format!("{i}")));
    }
    assert_eq!(&*r.read().unwrap(), b"9");
    assert!(r.read().is_none());
    let mut head = Message::from("a");
    head.set_more(true);
    w.write(head.clone());
    w.write(Message::from("b"));
    w.write(head);
    w.write(Message::from("c"));
    w.flush();
    assert_eq!(&*r.read().unwrap(), b"a");
    assert_eq!(&*r.read().unwrap(), b"c");
    assert!(r.read().is_none() && w.can_write());
}

use super::*;
use crate::message::Metadata;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
struct Counter(AtomicUsize);
impl Wake for Counter {
    fn wake(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
impl Counter {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A waker a thread can sleep on (a wake before the sleep is not lost).
#[derive(Default)]
struct Doorbell(parking_lot::Mutex<bool>, parking_lot::Condvar);
impl Wake for Doorbell {
    fn wake(&self) {
        *self.0.lock() = true;
        self.1.notify_one();
    }
}
impl Doorbell {
    /// Waits for a wake; false when none came within a long time (a lost wake-up).
    fn sleep(&self) -> bool {
        let mut rung = self.0.lock();
        if !*rung {
            self.1.wait_for(&mut rung, std::time::Duration::from_secs(20));
        }
        std::mem::take(&mut *rung)
    }
}

#[test]
fn no_wake_up_is_lost_between_a_full_writer_and_its_reader() {
    // Both ends sleep whenever they cannot go on; any lost wake-up hangs one of them.
    // Small HWMs make the writer wait constantly; the reader pauses at random.
    for hwm in [1u64, 2, 3, 8, 50] {
        let (mut w, mut r) = queue(hwm);
        let (wb, rb) = (Arc::new(Doorbell::default()), Arc::new(Doorbell::default()));
        w.set_waker(wb.clone());
        r.set_waker(rb.clone());
        const N: u32 = 50_000;
        let reader = std::thread::spawn(move || {
            let mut seed = hwm as u32 * 7919 + 1;
            for i in 0..N {
                let m = loop {
                    match r.read() {
                        Some(m) => break m,
                        None => assert!(rb.sleep(), "reader never woken (hwm {hwm}, message {i})"),
                    }
                };
                assert_eq!(&m[..], &i.to_le_bytes()[..]);
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                if seed % 64 == 0 {
                    std::thread::yield_now();
                }
            }
        });
        for i in 0..N {
            while !w.can_write() {
                assert!(wb.sleep(), "writer never woken (hwm {hwm}, message {i})");
            }
            w.send_one(Message::from_slice(&i.to_le_bytes()));
        }
        reader.join().unwrap();
    }
}

fn frame(body: &str, more: bool) -> Message {
    let mut m = Message::from(body);
    m.set_more(more);
    m
}

#[test]
fn multipart_is_published_whole() {
    let (mut w, mut r) = queue(0);
    w.write(frame("a", true));
    w.flush();
    assert!(r.read().is_none(), "half a message must stay invisible");
    w.write(frame("b", false));
    w.flush();
    assert_eq!(&*r.read().unwrap(), b"a");
    assert_eq!(&*r.read().unwrap(), b"b");
}

#[test]
fn hwm_counts_messages_and_wakes_the_writer() {
    let (mut w, mut r) = queue(2);
    let writer_wake = Arc::new(Counter::default());
    w.set_waker(writer_wake.clone());
    for i in 0..2 {
        assert!(w.can_write());
        w.write(frame("x", true));
        w.write(frame(&i.to_string(), false));
        w.flush();
    }
    assert!(!w.can_write());
    assert_eq!(writer_wake.get(), 0);
    r.read().unwrap();
    assert_eq!(writer_wake.get(), 0, "a partly read message frees nothing");
    r.read().unwrap();
    assert_eq!(writer_wake.get(), 1);
    assert!(w.can_write());
}

#[test]
fn a_writer_waiting_behind_large_messages_is_woken_by_bytes() {
    let (mut w, mut r) = queue(100);
    let writer_wake = Arc::new(Counter::default());
    w.set_waker(writer_wake.clone());
    let big = Message::from(vec![7u8; 64 * 1024]);
    while w.can_write() {
        w.send_one(big.clone());
    }
    for _ in 0..3 {
        r.read().unwrap();
    }
    assert_eq!(writer_wake.get(), 0, "192 KiB taken: not yet");
    r.read().unwrap();
    assert_eq!(writer_wake.get(), 1, "256 KiB taken: long before half the HWM");
}

#[test]
fn a_writer_an_io_thread_reads_for_is_woken_at_the_low_water_mark_only() {
    let (mut w, mut r) = queue(100);
    r.wake_writer_at_low_water_marks_only();
    let writer_wake = Arc::new(Counter::default());
    w.set_waker(writer_wake.clone());
    let big = Message::from(vec![7u8; 64 * 1024]);
    while w.can_write() {
        w.send_one(big.clone());
    }
    for _ in 0..49 {
        r.read().unwrap();
    }
    assert_eq!(writer_wake.get(), 0, "3 MiB taken, but fewer than half the HWM");
    assert!(!w.can_write());
    r.read().unwrap();
    assert_eq!(writer_wake.get(), 1, "half the HWM taken");
    assert!(w.can_write());
}

#[test]
fn a_full_writer_gets_room_and_a_wake_once_per_low_water_mark() {
    let (mut w, mut r) = queue(100);
    let writer_wake = Arc::new(Counter::default());
    w.set_waker(writer_wake.clone());
    for i in 0..100 {
        assert!(w.can_write());
        w.send_one(frame(&i.to_string(), false));
    }
    assert!(!w.can_write(), "full: the writer now waits");
    for _ in 0..49 {
        r.read().unwrap();
        assert!(!w.can_write(), "no room for fewer than the LWM taken, polling or not");
    }
    assert_eq!(writer_wake.get(), 0, "no wake per message taken");
    r.read().unwrap();
    assert_eq!(writer_wake.get(), 1, "woken after the LWM, (100 + 1) / 2");
    for _ in 0..50 {
        assert!(w.can_write(), "room for a whole LWM");
        w.send_one(frame("more", false));
    }
    assert!(!w.can_write());
    while r.read().is_some() {}
    assert_eq!(writer_wake.get(), 2, "running dry wakes the writer with credit");
    assert!(w.can_write());
}

#[test]
fn an_empty_queue_has_room_under_a_lowered_bound() {
    let (mut w, mut r) = queue(100);
    for _ in 0..30 {
        w.send_one(frame("m", false));
    }
    while r.read().is_some() {}
    // 30 taken, fewer than the LWM of 50: no credit yet. A bound lowered to 10 now
    // must not leave the writer waiting on a reader that has nothing left to take.
    w.set_hwm(10);
    assert!(w.can_write() && w.has_room());
    w.send_one(frame("m", false));
    assert_eq!(&*r.read().unwrap(), b"m");
}

#[test]
fn low_water_marks_are_libzmqs() {
    let lwm: Vec<_> = [0, 1, 2, 3, 20, 1000, 11_024].map(low_water_mark).into();
    assert_eq!(lwm, [0, 1, 1, 2, 10, 500, 5512]);
}

#[test]
fn has_room_never_asks_for_a_wake() {
    let (mut w, mut r) = queue(40);
    let writer_wake = Arc::new(Counter::default());
    w.set_waker(writer_wake.clone());
    for i in 0..40 {
        assert!(w.has_room());
        w.send_one(frame(&i.to_string(), false));
    }
    for _ in 0..3 {
        assert!(!w.has_room(), "full at the HWM");
    }
    // The reader reports progress in batches, and wakes nobody: the writer drops, it
    // does not wait.
    let first = r.read().unwrap();
    assert_eq!(&*first, b"0");
    assert!(!w.has_room(), "one read is not published yet");
    while r.read().is_some() {}
    assert_eq!(writer_wake.get(), 0);
    assert!(w.has_room(), "a drained queue has room again");
    r.close();
    assert!(!w.has_room(), "a closed reader takes nothing");
}

#[test]
fn parked_reader_is_woken_once_per_batch() {
    let (mut w, mut r) = queue(0);
    let reader_wake = Arc::new(Counter::default());
    r.set_waker(reader_wake.clone());
    assert!(r.read().is_none());
    for _ in 0..10 {
        w.write(frame("m", false));
        w.flush();
    }
    assert_eq!(reader_wake.get(), 1);
    for _ in 0..10 {
        assert!(r.read().is_some());
    }
}

#[test]
fn close_terminates_after_queued_messages() {
    let (mut w, mut r) = queue(0);
    w.write(frame("last", false));
    w.write(frame("half", true));
    w.close(250);
    assert!(!r.is_terminated());
    assert_eq!(&*r.read().unwrap(), b"last");
    assert!(r.read().is_none());
    assert!(r.is_terminated());
    assert_eq!(r.linger_ms(), 250);
}

#[test]
fn farewell_comes_once_after_the_writers_last_message() {
    let (mut w, mut r) = queue(1);
    r.set_farewell(Some(frame("bye", false)));
    w.write(frame("last", false));
    w.flush();
    assert_eq!(&*r.read().unwrap(), b"last");
    assert!(r.read().is_none() && !r.is_terminated(), "not before the writer closes");
    w.write(frame("half", true));
    w.close(0);
    assert!(!r.is_terminated());
    assert_eq!(&*r.read().unwrap(), b"bye");
    assert!(r.read().is_none());
    assert!(r.is_terminated());
    // Not the writer's: its HWM of 1 was not taken by the farewell.
    assert_eq!(r.read, 1);
}

#[test]
fn reader_close_is_seen_by_the_writer() {
    let (mut w, mut r) = queue(1);
    w.write(frame("x", false));
    w.flush();
    r.close();
    assert!(w.is_reader_gone());
    assert!(!w.can_write());
}

#[test]
fn threads_exchange_frames_in_order() {
    let (mut w, mut r) = queue(100);
    let wake = Arc::new(Counter::default());
    w.set_waker(wake.clone());
    r.set_waker(wake);
    let n = 200_000u32;
    let t = std::thread::spawn(move || {
        for i in 0..n {
            while !w.can_write() {
                std::thread::yield_now();
            }
            w.write(Message::from_slice(&i.to_le_bytes()));
            w.flush();
        }
    });
    let mut next = 0u32;
    while next < n {
        match r.read() {
            Some(m) => {
                assert_eq!(u32::from_le_bytes(m[..4].try_into().unwrap()), next);
                next += 1;
            }
            None => std::thread::yield_now(),
        }
    }
    t.join().unwrap();
}

fn meta(peer: &str) -> Arc<Metadata> {
    let mut m = Metadata::default();
    m.insert("Peer-Address", peer.as_bytes());
    Arc::new(m)
}

fn peer(m: &Message) -> Option<&str> {
    m.gets("Peer-Address")
}

#[test]
fn reader_attaches_each_connections_metadata_to_its_frames() {
    let (mut w, mut r) = queue(0);
    let (a, b) = (meta("a"), meta("b"));
    for i in 0..3 {
        w.write_received(frame(&i.to_string(), false), Some(&a));
    }
    // The I/O side attached the Arc once per connection, not per frame (ours, the
    // writer's and the first frame's).
    assert_eq!(Arc::strong_count(&a), 3);
    w.write(frame("local", false));
    w.write_received(frame("b0", true), Some(&b));
    w.write_received(frame("b1", false), Some(&b));
    w.flush();
    let got: Vec<_> = std::iter::from_fn(|| r.read()).collect();
    let peers: Vec<_> = got.iter().map(peer).collect();
    assert_eq!(peers, [Some("a"), Some("a"), Some("a"), None, Some("b"), Some("b")]);
    assert!(got[4].metadata().is_some_and(|m| std::ptr::eq(m, &*b)));
}

#[test]
fn dropped_frames_hand_their_metadata_on() {
    let (mut w, mut r) = queue(0);
    let a = meta("a");
    w.write_received(frame("drop me", false), Some(&a));
    w.write_received(frame("keep", false), Some(&a));
    w.flush();
    r.retain_queued(|m| &m[..] == b"keep");
    let m = r.read().unwrap();
    assert_eq!((&m[..], peer(&m)), (&b"keep"[..], Some("a")));

    // A link that broke mid-message drops the carrier: the next frame carries it again.
    let (mut w, mut r) = queue(0);
    w.write_received(frame("torn", true), Some(&a));
    w.discard_incomplete();
    w.write_received(frame("whole", false), Some(&a));
    w.flush();
    assert_eq!(peer(&r.read().unwrap()), Some("a"));

    // CONFLATE keeps only the newest: it must carry its own.
    let (mut w, mut r) = queue(0);
    r.set_conflate();
    for i in 0..3 {
        w.write_received(frame(&i.to_string(), false), Some(&a));
        w.flush();
    }
    let m = r.read().unwrap();
    assert_eq!((&m[..], peer(&m)), (&b"2"[..], Some("a")));
}
