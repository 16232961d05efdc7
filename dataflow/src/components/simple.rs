//! `Splitter`, `Counter`, `Logger`: small bolts for demos, tests and benchmarks.

use std::collections::HashMap;

use crate::component::{BasicBolt, OutputDeclarer, TaskContext};
use crate::runtime::BasicCollector;
use crate::tuple::{Tuple, Value};

/// Splits the first field's text on whitespace; emits `word` per word (lower-cased when
/// `lowercase`).
#[derive(Clone, Debug, Default)]
pub struct Splitter {
    /// Lower-case the words.
    pub lowercase: bool,
}

impl BasicBolt for Splitter {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["word"]);
    }

    fn execute(&mut self, input: &Tuple, c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        let text = match input.values.first() {
            Some(Value::Str(s)) => s.clone(),
            Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
            other => return Err(format!("expected text, got {other:?}")),
        };
        for w in text.split_whitespace() {
            let w = if self.lowercase { w.to_lowercase() } else { w.to_owned() };
            c.emit(vec![Value::Str(w)]);
        }
        Ok(())
    }
}

/// Counts tuples by the value of `field` (default: the first field); emits `(key, count)` after
/// each update, or passes tuples through unchanged (`passthrough`, for benchmarks).
#[derive(Clone, Debug, Default)]
pub struct Counter {
    /// Key field (None: the first).
    pub field: Option<String>,
    /// Emit the input values instead of counts.
    pub passthrough: bool,
    pub(crate) counts: HashMap<String, i64>,
}

impl Counter {
    /// Counts by `field`.
    pub fn by(field: &str) -> Counter {
        Counter { field: Some(field.to_owned()), ..Counter::default() }
    }

    /// Passes each tuple on unchanged (benchmark stage).
    pub fn passthrough() -> Counter {
        Counter { passthrough: true, ..Counter::default() }
    }
}

impl BasicBolt for Counter {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        if self.passthrough {
            d.declare(&["payload"]);
        } else {
            d.declare(&["key", "count"]);
        }
    }

    fn execute(&mut self, input: &Tuple, c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        if self.passthrough {
            c.emit(input.values.clone());
            return Ok(());
        }
        let key = key_of(input, self.field.as_deref())?;
        let n = self.counts.entry(key.clone()).or_insert(0);
        *n += 1;
        let n = *n;
        c.emit(vec![Value::Str(key), Value::I64(n)]);
        Ok(())
    }
}

/// The text of `field` (None: the first field) of `input`: what a counter counts by.
pub(crate) fn key_of(input: &Tuple, field: Option<&str>) -> Result<String, String> {
    let key = match field {
        Some(f) => input.get(f).ok_or_else(|| format!("no field {f:?}"))?,
        None => input.values.first().ok_or("empty tuple")?,
    };
    Ok(key.to_string())
}

/// Logs every tuple at info level (through `tracing`), and emits nothing.
#[derive(Clone, Debug, Default)]
pub struct Logger {
    name: String,
}

impl BasicBolt for Logger {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}

    fn prepare(&mut self, ctx: &TaskContext) -> Result<(), String> {
        self.name = format!("{}:{}", ctx.component, ctx.task_id);
        Ok(())
    }

    fn execute(&mut self, input: &Tuple, _c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        let values: Vec<String> = input.values.iter().map(ToString::to_string).collect();
        tracing::info!(
            "{} <- {}/{}: {}",
            self.name,
            input.source_component(),
            input.stream(),
            values.join("\t")
        );
        Ok(())
    }
}
