//! The decoder half of [`super`]: straight from a batch's bytes into [`Decoded`] items.

use std::collections::BTreeMap;

use prost::DecodeError;
use smallvec::SmallVec;

use super::{decode_varint, Decoded, FIXED32, FIXED64, LEN, MAX_DEPTH, VARINT};
use crate::tuple::Value;

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
pub fn decode_batch(bytes: &[u8], out: &mut Vec<Decoded>) -> Result<(), DecodeError> {
    for item in batch(bytes) {
        out.push(item?);
    }
    Ok(())
}

/// The items of a batch, decoded one by one as they are taken.
pub fn batch(bytes: &[u8]) -> Batch<'_> {
    Batch { rest: bytes }
}

/// Iterator over a batch's items; it ends after the first malformed one (an `Err`).
#[derive(Debug)]
pub struct Batch<'a> {
    rest: &'a [u8],
}

impl Iterator for Batch<'_> {
    type Item = Result<Decoded, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = read_len(&mut self.rest).and_then(read_item);
        if item.is_err() {
            self.rest = &[];
        }
        Some(item)
    }
}
