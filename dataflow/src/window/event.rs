//! Event-time windows: items carry their own times (ms), may arrive out of order, and a
//! window is evaluated once the watermark (no earlier item will be accepted) passes its end.
//! Pure, like [`super::manager`]; the caller extracts times, computes watermarks and rejects
//! late items ([`EventWindows::is_late`]).
//!
//! A time window ending at `e` holds the items of times in `[e - length, e)`; time windows
//! end at multiples of the sliding interval (epoch-aligned, so tumbling windows of a minute
//! are the clock's minutes). A count window holds the last `n` items before its end. Count
//! sliding evaluates at every `k`th item in time order that the watermark has passed, the
//! window ending just after it.

use std::collections::VecDeque;

use super::manager::Evaluation;
use super::spec::{Span, WindowSpec};

/// The items of one windowed bolt task on event time; see the module docs.
#[derive(Debug)]
pub(crate) struct EventWindows<T> {
    length: Span,
    sliding: Span,
    /// Held items, in time order (equal times in arrival order).
    held: VecDeque<T>,
    times: VecDeque<u64>,
    /// Items that left every window since the last evaluation, the first `released` of them
    /// already handed out for acking.
    expired: Vec<T>,
    released: usize,
    watermark: Option<u64>,
    /// Time sliding: where the next window ends (set by the first item).
    next_end: Option<u64>,
    /// Count sliding: how many of the first held items the trigger has counted.
    counted: usize,
    /// The end of the last evaluated window: items from it on are new to the next one.
    last_end: Option<u64>,
    /// The end of the window being evaluated.
    pending_end: Option<u64>,
}

/// The end of the slot of width `s` that time `t` falls in (the first window end after `t`).
fn slot_end(t: u64, s: u64) -> u64 {
    (t / s.max(1)).saturating_add(1).saturating_mul(s.max(1))
}

fn ms(span: Span) -> Option<u64> {
    match span {
        Span::Time(d) => Some(d.as_millis() as u64),
        Span::Count(_) => None,
    }
}

impl<T> EventWindows<T> {
    pub(crate) fn new(spec: &WindowSpec) -> EventWindows<T> {
        EventWindows {
            length: spec.length,
            sliding: spec.sliding,
            held: VecDeque::new(),
            times: VecDeque::new(),
            expired: Vec::new(),
            released: 0,
            watermark: None,
            next_end: None,
            counted: 0,
            last_end: None,
            pending_end: None,
        }
    }

    /// Whether an item of time `t` comes too late: the watermark already passed it.
    pub(crate) fn is_late(&self, t: u64) -> bool {
        self.watermark.is_some_and(|w| t < w)
    }

    /// Adds an item of time `t` (not late).
    pub(crate) fn add(&mut self, item: T, t: u64) {
        let at = self.times.partition_point(|&x| x <= t);
        self.held.insert(at, item);
        self.times.insert(at, t);
        if let Some(s) = ms(self.sliding) {
            // The first window to hold `t` ends where its slot does (never at or before a
            // window already evaluated); an earlier end than planned moves the plan back.
            let end = slot_end(t, s);
            let end = self.last_end.map_or(end, |last| end.max(last.saturating_add(s)));
            if self.next_end.is_none_or(|next| end < next) {
                self.next_end = Some(end);
            }
        }
    }

    /// The watermark moved to `w` (it never goes back).
    pub(crate) fn advance(&mut self, w: u64) {
        self.watermark = Some(self.watermark.map_or(w, |old| old.max(w)));
    }

    /// The end of the next window the watermark has passed, if any.
    pub(crate) fn due(&self) -> Option<u64> {
        let w = self.watermark?;
        match self.sliding {
            Span::Time(_) => self.next_end.filter(|&e| e <= w),
            Span::Count(k) => {
                let below = self.times.partition_point(|&x| x < w);
                let k = usize::try_from(k).unwrap_or(usize::MAX);
                (below.saturating_sub(self.counted) >= k)
                    .then(|| self.times[self.counted + k - 1].saturating_add(1))
            }
        }
    }

    /// Starts the evaluation of the window ending at `end` (from [`EventWindows::due`]):
    /// expires what no window from it on holds. Then release, [`EventWindows::window`],
    /// [`EventWindows::evaluated`].
    pub(crate) fn start_evaluation(&mut self, end: u64) {
        let in_window = self.times.partition_point(|&x| x < end);
        let first = match self.length {
            Span::Time(d) => self.times.partition_point(|&x| x < end.saturating_sub(d.as_millis() as u64)),
            Span::Count(n) => in_window.saturating_sub(usize::try_from(n).unwrap_or(usize::MAX)),
        };
        for _ in 0..first {
            let (Some(item), Some(_)) = (self.held.pop_front(), self.times.pop_front()) else { break };
            self.expired.push(item);
        }
        if let Span::Count(k) = self.sliding {
            self.counted = (self.counted + k as usize).saturating_sub(first).min(self.held.len());
        }
        self.pending_end = Some(end);
    }

    /// Items that expired since the last call: ack them.
    pub(crate) fn take_expired(&mut self) -> &[T] {
        let from = self.released;
        self.released = self.expired.len();
        &self.expired[from..]
    }

    /// The window being evaluated.
    pub(crate) fn window(&mut self) -> Evaluation<'_, T> {
        let end = self.pending_end.unwrap_or(0);
        let in_window = self.times.partition_point(|&x| x < end);
        let new_from =
            self.last_end.map_or(0, |last| self.times.partition_point(|&x| x < last)).min(in_window);
        let held = self.held.make_contiguous();
        Evaluation { window: &held[..in_window], new_from, expired: &self.expired }
    }

    /// The evaluation is done. Items the next window cannot hold expire now (a tumbling
    /// window's right after it): release them too.
    pub(crate) fn evaluated(&mut self) {
        let end = self.pending_end.take();
        self.last_end = end.or(self.last_end);
        self.expired.clear();
        self.released = 0;
        let (Some(end), Span::Time(s)) = (end, self.sliding) else { return };
        let s = s.as_millis() as u64;
        let mut next = end.saturating_add(s);
        if let Span::Time(d) = self.length {
            let keep_from = next.saturating_sub(d.as_millis() as u64);
            while self.times.front().is_some_and(|&t| t < keep_from) {
                let (Some(item), Some(_)) = (self.held.pop_front(), self.times.pop_front()) else { break };
                self.expired.push(item);
            }
        }
        // Skip the empty windows up to the first that holds the earliest item left.
        match self.times.front() {
            None => self.next_end = None,
            Some(&t) => {
                if t >= next {
                    next = slot_end(t, s);
                }
                self.next_end = Some(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    type Seen = (u64, Vec<u32>, Vec<u32>, Vec<u32>);

    /// Runs every evaluation due: (end, window, new, expired); the released items go to `acked`.
    fn run_due(w: &mut EventWindows<u32>, acked: &mut Vec<u32>) -> Vec<Seen> {
        let mut out = Vec::new();
        while let Some(end) = w.due() {
            w.start_evaluation(end);
            acked.extend_from_slice(w.take_expired());
            let e = w.window();
            out.push((end, e.window.to_vec(), e.window[e.new_from..].to_vec(), e.expired.to_vec()));
            w.evaluated();
            acked.extend_from_slice(w.take_expired());
        }
        out
    }

    fn time(ms: u64) -> Span {
        Span::Time(Duration::from_millis(ms))
    }

    #[test]
    fn tumbling_time_windows_follow_the_items_times_not_their_order() {
        let mut w = EventWindows::new(&WindowSpec::tumbling(time(10)));
        let mut acked = Vec::new();
        // Items named by their time, out of order.
        for t in [3u32, 12, 1, 9, 15, 10] {
            w.add(t, u64::from(t));
        }
        w.advance(9);
        assert!(run_due(&mut w, &mut acked).is_empty(), "[0, 10) is not complete at watermark 9");
        assert!(w.is_late(8) && !w.is_late(9));
        w.advance(12);
        assert_eq!(run_due(&mut w, &mut acked), vec![(10, vec![1, 3, 9], vec![1, 3, 9], vec![])]);
        w.add(11, 11);
        w.advance(40);
        let evals = run_due(&mut w, &mut acked);
        assert_eq!(evals, vec![(20, vec![10, 11, 12, 15], vec![10, 11, 12, 15], vec![1, 3, 9])]);
        assert_eq!(acked, vec![1, 3, 9, 10, 11, 12, 15], "a tumbling window's items leave right after it");
        // Nothing held past 20: the next item starts the windows again at its own slot.
        w.add(47, 47);
        w.advance(50);
        let evals = run_due(&mut w, &mut acked);
        assert_eq!(evals, vec![(50, vec![47], vec![47], vec![10, 11, 12, 15])]);
    }

    #[test]
    fn sliding_time_windows_overlap_and_skip_empty_stretches() {
        let mut w = EventWindows::new(&WindowSpec::sliding(time(30), time(10)));
        let mut acked = Vec::new();
        for t in [5u32, 25, 95] {
            w.add(t, u64::from(t));
        }
        w.advance(200);
        let ends: Vec<(u64, Vec<u32>)> =
            run_due(&mut w, &mut acked).into_iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(
            ends,
            vec![
                (10, vec![5]),
                (20, vec![5]),
                (30, vec![5, 25]),
                (40, vec![25]),
                (50, vec![25]),
                // 60 to 90 hold nothing: skipped.
                (100, vec![95]),
                (110, vec![95]),
                (120, vec![95]),
            ]
        );
        assert_eq!(acked, vec![5, 25, 95], "each leaves after the last window that holds it");
    }

    #[test]
    fn an_item_older_than_the_planned_window_moves_the_plan_back() {
        let mut w = EventWindows::new(&WindowSpec::tumbling(time(10)));
        let mut acked = Vec::new();
        w.add(50, 50);
        w.advance(5);
        w.add(7, 7); // not late (watermark 5), and before the planned end 60
        w.advance(100);
        let evals = run_due(&mut w, &mut acked);
        let windows: Vec<(u64, Vec<u32>)> = evals.into_iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(windows, vec![(10, vec![7]), (60, vec![50])]);
    }

    #[test]
    fn count_windows_on_event_time() {
        // The last 3 items, every 2 items the watermark passed.
        let mut w = EventWindows::new(&WindowSpec::sliding(Span::Count(3), Span::Count(2)));
        let mut acked = Vec::new();
        for t in [40u32, 10, 30, 20, 50] {
            w.add(t, u64::from(t));
        }
        w.advance(35); // passed 10, 20, 30: one evaluation (after 10, 20)
        let evals = run_due(&mut w, &mut acked);
        assert_eq!(evals, vec![(21, vec![10, 20], vec![10, 20], vec![])]);
        w.advance(100); // passes 30, 40, 50: one more (after 30, 40); 50 waits for a partner
        let evals = run_due(&mut w, &mut acked);
        assert_eq!(evals, vec![(41, vec![20, 30, 40], vec![30, 40], vec![10])]);
        assert_eq!(acked, vec![10]);
    }

    #[test]
    fn mixed_spans_on_event_time() {
        // The last 2 items before each 10 ms boundary.
        let mut w = EventWindows::new(&WindowSpec::sliding(Span::Count(2), time(10)));
        let mut acked = Vec::new();
        for t in [1u32, 4, 7, 12, 25] {
            w.add(t, u64::from(t));
        }
        w.advance(30);
        let windows: Vec<(u64, Vec<u32>)> =
            run_due(&mut w, &mut acked).into_iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(windows, vec![(10, vec![4, 7]), (20, vec![7, 12]), (30, vec![12, 25])]);
        assert_eq!(acked, vec![1, 4, 7]);

        // 10 ms of time before every second item the watermark passed.
        let mut w = EventWindows::new(&WindowSpec::sliding(time(10), Span::Count(2)));
        let mut acked = Vec::new();
        for t in [1u32, 4, 7, 12, 25, 26] {
            w.add(t, u64::from(t));
        }
        w.advance(100);
        let windows: Vec<(u64, Vec<u32>)> =
            run_due(&mut w, &mut acked).into_iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(windows, vec![(5, vec![1, 4]), (13, vec![4, 7, 12]), (27, vec![25, 26])]);
        assert_eq!(acked, vec![1, 4, 7, 12]);
    }
}
