//! The wire form of everything that moves between tasks: prost messages, so a tuple crosses
//! a process boundary (or a tcp link between workers) in a documented, versionable format.
//!
//! A transfer message (one libsock frame) is a batch: several length-delimited [`Item`]s back
//! to back. Batching amortises the per-message cost of the socket; see `runtime/transfer.rs`.
//! Tuples are encoded and every item is decoded by the hand-written [`codec`] (same bytes, no
//! intermediate copies); the prost types below define the schema and encode acking items.

pub mod codec;

pub use codec::{append_acking, append_tuple, batch, decode_batch, Batch, Decoded, Ids};

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
    /// Bolt → acker, then acker → spout: tree `root`'s message timeout starts again now
    /// (Storm's `resetTimeout`, for a tuple that takes long to process).
    ResetTimeout = 8,
}

impl Kind {
    pub(crate) fn from_u32(v: u32) -> Option<Kind> {
        Some(match v {
            1 => Kind::Tuple,
            2 => Kind::AckInit,
            3 => Kind::Ack,
            4 => Kind::Fail,
            5 => Kind::Completed,
            6 => Kind::Failed,
            7 => Kind::TimedOut,
            8 => Kind::ResetTimeout,
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

/// Appends `item` to a batch buffer (acking items by the hand-written encoder, same bytes).
pub fn append(buf: &mut Vec<u8>, item: &Item) {
    let plain = item.values.is_empty() && item.roots.is_empty() && item.edges.is_empty();
    if plain && item.stream == 0 && item.reason.is_empty() && item.blame_task == 0 {
        return append_acking(buf, item.kind, item.dest_task, item.src_task, item.root, item.xor);
    }
    // Writing into a Vec cannot run out of space.
    let _ = item.encode_length_delimited(buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_value(rng: &mut fastrand::Rng, depth: u32) -> Value {
        match rng.u8(..if depth > 2 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.bool()),
            2 => Value::I64(match rng.u8(..3) {
                0 => rng.i64(..),
                1 => rng.i64(-300..300),
                _ => [0, i64::MIN, i64::MAX, -1][rng.usize(..4)],
            }),
            3 => Value::F64(f64::from_bits(rng.u64(..))),
            4 => Value::Str((0..rng.usize(..200)).map(|_| rng.char(..)).collect()),
            5 => Value::Bytes((0..rng.usize(..300)).map(|_| rng.u8(..)).collect()),
            6 => Value::List((0..rng.usize(..4)).map(|_| random_value(rng, depth + 1)).collect()),
            _ => Value::Map(
                (0..rng.usize(..4)).map(|i| (format!("k{i}"), random_value(rng, depth + 1))).collect(),
            ),
        }
    }

    /// NaN != NaN: compare floats by their bits.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
            (Value::List(x), Value::List(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (Value::Map(x), Value::Map(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|((k, a), (l, b))| k == l && same(a, b))
            }
            _ => a == b,
        }
    }

    #[test]
    fn the_tuple_encoder_writes_exactly_what_prost_writes_and_the_decoder_reads_it_back() {
        let mut rng = fastrand::Rng::with_seed(12);
        for round in 0..2000 {
            let values: Vec<Value> = (0..rng.usize(..5)).map(|_| random_value(&mut rng, 0)).collect();
            let n = rng.usize(..3);
            let roots: Vec<u64> = (0..n).map(|_| rng.u64(..)).collect();
            let edges: Vec<u64> = (0..n).map(|_| rng.u64(..)).collect();
            let (dest, src, stream) = (rng.u32(..), rng.u32(..3), rng.u32(..1000));
            let item = Item {
                kind: Kind::Tuple as u32,
                dest_task: dest,
                src_task: src,
                stream,
                values: values.iter().cloned().map(Into::into).collect(),
                roots: roots.clone(),
                edges: edges.clone(),
                ..Item::default()
            };
            let (mut by_prost, mut by_hand) = (Vec::new(), Vec::new());
            item.encode_length_delimited(&mut by_prost).unwrap();
            append_tuple(&mut by_hand, dest, src, stream, &values, &roots, &edges);
            assert_eq!(by_hand, by_prost, "round {round}: {values:?}");
            let mut out = Vec::new();
            decode_batch(&by_hand, &mut out).unwrap();
            let d = &out[0];
            assert_eq!((d.kind(), d.dest_task, d.src_task, d.stream), (Some(Kind::Tuple), dest, src, stream));
            assert!(d.values.len() == values.len() && d.values.iter().zip(&values).all(|(a, b)| same(a, b)));
            assert_eq!(d.ids.to_vec(), roots.into_iter().zip(edges).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_acking_encoder_writes_exactly_what_prost_writes() {
        let mut rng = fastrand::Rng::with_seed(13);
        for _ in 0..1000 {
            let pick = |rng: &mut fastrand::Rng| if rng.bool() { 0 } else { rng.u64(..) };
            let (root, xor) = (pick(&mut rng), pick(&mut rng));
            let (kind, dest, src) = (rng.u32(..8), rng.u32(..) >> rng.u32(..32), rng.u32(..300));
            let item = Item::acking(Kind::Ack, dest, src, root, xor);
            let item = Item { kind, ..item };
            let (mut by_prost, mut by_hand) = (Vec::new(), Vec::new());
            item.encode_length_delimited(&mut by_prost).unwrap();
            append(&mut by_hand, &item);
            assert_eq!(by_hand, by_prost, "{item:?}");
        }
    }

    #[test]
    fn acking_items_round_trip_through_a_batch() {
        let mut buf = Vec::new();
        append(&mut buf, &Item::acking(Kind::Ack, 1, 2, 3, 4));
        let fail =
            Item { reason: "bad input".into(), blame_task: 9, ..Item::acking(Kind::Failed, 5, 6, 7, 0) };
        append(&mut buf, &fail);
        let mut out = Vec::new();
        decode_batch(&buf, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        let a = &out[0];
        assert_eq!((a.kind(), a.dest_task, a.src_task, a.root, a.xor), (Some(Kind::Ack), 1, 2, 3, 4));
        let f = &out[1];
        assert_eq!((f.kind(), f.dest_task, f.root, f.blame_task), (Some(Kind::Failed), 5, 7, 9));
        assert_eq!(f.reason, "bad input");
    }

    #[test]
    fn unknown_fields_and_unpacked_ids_are_accepted() {
        // Item { kind: 1, dest_task: 3, roots: [5] unpacked, edges: [6] unpacked, field 99 }.
        let mut body = vec![0x08, 1, 0x10, 3, 0x31];
        body.extend_from_slice(&5u64.to_le_bytes());
        body.push(0x39);
        body.extend_from_slice(&6u64.to_le_bytes());
        body.extend_from_slice(&[0x98, 0x06, 42]);
        let mut buf = vec![body.len() as u8];
        buf.extend_from_slice(&body);
        let mut out = Vec::new();
        decode_batch(&buf, &mut out).unwrap();
        assert_eq!((out[0].dest_task, out[0].ids.to_vec()), (3, vec![(5, 6)]));
    }

    #[test]
    fn malformed_batches_are_errors_not_panics() {
        let mut buf = Vec::new();
        append_tuple(&mut buf, 1, 2, 0, &[Value::Str("word".into()), Value::I64(-3)], &[7], &[8]);
        let mut out = Vec::new();
        for cut in 0..buf.len() {
            assert!(decode_batch(&buf[..cut], &mut out).is_err() || cut == 0, "cut at {cut}");
        }
        // Bytes that are not UTF-8 where text is expected.
        let bad = [5, 0x2a, 3, 0x22, 1, 0xff];
        assert!(decode_batch(&bad, &mut out).is_err());
        // Lists nested deeper than the recursion limit.
        let mut deep = Vec::new();
        for _ in 0..200 {
            let mut inner = vec![0x0a];
            prost::encoding::encode_varint(deep.len() as u64, &mut inner);
            inner.extend_from_slice(&deep);
            let mut outer = vec![0x32];
            prost::encoding::encode_varint(inner.len() as u64, &mut outer);
            outer.extend_from_slice(&inner);
            deep = outer;
        }
        let mut item = vec![0x2a];
        prost::encoding::encode_varint(deep.len() as u64, &mut item);
        item.extend_from_slice(&deep);
        let mut batch = Vec::new();
        prost::encoding::encode_varint(item.len() as u64, &mut batch);
        batch.extend_from_slice(&item);
        assert!(decode_batch(&batch, &mut out).is_err());
        // Random garbage.
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..10_000 {
            let junk: Vec<u8> = (0..rng.usize(..64)).map(|_| rng.u8(..)).collect();
            let _ = decode_batch(&junk, &mut out);
        }
    }
}
