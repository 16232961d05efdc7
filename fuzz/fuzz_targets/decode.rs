//! Every ZMTP decoder over arbitrary bytes: must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| libsock::fuzzing::decode_all(data));
