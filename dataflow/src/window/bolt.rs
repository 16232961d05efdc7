//! [`WindowedBolt`], what it sees ([`TupleWindow`]) and emits through ([`WindowCollector`]),
//! and [`Windowed`], which runs one as an ordinary [`Bolt`] (Storm's `WindowedBoltExecutor`).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::manager::WindowManager;
use super::spec::{Span, WindowSpec};
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

    /// When the window was evaluated, in ms since the Unix epoch (its end).
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
    window: WindowManager<Tuple>,
}

impl<B: WindowedBolt> Windowed<B> {
    /// `bolt` over windows shaped by `spec`.
    pub fn new(bolt: B, spec: WindowSpec) -> Windowed<B> {
        Windowed { bolt, spec, window: WindowManager::new(spec) }
    }

    fn release(&mut self, collector: &mut BoltCollector<'_>) {
        for expired in self.window.take_expired() {
            collector.ack(expired);
        }
    }

    /// Runs every evaluation due by `now`, each as of its own time.
    fn evaluate_due(&mut self, now: Instant, collector: &mut BoltCollector<'_>) {
        while let Some(at) = self.window.due(now) {
            self.window.start_evaluation(at, now);
            self.release(collector);
            let late = now - at;
            let end = SystemTime::now().checked_sub(late).unwrap_or_else(SystemTime::now);
            let end_ms = end.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
            let start_ms = match self.spec.length {
                Span::Time(d) => Some(end_ms.saturating_sub(d.as_millis() as u64)),
                Span::Count(_) => None,
            };
            let eval = self.window.window();
            if !eval.window.is_empty() {
                let window = TupleWindow {
                    tuples: eval.window,
                    new_from: eval.new_from,
                    expired: eval.expired,
                    end_ms,
                    start_ms,
                };
                let anchors: Vec<&Tuple> = eval.window.iter().collect();
                self.bolt.execute(&window, &mut WindowCollector { inner: collector, anchors: &anchors });
            }
            self.window.evaluated();
        }
    }
}

impl<B: WindowedBolt> Bolt for Windowed<B> {
    fn declare_outputs(&self, declarer: &mut OutputDeclarer) {
        self.bolt.declare_outputs(declarer);
    }

    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        self.bolt.prepare(ctx)
    }

    fn execute(&mut self, input: Tuple, collector: &mut BoltCollector<'_>) {
        let now = Instant::now();
        // Time windows due before this input was taken are evaluated without it.
        self.evaluate_due(now, collector);
        if input.is_tick() {
            self.window.tick(now);
        } else {
            self.window.add(input, now);
        }
        self.release(collector);
        self.evaluate_due(now, collector);
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
}
