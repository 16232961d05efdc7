#!/usr/bin/env bash
# Word count with sockflow, fed and drained by sockcat: lines go in over a PUSH socket, each
# word's running count comes out over a PULL socket. Prints the final count per word.
#
#   bash scripts/wordcount.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> building sockcat and sockflow (release)"
cargo build --release -p devices --bin sockcat -p dataflow --bin sockflow
target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/release"

out=$(mktemp)
flow_pid=""
cleanup() {
    if [[ -n "$flow_pid" ]]; then kill "$flow_pid" 2>/dev/null || true; fi
    rm -f "$out"
}
trap cleanup EXIT

export WC_IN_PORT=$((20000 + RANDOM % 20000)) WC_OUT_PORT=$((40000 + RANDOM % 20000))
echo "==> sockflow run -e dataflow/examples/wordcount.yaml (in :$WC_IN_PORT, out :$WC_OUT_PORT)"
RUST_LOG=warn "$bin/sockflow" run -e dataflow/examples/wordcount.yaml --print-every 0 >/dev/null &
flow_pid=$!
"$bin/sockcat" pull --connect "tcp://127.0.0.1:$WC_OUT_PORT" --timeout 3000 >"$out" &
pull_pid=$!
printf '%s\n' "the quick brown fox" "jumps over the lazy dog" "The dog sleeps" |
    "$bin/sockcat" push --connect "tcp://127.0.0.1:$WC_IN_PORT" --timeout 5000
wait "$pull_pid" || true # exits 3 once no count arrived for 3 s
kill -TERM "$flow_pid" && wait "$flow_pid"
flow_pid=""
echo "==> final counts (word<TAB>count)"
# Each line is "word<TAB>running count"; keep the highest per word.
sort -t$'\t' -k1,1 -k2,2nr "$out" | sort -t$'\t' -k1,1 -u
