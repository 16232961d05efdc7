"""A multilang spout: emits COUNT sentences (argv[1]) with message ids, replays failed ones,
and reports its acks through `log` when it has seen every one. With argv[2] = N and argv[3] =
PATH it exits after N emits unless PATH exists (creating it): a spout child that crashes once."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import storm  # noqa: E402

SENTENCES = ["the cat sat", "the dog ran the race"]


class Sentences(storm.Spout):
    def initialize(self, conf, context):
        self.count = int(sys.argv[1])
        self.next = 0
        self.replay = []
        self.acked = set()

    def next_tuple(self):
        for _ in range(16):
            if self.replay:
                i = self.replay.pop(0)
            elif self.next < self.count:
                i = self.next
                self.next += 1
            else:
                return
            if len(sys.argv) > 3 and self.next > int(sys.argv[2]) and not os.path.exists(sys.argv[3]):
                open(sys.argv[3], "w").close()
                storm.flush()
                os._exit(5)
            storm.emit([SENTENCES[i % len(SENTENCES)]], id="m%d" % i)

    def ack(self, id):
        if id in self.acked:
            storm.log("acked twice: %s" % id, 4)
        self.acked.add(id)
        if len(self.acked) == self.count:
            storm.log("all %d acked" % self.count)

    def fail(self, id):
        self.replay.append(int(id[1:]))


Sentences().run()
