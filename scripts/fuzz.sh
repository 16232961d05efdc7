#!/usr/bin/env bash
# Runs the fuzz targets on a stable toolchain, one at a time, each for SECONDS (default 120).
#
#   cargo install cargo-fuzz          # once
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# RUSTC_BOOTSTRAP=1 lets stable rustc take the `-Z sanitizer=address` flags cargo-fuzz passes
# (the ASan runtime ships with the stable toolchain). Each target starts from the committed
# seeds in fuzz/seeds/<target> (real NULL/PLAIN/CURVE conversations) and grows its own
# fuzz/corpus/<target> (not committed). Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-120}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(decode session plain curve plain_stream curve_stream multilang wire config socks state drpc ws)
fi
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -workers=1 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
done
