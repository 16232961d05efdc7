//! Which tuples a window holds, when it is evaluated and when a tuple leaves it, on
//! processing time: a pure state machine over items and the times they arrived (no clock of
//! its own, so tests drive it). Event time is [`super::event`].
//!
//! A held item is either in the current window or waiting to be in the next one; once no
//! future window can hold it, it *expires*: the caller acks it at once (its tree may then
//! complete) and the next evaluation lists it among the expired. Items expire as soon as
//! that is known (at every add and tick, as Storm's window compaction does), so a window
//! holds at most its length plus what arrives before it slides.

use std::collections::VecDeque;
use std::time::Instant;

use super::spec::{Span, WindowSpec};

/// The items of one windowed bolt task; see the module docs.
#[derive(Debug)]
pub(crate) struct WindowManager<T> {
    length: Span,
    sliding: Span,
    held: VecDeque<T>,
    /// When each of `held` arrived (same order; arrivals are monotonic).
    arrived: VecDeque<Instant>,
    /// `held[new_from..]` arrived since the last evaluation.
    new_from: usize,
    /// Items that left the window since the last evaluation, the first `released` of them
    /// already handed out for acking.
    expired: Vec<T>,
    released: usize,
    /// Items added since the last evaluation (count sliding).
    since_eval: u64,
    /// When the next evaluation is due (time sliding); set at the first add or tick.
    next_eval: Option<Instant>,
}

/// One evaluation: the window's items, which of them are new, and what expired since the last.
pub(crate) struct Evaluation<'a, T> {
    /// Everything in the window, oldest first.
    pub window: &'a [T],
    /// `window[new_from..]` arrived since the previous evaluation.
    pub new_from: usize,
    /// What left the window since the previous evaluation (already released for acking).
    pub expired: &'a [T],
}

impl<T> WindowManager<T> {
    pub(crate) fn new(spec: &WindowSpec) -> WindowManager<T> {
        WindowManager {
            length: spec.length,
            sliding: spec.sliding,
            held: VecDeque::new(),
            arrived: VecDeque::new(),
            new_from: 0,
            expired: Vec::new(),
            released: 0,
            since_eval: 0,
            next_eval: None,
        }
    }

    /// An item arrived at `now`.
    pub(crate) fn add(&mut self, item: T, now: Instant) {
        self.start_clock(now);
        self.held.push_back(item);
        self.arrived.push_back(now);
        self.since_eval += 1;
        self.expire(now);
    }

    /// Time passed without input (a tick): expires what no window from `now` on holds.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.start_clock(now);
        self.expire(now);
    }

    /// Items that expired since the last call: ack them.
    pub(crate) fn take_expired(&mut self) -> &[T] {
        let from = self.released;
        self.released = self.expired.len();
        &self.expired[from..]
    }

    /// When the window slides, if it is due by `now`: after every `k` items (count sliding,
    /// at `now`), or at its scheduled time (time sliding: evaluations due before an item
    /// arrived must run before it is added, so that each covers exactly its span).
    pub(crate) fn due(&self, now: Instant) -> Option<Instant> {
        match self.sliding {
            Span::Count(k) => (self.since_eval >= k).then_some(now),
            // A time window ending at `t` holds what arrived in [t - length, t): an item that
            // arrives at `t` itself is the next window's, added after this one is evaluated.
            Span::Time(_) => self.next_eval.filter(|&t| t <= now),
        }
    }

    /// Starts the evaluation due `at` (from [`WindowManager::due`] at `now`): expires what the
    /// window no longer holds then. Release what expired, then take the [`WindowManager::window`],
    /// then call [`WindowManager::evaluated`].
    pub(crate) fn start_evaluation(&mut self, at: Instant, now: Instant) {
        self.expire(at);
        self.since_eval = 0;
        if let (Span::Time(s), Some(t)) = (self.sliding, self.next_eval) {
            let mut next = t + s;
            if self.held.is_empty() && next < now {
                // Nothing held and far behind (a paused process): the windows in between
                // would all be empty, so skip them instead of evaluating each.
                let behind = (now - next).as_nanos() / s.as_nanos().max(1) + 1;
                next += s * u32::try_from(behind).unwrap_or(u32::MAX);
            }
            self.next_eval = Some(next);
        }
    }

    /// The window being evaluated.
    pub(crate) fn window(&mut self) -> Evaluation<'_, T> {
        Evaluation { window: self.held.make_contiguous(), new_from: self.new_from, expired: &self.expired }
    }

    /// The evaluation is done: what was new is now old, and the expired items are forgotten.
    pub(crate) fn evaluated(&mut self) {
        self.new_from = self.held.len();
        self.expired.clear();
        self.released = 0;
    }

    /// Items held (in the window or waiting for the next one).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    fn start_clock(&mut self, now: Instant) {
        if let (Span::Time(s), None) = (self.sliding, self.next_eval) {
            self.next_eval = Some(now + s);
        }
    }

    /// Moves to `expired` every item no window from `now` on can hold.
    fn expire(&mut self, now: Instant) {
        let out = match self.length {
            Span::Count(n) => self.held.len().saturating_sub(usize::try_from(n).unwrap_or(usize::MAX)),
            // Items that arrived before `now - d` are out of every window from now (the first
            // item, which starts the clock, is in the first window). Counted from the oldest,
            // so each call costs what it expires.
            Span::Time(d) => match now.checked_sub(d) {
                Some(oldest) => self.arrived.iter().take_while(|&&t| t < oldest).count(),
                None => 0,
            },
        };
        for _ in 0..out {
            let (Some(item), Some(_)) = (self.held.pop_front(), self.arrived.pop_front()) else { break };
            self.expired.push(item);
            self.new_from = self.new_from.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs every evaluation due by `now`, recording (window, new, expired).
    type Seen = (Vec<u32>, Vec<u32>, Vec<u32>);
    fn run_due(m: &mut WindowManager<u32>, now: Instant, evals: &mut Vec<Seen>, released: &mut Vec<u32>) {
        while let Some(at) = m.due(now) {
            m.start_evaluation(at, now);
            released.extend_from_slice(m.take_expired());
            let e = m.window();
            evals.push((e.window.to_vec(), e.window[e.new_from..].to_vec(), e.expired.to_vec()));
            m.evaluated();
        }
    }

    /// Adds 1..=n one ms apart from `t0`, evaluating whenever due; returns the evaluations and
    /// every released item in order.
    fn run(spec: WindowSpec, n: u32, t0: Instant) -> (Vec<Seen>, Vec<u32>) {
        let mut m = WindowManager::new(&spec);
        let (mut evals, mut released) = (Vec::new(), Vec::new());
        for i in 1..=n {
            let now = t0 + ms(u64::from(i));
            run_due(&mut m, now, &mut evals, &mut released);
            m.add(i, now);
            released.extend_from_slice(m.take_expired());
            run_due(&mut m, now, &mut evals, &mut released);
        }
        (evals, released)
    }

    #[test]
    fn count_window_sliding_by_count() {
        let (evals, released) = run(WindowSpec::sliding(Span::Count(4), Span::Count(2)), 8, Instant::now());
        assert_eq!(
            evals,
            vec![
                (vec![1, 2], vec![1, 2], vec![]),
                (vec![1, 2, 3, 4], vec![3, 4], vec![]),
                (vec![3, 4, 5, 6], vec![5, 6], vec![1, 2]),
                (vec![5, 6, 7, 8], vec![7, 8], vec![3, 4]),
            ]
        );
        assert_eq!(released, vec![1, 2, 3, 4], "each expired item is released once, when it leaves");
    }

    #[test]
    fn tumbling_count_windows_hold_each_item_once() {
        let (evals, released) = run(WindowSpec::tumbling(Span::Count(3)), 9, Instant::now());
        let windows: Vec<_> = evals.iter().map(|e| e.0.clone()).collect();
        assert_eq!(windows, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]]);
        assert_eq!(evals[1].2, vec![1, 2, 3]);
        assert_eq!(released, vec![1, 2, 3, 4, 5, 6], "a window's items leave as the next one fills");
    }

    #[test]
    fn time_window_sliding_by_count() {
        // 5 ms long, evaluated every 3 items, items 1 ms apart.
        let spec = WindowSpec::sliding(Span::Time(ms(5)), Span::Count(3));
        let (evals, _) = run(spec, 9, Instant::now());
        let windows: Vec<_> = evals.iter().map(|e| e.0.clone()).collect();
        assert_eq!(windows, vec![vec![1, 2, 3], vec![1, 2, 3, 4, 5, 6], vec![4, 5, 6, 7, 8, 9]]);
    }

    #[test]
    fn time_window_sliding_by_time_with_ticks() {
        let t0 = Instant::now();
        let (mut evals, mut released) = (Vec::new(), Vec::new());
        let mut m = WindowManager::new(&WindowSpec::sliding(Span::Time(ms(10)), Span::Time(ms(5))));
        m.tick(t0); // the clock starts: evaluations at 5, 10, 15 … ms
        for i in 1..=4u32 {
            m.add(i, t0 + ms(u64::from(i)));
        }
        run_due(&mut m, t0 + ms(4), &mut evals, &mut released);
        assert!(evals.is_empty());
        // Item 5 arrives at 9 ms: the evaluation due at 5 ms runs first, without it.
        run_due(&mut m, t0 + ms(9), &mut evals, &mut released);
        m.add(5, t0 + ms(9));
        assert_eq!(evals, vec![(vec![1, 2, 3, 4], vec![1, 2, 3, 4], vec![])]);
        // A tick at 13 ms runs the one due at 10 ms, as of 10 ms: [0, 10) holds them all.
        run_due(&mut m, t0 + ms(13), &mut evals, &mut released);
        assert_eq!(evals[1], (vec![1, 2, 3, 4, 5], vec![5], vec![]));
        m.tick(t0 + ms(13));
        assert_eq!(m.take_expired(), &[1, 2], "at 13 ms, items of before 3 ms are out of every window");
        // Late: the tick at 31 ms runs the evaluations due at 15 and 20 ms, each as of its own
        // time: [5, 15) holds item 5 only (item 4 arrived at 4 ms). Then nothing is held, so
        // the empty windows of 25 and 30 ms are skipped.
        run_due(&mut m, t0 + ms(31), &mut evals, &mut released);
        assert_eq!(evals[2], (vec![5], vec![], vec![1, 2, 3, 4]));
        assert_eq!(evals[3], (vec![], vec![], vec![5]));
        assert_eq!(evals.len(), 4);
        assert_eq!(released, vec![3, 4, 5]);
        assert_eq!(m.due(t0 + ms(34)), None);
        assert_eq!(m.due(t0 + ms(35)), Some(t0 + ms(35)));
        // Far behind with nothing held: one evaluation, not thousands.
        let later = t0 + Duration::from_secs(60);
        run_due(&mut m, later, &mut evals, &mut released);
        assert_eq!(evals.len(), 5);
        assert!(m.due(later).is_none() && m.due(later + ms(5)).is_some());
    }

    #[test]
    fn count_window_sliding_by_time_holds_only_its_length() {
        let t0 = Instant::now();
        let mut m = WindowManager::new(&WindowSpec::sliding(Span::Count(3), Span::Time(ms(100))));
        for i in 0..1000u32 {
            m.add(i, t0 + Duration::from_micros(u64::from(i)));
            assert!(m.held() <= 3);
        }
        assert_eq!(m.take_expired().len(), 997);
        let at = m.due(t0 + ms(100)).unwrap();
        m.start_evaluation(at, t0 + ms(100));
        assert_eq!(m.window().window, &[997, 998, 999]);
    }
}
