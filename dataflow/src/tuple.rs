//! Tuple values and the tuple a bolt receives.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use smallvec::SmallVec;

/// The default stream's id.
pub const DEFAULT_STREAM: &str = "default";
/// The stream tick tuples arrive on.
pub const TICK_STREAM: &str = "__tick";
/// The component tick tuples come from.
pub const SYSTEM_COMPONENT: &str = "__system";

/// Tuple-tree ids (root, edge) of one tuple: nearly always one tree, kept inline.
pub type Ids = SmallVec<[(u64, u64); 1]>;

/// One field of a tuple: the value types a tuple can carry across processes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    I64(i64),
    /// A 64-bit float.
    F64(f64),
    /// UTF-8 text.
    Str(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list of values.
    List(Vec<Value>),
    /// A map from text keys to values (ordered, so hashing is stable).
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The bytes a socket frame carries for this value: text as is, numbers as decimal text,
    /// bytes as is, null as an empty frame, lists and maps in a JSON-like text.
    pub fn to_frame(&self) -> Vec<u8> {
        match self {
            Value::Str(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            Value::Null => Vec::new(),
            other => other.to_string().into_bytes(),
        }
    }

    /// Feeds a stable (process- and platform-independent) hash of this value: fields grouping
    /// must send a key to the same task in every worker, so no `RandomState` here.
    pub(crate) fn stable_hash(&self, h: &mut u64) {
        // Eight bytes at a time (little-endian, so every platform agrees), then the tail.
        fn mix(h: &mut u64, bytes: &[u8]) {
            let mut chunks = bytes.chunks_exact(8);
            for c in &mut chunks {
                let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
                *h = (*h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
            }
            for b in chunks.remainder() {
                *h = (*h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            *h ^= bytes.len() as u64;
        }
        match self {
            Value::Null => mix(h, &[0]),
            Value::Bool(b) => mix(h, &[1, u8::from(*b)]),
            Value::I64(v) => mix(h, &v.to_le_bytes()),
            Value::F64(v) => mix(h, &v.to_bits().to_le_bytes()),
            Value::Str(s) => mix(h, s.as_bytes()),
            Value::Bytes(b) => mix(h, b),
            Value::List(l) => l.iter().for_each(|v| v.stable_hash(h)),
            Value::Map(m) => m.iter().for_each(|(k, v)| {
                mix(h, k.as_bytes());
                v.stable_hash(h);
            }),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Str(s) => f.write_str(s),
            Value::Bytes(b) => write!(f, "{}", String::from_utf8_lossy(b)),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    write!(f, "{}{v}", if i > 0 { "," } else { "" })?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    write!(f, "{}{k}:{v}", if i > 0 { "," } else { "" })?;
                }
                f.write_str("}")
            }
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident $(as $cast:ty)?),*) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Value { Value::$v(x $(as $cast)?) }
        }
    )*};
}
value_from!(bool => Bool, i64 => I64, i32 => I64 as i64, u32 => I64 as i64, f64 => F64, String => Str, Vec<u8> => Bytes);

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

/// Declared output fields of one stream.
pub type Fields = Arc<[String]>;

/// Where a tuple comes from: shared by every tuple of one stream in one executor (each
/// executor has its own copies, so reference counting never bounces between cores).
#[derive(Debug)]
pub(crate) struct StreamMeta {
    pub(crate) fields: Fields,
    pub(crate) component: Arc<str>,
    pub(crate) stream: Arc<str>,
}

/// A tuple delivered to a bolt: values plus where it came from and its place in tuple trees.
#[derive(Debug)]
pub struct Tuple {
    /// The values, in the order of the stream's declared fields.
    pub values: Vec<Value>,
    pub(crate) meta: Arc<StreamMeta>,
    pub(crate) source_task: u32,
    /// (root id, edge id) for each spout tuple tree this tuple belongs to.
    pub(crate) ids: Ids,
    /// XOR of the edge ids of the tuples anchored to this one (Storm's "ack val").
    pub(crate) ack_val: Cell<u64>,
}

impl Tuple {
    /// The value of the named field.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.meta.fields.iter().position(|f| f == field).and_then(|i| self.values.get(i))
    }

    /// The field names of this tuple's stream.
    pub fn fields(&self) -> &[String] {
        &self.meta.fields
    }

    /// The component that emitted this tuple (`__system` for ticks).
    pub fn source_component(&self) -> &str {
        &self.meta.component
    }

    /// The task that emitted this tuple.
    pub fn source_task(&self) -> u32 {
        self.source_task
    }

    /// The stream this tuple was emitted on.
    pub fn stream(&self) -> &str {
        &self.meta.stream
    }

    /// True for tick tuples (stream `__tick` from `__system`).
    pub fn is_tick(&self) -> bool {
        &*self.meta.stream == TICK_STREAM
    }
}
