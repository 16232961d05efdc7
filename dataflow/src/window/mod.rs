//! Windowed bolts (Storm's `BaseWindowedBolt`): a bolt that sees the last N tuples, or the
//! last T of time, every K tuples or every S of time, sliding or tumbling.
//!
//! ```
//! use std::time::Duration;
//! use dataflow::window::{Span, TupleWindow, WindowCollector, WindowSpec, Windowed, WindowedBolt};
//! use dataflow::{OutputDeclarer, Value};
//!
//! /// Emits how many tuples the last 10 seconds held, every 2 seconds.
//! struct Rate;
//! impl WindowedBolt for Rate {
//!     fn declare_outputs(&self, d: &mut OutputDeclarer) {
//!         d.declare(&["count"]);
//!     }
//!     fn execute(&mut self, w: &TupleWindow<'_>, c: &mut WindowCollector<'_, '_, '_>) {
//!         c.emit(vec![Value::I64(w.get().len() as i64)]);
//!     }
//! }
//! let secs = |s| Span::Time(Duration::from_secs(s));
//! let bolt = Windowed::new(Rate, WindowSpec::sliding(secs(10), secs(2)));
//! # let _ = bolt;
//! ```
//!
//! Windows run on processing time (a tuple's time is when it reached the bolt's task) unless
//! [`WindowSpec::with_timestamp_field`] names a field of event time (ms since the Unix
//! epoch): windows then follow the tuples' own times, whatever order they arrive in, and are
//! evaluated once the watermark passes their end. The watermark advances every
//! `with_watermark_interval` (1 s) to the oldest of the latest times seen on each input
//! stream (source component and stream), less `with_lag`, once every stream the bolt
//! subscribes to has sent a time (as in Storm); a tuple older than the watermark is late:
//! emitted on `with_late_tuple_stream` as one field `late_tuple` (a list of its values), or
//! else acked and dropped, and counted in the log. A tuple without an integer time in the
//! field is failed with the reason. Time windows are `[end - length, end)`; on event time
//! they end at multiples of the sliding interval. Each task keeps its own window (group by
//! fields to window per key). A tuple is acked when it
//! leaves the last window that can hold it, and what a window emits is anchored to all its
//! tuples, so spout tuples complete (or time out and replay) with their windows: as in Storm,
//! a time window plus its slide must fit in `topology.message.timeout.secs`, and a count
//! window plus its slide in `topology.max.spout.pending` when that is set (checked before the
//! topology runs). Time windows slide on tick tuples the bolt asks for (a tenth of the
//! shortest time span, at most a second; on event time, the watermark interval): a window is
//! evaluated at most that late.
//! A bolt driven without a topology (no [`crate::TaskContext::sources`]) computes the
//! watermark over the streams seen so far.

mod bolt;
mod event;
mod manager;
mod spec;

pub use bolt::{TupleWindow, WindowCollector, Windowed, WindowedBolt};
pub use spec::{Span, WindowSpec, LATE_TUPLE_FIELD};
