# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The arp_facts assembly (boot, drift, at_boot, hazards) as pure functions over fake inputs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model as boot_model
from ansible_collections.lvs.realserver.plugins.module_utils import _facts as facts
from ansible_collections.lvs.realserver.plugins.module_utils import _routes
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils._iproute import Interface, address
from ansible_collections.lvs.realserver.tests.unit.plugins.module_utils.test_facts_netstack_config import NETPLAN_ETH

VIP = "198.51.100.100"
RIP = "198.51.100.21"
ETC = "/etc/sysctl.d"
USR = "/usr/lib/sysctl.d"

SYSTEMD_50_DEFAULT = """\
# systemd 252 50-default.conf (excerpt)
net.ipv4.conf.default.rp_filter = 2
net.ipv4.conf.*.rp_filter = 2
-net.ipv4.conf.all.rp_filter
"""

LVS_DROPIN = """\
# Managed by lvs.realserver.arp_sysctl. Do not edit: changes are overwritten.
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.all.arp_announce = 2
"""


def lo(*vips, **kwargs):
    scope = kwargs.get("scope", "global")
    addrs = [address("127.0.0.1", 8, "host"), address("::1", 128, "host")]
    addrs += [address(v, 32 if ":" not in v else 128, scope, label="lo:lvs") for v in vips]
    return Interface("lo", True, True, False, None, None, None, addrs)


def nic(name="eth0", ip=RIP, prefix=24, up=True, extra=()):
    addrs = ([address(ip, prefix)] if ip else []) + list(extra)
    return Interface(name, up, False, False, "veth", None, None, addrs)


def tunl0(numbered=False, up=True):
    addrs = [address("192.0.2.77", 32)] if numbered else []
    return Interface("tunl0", up, False, True, "ipip", None, None, addrs)


def conf_of(all_values=None, default=None, **ifaces):
    keys = rules.READ_KEYS
    conf = {
        "all": dict((k, 0) for k in keys),
        "default": dict((k, 0) for k in keys),
        "lo": dict((k, 0) for k in keys),
    }
    conf["all"].update(all_values or {})
    conf["default"].update(default or {})
    for name, values in ifaces.items():
        conf[name] = dict((k, 0) for k in keys)
        conf[name].update(values)
    return conf


def cand(directory, name, text, masked=False):
    return sysctl_d.ConfigFile(directory, name, masked, text)


def protected_conf(**ifaces):
    return conf_of({"arp_ignore": 1, "arp_announce": 2}, eth0={}, **ifaces)


def run(conf=None, interfaces=None, candidates=(), **kwargs):
    conf = conf if conf is not None else protected_conf()
    interfaces = interfaces if interfaces is not None else [lo(VIP), nic()]
    return facts.assemble(conf, interfaces, candidates=candidates, collected_at="2026-01-01T00:00:00Z", **kwargs)


def codes(items):
    return [i["code"] for i in items]


# --------------------------------------------------------------------------
# the evaluator's report is passed through whole
# --------------------------------------------------------------------------

def test_assemble_contains_the_whole_evaluator_report():
    conf = protected_conf()
    interfaces = [lo(VIP), nic()]
    expected = rules.evaluate(conf, interfaces)
    report = run(conf, interfaces)
    for key, value in expected.items():
        if key in ("interfaces", "warnings"):
            continue
        assert report[key] == value, key
    assert set(report["interfaces"]) == set(expected["interfaces"])
    assert report["compliant"] is True and report["state"] == "compliant"
    assert report["facts_version"] == 1
    assert report["collected_at"] == "2026-01-01T00:00:00Z"
    assert report["boot_tool"] == "systemd-sysctl"


def test_interface_report_adds_the_raw_default_value():
    conf = conf_of({"arp_ignore": 1, "arp_announce": 2}, default={"arp_ignore": 2, "rp_filter": 2}, eth0={})
    eth0 = run(conf)["interfaces"]["eth0"]
    assert eth0["arp_ignore"] == {
        "all": 1, "default": 2, "interface": 0, "effective": 1, "rule": "max", "verdict": "ok", "note": None}
    assert eth0["rp_filter"]["default"] == 2
    assert eth0["up"] is True


def test_exposed_state_and_codes_come_from_the_evaluator():
    report = run(conf_of(eth0={}))
    assert report["state"] == "exposed"
    assert codes(report["violations"])[0] == "vip_exposed"
    assert not report["compliant"]


# --------------------------------------------------------------------------
# boot values
# --------------------------------------------------------------------------

def test_boot_reports_file_and_line_for_all_default_and_each_arp_facing_interface():
    candidates = [cand(USR, "50-default.conf", SYSTEMD_50_DEFAULT), cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)]
    report = run(candidates=candidates, interfaces=[lo(VIP), nic(), nic("eth1", "203.0.113.21")],
                 conf=conf_of({"arp_ignore": 1, "arp_announce": 2}, eth0={}, eth1={}))
    boot = report["boot"]
    expected_names = set(
        "net.ipv4.conf.%s.%s" % (i, k) for i in ("all", "default", "eth0", "eth1")
        for k in ("arp_ignore", "arp_announce", "rp_filter"))
    assert set(boot) == expected_names
    assert boot["net.ipv4.conf.all.arp_ignore"] == {"value": 1, "file": ETC + "/99-zz-lvs.conf", "line": 2}
    assert boot["net.ipv4.conf.all.arp_announce"] == {"value": 2, "file": ETC + "/99-zz-lvs.conf", "line": 3}
    # the glob reaches the interfaces, "-net.ipv4.conf.all.rp_filter" keeps it off all
    assert boot["net.ipv4.conf.eth1.rp_filter"] == {"value": 2, "file": USR + "/50-default.conf", "line": 3}
    assert boot["net.ipv4.conf.default.rp_filter"] == {"value": 2, "file": USR + "/50-default.conf", "line": 2}
    assert boot["net.ipv4.conf.all.rp_filter"] == {"value": None, "file": None, "line": None}
    assert boot["net.ipv4.conf.eth0.arp_ignore"] == {"value": None, "file": None, "line": None}


PREDICTED_KEYS = ("arp_ignore", "arp_announce", "arp_filter", "rp_filter", "arp_notify")


def test_boot_prediction_covers_all_default_lo_and_each_arp_facing_interface():
    candidates = [cand(USR, "50-default.conf", SYSTEMD_50_DEFAULT), cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)]
    report = run(candidates=candidates, interfaces=[lo(VIP), nic(), nic("eth1", "203.0.113.21")],
                 conf=conf_of({"arp_ignore": 1, "arp_announce": 2}, eth0={}, eth1={}))
    predicted = report["boot_prediction"]
    assert [(p["interface"], p["key"]) for p in predicted] == [
        (i, k) for i in ("all", "default", "lo", "eth0", "eth1") for k in PREDICTED_KEYS]
    by = dict(((p["interface"], p["key"]), p) for p in predicted)
    assert by[("eth0", "rp_filter")] == {
        "interface": "eth0", "key": "rp_filter", "early": 2, "late": 2, "value": 2, "order_dependent": False,
        "basis": "file", "file": USR + "/50-default.conf", "line": 3}
    assert by[("all", "arp_ignore")]["value"] == 1 and by[("all", "rp_filter")]["basis"] == "kernel_default"
    assert by[("eth1", "arp_ignore")] == {
        "interface": "eth1", "key": "arp_ignore", "early": 0, "late": 0, "value": 0, "order_dependent": False,
        "basis": "default", "file": None, "line": None}
    assert not any(p["order_dependent"] for p in predicted)


def test_boot_prediction_adds_tunl0_when_present_or_in_tun_mode():
    assert "tunl0" not in set(p["interface"] for p in run()["boot_prediction"])
    present = run(interfaces=[lo(VIP), nic(), tunl0()])
    assert [p["key"] for p in present["boot_prediction"] if p["interface"] == "tunl0"] == list(PREDICTED_KEYS)
    tun = run(mode="tun", candidates=[cand(ETC, "10-d.conf", "net.ipv4.conf.default.rp_filter = 2\n")])
    rp = [p for p in tun["boot_prediction"] if p["interface"] == "tunl0" and p["key"] == "rp_filter"]
    assert rp == [{"interface": "tunl0", "key": "rp_filter", "early": 0, "late": 2, "value": None,
                   "order_dependent": True, "basis": "default", "file": ETC + "/10-d.conf", "line": 1}]


def test_a_default_only_protection_is_compliant_at_boot_with_a_warning_about_the_order():
    candidates = [cand(ETC, "10-d.conf", "net.ipv4.conf.default.arp_ignore = 1\nnet.ipv4.conf.default.arp_announce = 2\n")]
    conf = conf_of(default={"arp_ignore": 1, "arp_announce": 2}, eth0={"arp_ignore": 1, "arp_announce": 2})
    report = run(conf, candidates=candidates)
    assert report["at_boot"]["compliant"] is True
    warned = [w for w in report["warnings"] if w.startswith("at_boot: eth0 ")]
    print("\n".join(warned))
    assert len(warned) == 2
    assert "eth0 arp_ignore is 1 only by inheriting net.ipv4.conf.default.arp_ignore" in warned[0]
    assert "arp_ignore_leak" in warned[0] and "arp_announce_leak" in warned[1]
    # with all set, the order does not matter: no warning
    protected = run(protected_conf(), candidates=candidates + [cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)])
    assert not [w for w in protected["warnings"] if w.startswith("at_boot:")]


def test_boot_covers_tunl0_in_tun_mode_even_before_ipip_is_loaded():
    report = run(mode="tun", candidates=[cand(USR, "50-default.conf", SYSTEMD_50_DEFAULT)])
    assert report["boot"]["net.ipv4.conf.tunl0.rp_filter"] == {
        "value": 2, "file": USR + "/50-default.conf", "line": 3}
    assert "net.ipv4.conf.tunl0.arp_ignore" in report["boot"]
    assert "net.ipv4.conf.tunl0.rp_filter" not in run()["boot"]


def test_boot_names_dotted_interfaces_in_slash_form():
    conf = conf_of({"arp_ignore": 1, "arp_announce": 2}, **{"eth0.100": {}})
    text = "net.ipv4.conf.eth0/100.arp_ignore = 1\n"
    report = run(conf, [lo(VIP), nic("eth0.100")], candidates=[cand(ETC, "60-vlan.conf", text)])
    assert report["boot"]["net.ipv4.conf.eth0/100.arp_ignore"] == {
        "value": 1, "file": ETC + "/60-vlan.conf", "line": 1}


def test_etc_masks_a_same_named_vendor_file_and_last_file_wins():
    candidates = [
        cand(USR, "10-lvs.conf", "net.ipv4.conf.all.arp_ignore = 8\n"),
        cand(ETC, "10-lvs.conf", "net.ipv4.conf.all.arp_ignore = 1\n"),
        cand(USR, "20-vendor.conf", "\nnet.ipv4.conf.all.arp_announce = 1\n"),
        cand(ETC, "05-early.conf", "net.ipv4.conf.all.arp_announce = 2\n"),
    ]
    boot = run(candidates=candidates)["boot"]
    assert boot["net.ipv4.conf.all.arp_ignore"] == {"value": 1, "file": ETC + "/10-lvs.conf", "line": 1}
    assert boot["net.ipv4.conf.all.arp_announce"] == {"value": 1, "file": USR + "/20-vendor.conf", "line": 2}


def test_sysctl_conf_is_not_read_by_systemd_but_a_99_sysctl_link_is():
    link = cand(ETC, "99-sysctl.conf", "net.ipv4.conf.all.arp_ignore = 2\n")
    report = run(candidates=[link], sysctl_conf_text="net.ipv4.conf.all.arp_ignore = 2\n")
    assert report["boot"]["net.ipv4.conf.all.arp_ignore"]["file"] == ETC + "/99-sysctl.conf"
    report = run(sysctl_conf_text="net.ipv4.conf.all.arp_ignore = 2\n")
    assert report["boot"]["net.ipv4.conf.all.arp_ignore"]["file"] is None


@pytest.mark.parametrize("text, value", [("1", 1), (" -1 ", -1), ("+2", 2), ("bogus", None), ("1 2", None), ("", None)])
def test_int_value(text, value):
    assert facts.sysctl_d.int_value(text) == value


def test_a_non_integer_value_keeps_its_file_and_is_a_hazard():
    candidates = [cand(ETC, "70-bad.conf", "net.ipv4.conf.all.arp_ignore = one\n")]
    report = run(candidates=candidates)
    assert report["boot"]["net.ipv4.conf.all.arp_ignore"] == {"value": None, "file": ETC + "/70-bad.conf", "line": 1}
    bad = [h for h in report["hazards"] if h["code"] == "sysctl_bad_value"]
    assert len(bad) == 1 and bad[0]["file"] == ETC + "/70-bad.conf" and bad[0]["line"] == 1
    # systemd-sysctl cannot write "one": all.arp_ignore keeps the kernel default, so the live 1 drifts
    drift = [d for d in report["drift"] if d["name"] == "net.ipv4.conf.all.arp_ignore"]
    assert [(d["live"], d["boot"], d["basis"]) for d in drift] == [(1, 0, "kernel_default")]
    assert "arp_ignore_leak" in codes(report["at_boot"]["violations"])


def test_parse_problems_become_warnings():
    report = run(candidates=[cand(ETC, "80-x.conf", "net.ipv4.conf.all.arp_ignore = 1\nnonsense\n")])
    assert any(w.startswith(ETC + "/80-x.conf:2: ignored at boot") for w in report["warnings"])


# --------------------------------------------------------------------------
# drift
# --------------------------------------------------------------------------

def test_runtime_only_protection_drifts_to_the_kernel_default():
    report = run()  # all=1/2 live, nothing persisted
    drift = dict((d["name"], d) for d in report["drift"])
    assert drift["net.ipv4.conf.all.arp_ignore"] == {
        "name": "net.ipv4.conf.all.arp_ignore", "interface": "all", "key": "arp_ignore",
        "live": 1, "boot": 0, "basis": "kernel_default", "file": None, "line": None}
    assert drift["net.ipv4.conf.all.arp_announce"]["boot"] == 0
    assert sorted(drift) == ["net.ipv4.conf.all.arp_announce", "net.ipv4.conf.all.arp_ignore"]


def test_no_drift_when_the_files_give_the_live_values():
    assert run(candidates=[cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)])["drift"] == []


def test_unset_interface_keys_are_order_dependent_and_drift_only_from_both_values():
    candidates = [cand(USR, "50-default.conf", "net.ipv4.conf.default.arp_ignore = 1\n")]
    # live 0 is what eth0 keeps when it exists (with an address) before systemd-sysctl: not drift
    conf = conf_of({"arp_announce": 2}, default={"arp_ignore": 1}, eth0={"arp_ignore": 0})
    assert [d for d in run(conf, candidates=candidates)["drift"] if d["interface"] == "eth0"] == []
    # live 2 is neither 0 (early) nor 1 (late, inherited from default): drift, with default's line
    conf = conf_of({"arp_announce": 2}, default={"arp_ignore": 1}, eth0={"arp_ignore": 2})
    eth0 = [d for d in run(conf, candidates=candidates)["drift"] if d["interface"] == "eth0"]
    assert eth0 == [{
        "name": "net.ipv4.conf.eth0.arp_ignore", "interface": "eth0", "key": "arp_ignore",
        "live": 2, "boot": 1, "basis": "default", "file": USR + "/50-default.conf", "line": 1}]


def test_an_interface_set_at_runtime_only_drifts_back_to_default():
    conf = conf_of({"arp_announce": 2}, eth0={"arp_ignore": 1})
    drift = run(conf)["drift"]
    assert [(d["name"], d["live"], d["boot"], d["basis"]) for d in drift] == [
        ("net.ipv4.conf.all.arp_announce", 2, 0, "kernel_default"),
        ("net.ipv4.conf.eth0.arp_ignore", 1, 0, "default")]


def test_glob_reaching_an_interface_is_drift_with_its_file():
    candidates = [cand(USR, "50-default.conf", SYSTEMD_50_DEFAULT), cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)]
    drift = run(candidates=candidates)["drift"]
    assert [(d["name"], d["live"], d["boot"], d["file"], d["line"]) for d in drift] == [
        ("net.ipv4.conf.default.rp_filter", 0, 2, USR + "/50-default.conf", 2),
        ("net.ipv4.conf.eth0.rp_filter", 0, 2, USR + "/50-default.conf", 3)]


# --------------------------------------------------------------------------
# at_boot: the same evaluator over the boot values
# --------------------------------------------------------------------------

def test_compliant_now_but_exposed_after_reboot():
    report = run()
    assert report["compliant"] is True
    assert report["at_boot"]["compliant"] is False
    assert report["at_boot"]["state"] == "exposed"
    assert "arp_ignore_leak" in codes(report["at_boot"]["violations"])
    assert report["at_boot"]["future_interfaces"]["protected"] is False


def test_leaking_now_but_compliant_after_reboot():
    report = run(conf_of(eth0={}), candidates=[cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)])
    assert report["state"] == "exposed"
    assert report["at_boot"] == {
        "compliant": True, "state": "compliant", "violations": [],
        "future_interfaces": {"protected": True, "arp_ignore": 1, "arp_announce": 2,
                              "detail": "arp_ignore 1 and arp_announce 2"}}


def test_boot_verdict_uses_an_interface_value_higher_than_all():
    candidates = [cand(ETC, "99-zz-lvs.conf", LVS_DROPIN), cand(ETC, "60-nic.conf", "net.ipv4.conf.eth0.arp_ignore = 5\n")]
    at_boot = run(candidates=candidates)["at_boot"]
    leak = [v for v in at_boot["violations"] if v["code"] == "arp_ignore_leak"]
    assert leak and leak[0]["actual"] == 5 and leak[0]["interface"] == "eth0"


def test_boot_conf_does_not_invent_absent_interfaces():
    resolution = sysctl_d.resolve([(ETC + "/x.conf", "net.ipv4.conf.tunl0.rp_filter = 2\n")])
    model = boot_model.by_interface(boot_model.predictions(resolution, ["all", "tunl0"], ["rp_filter"]))
    after = boot_model.boot_conf({"all": {"rp_filter": 1}}, model)
    assert "tunl0" not in after and after["all"]["rp_filter"] == 0


# --------------------------------------------------------------------------
# hazards: VIP placement, TUN rp_filter, /etc/sysctl.conf
# --------------------------------------------------------------------------

def test_vip_on_an_arp_facing_interface_is_a_hazard():
    interfaces = [lo(VIP), nic(extra=[address(VIP, 32)])]
    report = run(interfaces=interfaces)
    found = [h for h in report["hazards"] if h["code"] == "vip_on_arp_interface"]
    assert len(found) == 1
    assert found[0]["severity"] == "error" and found[0]["interface"] == "eth0"
    assert found[0]["fix"] == "ip addr del %s/32 dev eth0; keep VIPs on lo only" % VIP


def test_expected_vip_only_on_an_arp_facing_interface_is_a_hazard_and_a_violation():
    interfaces = [lo(), nic(extra=[address("198.51.100.101", 32)])]
    report = run(interfaces=interfaces, expected_vips=["198.51.100.101/32"])
    assert codes(report["hazards"]) == ["vip_on_arp_interface"]
    assert "vip_on_arp_interface" in codes(report["violations"])


def test_tun_glob_from_50_default_reaches_tunl0():
    candidates = [cand(USR, "50-default.conf", SYSTEMD_50_DEFAULT), cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)]
    conf = protected_conf(tunl0={})
    report = run(conf, [lo(VIP), nic(), tunl0()], candidates=candidates, mode="tun")
    tun = [h for h in report["hazards"] if h["code"] == "tunl0_rp_filter_at_boot"]
    assert len(tun) == 1
    assert (tun[0]["file"], tun[0]["line"], tun[0]["severity"]) == (USR + "/50-default.conf", 3, "error")
    assert "all_rp_filter_breaks_tun" not in codes(report["hazards"])
    assert report["compliant"] is True  # the running values are fine
    assert "tun_rp_filter" in codes(report["at_boot"]["violations"])


def test_tun_explicit_tunl0_key_beats_the_glob():
    lvs = LVS_DROPIN + "net.ipv4.conf.tunl0.rp_filter = 0\n"
    candidates = [cand(USR, "50-default.conf", SYSTEMD_50_DEFAULT), cand(ETC, "99-zz-lvs.conf", lvs)]
    report = run(protected_conf(tunl0={}), [lo(VIP), nic(), tunl0()], candidates=candidates, mode="tun")
    assert not [h for h in report["hazards"] if "rp_filter" in h["code"]]
    assert report["at_boot"]["compliant"] is True


def test_tun_tunl0_inherits_default_when_ipip_loads_later():
    candidates = [cand(USR, "50-default.conf", "net.ipv4.conf.default.rp_filter = 2\n")]
    report = run(mode="tun", candidates=candidates)  # no tunl0 yet
    tun = [h for h in report["hazards"] if h["code"] == "tunl0_rp_filter_at_boot"]
    assert (tun[0]["file"], tun[0]["line"]) == (USR + "/50-default.conf", 1)
    assert "inherited from net.ipv4.conf.default.rp_filter" in tun[0]["message"]
    assert "tun_device_missing" in codes(report["violations"])


@pytest.mark.parametrize("live_all, boot_text, numbered, hazard", [
    (2, "", False, True),
    (0, "net.ipv4.conf.all.rp_filter = 2\n", False, True),
    (0, "net.ipv4.conf.all.rp_filter = 1\n", True, True),
    (0, "net.ipv4.conf.all.rp_filter = 2\n", True, False),  # loose is fine with a numbered tunl0
    (0, "net.ipv4.conf.all.rp_filter = 0\n", False, False),
])
def test_all_rp_filter_breaks_tun(live_all, boot_text, numbered, hazard):
    conf = conf_of({"arp_ignore": 1, "arp_announce": 2, "rp_filter": live_all}, eth0={}, tunl0={})
    candidates = [cand(ETC, "30-rpf.conf", boot_text)] if boot_text else []
    report = run(conf, [lo(VIP), nic(), tunl0(numbered)], candidates=candidates, mode="tun")
    found = [h for h in report["hazards"] if h["code"] == "all_rp_filter_breaks_tun"]
    assert bool(found) is hazard
    if found and boot_text:
        assert (found[0]["file"], found[0]["line"]) == (ETC + "/30-rpf.conf", 1)


def test_no_tun_hazards_in_dr_mode():
    conf = conf_of({"arp_ignore": 1, "arp_announce": 2, "rp_filter": 2}, eth0={})
    report = run(conf, candidates=[cand(USR, "50-default.conf", SYSTEMD_50_DEFAULT)])
    assert not [h for h in report["hazards"] if "rp_filter" in h["code"]]


# --------------------------------------------------------------------------
# hazards: DR, strict rp_filter where the default route leaves through another interface
# --------------------------------------------------------------------------

ROUTE_HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\t\n"


def route_line(iface, destination="00000000", mask="00000000", metric=0, gateway="017100CB", flags="0003"):
    """One /proc/net/route line (addresses in host byte order, as the kernel prints them)."""
    return "%s\t%s\t%s\t%s\t0\t0\t%d\t%s\t0\t0\t0\n" % (iface, destination, gateway, flags, metric, mask)


@pytest.mark.parametrize("text, routes", [
    ("", []),
    (ROUTE_HEADER, []),
    (ROUTE_HEADER + route_line("eth1"), [("eth1", 0)]),
    (ROUTE_HEADER + route_line("eth0", "006433C6", "00FFFFFF", gateway="00000000", flags="0001") + route_line("eth1"),
     [("eth1", 0)]),
    (ROUTE_HEADER + route_line("eth1", metric=100) + route_line("eth0", metric=200), [("eth1", 100), ("eth0", 200)]),
    (ROUTE_HEADER + route_line("eth0", mask="FFFFFFFF"), []),  # 0.0.0.0/32 is no default route
    (ROUTE_HEADER + route_line("*", gateway="00000000", flags="0201"), []),  # unreachable default: no device
    (route_line("eth0.100"), [("eth0.100", 0)]),  # no header
    (ROUTE_HEADER + "eth0\t00000000\n" + "garbage\n\n" + "eth0\tzz000000\t0\t0003\t0\t0\t0\t00000000\n"
     + "eth0\t00000000\t0\t0003\t0\t0\tx\t00000000\n" + route_line("eth1"), [("eth1", 0)]),
])
def test_parse_default_routes(text, routes):
    assert _routes.parse_default_routes(text) == [_routes.DefaultRoute(*r) for r in routes]


@pytest.mark.parametrize("routes, preferred", [
    ([], []),
    ([("eth1", 0)], ["eth1"]),
    ([("eth0", 200), ("eth1", 100)], ["eth1"]),  # the lookup takes the lowest metric
    ([("eth1", 100), ("eth0", 100), ("eth1", 100)], ["eth0", "eth1"]),
])
def test_preferred_default_interfaces(routes, preferred):
    assert _routes.preferred_default_interfaces([_routes.DefaultRoute(*r) for r in routes]) == preferred


def two_nics(numbered=True, **values):
    """eth0 faces the director, eth1 the router; ``values``: rp_filter per all/eth0/eth1."""
    conf = conf_of({"arp_ignore": 1, "arp_announce": 2, "rp_filter": values.get("all", 0)},
                   eth0={"rp_filter": values.get("eth0", 0)}, eth1={"rp_filter": values.get("eth1", 0)})
    return conf, [lo(VIP), nic("eth0", RIP if numbered else None), nic("eth1", "203.0.113.21")]


def defaults(*routes):
    return [_routes.DefaultRoute(*r) if isinstance(r, tuple) else _routes.DefaultRoute(r, 0) for r in routes]


def rp_hazards(report):
    return [h for h in report["hazards"] if h["code"] == "dr_rp_filter_asymmetric"]


@pytest.mark.parametrize("values, routes, numbered, mode, flagged", [
    ({"eth0": 1}, ["eth1"], True, "dr", ["eth0"]),  # asymmetric, strict
    ({"eth0": 1}, ["eth0"], True, "dr", []),  # symmetric
    ({"eth0": 2}, ["eth1"], True, "dr", []),  # loose
    ({"eth0": 7}, ["eth1"], True, "dr", []),  # any other non-zero value is loose too
    ({"all": 1}, ["eth1"], True, "dr", ["eth0"]),  # max rule: all=1 with eth0=0; eth1 carries the route
    ({"all": -1, "eth0": 1}, ["eth1"], True, "dr", ["eth0"]),
    ({"all": 1, "eth0": 2}, ["eth1"], True, "dr", []),  # max(1, 2) = 2: the interface's 2 wins
    ({"all": 1}, ["wg0"], True, "dr", ["eth0", "eth1"]),  # the route leaves through a non-ARP interface
    ({"eth0": 1}, ["eth1"], True, "tun", []),  # TUN traffic arrives on tunl0 (rule 9)
    ({"all": 1}, [], True, "dr", []),  # no default route
    ({"eth0": 1}, [("eth1", 100), ("eth0", 200)], True, "dr", ["eth0"]),  # the lookup takes eth1
    ({"all": 1}, [("eth1", 100), ("eth0", 100)], True, "dr", []),  # both carry a preferred default route
    ({"eth0": 2}, ["eth1"], False, "dr", ["eth0"]),  # no IPv4 address: loose drops too
    ({"all": 0}, ["eth1"], False, "dr", []),
])
def test_dr_rp_filter_asymmetric(values, routes, numbered, mode, flagged):
    conf, interfaces = two_nics(numbered, **values)
    report = run(conf, interfaces, mode=mode, default_routes=defaults(*routes))
    assert [h["interface"] for h in rp_hazards(report)] == flagged


def test_dr_rp_filter_hazard_is_a_warning_with_a_fix_and_leaves_the_verdict_alone():
    conf, interfaces = two_nics(all=1)
    report = run(conf, interfaces, default_routes=defaults("eth1"))
    assert report["compliant"] is True and report["state"] == "compliant"
    assert report["compliant"] == run(conf, interfaces)["compliant"]
    found = rp_hazards(report)
    assert len(found) == 1 and report["hazard_count"] == 1
    assert (found[0]["severity"], found[0]["interface"], found[0]["file"], found[0]["line"]) == (
        "warning", "eth0", None, None)
    assert found[0]["message"].startswith(
        "strict reverse-path filtering on eth0: max(all, eth0).rp_filter is 1 now and 0 after the next boot, "
        "while the default route leaves through eth1")
    assert found[0]["fix"].startswith("set net.ipv4.conf.eth0.rp_filter = 2 (loose)")
    assert "max(all, eth0), so a 2 on either side beats a 1, while 0 does not" in found[0]["fix"]


def test_dr_rp_filter_fix_for_an_unnumbered_interface_and_a_dotted_name():
    conf = conf_of({"arp_ignore": 1, "arp_announce": 2}, **{"eth0.100": {"rp_filter": 2}, "eth1": {}})
    interfaces = [lo(VIP), nic("eth0.100", None), nic("eth1", "203.0.113.21")]
    found = rp_hazards(run(conf, interfaces, default_routes=defaults("eth1")))
    assert "which has no IPv4 address (so even loose mode drops)" in found[0]["message"]
    assert found[0]["fix"].startswith(
        "set net.ipv4.conf.eth0/100.rp_filter = 0 and net.ipv4.conf.all.rp_filter = 0")


@pytest.mark.parametrize("text, live, line, blamed", [
    ("net.ipv4.conf.all.rp_filter = 1\n", {}, 1, "all"),
    ("net.ipv4.conf.default.rp_filter = 1\n", {}, 1, "default"),  # eth0 inherits default at boot
    ("\nnet.ipv4.conf.eth0.rp_filter = 1\n", {}, 2, "eth0"),
    ("net.ipv4.conf.*.rp_filter = 2\n", {"eth0": 1}, None, None),  # drops now only: fixed at boot
])
def test_dr_rp_filter_hazard_at_the_next_boot(text, live, line, blamed):
    conf, interfaces = two_nics(**live)
    report = run(conf, interfaces, candidates=[cand(ETC, "30-rpf.conf", text)], default_routes=defaults("eth1"))
    found = rp_hazards(report)
    assert [h["interface"] for h in found] == ["eth0"]
    if line is None:
        assert (found[0]["file"], found[0]["line"]) == (None, None)
        assert "is 1 now and 2 after the next boot," in found[0]["message"]
    else:
        assert (found[0]["file"], found[0]["line"]) == (ETC + "/30-rpf.conf", line)
        assert "is 0 now and 1 after the next boot (%s/30-rpf.conf:%d)" % (ETC, line) in found[0]["message"]
        assert report["boot"]["net.ipv4.conf.%s.rp_filter" % blamed]["file"] == ETC + "/30-rpf.conf"


def test_dr_rp_filter_checks_only_the_judged_interfaces():
    conf, interfaces = two_nics(all=1)
    assert rp_hazards(run(conf, interfaces, judge=["eth1"], default_routes=defaults("eth0"))) != []
    assert rp_hazards(run(conf, interfaces, judge=["eth1"], default_routes=defaults("eth1"))) == []


def test_etc_sysctl_conf_read_last_by_procps_is_a_hazard():
    candidates = [cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)]
    report = run(candidates=candidates, sysctl_conf_text="# local\nnet.ipv4.conf.all.arp_ignore = 0\n")
    found = [h for h in report["hazards"] if h["code"] == "sysctl_conf_overrides"]
    assert len(found) == 1
    assert (found[0]["file"], found[0]["line"]) == ("/etc/sysctl.conf", 2)
    assert "99-zz-lvs.conf:2" in found[0]["message"]
    same = run(candidates=candidates, sysctl_conf_text="net.ipv4.conf.all.arp_ignore = 1\n")
    assert "sysctl_conf_overrides" not in codes(same["hazards"])


def test_hazard_count_ignores_info_and_warnings_list_unreadable_paths():
    info = cand("/etc/systemd/network", "10-lo.network", "[Match]\nName=lo\n[Network]\nKeepConfiguration=yes\n")
    report = run(networkd=[info], unreadable=["/etc/NetworkManager/system-connections/x.nmconnection"])
    assert codes(report["hazards"]) == ["networkd_manages_lo"]
    assert report["hazard_count"] == 0
    assert any("x.nmconnection: not readable" in w for w in report["warnings"])


def test_judged_interfaces_that_are_not_arp_facing_are_warned_about():
    report = run(judge=["eth0", "eth9", "lo"])
    assert report["arp_facing"] == ["eth0"]
    assert sum("not an ARP-facing interface" in w for w in report["warnings"]) == 2


def test_a_clean_host_has_no_hazards():
    report = run(candidates=[cand(ETC, "99-zz-lvs.conf", LVS_DROPIN)],
                 networkd=[cand("/etc/systemd/network", "50-eth.network", "[Match]\nName=eth0\n")],
                 netplan=[cand("/etc/netplan", "01-netcfg.yaml", NETPLAN_ETH)])
    assert report["hazards"] == [] and report["hazard_count"] == 0
    assert report["compliant"] and report["at_boot"]["compliant"] and report["drift"] == []
