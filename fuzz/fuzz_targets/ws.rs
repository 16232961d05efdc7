//! The ZWS (`ws://`) layer over arbitrary peer bytes: the HTTP upgrade either side reads, then
//! WebSocket frames; errors, never panics, never buffers unboundedly, only whole ZMTP frames.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| libsock::fuzzing::ws_stream(data));
