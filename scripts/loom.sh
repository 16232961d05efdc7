#!/usr/bin/env bash
# Model checks of libsock's lock-free ring with loom (libsock/src/sys/ring_loom_tests.rs):
# every interleaving of small runs under the C11 memory model, up to 3 preemptions.
#
#   scripts/loom.sh                 # all of them (~1 min after the build)
#   scripts/loom.sh loom_batches    # one; extra arguments go to the test binary
#   LOOM_LOG=trace LOOM_LOCATION=1 scripts/loom.sh loom_single   # explain a failure
#
# `--cfg loom` changes how libsock compiles, so it builds in its own target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-loom_}
shift || true
RUSTFLAGS="--cfg loom ${RUSTFLAGS:-}" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}" \
    cargo test -p libsock --lib --release -- "$filter" "$@"
