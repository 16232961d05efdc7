"""A pyzmq (libzmq 4.3.5 with CURVE) peer for libsock's security tests.

Usage: python3 pyzmq_peer.py JSON. Keys of JSON:
  type            socket type name (PUSH, PULL, REP, REQ, DEALER, PUB, SUB, ...)
  bind / connect  endpoint; after binding, prints "ENDPOINT <last endpoint>"
  curve_server    Z85 secret key: be a CURVE server
  curve_serverkey Z85 server key, with curve_public/curve_secret: be a CURVE client
  plain_server    true: PLAIN server; plain_user/plain_pass: PLAIN client
  zap             {"allow_key": Z85} or {"passwords": {user: pass}}: pyzmq's authenticator
  send            list of messages (lists of frames) to send
  send_numbered   how many one-frame messages "0", "1", ... to send after those
  recv            how many messages to receive; each prints "MSG <frames joined by |> <User-Id>"
  echo            how many requests to answer with the same message
  subscribe       topic for SUB
  linger_ms       ZMQ_LINGER (default 2000)
  hold_ms         sleep this long after sending, before closing (libzmq's PUSH with
                  heartbeats drops what it still queues when it closes, linger or not)
  timeout_ms      receive timeout (default 5000); on timeout prints "TIMEOUT" and exits 0
  heartbeat_ivl   ZMQ_HEARTBEAT_IVL in ms (PINGs, answered with PONGs); the link drops when
                  nothing arrives for heartbeat_timeout ms (default: libzmq's, the interval)
Prints "DONE" at the end.
"""
import json
import sys
import time

import zmq

cfg = json.loads(sys.argv[1])
ctx = zmq.Context()
auth = None
if "zap" in cfg:
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(ctx)
    auth.start()
    z = cfg["zap"]
    if "allow_key" in z:
        allowed = z["allow_key"].encode()

        class Provider:
            def callback(self, domain, key):
                return key == allowed

        auth.configure_curve_callback(domain="*", credentials_provider=Provider())
    if "passwords" in z:
        auth.configure_plain(domain="*", passwords=z["passwords"])

s = ctx.socket(getattr(zmq, cfg["type"]))
s.linger = cfg.get("linger_ms", 2000)
s.rcvtimeo = cfg.get("timeout_ms", 5000)
if "heartbeat_ivl" in cfg:
    s.heartbeat_ivl = cfg["heartbeat_ivl"]
if "heartbeat_timeout" in cfg:
    s.heartbeat_timeout = cfg["heartbeat_timeout"]
if "curve_server" in cfg:
    s.curve_secretkey = cfg["curve_server"].encode()
    s.curve_server = True
if "curve_serverkey" in cfg:
    s.curve_serverkey = cfg["curve_serverkey"].encode()
    s.curve_publickey = cfg["curve_public"].encode()
    s.curve_secretkey = cfg["curve_secret"].encode()
if cfg.get("plain_server"):
    s.plain_server = True
if "plain_user" in cfg:
    s.plain_username = cfg["plain_user"].encode()
    s.plain_password = cfg["plain_pass"].encode()
if "subscribe" in cfg:
    s.setsockopt(zmq.SUBSCRIBE, cfg["subscribe"].encode())
if "bind" in cfg:
    s.bind(cfg["bind"])
    print("ENDPOINT", s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
else:
    s.connect(cfg["connect"])
    print("CONNECTED", flush=True)


def recv():
    frames = s.recv_multipart(copy=False)
    try:
        user = frames[-1].get("User-Id")
    except zmq.ZMQError:
        user = "-"
    return frames, user


try:
    if "delay_ms" in cfg:
        time.sleep(cfg["delay_ms"] / 1000)
    for msg in cfg.get("send", []):
        s.send_multipart([f.encode() for f in msg])
    for i in range(cfg.get("send_numbered", 0)):
        s.send(str(i).encode())
    if "hold_ms" in cfg:
        time.sleep(cfg["hold_ms"] / 1000)
    for _ in range(cfg.get("recv", 0)):
        frames, user = recv()
        print("MSG", "|".join(f.bytes.decode() for f in frames), user, flush=True)
    for _ in range(cfg.get("echo", 0)):
        frames, _ = recv()
        s.send_multipart(frames)
except zmq.Again:
    print("TIMEOUT", flush=True)
s.close()
if auth:
    auth.stop()
ctx.term()
print("DONE", flush=True)
