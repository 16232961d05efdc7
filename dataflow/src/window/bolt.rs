//! [`WindowedBolt`], what it sees ([`TupleWindow`]) and emits through ([`WindowCollector`]),
//! and [`Windowed`], which runs one as an ordinary [`Bolt`] (Storm's `WindowedBoltExecutor`).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::event::EventWindows;
use super::manager::{Evaluation, WindowManager};
use super::spec::{Span, WindowSpec, LATE_TUPLE_FIELD};
use crate::component::{Bolt, Limits, OutputDeclarer, TaskContext};
use crate::runtime::BoltCollector;
use crate::tuple::{Tuple, Value};

/// A bolt that processes windows of tuples instead of single tuples (Storm's
/// `IWindowedBolt`). The runtime acks each input when it leaves the last window that holds it,
/// and anchors what `execute` emits to every tuple of the window, so a spout tuple's tree
/// completes only when every window it was in has been processed.
pub trait WindowedBolt: Send {
    /// Declares the output streams.
    fn declare_outputs(&self, declarer: &mut OutputDeclarer);
    /// Called once before any window, on the executor thread.
    fn prepare(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        Ok(())
    }
    /// Processes one window (never an empty one).
    fn execute(&mut self, window: &TupleWindow<'_>, collector: &mut WindowCollector<'_, '_, '_>);
    /// Called once at the end.
    fn cleanup(&mut self) {}
    /// A line about what it does, for `sockflow check` after its window (none by default).
    fn summary(&self) -> Option<String> {
        None
    }
}

impl WindowedBolt for Box<dyn WindowedBolt> {
    fn declare_outputs(&self, declarer: &mut OutputDeclarer) {
        (**self).declare_outputs(declarer);
    }
    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        (**self).prepare(ctx)
    }
    fn execute(&mut self, window: &TupleWindow<'_>, collector: &mut WindowCollector<'_, '_, '_>) {
        (**self).execute(window, collector);
    }
    fn cleanup(&mut self) {
        (**self).cleanup();
    }
    fn summary(&self) -> Option<String> {
        (**self).summary()
    }
}

/// One window's tuples (Storm's `TupleWindow`).
#[derive(Debug)]
pub struct TupleWindow<'a> {
    tuples: &'a [Tuple],
    new_from: usize,
    expired: &'a [Tuple],
    end_ms: u64,
    start_ms: Option<u64>,
}

impl TupleWindow<'_> {
    /// Every tuple in the window, oldest first.
    pub fn get(&self) -> &[Tuple] {
        self.tuples
    }

    /// The tuples that arrived since the previous window.
    pub fn new_tuples(&self) -> &[Tuple] {
        &self.tuples[self.new_from..]
    }

    /// The tuples that left the window since the previous one (already acked: read them, do
    /// not anchor to them).
    pub fn expired(&self) -> &[Tuple] {
        self.expired
    }

    /// Where the window ends, in ms since the Unix epoch: when it was evaluated (processing
    /// time) or the end of its span of event time (exclusive).
    pub fn end_timestamp_ms(&self) -> u64 {
        self.end_ms
    }

    /// Where a time window begins (its end less its length), in ms since the Unix epoch;
    /// `None` for count windows.
    pub fn start_timestamp_ms(&self) -> Option<u64> {
        self.start_ms
    }
}

/// Emits on behalf of a window: every tuple is anchored to all the window's tuples.
pub struct WindowCollector<'c, 'b, 'w> {
    inner: &'c mut BoltCollector<'b>,
    anchors: &'c [&'w Tuple],
}

impl WindowCollector<'_, '_, '_> {
    /// Emits on the default stream.
    pub fn emit(&mut self, values: Vec<Value>) -> &[u32] {
        self.inner.emit(self.anchors, values)
    }

    /// Emits on a named stream.
    pub fn emit_stream(&mut self, stream: &str, values: Vec<Value>) -> &[u32] {
        self.inner.emit_stream(stream, self.anchors, values)
    }

    /// Emits on `stream` anchored to `anchors` only, which must be tuples of this window
    /// ([`TupleWindow::get`]; not expired ones, which are acked already): for a bolt whose
    /// outputs each come from a few of the window's tuples (Storm's `JoinBolt` does this).
    pub fn emit_anchored(&mut self, stream: &str, anchors: &[&Tuple], values: Vec<Value>) -> &[u32] {
        self.inner.emit_stream(stream, anchors, values)
    }

    /// Emits to one task on a direct stream.
    pub fn emit_direct(&mut self, task: u32, stream: &str, values: Vec<Value>) {
        self.inner.emit_direct(task, stream, self.anchors, values);
    }

    /// This task's id.
    pub fn task_id(&self) -> u32 {
        self.inner.task_id()
    }
}

/// Runs a [`WindowedBolt`] as a [`Bolt`]: keeps each task's window, evaluates it when it
/// slides (time windows on tick tuples it asks for), acks tuples as they expire.
pub struct Windowed<B> {
    bolt: B,
    spec: WindowSpec,
    clock: Clock,
}

/// Which time the windows follow.
enum Clock {
    Processing(WindowManager<Tuple>),
    Event(EventClock),
}

/// Event time: the windows, and what the watermark is computed from.
struct EventClock {
    windows: EventWindows<Tuple>,
    field: String,
    lag_ms: u64,
    /// The latest time seen per input (source component, stream): a handful, so a list.
    latest: Vec<(Arc<str>, Arc<str>, u64)>,
    /// How many inputs the bolt subscribes to: no watermark until each has sent a time
    /// (Storm's rule), or a slow input's first tuples would all come late.
    inputs: usize,
    late_stream: Option<String>,
    /// Late tuples dropped (no late stream), for the log.
    late_dropped: u64,
}

impl<B: WindowedBolt> Windowed<B> {
    /// `bolt` over windows shaped by `spec`.
    pub fn new(bolt: B, spec: WindowSpec) -> Windowed<B> {
        let clock = match &spec.timestamp_field {
            None => Clock::Processing(WindowManager::new(&spec)),
            Some(field) => Clock::Event(EventClock {
                windows: EventWindows::new(&spec),
                field: field.clone(),
                lag_ms: spec.lag.map_or(0, |d| d.as_millis() as u64),
                latest: Vec::new(),
                inputs: 0,
                late_stream: spec.late_tuple_stream.clone(),
                late_dropped: 0,
            }),
        };
        Windowed { bolt, spec, clock }
    }

    fn execute_processing(&mut self, input: Tuple, collector: &mut BoltCollector<'_>) {
        let Clock::Processing(window) = &mut self.clock else { return };
        let now = Instant::now();
        // Time windows due before this input was taken are evaluated without it.
        evaluate_processing(&mut self.bolt, window, self.spec.length, now, collector);
        if input.is_tick() {
            window.tick(now);
        } else {
            window.add(input, now);
        }
        for expired in window.take_expired() {
            collector.ack(expired);
        }
        evaluate_processing(&mut self.bolt, window, self.spec.length, now, collector);
    }

    fn execute_event(&mut self, input: Tuple, collector: &mut BoltCollector<'_>) {
        let Clock::Event(clock) = &mut self.clock else { return };
        if input.is_tick() {
            // The watermark: the oldest of the inputs' latest times, less the lag, once every
            // input has sent one.
            let oldest = clock.latest.iter().map(|l| l.2).min();
            if let Some(oldest) = oldest.filter(|_| clock.latest.len() >= clock.inputs) {
                clock.windows.advance(oldest.saturating_sub(clock.lag_ms));
            }
            evaluate_event(&mut self.bolt, &mut clock.windows, self.spec.length, collector);
            return;
        }
        let t = match input.get(&clock.field) {
            Some(Value::I64(t)) if *t >= 0 => *t as u64,
            other => {
                // The value's kind only: a hostile value could be megabytes of text.
                let got = match other {
                    None => "nothing",
                    Some(Value::I64(_)) => "a negative number",
                    Some(Value::F64(_)) => "a float",
                    Some(Value::Str(_)) => "text",
                    Some(_) => "another kind of value",
                };
                let reason =
                    format!("no event time (integer ms since the epoch) in field {:?}: {got}", clock.field);
                collector.fail(&input, &reason);
                return;
            }
        };
        if clock.windows.is_late(t) {
            match &clock.late_stream {
                Some(stream) => {
                    collector.emit_stream(stream, &[&input], vec![Value::List(input.values.clone())]);
                }
                None => {
                    clock.late_dropped += 1;
                    if clock.late_dropped.is_power_of_two() {
                        tracing::warn!(
                            "windowed bolt: {} late tuple(s) dropped so far (older than the watermark; \
                             withLateTupleStream keeps them)",
                            clock.late_dropped
                        );
                    }
                }
            }
            collector.ack(&input);
            return;
        }
        let (component, stream) = (&input.meta.component, &input.meta.stream);
        match clock.latest.iter_mut().find(|l| l.0 == *component && l.1 == *stream) {
            Some(l) => l.2 = l.2.max(t),
            None => clock.latest.push((component.clone(), stream.clone(), t)),
        }
        clock.windows.add(input, t);
    }
}

/// Runs every processing-time evaluation due by `now`, each as of its own time.
fn evaluate_processing<B: WindowedBolt>(
    bolt: &mut B,
    window: &mut WindowManager<Tuple>,
    length: Span,
    now: Instant,
    collector: &mut BoltCollector<'_>,
) {
    while let Some(at) = window.due(now) {
        window.start_evaluation(at, now);
        for expired in window.take_expired() {
            collector.ack(expired);
        }
        let late = now - at;
        let end = SystemTime::now().checked_sub(late).unwrap_or_else(SystemTime::now);
        let end_ms = end.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        run_window(bolt, window.window(), end_ms, length, collector);
        window.evaluated();
    }
}

/// Runs every event-time evaluation the watermark allows.
fn evaluate_event<B: WindowedBolt>(
    bolt: &mut B,
    windows: &mut EventWindows<Tuple>,
    length: Span,
    collector: &mut BoltCollector<'_>,
) {
    while let Some(end) = windows.due() {
        windows.start_evaluation(end);
        for expired in windows.take_expired() {
            collector.ack(expired);
        }
        run_window(bolt, windows.window(), end, length, collector);
        windows.evaluated();
        for expired in windows.take_expired() {
            collector.ack(expired);
        }
    }
}

/// Hands one window to the bolt (unless it is empty), its emits anchored to all its tuples.
fn run_window<B: WindowedBolt>(
    bolt: &mut B,
    eval: Evaluation<'_, Tuple>,
    end_ms: u64,
    length: Span,
    collector: &mut BoltCollector<'_>,
) {
    if eval.window.is_empty() {
        return;
    }
    let start_ms = match length {
        Span::Time(d) => Some(end_ms.saturating_sub(d.as_millis() as u64)),
        Span::Count(_) => None,
    };
    let window =
        TupleWindow { tuples: eval.window, new_from: eval.new_from, expired: eval.expired, end_ms, start_ms };
    let anchors: Vec<&Tuple> = eval.window.iter().collect();
    bolt.execute(&window, &mut WindowCollector { inner: collector, anchors: &anchors });
}

impl<B: WindowedBolt> Bolt for Windowed<B> {
    fn declare_outputs(&self, declarer: &mut OutputDeclarer) {
        self.bolt.declare_outputs(declarer);
        if let Some(stream) = &self.spec.late_tuple_stream {
            declarer.declare_stream(stream, &[LATE_TUPLE_FIELD]);
        }
    }

    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        if let Clock::Event(clock) = &mut self.clock {
            clock.inputs = ctx.input_streams().len();
        }
        self.bolt.prepare(ctx)
    }

    fn execute(&mut self, input: Tuple, collector: &mut BoltCollector<'_>) {
        match self.clock {
            Clock::Processing(_) => self.execute_processing(input, collector),
            Clock::Event(_) => self.execute_event(input, collector),
        }
    }

    fn cleanup(&mut self) {
        self.bolt.cleanup();
    }

    fn tick_freq_secs(&self) -> Option<f64> {
        self.spec.tick_secs()
    }

    fn check(&self, limits: &Limits) -> Result<(), String> {
        self.spec.check(limits)
    }

    fn summary(&self) -> Option<String> {
        Some(match self.bolt.summary() {
            Some(what) => format!("{}: {what}", self.spec),
            None => self.spec.to_string(),
        })
    }
}
