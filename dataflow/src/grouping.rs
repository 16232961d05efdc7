//! Stream groupings: which task(s) of a subscribing component get each tuple.

use std::fmt;
use std::sync::Arc;

use crate::tuple::Value;

/// A user-defined grouping (Storm's `CustomStreamGrouping`).
pub trait CustomGrouping: Send {
    /// Called once per emitting task with the subscribing component's tasks.
    fn prepare(&mut self, target_tasks: &[u32]);
    /// The tasks that get a tuple with these values (must be among the target tasks).
    fn choose_tasks(&mut self, values: &[Value], out: &mut Vec<u32>);
}

/// Makes a fresh [`CustomGrouping`] per emitting task.
pub type CustomFactory = Arc<dyn Fn() -> Box<dyn CustomGrouping> + Send + Sync>;

/// How tuples of a stream are spread over a subscribing component's tasks.
#[derive(Clone)]
pub enum Grouping {
    /// Round robin over a random permutation: even counts per task.
    Shuffle,
    /// Same values of these fields → same task, for the topology's life.
    Fields(Vec<String>),
    /// Each key goes to the less loaded of two candidate tasks.
    PartialKey(Vec<String>),
    /// Every task gets every tuple.
    All,
    /// The task with the lowest id gets everything.
    Global,
    /// No preference (Storm: same as shuffle).
    None,
    /// The emitter chooses with `emit_direct`; the stream must be declared direct.
    Direct,
    /// Tasks in the emitter's worker first; shuffle among them.
    LocalOrShuffle,
    /// A user grouping, by its registered name.
    Custom(String, CustomFactory),
}

impl Grouping {
    /// The Flux name of this grouping.
    pub fn name(&self) -> &str {
        match self {
            Grouping::Shuffle => "SHUFFLE",
            Grouping::Fields(_) => "FIELDS",
            Grouping::PartialKey(_) => "PARTIAL_KEY",
            Grouping::All => "ALL",
            Grouping::Global => "GLOBAL",
            Grouping::None => "NONE",
            Grouping::Direct => "DIRECT",
            Grouping::LocalOrShuffle => "LOCAL_OR_SHUFFLE",
            Grouping::Custom(..) => "CUSTOM",
        }
    }

    /// The key fields of a fields or partial key grouping.
    pub fn key_fields(&self) -> &[String] {
        match self {
            Grouping::Fields(f) | Grouping::PartialKey(f) => f,
            _ => &[],
        }
    }
}

impl fmt::Debug for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grouping::Fields(k) | Grouping::PartialKey(k) => write!(f, "{}({})", self.name(), k.join(",")),
            Grouping::Custom(name, _) => write!(f, "CUSTOM({name})"),
            _ => f.write_str(self.name()),
        }
    }
}

/// Per emitting task, per route: the state a grouping needs to choose tasks.
pub(crate) enum Chooser {
    Shuffle { tasks: Vec<u32>, next: usize, rng: fastrand::Rng },
    Fields { tasks: Vec<u32>, keys: Vec<usize> },
    PartialKey { tasks: Vec<u32>, keys: Vec<usize>, load: Vec<u64> },
    All(Vec<u32>),
    One(u32),
    Direct,
    Custom(Box<dyn CustomGrouping>),
}

impl Chooser {
    /// `keys` are the key fields' indices in the stream; `seed` makes shuffles differ by task.
    pub(crate) fn new(grouping: &Grouping, tasks: &[u32], keys: Vec<usize>, seed: u64) -> Chooser {
        let tasks = tasks.to_vec();
        match grouping {
            Grouping::Shuffle | Grouping::None | Grouping::LocalOrShuffle => {
                let mut rng = fastrand::Rng::with_seed(seed);
                let mut tasks = tasks;
                rng.shuffle(&mut tasks);
                Chooser::Shuffle { tasks, next: 0, rng }
            }
            Grouping::Fields(_) => Chooser::Fields { tasks, keys },
            Grouping::PartialKey(_) => Chooser::PartialKey { load: vec![0; tasks.len()], tasks, keys },
            Grouping::All => Chooser::All(tasks),
            Grouping::Global => Chooser::One(tasks.iter().copied().min().unwrap_or(0)),
            Grouping::Direct => Chooser::Direct,
            Grouping::Custom(_, factory) => {
                let mut custom = factory();
                custom.prepare(&tasks);
                Chooser::Custom(custom)
            }
        }
    }

    /// Appends the chosen tasks to `out`.
    pub(crate) fn choose(&mut self, values: &[Value], out: &mut Vec<u32>) {
        match self {
            Chooser::Shuffle { tasks, next, rng } => {
                if *next == tasks.len() {
                    rng.shuffle(tasks);
                    *next = 0;
                }
                out.push(tasks[*next]);
                *next += 1;
            }
            Chooser::Fields { tasks, keys } => {
                let h = key_hash(values, keys, 0xcbf2_9ce4_8422_2325);
                out.push(tasks[(h % tasks.len() as u64) as usize]);
            }
            Chooser::PartialKey { tasks, keys, load } => {
                let n = tasks.len() as u64;
                let a = (key_hash(values, keys, 0xcbf2_9ce4_8422_2325) % n) as usize;
                // A second candidate distinct from the first (when there are two tasks or more).
                let off = if n > 1 { 1 + key_hash(values, keys, 0x9e37_79b9_7f4a_7c15) % (n - 1) } else { 0 };
                let b = ((a as u64 + off) % n) as usize;
                let pick = if load[a] <= load[b] { a } else { b };
                load[pick] += 1;
                out.push(tasks[pick]);
            }
            Chooser::All(tasks) => out.extend_from_slice(tasks),
            Chooser::One(task) => out.push(*task),
            Chooser::Direct => {}
            Chooser::Custom(custom) => custom.choose_tasks(values, out),
        }
    }
}

fn key_hash(values: &[Value], keys: &[usize], seed: u64) -> u64 {
    let mut h = seed;
    for &k in keys {
        if let Some(v) = values.get(k) {
            v.stable_hash(&mut h);
        }
    }
    // Finalise (murmur3's fmix64) so that low bits depend on every input bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(mut chooser: Chooser, n: usize, keys: impl Fn(usize) -> Vec<Value>) -> Vec<usize> {
        let mut counts = vec![0; 4];
        let mut out = Vec::new();
        for i in 0..n {
            out.clear();
            chooser.choose(&keys(i), &mut out);
            for t in &out {
                counts[*t as usize - 1] += 1;
            }
        }
        counts
    }

    #[test]
    fn shuffle_gives_even_counts() {
        let c = counts(Chooser::new(&Grouping::Shuffle, &[1, 2, 3, 4], vec![], 7), 1000, |_| vec![]);
        assert_eq!(c, vec![250; 4]);
    }

    #[test]
    fn fields_sends_a_key_to_one_task_always() {
        let g = Grouping::Fields(vec!["w".into()]);
        let mut a = Chooser::new(&g, &[1, 2, 3, 4], vec![0], 1);
        let mut b = Chooser::new(&g, &[1, 2, 3, 4], vec![0], 2);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..100 {
            let v = [Value::Str(format!("key{}", i % 10))];
            a.choose(&v, &mut x);
            b.choose(&v, &mut y);
        }
        assert_eq!(x, y, "two emitters agree");
        for i in 0..100 {
            assert_eq!(x[i], x[i % 10]);
        }
    }

    #[test]
    fn partial_key_splits_a_hot_key_over_two_tasks() {
        let g = Grouping::PartialKey(vec!["w".into()]);
        let c = counts(Chooser::new(&g, &[1, 2, 3, 4], vec![0], 1), 1000, |_| vec![Value::from("hot")]);
        let used: Vec<_> = c.iter().filter(|&&n| n > 0).collect();
        assert_eq!(used.len(), 2, "{c:?}");
        assert!(used.iter().all(|&&n| n == 500), "{c:?}");
    }
}
