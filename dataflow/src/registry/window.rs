//! Flux's side of windowed bolts: the `withWindow` / `withTumblingWindow` config methods,
//! the `Count` / `Duration` object classes their arguments refer to, and the built-in
//! windowed bolts.

use std::sync::Arc;
use std::time::Duration;

use super::{ConfigMethod, Properties, Registry, CONSTRUCTOR_ARGS, WINDOW};
use crate::components::{WindowCounter, WindowSum};
use crate::tuple::Value;
use crate::window::{Span, WindowSpec};

/// The window a bolt's `configMethods` set: `[length, sliding]`.
pub(super) fn spec_of(v: &Value) -> Result<WindowSpec, String> {
    match v {
        Value::List(l) => match &l[..] {
            [length, sliding] => {
                Ok(WindowSpec::sliding(Span::from_value(length)?, Span::from_value(sliding)?))
            }
            _ => Err("malformed window".into()),
        },
        _ => Err("malformed window".into()),
    }
}

/// `withWindow(length[, sliding])` and `withTumblingWindow(length)`.
pub(super) fn methods() -> [(&'static str, ConfigMethod); 2] {
    fn set(p: &mut Properties, spec: WindowSpec) {
        p.set(WINDOW, Value::List(vec![spec.length.to_value(), spec.sliding.to_value()]));
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
        set(p, spec);
        Ok(())
    });
    let tumbling: ConfigMethod = Arc::new(|p, args| match args {
        [length] => {
            set(p, WindowSpec::tumbling(Span::from_value(length)?));
            Ok(())
        }
        _ => Err(format!("withTumblingWindow takes one argument (the length), got {}", args.len())),
    });
    [("withWindow", with_window), ("withTumblingWindow", tumbling)]
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
