//! `JoinBolt`: Storm's windowed join (`org.apache.storm.bolt.JoinBolt`). Each window's
//! tuples are split by input (source component or stream); the first input's tuples are
//! joined with the next input's on equal keys, that result with the next, and so on (inner or
//! left joins), and each joined record emits the `select`ed fields, anchored to the tuples it
//! was made of (not the whole window).
//!
//! As in Storm: a record whose key is missing or null joins nothing (a left join drops it
//! too); a selected field is the first one found among the record's tuples in join order,
//! `stream:field` takes it from that input only (case-insensitive), `a.b.c` looks keys up
//! in nested maps, and a field found nowhere is null. A sliding window joins the tuples it
//! shares with the previous window again. Tuples from inputs the join does not name are left
//! out (logged once).

use std::collections::HashMap;

use crate::component::{OutputDeclarer, TaskContext};
use crate::tuple::{Tuple, Value, DEFAULT_STREAM};
use crate::window::{TupleWindow, WindowCollector, WindowedBolt};

/// What names a [`JoinBolt`]'s inputs (Storm's `JoinBolt.Selector`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    /// The stream id.
    Stream,
    /// The emitting component.
    Source,
}

impl Selector {
    /// `STREAM` or `SOURCE`, Storm's names.
    pub fn parse(name: &str) -> Result<Selector, String> {
        match name {
            "STREAM" => Ok(Selector::Stream),
            "SOURCE" => Ok(Selector::Source),
            _ => Err(format!("unknown JoinBolt selector {name:?} (STREAM or SOURCE)")),
        }
    }

    fn name_of<'t>(&self, t: &'t Tuple) -> &'t str {
        match self {
            Selector::Stream => t.stream(),
            Selector::Source => t.source_component(),
        }
    }
}

/// `[input:]field[.key…]`: a field, optionally of one input, with keys into nested maps.
#[derive(Clone, Debug)]
struct FieldPath {
    input: Option<String>,
    path: Vec<String>,
    /// The output field's name: the text as written, trimmed.
    name: String,
}

impl FieldPath {
    fn parse(text: &str) -> Result<FieldPath, String> {
        let text = text.trim();
        let (input, field) = match text.split_once(':') {
            Some((input, field)) => (Some(input.trim()).filter(|s| !s.is_empty()), field.trim()),
            None => (None, text),
        };
        let path: Vec<String> = field.split('.').map(str::to_owned).collect();
        if path.iter().any(|p| p.is_empty() || p.contains(':')) {
            return Err(format!("malformed field {text:?} (expected [stream:]field[.key…])"));
        }
        let name = match input {
            Some(_) => text.to_owned(),
            None => field.to_owned(),
        };
        Ok(FieldPath { input: input.map(str::to_owned), path, name })
    }

    /// A join key: a field with no input qualifier (the input is the clause's own).
    fn key(text: &str) -> Result<FieldPath, String> {
        if text.contains(':') {
            return Err(format!("join key {text:?}: no 'stream:' qualifier here, the input is implicit"));
        }
        FieldPath::parse(text)
    }

    /// The value in `t` (None if missing or null).
    fn lookup<'t>(&self, t: &'t Tuple) -> Option<&'t Value> {
        let (first, rest) = self.path.split_first()?;
        let mut v = t.get(first)?;
        for key in rest {
            let Value::Map(m) = v else { return None };
            v = m.get(key)?;
        }
        (*v != Value::Null).then_some(v)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JoinKind {
    Inner,
    Left,
}

/// One input of the join after the first: joined on `key` = the key of input `prior`.
#[derive(Clone, Debug)]
struct Clause {
    input: String,
    key: FieldPath,
    prior: usize,
    kind: JoinKind,
}

/// Storm's `JoinBolt`, run with [`crate::window::Windowed`]: see the module docs.
///
/// ```
/// use dataflow::components::{JoinBolt, Selector};
/// let join = JoinBolt::new(Selector::Source, "purchases", "userId")
///     .and_then(|j| j.join("ads", "userId", "purchases"))
///     .and_then(|j| j.select("userId, purchases:item, ads:ad"));
/// assert!(join.is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct JoinBolt {
    selector: Selector,
    /// The first input and its key.
    first: (String, FieldPath),
    clauses: Vec<Clause>,
    select: Vec<FieldPath>,
    output_stream: Option<String>,
    /// Tuples of inputs the join does not name, for the log.
    unknown: u64,
}

impl JoinBolt {
    /// Starts the join with `input`'s tuples, keyed by `key` (SQL's `from input`).
    pub fn new(selector: Selector, input: &str, key: &str) -> Result<JoinBolt, String> {
        let key = FieldPath::key(key)?;
        Ok(JoinBolt {
            selector,
            first: (input.to_owned(), key),
            clauses: Vec::new(),
            select: Vec::new(),
            output_stream: None,
            unknown: 0,
        })
    }

    /// Inner join: `... join input on input.key = prior.(prior's key)`; `prior` must already
    /// be in the join.
    pub fn join(self, input: &str, key: &str, prior: &str) -> Result<JoinBolt, String> {
        self.clause(input, key, prior, JoinKind::Inner)
    }

    /// Left join: as [`JoinBolt::join`], and a record with no match is kept (the new input's
    /// fields null).
    pub fn left_join(self, input: &str, key: &str, prior: &str) -> Result<JoinBolt, String> {
        self.clause(input, key, prior, JoinKind::Left)
    }

    fn clause(mut self, input: &str, key: &str, prior: &str, kind: JoinKind) -> Result<JoinBolt, String> {
        if self.index_of(input).is_some() {
            return Err(format!("{input:?} is already in the join: it cannot be joined twice"));
        }
        let prior = self.index_of(prior).ok_or_else(|| format!("{prior:?} is not in the join (yet)"))?;
        let key = FieldPath::key(key)?;
        self.clauses.push(Clause { input: input.to_owned(), key, prior, kind });
        Ok(self)
    }

    /// The output fields, comma-separated: `field`, `input:field`, `a.b.c` (nested maps).
    pub fn select(mut self, fields: &str) -> Result<JoinBolt, String> {
        let select = fields.split(',').map(FieldPath::parse).collect::<Result<Vec<_>, _>>()?;
        for (i, f) in select.iter().enumerate() {
            if select[..i].iter().any(|g| g.name == f.name) {
                return Err(format!("field {:?} selected twice", f.name));
            }
        }
        self.select = select;
        Ok(self)
    }

    /// Emits on this stream instead of `default`.
    pub fn with_output_stream(mut self, stream: &str) -> JoinBolt {
        self.output_stream = Some(stream.to_owned());
        self
    }

    /// Whether the join is complete enough to run: fields selected.
    pub fn check(&self) -> Result<(), String> {
        if self.select.is_empty() {
            return Err("a JoinBolt needs its output fields: select(\"field, stream:field, …\")".into());
        }
        Ok(())
    }

    /// 0 for the first input, `j + 1` for clause `j`.
    fn index_of(&self, input: &str) -> Option<usize> {
        if self.first.0 == input {
            return Some(0);
        }
        self.clauses.iter().position(|c| c.input == input).map(|j| j + 1)
    }

    fn key_of(&self, input: usize) -> &FieldPath {
        match input {
            0 => &self.first.1,
            j => &self.clauses[j - 1].key,
        }
    }

    /// Joins the window's tuples: each record holds, per input so far, the index of its
    /// tuple (none where a left join found no match).
    fn records(&mut self, tuples: &[Tuple]) -> Vec<Vec<Option<usize>>> {
        let mut records: Vec<Vec<Option<usize>>> = Vec::new();
        let mut builds: Vec<HashMap<u64, Vec<usize>>> = vec![HashMap::new(); self.clauses.len()];
        for (i, t) in tuples.iter().enumerate() {
            match self.index_of(self.selector.name_of(t)) {
                Some(0) => records.push(vec![Some(i)]),
                Some(j) => {
                    if let Some(key) = self.key_of(j).lookup(t) {
                        builds[j - 1].entry(hash(key)).or_default().push(i);
                    }
                }
                None => {
                    self.unknown += 1;
                    if self.unknown == 1 {
                        tracing::warn!(
                            "JoinBolt: a tuple from {:?}, which the join does not name, left out (logged once)",
                            self.selector.name_of(t)
                        );
                    }
                }
            }
        }
        for (j, clause) in self.clauses.iter().enumerate() {
            let prior_key = self.key_of(clause.prior);
            let mut joined = Vec::with_capacity(records.len());
            for record in records {
                let key = record[clause.prior].and_then(|ti| prior_key.lookup(&tuples[ti]));
                let Some(key) = key else { continue };
                let candidates = builds[j].get(&hash(key)).map_or(&[][..], Vec::as_slice);
                let mut matched = false;
                for &m in candidates.iter().filter(|&&m| clause.key.lookup(&tuples[m]) == Some(key)) {
                    matched = true;
                    let mut next = record.clone();
                    next.push(Some(m));
                    joined.push(next);
                }
                if !matched && clause.kind == JoinKind::Left {
                    let mut next = record;
                    next.push(None);
                    joined.push(next);
                }
            }
            records = joined;
        }
        records
    }

    /// A selected field of a record: the first found among its tuples, in join order.
    fn project(&self, field: &FieldPath, record: &[Option<usize>], tuples: &[Tuple]) -> Value {
        record
            .iter()
            .flatten()
            .map(|&ti| &tuples[ti])
            .filter(|t| field.input.as_ref().is_none_or(|s| s.eq_ignore_ascii_case(self.selector.name_of(t))))
            .find_map(|t| field.lookup(t))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

fn hash(v: &Value) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15;
    v.stable_hash(&mut h);
    h
}

impl WindowedBolt for JoinBolt {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        let names: Vec<&str> = self.select.iter().map(|f| f.name.as_str()).collect();
        d.declare_stream(self.output_stream.as_deref().unwrap_or(DEFAULT_STREAM), &names);
    }

    fn prepare(&mut self, _ctx: &TaskContext) -> Result<(), String> {
        self.check()
    }

    /// `a JOIN b ON b.k = a.k LEFT JOIN c ON …; select (f, …)` (SQL's shape).
    fn summary(&self) -> Option<String> {
        let path = |f: &FieldPath| f.path.join(".");
        let mut s = self.first.0.clone();
        for c in &self.clauses {
            let kind = if c.kind == JoinKind::Left { "LEFT JOIN" } else { "JOIN" };
            let prior = if c.prior == 0 { &self.first.0 } else { &self.clauses[c.prior - 1].input };
            let prior_key = path(self.key_of(c.prior));
            s += &format!(" {kind} {} ON {}.{} = {prior}.{prior_key}", c.input, c.input, path(&c.key));
        }
        let names: Vec<&str> = self.select.iter().map(|f| f.name.as_str()).collect();
        Some(format!("{s}; select ({})", names.join(", ")))
    }

    fn execute(&mut self, w: &TupleWindow<'_>, c: &mut WindowCollector<'_, '_, '_>) {
        let tuples = w.get();
        let records = self.records(tuples);
        let stream = self.output_stream.as_deref().unwrap_or(DEFAULT_STREAM);
        let mut anchors: Vec<&Tuple> = Vec::new();
        for record in records {
            let values = self.select.iter().map(|f| self.project(f, &record, tuples)).collect();
            anchors.clear();
            anchors.extend(record.iter().flatten().map(|&ti| &tuples[ti]));
            c.emit_anchored(stream, &anchors, values);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::tuple::StreamMeta;

    /// Tuples of component `from` with fields `fields`.
    fn input(from: &str, fields: &[&str], rows: Vec<Vec<Value>>) -> Vec<Tuple> {
        let meta = Arc::new(StreamMeta {
            fields: fields.iter().map(|f| f.to_string()).collect::<Vec<_>>().into(),
            component: from.into(),
            stream: "default".into(),
        });
        let tuple = |values| Tuple {
            values,
            meta: meta.clone(),
            source_task: 1,
            ids: Default::default(),
            ack_val: Default::default(),
        };
        rows.into_iter().map(tuple).collect()
    }

    fn run(join: &mut JoinBolt, tuples: &[Tuple]) -> Vec<Vec<Value>> {
        let records = join.records(tuples);
        records.iter().map(|r| join.select.iter().map(|f| join.project(f, r, tuples)).collect()).collect()
    }

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn inner_and_left_joins_as_storm() {
        let mut tuples = input(
            "users",
            &["id", "name"],
            vec![vec![Value::I64(1), s("ann")], vec![Value::I64(2), s("bob")], vec![Value::Null, s("nul")]],
        );
        tuples.extend(input(
            "orders",
            &["user", "item"],
            vec![vec![Value::I64(1), s("pen")], vec![Value::I64(1), s("ink")], vec![Value::Null, s("x")]],
        ));
        tuples.extend(input("other", &["id"], vec![vec![Value::I64(1)]]));
        let join = JoinBolt::new(Selector::Source, "users", "id").unwrap();
        let mut inner =
            join.clone().join("orders", "user", "users").unwrap().select("id, name, orders:item").unwrap();
        assert_eq!(
            run(&mut inner, &tuples),
            vec![vec![Value::I64(1), s("ann"), s("pen")], vec![Value::I64(1), s("ann"), s("ink")]],
            "one record per matching pair; null keys match nothing"
        );
        assert_eq!(inner.unknown, 1, "the tuple of `other` is left out");
        let mut left =
            join.left_join("orders", "user", "users").unwrap().select("name, item, users:item").unwrap();
        assert_eq!(
            run(&mut left, &tuples),
            vec![
                vec![s("ann"), s("pen"), Value::Null],
                vec![s("ann"), s("ink"), Value::Null],
                vec![s("bob"), Value::Null, Value::Null],
            ],
            "bob kept with a null item; the null-keyed user dropped, as in Storm"
        );
    }

    #[test]
    fn three_inputs_nested_keys_and_stream_selectors() {
        let mut nested = std::collections::BTreeMap::new();
        nested.insert("id".to_owned(), Value::I64(7));
        let mut tuples = input("a", &["k", "v"], vec![vec![Value::I64(7), s("a7")]]);
        tuples.extend(input("b", &["user", "v"], vec![vec![Value::Map(nested), s("b7")]]));
        tuples.extend(input(
            "c",
            &["k2", "v"],
            vec![vec![Value::I64(7), s("c7")], vec![Value::I64(8), s("c8")]],
        ));
        let mut join = JoinBolt::new(Selector::Source, "a", "k")
            .and_then(|j| j.join("b", "user.id", "a"))
            .and_then(|j| j.join("c", "k2", "b"))
            .and_then(|j| j.select("v, B:v, c:v, user.id"))
            .unwrap();
        assert_eq!(run(&mut join, &tuples), vec![vec![s("a7"), s("b7"), s("c7"), Value::I64(7)]]);
        let mut by_stream = JoinBolt::new(Selector::Stream, "default", "k").unwrap().select("v").unwrap();
        assert_eq!(run(&mut by_stream, &tuples).len(), 4, "every tuple is of stream `default`");
    }

    #[test]
    fn field_paths_parse_as_storms() {
        let f = FieldPath::parse(" ads : user.id ").unwrap();
        assert_eq!(
            (f.input.as_deref(), f.path.clone(), f.name.as_str()),
            (Some("ads"), vec!["user".into(), "id".into()], "ads : user.id")
        );
        let f = FieldPath::parse("item").unwrap();
        assert_eq!((f.input, f.name.as_str()), (None, "item"));
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("").is_err());
        assert!(FieldPath::key("ads:id").is_err());
    }

    #[test]
    fn clauses_need_a_prior_input_and_no_repeats() {
        let j = JoinBolt::new(Selector::Source, "a", "k").unwrap();
        assert!(j.clone().join("b", "k", "c").unwrap_err().contains("not in the join"));
        let j = j.join("b", "k", "a").unwrap();
        assert!(j.clone().left_join("b", "k", "a").unwrap_err().contains("already in the join"));
        assert!(j.check().unwrap_err().contains("select"));
        assert!(j.clone().select("k, k").unwrap_err().contains("twice"));
        assert!(j.select("k, b:x").unwrap().check().is_ok());
    }
}
