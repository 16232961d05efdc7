//! `Generator`: a spout that emits sentences or fixed-size payloads, optionally reliably.

use std::collections::VecDeque;

use crate::component::{FailReason, OutputDeclarer, Spout};
use crate::runtime::SpoutCollector;
use crate::tuple::Value;

/// Emits `count` tuples (0: forever) with one field: `sentence` cycling through `sentences`, or
/// `payload` of `size` bytes when there are no sentences. Reliable generators (the default)
/// emit with message ids and replay failed ones.
#[derive(Clone, Debug)]
pub struct Generator {
    sentences: Vec<String>,
    size: usize,
    count: u64,
    reliable: bool,
    /// Tuples per `next_tuple` call.
    burst: usize,
    next: u64,
    replay: VecDeque<u64>,
}

impl Generator {
    /// Cycles through `sentences`, `count` tuples in all (0: forever).
    pub fn sentences(sentences: Vec<String>, count: u64) -> Generator {
        Generator { sentences, size: 0, count, reliable: true, burst: 64, next: 0, replay: VecDeque::new() }
    }

    /// Emits `size`-byte payloads.
    pub fn payload(size: usize, count: u64) -> Generator {
        Generator { size, ..Generator::sentences(Vec::new(), count) }
    }

    /// With message ids (tracked and replayed) or without.
    pub fn reliable(mut self, reliable: bool) -> Generator {
        self.reliable = reliable;
        self
    }

    fn value(&self, i: u64) -> Value {
        if self.sentences.is_empty() {
            let mut v = vec![b'x'; self.size];
            v[..8.min(self.size)].copy_from_slice(&i.to_le_bytes()[..8.min(self.size)]);
            Value::Bytes(v)
        } else {
            Value::Str(self.sentences[(i % self.sentences.len() as u64) as usize].clone())
        }
    }
}

impl Spout for Generator {
    fn declare_outputs(&self, d: &mut OutputDeclarer) {
        d.declare(&[if self.sentences.is_empty() { "payload" } else { "sentence" }]);
    }

    fn next_tuple(&mut self, c: &mut SpoutCollector<'_>) {
        for _ in 0..self.burst {
            let i = match self.replay.pop_front() {
                Some(i) => i,
                None if self.count == 0 || self.next < self.count => {
                    self.next += 1;
                    self.next - 1
                }
                None => return,
            };
            c.emit(vec![self.value(i)], self.reliable.then_some(i));
        }
    }

    fn fail(&mut self, msg_id: u64, _why: &FailReason) {
        self.replay.push_back(msg_id);
    }
}
