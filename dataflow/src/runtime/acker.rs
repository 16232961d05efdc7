//! The acker: Storm's XOR algorithm as a pure state machine over (root, xor) events and
//! virtual time (milliseconds), with no sockets and no clock, so it is unit-tested directly.
//!
//! Every pending tree costs one 24-byte map slot (root, xor, start, spout task, last task and
//! a "touched" bit) plus hashbrown's control byte, whatever the tree's size: a tree is complete
//! when the XOR of every edge id, each XOR-ed in once when created and once when acked, comes
//! back to zero.
//!
//! Beyond Storm: when the runtime reports that a link to a peer worker broke
//! ([`Acker::link_lost`]), the trees that made no progress since then are failed after a short
//! grace instead of waiting for the message timeout, since they were plausibly held by the
//! lost worker. Trees progressing elsewhere keep updating and are left alone; a tree failed
//! wrongly is only replayed (at-least-once), and its late acks find no tree here.
//!
//! Bounded whatever peers send: an acker keeps at most `max_pending` trees and early fails
//! (`topology.acker.max.pending`), since a worker's tcp inbox takes acking items from anyone.
//! When full, a new tree is refused, not stored: its spout fails it after twice the message
//! timeout (as when the acker is lost) and replays it, while the trees kept complete as usual.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use crate::topology::DEFAULT_ACKER_MAX_PENDING;

/// Root ids this process drew are random 64-bit numbers already: hashing them again is
/// wasted work, so maps of a spout's own roots use them as their hash.
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

/// A map keyed by ids this process drew at random.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The acker's roots come from the wire: a peer that reaches a worker's inbox picks them.
/// Used as their own hash, ids sharing their low bits land in one probe chain and each insert
/// costs as much as all before it (20 000 such roots took 8 s). So they are mixed with a key
/// of the map's own, drawn at random, by two folded multiplies (as foldhash does; one leaves
/// ids that differ in a few bits in too few buckets): without the key, a peer cannot aim ids
/// at one bucket.
struct PeerIdHasher {
    key: u64,
    hash: u64,
}

impl Hasher for PeerIdHasher {
    fn finish(&self) -> u64 {
        self.hash
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64((self.hash << 8) ^ u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        // Odd constants with well-spread bits (digits of pi).
        self.hash = fold(fold(v ^ self.key, 0xa409_3822_299f_31d1) ^ self.key, 0x243f_6a88_85a3_08d3);
    }
}

/// The two halves of `a * b`, XORed.
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Builds [`PeerIdHasher`]s with the key drawn when the map was made.
#[derive(Clone)]
struct PeerIdState {
    key: u64,
}

impl Default for PeerIdState {
    fn default() -> PeerIdState {
        PeerIdState { key: fastrand::u64(..) }
    }
}

impl BuildHasher for PeerIdState {
    type Hasher = PeerIdHasher;
    fn build_hasher(&self) -> PeerIdHasher {
        PeerIdHasher { key: self.key, hash: 0 }
    }
}

/// A map keyed by ids a peer chose.
type PeerIdMap<V> = HashMap<u64, V, PeerIdState>;

/// 16 bytes: with the 8-byte key, a 24-byte slot. Task ids are stored as u16 here (a plan
/// has far fewer than 65 536 tasks); 0 means "not known yet". `last_task`'s top bit is the
/// [`TOUCHED`] mark, so the last task is kept modulo 2^15 (it only names the culprit in a
/// timeout or loss report).
#[derive(Clone, Copy, Debug)]
struct Entry {
    xor: u64,
    start_ms: u32,
    spout_task: u16,
    last_task: u16,
}

/// Set in `last_task` by every init or ack; a link loss clears it on every pending tree, so
/// the trees still without it at the end of the grace made no progress since the loss.
const TOUCHED: u16 = 0x8000;

impl Entry {
    fn last_task(&self) -> u32 {
        u32::from(self.last_task & !TOUCHED)
    }

    fn touch(&mut self, task: u32) {
        self.last_task = (task as u16 & !TOUCHED) | TOUCHED;
    }
}

/// Counts refused items of one kind and says when to log one: at the 1st, 2nd, 4th, 8th…,
/// so that a flood costs a few dozen log lines, not one per item.
#[derive(Debug, Default)]
struct Refusals(u64);

impl Refusals {
    /// Counts one refusal; true when it deserves a log line.
    fn count(&mut self) -> bool {
        self.0 += 1;
        self.0.is_power_of_two()
    }
}

/// A fail that arrived before the spout's init (rare: different senders race).
#[derive(Debug)]
struct EarlyFail {
    task: u32,
    at_ms: u32,
    reason: String,
}

/// Early fails keep at most this much of their reason: a peer may send any length.
const MAX_REASON: usize = 256;

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
    /// A bolt restarted the tree's timeout (the spout restarts its own clock for it).
    TimeoutReset {
        /// Root id.
        root: u64,
        /// Spout task that owns it.
        spout_task: u32,
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
    pending: PeerIdMap<Entry>,
    early_fails: PeerIdMap<EarlyFail>,
    /// The most entries of `pending` and `early_fails` together.
    max_pending: usize,
    /// Inits whose owner is no spout task; new trees while full.
    ownerless: Refusals,
    full: Refusals,
    timeout_ms: u64,
    last_sweep_ms: u64,
    /// The latest link loss not yet acted on: when, and what was lost.
    loss: Option<(u64, String)>,
}

/// How long after a lost link the trees without progress since then fail. Trees held by live
/// workers normally update within milliseconds; one that is merely slow is only replayed.
pub const LOSS_GRACE_MS: u64 = 500;

impl Acker {
    /// An acker whose trees time out after `timeout_ms`, keeping at most
    /// [`DEFAULT_ACKER_MAX_PENDING`] of them.
    pub fn new(timeout_ms: u64) -> Acker {
        Acker::with_max_pending(timeout_ms, DEFAULT_ACKER_MAX_PENDING)
    }

    /// An acker whose trees time out after `timeout_ms`, keeping at most `max_pending` (at
    /// least 1) pending trees and early fails together; see [`Acker::refused`].
    pub fn with_max_pending(timeout_ms: u64, max_pending: usize) -> Acker {
        Acker {
            pending: PeerIdMap::default(),
            early_fails: PeerIdMap::default(),
            max_pending: max_pending.max(1),
            ownerless: Refusals::default(),
            full: Refusals::default(),
            timeout_ms,
            last_sweep_ms: 0,
            loss: None,
        }
    }

    /// A link to a peer worker broke (or a worker rejoined after one did) at `now_ms`; `what`
    /// says which, for the spouts' `fail` reason. [`LOSS_GRACE_MS`] later, [`Acker::expire`]
    /// fails every tree not updated since `now_ms`. A later loss before then replaces this
    /// one: its cut covers the same trees and more.
    pub fn link_lost(&mut self, what: &str, now_ms: u64) {
        // One pass per loss (rare), so that updates stay a single store.
        self.pending.values_mut().for_each(|e| e.last_task &= !TOUCHED);
        self.loss = Some((now_ms, what.to_owned()));
    }

    /// The spout emitted tree `root`; `xor` is the XOR of the edge ids it sent. A new tree is
    /// refused when the acker is full.
    pub fn init(&mut self, root: u64, xor: u64, spout_task: u32, now_ms: u64) -> Option<AckerEvent> {
        if let Some(EarlyFail { task, reason, .. }) = self.early_fails.remove(&root) {
            self.pending.remove(&root);
            return Some(AckerEvent::Failed { root, spout_task, task, reason });
        }
        let e = self.entry(root, now_ms)?;
        e.xor ^= xor;
        e.spout_task = spout_task as u16;
        let last = if e.last_task() == 0 { spout_task } else { e.last_task() };
        e.touch(last);
        self.settle(root)
    }

    /// Task `from_task` acked a tuple of tree `root`: XOR in its edge id and the ids of the
    /// tuples it anchored to it. An ack that would start a tree is refused when the acker is
    /// full.
    pub fn ack(&mut self, root: u64, xor: u64, from_task: u32, now_ms: u64) -> Option<AckerEvent> {
        let e = self.entry(root, now_ms)?;
        e.xor ^= xor;
        e.touch(from_task);
        self.settle(root)
    }

    /// Task `from_task` failed a tuple of tree `root`. A fail before the tree's init is kept
    /// for it (its reason cut to 256 bytes), unless the acker is full or holds a sixteenth of
    /// its cap in such fails already: the tree then times out instead.
    pub fn fail(&mut self, root: u64, from_task: u32, reason: String, now_ms: u64) -> Option<AckerEvent> {
        match self.pending.get(&root) {
            Some(e) if e.spout_task != 0 => {
                let spout_task = u32::from(e.spout_task);
                self.pending.remove(&root);
                Some(AckerEvent::Failed { root, spout_task, task: from_task, reason })
            }
            _ if !self.early_fails.contains_key(&root) && !self.has_room_for_early_fail() => {
                self.refuse_full(root);
                None
            }
            _ => {
                let reason = cut(reason, MAX_REASON);
                self.early_fails.insert(root, EarlyFail { task: from_task, at_ms: now_ms as u32, reason });
                None
            }
        }
    }

    /// Task `from_task` asked for tree `root`'s timeout to start again at `now_ms` (Storm's
    /// `resetTimeout`): counts as progress. A tree not known here (yet) is left alone, as in
    /// Storm: its clock starts when its init or first ack arrives.
    pub fn reset_timeout(&mut self, root: u64, from_task: u32, now_ms: u64) -> Option<AckerEvent> {
        let e = self.pending.get_mut(&root)?;
        e.start_ms = now_ms as u32;
        e.touch(from_task);
        (e.spout_task != 0).then(|| AckerEvent::TimeoutReset { root, spout_task: u32::from(e.spout_task) })
    }

    /// An init named task `task`, which is no spout's, as its tree's owner: the tree is not
    /// kept (it would be reported to that task), only counted in [`Acker::refused`].
    pub fn refuse_owner(&mut self, task: u32) {
        if self.ownerless.count() {
            tracing::warn!(
                "acker: refused a tree from task {task}, which is no spout's ({} refused so far)",
                self.ownerless.0
            );
        }
    }

    /// Trees refused so far: owned by no spout task ([`Acker::refuse_owner`]), or new while
    /// the acker was full.
    pub fn refused(&self) -> u64 {
        self.ownerless.0 + self.full.0
    }

    /// Expires trees older than the timeout. Cheap to call often: it sweeps at most eight
    /// times per timeout period, so a tree fails between 1 and 1⅛ timeouts after its start.
    /// Also fails, once its grace is over, the trees a lost link left without progress.
    pub fn expire(&mut self, now_ms: u64, out: &mut Vec<AckerEvent>) {
        if self.loss.as_ref().is_some_and(|(t, _)| now_ms >= t + LOSS_GRACE_MS) {
            if let Some((_, what)) = self.loss.take() {
                self.fail_untouched(&what, out);
            }
        }
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
                let (spout_task, last_task) = (u32::from(e.spout_task), e.last_task());
                out.push(AckerEvent::TimedOut { root, spout_task, last_task });
            }
            false
        });
        // Early fails whose init never came time out like trees (the few there are: a peer's
        // flood of them must free its room too).
        self.early_fails.retain(|_, f| u64::from(now.wrapping_sub(f.at_ms)) < timeout);
    }

    /// Fails the trees not updated since the loss (those whose init has not arrived yet have
    /// no spout to tell and are left to the timeout).
    fn fail_untouched(&mut self, what: &str, out: &mut Vec<AckerEvent>) {
        let before = out.len();
        self.pending.retain(|&root, e| {
            if e.last_task & TOUCHED != 0 || e.spout_task == 0 {
                return true;
            }
            let (spout_task, task) = (u32::from(e.spout_task), e.last_task());
            let reason = format!("{what}; no progress since, so it is replayed");
            out.push(AckerEvent::Failed { root, spout_task, task, reason });
            false
        });
        tracing::info!("{what}: failed {} pending trees without progress since", out.len() - before);
    }

    /// Trees pending.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Entries held against the cap: pending trees and early fails.
    pub fn held(&self) -> usize {
        self.pending.len() + self.early_fails.len()
    }

    fn is_full(&self) -> bool {
        self.held() >= self.max_pending
    }

    /// Early fails are few (a fail racing ahead of its init) but hold up to [`MAX_REASON`]
    /// bytes each, ten times a tree: a sixteenth of the cap keeps them from dominating it.
    fn has_room_for_early_fail(&self) -> bool {
        !self.is_full() && self.early_fails.len() < (self.max_pending / 16).max(1)
    }

    fn refuse_full(&mut self, root: u64) {
        if self.full.count() {
            tracing::warn!(
                "acker: full ({} trees, topology.acker.max.pending): refused tree {root:#x}, which \
                 its spout will fail and replay ({} refused so far)",
                self.max_pending,
                self.full.0
            );
        }
    }

    /// Bytes the pending map holds per pending tree (slots + control bytes over trees).
    pub fn bytes_per_pending(&self) -> f64 {
        let slot = std::mem::size_of::<(u64, Entry)>() + 1;
        // hashbrown keeps at most 7/8 of a power-of-two number of buckets full.
        let buckets = (self.pending.capacity() * 8 / 7).next_power_of_two();
        (buckets * slot) as f64 / self.pending.len().max(1) as f64
    }

    /// Tree `root`'s entry, made if it is new and the acker has room.
    fn entry(&mut self, root: u64, now_ms: u64) -> Option<&mut Entry> {
        // Only a full acker looks twice.
        if self.is_full() && !self.pending.contains_key(&root) {
            self.refuse_full(root);
            return None;
        }
        Some(self.pending.entry(root).or_insert(Entry {
            xor: 0,
            start_ms: now_ms as u32,
            spout_task: 0,
            last_task: 0,
        }))
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

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let end = (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        s.truncate(end);
    }
    s
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
        assert_eq!(a.fail(9, 5, "bad".into(), 0), None);
        let ev = a.init(9, 0x1, 2, 0);
        assert_eq!(ev, Some(AckerEvent::Failed { root: 9, spout_task: 2, task: 5, reason: "bad".into() }));
        assert_eq!(a.init(10, 0x1, 2, 0), None);
        let ev = a.fail(10, 6, "worse".into(), 0);
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
    fn a_reset_timeout_restarts_the_trees_clock_and_tells_its_spout() {
        let mut a = Acker::new(1000);
        assert_eq!(a.reset_timeout(1, 5, 0), None, "an unknown tree is left alone");
        assert_eq!(a.pending(), 0);
        a.init(1, 0x3, 2, 0);
        assert_eq!(a.reset_timeout(1, 5, 900), Some(AckerEvent::TimeoutReset { root: 1, spout_task: 2 }));
        let mut out = Vec::new();
        a.expire(1500, &mut out);
        assert!(out.is_empty(), "900 + 1000 is not over yet");
        a.expire(2000, &mut out);
        assert_eq!(out, vec![AckerEvent::TimedOut { root: 1, spout_task: 2, last_task: 5 }]);
    }

    #[test]
    fn a_lost_link_fails_only_the_trees_without_progress_after_the_grace() {
        let mut a = Acker::new(30_000);
        a.init(1, 0x3, 2, 0); // stuck: its last update was before the loss
        a.ack(1, 0x1, 5, 900);
        a.init(2, 0x3, 2, 500); // progressing elsewhere: updated after the loss
        a.init(3, 0x1, 2, 999); // emitted just before the loss, then nothing
        a.ack(4, 0x8, 6, 10); // acks before its init: no spout to tell yet
        a.link_lost("link to worker 1 lost", 1000);
        a.ack(2, 0x1, 7, 1200);
        let mut out = Vec::new();
        a.expire(1000 + LOSS_GRACE_MS - 1, &mut out);
        assert!(out.is_empty(), "nothing fails before the grace is over");
        a.expire(1000 + LOSS_GRACE_MS, &mut out);
        out.sort_by_key(|e| match e {
            AckerEvent::Failed { root, .. } => *root,
            _ => u64::MAX,
        });
        let why = "link to worker 1 lost; no progress since, so it is replayed".to_owned();
        assert_eq!(
            out,
            vec![
                AckerEvent::Failed { root: 1, spout_task: 2, task: 5, reason: why.clone() },
                AckerEvent::Failed { root: 3, spout_task: 2, task: 2, reason: why },
            ]
        );
        assert_eq!(a.pending(), 2, "trees 2 and 4 stay");
        // The failed trees are forgotten: late acks complete nothing, and the loss is acted
        // on once.
        assert_eq!(a.ack(1, 0x2, 5, 1600), None);
        a.expire(10_000, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(a.ack(2, 0x2, 7, 10_001), Some(AckerEvent::Completed { root: 2, spout_task: 2 }));
    }

    #[test]
    fn a_later_loss_replaces_an_earlier_one() {
        let mut a = Acker::new(30_000);
        a.init(1, 0x1, 2, 0);
        a.link_lost("first", 100);
        a.init(2, 0x1, 2, 200);
        a.link_lost("second", 300);
        let mut out = Vec::new();
        a.expire(100 + LOSS_GRACE_MS, &mut out);
        assert!(out.is_empty());
        a.expire(300 + LOSS_GRACE_MS, &mut out);
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|e| matches!(e, AckerEvent::Failed { reason, .. } if reason.starts_with("second"))));
    }

    #[test]
    fn ids_sharing_their_low_bits_spread_over_the_table() {
        // A peer's ids that differ in 12 bits only: as their own hash, in one bucket (or in few).
        let state = PeerIdState::default();
        let low12 = |id: u64| state.hash_one(id) & 0xfff;
        let top7 = |id: u64| state.hash_one(id) >> 57;
        for shift in [12, 24, 36, 48] {
            let ids: Vec<u64> = (0..4096u64).map(|i| (i << shift) | 0x123).collect();
            let buckets: std::collections::HashSet<u64> = ids.iter().map(|&id| low12(id)).collect();
            let tags: std::collections::HashSet<u64> = ids.iter().map(|&id| top7(id)).collect();
            // 4096 random values in 4096 buckets fill about 2 590; 128 tags fill all.
            assert!(buckets.len() > 2400, "shift {shift}: {} buckets", buckets.len());
            assert!(tags.len() > 120, "shift {shift}: {} tags", tags.len());
        }
        // Two maps draw different keys.
        assert_ne!(PeerIdState::default().hash_one(7u64), state.hash_one(7u64));
    }

    #[test]
    fn a_full_acker_refuses_new_trees_completes_its_own_and_takes_new_ones_after() {
        let mut a = Acker::with_max_pending(30_000, 3);
        (1..=3).for_each(|root| assert_eq!(a.init(root, 0x1, 2, 0), None));
        // Full: a new tree is refused whether its init or an ack comes first, and not kept.
        assert_eq!(a.init(4, 0x1, 2, 1), None);
        assert_eq!(a.ack(5, 0x2, 3, 1), None);
        assert_eq!((a.held(), a.refused()), (3, 2));
        // Its later items find no tree: it never completes here, its spout times it out.
        assert_eq!(a.ack(4, 0x1, 3, 2), None);
        assert_eq!(a.refused(), 3);
        // The trees kept still progress, with new edges too, and complete.
        assert_eq!(a.ack(1, 0x1 ^ 0x8, 3, 2), None);
        assert_eq!(a.ack(1, 0x8, 4, 2), Some(AckerEvent::Completed { root: 1, spout_task: 2 }));
        // Room again: a new tree is taken, and completes.
        assert_eq!(a.init(6, 0x1, 2, 3), None);
        assert_eq!(a.ack(6, 0x1, 3, 3), Some(AckerEvent::Completed { root: 6, spout_task: 2 }));
        assert_eq!((a.held(), a.refused()), (2, 3));
        // Refused owners count too, and take no room.
        a.refuse_owner(60_000);
        assert_eq!((a.held(), a.refused()), (2, 4));
    }

    #[test]
    fn early_fails_count_against_the_cap_keep_a_short_reason_and_time_out() {
        let mut a = Acker::with_max_pending(1000, 2);
        assert_eq!(a.fail(1, 5, "€".repeat(1000), 0), None);
        assert_eq!(a.init(2, 0x1, 2, 0), None);
        assert_eq!(a.held(), 2);
        assert_eq!(a.fail(3, 5, "late".into(), 0), None, "full: not kept");
        assert_eq!(a.init(3, 0x1, 2, 0), None, "full: refused, not failed");
        assert_eq!(a.refused(), 2);
        let Some(AckerEvent::Failed { root: 1, task: 5, reason, .. }) = a.init(1, 0x1, 2, 1) else {
            panic!("the early fail was lost")
        };
        assert_eq!(reason, "€".repeat(MAX_REASON / 3), "cut on a character boundary");
        // At most a sixteenth of the cap in early fails (here 1), even with room for trees.
        let mut b = Acker::with_max_pending(1000, 16);
        assert_eq!((b.fail(1, 5, "a".into(), 0), b.fail(2, 5, "b".into(), 0)), (None, None));
        assert_eq!((b.held(), b.refused()), (1, 1));
        // An early fail whose init never comes frees its room after the timeout.
        assert_eq!(a.fail(4, 5, "x".into(), 10), None);
        let mut out = Vec::new();
        a.expire(1009, &mut out);
        assert_eq!(out, vec![AckerEvent::TimedOut { root: 2, spout_task: 2, last_task: 2 }]);
        assert_eq!(a.held(), 1, "the early fail is younger than the timeout");
        a.expire(1200, &mut out);
        assert_eq!((a.held(), out.len()), (0, 1));
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
