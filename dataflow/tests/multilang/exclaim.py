"""A multilang DRPC bolt, as Storm's BasicDRPCTopology's ExclaimBolt: (args, return-info) in,
(args + "!", return-info) out. With --fail-on WORD, an argument holding WORD raises instead
(its request fails)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import storm  # noqa: E402

args = sys.argv[1:]
fail_on = args[args.index("--fail-on") + 1] if "--fail-on" in args else None


class Exclaim(storm.BasicBolt):
    def process(self, tup):
        argument, return_info = tup["tuple"]
        if fail_on and fail_on in argument:
            raise ValueError("no %r here" % fail_on)
        storm.emit([argument + "!", return_info], anchors=[tup], need_task_ids=False)


Exclaim().run()
