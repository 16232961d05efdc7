//! A stateful bolt's checkpoint file (read back after a restart, from a disk anyone may have
//! damaged) over arbitrary bytes: decoded or rejected with a message, never a panic; what
//! decodes re-encodes to a file that decodes and re-encodes to the same bytes.
#![no_main]

use dataflow::state::{decode, encode};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = decode(data) else { return };
    let again = encode(&snapshot);
    // Compared as bytes, not snapshots: a NaN value is not equal to itself.
    let back = decode(&again).expect("a re-encoded state file decodes");
    assert_eq!(encode(&back), again);
});
