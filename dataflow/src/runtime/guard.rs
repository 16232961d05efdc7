//! Panics in user components: caught where an executor calls a spout or bolt, so that one
//! broken instance is replaced by a fresh one from the component's factory (prepared or
//! opened again: Storm restarts the worker instead) while the executor and the rest of the
//! topology keep serving. The inputs a broken bolt held are neither acked nor failed: their
//! spout tuples time out and replay, as after a worker restart in Storm. A new spout instance
//! gets the acks and fails of the trees its predecessor emitted (its message ids).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::collector::{BoltCollector, Emitter};
use crate::component::{Bolt, Spout, TaskContext};
use crate::topology::{BoltFactory, SpoutFactory};

/// Runs `f`; a panic comes back as its message.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into())
    })
}

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
        match catch(|| f(bolt, &mut BoltCollector { emitter: &mut *em, local })) {
            Ok(r) => Some(r),
            Err(what) => {
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

/// An executor's spout tasks, with what it takes to replace one.
pub(crate) struct SpoutTasks {
    spouts: Vec<Box<dyn Spout>>,
    ctxs: Vec<TaskContext>,
    factory: SpoutFactory,
    active: bool,
}

impl SpoutTasks {
    /// `spouts[i]` runs as `ctxs[i]`; `factory` makes replacements.
    pub(crate) fn new(
        spouts: Vec<Box<dyn Spout>>,
        ctxs: Vec<TaskContext>,
        factory: SpoutFactory,
    ) -> SpoutTasks {
        SpoutTasks { spouts, ctxs, factory, active: false }
    }

    /// How many tasks.
    pub(crate) fn len(&self) -> usize {
        self.spouts.len()
    }

    /// Opens and activates every task's spout.
    pub(crate) fn open_all(&mut self, em: &mut Emitter) {
        self.active = true;
        for local in 0..self.spouts.len() {
            let ctx = self.ctxs[local].clone();
            match self.call(em, local, |s| s.open(&ctx)) {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    tracing::error!("spout {} task {}: open failed: {e}", ctx.component, ctx.task_id)
                }
                None => continue, // replaced: the new instance is open and active
            }
            self.call(em, local, |s| s.activate());
        }
    }

    /// Deactivates every task's spout (once).
    pub(crate) fn deactivate_all(&mut self, em: &mut Emitter) {
        self.active = false;
        for local in 0..self.spouts.len() {
            self.call(em, local, |s| s.deactivate());
        }
    }

    /// Closes every task's spout.
    pub(crate) fn close_all(&mut self, em: &mut Emitter) {
        for local in 0..self.spouts.len() {
            self.call(em, local, |s| s.close());
        }
    }

    /// Calls `f` on task `local`'s spout. If it panics, the panic is reported as the task's
    /// error, the spout replaced (opened, and activated unless the executor is deactivating)
    /// and `None` returned.
    pub(crate) fn call<R>(
        &mut self,
        em: &mut Emitter,
        local: usize,
        f: impl FnOnce(&mut dyn Spout) -> R,
    ) -> Option<R> {
        let spout = self.spouts[local].as_mut();
        match catch(|| f(spout)) {
            Ok(r) => Some(r),
            Err(what) => {
                self.replace(em, local, &what);
                None
            }
        }
    }

    /// Calls `f` on task `local`'s spout with the emitter (for its collector); a panic as in
    /// [`SpoutTasks::call`].
    pub(crate) fn call_with<R>(
        &mut self,
        em: &mut Emitter,
        local: usize,
        f: impl FnOnce(&mut dyn Spout, &mut Emitter) -> R,
    ) -> Option<R> {
        let spout = self.spouts[local].as_mut();
        match catch(|| f(spout, &mut *em)) {
            Ok(r) => Some(r),
            Err(what) => {
                self.replace(em, local, &what);
                None
            }
        }
    }

    fn replace(&mut self, em: &mut Emitter, local: usize, what: &str) {
        em.report_error(local, &format!("the spout panicked ({what}): replaced by a new instance"));
        // Not caught: a factory or open that panics would do so at start too.
        self.spouts[local] = (self.factory)();
        let ctx = &self.ctxs[local];
        if let Err(e) = self.spouts[local].open(ctx) {
            tracing::error!("spout {} task {}: open failed: {e}", ctx.component, ctx.task_id);
        }
        if self.active {
            self.spouts[local].activate();
        }
    }
}
