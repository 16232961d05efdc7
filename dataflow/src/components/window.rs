//! `WindowCounter` and `WindowSum`: windowed bolts usable from a topology file.

use std::collections::HashMap;

use crate::component::OutputDeclarer;
use crate::tuple::{Tuple, Value};
use crate::window::{TupleWindow, WindowCollector, WindowedBolt};

/// Counts each window's tuples: `(count)` once per window, or with `field` set, `(key,
/// count)` for each distinct value of that field in the window, most frequent first (ties by
/// key), at most `top` of them (a rolling top-N, as Storm's `RollingTopWords`).
#[derive(Clone, Debug, Default)]
pub struct WindowCounter {
    /// Count per value of this field (None: count tuples).
    pub field: Option<String>,
    /// With `field`: emit only the most frequent this many.
    pub top: Option<usize>,
}

impl WindowedBolt for WindowCounter {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        match self.field {
            Some(_) => d.declare(&["key", "count"]),
            None => d.declare(&["count"]),
        }
    }

    fn execute(&mut self, w: &TupleWindow<'_>, c: &mut WindowCollector<'_, '_, '_>) {
        let Some(field) = &self.field else {
            c.emit(vec![Value::I64(w.get().len() as i64)]);
            return;
        };
        let mut counts: HashMap<String, i64> = HashMap::new();
        for t in w.get() {
            if let Some(v) = t.get(field) {
                *counts.entry(v.to_string()).or_insert(0) += 1;
            }
        }
        let mut counts: Vec<(String, i64)> = counts.into_iter().collect();
        counts.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts.truncate(self.top.unwrap_or(usize::MAX));
        for (key, n) in counts {
            c.emit(vec![Value::Str(key), Value::I64(n)]);
        }
    }
}

/// Sums a numeric field over each window: emits `(sum, count)` once per window, the sum an
/// integer while every value is one, a float otherwise. Tuples whose field is missing or not a
/// number are left out of both (and logged, once per window).
#[derive(Clone, Debug)]
pub struct WindowSum {
    /// The field summed.
    pub field: String,
}

impl WindowedBolt for WindowSum {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["sum", "count"]);
    }

    fn execute(&mut self, w: &TupleWindow<'_>, c: &mut WindowCollector<'_, '_, '_>) {
        let (sum, count, skipped) = sum(w.get(), &self.field);
        if skipped > 0 {
            tracing::warn!(
                "WindowSum: {skipped} tuple(s) without a number in field {:?} left out",
                self.field
            );
        }
        c.emit(vec![sum, Value::I64(count)]);
    }
}

/// The sum of `field` over `tuples` (an integer while it can be), how many were numbers, and
/// how many were not.
fn sum(tuples: &[Tuple], field: &str) -> (Value, i64, usize) {
    let (mut int, mut float, mut is_float) = (0i64, 0f64, false);
    let (mut count, mut skipped) = (0i64, 0usize);
    for t in tuples {
        match t.get(field) {
            Some(Value::I64(v)) => match int.checked_add(*v).filter(|_| !is_float) {
                Some(s) => int = s,
                None => {
                    is_float = true;
                    float += *v as f64;
                }
            },
            Some(Value::F64(v)) => {
                is_float = true;
                float += v;
            }
            _ => {
                skipped += 1;
                continue;
            }
        }
        count += 1;
    }
    let total = if is_float { Value::F64(float + int as f64) } else { Value::I64(int) };
    (total, count, skipped)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::tuple::StreamMeta;

    fn tuples(values: Vec<Value>) -> Vec<Tuple> {
        let meta = Arc::new(StreamMeta {
            fields: vec!["x".to_owned()].into(),
            component: "c".into(),
            stream: "default".into(),
        });
        values
            .into_iter()
            .map(|v| Tuple {
                values: vec![v],
                meta: meta.clone(),
                source_task: 1,
                ids: Default::default(),
                ack_val: Default::default(),
            })
            .collect()
    }

    #[test]
    fn sums_stay_integers_until_a_float_or_an_overflow() {
        let (s, n, skipped) = sum(&tuples(vec![Value::I64(2), Value::I64(-5), Value::I64(10)]), "x");
        assert_eq!((s, n, skipped), (Value::I64(7), 3, 0));
        let (s, n, _) = sum(&tuples(vec![Value::I64(2), Value::F64(0.5)]), "x");
        assert_eq!((s, n), (Value::F64(2.5), 2));
        let (s, _, _) = sum(&tuples(vec![Value::I64(i64::MAX), Value::I64(1)]), "x");
        assert_eq!(s, Value::F64(i64::MAX as f64 + 1.0));
        let (s, n, skipped) = sum(&tuples(vec![Value::Str("7".into()), Value::Null, Value::I64(1)]), "x");
        assert_eq!((s, n, skipped), (Value::I64(1), 1, 2), "text and null are left out");
        assert_eq!(sum(&tuples(vec![Value::I64(1)]), "y").2, 1, "a missing field is left out");
    }
}
