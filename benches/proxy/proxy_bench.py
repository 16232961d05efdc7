#!/usr/bin/env python3
"""Side-by-side: libsock's `sockdev` relay against libzmq's zmq_proxy (pyzmq's bundled
libzmq 4.3.5), with the same pyzmq endpoints on both sides of each relay.

    python3 benches/proxy/proxy_bench.py target/release/sockdev [reps]

Rows: PUSH -> streamer -> PULL over tcp at 64 B and 1 KiB (end-to-end rate, and the relay's
own CPU time per message from /proc/PID/stat, which is what a shared VM measures reliably);
REQ -> queue -> REP round trip over tcp (p50, p99). Medians over `reps` alternating runs.
The Python endpoints bound the end-to-end rate; the relay CPU per message compares relays.
"""
import os, statistics, subprocess, sys, threading, time
import zmq

def ticks(pid):
    s = open(f"/proc/{pid}/stat").read()
    f = s[s.rfind(")") + 2:].split()
    return int(f[11]) + int(f[12])

def port():
    import socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def zmq_proxy(device, fe, be):
    kinds = {"streamer": (zmq.PULL, zmq.PUSH), "queue": (zmq.ROUTER, zmq.DEALER)}[device]
    ctx = zmq.Context()
    f, b = ctx.socket(kinds[0]), ctx.socket(kinds[1])
    f.bind(fe); b.bind(be)
    zmq.proxy(f, b)

def relay(impl, device, fe, be):
    if impl == "libsock":
        cmd = [SOCKDEV, device, "--frontend-bind", fe, "--backend-bind", be]
    else:
        cmd = [sys.executable, __file__, "zmqproxy", device, fe, be]
    p = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="error"))
    time.sleep(0.5)
    return p

def thr(impl, size, n):
    fe, be = f"tcp://127.0.0.1:{port()}", f"tcp://127.0.0.1:{port()}"
    p = relay(impl, "streamer", fe, be)
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.connect(fe); pull.connect(be)
    push.send(b"w"); pull.recv()  # both connections up
    body = b"D" * size
    c0 = ticks(p.pid)
    def send():
        for _ in range(n):
            push.send(body)
    t = threading.Thread(target=send); t0 = time.perf_counter(); t.start()
    for _ in range(n):
        pull.recv(copy=False)
    wall = time.perf_counter() - t0
    t.join()
    cpu_us = (ticks(p.pid) - c0) * 1e6 / os.sysconf("SC_CLK_TCK") / n
    p.terminate(); p.wait(); ctx.destroy(linger=0)
    return n / wall, cpu_us

def lat(impl, n):
    fe, be = f"tcp://127.0.0.1:{port()}", f"tcp://127.0.0.1:{port()}"
    p = relay(impl, "queue", fe, be)
    ctx = zmq.Context()
    req, rep = ctx.socket(zmq.REQ), ctx.socket(zmq.REP)
    req.connect(fe); rep.connect(be)
    def serve():
        for _ in range(n + 1):
            rep.send(rep.recv())
    t = threading.Thread(target=serve); t.start()
    req.send(b"w"); req.recv()
    rtts = []
    for _ in range(n):
        t0 = time.perf_counter_ns(); req.send(b"x"); req.recv(); rtts.append((time.perf_counter_ns() - t0) / 1e3)
    t.join()
    p.terminate(); p.wait(); ctx.destroy(linger=0)
    rtts.sort()
    return rtts[len(rtts) // 2], rtts[len(rtts) * 99 // 100]

if __name__ == "__main__":
    if sys.argv[1] == "zmqproxy":
        zmq_proxy(*sys.argv[2:5]); sys.exit(0)
    SOCKDEV = os.path.abspath(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    impls = ["libsock", "libzmq"]
    for size in (64, 1024):
        res = {i: [] for i in impls}
        for r in range(reps):
            for i in (impls if r % 2 == 0 else impls[::-1]):
                res[i].append(thr(i, size, 200_000))
        for i in impls:
            rate = statistics.median(x[0] for x in res[i]); cpu = statistics.median(x[1] for x in res[i])
            print(f"streamer tcp {size} B  {i:8} rate {rate:10.0f} msg/s  relay cpu {cpu:6.2f} us/msg  runs {[round(x[0]) for x in res[i]]}")
    res = {i: [] for i in impls}
    for r in range(reps):
        for i in (impls if r % 2 == 0 else impls[::-1]):
            res[i].append(lat(i, 5000))
    for i in impls:
        print(f"queue tcp 1 B rtt  {i:8} p50 {statistics.median(x[0] for x in res[i]):7.1f} us  p99 {statistics.median(x[1] for x in res[i]):7.1f} us")
