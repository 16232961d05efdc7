//! `sockdev`: queue, forwarder and streamer relays. See `sockdev --help` and
//! [`devices::sockdev`], where all of the logic lives.
#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    devices::sockdev::main()
}
