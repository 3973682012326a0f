# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``arp_sysctl state=absent`` restores is what ``arp_facts`` expects at boot: no drift right after.

Only the planner and the facts assembly are used, so the same test runs
against code from before the boot model, where it fails (negative control).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _facts as facts
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_plan as planner
from ansible_collections.lvs.realserver.plugins.module_utils._iproute import Interface, address

PATH = planner.DEFAULT_PATH


def cand(path, text):
    directory, name = os.path.split(path)
    return sysctl_d.ConfigFile(directory, name, False, text)


def host_interfaces():
    lo = Interface("lo", True, True, False, None, None, None, [address("127.0.0.1", 8, "host")])
    eth0 = Interface("eth0", True, False, False, "veth", None, None, [address("198.51.100.21", 24)])
    return [lo, eth0]


def remove_and_gather(ours_conf, others, running):
    """Run the absent plan, apply its /proc writes to ``running``, then assemble the facts over the result."""
    ours = sysctl_d.render_dropin(ours_conf, rules.KEY_ORDER)
    result = planner.plan("absent", {}, PATH, ours, [cand(PATH, ours)] + others, None, running, False)
    assert result["error"] is None
    after = dict((name, dict(keys)) for name, keys in running.items())
    for change in result["runtime_changes"]:
        after[change["interface"]][change["key"]] = change["after"]
    report = facts.assemble(after, host_interfaces(), candidates=others, collected_at="2026-01-01T00:00:00Z")
    return result, after, report


def full_conf(**values):
    conf = dict((name, dict((k, 0) for k in rules.READ_KEYS)) for name in ("all", "default", "lo", "eth0"))
    for name, keys in values.items():
        conf[name].update(keys)
    return conf


def test_absent_then_facts_only_default_rp_filter_2_no_drift_for_eth0():
    """The reported bug: only default.rp_filter=2 remains; absent set eth0 to 0, arp_facts then said boot 2."""
    others = [cand("/etc/sysctl.d/10-rp.conf", "net.ipv4.conf.default.rp_filter = 2\n")]
    ours_conf = {"all": {"arp_ignore": 1, "arp_announce": 2}, "eth0": {"rp_filter": 1}}
    running = full_conf(all={"arp_ignore": 1, "arp_announce": 2}, default={"rp_filter": 2}, eth0={"rp_filter": 1})
    result, after, report = remove_and_gather(ours_conf, others, running)
    assert [d for d in report["drift"] if d["interface"] == "eth0"] == []
    # eth0 gets default's boot value, as a NIC appearing after systemd-sysctl (or before it without an address) does
    assert [(c["name"], c["before"], c["after"]) for c in result["runtime_changes"]
            if c["interface"] == "eth0"] == [("net.ipv4.conf.eth0.rp_filter", 1, 2)]
    assert after["eth0"]["rp_filter"] == 2


LAYOUTS = {
    "nothing else": [],
    "default only": [cand("/etc/sysctl.d/10-d.conf",
                          "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.default.arp_ignore = 1\n")],
    "systemd glob": [cand("/usr/lib/sysctl.d/50-default.conf",
                          "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n"
                          "-net.ipv4.conf.all.rp_filter\n")],
    "explicit eth0 elsewhere": [cand("/etc/sysctl.d/20-eth0.conf", "net.ipv4.conf.eth0.arp_announce = 1\n")],
    "later file": [cand("/etc/sysctl.d/zz-later.conf", "net.ipv4.conf.all.arp_ignore = 2\n")],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_absent_leaves_no_drift_on_the_keys_it_restored(layout):
    ours_conf = {"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 0},
                 "default": {"arp_ignore": 1},
                 "eth0": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 1}}
    running = full_conf(all={"arp_ignore": 1, "arp_announce": 2}, default={"arp_ignore": 1},
                        eth0={"arp_ignore": 1, "arp_announce": 2, "rp_filter": 1})
    result, _after, report = remove_and_gather(ours_conf, LAYOUTS[layout], running)
    restored = set((c["interface"], c["key"]) for c in result["runtime_changes"])
    assert restored  # the drop-in's values differ from every layout's
    drifted = [(d["interface"], d["key"], d["live"], d["boot"]) for d in report["drift"]
               if (d["interface"], d["key"]) in restored]
    assert drifted == []
