# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""Judge an lvs.realserver.arp_probe result in the VM guest.

    python3 probe_check.py RESULT.json DIRECTOR_MAC MODE=VIP ...   -> PASS/FAIL lines [wire-probe-MODE]
    python3 probe_check.py RESULT.json --control VIP               -> one CONTROL line (no verdict)

PASS when the director's MAC is the only one that answered for the VIP.
"""

import json
import sys


def responders(result, vip):
    for probe in result.get("probes", ()):
        if probe["vip"] == vip:
            return sorted(r["mac"] for r in probe["responders"])
    return None


def main(argv):
    with open(argv[1]) as handle:
        text = handle.read()
    try:
        result = json.loads(text)
    except ValueError:
        result = {"failed": True, "msg": "no JSON: %r" % text[-300:]}
    if argv[2] == "--control":
        vip = argv[3]
        print("CONTROL: arp_probe from cl: %s answered by: %s" % (
            vip, " ".join(responders(result, vip) or ()) or result.get("msg", "none")))
        return 0
    director = argv[2]
    for spec in argv[3:]:
        mode, vip = spec.split("=", 1)
        macs = responders(result, vip)
        ok = not result.get("failed") and macs == [director]
        detail = " ".join(macs) if macs is not None else "no probe (%s)" % result.get("msg")
        print("%s: [wire-probe-%s] arp_probe from cl: only the director %s answers for %s (responders: %s; %s s)" % (
            "PASS" if ok else "FAIL", mode, director, vip, detail or "none", result.get("elapsed")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
