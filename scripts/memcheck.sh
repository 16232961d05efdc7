#!/usr/bin/env bash
# Runs the C API's test programs, and libzmq 4.3.4's own test suite built against libsock,
# under valgrind's memcheck: invalid reads and writes, uses of uninitialised memory and bad
# frees anywhere in libsock.so (or the programs) as C drives it.
#
#   bash scripts/memcheck.sh                 # the C programs of tests/c_api.rs (~2 min)
#   bash scripts/memcheck.sh --draft         # the same and the draft ones, on the draft build
#   bash scripts/memcheck.sh --suite         # and libzmq's 97 suite programs (~15 min)
#   bash scripts/memcheck.sh --draft --suite # the draft build, with the 22 programs of the
#                                            # draft suite (libzmq_suite_draft.rs)
#
# It first runs the cargo tests that build the programs (natively), then each program under
# valgrind. Needs valgrind (`apt-get install valgrind`). Exits 1 if memcheck reported an
# error in any program. A program that fails its own checks without a memcheck error is
# listed as "failed (slow)": valgrind runs everything 20-50x slower on one thread at a time,
# and some programs wait fixed times (libzmq's SETTLE_TIME, a 100 ms RCVTIMEO) or run under
# alarm(60); rerun those natively to tell a timing miss from a bug. Not part of .ci/run
# (too slow). Logs: target/memcheck/<program>.{out,vg}.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

command -v valgrind >/dev/null || { echo "memcheck.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }

# The programs tests/c_api.rs and tests/c_draft.rs run without arguments.
programs=(hello_reqrep socket_pairs interrupt option_sizes option_defaults ctx_values endpoint_rules
    multipart poll monitor msg_ownership msg_send_failure errors utils proxy security null_metadata
    option_values endpoint_strings msg_properties socket_states poll_edges api_sequences)
# Those of them that write their answers to a file (their first argument, here under the
# logs), and what else they take (api_sequences: c_api.rs's seeds and calls, ~30 s here).
declare -A file_args=([option_values]="" [endpoint_strings]="" [msg_properties]=""
    [socket_states]="" [poll_edges]="" [api_sequences]="1 400 300")
draft=no suite=no
for arg in "$@"; do
    case $arg in
        --draft) draft=yes ;;
        --suite) suite=yes ;;
        *) echo "usage: scripts/memcheck.sh [--draft] [--suite]" >&2; exit 2 ;;
    esac
done
build=(cargo test -p libsock-bindings --test c_api)
suite_dir=libzmq-suite
if [[ $draft == yes ]]; then
    build=(cargo test -p libsock-bindings --features draft --test c_api --test c_draft)
    programs+=(draft thread_safe poller monitor_v2)
    [[ $suite == yes ]] && build+=(--test libzmq_suite_draft)
    suite_dir=libzmq-suite-draft
elif [[ $suite == yes ]]; then
    build+=(--test libzmq_suite)
fi
echo "building (and running natively): ${build[*]}"
"${build[@]}" >/dev/null 2>&1 || { echo "memcheck.sh: ${build[*]} failed natively; fix that first" >&2; exit 2; }

tests=target/debug/c-tests
logs=target/memcheck
mkdir -p "$logs"
paths=()
for p in "${programs[@]}"; do paths+=("$tests/$p"); done
[[ $suite == yes ]] && paths+=("$tests/$suite_dir"/bin/*)

errors=0 slow=0
for p in "${paths[@]}"; do
    name=$(basename "$p")
    # libzmq's fuzz harnesses read their corpus relative to the suite's directory.
    dir=$tests
    [[ $p == */$suite_dir/bin/* ]] && dir=$tests/$suite_dir
    args=()
    if [[ $p != */$suite_dir/bin/* && -v file_args[$name] ]]; then
        read -ra args <<<"$root/$logs/$name.txt ${file_args[$name]}"
    fi
    start=$SECONDS
    (cd "$dir" && LD_LIBRARY_PATH="$root/$tests/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" timeout 900 \
        valgrind -q --error-exitcode=99 --log-file="$root/$logs/$name.vg" "$root/$p" "${args[@]}") \
        >"$logs/$name.out" 2>&1
    rc=$?
    took=$((SECONDS - start))
    if [[ $rc == 99 || -s $logs/$name.vg ]]; then
        errors=$((errors + 1))
        echo "$name: MEMCHECK ERRORS (${took}s), see $logs/$name.vg"
    elif [[ $rc != 0 ]]; then
        slow=$((slow + 1))
        echo "$name: failed (slow) rc=$rc (${took}s), see $logs/$name.out"
    else
        echo "$name: ok (${took}s)"
    fi
done
echo "memcheck: ${#paths[@]} programs, $errors with memcheck errors, $slow failed their own checks under valgrind"
((errors == 0))
