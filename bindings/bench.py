#!/usr/bin/env python3
"""Side-by-side run of libzmq's own perf tools (local/remote_thr, local/remote_lat):

  libzmq    the tools built against libzmq's zmq.h, linked with the system libzmq (libzmq3-dev)
  libsock/C the same sources built against bindings/include/zmq.h, linked with libsock.so
  libsock/Rust  libsock's Rust twins of the tools (benches crate), for the cost of the C layer

Usage: python3 bindings/bench.py [--reps N] [--quick] [--cells thr:1,thr:64,...] [--pin]
       python3 bindings/bench.py --callgrind
Needs: c++, libzmq3-dev (and valgrind for --callgrind); builds libsock-bindings and the benches'
tools in release mode itself.
Prints a markdown table: medians over N repetitions (implementations rotate each repetition)
of throughput (msg/s, as the tools report it) and CPU time per message (user + system of both
processes, from wait4), which is steadier than wall-clock figures on a shared machine.

--callgrind prints instead the instructions per message of each implementation (valgrind
--tool=callgrind, two run lengths so setup cancels), which do not depend on the machine's load:
inproc_thr (whole process) and, over tcp, local_thr and remote_thr each measured alone while
its peer runs normally; at 1 B, 64 B and 1 KiB.
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
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = ["local_thr", "remote_thr", "local_lat", "remote_lat", "inproc_thr"]


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
    # inproc_thr.cpp includes libzmq's build-time "platform.hpp"; nothing in it is needed here.
    open(os.path.join(tree, "perf", "platform.hpp"), "w").close()
    shutil.copytree(os.path.join(ROOT, "bindings", "include"), os.path.join(tree, "include"), dirs_exist_ok=True)
    bins = {"libzmq": {}, "libsock/C": {}, "libsock/Rust": {}}
    for tool in TOOLS:
        src = os.path.join(vendor, "perf", f"{tool}.cpp")
        shutil.copy(src, os.path.join(tree, "perf"))
        zmq_bin = os.path.join(out, f"libzmq_{tool}")
        sock_bin = os.path.join(out, f"libsock_{tool}")
        sh("c++", "-O2", "-I", os.path.join(tree, "perf"), src, "-o", zmq_bin, "-lzmq", "-pthread")
        sh("c++", "-O2", os.path.join(tree, "perf", f"{tool}.cpp"), "-o", sock_bin,
           "-L", libdir, "-lsock", f"-Wl,-rpath,{libdir}", "-pthread")
        bins["libzmq"][tool] = zmq_bin
        bins["libsock/C"][tool] = sock_bin
        bins["libsock/Rust"][tool] = os.path.join(release, tool)
    return bins


def free_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def on_cpu(cpu):
    """A preexec_fn that keeps the child (and the threads it starts) on one core, or None."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def run_pair(local, remote, size, count, pin=False):
    """Returns (local's stdout, CPU seconds of both processes). With `pin`, the local tool
    runs on the last core and the remote one on the first: each process (its application
    thread and I/O thread) on a core of its own."""
    ep = free_endpoint()
    last = max(os.sched_getaffinity(0))
    server = subprocess.Popen([local, ep, str(size), str(count)], stdout=subprocess.PIPE, text=True,
                              preexec_fn=on_cpu(last if pin else None))
    time.sleep(0.2)
    client = subprocess.Popen([remote, ep, str(size), str(count)], stdout=subprocess.PIPE, text=True,
                              preexec_fn=on_cpu(0 if pin else None))
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


def instructions(cmd, out):
    """Instructions executed by `cmd` under callgrind (its output file goes to `out`)."""
    subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out}", *cmd],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def measured_tcp(local, remote, size, count, side, out):
    """Instructions of one side of a local/remote pair over tcp, the other side unmeasured."""
    ep = free_endpoint()
    peer_cmd = [remote if side == "local" else local, ep, str(size), str(count)]
    own_cmd = [local if side == "local" else remote, ep, str(size), str(count)]
    if side == "local":
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("n", instructions(own_cmd, out)))
        t.start()
        time.sleep(1.5)  # valgrind starts slowly; the receiver must bind first
        subprocess.run(peer_cmd, check=True, stdout=subprocess.DEVNULL)
        t.join()
        return result["n"]
    peer = subprocess.Popen(peer_cmd, stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    n = instructions(own_cmd, out)
    if peer.wait() != 0:
        raise RuntimeError(f"{peer_cmd} failed")
    return n


def callgrind_table(bins, target):
    """Prints instructions per message: (count2 run - count1 run) / (count2 - count1)."""
    n1, n2 = 20_000, 60_000
    out = os.path.join(target, "bindings-bench", "callgrind.out")
    rows = []
    for size in (1, 64, 1024):
        row = {}
        for imp, tools in bins.items():
            a = instructions([tools["inproc_thr"], str(size), str(n1)], out)
            b = instructions([tools["inproc_thr"], str(size), str(n2)], out)
            inproc = (b - a) / (n2 - n1)
            sides = []
            for side in ("local", "remote"):
                a = measured_tcp(tools["local_thr"], tools["remote_thr"], size, n1, side, out)
                b = measured_tcp(tools["local_thr"], tools["remote_thr"], size, n2, side, out)
                sides.append((b - a) / (n2 - n1))
            row[imp] = (inproc, sides[0], sides[1])
            print(f"{size} B {imp}: inproc {inproc:.0f}, tcp receiver {sides[0]:.0f} + sender {sides[1]:.0f}",
                  file=sys.stderr)
        rows.append((size, row))
    print(f"_instructions per message (callgrind, {n1} vs {n2} messages); load average at the end: "
          f"{os.getloadavg()[0]:.2f} (does not affect these counts much; tcp ones vary by ~3%)._\n")
    print("| size | transport | " + " | ".join(bins) + " | C over Rust |")
    print("|---|---|" + "---:|" * (len(bins) + 1))
    for size, row in rows:
        c, r = row["libsock/C"], row["libsock/Rust"]
        print(f"| {size} B | inproc | " + " | ".join(f"{row[i][0]:,.0f}" for i in bins)
              + f" | {c[0] / r[0] - 1:+.0%} |")
        print(f"| {size} B | tcp (receiver + sender) | "
              + " | ".join(f"{row[i][1]:,.0f} + {row[i][2]:,.0f} = {row[i][1] + row[i][2]:,.0f}" for i in bins)
              + f" | {(c[1] + c[2]) / (r[1] + r[2]) - 1:+.0%} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="tiny counts, to check the script")
    ap.add_argument("--callgrind", action="store_true", help="instructions per message instead")
    ap.add_argument("--cells", help="only these cells, any sizes, e.g. thr:1,thr:131072,lat:1 "
                    "(default: thr 1 B, 64 B, 1 KiB, 64 KiB, 1 MiB; lat 1 B, 1 KiB)")
    ap.add_argument("--pin", action="store_true",
                    help="each process on a core of its own (local_* on the last, remote_* on the first): "
                         "floods then stay in one scheduling mode instead of two")
    args = ap.parse_args()
    # Two commands: `--bin` filters would skip the bindings' library.
    sh("cargo", "build", "--release", "-q", "-p", "libsock-bindings", cwd=ROOT)
    sh("cargo", "build", "--release", "-q", "-p", "benches", *sum((["--bin", t] for t in TOOLS), []), cwd=ROOT)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    target = re.search(r'"target_directory":"([^"]*)"', meta).group(1)
    bins = build(target)
    if args.callgrind:
        callgrind_table(bins, target)
        return
    impls = list(bins)
    scale = 0.01 if args.quick else 1.0
    cells = [("thr", 1, 4_000_000), ("thr", 64, 3_000_000), ("thr", 1024, 1_000_000),
             ("thr", 65536, 20_000), ("thr", 1048576, 2_000), ("lat", 1, 20_000), ("lat", 1024, 20_000)]
    if args.cells:
        counts = {(k, n): c for k, n, c in cells}
        cells = []
        for cell in args.cells.split(","):
            m = re.fullmatch(r"(thr|lat):(\d+)", cell)
            if not m or int(m.group(2)) < 1:
                sys.exit(f"bench.py: bad cell {cell!r} (kind:size, kinds thr and lat, e.g. thr:131072)")
            kind, size = m.group(1), int(m.group(2))
            # Other sizes: about 2 GB of floods, 20 000 round trips.
            default = max(1_000, 2_000_000_000 // size) if kind == "thr" else 20_000
            cells.append((kind, size, counts.get((kind, size), default)))
    results = {}
    for rep in range(args.reps):
        order = impls[rep % len(impls):] + impls[:rep % len(impls)]
        for kind, size, count in cells:
            count = max(100, int(count * scale))
            for imp in order:
                out, cpu = run_pair(bins[imp][f"local_{kind}"], bins[imp][f"remote_{kind}"], size, count, args.pin)
                if kind == "thr":
                    value = float(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))
                else:
                    value = float(re.search(r"average latency: ([\d.]+) \[us\]", out).group(1))
                results.setdefault((kind, size, imp), []).append((value, cpu / count * 1e6))
                print(f"rep {rep + 1} {kind} {size} B {imp}: {value:.1f}, {cpu / count * 1e6:.3f} us CPU/msg",
                      file=sys.stderr)
    print(f"_{os.cpu_count()} CPUs; load average at the end: {os.getloadavg()[0]:.2f}; "
          f"median of {args.reps}; tcp loopback{'; each process pinned to a core of its own' if args.pin else ''}._\n")
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
