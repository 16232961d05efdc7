//! Benchmarks and perf tools for libsock.
