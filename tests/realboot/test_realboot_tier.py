# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""The real-boot tier, asserted from its report (tests/realboot/tier.py runs the guest once).

The first tests need no guest: they check the comparison itself on a small
fixture of the boot_prediction contract, so that a broken comparison cannot
turn the tier green.
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tier  # noqa: E402  pylint: disable=wrong-import-position


def entry(iface, key, early, late, basis="file"):
    return {"interface": iface, "key": key, "early": early, "late": late,
            "value": early if early == late else None, "order_dependent": early != late,
            "basis": basis, "file": None, "line": None}


FIXTURE = [
    entry("all", "arp_ignore", 1, 1),
    entry("eth0", "arp_filter", 0, 1, basis="default"),
    entry("eth0", "rp_filter", 2, 2),
]


def test_compare_counts_only_values_outside_early_and_late():
    rows = tier.compare(FIXTURE, {"all": {"arp_ignore": 1}, "eth0": {"arp_filter": 1, "rp_filter": 0}})
    by = {(r["interface"], r["key"]): r for r in rows}
    assert not by[("all", "arp_ignore")]["mismatch"]
    assert by[("eth0", "arp_filter")]["matched"] == "late" and by[("eth0", "arp_filter")]["order_dependent"]
    assert by[("eth0", "rp_filter")]["mismatch"] and by[("eth0", "rp_filter")]["observed"] == 0


def test_compare_hot_plugged_interface_must_equal_late():
    rows = tier.compare([entry("hot0", "arp_filter", 0, 1)], {"hot0": {"arp_filter": 0}}, hot={"hot0"})
    assert rows[0]["mismatch"] and not rows[0]["order_dependent"]
    rows = tier.compare([entry("hot0", "arp_filter", 0, 1)], {"hot0": {"arp_filter": 1}}, hot={"hot0"})
    assert not rows[0]["mismatch"]


def test_order_check_rejects_a_unit_started_before_systemd_sysctl_finished():
    def units(sysctl_done, start, done, pre):
        return {"systemd-sysctl.service": {"ActiveEnterTimestampMonotonic": sysctl_done},
                tier.UNIT: {"InactiveExitTimestampMonotonic": start, "ActiveEnterTimestampMonotonic": done},
                "network-pre.target": {"ActiveEnterTimestampMonotonic": pre}}
    assert tier.order_ok(units(10, 20, 30, 40))
    assert not tier.order_ok(units(25, 20, 30, 40))
    assert not tier.order_ok(units(10, 20, 50, 40))
    assert not tier.order_ok(units(10, 20, 30, 0))


def test_probe_responders_reads_every_vip_and_nothing_from_a_failed_run():
    result = {"probes": [{"vip": "192.0.2.100", "responders": [{"mac": "02:00:00:00:00:21"}, {"mac": "02:00:00:00:00:01"}]},
                         {"vip": "192.0.2.200", "responders": []}]}
    assert tier.probe_responders(result) == {"192.0.2.100": ["02:00:00:00:00:01", "02:00:00:00:00:21"],
                                             "192.0.2.200": []}
    assert tier.probe_responders(dict(result, failed=True, msg="no such interface")) == {}


# ---------------------------------------------------------------- the real guest
@pytest.fixture(scope="module")
def report():
    if os.environ.get("LVSRS_REALBOOT_REPORT"):
        # re-assert a report kept from an earlier run
        with open(os.environ["LVSRS_REALBOOT_REPORT"], encoding="utf-8") as f:
            return json.load(f)
    rc = subprocess.run([sys.executable, os.path.join(HERE, "tier.py")], check=False).returncode
    with open(os.path.join(tier.OUT, "report.json"), encoding="utf-8") as f:
        data = json.load(f)
    data["_rc"] = rc
    return data


def checks(report, prefix):
    found = [c for c in report["checks"] if c["name"].startswith(prefix)]
    assert found, "no check named %r ran; the tier stopped early: %s" % (
        prefix, [c for c in report["checks"] if not c["passed"]])
    return found


def test_tier_ran_to_the_end(report):
    failed = [c for c in report["checks"] if c["name"] == "tier ran to the end"]
    assert not failed, failed[0]["detail"]
    assert report["summary"]["boots"] == 4


def test_journal_order_on_real_boots(report):
    for c in checks(report, "boot2: systemd-sysctl finished") + checks(report, "boot3: systemd-sysctl finished"):
        assert c["passed"], c


def test_prediction_equals_proc(report):
    rows = report["predictions"]
    assert len(rows) >= 5 * 6 * 3, "too few predictions compared: %d" % len(rows)
    bad = [r for r in rows if r["mismatch"]]
    assert not bad, bad


def test_hot_plugged_nic_matches_late_and_stays_compliant(report):
    for c in checks(report, "boot2: hot-plugged") + checks(report, "boot2: arp_facts has a prediction for the hot") + \
            checks(report, "boot2: verdict compliant with the hot-plugged"):
        assert c["passed"], c
    assert report["summary"]["hot_plugged"] == 5


def test_vips_arp_and_http_through_ipvs(report):
    for prefix in ("boot2: VIPs present", "boot2: HTTP DR", "boot2: HTTP TUN", "boot2: client's ARP",
                   "boot3: HTTP DR", "boot3: client's ARP"):
        for c in checks(report, prefix):
            assert c["passed"], c


def test_wire_probe_from_the_client_sees_only_the_director(report):
    for prefix in ("boot2: arp_probe from the client", "boot3: arp_probe from the client"):
        for c in checks(report, prefix):
            assert c["passed"], c
    positive = [p for p in report["wire_probe"] if p["boot"] in ("boot2", "boot3")]
    assert len(positive) == 4 and all(p["responders"] == [tier.DIR_MAC] for p in positive), positive


def test_negative_tun_without_rp_filter_keys_fails(report):
    for prefix in ("boot2: arp_facts predicts tun_rp_filter", "boot3: HTTP TUN", "boot3 (negative)"):
        for c in checks(report, prefix):
            assert c["passed"], c


def test_negative_reverted_arp_ignore_is_predicted_and_refused(report):
    for prefix in ("boot3: arp_facts predicts the violation", "boot4 (negative)", "boot4 (control)",
                   "boot4 (control): arp_probe names"):
        for c in checks(report, prefix):
            assert c["passed"], c
    forced = report["negative_arp_ignore"]["forced_vip_wire_probe"]
    assert tier.DIR_MAC in forced["responders"] and forced["this_host"], forced


def test_every_check_passed(report):
    assert report["passed"], [c for c in report["checks"] if not c["passed"]]
