#!/usr/bin/env python3
"""Side-by-side run of libzmq's own perf tools (local/remote_thr, local/remote_lat):

  libzmq    the tools built against libzmq's zmq.h, linked with the system libzmq (libzmq3-dev)
  libsock/C the same sources built against bindings/include/zmq.h, linked with libsock.so
  libsock/Rust  libsock's Rust twins of the tools (benches crate), for the cost of the C layer

Usage: python3 bindings/bench.py [--reps N] [--quick]
Needs: cargo build --release -p libsock-bindings -p benches (done here), c++, libzmq3-dev.
Prints a markdown table: medians over N repetitions (implementations rotate each repetition)
of throughput (msg/s, as the tools report it) and CPU time per message (user + system of both
processes, from wait4), which is steadier than wall-clock figures on a shared machine.
"""
import argparse
import glob
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = ["local_thr", "remote_thr", "local_lat", "remote_lat"]


def sh(*args, **kw):
    subprocess.run(args, check=True, **kw)


def vendor_dir():
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = sorted(glob.glob(f"{home}/registry/src/*/zeromq-src-*/vendor/perf/local_thr.cpp"))
    if not found:
        sys.exit("bench.py: libzmq source (zeromq-src in cargo's registry) not found; run cargo build -p benches")
    return os.path.dirname(os.path.dirname(found[-1]))


def build(target):
    vendor = vendor_dir()
    out = os.path.join(target, "bindings-bench")
    release = os.path.join(target, "release")
    libdir = os.path.join(out, "lib")
    os.makedirs(libdir, exist_ok=True)
    for name in ["libsock.so", "libsock.so.0"]:
        link = os.path.join(libdir, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(release, "libsock.so"), link)
    tree = os.path.join(out, "libsock-src")
    os.makedirs(os.path.join(tree, "perf"), exist_ok=True)
    shutil.copytree(os.path.join(ROOT, "bindings", "include"), os.path.join(tree, "include"), dirs_exist_ok=True)
    bins = {"libzmq": {}, "libsock/C": {}, "libsock/Rust": {}}
    for tool in TOOLS:
        src = os.path.join(vendor, "perf", f"{tool}.cpp")
        shutil.copy(src, os.path.join(tree, "perf"))
        zmq_bin = os.path.join(out, f"libzmq_{tool}")
        sock_bin = os.path.join(out, f"libsock_{tool}")
        sh("c++", "-O2", src, "-o", zmq_bin, "-lzmq")
        sh("c++", "-O2", os.path.join(tree, "perf", f"{tool}.cpp"), "-o", sock_bin,
           "-L", libdir, "-lsock", f"-Wl,-rpath,{libdir}")
        bins["libzmq"][tool] = zmq_bin
        bins["libsock/C"][tool] = sock_bin
        bins["libsock/Rust"][tool] = os.path.join(release, tool)
    return bins


def free_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def run_pair(local, remote, size, count):
    """Returns (local's stdout, CPU seconds of both processes)."""
    ep = free_endpoint()
    server = subprocess.Popen([local, ep, str(size), str(count)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)
    client = subprocess.Popen([remote, ep, str(size), str(count)], stdout=subprocess.PIPE, text=True)
    cpu = 0.0
    outputs = {}
    for p in (client, server):
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        outputs[p.pid] = p.stdout.read()
        if p.returncode != 0:
            raise RuntimeError(f"{p.args} exited {p.returncode}: {outputs[p.pid]}")
        cpu += ru.ru_utime + ru.ru_stime
    return outputs[server.pid] + outputs[client.pid], cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="tiny counts, to check the script")
    args = ap.parse_args()
    sh("cargo", "build", "--release", "-q", "-p", "libsock-bindings", "-p", "benches",
       *sum((["--bin", t] for t in TOOLS), []), cwd=ROOT)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    target = re.search(r'"target_directory":"([^"]*)"', meta).group(1)
    bins = build(target)
    impls = list(bins)
    scale = 0.01 if args.quick else 1.0
    cells = [("thr", 1, 4_000_000), ("thr", 64, 3_000_000), ("thr", 1024, 1_000_000),
             ("thr", 65536, 20_000), ("lat", 1, 20_000), ("lat", 1024, 20_000)]
    results = {}
    for rep in range(args.reps):
        order = impls[rep % len(impls):] + impls[:rep % len(impls)]
        for kind, size, count in cells:
            count = max(100, int(count * scale))
            for imp in order:
                out, cpu = run_pair(bins[imp][f"local_{kind}"], bins[imp][f"remote_{kind}"], size, count)
                if kind == "thr":
                    value = float(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))
                else:
                    value = float(re.search(r"average latency: ([\d.]+) \[us\]", out).group(1))
                results.setdefault((kind, size, imp), []).append((value, cpu / count * 1e6))
                print(f"rep {rep + 1} {kind} {size} B {imp}: {value:.1f}, {cpu / count * 1e6:.3f} us CPU/msg",
                      file=sys.stderr)
    print(f"_{os.cpu_count()} CPUs; load average at the end: {os.getloadavg()[0]:.2f}; "
          f"median of {args.reps}; tcp loopback._\n")
    print("| test | size | " + " | ".join(impls) + " |")
    print("|---|---|" + "---:|" * len(impls))
    for kind, size, _ in cells:
        row = []
        base = statistics.median(v for v, _ in results[(kind, size, "libzmq")])
        base_cpu = statistics.median(c for _, c in results[(kind, size, "libzmq")])
        for imp in impls:
            v = statistics.median(x for x, _ in results[(kind, size, imp)])
            c = statistics.median(y for _, y in results[(kind, size, imp)])
            unit = "msg/s" if kind == "thr" else "µs"
            row.append(f"{v:,.0f} {unit} ({v / base:.2f}×); {c:.3f} µs CPU/msg ({c / base_cpu:.2f}×)"
                       if kind == "thr" else
                       f"{v:.1f} {unit} ({v / base:.2f}×); {c:.2f} µs CPU/rt ({c / base_cpu:.2f}×)")
        label = "throughput" if kind == "thr" else "latency (half round trip)"
        print(f"| {label} | {size} B | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
