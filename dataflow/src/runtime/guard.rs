//! Panics in user components: caught where an executor calls a spout or bolt, so that one
//! broken instance is replaced by a fresh one from the component's factory (prepared or
//! opened again: Storm restarts the worker instead) while the executor and the rest of the
//! topology keep serving. The inputs a broken bolt held are neither acked nor failed: their
//! spout tuples time out and replay, as after a worker restart in Storm. A new spout instance
//! gets the acks and fails of the trees its predecessor emitted (its message ids).
//!
//! A component that cannot be prepared or opened (an error, or a panic in its factory,
//! `prepare` or `open`) cannot run at all: that is fatal to the executor ([`Broken`]), and so
//! to the worker, as in Storm, where it ends the worker for its supervisor to restart.

use super::collector::{BoltCollector, Emitter};
use crate::component::{Bolt, Spout, TaskContext};
use crate::topology::{catch_panic as catch, BoltFactory, SpoutFactory};

/// Why a component cannot run: its `prepare` or `open` failed or panicked.
#[derive(Clone, Debug)]
pub(crate) struct Broken(pub(crate) String);

/// An executor's bolt tasks, with what it takes to replace one.
pub(crate) struct BoltTasks {
    bolts: Vec<Box<dyn Bolt>>,
    ctxs: Vec<TaskContext>,
    factory: BoltFactory,
    broken: Option<Broken>,
}

impl BoltTasks {
    /// A bolt for each of `ctxs` from `factory`, made by [`BoltTasks::prepare_all`].
    pub(crate) fn new(ctxs: Vec<TaskContext>, factory: BoltFactory) -> BoltTasks {
        BoltTasks { bolts: Vec::with_capacity(ctxs.len()), ctxs, factory, broken: None }
    }

    /// Why a replacement could not be made ready (the executor must stop), if so.
    pub(crate) fn broken(&self) -> Option<&Broken> {
        self.broken.as_ref()
    }

    /// How many tasks.
    pub(crate) fn len(&self) -> usize {
        self.ctxs.len()
    }

    /// Makes and prepares every task's bolt; the first that fails or panics stops it.
    pub(crate) fn prepare_all(&mut self) -> Result<(), Broken> {
        for ctx in &self.ctxs {
            let mut bolt = make(&*self.factory, "bolt", ctx)?;
            prepare(bolt.as_mut(), ctx)?;
            self.bolts.push(bolt);
        }
        Ok(())
    }

    /// Calls `f` on task `local`'s bolt with its collector. If it panics, the panic is
    /// reported as the task's error, the bolt replaced and prepared, and `None` returned
    /// (also once the executor is [`BoltTasks::broken`]: then nothing is called).
    pub(crate) fn call<R>(
        &mut self,
        em: &mut Emitter,
        local: usize,
        f: impl FnOnce(&mut dyn Bolt, &mut BoltCollector<'_>) -> R,
    ) -> Option<R> {
        if self.broken.is_some() {
            return None;
        }
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
                let ctx = &self.ctxs[local];
                let ready = make(&*self.factory, "bolt", ctx);
                match ready.and_then(|mut b| prepare(b.as_mut(), ctx).map(|()| b)) {
                    Ok(b) => self.bolts[local] = b,
                    Err(broken) => self.broken = Some(broken),
                }
                None
            }
        }
    }

    /// Every task's cleanup.
    pub(crate) fn cleanup_all(&mut self) {
        for (b, ctx) in self.bolts.iter_mut().zip(&self.ctxs) {
            if let Err(what) = catch(|| b.cleanup()) {
                tracing::error!("bolt {} task {}: cleanup panicked: {what}", ctx.component, ctx.task_id);
            }
        }
    }
}

/// A new instance from `factory`, for `ctx`'s task.
fn make<T>(factory: &dyn Fn() -> T, kind: &str, ctx: &TaskContext) -> Result<T, Broken> {
    catch(factory).map_err(|what| Broken(panicked(ctx, kind, "factory", &what)))
}

fn prepare(b: &mut dyn Bolt, ctx: &TaskContext) -> Result<(), Broken> {
    match catch(|| b.prepare(ctx)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            Err(Broken(format!("bolt {} task {}: prepare failed: {e}", ctx.component, ctx.task_id)))
        }
        Err(what) => Err(Broken(panicked(ctx, "bolt", "prepare", &what))),
    }
}

fn open(s: &mut dyn Spout, ctx: &TaskContext) -> Result<(), Broken> {
    match catch(|| s.open(ctx)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Broken(format!("spout {} task {}: open failed: {e}", ctx.component, ctx.task_id))),
        Err(what) => Err(Broken(panicked(ctx, "spout", "open", &what))),
    }
}

fn panicked(ctx: &TaskContext, kind: &str, call: &str, what: &str) -> String {
    format!("{kind} {} task {}: {call} panicked: {what}", ctx.component, ctx.task_id)
}

/// An executor's spout tasks, with what it takes to replace one.
pub(crate) struct SpoutTasks {
    spouts: Vec<Box<dyn Spout>>,
    ctxs: Vec<TaskContext>,
    factory: SpoutFactory,
    active: bool,
    broken: Option<Broken>,
}

impl SpoutTasks {
    /// A spout for each of `ctxs` from `factory`, made by [`SpoutTasks::open_all`].
    pub(crate) fn new(ctxs: Vec<TaskContext>, factory: SpoutFactory) -> SpoutTasks {
        SpoutTasks { spouts: Vec::with_capacity(ctxs.len()), ctxs, factory, active: false, broken: None }
    }

    /// How many tasks.
    pub(crate) fn len(&self) -> usize {
        self.ctxs.len()
    }

    /// Why a replacement could not be opened (the executor must stop), if so.
    pub(crate) fn broken(&self) -> Option<&Broken> {
        self.broken.as_ref()
    }

    /// Makes and opens every task's spout, then activates them; the first that fails or
    /// panics to be made or opened stops it.
    pub(crate) fn open_all(&mut self, em: &mut Emitter) -> Result<(), Broken> {
        for ctx in &self.ctxs {
            let mut spout = make(&*self.factory, "spout", ctx)?;
            open(spout.as_mut(), ctx)?;
            self.spouts.push(spout);
        }
        self.active = true;
        for local in 0..self.spouts.len() {
            self.call(em, local, |s| s.activate());
        }
        self.broken.clone().map_or(Ok(()), Err)
    }

    /// Deactivates every task's spout (once).
    /// The [`Spout::wake_sockets`] of the spouts whose index `wanted` (none from one that
    /// panics there).
    pub(crate) fn wake_sockets(&self, wanted: impl Fn(usize) -> bool) -> Vec<&libsock::Socket> {
        let mut all = Vec::new();
        for (_, s) in self.spouts.iter().enumerate().filter(|(local, _)| wanted(*local)) {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.wake_sockets())) {
                Ok(sockets) => all.extend(sockets),
                Err(_) => tracing::error!("a spout's wake_sockets panicked"),
            }
        }
        all
    }

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
    /// and `None` returned (also once the executor is [`SpoutTasks::broken`]: then nothing
    /// is called).
    pub(crate) fn call<R>(
        &mut self,
        em: &mut Emitter,
        local: usize,
        f: impl FnOnce(&mut dyn Spout) -> R,
    ) -> Option<R> {
        self.call_with(em, local, |s, _| f(s))
    }

    /// Calls `f` on task `local`'s spout with the emitter (for its collector); a panic as in
    /// [`SpoutTasks::call`].
    pub(crate) fn call_with<R>(
        &mut self,
        em: &mut Emitter,
        local: usize,
        f: impl FnOnce(&mut dyn Spout, &mut Emitter) -> R,
    ) -> Option<R> {
        if self.broken.is_some() {
            return None;
        }
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
        let ctx = &self.ctxs[local];
        let ready = make(&*self.factory, "spout", ctx);
        match ready.and_then(|mut s| open(s.as_mut(), ctx).map(|()| s)) {
            Ok(s) => self.spouts[local] = s,
            Err(broken) => {
                self.broken = Some(broken);
                return;
            }
        }
        if self.active {
            let spout = self.spouts[local].as_mut();
            if let Err(what) = catch(|| spout.activate()) {
                // Not replaced again: a spout that always panics there would never stop.
                em.report_error(local, &format!("the new spout panicked in activate ({what})"));
            }
        }
    }
}
