//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dataflow::{BasicBolt, BasicCollector, OutputDeclarer, Tuple, Value};

/// (task, values) of every tuple a sink saw.
pub type Seen = Arc<Mutex<Vec<(u32, Vec<Value>)>>>;

/// Records the last count per key and every task that saw each key.
#[derive(Clone, Default)]
pub struct Sink {
    pub counts: Arc<Mutex<HashMap<String, i64>>>,
    pub seen: Seen,
    task: u32,
}

impl BasicBolt for Sink {
    fn declare_outputs(&self, _d: &mut OutputDeclarer) {}
    fn prepare(&mut self, ctx: &dataflow::TaskContext) -> Result<(), String> {
        self.task = ctx.task_id;
        Ok(())
    }
    fn execute(&mut self, t: &Tuple, _c: &mut BasicCollector<'_, '_>) -> Result<(), String> {
        if let (Some(Value::Str(k)), Some(Value::I64(n))) = (t.values.first(), t.values.get(1)) {
            let mut m = self.counts.lock().unwrap();
            let e = m.entry(k.clone()).or_insert(0);
            *e = (*e).max(*n);
        }
        self.seen.lock().unwrap().push((self.task, t.values.clone()));
        Ok(())
    }
}

/// Polls `cond` every 10 ms until it holds or `secs` pass; returns whether it held.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}
