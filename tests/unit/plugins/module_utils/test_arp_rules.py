# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The evaluator as a table of cases taken from the kernel-semantics reference (E1, E2, E2b, E5, E10, E11, E13)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils._iproute import Interface, address

VIP = "198.51.100.100"


def lo(*vips, **kwargs):
    scope = kwargs.get("scope", "global")
    addrs = [address("127.0.0.1", 8, "host"), address("::1", 128, "host")]
    addrs += [address(v, 32 if ":" not in v else 128, scope) for v in vips]
    return Interface("lo", True, True, False, None, None, None, addrs)


def nic(name="eth0", ip="198.51.100.21", prefix=24, up=True, noarp=False, slave_kind=None, master=None):
    addrs = [address(ip, prefix)] if ip else []
    return Interface(name, up, False, noarp, "veth", slave_kind, master, addrs)


def conf_for(all_values=None, **ifaces):
    conf = {"all": dict(all_values or {}), "default": {}, "lo": {}}
    for name, values in ifaces.items():
        conf[name] = dict(values)
    return conf


def verdict(all_ignore, if_ignore, all_announce=2, if_announce=0, vip_scope="global", vip=VIP):
    conf = conf_for({"arp_ignore": all_ignore, "arp_announce": all_announce},
                    eth0={"arp_ignore": if_ignore, "arp_announce": if_announce})
    report = rules.evaluate(conf, [lo(vip, scope=vip_scope), nic()])
    return report


# (all, eth0) arp_ignore -> does the kernel hide the VIP (E1)
E1_IGNORE = [
    ((1, 0), True), ((0, 1), True), ((2, 0), True), ((0, 2), True), ((-1, 1), True),
    ((0, 0), False), ((3, 0), False), ((0, 4), False), ((0, 5), False), ((0, 6), False), ((0, 7), False),
    ((9, 0), False), ((100, 0), False), ((1, 4), False), ((9, 1), False),
]


@pytest.mark.parametrize("values, hidden", E1_IGNORE)
def test_arp_ignore_matrix_matches_e1(values, hidden):
    report = verdict(*values)
    codes = [v["code"] for v in report["violations"]]
    assert ("arp_ignore_leak" not in codes and "arp_ignore_scope" not in codes) is hidden
    assert report["interfaces"]["eth0"]["arp_ignore"]["effective"] == max(values)
    assert report["interfaces"]["eth0"]["arp_ignore"]["rule"] == "max"


def test_arp_ignore_3_hides_only_scope_host_vips():
    assert verdict(3, 0, vip_scope="host")["compliant"]
    report = verdict(3, 0, vip_scope="global")
    assert [v["code"] for v in report["violations"]] == ["vip_exposed", "arp_ignore_scope"]
    assert verdict(3, 0, vip_scope="link")["state"] == "exposed"


def test_arp_ignore_8_is_broken_not_extra_safe():
    report = verdict(8, 0)
    assert report["interfaces"]["eth0"]["arp_ignore"]["verdict"] == "broken"
    assert "arp_ignore_blackhole" in [v["code"] for v in report["violations"]]
    assert not report["compliant"]


def test_arp_ignore_2_is_ok_with_a_note():
    report = verdict(2, 0)
    assert report["compliant"]
    assert "subnet" in report["interfaces"]["eth0"]["arp_ignore"]["note"]


# (all, eth0) arp_announce, VIP inside eth0's /24 -> is the VIP kept out of ARP requests (E2)
E2_ANNOUNCE = [
    ((0, 0), False), ((1, 0), False), ((3, 0), False), ((0, 5), False), ((-1, 0), False),
    ((2, 0), True), ((0, 2), True), ((2, 1), True), ((1, 2), True),
]


@pytest.mark.parametrize("values, clean", E2_ANNOUNCE)
def test_arp_announce_matrix_matches_e2(values, clean):
    report = verdict(1, 0, *values)
    codes = [v["code"] for v in report["violations"]]
    assert not any(c.startswith("arp_announce") for c in codes) is clean


def test_arp_announce_1_is_enough_only_for_an_off_subnet_vip():
    assert "arp_announce_on_subnet" in [v["code"] for v in verdict(1, 0, 1, 0)["violations"]]
    assert verdict(1, 0, 1, 0, vip="203.0.113.100")["compliant"]


def test_arp_announce_2_on_an_unnumbered_nic_falls_back_to_a_global_vip_e2b():
    conf = conf_for({"arp_ignore": 1, "arp_announce": 2}, eth0={})
    report = rules.evaluate(conf, [lo(VIP), nic(ip=None)])
    assert [v["code"] for v in report["violations"]] == ["vip_exposed", "arp_announce_fallback_source"]
    assert rules.evaluate(conf, [lo(VIP, scope="host"), nic(ip=None)])["compliant"]


def test_lo_values_are_meaningless():
    conf = conf_for({"arp_ignore": 0, "arp_announce": 0}, eth0={}, lo={"arp_ignore": 1, "arp_announce": 2})
    report = rules.evaluate(conf, [lo(VIP), nic()])
    assert report["arp_facing"] == ["eth0"]
    assert report["state"] == "exposed"


def test_second_nic_left_at_zero_leaks_e11():
    conf = conf_for({}, eth0={"arp_ignore": 1, "arp_announce": 2}, eth1={})
    report = rules.evaluate(conf, [lo(VIP), nic(), nic("eth1", "203.0.113.21")])
    leaking = set(v["interface"] for v in report["violations"] if v["code"].startswith("arp_"))
    assert leaking == {"eth1"}


def test_bridge_port_is_not_judged_but_the_bridge_is_e13():
    conf = conf_for({}, eth0={"arp_ignore": 1, "arp_announce": 2}, br0={})
    port = nic(ip=None, slave_kind="bridge", master="br0")
    bridge = Interface("br0", True, False, False, "bridge", None, None, [address("198.51.100.21", 24)])
    report = rules.evaluate(conf, [lo(VIP), port, bridge])
    assert report["arp_facing"] == ["br0"]
    assert not report["compliant"]


def test_noarp_devices_and_interfaces_without_in_device_are_not_arp_facing():
    conf = conf_for({"arp_ignore": 1, "arp_announce": 2}, eth0={}, tunl0={})
    interfaces = [lo(VIP), nic(), nic("tunl0", None, noarp=True), nic("wg0", "192.0.2.1")]
    report = rules.evaluate(conf, interfaces)
    assert report["arp_facing"] == ["eth0"]
    assert report["compliant"]


def test_down_interfaces_are_judged_and_flagged():
    conf = conf_for({}, eth0={"arp_ignore": 1, "arp_announce": 2}, eth1={})
    report = rules.evaluate(conf, [lo(VIP), nic(), nic("eth1", "203.0.113.21", up=False)])
    assert report["interfaces"]["eth1"]["up"] is False
    assert not report["compliant"]


def test_no_vip_and_no_protection_is_non_compliant_not_exposed():
    report = rules.evaluate(conf_for({}, eth0={}), [lo(), nic()])
    assert report["state"] == "non_compliant"
    assert report["vips"] == []


def test_ipv6_vip_needs_no_arp_protection_but_counts_as_vip():
    report = rules.evaluate(conf_for({}, eth0={}), [lo("2001:db8::100"), nic()])
    assert report["state"] == "non_compliant"
    assert [v["local"] for v in report["vips"]] == ["2001:db8::100"]


def test_vip_prefix_must_be_host_route():
    bad_lo = lo()._replace(addresses=lo().addresses + [address(VIP, 24)])
    report = rules.evaluate(conf_for({"arp_ignore": 1, "arp_announce": 2}, eth0={}), [bad_lo, nic()])
    assert [v["code"] for v in report["violations"]] == ["vip_prefix"]
    assert report["violations"][0]["actual"] == "/24"


def test_expected_vips_missing_or_on_an_arp_interface():
    conf = conf_for({"arp_ignore": 1, "arp_announce": 2}, eth0={})
    eth0 = nic()._replace(addresses=nic().addresses + [address("198.51.100.101", 32)])
    report = rules.evaluate(conf, [lo(VIP), eth0], expected_vips=[VIP, "198.51.100.101", "198.51.100.102/32"])
    assert [(v["code"], v["interface"]) for v in report["violations"]] == [
        ("vip_on_arp_interface", "eth0"), ("vip_missing", None)]


def test_future_interfaces_use_max_of_all_and_default():
    assert rules.future_interfaces({"all": {"arp_ignore": 1, "arp_announce": 2}, "default": {}})["protected"]
    assert rules.future_interfaces({"all": {}, "default": {"arp_ignore": 1, "arp_announce": 2}})["protected"]
    assert not rules.future_interfaces({"all": {"arp_ignore": 1, "arp_announce": 2},
                                        "default": {"arp_ignore": 4}})["protected"]
    report = rules.evaluate(conf_for({}, eth0={"arp_ignore": 1, "arp_announce": 2}), [lo(VIP), nic()])
    assert report["compliant"] and report["warnings"]


def tun_host(all_rp, tun_rp, tun_ip=None, up=True):
    conf = conf_for({"arp_ignore": 1, "arp_announce": 2, "rp_filter": all_rp}, eth0={}, tunl0={"rp_filter": tun_rp})
    tunl0 = Interface("tunl0", up, False, True, "ipip", None, None, [address(tun_ip, 32)] if tun_ip else [])
    return conf, [lo(VIP), nic(), tunl0]


# (all, tunl0) rp_filter, tunl0 unnumbered / numbered -> delivered (E5)
E5 = [
    ((0, 0, None), True), ((0, 1, None), False), ((0, 2, None), False), ((2, 0, None), False), ((1, 0, None), False),
    ((0, 0, VIP), True), ((0, 1, VIP), False), ((0, 2, VIP), True), ((2, 0, VIP), True), ((0, 7, VIP), True),
]


@pytest.mark.parametrize("values, delivered", E5)
def test_tun_rp_filter_matches_e5(values, delivered):
    conf, interfaces = tun_host(*values)
    report = rules.evaluate(conf, interfaces, mode="tun")
    assert ("tun_rp_filter" not in [v["code"] for v in report["violations"]]) is delivered


def test_tun_device_missing_or_down():
    conf, interfaces = tun_host(0, 0)
    assert [v["code"] for v in rules.evaluate(conf, interfaces[:2], mode="tun")["violations"]] == ["tun_device_missing"]
    conf, interfaces = tun_host(0, 0, up=False)
    assert [v["code"] for v in rules.evaluate(conf, interfaces, mode="tun")["violations"]] == ["tun_device_down"]


def test_tun_mode_accepts_vip_on_tunl0():
    conf, interfaces = tun_host(0, 0, tun_ip=VIP)
    interfaces[0] = lo()
    report = rules.evaluate(conf, interfaces, mode="tun")
    assert report["compliant"]
    assert [(v["local"], v["device"]) for v in report["vips"]] == [(VIP, "tunl0")]


def test_fix_names_the_interface_when_its_value_beats_all():
    report = verdict(1, 4)
    leak = [v for v in report["violations"] if v["code"] == "arp_ignore_leak"][0]
    assert leak["interface"] == "eth0" and leak["actual"] == 4
    assert "net.ipv4.conf.eth0.arp_ignore = 1" in leak["fix"]
    assert report["violations"][0]["code"] == "vip_exposed"
    assert report["violations"][0]["severity"] == "critical"


def test_guard_violations_are_the_arp_ones_only():
    conf, interfaces = tun_host(2, 0)
    conf["all"]["arp_ignore"] = 0
    report = rules.evaluate(conf, interfaces, mode="tun")
    assert set(v["code"] for v in rules.guard_violations(report)) == {"arp_ignore_leak"}


def test_with_vips_evaluates_the_state_after_adding():
    conf = conf_for({"arp_ignore": 1, "arp_announce": 1}, eth0={})
    before = [lo(), nic()]
    assert rules.evaluate(conf, before)["compliant"]
    after = rules.with_vips(before, "lo", [address(VIP, 32)])
    assert [v["code"] for v in rules.guard_violations(rules.evaluate(conf, after))] == ["arp_announce_on_subnet"]
    assert rules.with_vips(after, "lo", [address(VIP, 32)]) == after


@pytest.mark.parametrize("key, value, fragment", [
    ("arp_ignore", 4, "reserved"),
    ("arp_ignore", 9, "reserved"),
    ("arp_ignore", -1, "must be one of 0, 1, 2, 3, 8"),
    ("arp_announce", 3, "must be one of 0, 1, 2"),
    ("rp_filter", 7, "must be one of 0, 1, 2"),
    ("arp_filter", 2, "must be one of 0, 1"),
    ("arp_ignore", True, "must be an integer"),
    ("arp_ignore", "1", "must be an integer"),
    ("forwarding", 1, "unsupported key"),
])
def test_invalid_values_are_explained(key, value, fragment):
    assert fragment in rules.invalid_value_reason(key, value)


def test_valid_values_pass():
    for key, (_rule, allowed, _default) in rules.KEY_RULES.items():
        for value in allowed:
            assert rules.invalid_value_reason(key, value) is None


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="mode"):
        rules.evaluate({}, [], mode="nat")


def test_no_arp_facing_interface_yet_is_judged_by_future_interfaces():
    """Early boot: the NIC may appear after the VIP; it would start with max(all, default)."""
    report = rules.evaluate(conf_for({}), [lo(VIP)])
    assert [v["code"] for v in rules.guard_violations(report)] == ["future_interfaces_leak"]
    assert report["state"] == "exposed"
    protected = rules.evaluate(conf_for({"arp_ignore": 1, "arp_announce": 2}), [lo(VIP)])
    assert protected["compliant"]


# Mutation guards (issue 15): each test below fails when its rule is changed.

# (all, interface) raw values -> effective value of an OR key. The kernel tests
# IN_DEV_ORCONF: (all || interface) over the raw signed integers, so a
# negative or large raw value counts as on; a MAX rule (max(-1, 0) == 0) or an
# interface-only rule gives other answers.
OR_TABLE = [
    ((0, 0), 0), ((1, 0), 1), ((0, 1), 1), ((1, 1), 1),
    ((-1, 0), 1), ((0, -1), 1), ((2, 0), 1), ((0, 5), 1), ((None, 1), 1), ((1, None), 1), ((None, None), 0),
]


@pytest.mark.parametrize("key", ["arp_filter", "accept_local", "proxy_arp"])
@pytest.mark.parametrize("values, effective", OR_TABLE, ids=["all=%s,if=%s" % v for v, _e in OR_TABLE])
def test_or_keys_combine_as_all_or_interface(key, values, effective):
    all_value, iface_value = values
    conf = conf_for({"arp_ignore": 1, "arp_announce": 2, key: all_value}, eth0={key: iface_value})
    report = rules.evaluate(conf, [lo(VIP), nic()])["interfaces"]["eth0"][key]
    assert report["rule"] == "or"
    assert (report["all"], report["interface"], report["effective"]) == (all_value, iface_value, effective)


@pytest.mark.parametrize("announce, protected", [(0, False), (1, False), (2, True)])
def test_future_interfaces_need_arp_announce_2_not_1(announce, protected):
    """arp_announce 1 still lets a new interface announce a VIP inside its own subnet: only 2 protects."""
    for where in ("all", "default"):
        conf = {"all": {"arp_ignore": 1}, "default": {}}
        conf[where]["arp_announce"] = announce
        future = rules.future_interfaces(conf)
        assert future["protected"] is protected, (where, future)
        assert future["arp_announce"] == announce
        report = rules.evaluate(dict(conf, lo={}), [lo(VIP)])
        codes = [v["code"] for v in rules.guard_violations(report)]
        assert codes == ([] if protected else ["future_interfaces_leak"]), (where, report["violations"])
        if not protected:
            assert "arp_announce %d" % announce in report["violations"][-1]["message"]


@pytest.mark.parametrize("value", [4, 5, 6, 7, 9, 255])
def test_reserved_arp_ignore_message_is_exact(value):
    """Values the kernel treats like 0: the reason says so, not just "must be one of"."""
    expected = ("arp_ignore %d is reserved: the kernel treats 4-7 and values above 8 like 0 and "
                "answers ARP for every local address, VIPs included; use 1 (or 2)" % value)
    assert rules.invalid_value_reason("arp_ignore", value) == expected
