//! Config parsing over arbitrary text: the sockdev TOML file, the sockflow Flux-style
//! topology YAML (with `${…}` substitution and validation) and CURVE certificate files.
//! Errors, never panics. The first byte picks the parser: 0 TOML, 1 YAML, 2 certificate.
#![no_main]

use dataflow::config::{parse, Substitution};
use dataflow::Registry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(data) else { return };
    if mode % 3 == 0 {
        let _ = devices::sockdev::config::parse(text);
    } else if mode % 3 == 2 {
        if let Ok((public, Some(secret))) = libsock::parse_certificate(text) {
            assert_eq!(libsock::curve_public(&secret).ok(), Some(public), "a secret is its public key's");
        }
    } else {
        // A file name in a directory that does not exist, so `includes` cannot reach real
        // files and the target stays deterministic.
        let _ = parse(text, "/nonexistent-fuzz/topology.yaml", &Substitution::default(), &Registry::new());
    }
});
