//! The whole ZMTP session decoder (greeting, handshake, frames, commands) over arbitrary
//! bytes delivered in arbitrary pieces: must never panic or buffer more than it was fed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| libsock::fuzzing::session_decode(data));
