# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""verdict.py HOST=FILE... : judge the JSON results of lvs.realserver.arp_facts runs in the guest.

Each FILE holds the stdout of the real module (its AnsiballZ payload, built by
the controller for this host's role run) executed inside the host's network
namespace with the host's files. Prints one PASS/FAIL line per host with the
verdict for now and for the next boot, then a FACTS line per violation.
"""

import json
import sys


def main(argv):
    fails = 0
    for spec in argv:
        host, path = spec.split("=", 1)
        text = ""
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            result = json.loads(text[text.index("{"):])
            facts = result["ansible_facts"]["lvs_realserver"]
        except (IOError, OSError, ValueError, KeyError) as exc:
            print("FAIL: [%s-facts] arp_facts gave no facts (%s): %s" % (host, exc, text[-400:]))
            fails += 1
            continue
        now, boot = facts["compliant"], facts["at_boot"]["compliant"]
        codes = sorted(set(v["code"] for v in facts["violations"]))
        boot_codes = sorted(set(v["code"] for v in facts["at_boot"].get("violations", [])))
        hazards = sorted(set(h["code"] for h in facts.get("hazards", []) if h.get("severity") != "info"))
        detail = "mode %s, state %s, at boot %s, VIPs %s%s%s%s" % (
            facts["mode"], facts["state"], facts["at_boot"]["state"],
            ",".join(v["local"] for v in facts["vips"]) or "none",
            "; violations: " + ",".join(codes) if codes else "",
            "; at boot: " + ",".join(boot_codes) if boot_codes else "",
            "; hazards: " + ",".join(hazards) if hazards else "")
        if now and boot:
            print("PASS: [%s-facts] arp_facts verdict in the guest: compliant now and at boot (%s)" % (host, detail))
        else:
            print("FAIL: [%s-facts] arp_facts verdict in the guest: NOT compliant (%s)" % (host, detail))
            fails += 1
        for v in facts["violations"]:
            print("FACTS: %s %s %s %s=%s expected %s: %s" % (
                host, v["code"], v.get("interface"), v.get("key"), v.get("actual"), v.get("expected"), v["message"]))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
