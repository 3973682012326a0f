# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cost of lvs.realserver.arp_probe for 1, 10 and 100 VIPs, on the netns segment of tests/netns/segment.py.

    sudo .venv/bin/python bench/probe_cost.py [--runs 3] [--sizes 1,10,100] [--rate 100] [--timeout 1]

The director owns 100 VIPs (198.51.100.100-199) on eth0, so every probed VIP
gets a real answer; the unmanaged host answers for 198.51.100.100 as well.
The module runs in the client namespace, directly (python -m, as the netns
tests do): "wall" is the whole module process (interpreter start, imports,
reading the interface, probing), "elapsed" the module's own probing time.
Prints one line per size with the median of the runs, and a JSON line.
Root only; cleans up its namespaces by name.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "netns"))

import lab as _lab  # noqa: E402
import segment  # noqa: E402

EXTRA = ["198.51.100.%d" % n for n in range(101, 200)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=1.0)
    options = parser.parse_args()
    reason = _lab.unavailable_reason()
    if reason:
        sys.exit("probe_cost: %s" % reason)
    lb = _lab.Lab()
    rows = []
    try:
        seg = segment.build(lb, extra_vips=EXTRA)
        vips = [segment.VIP] + EXTRA
        for size in [int(s) for s in options.sizes.split(",")]:
            walls, elapsed, answers = [], [], None
            for _run in range(options.runs):
                args = {"interface": "eth0", "vips": vips[:size], "rate": options.rate, "timeout": options.timeout}
                start = time.monotonic()
                result = _lab.run_module(seg.ns["cl"], "lvs.realserver.arp_probe", args, isolate_sysctl_dirs=False)
                walls.append(time.monotonic() - start)
                if result.status != "ok":
                    sys.exit("probe_cost: the module failed: %s" % result.get("msg"))
                elapsed.append(result["elapsed"])
                answers = sum(len(p["responders"]) for p in result["probes"])
                unanswered = [p["vip"] for p in result["probes"] if not p["responders"]]
                if unanswered:
                    sys.exit("probe_cost: no answer for %s" % ", ".join(unanswered))
            row = {"vips": size, "runs": options.runs, "rate": options.rate, "timeout": options.timeout,
                   "wall_s": round(statistics.median(walls), 3), "elapsed_s": round(statistics.median(elapsed), 3),
                   "wall_min_s": round(min(walls), 3), "wall_max_s": round(max(walls), 3),
                   "requests": result["requests_sent"], "answers": answers}
            rows.append(row)
            print("VIPs %4d: wall %.2f s (min %.2f, max %.2f), probing %.2f s, %d requests, %d answers"
                  % (size, row["wall_s"], row["wall_min_s"], row["wall_max_s"], row["elapsed_s"], row["requests"],
                     row["answers"]), flush=True)
    finally:
        errors = lb.cleanup()
        if errors:
            print("cleanup: %s" % errors, file=sys.stderr)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
