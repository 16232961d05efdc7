//! Config parsing over arbitrary text: the sockdev TOML file and the sockflow Flux-style
//! topology YAML (with `${…}` substitution and validation). Errors, never panics.
#![no_main]

use dataflow::config::{parse, Substitution};
use dataflow::Registry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(data) else { return };
    if mode & 1 == 0 {
        let _ = devices::sockdev::config::parse(text);
    } else {
        // A file name in a directory that does not exist, so `includes` cannot reach real
        // files and the target stays deterministic.
        let _ = parse(text, "/nonexistent-fuzz/topology.yaml", &Substitution::default(), &Registry::new());
    }
});
