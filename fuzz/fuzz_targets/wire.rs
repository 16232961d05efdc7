//! The dataflow transfer batch (items from another worker over tcp) over arbitrary bytes:
//! decoded or rejected, never a panic; decoded tuples and acking events re-encode to a batch
//! that decodes and re-encodes to the same bytes.
#![no_main]

use dataflow::wire::{append_acking, append_tuple, decode_batch, Decoded, Kind};

/// Re-encodes what the codec's writers can express (tuples, plain acking events).
fn encode(items: &[Decoded]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        if item.kind() == Some(Kind::Tuple) {
            let roots: Vec<u64> = item.ids.iter().map(|&(root, _)| root).collect();
            let edges: Vec<u64> = item.ids.iter().map(|&(_, edge)| edge).collect();
            append_tuple(&mut out, item.dest_task, item.src_task, item.stream, &item.values, &roots, &edges);
        } else if item.values.is_empty() && item.ids.is_empty() && item.reason.is_empty() && item.blame_task == 0 {
            append_acking(&mut out, item.kind, item.dest_task, item.src_task, item.root, item.xor);
        }
    }
    out
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut items = Vec::new();
    if decode_batch(data, &mut items).is_err() {
        return;
    }
    let again = encode(&items);
    // Compared as bytes, not items: a NaN value is not equal to itself.
    let mut back = Vec::new();
    decode_batch(&again, &mut back).expect("a re-encoded batch decodes");
    assert_eq!(encode(&back), again);
});
