//! Guaranteed processing: XOR acking, fails with reasons, replays, timeouts, max spout
//! pending, and acking at emit without ackers.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Numbers, Observed};
use dataflow::{Bolt, BoltCollector, FailReason, OutputDeclarer, TopologyBuilder, Tuple, Value};

/// Emits two tuples anchored to each input, then fails the input when `fail(n, attempt)`
/// says so, drops it (no ack: it times out) when `drop(n)`, and acks it otherwise.
struct Flaky {
    attempts: std::collections::HashMap<i64, u32>,
    rule: fn(i64, u32) -> Verdict,
}

#[derive(PartialEq)]
enum Verdict {
    Ack,
    Fail,
    Drop,
}

impl Bolt for Flaky {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["n", "half"]);
    }
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        let n = input.values[0].as_i64().unwrap();
        let attempt = self.attempts.entry(n).or_insert(0);
        *attempt += 1;
        for half in 0..2 {
            c.emit(&[&input], vec![Value::I64(n), Value::I64(half)]);
        }
        match (self.rule)(n, *attempt) {
            Verdict::Ack => c.ack(&input),
            Verdict::Fail => c.fail(&input, &format!("attempt {attempt} of {n} refused")),
            Verdict::Drop => {}
        }
    }
}

/// Acks everything.
struct Acking;

impl Bolt for Acking {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        c.ack(&input);
    }
}

fn topology(count: u64, seen: Arc<Mutex<Observed>>, rule: fn(i64, u32) -> Verdict) -> TopologyBuilder {
    let mut b = TopologyBuilder::new("acking");
    b.set_spout("numbers", move || Box::new(Numbers::new(count, 10, seen.clone())), 1);
    b.set_bolt("flaky", move || Box::new(Flaky { attempts: Default::default(), rule }), 2)
        .shuffle_grouping("numbers");
    b.set_bolt("end", || Box::new(Acking), 2).fields_grouping("flaky", &["half"]);
    b
}

#[test]
fn every_spout_tuple_is_acked_exactly_once_when_a_tenth_fail() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    // A pseudo-random tenth of the tuples fail on their first attempt.
    let b = topology(2000, seen.clone(), |n, attempt| {
        if attempt == 1 && (n.wrapping_mul(2_654_435_761) >> 7) % 10 == 0 {
            Verdict::Fail
        } else {
            Verdict::Ack
        }
    });
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(30, || seen.lock().unwrap().acks.len() == 2000);
    assert!(running.shutdown(Duration::from_secs(5)));
    let s = seen.lock().unwrap();
    assert!(done, "acked {} of 2000", s.acks.len());
    assert!(s.acks.values().all(|&n| n == 1), "a tuple was acked twice");
    // About a tenth fail on their first attempt at each of the two flaky tasks (a replay may
    // land on the other task and fail once more there).
    assert!((100..=500).contains(&s.fails.len()), "{} fails", s.fails.len());
    for (_, why) in &s.fails {
        match why {
            FailReason::Failed { component, reason, .. } => {
                assert_eq!(component, "flaky");
                assert!(reason.starts_with("attempt 1 of"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(s.emits, 2000 + s.fails.len() as u64, "each fail replayed once");
}

#[test]
fn an_unacked_tree_times_out_and_the_spout_learns_who_held_it_last() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    // Tuple 3 is dropped (never acked) on its first attempt.
    let mut b = topology(
        20,
        seen.clone(),
        |n, attempt| if n == 3 && attempt == 1 { Verdict::Drop } else { Verdict::Ack },
    );
    b.config().message_timeout_secs = 1;
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(10, || seen.lock().unwrap().acks.len() == 20);
    running.shutdown(Duration::from_secs(5));
    let s = seen.lock().unwrap();
    assert!(done, "acked {} of 20", s.acks.len());
    assert_eq!(s.fails.len(), 1, "{:?}", s.fails);
    let (id, why) = &s.fails[0];
    assert_eq!(*id, 3);
    // Its two children were acked by `end`, the last task to act on the tree.
    match why {
        FailReason::TimedOut { after_secs: 1, last_component, .. } => assert_eq!(last_component, "end"),
        other => panic!("unexpected {other:?}"),
    }
}

/// Acks after a pause, so that tuples pile up in flight.
struct Slow;

impl Bolt for Slow {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        std::thread::sleep(Duration::from_micros(200));
        c.ack(&input);
    }
}

#[test]
fn max_spout_pending_caps_tuples_in_flight() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let s2 = seen.clone();
    let mut b = TopologyBuilder::new("pending");
    b.config().max_spout_pending = Some(25);
    b.set_spout("numbers", move || Box::new(Numbers::new(1000, 10, s2.clone())), 1);
    b.set_bolt("slow", || Box::new(Slow), 1).shuffle_grouping("numbers");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(30, || seen.lock().unwrap().acks.len() == 1000);
    running.shutdown(Duration::from_secs(5));
    let s = seen.lock().unwrap();
    assert!(done);
    // The spout is not called while 25 are pending; one call emits up to 16 more.
    assert!(s.max_pending <= 25 + 16, "max pending {}", s.max_pending);
    assert!(s.max_pending >= 25, "the cap was never reached: {}", s.max_pending);
}

#[test]
fn a_spout_may_have_its_own_max_pending() {
    // Storm's setMaxSpoutPending: one spout's own cap, the other's the topology's.
    let (tight, loose) =
        (Arc::new(Mutex::new(Observed::default())), Arc::new(Mutex::new(Observed::default())));
    let mut b = TopologyBuilder::new("pending-each");
    b.config().max_spout_pending = Some(200);
    let t = tight.clone();
    b.set_spout("tight", move || Box::new(Numbers::new(300, 10, t.clone())), 1).max_spout_pending = Some(20);
    let l = loose.clone();
    b.set_spout("loose", move || Box::new(Numbers::new(300, 10, l.clone())), 1);
    b.set_bolt("slow", || Box::new(Slow), 1).shuffle_grouping("tight").shuffle_grouping("loose");
    let topology = b.build().unwrap();
    let plan = dataflow::Plan::new(&topology).to_string();
    assert!(plan.contains("spout tight: tasks [1], max pending 20 a task"), "{plan}");
    let running = dataflow::start(&topology).unwrap();
    let done =
        eventually(30, || tight.lock().unwrap().acks.len() == 300 && loose.lock().unwrap().acks.len() == 300);
    running.shutdown(Duration::from_secs(5));
    assert!(done);
    let (tight, loose) = (tight.lock().unwrap().max_pending, loose.lock().unwrap().max_pending);
    assert!((20..=20 + 16).contains(&tight), "its own cap: {tight}");
    assert!(loose > 20 + 16 && loose <= 200 + 16, "the topology's: {loose}");
}

#[test]
fn without_ackers_tuples_are_acked_at_emit() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let mut b = topology(100, seen.clone(), |_, _| Verdict::Drop);
    b.config().acker_executors = 0;
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(10, || seen.lock().unwrap().acks.len() == 100);
    running.shutdown(Duration::from_secs(1));
    assert!(done, "acked {}", seen.lock().unwrap().acks.len());
    assert!(seen.lock().unwrap().fails.is_empty());
}

/// Pairs inputs: holds one, then emits one tuple anchored to both and acks both.
struct Joiner {
    held: Option<Tuple>,
}

impl Bolt for Joiner {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["a", "b"]);
    }
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        match self.held.take() {
            None => self.held = Some(input),
            Some(first) => {
                c.emit(&[&first, &input], vec![first.values[0].clone(), input.values[0].clone()]);
                c.ack(&first);
                c.ack(&input);
            }
        }
    }
}

static FAILED_ZERO: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Fails the first joined tuple that contains 0, acks everything else.
struct FailZeroOnce;

impl Bolt for FailZeroOnce {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        let has_zero = input.values.iter().any(|v| v.as_i64() == Some(0));
        if has_zero && !FAILED_ZERO.swap(true, std::sync::atomic::Ordering::SeqCst) {
            c.fail(&input, "zero");
        } else {
            c.ack(&input);
        }
    }
}

#[test]
fn a_multi_anchored_tuple_completes_or_fails_both_of_its_trees() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let s2 = seen.clone();
    let mut b = TopologyBuilder::new("multi");
    b.config().message_timeout_secs = 5;
    b.set_spout("numbers", move || Box::new(Numbers::new(100, 10, s2.clone())), 1);
    b.set_bolt("join", || Box::new(Joiner { held: None }), 1).shuffle_grouping("numbers");
    b.set_bolt("end", || Box::new(FailZeroOnce), 1).shuffle_grouping("join");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let done = eventually(20, || seen.lock().unwrap().acks.len() == 100);
    running.shutdown(Duration::from_secs(5));
    let s = seen.lock().unwrap();
    assert!(done, "acked {} of 100", s.acks.len());
    assert!(s.acks.values().all(|&n| n == 1));
    // The failed joined tuple belonged to two trees: both roots failed, with the reason.
    let failed: Vec<u64> = s.fails.iter().map(|(id, _)| *id).collect();
    assert_eq!(failed.len(), 2, "{:?}", s.fails);
    assert!(failed.contains(&0));
    assert!(s
        .fails
        .iter()
        .all(|(_, why)| matches!(why, FailReason::Failed { reason, .. } if reason == "zero")));
}

/// Works on each input for `busy`, calling `reset_timeout` every 300 ms when `reset`, then acks
/// it. Blocks its executor meanwhile, as a bolt calling a slow service would.
struct LongTask {
    busy: Duration,
    reset: bool,
}

impl Bolt for LongTask {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        let end = std::time::Instant::now() + self.busy;
        while std::time::Instant::now() < end {
            std::thread::sleep(Duration::from_millis(300));
            if self.reset {
                c.reset_timeout(&input);
            }
        }
        c.ack(&input);
    }
}

/// Emits 0 and 1, one a call (so that max spout pending holds the second back), replaying
/// what fails; records acks and fails.
struct OneByOne {
    todo: std::collections::VecDeque<u64>,
    seen: Arc<Mutex<Observed>>,
}

impl dataflow::Spout for OneByOne {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["n"]);
    }
    fn next_tuple(&mut self, c: &mut dataflow::SpoutCollector<'_>) {
        match self.todo.pop_front() {
            Some(n) => {
                c.emit(vec![Value::I64(n as i64)], Some(n));
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    fn ack(&mut self, id: u64) {
        *self.seen.lock().unwrap().acks.entry(id).or_insert(0) += 1;
    }
    fn fail(&mut self, id: u64, why: &FailReason) {
        self.seen.lock().unwrap().fails.push((id, why.clone()));
        self.todo.push_back(id);
    }
}

/// Two tuples, each taking 2.5 s in a bolt, with a 1 s message timeout; one in flight at a
/// time (a tuple waiting behind another cannot reset its own timeout).
fn long_tasks(reset: bool) -> Observed {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let mut b = TopologyBuilder::new("long-tasks");
    b.config().message_timeout_secs = 1;
    b.config().max_spout_pending = Some(1);
    let s = seen.clone();
    b.set_spout("numbers", move || Box::new(OneByOne { todo: [0, 1].into(), seen: s.clone() }), 1);
    b.set_bolt("work", move || Box::new(LongTask { busy: Duration::from_millis(2500), reset }), 1)
        .shuffle_grouping("numbers");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    // With resets the first tuple is done after 2.5 s, the second after 5 s; without, the
    // first times out after about 1 s.
    let done = eventually(20, || {
        let s = seen.lock().unwrap();
        if reset {
            s.acks.len() == 2
        } else {
            !s.fails.is_empty()
        }
    });
    running.shutdown(Duration::from_secs(1));
    let s = seen.lock().unwrap();
    assert!(done, "acked {:?}, failed {:?}", s.acks, s.fails);
    Observed { acks: s.acks.clone(), fails: s.fails.clone(), max_pending: s.max_pending, emits: s.emits }
}

#[test]
fn reset_timeout_keeps_a_long_task_from_timing_out() {
    let with = long_tasks(true);
    assert!(with.fails.is_empty(), "{:?}", with.fails);
    assert_eq!(with.acks.values().copied().collect::<Vec<_>>(), [1, 1], "each acked once, no replay");
    // Without the resets the same topology times the tuples out (and replays them).
    let without = long_tasks(false);
    assert!(
        without.fails.iter().any(|(_, why)| matches!(why, FailReason::TimedOut { .. })),
        "{:?}",
        without.fails
    );
}

/// Reports three errors for each input, then acks it.
struct Complains;

impl Bolt for Complains {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        for k in 0..3 {
            c.report_error(&format!("complaint {k} about {}", input.values[0]));
        }
        c.ack(&input);
    }
}

#[test]
fn reported_errors_are_counted_not_failed_and_exported() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let mut b = TopologyBuilder::new("errors");
    let s = seen.clone();
    b.set_spout("numbers", move || Box::new(Numbers::new(50, 5, s.clone())), 1);
    b.set_bolt("complains", || Box::new(Complains), 1).shuffle_grouping("numbers");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let hub = running.metrics();
    let done = eventually(10, || seen.lock().unwrap().acks.len() == 50);
    running.shutdown(Duration::from_secs(5));
    assert!(done && seen.lock().unwrap().fails.is_empty());
    // Every error counted (only the first five a task logged in 10 s).
    assert_eq!(hub.component_total("complains", |t| t.errors), 150);
    let text = hub.prometheus("errors");
    assert!(text.contains("# TYPE sockflow_errors_total counter"), "{text}");
    assert!(
        text.contains("sockflow_errors_total{topology=\"errors\",component=\"complains\",task=\"2\"} 150"),
        "{text}"
    );
}

#[test]
fn with_timeouts_off_an_unacked_tree_stays_pending() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let mut b = topology(20, seen.clone(), |n, _| if n == 3 { Verdict::Drop } else { Verdict::Ack });
    b.config().message_timeout_secs = dataflow::topology::NO_MESSAGE_TIMEOUT_SECS;
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    assert!(eventually(10, || seen.lock().unwrap().acks.len() == 19));
    // Sweeps run every second (spouts) or so: none may time the tree out, or overflow.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(running.is_running());
    running.shutdown(Duration::from_millis(100));
    let s = seen.lock().unwrap();
    assert!(s.fails.is_empty() && !s.acks.contains_key(&3), "{:?} {:?}", s.fails, s.acks);
}
