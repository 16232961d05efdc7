#!/usr/bin/env python3
"""A/B of throughput tools (libzmq's local_thr/remote_thr protocol), pinned, runs alternating.

  python3 scripts/ab_thr.py [--unpinned] SIZE COUNT REPS NAME=LOCAL:REMOTE [NAME=LOCAL:REMOTE ...]

Each repetition runs every pair once, in a rotating order: LOCAL on the last core (it binds
tcp://127.0.0.1:<free port>), REMOTE on the first. Prints per pair the median throughput
(as LOCAL reports it), the median CPU time per message of each process (user + system, from
wait4) and every run's throughput (--unpinned: the scheduler places both processes), so that two builds are compared in the same window of
this VM's drift. For builds of one tool, copy each build's binaries aside first; for C tools
on two builds of libsock.so, give a wrapper script that sets LD_LIBRARY_PATH.

Example (the C perf tools on libsock against libsock's Rust twins):
  B=target/bindings-bench R=target/release
  python3 scripts/ab_thr.py 64 8000000 9 C=$B/libsock_local_thr:$B/libsock_remote_thr \\
      Rust=$R/local_thr:$R/remote_thr
"""
import os
import re
import socket
import statistics
import subprocess
import sys
import time


def free_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


PINNED = True


def run_pair(local, remote, size, count):
    last = max(os.sched_getaffinity(0))
    cpus = os.sched_getaffinity(0)
    ep = free_endpoint()
    server = subprocess.Popen([local, ep, str(size), str(count)], stdout=subprocess.PIPE, text=True,
                              preexec_fn=lambda: os.sched_setaffinity(0, {last} if PINNED else cpus))
    time.sleep(0.2)
    client = subprocess.Popen([remote, ep, str(size), str(count)], stdout=subprocess.DEVNULL,
                              preexec_fn=lambda: os.sched_setaffinity(0, {0} if PINNED else cpus))
    _, client_status, client_ru = os.wait4(client.pid, 0)
    _, server_status, server_ru = os.wait4(server.pid, 0)
    out = server.stdout.read()
    if client_status or server_status:
        sys.exit(f"ab_thr.py: {local} / {remote} failed: {out}")
    found = re.search(r"mean throughput: (\d+) \[msg/s\]", out)
    if not found:
        sys.exit(f"ab_thr.py: no throughput in the output of {local}: {out}")
    per_msg = lambda ru: (ru.ru_utime + ru.ru_stime) / count * 1e9
    return float(found.group(1)), per_msg(server_ru), per_msg(client_ru)


def main():
    global PINNED
    if sys.argv[1:2] == ["--unpinned"]:
        PINNED = False
        del sys.argv[1]
    if len(sys.argv) < 5 or any("=" not in a or ":" not in a for a in sys.argv[4:]):
        sys.exit(__doc__)
    size, count, reps = (int(a) for a in sys.argv[1:4])
    pairs = [arg.split("=", 1) for arg in sys.argv[4:]]
    results = {name: [] for name, _ in pairs}
    for rep in range(reps):
        order = pairs[rep % len(pairs):] + pairs[:rep % len(pairs)]
        for name, tools in order:
            local, remote = tools.split(":", 1)
            results[name].append(run_pair(local, remote, size, count))
    print(f"{size} B, {count} messages, {reps} runs each, {'pinned' if PINNED else 'unpinned'}; medians:")
    for name, runs in results.items():
        med = lambda i: statistics.median(r[i] for r in runs)
        every = " ".join(f"{r[0] / 1e3:.0f}" for r in sorted(runs))
        print(f"{name:10s} {med(0) / 1e3:10.1f} k msg/s  receiver {med(1):8.1f} ns CPU/msg  "
              f"sender {med(2):8.1f} ns CPU/msg   runs (k msg/s): {every}")


if __name__ == "__main__":
    main()
