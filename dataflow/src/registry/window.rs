//! Flux's side of windowed bolts: the `withWindow` / `withTumblingWindow` config methods,
//! the `Count` / `Duration` object classes their arguments refer to, and the built-in
//! windowed bolts (`WindowCounter`, `WindowSum`, Storm's `JoinBolt`).

use std::sync::Arc;
use std::time::Duration;

use super::{ConfigMethod, Properties, Registry, CONSTRUCTOR_ARGS, WINDOW};
use crate::components::{JoinBolt, Selector, WindowCounter, WindowSum};
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

/// Storm's class name for the join bolt, and ours.
const JOIN_CLASSES: [&str; 2] = ["JoinBolt", "org.apache.storm.bolt.JoinBolt"];
/// Where the join's `configMethods` put their arguments.
const JOINS: &str = "__joins";
const SELECT: &str = "__select";
const OUTPUT_STREAM: &str = "__outputStream";

/// `JoinBolt` (`constructorArgs: [input, key]` or `[STREAM|SOURCE, input, key]`) and its
/// `configMethods` `join(input, key, prior)`, `leftJoin(…)`, `select("f, s:f")` and
/// `withOutputStream(stream)`.
pub(super) fn join(r: &mut Registry) {
    for class in JOIN_CLASSES {
        r.register_windowed_bolt(class, |p| {
            p.only(&[CONSTRUCTOR_ARGS, JOINS, SELECT, OUTPUT_STREAM])?;
            let args = match p.get(CONSTRUCTOR_ARGS) {
                Some(Value::List(l)) => l.clone(),
                _ => Vec::new(),
            };
            let text = |v: &Value| v.as_str().map(str::to_owned);
            let args: Option<Vec<String>> = args.iter().map(text).collect();
            let mut bolt = match args.as_deref() {
                Some([input, key]) => JoinBolt::new(Selector::Source, input, key)?,
                Some([selector, input, key]) => JoinBolt::new(Selector::parse(selector)?, input, key)?,
                _ => {
                    return Err("JoinBolt takes constructorArgs [input, key] or [STREAM|SOURCE, input, key] \
                                (text)"
                        .into())
                }
            };
            if let Some(Value::List(joins)) = p.get(JOINS) {
                for clause in joins {
                    let c = match clause {
                        Value::List(c) => &c[..],
                        _ => &[][..],
                    };
                    let [Value::Str(kind), Value::Str(input), Value::Str(key), Value::Str(prior)] = c else {
                        return Err(format!(
                            "malformed join clause {clause} (set by join and leftJoin only)"
                        ));
                    };
                    bolt = match kind.as_str() {
                        "join" => bolt.join(input, key, prior)?,
                        _ => bolt.left_join(input, key, prior)?,
                    };
                }
            }
            if let Some(fields) = p.str(SELECT)? {
                bolt = bolt.select(&fields)?;
            }
            if let Some(stream) = p.str(OUTPUT_STREAM)? {
                bolt = bolt.with_output_stream(&stream);
            }
            bolt.check()?;
            Ok(Arc::new(move || Box::new(bolt.clone())))
        });
        for method in ["join", "leftJoin"] {
            r.register_config_method(class, method, move |p, args| match args {
                [Value::Str(_), Value::Str(_), Value::Str(_)] => {
                    let mut clause = vec![Value::Str(method.to_owned())];
                    clause.extend(args.iter().cloned());
                    p.append(JOINS, &[Value::List(vec![Value::List(clause)])]);
                    Ok(())
                }
                _ => {
                    Err(format!("{method} takes three arguments: the input, its key field, the prior input"))
                }
            });
        }
        r.register_config_method(class, "select", |p, args| match args {
            [Value::Str(fields)] => {
                p.set(SELECT, Value::Str(fields.clone()));
                Ok(())
            }
            _ => Err("select takes one argument: the fields, comma-separated (\"f, stream:f\")".into()),
        });
        r.register_config_method(class, "withOutputStream", |p, args| match args {
            [Value::Str(s)] if !s.is_empty() => {
                p.set(OUTPUT_STREAM, Value::Str(s.clone()));
                Ok(())
            }
            _ => Err("withOutputStream takes one argument, a stream name".into()),
        });
    }
}
