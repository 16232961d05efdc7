"""A minimal, stdlib-only Storm multilang adapter (the shape of Storm's own storm.py).

Written for libsock's tests; speaks exactly Storm's protocol: JSON messages each followed by
a line "end" on stdin/stdout, the handshake (pid file in pidDir, answer {"pid": N}), spout
commands answered with "sync", bolt tuples, heartbeats on "__heartbeat". Output is buffered
and flushed whenever the child is about to wait for input (or by flush()), which the protocol
allows: the parent never waits on an answer the child still holds back.
"""
import json
import os
import sys

_fd = sys.stdin.fileno()
_out = sys.stdout.buffer
_rbuf = b""  # bytes read from stdin and not parsed yet
_rpos = 0
_pending_commands = []  # messages that arrived while waiting for task ids
_pending_taskids = []


def flush():
    """Writes out what send() buffered. read_msg() calls it before it would block, so every
    answer is on its way before the child waits for more input (no deadlock), and a burst of
    tuples is answered with one write instead of one per message."""
    _out.flush()


def read_msg():
    """The next message: the JSON before a line "end". Input is read in large chunks and
    split here, not line by line."""
    global _rbuf, _rpos
    while True:
        end = _rbuf.find(b"\nend\n", _rpos)
        if end >= 0:
            body = _rbuf[_rpos:end]
            _rpos = end + 5
            return json.loads(body)
        flush()
        chunk = os.read(_fd, 1 << 16)
        if not chunk:
            sys.exit(0)  # parent closed stdin: stop
        _rbuf = _rbuf[_rpos:] + chunk
        _rpos = 0


def send(msg):
    _out.write(json.dumps(msg).encode())
    _out.write(b"\nend\n")


def read_task_ids():
    if _pending_taskids:
        return _pending_taskids.pop(0)
    while True:
        msg = read_msg()
        if isinstance(msg, list):
            return msg
        _pending_commands.append(msg)


def read_command():
    if _pending_commands:
        return _pending_commands.pop(0)
    while True:
        msg = read_msg()
        if isinstance(msg, list):
            _pending_taskids.append(msg)
        else:
            return msg


def sync():
    send({"command": "sync"})


def log(msg, level=2):
    send({"command": "log", "msg": msg, "level": level})


def error(msg):
    send({"command": "error", "msg": msg})


def metric(name, value):
    send({"command": "metrics", "name": name, "params": value})


def emit(tup, stream=None, anchors=(), id=None, need_task_ids=True):
    m = {"command": "emit", "tuple": tup}
    if stream is not None:
        m["stream"] = stream
    if anchors:
        m["anchors"] = [a["id"] for a in anchors]
    if id is not None:
        m["id"] = id
    if not need_task_ids:
        m["need_task_ids"] = False
    send(m)
    if need_task_ids:
        return read_task_ids()
    return None


def ack(tup):
    _out.write(b'{"command":"ack","id":%s}\nend\n' % json.dumps(tup["id"]).encode())


def fail(tup):
    send({"command": "fail", "id": tup["id"]})


def handshake():
    setup = read_msg()
    pid = os.getpid()
    open(os.path.join(setup["pidDir"], str(pid)), "w").close()
    send({"pid": pid})
    return setup["conf"], setup["context"]


class BasicBolt:
    """Acks each tuple after process() returns; fails it (with an error) if it raises."""

    def initialize(self, conf, context):
        pass

    def process(self, tup):
        pass

    def run(self):
        conf, context = handshake()
        self.initialize(conf, context)
        while True:
            tup = read_command()
            if tup["task"] == -1 and tup["stream"] == "__heartbeat":
                sync()
                continue
            self.anchor = tup
            try:
                self.process(tup)
                ack(tup)
            except Exception as e:  # noqa: BLE001 - report any failure to the parent
                error(str(e))
                fail(tup)

    def emit(self, values, **kw):
        return emit(values, anchors=[self.anchor], **kw)


class Spout:
    def initialize(self, conf, context):
        pass

    def next_tuple(self):
        pass

    def ack(self, id):
        pass

    def fail(self, id):
        pass

    def run(self):
        conf, context = handshake()
        self.initialize(conf, context)
        while True:
            msg = read_command()
            cmd = msg["command"]
            if cmd == "next":
                self.next_tuple()
            elif cmd == "ack":
                self.ack(msg["id"])
            elif cmd == "fail":
                self.fail(msg["id"])
            sync()
