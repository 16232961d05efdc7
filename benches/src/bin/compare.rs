//! `compare`: libsock against libzmq, ØMQ.rs, zmq.rs and raw sockets, one markdown report.
//!
//! ```text
//! cargo run --release -p benches --bin compare -- [--quick] [--only thr,lat,pubsub,mem]
//! cargo run --release -p benches --bin compare -- memory
//! cargo run --release -p benches --bin compare -- --help
//! ```

fn main() {
    std::process::exit(benches::runner::main());
}
