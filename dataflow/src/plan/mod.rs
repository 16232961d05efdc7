//! Logical → physical: tasks, executors, workers and routes.
//!
//! [`Plan::new`] is a pure function of the validated [`Topology`]: every process that reads
//! the same file derives the same task ids, executor placement and routes, which is what lets
//! several workers (issue 13) agree on the plan without a coordinator.

use std::fmt;
use std::sync::Arc;

use std::collections::BTreeMap;

use crate::component::{StreamDecl, StreamLink};
use crate::grouping::Grouping;
use crate::topology::{Factory, Topology};
use crate::tuple::Fields;

/// The acker component's id.
pub const ACKER: &str = "__acker";

/// What a component is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A spout.
    Spout,
    /// A bolt.
    Bolt,
    /// The system acker.
    Acker,
}

/// One component in the plan.
#[derive(Clone, Debug)]
pub struct ComponentPlan {
    /// Id.
    pub id: Arc<str>,
    /// Role.
    pub role: Role,
    /// Its task ids (consecutive).
    pub tasks: Vec<u32>,
    /// Its executors (indices into [`Plan::executors`]).
    pub executors: Vec<usize>,
    /// Its effective tick frequency.
    pub tick_freq_secs: Option<f64>,
    /// Workers its executors are pinned to (empty: not pinned).
    pub pinned: Vec<usize>,
    /// What the bolt says of itself ([`crate::Bolt::summary`]: a windowed bolt, its window).
    pub summary: Option<String>,
    /// A spout's effective `topology.max.spout.pending` (its own, else the topology's).
    pub max_spout_pending: Option<usize>,
}

/// One executor (a thread) and the tasks it runs.
#[derive(Clone, Debug)]
pub struct ExecutorPlan {
    /// Index in [`Plan::executors`].
    pub id: usize,
    /// Index in [`Plan::components`].
    pub component: usize,
    /// Task ids it runs.
    pub tasks: Vec<u32>,
    /// The worker (process) it is placed in (see [`place`]).
    pub worker: usize,
}

/// One subscriber of a stream.
#[derive(Clone, Debug)]
pub struct Route {
    /// Subscribing component (index).
    pub to: usize,
    /// Grouping.
    pub grouping: Grouping,
    /// Indices of the grouping's key fields in the stream.
    pub keys: Vec<usize>,
    /// The subscriber's tasks.
    pub tasks: Vec<u32>,
}

/// One declared stream and who subscribes to it.
#[derive(Clone, Debug)]
pub struct StreamPlan {
    /// Emitting component (index).
    pub component: usize,
    /// Stream id.
    pub id: Arc<str>,
    /// Fields.
    pub fields: Fields,
    /// Declared direct.
    pub direct: bool,
    /// Subscribers.
    pub routes: Vec<Route>,
}

/// One component's streams: what it declares, subscribes to and feeds ([`Plan::wiring`]).
#[derive(Clone, Debug, Default)]
pub struct Wiring {
    /// Its declared streams.
    pub streams: Vec<StreamDecl>,
    /// Subscriptions to other components' streams (and its own).
    pub sources: Vec<StreamLink>,
    /// Subscriptions to its streams.
    pub targets: Vec<StreamLink>,
}

/// The physical plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Topology name.
    pub name: Arc<str>,
    /// Components: the topology's in file order, then the acker (if any).
    pub components: Vec<ComponentPlan>,
    /// Executors in component order.
    pub executors: Vec<ExecutorPlan>,
    /// Task id → component index (index 0 unused).
    pub task_component: Vec<usize>,
    /// Task id → executor index (index 0 unused).
    pub task_executor: Vec<usize>,
    /// Every declared stream (its index is its id on the wire).
    pub streams: Vec<StreamPlan>,
    /// The acker's tasks (empty with `topology.acker.executors: 0`).
    pub acker_tasks: Vec<u32>,
}

impl Plan {
    /// Derives the plan. `topology` must have passed [`Topology::validate`].
    pub fn new(topology: &Topology) -> Plan {
        let mut plan = Plan {
            name: topology.name.as_str().into(),
            components: Vec::new(),
            executors: Vec::new(),
            task_component: vec![usize::MAX],
            task_executor: vec![usize::MAX],
            streams: Vec::new(),
            acker_tasks: Vec::new(),
        };
        for c in &topology.components {
            let role = if matches!(c.factory, Factory::Spout(_)) { Role::Spout } else { Role::Bolt };
            // The component's own frequency (file, builder, then the bolt's code) beats the
            // topology's, as a component configuration does in Storm.
            let tick = match &c.factory {
                Factory::Bolt(f) => {
                    c.tick_freq_secs.or_else(|| f().tick_freq_secs()).or(topology.config.tick_freq_secs)
                }
                Factory::Spout(_) => None,
            };
            let (executors, tasks) = c.sizes(topology.config.max_task_parallelism);
            plan.add_component(&c.id, role, executors, tasks, tick);
            if let Some(last) = plan.components.last_mut() {
                last.pinned = c.workers.clone();
                if role == Role::Spout {
                    last.max_spout_pending = c.max_spout_pending.or(topology.config.max_spout_pending);
                }
                if let Factory::Bolt(f) = &c.factory {
                    last.summary = f().summary();
                }
            }
        }
        let ackers = topology.config.acker_executors;
        if ackers > 0 {
            plan.add_component(ACKER, Role::Acker, ackers, ackers, None);
            plan.acker_tasks = plan.components.last().map(|c| c.tasks.clone()).unwrap_or_default();
        }
        let declared = topology.declared_streams();
        for (ci, c) in topology.components.iter().enumerate() {
            for d in &declared[&c.id] {
                plan.add_stream(topology, ci, d);
            }
        }
        place(&mut plan, topology.config.workers);
        plan
    }

    fn add_component(&mut self, id: &str, role: Role, executors: usize, tasks: usize, tick: Option<f64>) {
        let ci = self.components.len();
        let first = self.task_component.len() as u32;
        let task_ids: Vec<u32> = (first..first + tasks as u32).collect();
        let mut execs = Vec::new();
        // Tasks are split into `executors` contiguous runs, the first ones one longer.
        let mut next = 0;
        for e in 0..executors {
            let n = tasks / executors + usize::from(e < tasks % executors);
            let id = self.executors.len();
            let mine = task_ids[next..next + n].to_vec();
            next += n;
            for _ in &mine {
                self.task_component.push(ci);
                self.task_executor.push(id);
            }
            self.executors.push(ExecutorPlan { id, component: ci, tasks: mine, worker: 0 });
            execs.push(id);
        }
        self.components.push(ComponentPlan {
            id: id.into(),
            role,
            tasks: task_ids,
            executors: execs,
            tick_freq_secs: tick,
            pinned: Vec::new(),
            summary: None,
            max_spout_pending: None,
        });
    }

    fn add_stream(&mut self, topology: &Topology, ci: usize, d: &StreamDecl) {
        let from = &topology.components[ci].id;
        let routes = topology
            .streams
            .iter()
            .filter(|s| &s.from == from && s.stream == d.id)
            .map(|s| {
                let to = self.component_index(&s.to).expect("validated");
                let keys = s
                    .grouping
                    .key_fields()
                    .iter()
                    .filter_map(|f| d.fields.iter().position(|x| x == f))
                    .collect();
                Route { to, grouping: s.grouping.clone(), keys, tasks: self.components[to].tasks.clone() }
            })
            .collect();
        let id = d.id.as_str().into();
        self.streams.push(StreamPlan {
            component: ci,
            id,
            fields: d.fields.clone(),
            direct: d.direct,
            routes,
        });
    }

    /// The index of a component by id.
    pub fn component_index(&self, id: &str) -> Option<usize> {
        self.components.iter().position(|c| &*c.id == id)
    }

    /// Whether `task` is a task of a spout: only those own trees (an acker checks the task
    /// an `AckInit` names, which comes from the network, before it ever answers it).
    pub fn is_spout_task(&self, task: u32) -> bool {
        match self.task_component.get(task as usize) {
            Some(&ci) => self.components.get(ci).is_some_and(|c| c.role == Role::Spout),
            None => false,
        }
    }

    /// Every task and its component's id.
    pub fn task_to_component(&self) -> BTreeMap<u32, Arc<str>> {
        let components = self.task_component.iter().enumerate().skip(1);
        components.map(|(task, &ci)| (task as u32, self.components[ci].id.clone())).collect()
    }

    /// The streams component `ci` declares, subscribes to and feeds, as its tasks see them.
    pub fn wiring(&self, ci: usize) -> Wiring {
        let mut wiring = Wiring::default();
        for s in &self.streams {
            let from = &self.components[s.component].id;
            if s.component == ci {
                let (id, fields, direct) = (s.id.to_string(), s.fields.clone(), s.direct);
                wiring.streams.push(StreamDecl { id, fields, direct });
            }
            for r in s.routes.iter().filter(|r| s.component == ci || r.to == ci) {
                let link = StreamLink {
                    from: from.clone(),
                    stream: s.id.clone(),
                    fields: s.fields.clone(),
                    to: self.components[r.to].id.clone(),
                    grouping: r.grouping.clone(),
                };
                if r.to == ci {
                    wiring.sources.push(link.clone());
                }
                if s.component == ci {
                    wiring.targets.push(link);
                }
            }
        }
        wiring
    }

    /// The component id of a task (`__system` for unknown ids).
    pub fn task_component_id(&self, task: u32) -> &str {
        match self.task_component.get(task as usize) {
            Some(&ci) if ci != usize::MAX => &self.components[ci].id,
            _ => crate::component::SYSTEM_COMPONENT,
        }
    }
}

/// Places executors on workers: executor `e` in worker `e % workers`, except those of a
/// component pinned to workers `[w0, w1, …]` (its `worker`/`workers` key): its `i`-th
/// executor goes to `w(i % n)`. With one worker everything is in worker 0.
pub fn place(plan: &mut Plan, workers: usize) {
    let workers = workers.max(1);
    for e in &mut plan.executors {
        let c = &plan.components[e.component];
        let nth = c.executors.iter().position(|&x| x == e.id).unwrap_or(0);
        e.worker = match &c.pinned[..] {
            _ if workers == 1 => 0,
            [] => e.id % workers,
            pins => pins[nth % pins.len()] % workers,
        };
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "topology {}: {} tasks, {} executors",
            self.name,
            self.task_component.len() - 1,
            self.executors.len()
        )?;
        for c in &self.components {
            let role = format!("{:?}", c.role).to_lowercase();
            let tick = c.tick_freq_secs.map(|t| format!(", tick every {t}s")).unwrap_or_default();
            let pinned = if c.pinned.is_empty() {
                String::new()
            } else {
                format!(", pinned to workers {:?}", c.pinned)
            };
            let summary = c.summary.as_ref().map(|s| format!(", {s}")).unwrap_or_default();
            let pending =
                c.max_spout_pending.map(|n| format!(", max pending {n} a task")).unwrap_or_default();
            writeln!(f, "  {role} {}: tasks {:?}{pending}{summary}{tick}{pinned}", c.id, c.tasks)?;
            for &e in &c.executors {
                writeln!(
                    f,
                    "    executor {e} (worker {}): tasks {:?}",
                    self.executors[e].worker, self.executors[e].tasks
                )?;
            }
        }
        for s in &self.streams {
            let direct = if s.direct { " (direct)" } else { "" };
            writeln!(
                f,
                "  stream {}/{}{direct} [{}]",
                self.components[s.component].id,
                s.id,
                s.fields.join(", ")
            )?;
            for r in &s.routes {
                writeln!(f, "    -> {} {:?} tasks {:?}", self.components[r.to].id, r.grouping, r.tasks)?;
            }
        }
        Ok(())
    }
}
