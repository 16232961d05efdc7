//! `sockflow`: runs and checks dataflow topologies (see `sockflow --help`).

fn main() -> std::process::ExitCode {
    dataflow::cli::main()
}
