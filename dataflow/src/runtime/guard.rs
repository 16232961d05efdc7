//! Panics in user components: caught where an executor calls a bolt, so that one broken
//! instance is replaced by a fresh one from the component's factory (prepared again: Storm
//! restarts the worker instead) while the executor and the rest of the topology keep serving.
//! The inputs the broken instance held are neither acked nor failed: their spout tuples time
//! out and replay, as after a worker restart in Storm.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::collector::{BoltCollector, Emitter};
use crate::component::{Bolt, TaskContext};
use crate::topology::BoltFactory;

/// An executor's bolt tasks, with what it takes to replace one.
pub(crate) struct BoltTasks {
    bolts: Vec<Box<dyn Bolt>>,
    ctxs: Vec<TaskContext>,
    factory: BoltFactory,
}

impl BoltTasks {
    /// `bolts[i]` runs as `ctxs[i]`; `factory` makes replacements.
    pub(crate) fn new(bolts: Vec<Box<dyn Bolt>>, ctxs: Vec<TaskContext>, factory: BoltFactory) -> BoltTasks {
        BoltTasks { bolts, ctxs, factory }
    }

    /// How many tasks.
    pub(crate) fn len(&self) -> usize {
        self.bolts.len()
    }

    /// Prepares every task's bolt.
    pub(crate) fn prepare_all(&mut self) {
        for (b, ctx) in self.bolts.iter_mut().zip(&self.ctxs) {
            prepare(b.as_mut(), ctx);
        }
    }

    /// Calls `f` on task `local`'s bolt with its collector. If it panics, the panic is
    /// reported as the task's error, the bolt replaced and prepared, and `None` returned.
    pub(crate) fn call<R>(
        &mut self,
        em: &mut Emitter,
        local: usize,
        f: impl FnOnce(&mut dyn Bolt, &mut BoltCollector<'_>) -> R,
    ) -> Option<R> {
        let bolt = self.bolts[local].as_mut();
        let result =
            catch_unwind(AssertUnwindSafe(|| f(bolt, &mut BoltCollector { emitter: &mut *em, local })));
        match result {
            Ok(r) => Some(r),
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                em.report_error(
                    local,
                    &format!(
                        "the bolt panicked ({what}): replaced by a new instance; \
                         the inputs it held time out and replay"
                    ),
                );
                // A panic while this runs is not caught: a factory or prepare that panics
                // would do so at start too.
                self.bolts[local] = (self.factory)();
                prepare(self.bolts[local].as_mut(), &self.ctxs[local]);
                None
            }
        }
    }

    /// Every task's cleanup.
    pub(crate) fn cleanup_all(&mut self) {
        self.bolts.iter_mut().for_each(|b| b.cleanup());
    }
}

fn prepare(b: &mut dyn Bolt, ctx: &TaskContext) {
    if let Err(e) = b.prepare(ctx) {
        tracing::error!("bolt {} task {}: prepare failed: {e}", ctx.component, ctx.task_id);
    }
}
