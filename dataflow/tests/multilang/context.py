"""A multilang bolt that answers each tuple with the handshake's context and conf as JSON, the
way a Storm multilang library reads them (streamparse keeps `context["source->stream->grouping"]`)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import storm  # noqa: E402


class Context(storm.BasicBolt):
    def initialize(self, conf, context):
        self.inputs = sorted(context["source->stream->grouping"])
        self.text = json.dumps({"context": context, "conf": conf}, sort_keys=True)

    def process(self, tup):
        if tup["comp"] not in self.inputs:
            raise ValueError("a tuple from %s, not an input: %s" % (tup["comp"], self.inputs))
        self.emit([self.text])


Context().run()
