//! The acker: Storm's XOR algorithm as a pure state machine over (root, xor) events and
//! virtual time (milliseconds), with no sockets and no clock, so it is unit-tested directly.
//!
//! Every pending tree costs one 24-byte map slot (root, xor, start, spout task, last task)
//! plus hashbrown's control byte, whatever the tree's size: a tree is complete when the XOR of
//! every edge id, each XOR-ed in once when created and once when acked, comes back to zero.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Root ids are random 64-bit numbers already: hashing them again is wasted work.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A map keyed by random 64-bit ids.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// 16 bytes: with the 8-byte key, a 24-byte slot. Task ids are stored as u16 here (a plan
/// has far fewer than 65 536 tasks); 0 means "not known yet".
#[derive(Clone, Copy, Debug)]
struct Entry {
    xor: u64,
    start_ms: u32,
    spout_task: u16,
    last_task: u16,
}

/// Something the acker tells a spout task.
#[derive(Clone, Debug, PartialEq)]
pub enum AckerEvent {
    /// The tree completed.
    Completed {
        /// Root id.
        root: u64,
        /// Spout task that owns it.
        spout_task: u32,
    },
    /// A bolt failed a tuple of the tree.
    Failed {
        /// Root id.
        root: u64,
        /// Spout task that owns it.
        spout_task: u32,
        /// The failing task.
        task: u32,
        /// Its reason.
        reason: String,
    },
    /// The tree did not complete in time.
    TimedOut {
        /// Root id.
        root: u64,
        /// Spout task that owns it.
        spout_task: u32,
        /// The task that acked a tuple of the tree last (the spout task if none did).
        last_task: u32,
    },
}

/// Pending trees of one acker task.
pub struct Acker {
    pending: IdMap<Entry>,
    /// Fails that arrived before the spout's init (rare: different senders race).
    early_fails: IdMap<(u32, String)>,
    timeout_ms: u64,
    last_sweep_ms: u64,
}

impl Acker {
    /// An acker whose trees time out after `timeout_ms`.
    pub fn new(timeout_ms: u64) -> Acker {
        Acker { pending: IdMap::default(), early_fails: IdMap::default(), timeout_ms, last_sweep_ms: 0 }
    }

    /// The spout emitted tree `root`; `xor` is the XOR of the edge ids it sent.
    pub fn init(&mut self, root: u64, xor: u64, spout_task: u32, now_ms: u64) -> Option<AckerEvent> {
        if let Some((task, reason)) = self.early_fails.remove(&root) {
            self.pending.remove(&root);
            return Some(AckerEvent::Failed { root, spout_task, task, reason });
        }
        let e = self.entry(root, now_ms);
        e.xor ^= xor;
        e.spout_task = spout_task as u16;
        if e.last_task == 0 {
            e.last_task = spout_task as u16;
        }
        self.settle(root)
    }

    /// Task `from_task` acked a tuple of tree `root`: XOR in its edge id and the ids of the
    /// tuples it anchored to it.
    pub fn ack(&mut self, root: u64, xor: u64, from_task: u32, now_ms: u64) -> Option<AckerEvent> {
        let e = self.entry(root, now_ms);
        e.xor ^= xor;
        e.last_task = from_task as u16;
        self.settle(root)
    }

    /// Task `from_task` failed a tuple of tree `root`.
    pub fn fail(&mut self, root: u64, from_task: u32, reason: String) -> Option<AckerEvent> {
        match self.pending.get(&root) {
            Some(e) if e.spout_task != 0 => {
                let spout_task = u32::from(e.spout_task);
                self.pending.remove(&root);
                Some(AckerEvent::Failed { root, spout_task, task: from_task, reason })
            }
            _ => {
                self.early_fails.insert(root, (from_task, reason));
                None
            }
        }
    }

    /// Expires trees older than the timeout. Cheap to call often: it sweeps at most eight
    /// times per timeout period, so a tree fails between 1 and 1⅛ timeouts after its start.
    pub fn expire(&mut self, now_ms: u64, out: &mut Vec<AckerEvent>) {
        if now_ms.saturating_sub(self.last_sweep_ms) < (self.timeout_ms / 8).max(1) {
            return;
        }
        self.last_sweep_ms = now_ms;
        let timeout = self.timeout_ms;
        let now = now_ms as u32;
        self.pending.retain(|&root, e| {
            if u64::from(now.wrapping_sub(e.start_ms)) < timeout {
                return true;
            }
            if e.spout_task != 0 {
                let (spout_task, last_task) = (u32::from(e.spout_task), u32::from(e.last_task));
                out.push(AckerEvent::TimedOut { root, spout_task, last_task });
            }
            false
        });
        // Early fails whose init never came are dropped with their tree.
        let pending = &self.pending;
        if self.early_fails.len() > pending.len() {
            self.early_fails.retain(|root, _| pending.contains_key(root));
        }
    }

    /// Trees pending.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Bytes the pending map holds per pending tree (slots + control bytes over trees).
    pub fn bytes_per_pending(&self) -> f64 {
        let slot = std::mem::size_of::<(u64, Entry)>() + 1;
        // hashbrown keeps at most 7/8 of a power-of-two number of buckets full.
        let buckets = (self.pending.capacity() * 8 / 7).next_power_of_two();
        (buckets * slot) as f64 / self.pending.len().max(1) as f64
    }

    fn entry(&mut self, root: u64, now_ms: u64) -> &mut Entry {
        self.pending.entry(root).or_insert(Entry {
            xor: 0,
            start_ms: now_ms as u32,
            spout_task: 0,
            last_task: 0,
        })
    }

    fn settle(&mut self, root: u64) -> Option<AckerEvent> {
        let e = self.pending.get(&root)?;
        if e.xor != 0 || e.spout_task == 0 {
            return None;
        }
        let spout_task = u32::from(e.spout_task);
        self.pending.remove(&root);
        Some(AckerEvent::Completed { root, spout_task })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_completes_when_every_edge_is_acked_in_any_order() {
        let mut a = Acker::new(30_000);
        // spout → e1, e2; bolt acks e1 emitting e3 (anchored); then e2, e3 acked.
        let (e1, e2, e3) = (0x11, 0x22, 0x44);
        assert_eq!(a.ack(7, e2, 3, 0), None, "acks may arrive before the init");
        assert_eq!(a.init(7, e1 ^ e2, 1, 0), None);
        assert_eq!(a.ack(7, e1 ^ e3, 2, 1), None);
        assert_eq!(a.ack(7, e3, 4, 2), Some(AckerEvent::Completed { root: 7, spout_task: 1 }));
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn a_fail_reports_the_task_and_reason_even_before_the_init() {
        let mut a = Acker::new(30_000);
        assert_eq!(a.fail(9, 5, "bad".into()), None);
        let ev = a.init(9, 0x1, 2, 0);
        assert_eq!(ev, Some(AckerEvent::Failed { root: 9, spout_task: 2, task: 5, reason: "bad".into() }));
        assert_eq!(a.init(10, 0x1, 2, 0), None);
        let ev = a.fail(10, 6, "worse".into());
        assert_eq!(ev, Some(AckerEvent::Failed { root: 10, spout_task: 2, task: 6, reason: "worse".into() }));
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn an_unfinished_tree_times_out_naming_its_last_holder() {
        let mut a = Acker::new(1000);
        a.init(1, 0x3, 2, 0);
        a.ack(1, 0x1, 5, 100);
        let mut out = Vec::new();
        a.expire(999, &mut out);
        assert!(out.is_empty());
        a.expire(1123, &mut out);
        assert!(out.is_empty(), "sweeps are at most every timeout/8");
        a.expire(1124, &mut out);
        assert_eq!(out, vec![AckerEvent::TimedOut { root: 1, spout_task: 2, last_task: 5 }]);
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn memory_per_pending_tree_is_fixed_and_small() {
        let mut a = Acker::new(30_000);
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..100_000 {
            a.init(rng.u64(..), rng.u64(1..), 1, 0);
        }
        assert_eq!(std::mem::size_of::<(u64, Entry)>(), 24);
        assert!(a.bytes_per_pending() <= 64.0, "{}", a.bytes_per_pending());
    }
}
