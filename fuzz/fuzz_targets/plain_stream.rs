//! A real PLAIN handshake and messages between two of our sessions, one direction of the
//! traffic mutated in flight per the input (flipped bytes, truncation, replays, swaps, frames
//! from another connection, length fields, nonce counters): see `libsock::fuzzing::plain_stream`.
//! Asserts that ZAP only ever admits the real credentials and that untouched traffic yields
//! exactly the messages sent, in order (PLAIN has no integrity: tampered bytes may pass).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| libsock::fuzzing::plain_stream(data));
