//! Word count end to end: exact counts under fields grouping, every spout tuple acked.

mod common;

use std::time::Duration;

use common::{eventually, Sink};
use dataflow::components::{Counter, Generator, Splitter};
use dataflow::{Basic, TopologyBuilder};

#[test]
fn word_count_is_exact_under_fields_grouping() {
    let sink = Sink::default();
    let counts = sink.counts.clone();
    let mut b = TopologyBuilder::new("wc");
    let sentences = vec!["the cat sat".to_owned(), "the dog ran the race".to_owned()];
    b.set_spout("gen", move || Box::new(Generator::sentences(sentences.clone(), 1000)), 1);
    b.set_bolt("split", || Box::new(Basic(Splitter::default())), 2).shuffle_grouping("gen");
    b.set_bolt("count", || Box::new(Basic(Counter::by("word"))), 3).fields_grouping("split", &["word"]);
    b.set_bolt("sink", move || Box::new(Basic(sink.clone())), 1).shuffle_grouping("count");
    let running = dataflow::start(&b.build().unwrap()).unwrap();
    let hub = running.metrics();
    let done = eventually(30, || hub.component_total("gen", |t| t.acked) == 1000);
    assert!(running.shutdown(Duration::from_secs(5)));
    assert!(done, "acked: {}", hub.component_total("gen", |t| t.acked));
    let counts = counts.lock().unwrap().clone();
    // 500 of each sentence: "the" ×(1+2), cat/sat/dog/ran/race ×1 each.
    assert_eq!(counts.get("the"), Some(&1500));
    for w in ["cat", "sat", "dog", "ran", "race"] {
        assert_eq!(counts.get(w), Some(&500), "{w}");
    }
    assert_eq!(hub.component_total("gen", |t| t.failed), 0);
}
