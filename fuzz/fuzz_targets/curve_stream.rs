//! A real CURVE handshake and messages between two of our sessions, one direction of the
//! traffic mutated in flight per the input (flipped bytes, truncation, replays, swaps, frames
//! from another connection, length fields, nonce counters): see `libsock::fuzzing::curve_stream`.
//! Asserts that tampered traffic never yields a message the sender did not send, in order,
//! and that ZAP only ever hears the client's real key.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| libsock::fuzzing::curve_stream(data));
