# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.realserver.arp_facts with run_command patched and every file read from a fake root tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_gather
from ansible_collections.lvs.realserver.plugins.modules import arp_facts
from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    AnsibleExitJson,
    AnsibleFailJson,
    RunCommandMock,
    set_module_args,
)

IP = "/testbin/ip"
SHOW = [IP, "-j", "-d", "addr", "show"]
FOREVER = 4294967295
VIP = "198.51.100.100"
KEYS = ("arp_ignore", "arp_announce", "rp_filter", "arp_filter", "accept_local", "arp_notify",
        "arp_accept", "forwarding", "proxy_arp")


def addr(local, prefixlen, scope="global", label=None, family="inet"):
    info = {"family": family, "local": local, "prefixlen": prefixlen, "scope": scope,
            "valid_life_time": FOREVER, "preferred_life_time": FOREVER}
    if label:
        info["label"] = label
    return info


def ip_json(vip_on_lo=True, tunl0=False):
    """``ip -j -d addr show`` (iproute2 6.1, trimmed): lo (with the VIP), eth0, a bridge port, a NOARP device."""
    lo = [addr("127.0.0.1", 8, "host", "lo")] + ([addr(VIP, 32, "host", "lo:lvs")] if vip_on_lo else [])
    lo.append(addr("::1", 128, "host", family="inet6"))
    links = [
        {"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "addr_info": lo},
        {"ifindex": 2, "ifname": "eth0", "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
         "linkinfo": {"info_kind": "veth"}, "addr_info": [addr("198.51.100.21", 24, label="eth0")]},
        {"ifindex": 3, "ifname": "eth1", "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "master": "br0",
         "linkinfo": {"info_kind": "veth", "info_slave_kind": "bridge"}, "addr_info": []},
        {"ifindex": 4, "ifname": "br0", "flags": ["BROADCAST", "MULTICAST"],
         "linkinfo": {"info_kind": "bridge"}, "addr_info": [addr("203.0.113.21", 24, label="br0")]},
    ]
    if tunl0:
        links.append({"ifindex": 5, "ifname": "tunl0", "flags": ["NOARP", "UP", "LOWER_UP"],
                      "linkinfo": {"info_kind": "ipip"}, "addr_info": []})
    return json.dumps(links)


def write(root, path, text):
    full = os.path.join(str(root), path.lstrip("/"))
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full))
    with open(full, "w") as handle:
        handle.write(text)
    return full


def write_proc(root, values):
    """``values``: interface -> {key: int}; every key in KEYS defaults to 0."""
    for iface, keys in values.items():
        for key in KEYS:
            write(root, "/proc/sys/net/ipv4/conf/%s/%s" % (iface, key), "%d\n" % keys.get(key, 0))


NOW = "2026-01-01T00:00:00Z"  # the collected_at clock passed to main()
PROTECTED = {"all": {"arp_ignore": 1, "arp_announce": 2}, "default": {}, "lo": {}, "eth0": {}, "eth1": {}, "br0": {}}


@pytest.fixture
def root(tmp_path, get_bin_path):
    """A fake host below tmp_path: protected /proc values, an empty sysctl.d tree."""
    write_proc(tmp_path, PROTECTED)
    os.makedirs(str(tmp_path / "etc" / "sysctl.d"))
    return tmp_path


def run_module(args=None, calls=None, check=False, monkeypatch=None, root=None, detect=lambda: []):
    mock = RunCommandMock(calls if calls is not None else [(SHOW, (0, ip_json(), ""))])
    monkeypatch.setattr(basic.AnsibleModule, "run_command", mock)
    args = dict(args or {})
    if check:
        args["_ansible_check_mode"] = True
    with set_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as caught:
            arp_facts.main(root=str(root), detect=detect, now=lambda: NOW)
    mock.assert_done()
    return caught.value.result, mock


def facts_of(result):
    assert set(result["ansible_facts"]) == {"lvs_realserver"}
    return result["ansible_facts"]["lvs_realserver"]


def test_param_less_run_returns_only_lvs_realserver_facts(root, monkeypatch):
    result, mock = run_module(monkeypatch=monkeypatch, root=root)
    assert result["changed"] is False
    assert "failed" not in result
    assert mock.calls == [SHOW]  # one ip process for the whole topology
    assert not any(k.startswith("ansible_") for k in result["ansible_facts"])
    facts = facts_of(result)
    assert facts["compliant"] is True and facts["state"] == "compliant"
    assert facts["mode"] == "dr"
    assert facts["arp_facing"] == ["br0", "eth0"]  # the bridge port eth1 is not ARP-facing
    assert facts["interfaces"]["br0"]["up"] is False
    assert [v["local"] for v in facts["vips"]] == [VIP]
    assert facts["vips"][0]["scope"] == "host" and facts["vips"][0]["label"] == "lo:lvs"
    assert facts["collected_at"] == "2026-01-01T00:00:00Z"
    # nothing persisted: the protection drifts back to the kernel default at boot
    assert facts["boot"]["net.ipv4.conf.all.arp_ignore"] == {"value": None, "file": None, "line": None}
    assert facts["at_boot"]["state"] == "exposed"
    assert {d["name"] for d in facts["drift"]} == {"net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce"}
    assert {(p["interface"], p["key"], p["value"]) for p in facts["boot_prediction"]} == {
        (i, k, 0) for i in ("all", "default", "lo", "br0", "eth0")
        for k in ("arp_ignore", "arp_announce", "arp_filter", "rp_filter", "arp_notify")}


def test_check_mode_gives_identical_facts(root, monkeypatch):
    normal, _unused = run_module(monkeypatch=monkeypatch, root=root)
    checked, _unused = run_module(check=True, monkeypatch=monkeypatch, root=root)
    assert checked == normal


def test_detail_verdict_is_full_without_the_per_key_tables(root, monkeypatch):
    # a host with findings, so that the verdicts, drift and hazards are not empty
    write_proc(root, {"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 1}})
    write(root, "/etc/NetworkManager/system-connections/lo.nmconnection",
          "[connection]\ntype=loopback\ninterface-name=lo\n")
    full = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    verdict = facts_of(run_module({"detail": "verdict"}, monkeypatch=monkeypatch, root=root)[0])
    assert full["detail"] == "full" and verdict["detail"] == "verdict"
    assert set(full) - set(verdict) == set(_arp_gather.TABLES)
    assert dict((k, v) for k, v in full.items() if k not in _arp_gather.TABLES and k != "detail") == \
        dict((k, v) for k, v in verdict.items() if k != "detail")
    assert full["drift"] and full["at_boot"]["state"] == "exposed"
    assert len(str(verdict)) * 3 < len(str(full))


def test_bad_detail_is_rejected_by_the_argument_spec(root, monkeypatch):
    result, _unused = run_module({"detail": "some"}, calls=[], monkeypatch=monkeypatch, root=root)
    assert result["failed"] is True and "detail" in result["msg"] and "some" in result["msg"]


def test_reads_proc_values_as_signed_ints_with_literal_names(root, monkeypatch):
    write_proc(root, {"all": {"arp_ignore": -1, "arp_announce": 2}, "eth0": {"arp_ignore": 1}})
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert facts["interfaces"]["eth0"]["arp_ignore"]["all"] == -1
    assert facts["interfaces"]["eth0"]["arp_ignore"]["effective"] == 1
    assert "arp_ignore_leak" in [v["code"] for v in facts["violations"]]  # br0 is at max(-1, 0) = -1


def test_boot_values_from_the_sysctl_d_tree(root, monkeypatch):
    write(root, "/usr/lib/sysctl.d/50-default.conf",
          "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n")
    write(root, "/etc/sysctl.d/99-zz-lvs-realserver.conf",
          "# Managed by lvs.realserver.arp_sysctl.\nnet.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n")
    os.symlink("/dev/null", str(root / "etc" / "sysctl.d" / "60-masked.conf"))
    write(root, "/usr/lib/sysctl.d/60-masked.conf", "net.ipv4.conf.all.arp_ignore = 0\n")
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    boot = facts["boot"]
    assert boot["net.ipv4.conf.all.arp_ignore"] == {
        "value": 1, "file": "/etc/sysctl.d/99-zz-lvs-realserver.conf", "line": 2}
    assert boot["net.ipv4.conf.eth0.rp_filter"] == {"value": 2, "file": "/usr/lib/sysctl.d/50-default.conf", "line": 2}
    assert boot["net.ipv4.conf.all.rp_filter"] == {"value": None, "file": None, "line": None}
    assert facts["at_boot"]["compliant"] is True
    assert [d["name"] for d in facts["drift"]] == [
        "net.ipv4.conf.default.rp_filter", "net.ipv4.conf.br0.rp_filter", "net.ipv4.conf.eth0.rp_filter"]


def test_etc_sysctl_conf_is_checked_for_procps(root, monkeypatch):
    write(root, "/etc/sysctl.d/99-zz-lvs-realserver.conf", "net.ipv4.conf.all.arp_ignore = 1\n")
    write(root, "/etc/sysctl.conf", "net.ipv4.conf.all.arp_ignore = 0\n")
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert [(h["code"], h["file"], h["line"]) for h in facts["hazards"]] == [
        ("sysctl_conf_overrides", "/etc/sysctl.conf", 1)]


def test_network_manager_hazards_from_files(root, monkeypatch):
    write(root, "/usr/lib/systemd/network/99-all.network", "[Match]\nName=*\n[Network]\nDHCP=yes\n")
    write(root, "/etc/systemd/network/99-all.network.d/10-narrow.conf", "[Match]\nName=\nName=eth*\n")
    write(root, "/run/systemd/network/80-lo.network", "[Network]\nAddress=192.0.2.1/32\n")
    write(root, "/etc/systemd/network/80-lo.network", "")  # an empty file masks the /run one
    write(root, "/etc/netplan/01-netcfg.yaml", "network:\n  ethernets:\n    lo:\n      addresses: [192.0.2.7/32]\n")
    write(root, "/etc/NetworkManager/system-connections/lo.nmconnection", "[connection]\nid=lo\ntype=loopback\n")
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert [(h["code"], h["file"], h["line"]) for h in facts["hazards"]] == [
        ("netplan_lists_lo", "/etc/netplan/01-netcfg.yaml", 3),
        ("networkmanager_loopback_profile", "/etc/NetworkManager/system-connections/lo.nmconnection", 3)]
    assert facts["hazard_count"] == 2
    # without the drop-in, the vendor catch-all takes lo
    os.unlink(str(root / "etc" / "systemd" / "network" / "99-all.network.d" / "10-narrow.conf"))
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert ("networkd_manages_lo", "/usr/lib/systemd/network/99-all.network", 2) in [
        (h["code"], h["file"], h["line"]) for h in facts["hazards"]]


def test_dev_null_link_masks_a_network_file(root, monkeypatch):
    write(root, "/usr/lib/systemd/network/99-all.network", "[Match]\nName=*\n")
    os.makedirs(str(root / "etc" / "systemd" / "network"))
    os.symlink("/dev/null", str(root / "etc" / "systemd" / "network" / "99-all.network"))
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert facts["hazards"] == []


def unreadable(root, path):
    """``path`` below ``root`` becomes a regular file whose read fails (EIO), even for root: /proc/self/mem."""
    full = os.path.join(str(root), path.lstrip("/"))
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full))
    if os.path.lexists(full):
        os.unlink(full)
    os.symlink("/proc/self/mem", full)
    return full


def test_unreadable_files_are_warnings_not_failures(root, monkeypatch):
    unreadable(root, "/etc/NetworkManager/system-connections/lo.nmconnection")
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert facts["hazards"] == []
    assert "/etc/NetworkManager/system-connections/lo.nmconnection: not readable, hazards there are not checked" in facts["warnings"]


def test_unreadable_sysctl_d_file_is_a_warning_not_a_traceback(root, monkeypatch):
    """It used to raise from _sysctl_d.read_candidates (a traceback); now it is named in a warning."""
    write(root, "/etc/sysctl.d/10-ok.conf", "net.ipv4.conf.all.arp_ignore = 1\n")
    unreadable(root, "/usr/lib/sysctl.d/50-vendor.conf")
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert "/usr/lib/sysctl.d/50-vendor.conf: not readable, the boot values leave it out (systemd-sysctl reads it " \
        "at boot)" in facts["warnings"]
    assert facts["boot"]["net.ipv4.conf.all.arp_ignore"] == {"value": 1, "file": "/etc/sysctl.d/10-ok.conf", "line": 1}


PROC_NET_ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\t\n"
    "br0\t00000000\t017100CB\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)


def test_dr_rp_filter_hazard_from_proc_net_route(root, monkeypatch):
    write(root, "/proc/net/route", PROC_NET_ROUTE)
    write_proc(root, {"eth0": {"rp_filter": 1}})
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert [(h["code"], h["interface"], h["severity"]) for h in facts["hazards"]] == [
        ("dr_rp_filter_asymmetric", "eth0", "warning")]
    assert "the default route leaves through br0" in facts["hazards"][0]["message"]
    assert facts["compliant"] is True
    write_proc(root, {"eth0": {"rp_filter": 2}})
    assert facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])["hazards"] == []


def test_unreadable_proc_net_route_is_a_warning_and_no_hazard(root, monkeypatch):
    path = unreadable(root, "/proc/net/route")
    write_proc(root, {"eth0": {"rp_filter": 1}})
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert facts["hazards"] == []
    assert "/proc/net/route: not readable, hazards there are not checked" in facts["warnings"]
    os.unlink(path)  # missing (a fake tree): nothing to warn about
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert facts["hazards"] == [] and not [w for w in facts["warnings"] if "/proc/net/route" in w]


def test_tun_mode_with_expected_vips_and_judged_interfaces(root, monkeypatch):
    write_proc(root, {"tunl0": {"rp_filter": 2}})
    args = {"mode": "tun", "vips": ["198.51.100.100/32", "198.51.100.101"], "interfaces": ["eth0"]}
    result, _unused = run_module(args, [(SHOW, (0, ip_json(tunl0=True), ""))], monkeypatch=monkeypatch, root=root)
    facts = facts_of(result)
    assert facts["mode"] == "tun"
    assert facts["arp_facing"] == ["eth0"]
    codes = [v["code"] for v in facts["violations"]]
    assert "vip_missing" in codes and "tun_rp_filter" in codes
    assert "net.ipv4.conf.tunl0.rp_filter" in facts["boot"]
    assert [h["code"] for h in facts["hazards"]] == []  # live tunl0 2 drifts back to 0 at boot
    assert [d["name"] for d in facts["drift"] if d["interface"] == "tunl0"] == ["net.ipv4.conf.tunl0.rp_filter"]


@pytest.mark.parametrize("args, message", [
    ({"vips": ["198.51.100.100/24"]}, "vips: '198.51.100.100/24' has prefix length /24"),
    ({"vips": ["not-an-ip"]}, "vips: 'not-an-ip' is not an IPv4 or IPv6 address"),
    ({"interfaces": ["eth0; reboot"]}, "interfaces: 'eth0; reboot' may only contain"),
    ({"interfaces": ["averyveryverylongname"]}, "interfaces: 'averyveryverylongname' is 21 characters long"),
])
def test_bad_parameters_fail_before_reading_anything(root, monkeypatch, args, message):
    result, mock = run_module(args, [], monkeypatch=monkeypatch, root=root)
    assert result["failed"] is True
    assert result["msg"].startswith(message)
    assert mock.calls == []


def test_bad_mode_is_rejected_by_the_argument_spec(root, monkeypatch):
    result, _unused = run_module({"mode": "nat"}, [], monkeypatch=monkeypatch, root=root)
    assert result["failed"] is True and "mode" in result["msg"] and "nat" in result["msg"]


def test_ip_failure_fails_with_the_command(root, monkeypatch):
    result, _unused = run_module(calls=[(SHOW, (1, "", "Object \"addr\" is unknown"))], monkeypatch=monkeypatch, root=root)
    assert result["failed"] is True
    assert result["rc"] == 1 and result["cmd"] == SHOW and result["stderr"] == "Object \"addr\" is unknown"
    assert "ip -j -d addr show' failed (rc=1)" in result["msg"]


def test_unparsable_ip_output_fails(root, monkeypatch):
    result, _unused = run_module(calls=[(SHOW, (0, "lo: <LOOPBACK>", ""))], monkeypatch=monkeypatch, root=root)
    assert result["failed"] is True and "cannot parse the JSON" in result["msg"]


def test_missing_ipv4_conf_fails(tmp_path, monkeypatch, get_bin_path):
    result, _unused = run_module(monkeypatch=monkeypatch, root=tmp_path)
    assert result["failed"] is True
    assert result["msg"] == "/proc/sys/net/ipv4/conf does not exist: IPv4 is not available here"


def test_unreadable_proc_fails(root, monkeypatch):
    unreadable = os.path.join(str(root), "proc/sys/net/ipv4/conf/eth0/arp_ignore")
    os.unlink(unreadable)
    os.symlink("/proc/self/mem", unreadable)  # a regular file whose read fails (EIO), even for root
    result, _unused = run_module(monkeypatch=monkeypatch, root=root)
    assert result["failed"] is True and result["msg"].startswith("cannot read the running ARP settings under /proc/sys/net/ipv4/conf:")


def test_run_command_gets_the_c_locale(root, monkeypatch):
    seen = []

    def run_command(module, args, **kwargs):
        seen.append((list(args), dict(module.run_command_environ_update)))
        return 0, ip_json(), ""
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    with set_module_args({}):
        with pytest.raises(AnsibleExitJson):
            arp_facts.main(root=str(root), detect=lambda: [])
    assert [argv for argv, _env in seen] == [SHOW]
    assert seen[0][1] == {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}


def test_documentation_is_valid_yaml_with_the_facts_attributes():
    import yaml
    doc = yaml.safe_load(arp_facts.DOCUMENTATION)
    assert doc["module"] == "arp_facts" and doc["version_added"] == "1.0.0"
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "none"
    assert doc["attributes"]["facts"]["support"] == "full"
    assert set(doc["options"]) == {"mode", "vips", "interfaces", "runtime", "detail"}
    assert "facts_modules = ansible.builtin.setup, lvs.realserver.arp_facts" in arp_facts.DOCUMENTATION
    ret = yaml.safe_load(arp_facts.RETURN)
    assert "boot" in ret["ansible_facts"]["contains"]["lvs_realserver"]["contains"]
    prediction = ret["ansible_facts"]["contains"]["lvs_realserver"]["contains"]["boot_prediction"]
    assert set(prediction["contains"]) == {
        "interface", "key", "early", "late", "value", "order_dependent", "basis", "file", "line"}
    for task in yaml.safe_load(arp_facts.EXAMPLES):
        assert "name" in task


# --------------------------------------------------------------------------
# runtime: the boot view of a host whose runtime could not be changed
# --------------------------------------------------------------------------

UNIT_DATA = '{"addresses": ["192.0.2.10"], "device": "lo", "label": "lo:lvs", "mode": "dr", "scope": "host"}\n'
DROPIN = "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n"
UNPRIVILEGED = ["/proc/sys is mounted read-only, so the running ARP values cannot be written"]


def test_runtime_applied_on_a_capable_host(root, monkeypatch):
    facts = facts_of(run_module(monkeypatch=monkeypatch, root=root)[0])
    assert facts["runtime"] == "applied" and facts["runtime_reasons"] == []


def test_runtime_skipped_judges_the_boot_with_the_units_vips(root, monkeypatch):
    """An unprivileged container after the role: the kernel untouched (leaks, no VIP), the files right."""
    write_proc(root, {"all": {}, "default": {}, "lo": {}, "eth0": {}, "eth1": {}, "br0": {}})
    write(root, "/etc/sysctl.d/99-zz-lvs-realserver.conf", DROPIN)
    write(root, "/etc/lvs-realserver/vips.json", UNIT_DATA)
    calls = [(SHOW, (0, ip_json(vip_on_lo=False), ""))]
    facts = facts_of(run_module({"vips": ["192.0.2.10"]}, calls=calls, monkeypatch=monkeypatch, root=root,
                                detect=lambda: list(UNPRIVILEGED))[0])
    assert facts["runtime"] == "skipped" and facts["runtime_reasons"] == UNPRIVILEGED
    assert facts["compliant"] is False  # now: what the kernel does, nothing hidden
    assert facts["at_boot"]["compliant"] is True and facts["at_boot"]["violations"] == []
    # negative control: the same host judged with runtime=apply sees no VIP at boot either
    applied = facts_of(run_module({"vips": ["192.0.2.10"], "runtime": "apply"}, calls=calls,
                                  monkeypatch=monkeypatch, root=root)[0])
    assert applied["runtime"] == "applied"
    assert "vip_missing" in [v["code"] for v in applied["at_boot"]["violations"]]


def test_runtime_skipped_without_unit_data_misses_the_vip_at_boot(root, monkeypatch):
    write(root, "/etc/sysctl.d/99-zz-lvs-realserver.conf", DROPIN)
    calls = [(SHOW, (0, ip_json(vip_on_lo=False), ""))]
    facts = facts_of(run_module({"vips": ["192.0.2.10"], "runtime": "skip"}, calls=calls, monkeypatch=monkeypatch, root=root)[0])
    assert facts["runtime"] == "skipped"
    assert [v["code"] for v in facts["at_boot"]["violations"]] == ["vip_missing"]


def test_runtime_skipped_with_a_leaking_boot_is_not_compliant_at_boot(root, monkeypatch):
    """Negative control: the unit's VIPs at boot with no drop-in leak ARP (the boot view is judged, not waived)."""
    write(root, "/etc/lvs-realserver/vips.json", UNIT_DATA)
    calls = [(SHOW, (0, ip_json(vip_on_lo=False), ""))]
    facts = facts_of(run_module({"vips": ["192.0.2.10"], "runtime": "skip"}, calls=calls, monkeypatch=monkeypatch, root=root)[0])
    assert facts["at_boot"]["compliant"] is False and facts["at_boot"]["state"] == "exposed"


def test_unreadable_unit_data_counts_as_none(root, monkeypatch):
    write(root, "/etc/lvs-realserver/vips.json", "{not json")
    assert _arp_gather.read_unit_data(str(root / "etc" / "lvs-realserver" / "vips.json")) is None
    assert _arp_gather.read_unit_data(str(root / "absent.json")) is None
