# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The loopback_vip planner: validation errors, the plan table, the ARP guard."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan as planner

IP = "/sbin/ip"
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

LOOPBACK = [
    _iproute.address("127.0.0.1", 8, scope="host", label="lo"),
    _iproute.address("::1", 128, scope="host"),
]
ETH0 = _iproute.address("198.51.100.21", 24, label="eth0")
SAFE = {"arp_ignore": 1, "arp_announce": 2}
ZERO = {"arp_ignore": 0, "arp_announce": 0}


def a4(local, prefixlen=32, scope="host", label="lo:lvs"):
    return _iproute.address(local, prefixlen, scope=scope, label=label)


def a6(local, prefixlen=128, preferred=0):
    return _iproute.address(local, prefixlen, scope="global", preferred_life_time=preferred)


def iface(name, addresses=(), up=True, loopback=False, noarp=False, slave_kind=None, master=None, link_kind=None):
    return _iproute.Interface(name, up, loopback, noarp, link_kind, slave_kind, master, list(addresses))


def host(lo_extra=(), eth0=(ETH0,), others=()):
    return [iface("lo", LOOPBACK + list(lo_extra), loopback=True), iface("eth0", eth0)] + list(others)


def conf(all_=None, **per_iface):
    result = {"all": dict(SAFE if all_ is None else all_), "default": dict(ZERO), "lo": dict(ZERO), "eth0": dict(ZERO)}
    for name, values in per_iface.items():
        result.setdefault(name, dict(ZERO)).update(values)
    return result


def desired(addresses, device="lo", state="present", label=None, scope="host"):
    errors, result = planner.validate(addresses, device, state, label, scope)
    assert errors == []
    return result


def run(addresses, interfaces, conf_values=None, require=True, **kwargs):
    return planner.plan(desired(addresses, **kwargs), interfaces, conf_values or conf(), IP, require)


def argvs(result):
    return [op["argv"] for op in result["operations"]]


ADD4 = [IP, "-4", "addr", "replace", "198.51.100.100/32", "dev", "lo", "scope", "host", "label", "lo:lvs"]
ADD6 = [IP, "-6", "addr", "replace", "2001:db8::100/128", "dev", "lo", "preferred_lft", "0"]


# --------------------------------------------------------------------------
# validation: every error names the option and the value
# --------------------------------------------------------------------------

@pytest.mark.parametrize("addresses, device, state, label, scope, fragments", [
    (["198.51.100.100/24"], "lo", "present", None, "host", ["addresses[0]", "'198.51.100.100/24'", "/24", "/32"]),
    (["2001:db8::100/64"], "lo", "present", None, "host", ["addresses[0]", "'2001:db8::100/64'", "/128"]),
    (["198.51.100.1", "127.0.0.2"], "lo", "present", None, "host", ["addresses[1]", "'127.0.0.2'", "loopback"]),
    (["::1"], "lo", "present", None, "host", ["addresses[0]", "'::1'", "loopback"]),
    (["224.0.0.1"], "lo", "present", None, "host", ["'224.0.0.1'", "multicast"]),
    (["ff02::1"], "lo", "present", None, "host", ["'ff02::1'", "multicast"]),
    (["0.0.0.0"], "lo", "present", None, "host", ["'0.0.0.0'", "unspecified"]),
    (["::"], "lo", "present", None, "host", ["'::'", "unspecified"]),
    (["169.254.1.1"], "lo", "present", None, "host", ["'169.254.1.1'", "link-local"]),
    (["fe80::1"], "lo", "present", None, "host", ["'fe80::1'", "link-local"]),
    (["255.255.255.255"], "lo", "present", None, "host", ["'255.255.255.255'", "broadcast"]),
    (["vip.example"], "lo", "present", None, "host", ["addresses[0]", "'vip.example'", "not an IPv4 or IPv6"]),
    (["198.51.100.100; reboot"], "lo", "present", None, "host", ["'198.51.100.100; reboot'", "not an IPv4"]),
    (["::ffff:198.51.100.1"], "lo", "present", None, "host", ["'::ffff:198.51.100.1'", "IPv4-mapped", "198.51.100.1"]),
    (["2001:db8::100"], "tunl0", "present", None, "host", ["addresses[0]", "'2001:db8::100'", "IPv6", "tunl0"]),
    ([5], "lo", "present", None, "host", ["addresses[0]", "5", "must be a string"]),
    ("198.51.100.100", "lo", "present", None, "host", ["addresses", "'198.51.100.100'", "list"]),
    (["198.51.100.100"], "eth0", "present", None, "host", ["device", "'eth0'", "not allowed", "lo", "tunl0"]),
    (["198.51.100.100"], "lo; rm -rf /", "present", None, "host", ["device", "'lo; rm -rf /'", "may only contain"]),
    (["198.51.100.100"], "x" * 16, "present", None, "host", ["device", "'" + "x" * 16 + "'", "16 characters"]),
    (["198.51.100.100"], "", "present", None, "host", ["device", "''", "non-empty"]),
    (["198.51.100.100"], "lo", "present", "lo:0123456789abc", "host", ["label", "'lo:0123456789abc'", "16 characters"]),
    (["198.51.100.100"], "lo", "present", "lo:$(id)", "host", ["label", "'lo:$(id)'", "may only contain"]),
    (["198.51.100.100"], "lo", "present", "eth0:vip", "host", ["label", "'eth0:vip'", "must start with the device name"]),
    (["198.51.100.100"], "lo", "present", "lo", "host", ["label", "'lo'", "device's own label"]),
    (["198.51.100.100"], "lo", "bogus", None, "host", ["state", "'bogus'", "present, absent, exact"]),
    (["198.51.100.100"], "lo", "present", None, "link", ["scope", "'link'", "host, global"]),
])
def test_validation_errors_name_the_option_and_the_value(addresses, device, state, label, scope, fragments):
    errors, result = planner.validate(addresses, device, state, label, scope)
    assert result is None
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0]


def test_validation_reports_every_error_at_once():
    errors, result = planner.validate(["198.51.100.1/24", "ok", "198.51.100.2"], "lo", "present", "lo:" + "x" * 13, "site")
    assert result is None
    assert [e.split(":")[0] for e in errors] == ["scope", "label", "addresses[0]", "addresses[1]"]


def test_validation_normalises_and_deduplicates():
    errors, result = planner.validate(
        ["198.51.100.100", "198.51.100.100/32", " 2001:DB8::0100/128 ", "2001:db8::100"], "lo", "exact", None, "global")
    assert errors == []
    assert result == dict(
        vips=[ipaddress.ip_address("198.51.100.100"), ipaddress.ip_address("2001:db8::100")],
        device="lo", state="exact", label="lo:lvs", scope="global", mode="dr")


@pytest.mark.parametrize("mode, verdict", [(None, planner.PASS), ("dr", planner.PASS), ("tun", planner.FAIL)])
def test_the_guard_judges_the_mode_given_as_the_boot_guard_does(mode, verdict):
    # LVS-TUN with the VIP on lo: tunl0's scope-global VIP is a VIP too, so arp_ignore=3 (which hides only
    # scope-host addresses) leaks it; judged as DR (the mode derived from lo) the guard would let the add through
    # while the boot guard, reading mode=tun from the unit's data file, refuses it
    tunl0 = iface("tunl0", [_iproute.address("198.51.100.7", 32, scope="global", label="tunl0:lvs")], link_kind="ipip",
                  noarp=True)
    errors, wanted = planner.validate(["198.51.100.100"], "lo", "present", None, "host", mode)
    assert errors == [] and wanted["mode"] == (mode or "dr")
    result = planner.plan(wanted, host(others=[tunl0]), conf(all_={"arp_ignore": 3, "arp_announce": 2}, tunl0=ZERO),
                          IP, True)
    assert result["guard"]["verdict"] == verdict
    assert (result["error"] is not None) == (verdict == planner.FAIL)


@pytest.mark.parametrize("device, label", [("lo", "lo:lvs"), ("tunl0", "tunl0:lvs")])
def test_default_label_follows_the_device(device, label):
    assert planner.validate(["198.51.100.100"], device, "present", None, "host")[1]["label"] == label


def test_empty_address_list_is_valid():
    assert planner.validate([], "lo", "exact", None, "host")[0] == []


# --------------------------------------------------------------------------
# the plan table (ARP protection in effect)
# --------------------------------------------------------------------------

PLAN_CASES = [
    # id, addresses, state, lo addresses before, expected argv lists, expected after (diff lines)
    ("add-both", ["198.51.100.100", "2001:db8::100"], "present", [], [ADD4, ADD6],
     "198.51.100.100/32 scope host label lo:lvs\n2001:db8::100/128 preferred_lft 0\n"),
    ("already-there", ["198.51.100.100", "2001:db8::100/128"], "present",
     [a4("198.51.100.100"), a6("2001:db8::100")], [],
     "198.51.100.100/32 scope host label lo:lvs\n2001:db8::100/128 preferred_lft 0\n"),
    ("wrong-label-is-readded", ["198.51.100.100"], "present", [a4("198.51.100.100", label="lo:0")],
     [[IP, "-4", "addr", "del", "198.51.100.100/32", "dev", "lo"], ADD4],
     "198.51.100.100/32 scope host label lo:lvs\n"),
    ("wrong-scope-is-readded", ["198.51.100.100"], "present", [a4("198.51.100.100", scope="global")],
     [[IP, "-4", "addr", "del", "198.51.100.100/32", "dev", "lo"], ADD4],
     "198.51.100.100/32 scope host label lo:lvs\n"),
    ("wrong-prefix-is-replaced", ["198.51.100.100"], "present", [a4("198.51.100.100", 24, scope="global", label="lo")],
     [[IP, "-4", "addr", "del", "198.51.100.100/24", "dev", "lo"], ADD4],
     "198.51.100.100/32 scope host label lo:lvs\n"),
    ("wrong-prefix-next-to-right-one", ["198.51.100.100"], "present",
     [a4("198.51.100.100", 24, label="lo"), a4("198.51.100.100")],
     [[IP, "-4", "addr", "del", "198.51.100.100/24", "dev", "lo"]],
     "198.51.100.100/32 scope host label lo:lvs\n"),
    ("ipv6-lifetime-fixed-in-place", ["2001:db8::100"], "present", [a6("2001:db8::100", preferred=_iproute.FOREVER)],
     [ADD6], "2001:db8::100/128 preferred_lft 0\n"),
    ("ipv6-wrong-prefix", ["2001:db8::100"], "present", [a6("2001:db8::100", 64)],
     [[IP, "-6", "addr", "del", "2001:db8::100/64", "dev", "lo"], ADD6], "2001:db8::100/128 preferred_lft 0\n"),
    ("present-leaves-others", ["198.51.100.100"], "present", [a4("198.51.100.101"), a4("203.0.113.5", label="lo:x")],
     [ADD4],
     "198.51.100.100/32 scope host label lo:lvs\n198.51.100.101/32 scope host label lo:lvs\n"
     "203.0.113.5/32 scope host label lo:x\n"),
    ("absent-removes-only-the-vip", ["198.51.100.100", "2001:db8::100"], "absent",
     [a4("198.51.100.100"), a4("198.51.100.101"), a6("2001:db8::100"), a6("2001:db8::101")],
     [[IP, "-4", "addr", "del", "198.51.100.100/32", "dev", "lo"], [IP, "-6", "addr", "del", "2001:db8::100/128", "dev", "lo"]],
     "198.51.100.101/32 scope host label lo:lvs\n2001:db8::101/128 preferred_lft 0\n"),
    ("absent-any-form", ["198.51.100.100"], "absent", [a4("198.51.100.100", 24, scope="global", label="lo")],
     [[IP, "-4", "addr", "del", "198.51.100.100/24", "dev", "lo"]], ""),
    ("absent-not-there", ["198.51.100.100"], "absent", [a4("198.51.100.101")], [],
     "198.51.100.101/32 scope host label lo:lvs\n"),
    ("exact-removes-only-ours", ["198.51.100.100", "2001:db8::100"], "exact",
     [a4("198.51.100.100"), a4("198.51.100.101"), a4("203.0.113.5", label="lo:other"),
      a4("203.0.113.6", scope="global", label="lo"),
      a6("2001:db8::100"), a6("2001:db8::101"), a6("2001:db8::102", preferred=_iproute.FOREVER),
      a6("2001:db8:1::1", 64)],
     [[IP, "-4", "addr", "del", "198.51.100.101/32", "dev", "lo"],
      [IP, "-6", "addr", "del", "2001:db8::101/128", "dev", "lo"]],
     "198.51.100.100/32 scope host label lo:lvs\n203.0.113.5/32 scope host label lo:other\n"
     "203.0.113.6/32 scope global label lo\n2001:db8::100/128 preferred_lft 0\n"
     "2001:db8::102/128 preferred_lft forever\n2001:db8:1::1/64 preferred_lft 0\n"),
    ("exact-empty-list", [], "exact", [a4("198.51.100.100"), a4("203.0.113.5", label="lo:other"), a6("2001:db8::100")],
     [[IP, "-4", "addr", "del", "198.51.100.100/32", "dev", "lo"], [IP, "-6", "addr", "del", "2001:db8::100/128", "dev", "lo"]],
     "203.0.113.5/32 scope host label lo:other\n"),
    ("exact-adds-and-removes", ["198.51.100.100"], "exact", [a4("198.51.100.101")],
     [[IP, "-4", "addr", "del", "198.51.100.101/32", "dev", "lo"], ADD4],
     "198.51.100.100/32 scope host label lo:lvs\n"),
]


@pytest.mark.parametrize("addresses, state, before, expected, after_text",
                         [case[1:] for case in PLAN_CASES], ids=[case[0] for case in PLAN_CASES])
def test_plan_table(addresses, state, before, expected, after_text):
    result = run(addresses, host(lo_extra=before), state=state)
    assert result["error"] is None
    assert argvs(result) == expected
    assert planner.vip_lines(result["after"]) == after_text
    assert result["added"] == [op["address"] for op in result["operations"] if op["action"] == "add"]
    assert result["removed"] == [op["address"] for op in result["operations"] if op["action"] == "del"]
    # loopback addresses are never touched, and stay in the final set
    for protected in LOOPBACK:
        assert protected in result["after"]
        assert all(op["address"].split("/")[0] != protected.local for op in result["operations"])


def test_plan_with_custom_label_and_global_scope():
    result = run(["198.51.100.100"], host(), label="lo:web", scope="global")
    assert argvs(result) == [[IP, "-4", "addr", "replace", "198.51.100.100/32", "dev", "lo", "scope", "global",
                              "label", "lo:web"]]


def test_exact_is_scoped_by_label():
    result = run([], host(lo_extra=[a4("198.51.100.100", label="lo:web"), a4("198.51.100.101", label="lo:db")]),
                 state="exact", label="lo:db")
    assert result["removed"] == ["198.51.100.101/32"]


def test_plan_on_real_ip_output():
    """The captured iproute2 output (the lead's fixture): exact [] removes the two VIPs, nothing else."""
    with open(os.path.join(FIXTURES, "ip-j-d-addr.json")) as handle:
        interfaces = _iproute.parse_addr_json(handle.read())
    values = dict((i.name, dict(ZERO)) for i in interfaces)
    values["all"] = dict(SAFE)
    result = planner.plan(desired([], state="exact"), interfaces, values, IP)
    assert result["error"] is None
    assert result["removed"] == ["198.51.100.100/32", "2001:db8::100/128"]
    assert planner.vip_lines(result["after"]) == ""
    assert [a.local for a in result["after"]] == ["127.0.0.1", "::1"]


def test_address_dicts_and_lines():
    a = a4("198.51.100.100")
    assert planner.address_dict(a, "lo:lvs") == dict(
        address="198.51.100.100/32", family="inet", local="198.51.100.100", prefixlen=32, scope="host",
        label="lo:lvs", deprecated=False, managed=True)
    assert planner.address_dict(a6("2001:db8::100"), "lo:lvs")["deprecated"] is True
    assert planner.address_dict(LOOPBACK[0], "lo")["managed"] is False
    assert planner.address_text(a6("2001:db8::1", preferred=600)) == "2001:db8::1/128 preferred_lft 600sec"


@pytest.mark.parametrize("address, label, ours", [
    (a4("198.51.100.100"), "lo:lvs", True),
    (a4("198.51.100.100", label="lo:0"), "lo:lvs", False),
    (a4("127.0.0.2", 8, label="lo:lvs"), "lo:lvs", False),
    (a6("2001:db8::1"), "lo:lvs", True),
    (a6("2001:db8::1", preferred=_iproute.FOREVER), "lo:lvs", False),
    (a6("2001:db8::1", 64), "lo:lvs", False),
    (_iproute.address("::1", 128, scope="host", preferred_life_time=0), "lo:lvs", False),
    (_iproute.address("fe80::1", 128, scope="link", preferred_life_time=0), "lo:lvs", False),
])
def test_ownership_rule(address, label, ours):
    assert planner.is_ours(address, label) is ours


# --------------------------------------------------------------------------
# the ARP guard: evaluated on the state AFTER the change
# --------------------------------------------------------------------------

def test_guard_refuses_when_all_is_zero():
    result = run(["198.51.100.100"], host(), conf(all_=ZERO))
    assert result["operations"] == []
    assert result["guard"]["verdict"] == planner.FAIL
    msg = result["error"]
    assert msg == result["guard"]["message"]
    for fragment in ("198.51.100.100", "require_arp_protection=true", "eth0: arp_ignore is 0",
                     "set net.ipv4.conf.all.arp_ignore = 1", "eth0: arp_announce is 0",
                     "set net.ipv4.conf.all.arp_announce = 2", "Nothing was changed"):
        assert fragment in msg
    assert sorted(v["key"] for v in result["guard"]["violations"]) == ["arp_announce", "arp_ignore"]


def test_guard_sees_a_reserved_per_interface_value():
    """all.arp_ignore=1 but eth0.arp_ignore=4: the kernel uses max = 4, which replies."""
    result = run(["198.51.100.100"], host(), conf(eth0={"arp_ignore": 4}))
    assert result["guard"]["verdict"] == planner.FAIL
    assert result["operations"] == []
    [violation] = result["guard"]["violations"]
    assert (violation["interface"], violation["key"], violation["actual"]) == ("eth0", "arp_ignore", 4)
    assert "eth0: arp_ignore is 4" in result["error"]
    assert "set net.ipv4.conf.eth0.arp_ignore = 1" in result["error"]


@pytest.mark.parametrize("case, values, interfaces, scope, verdict", [
    ("second-nic-leaks", conf(eth1={"arp_ignore": 0}, all_={"arp_ignore": 0, "arp_announce": 2},
                              eth0={"arp_ignore": 1}),
     host(others=[iface("eth1", [_iproute.address("203.0.113.21", 24)])]), "host", planner.FAIL),
    ("down-nic-counts", conf(all_=ZERO, eth0=SAFE, eth1=ZERO),
     host(others=[iface("eth1", up=False)]), "host", planner.FAIL),
    ("bridge-port-ignored", conf(all_={"arp_ignore": 0, "arp_announce": 2}, eth0={"arp_ignore": 1}, port0=ZERO),
     host(others=[iface("port0", slave_kind="bridge", master="eth0")]), "host", planner.PASS),
    ("noarp-ignored", conf(all_={"arp_ignore": 0, "arp_announce": 2}, eth0={"arp_ignore": 1}, wg0=ZERO),
     host(others=[iface("wg0", noarp=True)]), "host", planner.PASS),
    ("arp_ignore-3-host-scope", conf(all_={"arp_ignore": 3, "arp_announce": 2}), host(), "host", planner.PASS),
    ("arp_ignore-3-global-scope", conf(all_={"arp_ignore": 3, "arp_announce": 2}), host(), "global", planner.FAIL),
    ("arp_ignore-8-blackhole", conf(all_={"arp_ignore": 8, "arp_announce": 2}), host(), "host", planner.FAIL),
    ("announce-1-vip-on-subnet", conf(all_={"arp_ignore": 1, "arp_announce": 1}), host(), "host", planner.FAIL),
    ("unnumbered-global-vip", conf(), host(eth0=[]), "global", planner.FAIL),
    ("unnumbered-host-vip", conf(), host(eth0=[]), "host", planner.PASS),
])
def test_guard_rules(case, values, interfaces, scope, verdict):
    result = run(["198.51.100.100"], interfaces, values, scope=scope)
    assert result["guard"]["verdict"] == verdict, result["guard"]
    assert (result["operations"] == []) is (verdict == planner.FAIL)


def test_guard_judges_the_state_after_the_change():
    """arp_ignore=3: a scope-global VIP of ours is being replaced by scope-host ones, so nothing leaks afterwards."""
    before = [a4("198.51.100.100", scope="global")]
    values = conf(all_={"arp_ignore": 3, "arp_announce": 2})
    result = run(["198.51.100.101"], host(lo_extra=before), values, state="exact")
    assert result["guard"]["verdict"] == planner.PASS
    assert result["removed"] == ["198.51.100.100/32"]
    # ... while with state=present the global one stays and the addition is refused
    result = run(["198.51.100.101"], host(lo_extra=before), values, state="present")
    assert result["guard"]["verdict"] == planner.FAIL
    assert result["guard"]["violations"][0]["code"] == "arp_ignore_scope"


def test_ipv6_only_additions_are_not_guarded():
    result = run(["2001:db8::100"], host(), conf(all_=ZERO))
    assert result["error"] is None
    assert argvs(result) == [ADD6]
    assert result["guard"]["verdict"] == planner.NOT_NEEDED
    assert result["guard"]["ipv4_additions"] == []


def test_ipv6_addition_next_to_an_exposed_ipv4_vip_warns():
    result = run(["2001:db8::100"], host(lo_extra=[a4("198.51.100.100")]), conf(all_=ZERO))
    assert argvs(result) == [ADD6]
    assert result["guard"]["verdict"] == planner.EXPOSED
    assert any("198.51.100.100 on lo while ARP protection is not in effect" in w for w in result["warnings"])


def test_removal_is_never_guarded():
    result = run(["198.51.100.100"], host(lo_extra=[a4("198.51.100.100")]), conf(all_=ZERO), state="absent")
    assert result["error"] is None
    assert result["removed"] == ["198.51.100.100/32"]
    assert result["guard"]["verdict"] == planner.NOT_NEEDED


def test_guard_can_be_overridden_with_a_warning():
    result = run(["198.51.100.100"], host(), conf(all_=ZERO), require=False)
    assert result["error"] is None
    assert argvs(result) == [ADD4]
    assert result["guard"]["verdict"] == planner.OVERRIDDEN
    assert result["guard"]["required"] is False
    assert any(w.startswith("require_arp_protection=false") and "eth0: arp_ignore is 0" in w
               for w in result["warnings"])


def test_guard_refuses_a_relabel_too():
    """Fixing an existing VIP's label means delete + add, so it is guarded; nothing is deleted on refusal."""
    result = run(["198.51.100.100"], host(lo_extra=[a4("198.51.100.100", label="lo:0")]), conf(all_=ZERO))
    assert result["guard"]["verdict"] == planner.FAIL
    assert result["operations"] == [] and result["removed"] == []


def test_future_interfaces_warning_when_only_per_interface_keys_protect():
    result = run(["198.51.100.100"], host(), conf(all_=ZERO, eth0=SAFE))
    assert result["guard"]["verdict"] == planner.PASS
    assert any("interfaces created later" in w for w in result["warnings"])


# --------------------------------------------------------------------------
# devices
# --------------------------------------------------------------------------

def test_missing_tunl0():
    result = run(["198.51.100.100"], host(), device="tunl0")
    assert "device: 'tunl0' does not exist" in result["error"] and "ipip" in result["error"]
    assert result["operations"] == []
    assert run(["198.51.100.100"], host(), device="tunl0", state="absent")["error"] is None
    assert run([], host(), device="tunl0", state="exact")["error"] is None


def test_tunl0():
    tunl0 = iface("tunl0", noarp=True, up=False, link_kind="ipip")
    values = conf(tunl0=ZERO)
    result = run(["198.51.100.100"], host(others=[tunl0]), values, device="tunl0")
    assert argvs(result) == [[IP, "-4", "addr", "replace", "198.51.100.100/32", "dev", "tunl0", "scope", "host",
                              "label", "tunl0:lvs"]]
    assert result["guard"]["verdict"] == planner.PASS
    assert "tunl0" not in result["guard"]["arp_facing"]
    assert any(w.startswith("tunl0 is down") for w in result["warnings"])


def test_vip_also_on_an_arp_facing_interface_warns():
    eth0 = [ETH0, _iproute.address("198.51.100.100", 32, label="eth0")]
    result = run(["198.51.100.100"], host(eth0=eth0))
    assert any("198.51.100.100 is also on eth0" in w for w in result["warnings"])


def test_with_runtime_changes_overlays_a_copy():
    conf = {"all": {"arp_ignore": 0, "arp_announce": 0}, "eth0": {"arp_ignore": 0}}
    merged = planner.with_runtime_changes(conf, [
        {"interface": "all", "key": "arp_ignore", "after": 1},
        {"interface": "eth1", "key": "arp_announce", "after": 2},
    ])
    assert merged == {"all": {"arp_ignore": 1, "arp_announce": 0}, "eth0": {"arp_ignore": 0}, "eth1": {"arp_announce": 2}}
    assert conf["all"]["arp_ignore"] == 0


# --------------------------------------------------------------------------
# the rules boot_unit and converge share (one validator, the caller's option names)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("device, mode, expected", [("lo", None, "dr"), ("tunl0", None, "tun"), ("lo", "tun", "tun"),
                                                    ("tunl0", "dr", "dr")])
def test_mode_of_derives_tun_from_tunl0_unless_given(device, mode, expected):
    assert planner.mode_of(device, mode) == expected


def test_unit_errors_name_the_callers_options_and_values():
    names = dict(addresses="realserver_vips", device="realserver_vip_device", mode="realserver_mode")
    assert planner.unit_errors([], "tunl0", "dr", True, names, " (hint)") == [
        "realserver_vips: [] is empty: list at least one VIP (IPv4 /32 or IPv6 /128) (hint)",
        "realserver_vip_device: 'tunl0' needs realserver_mode=tun (got 'dr'): tunl0 is the IPIP fallback device, "
        "LVS-DR VIPs go on lo"]
    assert planner.unit_errors([], "lo", "dr", True)[0].startswith("addresses: [] is empty")


@pytest.mark.parametrize("addresses, device, mode, needs_vips", [
    (["192.0.2.10"], "lo", "dr", True), (["192.0.2.10"], "tunl0", "tun", True), ([], "lo", "dr", False),
    (["192.0.2.10"], "lo", "tun", True)])
def test_unit_errors_pass_what_is_allowed(addresses, device, mode, needs_vips):
    assert planner.unit_errors(addresses, device, mode, needs_vips) == []
