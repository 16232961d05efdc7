//! `sockflow` (dataflow's command, `dataflow::cli::main`), built in this crate so that its
//! integration tests can run it as a separate process (`CARGO_BIN_EXE_tests-sockflow`).

fn main() -> std::process::ExitCode {
    dataflow::cli::main()
}
