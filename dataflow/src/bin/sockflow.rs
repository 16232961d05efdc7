//! `sockflow`: runs and checks dataflow topologies.
fn main() {}
