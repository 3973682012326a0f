# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lo hazards against what the real stacks did (issue 14).

fixtures/netstack_truth.json holds one row per stack and configuration of the
real-boot tier's netstack phase (tests/realboot/netstack.py, Debian 12 guest,
systemd 252, NetworkManager 1.42, netplan 0.106, ifupdown 0.8): the files the
phase wrote, whether the watch ran, and what the stack did to the VIPs
(``lost``: removed and not put back; the restore times are in ``observed``).
A hazard must be flagged (above info) exactly when the VIPs were lost.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_config as netstack_config
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fixtures", "netstack_truth.json")) as _handle:
    TRUTH = json.load(_handle)
LO_CODES = ("networkd_manages_lo", "netplan_lists_lo", "networkmanager_loopback_profile", "ifupdown_manages_lo")


def files(rows, kind):
    return [sysctl_d.ConfigFile(os.path.dirname(r["path"]), os.path.basename(r["path"]), False, r["text"])
            for r in rows.get(kind, [])]


def flagged(row):
    config, version, watched = row["files"], row["systemd_version"], row["watched"]
    found = []
    found += netstack_config.watched_hazard(netstack_config.networkd_hazards(
        files(config, "networkd"), [], [{"local": "192.0.2.100"}], version), watched)
    found += netstack_config.watched_hazard(netstack_config.netplan_hazards(files(config, "netplan"), version), watched)
    found += netstack_config.watched_hazard(netstack_config.nm_hazards(files(config, "nm")), watched)
    found += netstack_config.watched_hazard(netstack_config.ifupdown_hazards(files(config, "ifupdown")), watched)
    return sorted(h["code"] for h in found if h["code"] in LO_CODES and h["severity"] != "info")


@pytest.mark.parametrize("row", TRUTH["rows"], ids=[r["case"] for r in TRUTH["rows"]])
def test_a_lo_hazard_is_flagged_exactly_when_the_real_stack_lost_the_vips(row):
    assert bool(flagged(row)) == row["lost"], (row["case"], flagged(row), row["observed"])


def test_the_table_holds_both_outcomes():
    """A table of one outcome could not tell a hazard that is always (or never) flagged from a right one."""
    assert set(r["lost"] for r in TRUTH["rows"]) == {True, False}
