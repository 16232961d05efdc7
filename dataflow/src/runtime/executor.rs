//! The executor loops: one thread per executor, running its tasks' spouts, bolts or ackers.

use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::acker::{Acker, AckerEvent, IdMap};
use super::collector::{Emitter, SpoutCollector};
use super::guard::{BoltTasks, Broken, SpoutTasks};
use super::metrics::TaskMetrics;
use super::Control;
use crate::component::{FailReason, SYSTEM_COMPONENT, TICK_STREAM};
use crate::tuple::{StreamMeta, Tuple};
use crate::wire::{self, Decoded, Item, Kind};

/// Partial batches wait at most this long while an executor is busy.
const MAX_BATCH_DELAY: Duration = Duration::from_millis(1);
/// How often executors publish their metrics.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

fn local_of(em: &Emitter, task: u32) -> Option<usize> {
    let first = em.metrics.first()?.task;
    let i = task.checked_sub(first)? as usize;
    (i < em.metrics.len()).then_some(i)
}

/// The next item of a received batch. Items are decoded one at a time and handled before the
/// next is decoded, so what a tuple allocates is freed before the next one allocates (the
/// allocator's per-thread cache recycles it) instead of a whole batch being live at once.
/// A malformed item ends the batch (logged); the items before it were handled.
fn next_item(batch: &mut wire::Batch<'_>) -> Option<Decoded> {
    match batch.next()? {
        Ok(item) => Some(item),
        Err(e) => {
            tracing::error!("dropping the rest of a malformed batch: {e}");
            None
        }
    }
}

/// Called on every turn of an executor's loop: beats its heartbeat and publishes its metrics
/// about once a second.
fn publish(em: &Emitter, ctl: &Control, last: &mut Instant, now: Instant) {
    em.transfer.beat(now);
    if now.duration_since(*last) >= PUBLISH_EVERY {
        ctl.hub.publish(&em.metrics);
        *last = now;
    }
}

/// A spout task's pending trees: root → (message id, when emitted).
type SpoutTrees = IdMap<(u64, Instant)>;

/// Tells the starting thread whether this executor's components are ready (prepared or
/// opened); `false` if they cannot run, and the executor must end.
fn report_ready(ready: Sender<Result<(), Broken>>, result: Result<(), Broken>) -> bool {
    let ok = result.is_ok();
    let _ = ready.send(result);
    ok
}

/// Runs spout tasks: acks and fails first, then `next_tuple` while under max spout pending.
pub(crate) fn run_spout(
    mut em: Emitter,
    mut spouts: SpoutTasks,
    ctl: Arc<Control>,
    ready: Sender<Result<(), Broken>>,
) {
    if !report_ready(ready, spouts.open_all(&mut em)) {
        spouts.close_all(&mut em); // those opened before the one that failed
        ctl.draining.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    em.transfer.beat(Instant::now()); // opening took as long as it took: not a stall
    let n = spouts.len();
    let mut pending: Vec<IdMap<(u64, Instant)>> = (0..n).map(|_| IdMap::default()).collect();
    // When a bolt last reset a pending tree's timeout (rare: only those trees are here).
    let mut resets: Vec<IdMap<Instant>> = (0..n).map(|_| IdMap::default()).collect();
    let mut immediate: Vec<Vec<u64>> = vec![Vec::new(); n];
    let (mut active, mut drained) = (true, false);
    let mut last_publish = Instant::now();
    let mut last_expiry = Instant::now();
    let component = em.plan.task_component[em.metrics[0].task as usize];
    let max_pending = em.plan.components[component].max_spout_pending;
    loop {
        let mut got = false;
        while let Some(msg) = em.transfer.try_recv() {
            got = true;
            let mut batch = wire::batch(&msg);
            while let Some(item) = next_item(&mut batch) {
                spout_event(&mut em, &mut spouts, (&mut pending, &mut resets), &item, &ctl);
            }
        }
        for (local, ids) in immediate.iter_mut().enumerate() {
            for id in ids.drain(..) {
                em.metrics[local].acked += 1;
                spouts.call(&mut em, local, |s| s.ack(id));
            }
        }
        if active && ctl.deactivate.load(Ordering::Relaxed) {
            spouts.deactivate_all(&mut em);
            active = false;
        }
        if !active && !drained && pending.iter().all(|p| p.is_empty()) {
            let _ = em.transfer.flush();
            ctl.draining.fetch_sub(1, Ordering::AcqRel);
            drained = true;
        }
        if ctl.stop.load(Ordering::Relaxed) || em.halted || spouts.broken().is_some() {
            break;
        }
        let mut emitted = 0;
        for local in (0..n).filter(|_| active) {
            if max_pending.is_some_and(|m| pending[local].len() >= m) {
                continue;
            }
            let (p, i) = (&mut pending[local], &mut immediate[local]);
            emitted += spouts
                .call_with(&mut em, local, |spout, emitter| {
                    let mut c = SpoutCollector { emitter, local, pending: p, immediate: i, emitted: 0 };
                    spout.next_tuple(&mut c);
                    c.emitted
                })
                .unwrap_or(0);
        }
        let now = Instant::now();
        if emitted == 0 && !got {
            let _ = em.transfer.flush();
            // Sockets of inactive spouts or ones at their max pending wake nothing (their
            // input would wake the executor again and again, with nothing to do).
            let wake = if active {
                spouts.wake_sockets(|local| max_pending.is_none_or(|m| pending[local].len() < m))
            } else {
                Vec::new()
            };
            em.transfer.wait_also(&wake, Duration::from_millis(1));
        } else {
            let _ = em.transfer.flush_if_older(now, MAX_BATCH_DELAY);
        }
        publish(&em, &ctl, &mut last_publish, now);
        if now.duration_since(last_expiry) >= PUBLISH_EVERY {
            last_expiry = now;
            expire_lost(&mut em, &mut spouts, &mut pending, &mut resets, &ctl);
        }
    }
    spouts.close_all(&mut em);
    if !drained {
        ctl.draining.fetch_sub(1, Ordering::AcqRel);
    }
    ctl.hub.publish(&em.metrics);
    if let Some(broken) = spouts.broken() {
        ctl.fail(broken);
    }
}

fn spout_event(
    em: &mut Emitter,
    spouts: &mut SpoutTasks,
    (pending, resets): (&mut [SpoutTrees], &mut [IdMap<Instant>]),
    item: &Decoded,
    ctl: &Control,
) {
    let Some(local) = local_of(em, item.dest_task) else { return };
    if item.kind() == Some(Kind::ResetTimeout) {
        if pending[local].contains_key(&item.root) {
            resets[local].insert(item.root, Instant::now());
        }
        return;
    }
    let Some((msg_id, started)) = pending[local].remove(&item.root) else { return };
    if !resets[local].is_empty() {
        resets[local].remove(&item.root);
    }
    let m = &mut em.metrics[local];
    match item.kind() {
        Some(Kind::Completed) => {
            m.acked += 1;
            TaskMetrics::record(&mut m.complete_us, started.elapsed().as_micros() as u64);
            spouts.call(em, local, |s| s.ack(msg_id));
        }
        Some(Kind::Failed) => {
            let component = em.plan.task_component_id(item.blame_task).to_owned();
            let why = FailReason::Failed { component, task: item.blame_task, reason: item.reason.clone() };
            fail(em, spouts, local, msg_id, why);
        }
        Some(Kind::TimedOut) => {
            let last_component = em.plan.task_component_id(item.blame_task).to_owned();
            let after_secs = ctl.message_timeout_secs;
            let why = FailReason::TimedOut { after_secs, last_component, last_task: item.blame_task };
            fail(em, spouts, local, msg_id, why);
        }
        _ => {
            pending[local].insert(item.root, (msg_id, started));
        }
    }
}

/// Trees the acker never reported on within twice the message timeout (its worker died and
/// took their state along) fail here, so the spout replays them instead of waiting forever.
/// A tree's clock starts again when a bolt resets its timeout.
fn expire_lost(
    em: &mut Emitter,
    spouts: &mut SpoutTasks,
    pending: &mut [IdMap<(u64, Instant)>],
    resets: &mut [IdMap<Instant>],
    ctl: &Control,
) {
    let limit = Duration::from_secs(ctl.message_timeout_secs.saturating_mul(2));
    let mut lost = Vec::new();
    for (local, (p, r)) in pending.iter_mut().zip(resets.iter_mut()).enumerate() {
        p.retain(|&root, &mut (msg_id, started)| {
            let keep = started.elapsed() < limit || r.get(&root).is_some_and(|t| t.elapsed() < limit);
            if !keep {
                lost.push((local, root, msg_id));
                r.remove(&root);
            }
            keep
        });
    }
    for (local, root, msg_id) in lost {
        let last_task = em.acker_for(root);
        let last_component = em.plan.task_component_id(last_task).to_owned();
        let why = FailReason::TimedOut { after_secs: limit.as_secs(), last_component, last_task };
        fail(em, spouts, local, msg_id, why);
    }
}

fn fail(em: &mut Emitter, spouts: &mut SpoutTasks, local: usize, msg_id: u64, why: FailReason) {
    em.metrics[local].failed += 1;
    tracing::info!("{} task {}: message {msg_id} {why}", em.metrics[local].component, em.metrics[local].task);
    spouts.call(em, local, |s| s.fail(msg_id, &why));
}

/// Runs bolt tasks: executes every input, and tick tuples on their timer.
pub(crate) fn run_bolt(
    mut em: Emitter,
    mut bolts: BoltTasks,
    ctl: Arc<Control>,
    tick: Option<f64>,
    ready: Sender<Result<(), Broken>>,
) {
    if !report_ready(ready, bolts.prepare_all()) {
        bolts.cleanup_all(); // those prepared before the one that failed
        return;
    }
    em.transfer.beat(Instant::now()); // preparing took as long as it took: not a stall
                                      // This executor's own copies of the stream metadata (see `StreamMeta`).
    let metas: Vec<Arc<StreamMeta>> = em
        .plan
        .streams
        .iter()
        .map(|s| {
            let component = em.plan.components[s.component].id.to_string().into();
            Arc::new(StreamMeta {
                fields: s.fields.to_vec().into(),
                component,
                stream: s.id.to_string().into(),
            })
        })
        .collect();
    let tick_meta = Arc::new(StreamMeta {
        fields: Vec::new().into(),
        component: SYSTEM_COMPONENT.into(),
        stream: TICK_STREAM.into(),
    });
    let tick = tick.filter(|t| *t > 0.0).map(Duration::from_secs_f64);
    let mut next_tick = tick.map(|t| Instant::now() + t);
    let sample_every = (1.0 / ctl.stats_sample_rate.clamp(1e-6, 1.0)).round() as u64;
    let (mut seen, mut last_publish, mut malformed) = (0u64, Instant::now(), 0u64);
    while !em.halted && bolts.broken().is_none() {
        let now = match em.transfer.try_recv() {
            Some(msg) => {
                let mut batch = wire::batch(&msg);
                while let Some(item) = next_item(&mut batch) {
                    let Some(local) = local_of(&em, item.dest_task) else { continue };
                    let Some(meta) = metas.get(item.stream as usize) else { continue };
                    // A peer's malformed item (a worker's tcp inbox takes batches from anyone)
                    // never reaches a bolt: it sees its streams' declared arity only.
                    if item.kind != Kind::Tuple as u32 || item.values.len() != meta.fields.len() {
                        malformed += 1;
                        if malformed.is_power_of_two() {
                            tracing::warn!(
                                "dropped a malformed item for task {} from task {}: kind {}, {} value(s) \
                                 on a stream of {} field(s) ({malformed} so far)",
                                item.dest_task,
                                item.src_task,
                                item.kind,
                                item.values.len(),
                                meta.fields.len()
                            );
                        }
                        continue;
                    }
                    let tuple = Tuple {
                        values: item.values,
                        meta: meta.clone(),
                        source_task: item.src_task,
                        ids: item.ids,
                        ack_val: Default::default(),
                    };
                    seen += 1;
                    let timed = (seen % sample_every == 0).then(Instant::now);
                    bolts.call(&mut em, local, |b, c| b.execute(tuple, c));
                    if let Some(t0) = timed {
                        TaskMetrics::record(
                            &mut em.metrics[local].execute_us,
                            t0.elapsed().as_micros() as u64,
                        );
                    }
                }
                let now = Instant::now();
                let _ = em.transfer.flush_if_older(now, MAX_BATCH_DELAY);
                now
            }
            None => {
                let mut again = false;
                for local in 0..bolts.len() {
                    again |= bolts.call(&mut em, local, |b, c| b.poll(c)).unwrap_or(false);
                }
                let _ = em.transfer.flush();
                if ctl.stop.load(Ordering::Relaxed) {
                    break;
                }
                let now = Instant::now();
                let until_tick =
                    next_tick.map_or(Duration::from_millis(100), |t| t.saturating_duration_since(now));
                if !again {
                    em.transfer.wait(until_tick.min(Duration::from_millis(100)));
                }
                Instant::now()
            }
        };
        if let (Some(t), Some(period)) = (next_tick, tick) {
            if now >= t {
                next_tick = Some(now + period);
                for local in 0..bolts.len() {
                    let tuple = Tuple {
                        values: Vec::new(),
                        meta: tick_meta.clone(),
                        source_task: 0,
                        ids: Default::default(),
                        ack_val: Default::default(),
                    };
                    bolts.call(&mut em, local, |b, c| b.execute(tuple, c));
                }
            }
        }
        publish(&em, &ctl, &mut last_publish, now);
    }
    bolts.cleanup_all();
    let _ = em.transfer.flush();
    ctl.hub.publish(&em.metrics);
    if let Some(broken) = bolts.broken() {
        ctl.fail(broken);
    }
}

/// How often the acker reads its inbox's link events.
const LINK_CHECK_MS: u64 = 20;

/// Link events of the acker's inbox: peer workers' executors connect to it to send acks.
struct Links {
    monitor: Option<libsock::Monitor>,
    last_check_ms: u64,
    /// A link broke since the start: the next accepted connection is a worker rejoining.
    lost_one: bool,
}

impl Links {
    /// Tells the ackers about broken links, and about reconnections after one (trees sent
    /// into the dead connection before the break was noticed are caught then).
    fn check(&mut self, ackers: &mut [Acker], now_ms: u64) {
        if now_ms < self.last_check_ms + LINK_CHECK_MS {
            return;
        }
        self.last_check_ms = now_ms;
        let Some(monitor) = &self.monitor else { return };
        while let Ok(ev) = monitor.recv_event(0) {
            if !ev.endpoint.starts_with("tcp://") {
                continue;
            }
            let what = match ev.event {
                libsock::SocketEvent::Disconnected => {
                    self.lost_one = true;
                    format!("a peer worker's link to the acker was lost ({})", ev.endpoint)
                }
                libsock::SocketEvent::Accepted if self.lost_one => {
                    format!("a peer worker reconnected to the acker after a lost link ({})", ev.endpoint)
                }
                _ => continue,
            };
            tracing::info!("{what}");
            ackers.iter_mut().for_each(|a| a.link_lost(&what, now_ms));
        }
    }
}

/// Runs acker tasks.
pub(crate) fn run_acker(mut em: Emitter, ctl: Arc<Control>) {
    let timeout_ms = ctl.message_timeout_secs.saturating_mul(1000).max(1);
    let cap = ctl.acker_max_pending;
    let mut ackers: Vec<Acker> =
        em.metrics.iter().map(|_| Acker::with_max_pending(timeout_ms, cap)).collect();
    let (mut events, mut last_publish) = (Vec::new(), Instant::now());
    let mut links = Links { monitor: em.transfer.watch_links(), last_check_ms: 0, lost_one: false };
    while !em.halted {
        let now_ms = ctl.start.elapsed().as_millis() as u64;
        links.check(&mut ackers, now_ms);
        match em.transfer.try_recv() {
            Some(msg) => {
                let mut batch = wire::batch(&msg);
                while let Some(item) = next_item(&mut batch) {
                    let Some(local) = local_of(&em, item.dest_task) else { continue };
                    let a = &mut ackers[local];
                    let ev = match item.kind() {
                        // A tree's owner is told when it ends: it must be a spout task of the
                        // plan, whatever a peer wrote there.
                        Some(Kind::AckInit) if !em.plan.is_spout_task(item.src_task) => {
                            a.refuse_owner(item.src_task);
                            None
                        }
                        Some(Kind::AckInit) => a.init(item.root, item.xor, item.src_task, now_ms),
                        Some(Kind::Ack) => a.ack(item.root, item.xor, item.src_task, now_ms),
                        Some(Kind::Fail) => a.fail(item.root, item.src_task, item.reason, now_ms),
                        Some(Kind::ResetTimeout) => a.reset_timeout(item.root, item.src_task, now_ms),
                        _ => None,
                    };
                    events.extend(ev.map(|e| (local, e)));
                }
            }
            None => {
                let _ = em.transfer.flush();
                if ctl.stop.load(Ordering::Relaxed) {
                    break;
                }
                em.transfer.wait(Duration::from_millis(50));
            }
        }
        let mut expired = Vec::new();
        for (local, a) in ackers.iter_mut().enumerate() {
            a.expire(now_ms, &mut expired);
            events.extend(expired.drain(..).map(|e| (local, e)));
            em.metrics[local].refused = a.refused();
        }
        for (local, ev) in events.drain(..) {
            acker_event(&mut em, local, ev);
        }
        let now = Instant::now();
        let _ = em.transfer.flush_if_older(now, MAX_BATCH_DELAY);
        publish(&em, &ctl, &mut last_publish, now);
    }
    let _ = em.transfer.flush();
    ctl.hub.publish(&em.metrics);
}

fn acker_event(em: &mut Emitter, local: usize, ev: AckerEvent) {
    let src = em.metrics[local].task;
    let item = match ev {
        AckerEvent::Completed { root, spout_task } => {
            em.metrics[local].acked += 1;
            Item::acking(Kind::Completed, spout_task, src, root, 0)
        }
        AckerEvent::Failed { root, spout_task, task, reason } => {
            em.metrics[local].failed += 1;
            Item { blame_task: task, reason, ..Item::acking(Kind::Failed, spout_task, src, root, 0) }
        }
        AckerEvent::TimeoutReset { root, spout_task } => {
            Item::acking(Kind::ResetTimeout, spout_task, src, root, 0)
        }
        AckerEvent::TimedOut { root, spout_task, last_task } => {
            em.metrics[local].failed += 1;
            Item { blame_task: last_task, ..Item::acking(Kind::TimedOut, spout_task, src, root, 0) }
        }
    };
    em.send_to_task(&item);
}
