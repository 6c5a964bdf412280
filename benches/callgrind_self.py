#!/usr/bin/env python3
"""Self cost per function in a callgrind dump, per request: the top of the
table benches/profile.sh --functions prints.

Usage: callgrind_self.py DUMP REQUESTS [TOP]

Reads the dump's cost lines itself (callgrind_annotate 3.19 attributed every
cost of a dump taken with callgrind_control -d to __libc_start_main), skips
the inclusive cost line that follows each `calls=` line, and sums the rest
by function (code inlined into a function counts as the function's own).
Prints instructions, D1 read misses and LL read and write misses per request.
"""

import collections
import re
import sys

NAME = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")


def self_costs(path):
    names, costs, events = {}, collections.defaultdict(collections.Counter), []
    function, after_call = None, False
    with open(path) as dump:
        for line in dump:
            line = line.rstrip("\n")
            if line.startswith("events:"):
                events = line.split()[1:]
                continue
            match = NAME.match(line)
            if match:
                if match.group(2):
                    names[match.group(1)] = match.group(2)
                if line.startswith("fn="):
                    function = names[match.group(1)]
                continue
            if line.startswith("calls="):
                after_call = True
                continue
            if line and (line[0].isdigit() or line[0] in "+-*"):
                if after_call:
                    after_call = False
                    continue
                for event, value in zip(events, line.split()[1:]):
                    costs[function][event] += int(value)
    return costs


def main():
    path, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    costs = self_costs(path)
    print("| function | instructions/req | D1 read misses/req | LL read misses/req | LL write misses/req |")
    print("|---|---:|---:|---:|---:|")
    ranked = sorted(costs.items(), key=lambda item: -item[1]["Ir"])
    for function, cost in ranked[:top]:
        print("| `{}` | {:.1f} | {:.2f} | {:.2f} | {:.2f} |".format(
            function, cost["Ir"] / requests, cost["D1mr"] / requests,
            cost["DLmr"] / requests, cost["DLmw"] / requests))


if __name__ == "__main__":
    main()
