//! Faults in user components: a bolt that panics is replaced by a fresh instance (prepared
//! again) and the topology keeps serving, its lost inputs replayed after the timeout; an emit
//! that does not match its stream's declared fields is dropped and reported, not delivered;
//! a component that cannot be made, opened or prepared stops the start (or, for a
//! replacement, its executor) with a one-line reason.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Numbers, Observed};
use dataflow::{Bolt, BoltCollector, OutputDeclarer, TaskContext, TopologyBuilder, Tuple};

/// Panics on the first input of value 3; counts its instances' `prepare` calls.
struct Fragile {
    prepared: Arc<AtomicUsize>,
    panicked: Arc<AtomicUsize>,
}

impl Bolt for Fragile {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn prepare(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        self.prepared.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        if input.values[0].as_i64() == Some(3) && self.panicked.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("no threes, please");
        }
        c.ack(&input);
    }
}

#[test]
fn a_panicking_bolt_is_replaced_and_its_input_replayed() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let (prepared, panicked) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut b = TopologyBuilder::new("faults");
    b.config().message_timeout_secs = 1;
    let s = seen.clone();
    b.set_spout("numbers", move || Box::new(Numbers::new(20, 4, s.clone())), 1);
    let (p, q) = (prepared.clone(), panicked.clone());
    b.set_bolt("fragile", move || Box::new(Fragile { prepared: p.clone(), panicked: q.clone() }), 1)
        .shuffle_grouping("numbers");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let hub = running.metrics();
    let done = eventually(15, || seen.lock().unwrap().acks.len() == 20);
    assert!(running.is_running(), "every executor thread still runs");
    running.shutdown(Duration::from_secs(2));
    let s = seen.lock().unwrap();
    assert!(done, "acked {} of 20", s.acks.len());
    assert_eq!(s.fails.len(), 1, "the input lost with the instance timed out: {:?}", s.fails);
    assert_eq!(s.fails[0].0, 3);
    assert_eq!(prepared.load(Ordering::SeqCst), 2, "the replacement was prepared");
    assert_eq!(hub.component_total("fragile", |t| t.errors), 1, "the panic is the task's error");
}

/// Emits one value on a stream of two fields, and then a correct tuple; acks its input.
struct Miscounts;

impl Bolt for Miscounts {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["n", "twice"]);
    }
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        let n = input.values[0].clone();
        c.emit(&[&input], vec![n.clone()]);
        c.emit(&[&input], vec![n.clone(), n]);
        c.ack(&input);
    }
}

/// Acks everything, checking each tuple has its stream's two fields.
struct TwoFields(Arc<AtomicUsize>);

impl Bolt for TwoFields {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        assert_eq!(input.values.len(), 2);
        self.0.fetch_add(1, Ordering::SeqCst);
        c.ack(&input);
    }
}

#[test]
fn an_emit_of_the_wrong_arity_is_dropped_and_reported() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let got = Arc::new(AtomicUsize::new(0));
    let mut b = TopologyBuilder::new("arity");
    let s = seen.clone();
    b.set_spout("numbers", move || Box::new(Numbers::new(10, 2, s.clone())), 1);
    b.set_bolt("miscounts", || Box::new(Miscounts), 1).shuffle_grouping("numbers");
    let g = got.clone();
    b.set_bolt("two", move || Box::new(TwoFields(g.clone())), 1).shuffle_grouping("miscounts");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let hub = running.metrics();
    let done = eventually(10, || seen.lock().unwrap().acks.len() == 10);
    running.shutdown(Duration::from_secs(2));
    assert!(done && seen.lock().unwrap().fails.is_empty());
    assert_eq!(got.load(Ordering::SeqCst), 10, "only the well-formed tuples arrived");
    assert_eq!(hub.component_total("miscounts", |t| t.errors), 10);
    assert_eq!(hub.component_total("miscounts", |t| t.emitted), 10, "the dropped ones are not emitted");
}

/// Emits 0..count (message id = value), panicking once in `next_tuple` after 5 and once in
/// `ack` of 7 (shared flags: a replacement instance does not panic again); replays fails.
struct FragileSpout {
    next: u64,
    count: u64,
    todo: Vec<u64>,
    flags: Arc<(AtomicUsize, AtomicUsize)>,
    seen: Arc<Mutex<Observed>>,
}

impl dataflow::Spout for FragileSpout {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["n"]);
    }
    fn next_tuple(&mut self, c: &mut dataflow::SpoutCollector<'_>) {
        if self.next == 5 && self.flags.0.swap(1, Ordering::SeqCst) == 0 {
            panic!("tired after five");
        }
        let n = match self.todo.pop() {
            Some(n) => n,
            None if self.next < self.count => {
                self.next += 1;
                self.next - 1
            }
            None => return,
        };
        c.emit(vec![dataflow::Value::I64(n as i64)], Some(n));
    }
    fn ack(&mut self, id: u64) {
        if id == 7 && self.flags.1.swap(1, Ordering::SeqCst) == 0 {
            panic!("seven is unlucky");
        }
        *self.seen.lock().unwrap().acks.entry(id).or_insert(0) += 1;
    }
    fn fail(&mut self, id: u64, why: &dataflow::FailReason) {
        self.seen.lock().unwrap().fails.push((id, why.clone()));
        self.todo.push(id);
    }
}

/// Acks everything.
struct AckAll;

impl Bolt for AckAll {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        c.ack(&input);
    }
}

#[test]
fn a_panicking_spout_is_replaced_and_the_topology_keeps_serving() {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let flags = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let mut b = TopologyBuilder::new("spout-faults");
    let (s, f) = (seen.clone(), flags.clone());
    // The replacement starts from 0 again (its state died with the old instance): 0..5 come
    // twice, and their acks reach whichever instance is there.
    b.set_spout(
        "fragile",
        move || {
            Box::new(FragileSpout { next: 0, count: 20, todo: Vec::new(), flags: f.clone(), seen: s.clone() })
        },
        1,
    );
    b.set_bolt("ack", || Box::new(AckAll), 1).shuffle_grouping("fragile");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let hub = running.metrics();
    let done = eventually(15, || (0..20).all(|n| n == 7 || seen.lock().unwrap().acks.contains_key(&n)));
    assert!(running.is_running(), "every executor thread still runs");
    running.shutdown(Duration::from_secs(2));
    assert!(done, "acked {:?}", seen.lock().unwrap().acks);
    assert_eq!((flags.0.load(Ordering::SeqCst), flags.1.load(Ordering::SeqCst)), (1, 1), "both panicked");
    assert_eq!(hub.component_total("fragile", |t| t.errors), 2, "both panics reported");
}

/// A bolt whose `prepare` fails (an error or a panic, as `panic_mode` says) from the
/// `fail_from`th prepared instance on, counting from 0, and whose first prepared instance
/// panics on its first input.
struct Unpreparable {
    prepared: Arc<AtomicUsize>,
    instance: usize,
    fail_from: usize,
    panic_mode: &'static str,
}

impl Bolt for Unpreparable {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn prepare(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        self.instance = self.prepared.fetch_add(1, Ordering::SeqCst);
        match (self.instance >= self.fail_from, self.panic_mode) {
            (false, _) => Ok(()),
            (true, "panic") => panic!("cannot prepare #{}", self.instance),
            (true, _) => Err(format!("no database for #{}", self.instance)),
        }
    }
    fn execute(&mut self, input: Tuple, c: &mut BoltCollector<'_>) {
        if self.instance == 0 {
            panic!("first input");
        }
        c.ack(&input);
    }
}

fn unpreparable(fail_from: usize, panic_mode: &'static str) -> (TopologyBuilder, Arc<Mutex<Observed>>) {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let mut b = TopologyBuilder::new("unpreparable");
    let s = seen.clone();
    b.set_spout("numbers", move || Box::new(Numbers::new(20, 4, s.clone())), 1);
    let prepared = Arc::new(AtomicUsize::new(0));
    b.set_bolt(
        "db",
        move || {
            let prepared = prepared.clone();
            Box::new(Unpreparable { prepared, instance: usize::MAX, fail_from, panic_mode })
        },
        1,
    )
    .shuffle_grouping("numbers");
    (b, seen)
}

fn start_error(b: TopologyBuilder) -> String {
    match dataflow::start(&b.build().unwrap()) {
        Ok(running) => {
            running.shutdown(Duration::ZERO);
            panic!("started")
        }
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_bolt_that_cannot_be_prepared_stops_the_start_with_its_reason() {
    let (b, seen) = unpreparable(0, "error");
    assert_eq!(start_error(b), "bolt db task 2: prepare failed: no database for #0");
    let (b, _) = unpreparable(0, "panic");
    assert_eq!(start_error(b), "bolt db task 2: prepare panicked: cannot prepare #0");
    // The spout, opened meanwhile, was closed again: nothing it emitted is left running.
    std::thread::sleep(Duration::from_millis(200));
    let acked = seen.lock().unwrap().acks.len();
    assert_eq!(acked, 0);
}

/// A spout whose factory or `open` fails, as its mode says.
struct Unopenable(&'static str);

impl dataflow::Spout for Unopenable {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["n"]);
    }
    fn open(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        match self.0 {
            "panic" => panic!("no source"),
            _ => Err("source unreachable".into()),
        }
    }
    fn next_tuple(&mut self, _c: &mut dataflow::SpoutCollector<'_>) {}
}

#[test]
fn a_spout_that_cannot_be_made_or_opened_stops_the_start_with_its_reason() {
    let spout = |mode: &'static str| {
        let mut b = TopologyBuilder::new("unopenable");
        b.set_spout(
            "src",
            move || match mode {
                "factory" => panic!("bad settings"),
                _ => Box::new(Unopenable(mode)),
            },
            1,
        );
        b.set_bolt("ack", || Box::new(AckAll), 1).shuffle_grouping("src");
        b
    };
    assert_eq!(start_error(spout("error")), "spout src task 1: open failed: source unreachable");
    assert_eq!(start_error(spout("panic")), "spout src task 1: open panicked: no source");
    // The builder makes an instance to learn its streams: the panic is found there.
    let e = spout("factory").build().err().expect("a factory that panics is an error");
    assert_eq!(e.message, "src: its factory panicked: bad settings");
}

#[test]
fn a_replacement_that_cannot_be_prepared_stops_its_executor_with_the_reason() {
    // The first instance prepares and panics on its first input; its replacement cannot be
    // prepared: the executor stops and says why, as a Storm worker dies for its supervisor.
    let (b, _) = unpreparable(1, "error");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let stopped = eventually(10, || !running.is_running());
    let failure = running.failure();
    let hub = running.metrics();
    running.shutdown(Duration::ZERO);
    assert!(stopped, "the executor stopped");
    assert_eq!(failure.as_deref(), Some("bolt db task 2: prepare failed: no database for #1"));
    assert_eq!(hub.component_total("db", |t| t.errors), 1, "the panic that needed a replacement");
}
