//! The dataflow multilang codec over arbitrary child output in arbitrary pieces: every message
//! is parsed or rejected with an error, never a panic (an over-long message is an error, not
//! memory growth).
#![no_main]

use dataflow::multilang::protocol::{ChildMsg, Decoder};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let _ = ChildMsg::parse(data);
    let mut decoder = Decoder::default();
    for piece in data.chunks(usize::from(mode).max(1)) {
        decoder.feed(piece);
        loop {
            match decoder.next_msg() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                // The child is dropped on a protocol error; a bad message in the middle only
                // loses that message, so keep reading to reach the next ones.
                Err(e) => {
                    if e.0.starts_with("message longer") {
                        return;
                    }
                }
            }
        }
    }
});
