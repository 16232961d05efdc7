//! `StatefulCounter`: [`super::Counter`] with its counts in checkpointed state.

use super::simple::key_of;
use crate::component::OutputDeclarer;
use crate::runtime::BasicCollector;
use crate::state::{KeyValueState, StatefulBolt};
use crate::tuple::{Tuple, Value};

/// Counts tuples by the value of `field` (default: the first field) in its state, so the
/// counts survive restarts (see [`crate::state`]); emits `(key, count)` after each update.
#[derive(Clone, Debug, Default)]
pub struct StatefulCounter {
    /// Key field (None: the first).
    pub field: Option<String>,
}

impl StatefulBolt for StatefulCounter {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&["key", "count"]);
    }

    fn execute(
        &mut self,
        input: &Tuple,
        state: &mut KeyValueState,
        c: &mut BasicCollector<'_, '_>,
    ) -> Result<(), String> {
        let key = key_of(input, self.field.as_deref())?;
        let n = match state.get_mut(&key) {
            Some(Value::I64(n)) => {
                *n += 1;
                *n
            }
            _ => {
                state.put(key.clone(), Value::I64(1));
                1
            }
        };
        c.emit(vec![Value::Str(key), Value::I64(n)]);
        Ok(())
    }
}
