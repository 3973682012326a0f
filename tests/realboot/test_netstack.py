# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""The netstack phase (issue 14), asserted from its result (tests/realboot/netstack.py runs the guest once).

The first tests need no guest: they check the verdicts on small fixtures, so that a broken verdict cannot
turn the phase green.
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netstack  # noqa: E402  pylint: disable=wrong-import-position
import tier  # noqa: E402  pylint: disable=wrong-import-position


def test_row_verdict_counts_a_gap_at_or_over_the_limit_and_an_open_gap_as_lost():
    assert netstack.row_verdict({"vips_kept": True, "gaps": []}) == (True, 0.0)
    assert netstack.row_verdict({"vips_kept": True, "gaps": [{"seconds": 0.4}, {"seconds": 0.1}]}) == (True, 0.4)
    assert netstack.row_verdict({"vips_kept": True, "gaps": [{"seconds": 2.0}]}) == (False, 2.0)
    assert netstack.row_verdict({"vips_kept": False, "gaps": [{"seconds": None}]}) == (False, None)


def test_hazard_verdict():
    facts = {"hazards": [{"code": "networkd_manages_lo", "severity": "warning"},
                         {"code": "networkmanager_loopback_profile", "severity": "info"},
                         {"code": "vip_missing", "severity": "warning"}]}
    assert netstack.hazard_flagged(facts) == ["networkd_manages_lo"]
    assert netstack.hazard_agrees(["networkd_manages_lo"], lost=True)
    assert not netstack.hazard_agrees([], lost=True)
    assert not netstack.hazard_agrees(["networkd_manages_lo"], lost=False)


def test_extra_operations_are_the_non_empty_lines(tmp_path):
    path = tmp_path / "extra"
    path.write_text("ip link set lo down; ip link set lo up\n\n   \nsystemctl restart systemd-networkd\n")
    assert netstack.extra_operations(str(path)) == ["ip link set lo down; ip link set lo up",
                                                    "systemctl restart systemd-networkd"]
    assert netstack.extra_operations("") == []


@pytest.fixture(scope="module")
def result():
    if os.environ.get("LVSRS_NETSTACK_RESULT"):
        with open(os.environ["LVSRS_NETSTACK_RESULT"], encoding="utf-8") as f:
            return json.load(f)
    subprocess.run([sys.executable, os.path.join(HERE, "netstack.py")], check=False)
    with open(os.path.join(tier.OUT, "netstack.json"), encoding="utf-8") as f:
        return json.load(f)


def test_every_stack_ran_without_a_setup_error(result):
    errors = [(r["stack"], r["operation"], r.get("error", "")[-400:]) for r in result["rows"] if r.get("error")]
    assert not errors
    stacks = os.environ.get("LVSRS_NETSTACK_STACKS", netstack.STACKS).split(",")
    assert sorted(set(r["stack"] for r in result["rows"])) == sorted(stacks)


def test_vips_kept_or_back_within_2s_after_every_operation(result):
    bad = [(r["stack"], r.get("lo"), r["operation"], r.get("restore_s"), r.get("gaps")) for r in result["rows"]
           if not r["vips_kept"]]
    assert not bad


def test_no_vip_appeared_while_arp_would_leak(result):
    bad = [(r["stack"], r.get("lo"), r["operation"], r.get("vip_adds")) for r in result["rows"] if not r["arp_safe"]]
    assert not bad


def test_loopback_addresses_never_lost(result):
    assert not [(r["stack"], r["operation"]) for r in result["rows"] if not r.get("loopback_kept", False)]


def test_verdict_compliant_and_hazards_agree(result):
    assert all(v["compliant"] for v in result["variants"]), result["variants"]
    assert not [(r["stack"], r.get("lo"), r["operation"], r.get("hazards_flagged")) for r in result["rows"]
                if not r.get("hazard_agrees")]


def test_negative_controls_lose_the_vips_without_the_cooperation(result):
    """The same operation with the watch stopped and the stack's hook away: the VIPs are lost (the test can fail)."""
    assert result["controls"], "no negative control ran"
    assert [c for c in result["controls"] if not c["vips_kept"]], result["controls"]
    for c in result["controls"]:
        assert c["hazard_agrees"] is not False, c
