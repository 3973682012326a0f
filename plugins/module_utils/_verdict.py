# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The role's verdict on the facts ``arp_facts`` gathers: one copy, for ``lvs.realserver.converge`` (the end of the
role) and the ``lvs.realserver.verdict`` filter (the role's verify kit, which only reads). Pure functions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode


def runtime_skipped(facts):
    return facts.get("runtime") == _runtime_mode.SKIPPED


def violations(facts):
    """The violations now (not when the runtime was skipped) and after the next boot, each with ``when``."""
    now = [] if runtime_skipped(facts) else facts["violations"]
    return ([dict(v, when="now") for v in now]
            + [dict(v, when="after the next boot") for v in facts.get("at_boot", {}).get("violations", [])])


def verdict_holds(facts, on_conflict):
    """Compliant now, and after the next boot unless the user let a conflicting sysctl file go ahead (``warn``).

    When the runtime was skipped, compliant after the next boot (nothing was changed now).
    """
    if runtime_skipped(facts):
        return bool(facts["at_boot"]["compliant"])
    return bool(facts["compliant"] and (facts["at_boot"]["compliant"] or on_conflict != "fail"))


def failed_state(facts):
    """The state a failed verdict reports: now's, or the next boot's when now holds or was not judged."""
    if runtime_skipped(facts) or facts["state"] == "compliant":
        return facts["at_boot"]["state"]
    return facts["state"]


def verdict_success(facts, vip_count, device):
    """The one line of a compliant host."""
    when = ("after the next boot (runtime skipped: %s)" % "; ".join(facts["runtime_reasons"])
            if runtime_skipped(facts) else "now or after the next boot")
    return "Compliant: %d VIP(s) on %s, no ARP leak %s." % (vip_count, device, when)


def verdict_failure(facts, found):
    """A headline, then one line per violation with its fix (a list of lines)."""
    lines = ["Not compliant: state now %s, after the next boot %s; %d violation(s):" % (
        facts["state"], facts["at_boot"]["state"], len(found))]
    for v in found:
        lines.append("%s: %s (%s)%s%s: %s; fix: %s" % (
            v["when"], v["code"], v["severity"], (" on %s" % v["interface"]) if v.get("interface") else "",
            (" %s=%s, expected %s" % (v["key"], v["actual"], v["expected"])) if v.get("key") else "",
            v["message"], v["fix"]))
    return lines


def judge(facts, on_conflict, vip_count, device):
    """The role's verdict on ``facts`` (``ansible_facts.lvs_realserver``): ``holds``, ``state`` (``compliant``, or the
    ``failed_state``), ``violations``, ``failure`` (the lines of the failure message, [] when it holds) and ``success``
    (the line of a compliant host)."""
    found = violations(facts)
    holds = verdict_holds(facts, on_conflict)
    return dict(holds=holds, state="compliant" if holds else failed_state(facts), violations=found,
                failure=[] if holds else verdict_failure(facts, found), success=verdict_success(facts, vip_count, device))
