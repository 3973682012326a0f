# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.realserver.loopback_vip with run_command patched: exact argv lists and call counts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.modules import loopback_vip
from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    SYSTEMCTL,
    UNIT,
    AnsibleExitJson,
    AnsibleFailJson,
    FakeFiles,
    RunCommandMock,
    set_module_args,
    systemctl_status,
)

IP = "/testbin/ip"
SHOW = [IP, "-j", "-d", "addr", "show"]
ADD4 = [IP, "-4", "addr", "replace", "198.51.100.100/32", "dev", "lo", "scope", "host", "label", "lo:lvs"]
ADD4B = [IP, "-4", "addr", "replace", "198.51.100.101/32", "dev", "lo", "scope", "host", "label", "lo:lvs"]
ADD6 = [IP, "-6", "addr", "replace", "2001:db8::100/128", "dev", "lo", "preferred_lft", "0"]
DEL4 = [IP, "-4", "addr", "del", "198.51.100.100/32", "dev", "lo"]
DEL6 = [IP, "-6", "addr", "del", "2001:db8::100/128", "dev", "lo"]
OK = (0, "", "")

FOREVER = 4294967295
LO_BASE = [
    {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host", "label": "lo",
     "valid_life_time": FOREVER, "preferred_life_time": FOREVER},
    {"family": "inet6", "local": "::1", "prefixlen": 128, "scope": "host",
     "valid_life_time": FOREVER, "preferred_life_time": FOREVER},
]
VIP4 = {"family": "inet", "local": "198.51.100.100", "prefixlen": 32, "scope": "host", "label": "lo:lvs",
        "valid_life_time": FOREVER, "preferred_life_time": FOREVER}
VIP6 = {"family": "inet6", "local": "2001:db8::100", "prefixlen": 128, "scope": "global", "deprecated": True,
        "valid_life_time": FOREVER, "preferred_life_time": 0}


def ip_json(lo_extra=()):
    """``ip -j -d addr show`` as iproute2 6.1 prints it (trimmed): lo and one veth."""
    return json.dumps([
        {"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "link_type": "loopback",
         "addr_info": LO_BASE[:1] + list(lo_extra) + LO_BASE[1:]},
        {"ifindex": 2, "ifname": "eth0", "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
         "link_type": "ether", "linkinfo": {"info_kind": "veth"},
         "addr_info": [{"family": "inet", "local": "198.51.100.21", "prefixlen": 24, "scope": "global",
                        "label": "eth0", "valid_life_time": FOREVER, "preferred_life_time": FOREVER}]},
    ])


def proc(all_ignore=1, all_announce=2, eth0_ignore=0, eth0_announce=0):
    zero = dict((k, 0) for k in ("arp_ignore", "arp_announce", "rp_filter", "arp_filter", "accept_local",
                                 "arp_notify", "arp_accept", "forwarding", "proxy_arp"))
    return {
        "all": dict(zero, arp_ignore=all_ignore, arp_announce=all_announce),
        "default": dict(zero),
        "lo": dict(zero),
        "eth0": dict(zero, arp_ignore=eth0_ignore, arp_announce=eth0_announce),
    }


@pytest.fixture
def host(monkeypatch, get_bin_path):
    """Wire a fake host: ``host(expected_calls, conf)`` returns the RunCommandMock."""
    def setup(calls, conf=None):
        mock = RunCommandMock(calls)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", mock)
        values = conf if conf is not None else proc()
        monkeypatch.setattr(_runtime, "read_conf", lambda keys, *a, **kw: values)
        return mock
    return setup


def run_module(args, expect=AnsibleExitJson):
    with set_module_args(args):
        with pytest.raises(expect) as info:
            loopback_vip.main()
    return info.value.result


# --------------------------------------------------------------------------
# present / absent / exact
# --------------------------------------------------------------------------

def test_adds_ipv4_and_ipv6(host):
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (ADD6, OK)])
    result = run_module({"addresses": ["198.51.100.100", "2001:db8::100/128"]})
    mock.assert_done()
    assert result["changed"] is True
    assert result["added"] == ["198.51.100.100/32", "2001:db8::100/128"]
    assert result["removed"] == []
    assert result["device"] == "lo" and result["label"] == "lo:lvs"
    assert [a["address"] for a in result["addresses"]] == ["198.51.100.100/32", "2001:db8::100/128"]
    assert result["addresses"][0] == dict(address="198.51.100.100/32", family="inet", local="198.51.100.100",
                                          prefixlen=32, scope="host", label="lo:lvs", deprecated=False, managed=True)
    assert result["guard"]["verdict"] == "pass"
    assert result["guard"]["arp_facing"] == ["eth0"]
    assert "diff" not in result


def test_idempotent_run_only_reads(host):
    mock = host([(SHOW, (0, ip_json([VIP4, VIP6]), ""))])
    result = run_module({"addresses": ["198.51.100.100", "2001:db8::100"]})
    mock.assert_done()
    assert result["changed"] is False
    assert result["added"] == [] and result["removed"] == []


def test_absent_removes_exactly_the_vip(host):
    mock = host([(SHOW, (0, ip_json([VIP4, VIP6]), "")), (DEL4, OK)])
    result = run_module({"addresses": ["198.51.100.100"], "state": "absent"})
    mock.assert_done()
    assert result["changed"] is True
    assert result["removed"] == ["198.51.100.100/32"]
    assert [a["address"] for a in result["addresses"]] == ["2001:db8::100/128"]


def test_absent_with_arp_leak_still_removes(host):
    mock = host([(SHOW, (0, ip_json([VIP4]), "")), (DEL4, OK)], proc(all_ignore=0, all_announce=0))
    result = run_module({"addresses": ["198.51.100.100"], "state": "absent"})
    mock.assert_done()
    assert result["removed"] == ["198.51.100.100/32"]


def test_exact_removes_other_managed_vips(host):
    other = dict(VIP4, local="198.51.100.101")
    foreign = dict(VIP4, local="203.0.113.5", label="lo:keep")
    # deletions follow ip's listing order
    mock = host([(SHOW, (0, ip_json([VIP4, other, foreign, VIP6]), "")),
                 ([IP, "-4", "addr", "del", "198.51.100.101/32", "dev", "lo"], OK), (DEL6, OK)])
    result = run_module({"addresses": ["198.51.100.100"], "state": "exact"})
    mock.assert_done()
    assert result["removed"] == ["198.51.100.101/32", "2001:db8::100/128"]
    assert [(a["address"], a["managed"]) for a in result["addresses"]] == [
        ("198.51.100.100/32", True), ("203.0.113.5/32", False)]


def test_relabel_is_delete_then_add(host):
    mock = host([(SHOW, (0, ip_json([dict(VIP4, label="lo:0")]), "")), (DEL4, OK), (ADD4, OK)])
    result = run_module({"addresses": ["198.51.100.100"]})
    mock.assert_done()
    assert result["removed"] == ["198.51.100.100/32"] and result["added"] == ["198.51.100.100/32"]


def test_tunl0_custom_label_global_scope(host):
    tun = json.loads(ip_json())
    tun.append({"ifindex": 3, "ifname": "tunl0", "flags": ["NOARP", "UP", "LOWER_UP"], "link_type": "ipip",
                "linkinfo": {"info_kind": "ipip"}, "addr_info": []})
    values = proc()
    values["tunl0"] = dict(values["lo"])
    argv = [IP, "-4", "addr", "replace", "198.51.100.100/32", "dev", "tunl0", "scope", "global", "label", "tunl0:web"]
    mock = host([(SHOW, (0, json.dumps(tun), "")), (argv, OK)], values)
    result = run_module({"addresses": ["198.51.100.100"], "device": "tunl0", "label": "tunl0:web", "scope": "global"})
    mock.assert_done()
    assert result["label"] == "tunl0:web"


# --------------------------------------------------------------------------
# check mode and diff mode
# --------------------------------------------------------------------------

def test_check_mode_runs_no_change(host):
    mock = host([(SHOW, (0, ip_json([dict(VIP4, local="198.51.100.101")]), ""))])
    result = run_module({"addresses": ["198.51.100.100", "2001:db8::100"], "state": "exact",
                         "_ansible_check_mode": True, "_ansible_diff": True})
    mock.assert_done()
    assert mock.calls == [SHOW]
    assert result["changed"] is True
    assert result["added"] == ["198.51.100.100/32", "2001:db8::100/128"]
    assert result["removed"] == ["198.51.100.101/32"]
    assert result["diff"] == {
        "before": "198.51.100.101/32 scope host label lo:lvs\n",
        "after": "198.51.100.100/32 scope host label lo:lvs\n2001:db8::100/128 preferred_lft 0\n",
        "before_header": "lo (addresses)",
        "after_header": "lo (addresses)",
    }


def test_check_mode_predicts_what_the_real_run_does(host):
    args = {"addresses": ["198.51.100.100", "2001:db8::100"], "_ansible_diff": True}
    host([(SHOW, (0, ip_json(), ""))])
    predicted = run_module(dict(args, _ansible_check_mode=True))
    host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (ADD6, OK)])
    done = run_module(args)
    assert predicted == done


def test_diff_when_nothing_changes(host):
    host([(SHOW, (0, ip_json([VIP4]), ""))])
    result = run_module({"addresses": ["198.51.100.100"], "_ansible_diff": True})
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"] == "198.51.100.100/32 scope host label lo:lvs\n"


def test_check_mode_guard_fails_too(host):
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0))
    result = run_module({"addresses": ["198.51.100.100"], "_ansible_check_mode": True}, AnsibleFailJson)
    mock.assert_done()
    assert result["guard"]["verdict"] == "fail"


# --------------------------------------------------------------------------
# the guard
# --------------------------------------------------------------------------

def test_guard_refuses_planted_per_interface_leak(host):
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=1, eth0_ignore=4))
    result = run_module({"addresses": ["198.51.100.100", "2001:db8::100"]}, AnsibleFailJson)
    mock.assert_done()      # read only: nothing added, not even the IPv6 VIP
    assert result["changed"] is False
    assert result["added"] == [] and result["removed"] == []
    msg = result["msg"]
    for fragment in ("refusing to add IPv4 VIP 198.51.100.100 on lo", "require_arp_protection=true",
                     "eth0: arp_ignore is 4 (expected 1 or 2)", "set net.ipv4.conf.eth0.arp_ignore = 1",
                     "Nothing was changed"):
        assert fragment in msg
    assert result["guard"]["verdict"] == "fail"
    assert result["guard"]["violations"][0]["interface"] == "eth0"


def test_guard_override_warns(host, monkeypatch):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK)], proc(all_ignore=0, all_announce=0))
    result = run_module({"addresses": ["198.51.100.100"], "require_arp_protection": False})
    mock.assert_done()
    assert result["guard"]["verdict"] == "overridden"
    assert any(w.startswith("require_arp_protection=false") and "eth0: arp_ignore is 0" in w for w in warnings)


def test_ipv6_only_is_not_guarded(host):
    mock = host([(SHOW, (0, ip_json(), "")), (ADD6, OK)], proc(all_ignore=0, all_announce=0))
    result = run_module({"addresses": ["2001:db8::100"]})
    mock.assert_done()
    assert result["guard"]["verdict"] == "not_needed"


# --------------------------------------------------------------------------
# validation: no command at all, and the message names the option and value
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragments", [
    ({"addresses": ["198.51.100.100/24"]}, ["addresses[0]", "'198.51.100.100/24'", "/32"]),
    ({"addresses": ["2001:db8::/64"]}, ["addresses[0]", "'2001:db8::/64'", "/128"]),
    ({"addresses": ["127.0.0.1"]}, ["addresses[0]", "'127.0.0.1'", "loopback"]),
    ({"addresses": ["198.51.100.100"], "device": "eth0"}, ["device", "'eth0'", "not allowed"]),
    ({"addresses": ["198.51.100.100"], "device": "lo`id`"}, ["device", "'lo`id`'"]),
    ({"addresses": ["198.51.100.100"], "label": "lo:waytoolonglabel"}, ["label", "'lo:waytoolonglabel'", "15"]),
    ({"addresses": ["198.51.100.100"], "label": "lo"}, ["label", "'lo'"]),
    ({"addresses": ["2001:db8::1"], "device": "tunl0"}, ["addresses[0]", "'2001:db8::1'", "tunl0"]),
])
def test_validation_errors(host, args, fragments):
    mock = host([])
    result = run_module(args, AnsibleFailJson)
    mock.assert_done()
    assert result["changed"] is False
    for fragment in fragments:
        assert fragment in result["msg"]
    assert result["errors"] and all(e in result["msg"] for e in result["errors"])


@pytest.mark.parametrize("args, fragments", [
    ({"addresses": ["198.51.100.100"], "state": "gone"}, ["state", "gone"]),
    ({"addresses": ["198.51.100.100"], "scope": "link"}, ["scope", "link"]),
    ({}, ["addresses"]),
])
def test_argument_spec_errors(host, args, fragments):
    mock = host([])
    result = run_module(args, AnsibleFailJson)
    mock.assert_done()
    for fragment in fragments:
        assert fragment in result["msg"]


def test_missing_tunl0(host):
    mock = host([(SHOW, (0, ip_json(), ""))])
    result = run_module({"addresses": ["198.51.100.100"], "device": "tunl0"}, AnsibleFailJson)
    mock.assert_done()
    assert "device: 'tunl0' does not exist" in result["msg"]


# --------------------------------------------------------------------------
# failures of ip itself
# --------------------------------------------------------------------------

def test_partial_failure_reports_what_was_done(host):
    err = "Error: ipv4: Invalid prefix for given prefix length.\n"
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (ADD4B, (2, "", err))])
    result = run_module({"addresses": ["198.51.100.100", "198.51.100.101", "2001:db8::100"],
                         "_ansible_diff": True}, AnsibleFailJson)
    mock.assert_done()          # stopped: the IPv6 VIP was not attempted
    assert result["changed"] is True
    assert result["added"] == ["198.51.100.100/32"]
    assert result["removed"] == []
    assert result["not_done"] == ["add 198.51.100.101/32", "add 2001:db8::100/128"]
    assert (result["rc"], result["stdout"], result["stderr"], result["cmd"]) == (2, "", err, ADD4B)
    assert [a["address"] for a in result["addresses"]] == ["198.51.100.100/32"]
    assert result["diff"]["after"] == "198.51.100.100/32 scope host label lo:lvs\n"
    msg = result["msg"]
    for fragment in ("adding 198.51.100.101/32 on lo failed (rc 2: Error: ipv4: Invalid prefix",
                     "done before it: add 198.51.100.100/32",
                     "not done: add 198.51.100.101/32, add 2001:db8::100/128", "Rerun"):
        assert fragment in msg


def test_partial_failure_on_removal(host):
    err = "Error: ipv4: Address not found.\n"
    mock = host([(SHOW, (0, ip_json([VIP4, VIP6]), "")), (DEL4, (2, "", err))])
    result = run_module({"addresses": ["198.51.100.100", "2001:db8::100"], "state": "absent"}, AnsibleFailJson)
    mock.assert_done()
    assert result["changed"] is False
    assert result["removed"] == [] and result["not_done"] == ["del 198.51.100.100/32", "del 2001:db8::100/128"]
    assert "removing 198.51.100.100/32 on lo failed" in result["msg"] and "done before it: nothing" in result["msg"]
    assert result["cmd"] == DEL4


def test_rerun_after_partial_failure_converges(host):
    """The second run sees the first VIP and adds only the rest."""
    mock = host([(SHOW, (0, ip_json([VIP4]), "")), (ADD4B, OK), (ADD6, OK)])
    result = run_module({"addresses": ["198.51.100.100", "198.51.100.101", "2001:db8::100"]})
    mock.assert_done()
    assert result["added"] == ["198.51.100.101/32", "2001:db8::100/128"]


def test_ip_show_failure(host):
    mock = host([(SHOW, (1, "", "Cannot open netlink socket: Permission denied\n"))])
    result = run_module({"addresses": ["198.51.100.100"]}, AnsibleFailJson)
    mock.assert_done()
    assert result["cmd"] == SHOW and result["rc"] == 1
    assert "Permission denied" in result["msg"] and "-j -d addr show" in result["msg"]


def test_ip_show_garbage(host):
    mock = host([(SHOW, (0, "Option \"-j\" is unknown, try \"ip -help\".", ""))])
    result = run_module({"addresses": ["198.51.100.100"]}, AnsibleFailJson)
    mock.assert_done()
    assert "cannot parse the JSON" in result["msg"]


def test_proc_unreadable(host, monkeypatch):
    host([(SHOW, (0, ip_json(), ""))])

    def boom(keys, *a, **kw):
        raise OSError(13, "Permission denied")
    monkeypatch.setattr(_runtime, "read_conf", boom)
    result = run_module({"addresses": ["198.51.100.100"]}, AnsibleFailJson)
    assert "cannot read the running ARP settings" in result["msg"]


def test_c_locale_and_ip_from_path(host, monkeypatch):
    host([(SHOW, (0, ip_json([VIP4]), ""))])
    built = []
    original = loopback_vip.build_module

    def spy():
        module = original()
        built.append(module)
        return module
    monkeypatch.setattr(loopback_vip, "build_module", spy)
    run_module({"addresses": ["198.51.100.100"]})
    assert built[0].run_command_environ_update == {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}


# --------------------------------------------------------------------------
# facts: the verdict from the same process
# --------------------------------------------------------------------------

NO_FILES = dict(candidates=[], sysctl_conf_text=None, networkd=[], networkd_dropins=[], netplan=[], nm=[],
                unreadable=[])


@pytest.fixture
def no_files(monkeypatch):
    """No sysctl.d or network-manager files: the facts depend on the mocked ``ip`` and /proc only."""
    monkeypatch.setattr(_host_state, "read_fact_sources", lambda root="/": dict(NO_FILES))


def test_no_facts_unless_asked(host, no_files):
    host([(SHOW, (0, ip_json([VIP4]), ""))])
    assert "ansible_facts" not in run_module({"addresses": ["198.51.100.100"]})


def test_facts_after_adding_read_the_addresses_again(host, no_files):
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (SHOW, (0, ip_json([VIP4]), ""))])
    result = run_module({"addresses": ["198.51.100.100"], "facts": True})
    mock.assert_done()
    facts = result["ansible_facts"]["lvs_realserver"]
    assert result["changed"] is True
    assert [v["local"] for v in facts["vips"]] == ["198.51.100.100"]
    assert facts["mode"] == "dr"
    # the facts' verdict is the evaluator's for live values without a sysctl.d file: protected now, not at boot
    assert facts["compliant"] is True and facts["state"] == "compliant"
    assert facts["at_boot"]["compliant"] is False


def test_facts_of_an_idempotent_run_reuse_the_one_ip_call(host, no_files):
    mock = host([(SHOW, (0, ip_json([VIP4]), ""))])
    result = run_module({"addresses": ["198.51.100.100"], "state": "exact", "facts": True, "mode": "tun"})
    mock.assert_done()
    assert result["changed"] is False
    assert result["ansible_facts"]["lvs_realserver"]["mode"] == "tun"


def test_facts_report_a_missing_vip_as_the_arp_facts_module_does(host, no_files):
    """Negative control: the expected VIPs are the task's addresses, so a VIP the ip call does not show is missing."""
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (SHOW, (0, ip_json(), ""))])
    facts = run_module({"addresses": ["198.51.100.100"], "facts": True})["ansible_facts"]["lvs_realserver"]
    mock.assert_done()
    assert facts["compliant"] is False
    assert "vip_missing" in [v["code"] for v in facts["violations"]]


def test_facts_in_check_mode_describe_the_host_as_it_is(host, no_files):
    mock = host([(SHOW, (0, ip_json(), ""))])
    result = run_module({"addresses": ["198.51.100.100"], "facts": True, "_ansible_check_mode": True})
    mock.assert_done()
    assert result["changed"] is True
    assert result["ansible_facts"]["lvs_realserver"]["vips"] == []


def test_facts_judge_a_leak_the_override_let_through(host, no_files):
    """Negative control: with the guard overridden, the facts still say what the kernel would do."""
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (SHOW, (0, ip_json([VIP4]), ""))],
                proc(all_ignore=0, all_announce=0))
    result = run_module({"addresses": ["198.51.100.100"], "facts": True, "require_arp_protection": False})
    mock.assert_done()
    facts = result["ansible_facts"]["lvs_realserver"]
    assert facts["compliant"] is False and facts["state"] == "exposed"
    assert {"arp_ignore_leak", "arp_announce_leak"} <= set(v["code"] for v in facts["violations"])


def test_facts_after_absent_expect_no_vip(host, no_files):
    mock = host([(SHOW, (0, ip_json([VIP4]), "")), (DEL4, OK), (SHOW, (0, ip_json(), ""))])
    result = run_module({"addresses": ["198.51.100.100"], "state": "absent", "facts": True})
    mock.assert_done()
    facts = result["ansible_facts"]["lvs_realserver"]
    assert facts["vips"] == [] and facts["compliant"] is True


def test_no_facts_when_an_ip_command_fails(host, no_files):
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, (2, "", "RTNETLINK answers: Operation not permitted"))])
    result = run_module({"addresses": ["198.51.100.100"], "facts": True}, AnsibleFailJson)
    mock.assert_done()
    assert "ansible_facts" not in result


# --------------------------------------------------------------------------
# boot_unit: the unit from the same process, after the addresses
# --------------------------------------------------------------------------

INSTALL = [([SYSTEMCTL, "daemon-reload"], OK), ([SYSTEMCTL, "enable", UNIT], OK), ([SYSTEMCTL, "start", UNIT], OK)]


def test_boot_unit_is_installed_after_the_vips(host, monkeypatch):
    fs = FakeFiles(monkeypatch)
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK)] + systemctl_status(False, False) + INSTALL)
    result = run_module({"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True, "_ansible_diff": True})
    mock.assert_done()
    assert result["changed"] is True
    assert result["boot_unit"]["changed"] is True and result["boot_unit"]["unit"] == UNIT
    assert result["boot_unit"]["systemctl"] == [["daemon-reload"], ["enable", UNIT], ["start", UNIT]]
    assert boot.UNIT_PATH in fs.written and '"198.51.100.100"' in fs.files["/etc/lvs-realserver/vips.json"][0]
    assert boot.MODULES_LOAD_PATH not in fs.written
    # the addresses' diff first, then one per unit file
    assert result["diff"][0]["before_header"] == "lo (addresses)"
    assert set(d["before_header"] for d in result["diff"][1:]) == set(fs.written)


def test_boot_unit_in_tun_mode_loads_ipip_at_boot(host, monkeypatch):
    fs = FakeFiles(monkeypatch)
    host([(SHOW, (0, ip_json([VIP4]), ""))] + systemctl_status(False, False) + INSTALL)
    run_module({"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True, "mode": "tun"})
    assert boot.MODULES_LOAD_PATH in fs.written


def test_boot_unit_second_run_changes_nothing(host, monkeypatch):
    fs = FakeFiles(monkeypatch)
    host([(SHOW, (0, ip_json([VIP4]), ""))] + systemctl_status(False, False) + INSTALL)
    args = {"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True}
    assert run_module(args)["changed"] is True
    fs.written = []
    mock = host([(SHOW, (0, ip_json([VIP4]), ""))] + systemctl_status(True, True))
    result = run_module(args)
    mock.assert_done()
    assert result["changed"] is False and result["boot_unit"]["changed"] is False and fs.written == []


def test_boot_unit_in_check_mode_writes_nothing(host, monkeypatch):
    fs = FakeFiles(monkeypatch)
    mock = host([(SHOW, (0, ip_json(), ""))] + systemctl_status(False, False))
    result = run_module({"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True,
                         "_ansible_check_mode": True})
    mock.assert_done()
    assert result["changed"] is True and result["boot_unit"]["changed"] is True
    assert fs.written == [] and fs.files == {}


def test_no_boot_unit_when_the_guard_refuses(host, monkeypatch):
    """Fail closed: a refused VIP installs no unit either (no systemctl call, no file)."""
    fs = FakeFiles(monkeypatch)
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0, all_announce=0))
    result = run_module({"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True}, AnsibleFailJson)
    mock.assert_done()
    assert result["guard"]["verdict"] == "fail" and "boot_unit" not in result
    assert fs.written == []


def test_no_boot_unit_when_an_ip_command_fails(host, monkeypatch):
    fs = FakeFiles(monkeypatch)
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, (2, "", "RTNETLINK answers: Operation not permitted"))])
    result = run_module({"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True}, AnsibleFailJson)
    mock.assert_done()
    assert "boot_unit" not in result and fs.written == []


@pytest.mark.parametrize("args, fragment", [
    ({"addresses": ["198.51.100.100"], "boot_unit": True}, "boot_unit: true needs state=exact"),
    ({"addresses": ["198.51.100.100"], "state": "absent", "boot_unit": True}, "got state='absent'"),
    ({"addresses": [], "state": "exact", "boot_unit": True}, "addresses: [] is empty; boot_unit: true needs"),
    ({"addresses": ["198.51.100.100"], "state": "exact", "device": "tunl0", "boot_unit": True},
     "device: 'tunl0' needs mode=tun with boot_unit: true"),
])
def test_boot_unit_bad_combinations_change_nothing(host, monkeypatch, args, fragment):
    fs = FakeFiles(monkeypatch)
    mock = host([])
    result = run_module(args, AnsibleFailJson)
    mock.assert_done()
    assert fragment in result["msg"] and fs.written == []


def test_facts_come_after_the_boot_unit(host, monkeypatch, no_files):
    fs = FakeFiles(monkeypatch)
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK)] + systemctl_status(False, False) + INSTALL
                + [(SHOW, (0, ip_json([VIP4]), ""))])
    result = run_module({"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True, "facts": True})
    mock.assert_done()
    assert result["ansible_facts"]["lvs_realserver"]["compliant"] is True and fs.written


# --------------------------------------------------------------------------
# check_mode_runtime_changes: check mode judges what a real run would find
# --------------------------------------------------------------------------

SYSCTL_CHANGES = [
    {"name": "net.ipv4.conf.all.arp_ignore", "interface": "all", "key": "arp_ignore", "before": 0, "after": 1},
    {"name": "net.ipv4.conf.all.arp_announce", "interface": "all", "key": "arp_announce", "before": 0, "after": 2},
]


def test_check_mode_judges_the_values_the_sysctl_task_would_write(host):
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0, all_announce=0))
    result = run_module({"addresses": ["198.51.100.100"], "check_mode_runtime_changes": SYSCTL_CHANGES,
                         "_ansible_check_mode": True})
    mock.assert_done()
    assert result["changed"] is True and result["guard"]["verdict"] == "pass"


def test_check_mode_still_fails_where_the_real_run_would(host):
    """Negative control: the predicted values do not cover eth0's own arp_ignore=4 (max rule): refused."""
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0, all_announce=0, eth0_ignore=4))
    result = run_module({"addresses": ["198.51.100.100"], "check_mode_runtime_changes": SYSCTL_CHANGES,
                         "_ansible_check_mode": True}, AnsibleFailJson)
    mock.assert_done()
    assert result["guard"]["verdict"] == "fail" and "eth0" in result["msg"]


def test_without_the_changes_check_mode_judges_the_running_values(host):
    host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0, all_announce=0))
    result = run_module({"addresses": ["198.51.100.100"], "_ansible_check_mode": True}, AnsibleFailJson)
    assert result["guard"]["verdict"] == "fail"


def test_the_changes_are_ignored_outside_check_mode(host):
    """A real run judges /proc as it is: values merely announced by an earlier task count for nothing."""
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0, all_announce=0))
    result = run_module({"addresses": ["198.51.100.100"], "check_mode_runtime_changes": SYSCTL_CHANGES},
                        AnsibleFailJson)
    mock.assert_done()
    assert result["guard"]["verdict"] == "fail"


@pytest.mark.parametrize("changes, fragment", [
    ([{"interface": "eth0;reboot", "key": "arp_ignore", "after": 1}], "check_mode_runtime_changes[0].interface: 'eth0;reboot'"),
    ([{"interface": "all", "key": "arp_ignore"}], "after"),
    ([{"interface": "all", "key": "arp_ignore", "after": "one"}], "after"),
])
def test_bad_runtime_changes_are_refused(host, changes, fragment):
    mock = host([])
    result = run_module({"addresses": ["198.51.100.100"], "check_mode_runtime_changes": changes,
                         "_ansible_check_mode": True}, AnsibleFailJson)
    mock.assert_done()
    assert fragment in result["msg"]


def test_a_failed_unit_start_still_reports_the_vips_it_added(host, monkeypatch):
    """The VIPs are up when systemctl start fails: the failure says so (changed, added), with the unit's fields."""
    FakeFiles(monkeypatch)
    journal = (["/testbin/journalctl", "--no-pager", "-n", "20", "-u", UNIT], (0, "REFUSED: eth0 arp_ignore\n", ""))
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK)] + systemctl_status(False, False)
                + INSTALL[:2] + [([SYSTEMCTL, "start", UNIT], (1, "", "Job failed")), journal])
    result = run_module({"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True}, AnsibleFailJson)
    mock.assert_done()
    assert "start lvs-realserver-vips.service failed" in result["msg"] and "REFUSED" in result["msg"]
    assert result["changed"] is True and result["added"] == ["198.51.100.100/32"]
    assert result["boot_unit"]["systemctl"][-1] == ["start", UNIT]


# --------------------------------------------------------------------------
# runtime: auto | apply | skip
# --------------------------------------------------------------------------

UNPRIVILEGED = ["the module runs without CAP_NET_ADMIN (CapEff 00000000a80425fb), so addresses cannot be added"]
ENABLE_ONLY = [([SYSTEMCTL, "daemon-reload"], OK), ([SYSTEMCTL, "enable", UNIT], OK)]
BOOT_ARGS = {"addresses": ["198.51.100.100"], "state": "exact", "boot_unit": True, "facts": True,
             "runtime": "auto"}


@pytest.fixture
def unprivileged(monkeypatch):
    monkeypatch.setattr(loopback_vip._runtime_mode, "detect", lambda *a: list(UNPRIVILEGED))


def test_auto_in_an_unprivileged_container_installs_the_unit_and_runs_no_ip_change(
        host, monkeypatch, no_files, unprivileged):
    fs = FakeFiles(monkeypatch)
    # the running values leak and no VIP is there: the guard must not refuse, nothing may be added
    mock = host([(SHOW, (0, ip_json(), ""))] + systemctl_status(False, False) + ENABLE_ONLY,
                proc(all_ignore=0, all_announce=0))
    result = run_module(BOOT_ARGS)
    mock.assert_done()  # no ip addr call, no systemctl start
    assert result["changed"] is True and result["added"] == [] and result["removed"] == []
    assert result["runtime"] == "skipped" and result["runtime_reasons"] == UNPRIVILEGED
    assert result["runtime_skipped"] == ["add 198.51.100.100/32"]
    assert result["guard"]["verdict"] == "skipped"
    assert result["boot_unit"]["systemctl"] == [["daemon-reload"], ["enable", UNIT]]
    assert '"198.51.100.100"' in fs.files["/etc/lvs-realserver/vips.json"][0]
    assert [w for w in fs.warnings if w.startswith("runtime skipped:")] == fs.warnings and len(fs.warnings) == 1
    facts = result["ansible_facts"]["lvs_realserver"]
    assert facts["runtime"] == "skipped" and facts["runtime_reasons"] == UNPRIVILEGED
    assert facts["vips"] == []  # now: what the kernel has
    # at boot: the unit's VIP, judged with the boot values (no sysctl.d file here: it leaks)
    assert "vip_missing" not in [v["code"] for v in facts["at_boot"]["violations"]]
    assert facts["at_boot"]["state"] == "exposed"


def test_auto_second_run_changes_nothing(host, monkeypatch, no_files, unprivileged):
    fs = FakeFiles(monkeypatch)
    host([(SHOW, (0, ip_json(), ""))] + systemctl_status(False, False) + ENABLE_ONLY)
    run_module(BOOT_ARGS)
    fs.written = []
    mock = host([(SHOW, (0, ip_json(), ""))] + systemctl_status(True, False))
    result = run_module(BOOT_ARGS)
    mock.assert_done()
    assert result["changed"] is False and result["boot_unit"]["changed"] is False and fs.written == []
    assert result["runtime_skipped"] == ["add 198.51.100.100/32"]


def test_auto_check_mode_predicts_the_same_and_writes_nothing(host, monkeypatch, no_files, unprivileged):
    fs = FakeFiles(monkeypatch)
    mock = host([(SHOW, (0, ip_json(), ""))] + systemctl_status(False, False))
    result = run_module(dict(BOOT_ARGS, _ansible_check_mode=True))
    mock.assert_done()
    assert result["changed"] is True and result["boot_unit"]["systemctl"] == [["daemon-reload"], ["enable", UNIT]]
    assert result["added"] == [] and fs.written == [] and fs.files == {}


def test_apply_in_an_unprivileged_container_still_runs_ip_and_fails(host, unprivileged):
    """Negative control: runtime=apply is today's behaviour, the ip error included."""
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, (2, "", "RTNETLINK answers: Operation not permitted"))])
    result = run_module({"addresses": ["198.51.100.100"], "runtime": "apply"}, AnsibleFailJson)
    mock.assert_done()
    assert "Operation not permitted" in result["msg"] and result["runtime"] == "applied"


def test_skip_removal_is_left_to_the_boot_unit_data(host, monkeypatch):
    mock = host([(SHOW, (0, ip_json([VIP4]), ""))])
    result = run_module({"addresses": ["198.51.100.100"], "state": "absent", "runtime": "skip"})
    mock.assert_done()
    assert result["changed"] is False and result["removed"] == []
    assert result["runtime_skipped"] == ["del 198.51.100.100/32"]


def test_skip_still_refuses_bad_input(host):
    result = run_module({"addresses": ["198.51.100.0/24"], "runtime": "skip"}, AnsibleFailJson)
    assert "198.51.100.0/24" in result["msg"] and result["changed"] is False


def test_skip_without_systemd_warns_once(host, monkeypatch, no_files):
    """A plain container (Docker): the unit is enabled, not started, and the one warning is the runtime's."""
    fs = FakeFiles(monkeypatch, systemd_running=False)
    mock = host([(SHOW, (0, ip_json(), "")), ([SYSTEMCTL, "is-enabled", UNIT], (1, "disabled\n", "")),
                 ([SYSTEMCTL, "enable", UNIT], OK)])
    monkeypatch.setattr(loopback_vip._runtime_mode, "detect", lambda *a: list(UNPRIVILEGED))
    result = run_module(BOOT_ARGS)
    mock.assert_done()
    assert result["boot_unit"]["systemctl"] == [["enable", UNIT]]
    assert len(fs.warnings) == 1 and fs.warnings[0].startswith("runtime skipped:")
