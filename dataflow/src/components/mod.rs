//! Built-in components: socket source and sink (with their security), and small ones for tests and benchmarks.

pub mod drpc;
mod generator;
mod join;
mod security;
mod simple;
mod socket;
mod stateful;
mod window;

pub use generator::Generator;
pub use join::{JoinBolt, Selector};
pub use security::{EdgeSocket, Security};
pub use simple::{Counter, Logger, Splitter};
pub use socket::{SocketBolt, SocketSpec, SocketSpout};
pub use stateful::StatefulCounter;
pub use window::{WindowCounter, WindowSum};
