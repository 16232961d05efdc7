#!/usr/bin/env bash
# CURVE over tcp: libsock's perf tools (with <enable_curve> = 1) against libzmq 4.3 with
# libsodium (Debian's libzmq5, driven by benches/c/curve_perf.c), side by side, medians of
# REPS runs, then the CPU cost of a handshake. Needs: cc, libzmq3-dev (zmq.h, libzmq.so).
#
#   bash benches/curve_bench.sh [REPS] [THR_COUNT] [LAT_COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-5}
THR_COUNT=${2:-200000}
LAT_COUNT=${3:-20000}
BIN=target/release
cargo build --release -q -p benches --bin local_thr --bin remote_thr --bin local_lat --bin remote_lat --bin curve_handshake
mkdir -p target/curve-bench
cc -O2 -o target/curve-bench/curve_perf benches/c/curve_perf.c -lzmq
CP=target/curve-bench/curve_perf
port=$((20000 + RANDOM % 20000))

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# thr IMPL SIZE -> msg/s
thr() {
    local ep="tcp://127.0.0.1:$((port++))" out
    if [[ $1 == libsock ]]; then
        out=$($BIN/local_thr "$ep" "$2" "$THR_COUNT" 1 & sleep 0.3; $BIN/remote_thr "$ep" "$2" "$THR_COUNT" 1; wait)
    else
        out=$($CP local_thr "$ep" "$2" "$THR_COUNT" & sleep 0.3; $CP remote_thr "$ep" "$2" "$THR_COUNT"; wait)
    fi
    awk '/msg\/s/ {print $3}' <<<"$out"
}

# lat IMPL SIZE -> one-way latency in us
lat() {
    local ep="tcp://127.0.0.1:$((port++))" out
    if [[ $1 == libsock ]]; then
        out=$($BIN/local_lat "$ep" "$2" "$LAT_COUNT" 1 & sleep 0.3; $BIN/remote_lat "$ep" "$2" "$LAT_COUNT" 1; wait)
    else
        out=$($CP local_lat "$ep" "$2" "$LAT_COUNT" & sleep 0.3; $CP remote_lat "$ep" "$2" "$LAT_COUNT"; wait)
    fi
    awk '/average latency/ {print $3}' <<<"$out"
}

echo "| CURVE, tcp | libsock | libzmq 4.3 + libsodium | libsock / libzmq |"
echo "|---|---:|---:|---:|"
for size in 64 1024; do
    for kind in thr lat; do
        a=(); b=()
        for _ in $(seq "$REPS"); do
            a+=("$($kind libsock "$size")")
            b+=("$($kind libzmq "$size")")
        done
        ma=$(printf '%s\n' "${a[@]}" | median)
        mb=$(printf '%s\n' "${b[@]}" | median)
        unit=$([[ $kind == thr ]] && echo "msg/s" || echo "us one-way")
        printf '| %s %s B (%s) | %s | %s | %.2f |\n' "$kind" "$size" "$unit" "$ma" "$mb" "$(echo "$ma / $mb" | bc -l)"
    done
done
echo
$BIN/curve_handshake 2000
