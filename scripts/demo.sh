#!/usr/bin/env bash
# The main job, end to end: build sockcat, start a puller, push three lines into it, show
# what arrived. Exits 0 when all three lines came through.
#
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> building sockcat (release)"
cargo build --release -p devices --bin sockcat
target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
sockcat="$target_dir/release/sockcat"

out=$(mktemp)
pull_pid=""
cleanup() {
    if [[ -n "$pull_pid" ]]; then kill "$pull_pid" 2>/dev/null || true; fi
    rm -f "$out"
}
trap cleanup EXIT

# Start the puller on a free port: pick one, and if the bind is refused, try another.
for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    endpoint="tcp://127.0.0.1:$port"
    "$sockcat" pull --bind "$endpoint" --count 3 --timeout 10000 >"$out" &
    pull_pid=$!
    sleep 0.3
    if kill -0 "$pull_pid" 2>/dev/null; then break; fi
    wait "$pull_pid" || true
    pull_pid=""
done
if [[ -z "$pull_pid" ]]; then
    echo "demo: could not find a free port" >&2
    exit 1
fi

echo "==> sockcat pull --bind $endpoint --count 3   (in the background)"
echo "==> printf 'hello\\nmulti\\tpart\\nbye\\n' | sockcat push --connect $endpoint"
printf 'hello\nmulti\tpart\nbye\n' | "$sockcat" push --connect "$endpoint" --timeout 10000

status=0
wait "$pull_pid" || status=$?
pull_pid=""
echo "==> the puller printed (TAB shown as ^I):"
cat -A "$out" | sed 's/\$$//'
if [[ $status -ne 0 ]]; then
    echo "demo: the puller exited with code $status" >&2
    exit 1
fi
if [[ "$(cat "$out")" != "$(printf 'hello\nmulti\tpart\nbye')" ]]; then
    echo "demo: unexpected output" >&2
    exit 1
fi
echo "==> ok: 3 messages (one of them two frames) went from push to pull"
