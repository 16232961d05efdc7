//! Flux's side of windowed bolts: the `withWindow` / `withTumblingWindow` config methods,
//! the `Count` / `Duration` object classes their arguments refer to, and the built-in
//! windowed bolts.

use std::sync::Arc;
use std::time::Duration;

use super::{ConfigMethod, Properties, Registry, CONSTRUCTOR_ARGS, WINDOW};
use crate::components::{WindowCounter, WindowSum};
use crate::tuple::Value;
use crate::window::{Span, WindowSpec};

/// The window a bolt's `configMethods` set (a map under the property `WINDOW`).
pub(super) fn spec_of(v: &Value) -> Result<WindowSpec, String> {
    let Value::Map(m) = v else { return Err("malformed window".into()) };
    let (Some(length), Some(sliding)) = (m.get(LENGTH), m.get(SLIDING)) else {
        return Err("withTimestampField, withLag, withWatermarkInterval and withLateTupleStream need \
                    withWindow or withTumblingWindow too"
            .into());
    };
    let mut spec = WindowSpec::sliding(Span::from_value(length)?, Span::from_value(sliding)?);
    let text = |key: &str| match m.get(key) {
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        None => Ok(None),
        Some(other) => Err(format!("expected a text argument, got {other}")),
    };
    let time = |key: &str| match m.get(key) {
        None => Ok(None),
        Some(v) => match Span::from_value(v)? {
            Span::Time(d) => Ok(Some(d)),
            Span::Count(_) => Err(format!("expected a Duration, got {v}")),
        },
    };
    spec.timestamp_field = text(TIMESTAMP_FIELD)?;
    spec.late_tuple_stream = text(LATE_STREAM)?;
    spec.lag = time(LAG)?;
    spec.watermark_interval = time(WATERMARK)?;
    Ok(spec)
}

const LENGTH: &str = "length";
const SLIDING: &str = "sliding";
const TIMESTAMP_FIELD: &str = "timestampField";
const LAG: &str = "lag";
const WATERMARK: &str = "watermarkInterval";
const LATE_STREAM: &str = "lateTupleStream";

/// Sets `key` of the window map to `value`.
fn set(p: &mut Properties, key: &str, value: Value) {
    let mut m = match p.take(WINDOW) {
        Some(Value::Map(m)) => m,
        _ => Default::default(),
    };
    m.insert(key.to_owned(), value);
    p.set(WINDOW, Value::Map(m));
}

/// `withWindow(length[, sliding])`, `withTumblingWindow(length)` and the event-time ones,
/// `withTimestampField(field)`, `withLag(Duration)`, `withWatermarkInterval(Duration)`,
/// `withLateTupleStream(stream)`.
pub(super) fn methods() -> Vec<(&'static str, ConfigMethod)> {
    fn window(p: &mut Properties, spec: WindowSpec) {
        set(p, LENGTH, spec.length.to_value());
        set(p, SLIDING, spec.sliding.to_value());
    }
    let with_window: ConfigMethod = Arc::new(|p, args| {
        let spec = match args {
            [length] => WindowSpec::every_tuple(Span::from_value(length)?),
            [length, sliding] => WindowSpec::sliding(Span::from_value(length)?, Span::from_value(sliding)?),
            _ => {
                return Err(format!(
                    "withWindow takes a length and an optional sliding interval, got {} arguments",
                    args.len()
                ))
            }
        };
        window(p, spec);
        Ok(())
    });
    let tumbling: ConfigMethod = Arc::new(|p, args| match args {
        [length] => {
            window(p, WindowSpec::tumbling(Span::from_value(length)?));
            Ok(())
        }
        _ => Err(format!("withTumblingWindow takes one argument (the length), got {}", args.len())),
    });
    fn one_text(key: &'static str, method: &'static str) -> ConfigMethod {
        Arc::new(move |p, args| match args {
            [Value::Str(s)] if !s.is_empty() => {
                set(p, key, Value::Str(s.clone()));
                Ok(())
            }
            _ => Err(format!("{method} takes one argument, a name")),
        })
    }
    fn one_duration(key: &'static str, method: &'static str) -> ConfigMethod {
        Arc::new(move |p, args| match args {
            [v] if matches!(Span::from_value(v), Ok(Span::Time(_))) => {
                set(p, key, v.clone());
                Ok(())
            }
            _ => Err(format!("{method} takes one argument, a Duration (a ref to one)")),
        })
    }
    vec![
        ("withWindow", with_window),
        ("withTumblingWindow", tumbling),
        ("withTimestampField", one_text(TIMESTAMP_FIELD, "withTimestampField")),
        ("withLateTupleStream", one_text(LATE_STREAM, "withLateTupleStream")),
        ("withLag", one_duration(LAG, "withLag")),
        ("withWatermarkInterval", one_duration(WATERMARK, "withWatermarkInterval")),
    ]
}

/// Storm's class names for the window spans, and ours.
const COUNT_CLASSES: [&str; 2] = ["Count", "org.apache.storm.topology.base.BaseWindowedBolt$Count"];
const DURATION_CLASSES: [&str; 2] = ["Duration", "org.apache.storm.topology.base.BaseWindowedBolt$Duration"];

/// `Count` (`constructorArgs: [tuples]`) and `Duration` (`[value, unit]`, the unit one of
/// Java's `TimeUnit` names, `MILLISECONDS` to `DAYS`; or `[milliseconds]`).
pub(super) fn objects(r: &mut Registry) {
    fn args(p: &Properties) -> Result<Vec<Value>, String> {
        p.only(&[CONSTRUCTOR_ARGS])?;
        match p.get(CONSTRUCTOR_ARGS) {
            Some(Value::List(l)) => Ok(l.clone()),
            _ => Ok(Vec::new()),
        }
    }
    for class in COUNT_CLASSES {
        r.register_object(class, |p| match &args(p)?[..] {
            [Value::I64(n)] if *n > 0 => Ok(Span::Count(*n as u64).to_value()),
            a => Err(format!("Count takes one constructor argument, a number of tuples above 0, got {a:?}")),
        });
    }
    for class in DURATION_CLASSES {
        r.register_object(class, |p| {
            let ms = match &args(p)?[..] {
                [Value::I64(n)] => *n,
                [Value::I64(n), Value::Str(unit)] => n.saturating_mul(unit_ms(unit)?),
                a => {
                    return Err(format!(
                        "Duration takes [value, unit] (unit: SECONDS, …) or [milliseconds], got {a:?}"
                    ))
                }
            };
            if ms <= 0 {
                return Err(format!("a Duration must be above 0, got {ms} ms"));
            }
            Ok(Span::Time(Duration::from_millis(ms as u64)).to_value())
        });
    }
}

fn unit_ms(unit: &str) -> Result<i64, String> {
    Ok(match unit {
        "MILLISECONDS" => 1,
        "SECONDS" => 1000,
        "MINUTES" => 60_000,
        "HOURS" => 3_600_000,
        "DAYS" => 86_400_000,
        _ => return Err(format!("unknown time unit {unit:?} (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)")),
    })
}

/// `WindowCounter` (`field`, `top`) and `WindowSum` (`field`).
pub(super) fn builtins(r: &mut Registry) {
    r.register_windowed_bolt("WindowCounter", |p| {
        p.only(&["field", "top"])?;
        let field = p.str("field")?;
        let top = p.u64("top")?.map(|n| n as usize);
        if top.is_some() && field.is_none() {
            return Err("property \"top\" needs \"field\" (the top keys of which field?)".into());
        }
        let bolt = WindowCounter { field, top };
        Ok(Arc::new(move || Box::new(bolt.clone())))
    });
    r.register_windowed_bolt("WindowSum", |p| {
        p.only(&["field"])?;
        let field = p.str("field")?.ok_or("property \"field\" (the field to sum) is required")?;
        Ok(Arc::new(move || Box::new(WindowSum { field: field.clone() })))
    });
    for class in ["WindowCounter", "WindowSum"] {
        r.register_config_method(class, "setField", |p, args| match args {
            [v] => {
                p.set("field", v.clone());
                Ok(())
            }
            _ => Err("setField takes one argument".into()),
        });
    }
}
