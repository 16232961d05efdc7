//! The wire form of everything that moves between tasks: prost messages, so a tuple crosses
//! a process boundary (or a tcp link between workers) in a documented, versionable format.
//!
//! A transfer message (one libsock frame) is a batch: several length-delimited [`Item`]s back
//! to back. Batching amortises the per-message cost of the socket; see `runtime/transfer.rs`.

use std::collections::BTreeMap;

use prost::Message as _;

use crate::tuple::Value;

/// What an [`Item`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Kind {
    /// A tuple for `dest_task`.
    Tuple = 1,
    /// Spout → acker: a new tree `root` with the XOR of its first edges in `xor`.
    AckInit = 2,
    /// Bolt → acker: XOR `xor` into tree `root`.
    Ack = 3,
    /// Bolt → acker: tree `root` failed, with `reason`.
    Fail = 4,
    /// Acker → spout: tree `root` completed.
    Completed = 5,
    /// Acker → spout: tree `root` failed (by a bolt or by timeout), with `reason`.
    Failed = 6,
    /// Acker → spout: tree `root` timed out; `blame_task` acked a tuple of it last.
    TimedOut = 7,
}

impl Kind {
    fn from_u32(v: u32) -> Option<Kind> {
        Some(match v {
            1 => Kind::Tuple,
            2 => Kind::AckInit,
            3 => Kind::Ack,
            4 => Kind::Fail,
            5 => Kind::Completed,
            6 => Kind::Failed,
            7 => Kind::TimedOut,
            _ => return None,
        })
    }
}

/// One tuple or acking event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Item {
    /// [`Kind`] as a number.
    #[prost(uint32, tag = "1")]
    pub kind: u32,
    /// Task this item is for.
    #[prost(uint32, tag = "2")]
    pub dest_task: u32,
    /// Task that sent it.
    #[prost(uint32, tag = "3")]
    pub src_task: u32,
    /// Stream index in the plan's stream table (tuples only).
    #[prost(uint32, tag = "4")]
    pub stream: u32,
    /// Tuple values.
    #[prost(message, repeated, tag = "5")]
    pub values: Vec<WireValue>,
    /// Tuple trees: root ids (parallel to `edges`).
    #[prost(fixed64, repeated, tag = "6")]
    pub roots: Vec<u64>,
    /// Tuple trees: edge ids (parallel to `roots`).
    #[prost(fixed64, repeated, tag = "7")]
    pub edges: Vec<u64>,
    /// Acking: the root id.
    #[prost(fixed64, tag = "8")]
    pub root: u64,
    /// Acking: the value to XOR in.
    #[prost(fixed64, tag = "9")]
    pub xor: u64,
    /// Failures: why.
    #[prost(string, tag = "10")]
    pub reason: String,
    /// Failures: the task that failed it or held it last (0: none known).
    #[prost(uint32, tag = "11")]
    pub blame_task: u32,
}

impl Item {
    /// The item's kind, if known.
    pub fn kind(&self) -> Option<Kind> {
        Kind::from_u32(self.kind)
    }

    /// An acking event.
    pub fn acking(kind: Kind, dest_task: u32, src_task: u32, root: u64, xor: u64) -> Item {
        Item { kind: kind as u32, dest_task, src_task, root, xor, ..Item::default() }
    }
}

/// A [`Value`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireValue {
    /// The value; absent means null.
    #[prost(oneof = "WireKind", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub kind: Option<WireKind>,
}

/// The cases of [`WireValue`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum WireKind {
    /// Bool.
    #[prost(bool, tag = "1")]
    Bool(bool),
    /// Integer.
    #[prost(sint64, tag = "2")]
    I64(i64),
    /// Float.
    #[prost(double, tag = "3")]
    F64(f64),
    /// Text.
    #[prost(string, tag = "4")]
    Str(String),
    /// Bytes.
    #[prost(bytes = "vec", tag = "5")]
    Bytes(Vec<u8>),
    /// List.
    #[prost(message, tag = "6")]
    List(WireList),
    /// Map.
    #[prost(message, tag = "7")]
    Map(WireMap),
}

/// A list value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireList {
    /// Elements.
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<WireValue>,
}

/// A map value (keys and values in parallel).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireMap {
    /// Keys.
    #[prost(string, repeated, tag = "1")]
    pub keys: Vec<String>,
    /// Values.
    #[prost(message, repeated, tag = "2")]
    pub values: Vec<WireValue>,
}

impl From<Value> for WireValue {
    fn from(v: Value) -> WireValue {
        let kind = match v {
            Value::Null => None,
            Value::Bool(b) => Some(WireKind::Bool(b)),
            Value::I64(i) => Some(WireKind::I64(i)),
            Value::F64(f) => Some(WireKind::F64(f)),
            Value::Str(s) => Some(WireKind::Str(s)),
            Value::Bytes(b) => Some(WireKind::Bytes(b)),
            Value::List(l) => {
                Some(WireKind::List(WireList { items: l.into_iter().map(Into::into).collect() }))
            }
            Value::Map(m) => {
                let (keys, values) = m.into_iter().map(|(k, v)| (k, v.into())).unzip();
                Some(WireKind::Map(WireMap { keys, values }))
            }
        };
        WireValue { kind }
    }
}

impl From<WireValue> for Value {
    fn from(w: WireValue) -> Value {
        match w.kind {
            None => Value::Null,
            Some(WireKind::Bool(b)) => Value::Bool(b),
            Some(WireKind::I64(i)) => Value::I64(i),
            Some(WireKind::F64(f)) => Value::F64(f),
            Some(WireKind::Str(s)) => Value::Str(s),
            Some(WireKind::Bytes(b)) => Value::Bytes(b),
            Some(WireKind::List(l)) => Value::List(l.items.into_iter().map(Into::into).collect()),
            Some(WireKind::Map(m)) => Value::Map(
                m.keys.into_iter().zip(m.values.into_iter().map(Into::into)).collect::<BTreeMap<_, _>>(),
            ),
        }
    }
}

/// Appends `item` to a batch buffer.
pub fn append(buf: &mut Vec<u8>, item: &Item) {
    // Writing into a Vec cannot run out of space.
    let _ = item.encode_length_delimited(buf);
}

/// Decodes every item of a batch; a malformed batch is an error (the caller drops it and logs).
pub fn decode_batch(mut bytes: &[u8], out: &mut Vec<Item>) -> Result<(), prost::DecodeError> {
    while !bytes.is_empty() {
        out.push(Item::decode_length_delimited(&mut bytes)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_a_batch() {
        let mut map = BTreeMap::new();
        map.insert("k".to_owned(), Value::List(vec![Value::Null, Value::F64(1.5)]));
        let values =
            vec![Value::Str("w".into()), Value::I64(-3), Value::Bytes(vec![0, 255]), Value::Map(map)];
        let item = Item {
            kind: Kind::Tuple as u32,
            dest_task: 7,
            values: values.iter().cloned().map(Into::into).collect(),
            roots: vec![1],
            edges: vec![2],
            ..Item::default()
        };
        let mut buf = Vec::new();
        append(&mut buf, &item);
        append(&mut buf, &Item::acking(Kind::Ack, 1, 2, 3, 4));
        let mut out = Vec::new();
        decode_batch(&buf, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].values.iter().cloned().map(Value::from).collect::<Vec<_>>(), values);
        assert_eq!(out[1].kind(), Some(Kind::Ack));
    }

    #[test]
    fn a_truncated_batch_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        append(&mut buf, &Item::acking(Kind::Ack, 1, 2, 3, 4));
        let mut out = Vec::new();
        assert!(decode_batch(&buf[..buf.len() - 1], &mut out).is_err());
    }
}
