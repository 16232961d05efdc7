//! How a reader reports its progress to its writer: the credit in low water mark steps, when
//! to publish it and when to wake a writer waiting for room. Apart from `reader.rs` because
//! it is the reader's half of the high water mark handshake, not the taking of frames.

use std::sync::atomic::Ordering;

use super::{low_water_mark, Reader};

/// A reader publishes its progress at least this often (in messages).
const PUBLISH_EVERY: u64 = 32;

impl Reader {
    /// Publishes `read` and the writer's credit, and decides on waking a waiting writer.
    ///
    /// The credit is libzmq's `activate_write`: it moves only in steps of the low water mark
    /// (each time the reader has taken that many since the last step), so a full writer,
    /// polling or asleep, gets room back a batch at a time and never for one message taken,
    /// even one that empties the queue; what a chain of full queues holds is then as in
    /// libzmq (its test_proxy_hwm: 20, 30 or 40 messages through a proxy at HWM 10). The
    /// one difference: a waiting writer also gets credit for everything taken once
    /// `WAKE_AFTER_BYTES` of bodies went since the reader saw it wait.
    ///
    /// A waiting writer is woken when its credit moves or the reader has run dry (on an
    /// application thread, an eventfd write per wake: once per batch, not per message).
    /// Only a wake decision needs the full fence ([`Progress::publish_and_claim_wake`]: the
    /// reader's store and the writer's registration, each followed by a load of the other's,
    /// as in Dekker's algorithm): otherwise the counts are published with plain release
    /// stores. A writer that starts waiting meanwhile is seen at the next decision at the
    /// latest, and the reader always decides when it runs dry, where a writer that was full
    /// always has credit again (the queue held at least a low water mark more than its credit).
    ///
    /// [`Progress::publish_and_claim_wake`]: super::Progress::publish_and_claim_wake
    #[inline]
    pub(super) fn publish_progress(&mut self, drained: bool) {
        self.published = self.read;
        let mut stepped = self.step_credit();
        let waits = self.shared.progress.writer_waits();
        if waits && self.bytes_since_wait.is_some_and(|b| b >= self.wake_after_bytes) {
            if self.credit < self.read {
                self.credit = self.read;
                self.publish_at = next_publish(self.published, self.credit, self.lwm());
                stepped = true;
            }
            // Credit for everything taken: bytes count from here.
            self.bytes_since_wait = None;
        }
        if stepped {
            // Bytes count from the last step.
            self.bytes_since_wait = None;
        }
        // A wake decision when it ran dry or a waiting writer's credit moved.
        let decide = drained || (waits && stepped);
        if !decide {
            self.shared.progress.publish(self.read, stepped.then_some(self.credit));
            return;
        }
        if self.shared.progress.publish_and_claim_wake(self.read, self.credit) {
            self.shared.wake_writer();
        }
    }

    /// Counts a taken message's body bytes while the writer waits for room; true once they
    /// reach [`WAKE_AFTER_BYTES`]. Only this runs per message while a writer waits: the
    /// credit's steps come at `publish_at`, so taking a message publishes nothing between
    /// them (before, every message taken from a full queue went through
    /// [`Reader::publish_progress`], ~40 instructions and a release store each).
    ///
    /// [`WAKE_AFTER_BYTES`]: super::WAKE_AFTER_BYTES
    #[inline(always)]
    pub(super) fn count_bytes_if_waited(&mut self, len: usize) -> bool {
        if !self.shared.progress.writer_waits() {
            return false;
        }
        let bytes = self.bytes_since_wait.get_or_insert(0);
        *bytes += len;
        *bytes >= self.wake_after_bytes
    }

    #[inline]
    fn lwm(&self) -> u64 {
        low_water_mark(self.shared.bound.load(Ordering::Relaxed))
    }

    /// Moves the credit on by whole low water marks of the bound now; true if it moved.
    /// Also sets when to publish next.
    #[inline]
    fn step_credit(&mut self) -> bool {
        let lwm = self.lwm();
        let behind = self.read - self.credit;
        let stepped = if lwm == 0 { behind > 0 } else { behind >= lwm };
        if stepped {
            self.credit = self.read - if lwm == 0 { 0 } else { behind % lwm };
        }
        self.publish_at = next_publish(self.published, self.credit, lwm);
        stepped
    }

    #[inline]
    pub(super) fn publish_read(&mut self) {
        self.bytes_since_wait = None;
        self.published = self.read;
        self.step_credit();
        if self.shared.progress.publish_and_claim_wake(self.read, self.credit) {
            self.shared.wake_writer();
        }
    }
}

/// The `read` count at which a reader publishes next: after `PUBLISH_EVERY` more, or when
/// the credit can move by a low water mark, whichever comes first.
pub(super) fn next_publish(published: u64, credit: u64, lwm: u64) -> u64 {
    let every = published + PUBLISH_EVERY;
    if lwm == 0 {
        every
    } else {
        every.min(credit + lwm)
    }
}
