//! The SOCKS5 client handshake over arbitrary proxy replies: errors, never panics; the bytes
//! after the reply reach ZMTP untouched.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| libsock::fuzzing::socks_reply(data));
