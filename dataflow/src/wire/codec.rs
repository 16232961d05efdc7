//! The hot path's encoder and decoder for [`Item`](super::Item)s, hand-written over the same
//! protobuf schema.
//!
//! Why not prost's derive here: profiles of the 3-bolt chain showed about a quarter of the CPU
//! in malloc/free and a fifth in prost, because every hop turned `Value`s into `WireValue`s
//! (a `Vec` per tuple plus `roots`/`edges` `Vec`s), encoded them, then decoded into fresh
//! `WireValue`s and converted those into `Value`s again. This module writes a tuple straight
//! from `&[Value]` into the batch buffer and reads it straight back into `Value`s, so a hop
//! allocates only what the receiving [`Tuple`](crate::Tuple) owns. The bytes are exactly what
//! prost writes for the equivalent `Item` (a test checks byte equality on random values), and
//! the decoder accepts anything a protobuf encoder may write for the schema (fields in any
//! order, unknown fields skipped, packed or unpacked repeated ids), so the wire format stays
//! the documented, versionable one.

use std::collections::BTreeMap;

use prost::encoding::encoded_len_varint;
use prost::DecodeError;

pub use crate::tuple::Ids;
use crate::tuple::Value;

mod decode;

pub use decode::{batch, decode_batch, Batch};

/// Nesting limit for lists and maps (prost's own recursion limit): hostile input cannot
/// overflow the stack.
const MAX_DEPTH: u32 = 100;

// Wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// prost's `encode_varint` writes through `BufMut` a byte at a time; nearly every varint
/// here (keys, tasks, short lengths) is one byte.
#[inline]
fn encode_varint(v: u64, buf: &mut Vec<u8>) {
    if v < 0x80 {
        buf.push(v as u8);
    } else {
        prost::encoding::encode_varint(v, buf);
    }
}

/// The same one-byte shortcut for reading.
#[inline]
fn decode_varint(b: &mut &[u8]) -> Result<u64, DecodeError> {
    match b.first() {
        Some(&v) if v < 0x80 => {
            *b = &b[1..];
            Ok(u64::from(v))
        }
        _ => prost::encoding::decode_varint(b),
    }
}

fn key(tag: u64, wire_type: u64) -> u64 {
    (tag << 3) | wire_type
}

/// One decoded item: a tuple (values decoded) or an acking event.
#[derive(Debug, Default)]
pub struct Decoded {
    /// [`Kind`](super::Kind) as a number.
    pub kind: u32,
    /// Task this item is for.
    pub dest_task: u32,
    /// Task that sent it.
    pub src_task: u32,
    /// Stream index (tuples).
    pub stream: u32,
    /// Tuple values.
    pub values: Vec<Value>,
    /// Tuple trees (root, edge).
    pub ids: Ids,
    /// Acking: the root id.
    pub root: u64,
    /// Acking: the value to XOR in.
    pub xor: u64,
    /// Failures: why.
    pub reason: String,
    /// Failures: the task to blame.
    pub blame_task: u32,
}

impl Decoded {
    /// The item's kind, if known.
    pub fn kind(&self) -> Option<super::Kind> {
        super::Kind::from_u32(self.kind)
    }
}

/// Encoded length of a value as a `WireValue` message body.
fn value_len(v: &Value) -> usize {
    let field = |len: usize| 1 + encoded_len_varint(len as u64) + len;
    match v {
        Value::Null => 0,
        Value::Bool(_) => 2,
        Value::I64(i) => 1 + encoded_len_varint(zigzag(*i)),
        Value::F64(_) => 9,
        Value::Str(s) => field(s.len()),
        Value::Bytes(b) => field(b.len()),
        Value::List(l) => field(list_len(l)),
        Value::Map(m) => field(map_len(m)),
    }
}

fn list_len(l: &[Value]) -> usize {
    l.iter().map(|v| len_field(value_len(v))).sum()
}

fn map_len(m: &BTreeMap<String, Value>) -> usize {
    m.iter().map(|(k, v)| len_field(k.len()) + len_field(value_len(v))).sum()
}

/// A length-delimited field with a one-byte key.
fn len_field(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn put_len(buf: &mut Vec<u8>, tag: u64, len: usize) {
    encode_varint(key(tag, LEN), buf);
    encode_varint(len as u64, buf);
}

fn put_value(buf: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => {}
        Value::Bool(b) => {
            encode_varint(key(1, VARINT), buf);
            buf.push(u8::from(*b));
        }
        Value::I64(i) => {
            encode_varint(key(2, VARINT), buf);
            encode_varint(zigzag(*i), buf);
        }
        Value::F64(f) => {
            encode_varint(key(3, FIXED64), buf);
            buf.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            put_len(buf, 4, s.len());
            buf.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            put_len(buf, 5, b.len());
            buf.extend_from_slice(b);
        }
        Value::List(l) => {
            put_len(buf, 6, list_len(l));
            for v in l {
                put_len(buf, 1, value_len(v));
                put_value(buf, v);
            }
        }
        Value::Map(m) => {
            put_len(buf, 7, map_len(m));
            for k in m.keys() {
                put_len(buf, 1, k.len());
                buf.extend_from_slice(k.as_bytes());
            }
            for v in m.values() {
                put_len(buf, 2, value_len(v));
                put_value(buf, v);
            }
        }
    }
}

fn uint_field_len(v: u32) -> usize {
    if v == 0 {
        0
    } else {
        1 + encoded_len_varint(u64::from(v))
    }
}

fn put_uint(buf: &mut Vec<u8>, tag: u64, v: u32) {
    if v != 0 {
        encode_varint(key(tag, VARINT), buf);
        encode_varint(u64::from(v), buf);
    }
}

/// Appends a length-delimited tuple item (kind `Tuple`) to `buf`: the same bytes prost writes
/// for an `Item` with these fields. `roots` and `edges` are parallel.
pub fn append_tuple(
    buf: &mut Vec<u8>,
    dest_task: u32,
    src_task: u32,
    stream: u32,
    values: &[Value],
    roots: &[u64],
    edges: &[u64],
) {
    let kind = super::Kind::Tuple as u32;
    let ids_len = |n: usize| if n == 0 { 0 } else { len_field(8 * n) };
    let len = uint_field_len(kind)
        + uint_field_len(dest_task)
        + uint_field_len(src_task)
        + uint_field_len(stream)
        + list_len(values)
        + ids_len(roots.len())
        + ids_len(edges.len());
    buf.reserve(len + 5);
    encode_varint(len as u64, buf);
    put_uint(buf, 1, kind);
    put_uint(buf, 2, dest_task);
    put_uint(buf, 3, src_task);
    put_uint(buf, 4, stream);
    for v in values {
        put_len(buf, 5, value_len(v));
        put_value(buf, v);
    }
    for (tag, ids) in [(6, roots), (7, edges)] {
        if !ids.is_empty() {
            put_len(buf, tag, 8 * ids.len());
            ids.iter().for_each(|id| buf.extend_from_slice(&id.to_le_bytes()));
        }
    }
}

/// Appends a length-delimited acking item (no values, ids, reason or blame): the bytes prost
/// writes for `Item::acking(kind, dest_task, src_task, root, xor)`, without its passes.
pub fn append_acking(buf: &mut Vec<u8>, kind: u32, dest_task: u32, src_task: u32, root: u64, xor: u64) {
    let fixed = |v: u64| if v == 0 { 0 } else { 9 };
    let len = uint_field_len(kind)
        + uint_field_len(dest_task)
        + uint_field_len(src_task)
        + fixed(root)
        + fixed(xor);
    encode_varint(len as u64, buf);
    put_uint(buf, 1, kind);
    put_uint(buf, 2, dest_task);
    put_uint(buf, 3, src_task);
    for (tag, v) in [(8, root), (9, xor)] {
        if v != 0 {
            encode_varint(key(tag, FIXED64), buf);
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
}
