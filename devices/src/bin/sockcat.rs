//! `sockcat`: a netcat for ZeroMQ-style sockets. See `sockcat --help` and
//! [`devices::sockcat`], where all of the logic lives.
#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    devices::sockcat::main()
}
