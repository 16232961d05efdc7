//! The PLAIN handshake (and, for CURVE, MESSAGE decryption) over arbitrary bytes in arbitrary
//! pieces, as client and as server: must never panic or buffer more than it was fed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| libsock::fuzzing::plain_handshake(data));
