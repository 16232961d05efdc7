//! What a window is: its length and how often it slides, in tuples or in time, and the checks
//! Storm makes of them against the topology's config.

use std::time::Duration;

use crate::component::Limits;
use crate::tuple::Value;

/// A window's length or sliding interval: a number of tuples or a span of time (Storm's
/// `BaseWindowedBolt.Count` and `BaseWindowedBolt.Duration`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// This many tuples.
    Count(u64),
    /// This much time (processing time: when the tuples reached the bolt).
    Time(Duration),
}

impl Span {
    /// Reads a span from a `components:` object of class `Count` or `Duration` (see
    /// [`Span::to_value`]), or from a bare integer (a count).
    pub fn from_value(v: &Value) -> Result<Span, String> {
        let span = Span::from_value_unchecked(v)?;
        span.check_bound()?;
        Ok(span)
    }

    /// Storm's spans are Java ints (tuples, or ms): larger ones are refused, which also keeps
    /// every deadline computed from them far from overflowing.
    fn check_bound(self) -> Result<(), String> {
        let too_big = match self {
            Span::Count(n) => n > MAX_SPAN,
            Span::Time(d) => d.as_millis() > u128::from(MAX_SPAN),
        };
        if too_big {
            return Err(format!("{self} is more than a window can span ({MAX_SPAN} tuples or ms)"));
        }
        Ok(())
    }

    fn from_value_unchecked(v: &Value) -> Result<Span, String> {
        let span = match v {
            Value::I64(n) if *n > 0 => Span::Count(*n as u64),
            Value::Map(m) => match (m.get(COUNT_KEY), m.get(MILLIS_KEY)) {
                (Some(Value::I64(n)), None) if *n > 0 => Span::Count(*n as u64),
                (None, Some(Value::I64(ms))) if *ms > 0 => Span::Time(Duration::from_millis(*ms as u64)),
                _ => return Err(format!("expected a Count or Duration above 0, got {v}")),
            },
            other => return Err(format!("expected a Count or Duration (a ref to one), got {other}")),
        };
        Ok(span)
    }

    /// The value a `components:` entry of class `Count` or `Duration` stands for.
    pub fn to_value(self) -> Value {
        let (key, n) = match self {
            Span::Count(n) => (COUNT_KEY, n),
            Span::Time(d) => (MILLIS_KEY, d.as_millis() as u64),
        };
        Value::Map([(key.to_owned(), Value::I64(n as i64))].into_iter().collect())
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Span::Count(n) => write!(f, "{n} tuples"),
            Span::Time(d) => write!(f, "{} ms", d.as_millis()),
        }
    }
}

/// The largest count or time (ms) a span may have: Java's `Integer.MAX_VALUE`, as in Storm.
const MAX_SPAN: u64 = i32::MAX as u64;

const COUNT_KEY: &str = "count";
const MILLIS_KEY: &str = "durationMs";

/// A window: the last `length` (tuples, or time) of input, evaluated every `sliding`.
/// Tumbling windows have `sliding == length`: each tuple is in exactly one window. Time is
/// processing time unless [`WindowSpec::timestamp_field`] is set (event time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// How much input a window holds.
    pub length: Span,
    /// How often a window is evaluated: after this many new tuples, or this much time.
    pub sliding: Span,
    /// Event time: the field holding each tuple's time, in ms since the Unix epoch (Storm's
    /// `withTimestampField`). Windows then follow the tuples' times, and slide as the
    /// watermark passes their ends.
    pub timestamp_field: Option<String>,
    /// Event time: how far out of order tuples may arrive (`withLag`, 0): the watermark is
    /// the latest time seen on every input stream less this.
    pub lag: Option<Duration>,
    /// Event time: how often the watermark advances (`withWatermarkInterval`, 1 s).
    pub watermark_interval: Option<Duration>,
    /// Event time: the stream late tuples (older than the watermark) are emitted on, as one
    /// field `late_tuple` holding their values (`withLateTupleStream`); without it they are
    /// acked and dropped, and counted in the log.
    pub late_tuple_stream: Option<String>,
}

/// The field of a late tuple on [`WindowSpec::late_tuple_stream`] (Storm's name).
pub const LATE_TUPLE_FIELD: &str = "late_tuple";

/// Storm's default watermark interval.
const DEFAULT_WATERMARK_INTERVAL: Duration = Duration::from_secs(1);

impl WindowSpec {
    /// A sliding window (Storm's `withWindow(length, sliding)`).
    pub fn sliding(length: Span, sliding: Span) -> WindowSpec {
        WindowSpec {
            length,
            sliding,
            timestamp_field: None,
            lag: None,
            watermark_interval: None,
            late_tuple_stream: None,
        }
    }

    /// A tumbling window (`withTumblingWindow(length)`).
    pub fn tumbling(length: Span) -> WindowSpec {
        WindowSpec::sliding(length, length)
    }

    /// Storm's `withWindow(length)`: a window evaluated at every tuple.
    pub fn every_tuple(length: Span) -> WindowSpec {
        WindowSpec::sliding(length, Span::Count(1))
    }

    /// Event time from this field (ms since the Unix epoch).
    pub fn with_timestamp_field(mut self, field: &str) -> WindowSpec {
        self.timestamp_field = Some(field.to_owned());
        self
    }

    /// Tuples may arrive up to `lag` out of order (event time).
    pub fn with_lag(mut self, lag: Duration) -> WindowSpec {
        self.lag = Some(lag);
        self
    }

    /// The watermark advances every `interval` (event time).
    pub fn with_watermark_interval(mut self, interval: Duration) -> WindowSpec {
        self.watermark_interval = Some(interval);
        self
    }

    /// Late tuples go out on `stream` (event time).
    pub fn with_late_tuple_stream(mut self, stream: &str) -> WindowSpec {
        self.late_tuple_stream = Some(stream.to_owned());
        self
    }

    /// The watermark interval in force (event time).
    pub(crate) fn watermark_every(&self) -> Duration {
        self.watermark_interval.unwrap_or(DEFAULT_WATERMARK_INTERVAL)
    }

    /// Storm's checks (`WindowedBoltExecutor.validate`): tuples stay un-acked while they are
    /// in a window, so a time window plus its slide must fit in the message timeout, and a
    /// count window plus its slide in `topology.max.spout.pending`, or trees would time out
    /// (or the spouts stall) before their window is evaluated.
    pub fn check(&self, limits: &Limits) -> Result<(), String> {
        for (what, span) in [("length", self.length), ("sliding interval", self.sliding)] {
            if matches!(span, Span::Count(0)) || span == Span::Time(Duration::ZERO) {
                return Err(format!("window {what} must be above 0"));
            }
        }
        self.length.check_bound()?;
        self.sliding.check_bound()?;
        for d in [self.lag, self.watermark_interval].into_iter().flatten() {
            Span::Time(d).check_bound()?;
        }
        let event_only =
            self.lag.is_some() || self.watermark_interval.is_some() || self.late_tuple_stream.is_some();
        if self.timestamp_field.is_none() && event_only {
            return Err(
                "withLag, withWatermarkInterval and withLateTupleStream need withTimestampField".into()
            );
        }
        if self.watermark_interval == Some(Duration::ZERO) {
            return Err("the watermark interval must be above 0".into());
        }
        if let (Span::Time(l), Span::Time(s)) = (self.length, self.sliding) {
            let timeout = Duration::from_secs(limits.message_timeout_secs);
            if limits.acking && l + s > timeout {
                return Err(format!(
                    "window length + sliding interval ({} ms) is more than topology.message.timeout.secs \
                     ({} s): tuples would time out in their window",
                    (l + s).as_millis(),
                    limits.message_timeout_secs
                ));
            }
        }
        if let (Span::Count(l), Span::Count(s), Some(pending)) =
            (self.length, self.sliding, limits.max_spout_pending)
        {
            if limits.acking && l.saturating_add(s) > pending as u64 {
                return Err(format!(
                    "window length + sliding interval ({} tuples) is more than topology.max.spout.pending \
                     ({pending}): the spouts would stop before the window fills",
                    l.saturating_add(s)
                ));
            }
        }
        Ok(())
    }

    /// How often the bolt needs a tick: to advance the watermark (event time), or to slide or
    /// expire on time (none for count windows on processing time).
    pub(crate) fn tick_secs(&self) -> Option<f64> {
        if self.timestamp_field.is_some() {
            return Some(self.watermark_every().as_secs_f64().max(0.001));
        }
        let finest = [self.length, self.sliding]
            .into_iter()
            .filter_map(|s| match s {
                Span::Time(d) => Some(d),
                Span::Count(_) => None,
            })
            .min()?;
        // A tenth of the finest span: a window slides at most that late.
        Some((finest.as_secs_f64() / 10.0).clamp(0.001, 1.0))
    }
}

impl std::fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.length == self.sliding {
            write!(f, "tumbling window of {}", self.length)?;
        } else {
            write!(f, "window of {} sliding every {}", self.length, self.sliding)?;
        }
        match &self.timestamp_field {
            Some(field) => write!(f, " on the event time in {field:?}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(timeout: u64, pending: Option<usize>) -> Limits {
        Limits {
            message_timeout_secs: timeout,
            max_spout_pending: pending,
            acking: true,
            tasks_in_process: 1,
        }
    }

    #[test]
    fn spans_round_trip_through_values() {
        for s in [Span::Count(5), Span::Time(Duration::from_millis(1500))] {
            assert_eq!(Span::from_value(&s.to_value()), Ok(s));
        }
        assert_eq!(Span::from_value(&Value::I64(3)), Ok(Span::Count(3)));
        assert!(Span::from_value(&Value::I64(0)).is_err());
        assert!(Span::from_value(&Value::Str("5".into())).is_err());
    }

    #[test]
    fn storm_checks_against_the_timeout_and_max_pending() {
        let secs = |s| Span::Time(Duration::from_secs(s));
        assert!(WindowSpec::sliding(secs(20), secs(5)).check(&limits(30, None)).is_ok());
        let e = WindowSpec::sliding(secs(20), secs(15)).check(&limits(30, None)).unwrap_err();
        assert!(e.contains("35000 ms") && e.contains("timeout"), "{e}");
        assert!(WindowSpec::tumbling(Span::Count(100)).check(&limits(30, Some(200))).is_ok());
        let e = WindowSpec::tumbling(Span::Count(100)).check(&limits(30, Some(150))).unwrap_err();
        assert!(e.contains("200 tuples") && e.contains("max.spout.pending"), "{e}");
        let e =
            WindowSpec::tumbling(Span::Count(5)).with_lag(Duration::from_secs(1)).check(&limits(30, None));
        assert!(e.unwrap_err().contains("withTimestampField"));
        let no_acking = Limits { acking: false, ..limits(1, Some(1)) };
        assert!(WindowSpec::sliding(secs(20), secs(15)).check(&no_acking).is_ok());
        assert!(WindowSpec::tumbling(Span::Count(0)).check(&limits(30, None)).is_err());
        let huge = Span::Time(Duration::from_secs(u64::MAX / 2000));
        assert!(WindowSpec::tumbling(huge).check(&Limits { acking: false, ..limits(1, None) }).is_err());
        assert!(Span::from_value(&Value::I64(i64::MAX)).is_err(), "Storm's spans are ints");
    }

    #[test]
    fn ticks_only_for_time_spans() {
        assert_eq!(WindowSpec::tumbling(Span::Count(10)).tick_secs(), None);
        let t = WindowSpec::sliding(Span::Time(Duration::from_secs(10)), Span::Count(3)).tick_secs();
        assert_eq!(t, Some(1.0));
        let t = WindowSpec::tumbling(Span::Time(Duration::from_millis(200))).tick_secs();
        assert_eq!(t, Some(0.02));
        let event = WindowSpec::tumbling(Span::Count(10)).with_timestamp_field("ts");
        assert_eq!(event.clone().tick_secs(), Some(1.0), "watermarks every second by default");
        let t = event.with_watermark_interval(Duration::from_millis(50)).tick_secs();
        assert_eq!(t, Some(0.05));
    }
}
