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

use prost::encoding::{decode_varint, encode_varint, encoded_len_varint};
use prost::DecodeError;
use smallvec::SmallVec;

use crate::tuple::Value;

/// Nesting limit for lists and maps (prost's own recursion limit): hostile input cannot
/// overflow the stack.
const MAX_DEPTH: u32 = 100;

// Wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

fn key(tag: u64, wire_type: u64) -> u64 {
    (tag << 3) | wire_type
}

/// Tuple-tree ids (root, edge) of one tuple: nearly always one tree, kept inline.
pub type Ids = SmallVec<[(u64, u64); 1]>;

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

/// Reads a field key: (tag, wire type).
fn read_key(b: &mut &[u8]) -> Result<(u32, u64), DecodeError> {
    let k = decode_varint(b)?;
    let tag = k >> 3;
    if tag == 0 || tag > u64::from(u32::MAX >> 3) {
        return Err(DecodeError::new("invalid field tag"));
    }
    Ok((tag as u32, k & 7))
}

/// Splits off a length-delimited payload.
fn read_len<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let n = decode_varint(b)?;
    if n > b.len() as u64 {
        return Err(DecodeError::new("buffer underflow"));
    }
    let (head, tail) = b.split_at(n as usize);
    *b = tail;
    Ok(head)
}

fn read_fixed64(b: &mut &[u8]) -> Result<u64, DecodeError> {
    if b.len() < 8 {
        return Err(DecodeError::new("buffer underflow"));
    }
    let (head, tail) = b.split_at(8);
    *b = tail;
    Ok(u64::from_le_bytes(head.try_into().expect("8 bytes")))
}

/// Skips a field this decoder does not know (a newer sender's), as protobuf requires.
fn skip(b: &mut &[u8], wire_type: u64) -> Result<(), DecodeError> {
    match wire_type {
        VARINT => decode_varint(b).map(drop),
        FIXED64 => read_fixed64(b).map(drop),
        LEN => read_len(b).map(drop),
        FIXED32 if b.len() >= 4 => {
            *b = &b[4..];
            Ok(())
        }
        _ => Err(DecodeError::new("unsupported wire type")),
    }
}

fn expect(wire_type: u64, want: u64) -> Result<(), DecodeError> {
    if wire_type == want {
        Ok(())
    } else {
        Err(DecodeError::new("invalid wire type"))
    }
}

fn text(bytes: &[u8]) -> Result<String, DecodeError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| DecodeError::new("invalid string value: data is not UTF-8 encoded"))
}

/// Decodes a `WireValue` message body.
fn read_value(mut b: &[u8], depth: u32) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::new("recursion limit reached"));
    }
    let mut v = Value::Null;
    while !b.is_empty() {
        let (tag, wt) = read_key(&mut b)?;
        // A oneof: the last case present wins, as in prost.
        v = match tag {
            1 => {
                expect(wt, VARINT)?;
                Value::Bool(decode_varint(&mut b)? != 0)
            }
            2 => {
                expect(wt, VARINT)?;
                let u = decode_varint(&mut b)?;
                Value::I64(((u >> 1) as i64) ^ -((u & 1) as i64))
            }
            3 => {
                expect(wt, FIXED64)?;
                Value::F64(f64::from_bits(read_fixed64(&mut b)?))
            }
            4 => {
                expect(wt, LEN)?;
                Value::Str(text(read_len(&mut b)?)?)
            }
            5 => {
                expect(wt, LEN)?;
                Value::Bytes(read_len(&mut b)?.to_vec())
            }
            6 => {
                expect(wt, LEN)?;
                Value::List(read_list(read_len(&mut b)?, depth + 1)?)
            }
            7 => {
                expect(wt, LEN)?;
                Value::Map(read_map(read_len(&mut b)?, depth + 1)?)
            }
            _ => {
                skip(&mut b, wt)?;
                continue;
            }
        };
    }
    Ok(v)
}

fn read_list(mut b: &[u8], depth: u32) -> Result<Vec<Value>, DecodeError> {
    let mut items = Vec::new();
    while !b.is_empty() {
        match read_key(&mut b)? {
            (1, LEN) => items.push(read_value(read_len(&mut b)?, depth)?),
            (1, _) => return Err(DecodeError::new("invalid wire type")),
            (_, wt) => skip(&mut b, wt)?,
        }
    }
    Ok(items)
}

fn read_map(mut b: &[u8], depth: u32) -> Result<BTreeMap<String, Value>, DecodeError> {
    let (mut keys, mut values) = (Vec::new(), Vec::new());
    while !b.is_empty() {
        match read_key(&mut b)? {
            (1, LEN) => keys.push(text(read_len(&mut b)?)?),
            (2, LEN) => values.push(read_value(read_len(&mut b)?, depth)?),
            (1 | 2, _) => return Err(DecodeError::new("invalid wire type")),
            (_, wt) => skip(&mut b, wt)?,
        }
    }
    Ok(keys.into_iter().zip(values).collect())
}

/// Reads repeated fixed64 ids, packed (what prost writes) or one per field.
fn read_ids(b: &mut &[u8], wire_type: u64, out: &mut SmallVec<[u64; 2]>) -> Result<(), DecodeError> {
    match wire_type {
        LEN => {
            let packed = read_len(b)?;
            if packed.len() % 8 != 0 {
                return Err(DecodeError::new("packed fixed64 length is not a multiple of 8"));
            }
            out.extend(packed.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))));
            Ok(())
        }
        FIXED64 => {
            out.push(read_fixed64(b)?);
            Ok(())
        }
        _ => Err(DecodeError::new("invalid wire type")),
    }
}

fn read_u32(b: &mut &[u8], wire_type: u64) -> Result<u32, DecodeError> {
    expect(wire_type, VARINT)?;
    // prost truncates a wider varint for a uint32 field; so do we.
    Ok(decode_varint(b)? as u32)
}

/// Decodes one `Item` body.
fn read_item(mut b: &[u8]) -> Result<Decoded, DecodeError> {
    let mut d = Decoded::default();
    let (mut roots, mut edges) = (SmallVec::<[u64; 2]>::new(), SmallVec::<[u64; 2]>::new());
    while !b.is_empty() {
        let (tag, wt) = read_key(&mut b)?;
        match tag {
            1 => d.kind = read_u32(&mut b, wt)?,
            2 => d.dest_task = read_u32(&mut b, wt)?,
            3 => d.src_task = read_u32(&mut b, wt)?,
            4 => d.stream = read_u32(&mut b, wt)?,
            5 => {
                expect(wt, LEN)?;
                let v = read_value(read_len(&mut b)?, 0)?;
                d.values.push(v);
            }
            6 => read_ids(&mut b, wt, &mut roots)?,
            7 => read_ids(&mut b, wt, &mut edges)?,
            8 => {
                expect(wt, FIXED64)?;
                d.root = read_fixed64(&mut b)?;
            }
            9 => {
                expect(wt, FIXED64)?;
                d.xor = read_fixed64(&mut b)?;
            }
            10 => {
                expect(wt, LEN)?;
                d.reason = text(read_len(&mut b)?)?;
            }
            11 => d.blame_task = read_u32(&mut b, wt)?,
            _ => skip(&mut b, wt)?,
        }
    }
    d.ids = roots.into_iter().zip(edges).collect();
    Ok(d)
}

/// Decodes every item of a batch into `out`; a malformed batch is an error (the caller drops
/// it and logs), and the items before the bad one are kept.
pub fn decode_batch(mut bytes: &[u8], out: &mut Vec<Decoded>) -> Result<(), DecodeError> {
    while !bytes.is_empty() {
        let body = read_len(&mut bytes)?;
        out.push(read_item(body)?);
    }
    Ok(())
}
