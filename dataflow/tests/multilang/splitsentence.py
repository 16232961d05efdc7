"""A multilang bolt: splits sentences into words. Misbehaves on request (for tests):
  --crash-after N   exit(3) after N tuples (each incarnation)
  --hang-on WORD    sleep forever on a sentence containing WORD (first incarnation only)
  --busy-on WORD S  spin the CPU for S seconds on a sentence containing WORD (once)
  --raise-on WORD   raise (an `error`, then a `fail`) on a sentence containing WORD
  --metric NAME     after each sentence, send metric NAME = sentences seen so far
  --flood K         emit each word K times
  --marker PATH     misbehave only while PATH does not exist (created when misbehaving)
  --no-task-ids     emit with need_task_ids false (no round trip per emit)
  --trivial         emit the first field unchanged (benchmarks)
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import storm  # noqa: E402

args = sys.argv[1:]


def opt(name, n=1):
    if name in args:
        i = args.index(name)
        return args[i + 1:i + 1 + n]
    return None


crash_after = opt("--crash-after")
hang_on = opt("--hang-on")
busy_on = opt("--busy-on", 2)
raise_on = opt("--raise-on")
metric = (opt("--metric") or [None])[0]
flood = int((opt("--flood") or ["1"])[0])
trivial = "--trivial" in args
need_ids = "--no-task-ids" not in args
marker = (opt("--marker") or [None])[0]


class Split(storm.BasicBolt):
    seen = 0

    def process(self, tup):
        self.seen += 1
        if crash_after and self.seen > int(crash_after[0]):
            sys.stderr.write("crashing on purpose after %d tuples\n" % (self.seen - 1))
            sys.stderr.flush()
            storm.flush()
            os._exit(3)
        sentence = tup["tuple"][0]
        if metric:
            storm.metric(metric, self.seen)
        if trivial:
            storm.emit([sentence], anchors=[tup], need_task_ids=False)
            return
        if hang_on and hang_on[0] in sentence and not (marker and os.path.exists(marker)):
            if marker:
                open(marker, "w").close()
            storm.flush()
            time.sleep(3600)
        if raise_on and raise_on[0] in sentence and not (marker and os.path.exists(marker)):
            if marker:
                open(marker, "w").close()
            raise ValueError("refusing a sentence with %r" % raise_on[0])
        if busy_on and busy_on[0] in sentence and not (marker and os.path.exists(marker)):
            if marker:
                open(marker, "w").close()
            storm.flush()
            end = time.time() + float(busy_on[1])
            while time.time() < end:
                pass
        for word in sentence.split():
            for _ in range(flood):
                self.emit([word], need_task_ids=need_ids)


Split().run()
