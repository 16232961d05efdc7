"""A minimal, stdlib-only Storm multilang adapter (the shape of Storm's own storm.py).

Written for libsock's tests; speaks exactly Storm's protocol: JSON messages each followed by
a line "end" on stdin/stdout, the handshake (pid file in pidDir, answer {"pid": N}), spout
commands answered with "sync", bolt tuples, heartbeats on "__heartbeat".
"""
import json
import os
import sys

_in = sys.stdin
_out = sys.stdout
_pending_commands = []  # messages that arrived while waiting for task ids
_pending_taskids = []


def read_msg():
    lines = []
    while True:
        line = _in.readline()
        if not line:
            sys.exit(0)  # parent closed stdin: stop
        line = line.rstrip("\n")
        if line == "end":
            break
        lines.append(line)
    return json.loads("\n".join(lines))


def send(msg):
    _out.write(json.dumps(msg))
    _out.write("\nend\n")
    _out.flush()


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
    send({"command": "ack", "id": tup["id"]})


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
