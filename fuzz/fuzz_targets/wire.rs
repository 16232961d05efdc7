//! The dataflow transfer batch (prost items from another worker over tcp) over arbitrary
//! bytes: decoded or rejected, never a panic; decoded values convert to tuple values and
//! re-encode to a batch that decodes and re-encodes to the same bytes.
#![no_main]

use dataflow::wire::{append, decode_batch, Item};
use dataflow::Value;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut items: Vec<Item> = Vec::new();
    if decode_batch(data, &mut items).is_err() {
        return;
    }
    let mut again = Vec::new();
    for item in &items {
        append(&mut again, item);
        let _ = item.kind();
        let _: Vec<Value> = item.values.iter().cloned().map(Value::from).collect();
    }
    // Compared as bytes, not items: a NaN value is not equal to itself.
    let mut back = Vec::new();
    decode_batch(&again, &mut back).expect("a re-encoded batch decodes");
    let mut third = Vec::new();
    back.iter().for_each(|item| append(&mut third, item));
    assert_eq!(third, again);
});
