# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.realserver.loopback_vip with run_command patched (exact argv lists and call counts) and the host's
ARP values and runtime detector injected (``loopback_vip.main(host=FakeHost(...))``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.modules import loopback_vip
from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    AnsibleExitJson,
    AnsibleFailJson,
    FakeLock,
    RunCommandMock,
    set_module_args,
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


class FakeHost(loopback_vip.Host):
    """The module's host with the running ARP values and the runtime detector given; ``ip`` is the mocked command."""

    def __init__(self, conf=None, reasons=()):
        self.conf = conf if conf is not None else proc()
        self.reasons = list(reasons)
        self.held = FakeLock()
        self.lock = self.held.take

    def read_arp_conf(self, module):
        return self.conf

    def detect(self):
        return list(self.reasons)


@pytest.fixture
def host(monkeypatch, get_bin_path):
    """Wire a fake host: ``host(expected_calls, conf)`` returns the RunCommandMock; ``host.fake`` is the FakeHost."""
    def setup(calls, conf=None, reasons=()):
        mock = RunCommandMock(calls)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", mock)
        setup.fake = FakeHost(conf, reasons)
        return mock
    setup.fake = FakeHost()
    return setup


def run_module(fake, args, expect=AnsibleExitJson):
    with set_module_args(args):
        with pytest.raises(expect) as info:
            loopback_vip.main(host=fake)
    return info.value.result


# --------------------------------------------------------------------------
# present / absent / exact
# --------------------------------------------------------------------------

def test_adds_ipv4_and_ipv6(host):
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (ADD6, OK)])
    result = run_module(host.fake, {"addresses": ["198.51.100.100", "2001:db8::100/128"]})
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
    result = run_module(host.fake, {"addresses": ["198.51.100.100", "2001:db8::100"]})
    mock.assert_done()
    assert result["changed"] is False
    assert result["added"] == [] and result["removed"] == []


def test_absent_removes_exactly_the_vip(host):
    mock = host([(SHOW, (0, ip_json([VIP4, VIP6]), "")), (DEL4, OK)])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "state": "absent"})
    mock.assert_done()
    assert result["changed"] is True
    assert result["removed"] == ["198.51.100.100/32"]
    assert [a["address"] for a in result["addresses"]] == ["2001:db8::100/128"]


def test_absent_with_arp_leak_still_removes(host):
    mock = host([(SHOW, (0, ip_json([VIP4]), "")), (DEL4, OK)], proc(all_ignore=0, all_announce=0))
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "state": "absent"})
    mock.assert_done()
    assert result["removed"] == ["198.51.100.100/32"]


def test_exact_removes_other_managed_vips(host):
    other = dict(VIP4, local="198.51.100.101")
    foreign = dict(VIP4, local="203.0.113.5", label="lo:keep")
    # deletions follow ip's listing order
    mock = host([(SHOW, (0, ip_json([VIP4, other, foreign, VIP6]), "")),
                 ([IP, "-4", "addr", "del", "198.51.100.101/32", "dev", "lo"], OK), (DEL6, OK)])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "state": "exact"})
    mock.assert_done()
    assert result["removed"] == ["198.51.100.101/32", "2001:db8::100/128"]
    assert [(a["address"], a["managed"]) for a in result["addresses"]] == [
        ("198.51.100.100/32", True), ("203.0.113.5/32", False)]


def test_relabel_is_delete_then_add(host):
    mock = host([(SHOW, (0, ip_json([dict(VIP4, label="lo:0")]), "")), (DEL4, OK), (ADD4, OK)])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"]})
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
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "device": "tunl0", "label": "tunl0:web", "scope": "global"})
    mock.assert_done()
    assert result["label"] == "tunl0:web"


# --------------------------------------------------------------------------
# check mode and diff mode
# --------------------------------------------------------------------------

def test_check_mode_runs_no_change(host):
    mock = host([(SHOW, (0, ip_json([dict(VIP4, local="198.51.100.101")]), ""))])
    result = run_module(host.fake, {"addresses": ["198.51.100.100", "2001:db8::100"], "state": "exact",
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
    predicted = run_module(host.fake, dict(args, _ansible_check_mode=True))
    host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (ADD6, OK)])
    done = run_module(host.fake, args)
    assert predicted == done


def test_diff_when_nothing_changes(host):
    host([(SHOW, (0, ip_json([VIP4]), ""))])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "_ansible_diff": True})
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"] == "198.51.100.100/32 scope host label lo:lvs\n"


def test_check_mode_guard_fails_too(host):
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0))
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "_ansible_check_mode": True}, AnsibleFailJson)
    mock.assert_done()
    assert result["guard"]["verdict"] == "fail"


# --------------------------------------------------------------------------
# the guard
# --------------------------------------------------------------------------

def test_guard_refuses_planted_per_interface_leak(host):
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=1, eth0_ignore=4))
    result = run_module(host.fake, {"addresses": ["198.51.100.100", "2001:db8::100"]}, AnsibleFailJson)
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
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "require_arp_protection": False})
    mock.assert_done()
    assert result["guard"]["verdict"] == "overridden"
    assert any(w.startswith("require_arp_protection=false") and "eth0: arp_ignore is 0" in w for w in warnings)


def test_ipv6_only_is_not_guarded(host):
    mock = host([(SHOW, (0, ip_json(), "")), (ADD6, OK)], proc(all_ignore=0, all_announce=0))
    result = run_module(host.fake, {"addresses": ["2001:db8::100"]})
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
    result = run_module(host.fake, args, AnsibleFailJson)
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
    result = run_module(host.fake, args, AnsibleFailJson)
    mock.assert_done()
    for fragment in fragments:
        assert fragment in result["msg"]


def test_missing_tunl0(host):
    mock = host([(SHOW, (0, ip_json(), ""))])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "device": "tunl0"}, AnsibleFailJson)
    mock.assert_done()
    assert "device: 'tunl0' does not exist" in result["msg"]


# --------------------------------------------------------------------------
# failures of ip itself
# --------------------------------------------------------------------------

def test_partial_failure_reports_what_was_done(host):
    err = "Error: ipv4: Invalid prefix for given prefix length.\n"
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK), (ADD4B, (2, "", err))])
    result = run_module(host.fake, {"addresses": ["198.51.100.100", "198.51.100.101", "2001:db8::100"],
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
    result = run_module(host.fake, {"addresses": ["198.51.100.100", "2001:db8::100"], "state": "absent"}, AnsibleFailJson)
    mock.assert_done()
    assert result["changed"] is False
    assert result["removed"] == [] and result["not_done"] == ["del 198.51.100.100/32", "del 2001:db8::100/128"]
    assert "removing 198.51.100.100/32 on lo failed" in result["msg"] and "done before it: nothing" in result["msg"]
    assert result["cmd"] == DEL4


def test_rerun_after_partial_failure_converges(host):
    """The second run sees the first VIP and adds only the rest."""
    mock = host([(SHOW, (0, ip_json([VIP4]), "")), (ADD4B, OK), (ADD6, OK)])
    result = run_module(host.fake, {"addresses": ["198.51.100.100", "198.51.100.101", "2001:db8::100"]})
    mock.assert_done()
    assert result["added"] == ["198.51.100.101/32", "2001:db8::100/128"]


def test_ip_show_failure(host):
    mock = host([(SHOW, (1, "", "Cannot open netlink socket: Permission denied\n"))])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"]}, AnsibleFailJson)
    mock.assert_done()
    assert result["cmd"] == SHOW and result["rc"] == 1
    assert "Permission denied" in result["msg"] and "-j -d addr show" in result["msg"]


def test_ip_show_garbage(host):
    mock = host([(SHOW, (0, "Option \"-j\" is unknown, try \"ip -help\".", ""))])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"]}, AnsibleFailJson)
    mock.assert_done()
    assert "cannot parse the JSON" in result["msg"]


def test_proc_unreadable(host, tmp_path):
    host([(SHOW, (0, ip_json(), ""))])
    proc_conf = tmp_path / "proc" / "sys" / "net" / "ipv4" / "conf"
    proc_conf.parent.mkdir(parents=True)
    proc_conf.write_text("not a directory\n")  # listing it fails: ENOTDIR
    host.fake.read_arp_conf = functools.partial(_host_state.read_arp_conf, root=str(tmp_path))
    result = run_module(host.fake, {"addresses": ["198.51.100.100"]}, AnsibleFailJson)
    assert "cannot read the running ARP settings" in result["msg"]


def test_no_ipv4_fails_naming_the_missing_directory(host, tmp_path):
    host([(SHOW, (0, ip_json(), ""))])
    host.fake.read_arp_conf = functools.partial(_host_state.read_arp_conf, root=str(tmp_path))
    result = run_module(host.fake, {"addresses": ["198.51.100.100"]}, AnsibleFailJson)
    assert "/proc/sys/net/ipv4/conf does not exist: IPv4 is not available here" in result["msg"]


def test_c_locale_and_ip_from_path(host, monkeypatch):
    mock = host([(SHOW, (0, ip_json([VIP4]), ""))])
    environments = []

    def run_command(module, argv, **kwargs):
        environments.append(dict(module.run_command_environ_update))
        return mock(argv, **kwargs)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    run_module(host.fake, {"addresses": ["198.51.100.100"]})
    mock.assert_done()
    assert environments == [{"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}]


# --------------------------------------------------------------------------
# the options a standalone user needs: what only the role needed is gone
# --------------------------------------------------------------------------

REMOVED = [("mode", "tun"), ("facts", True), ("boot_unit", True), ("boot_unit_python", "/usr/bin/python3"),
           ("boot_unit_force", True), ("boot_unit_metrics", True), ("boot_unit_metrics_interval", 30),
           ("boot_unit_metrics_dir", "/srv/textfile"), ("boot_unit_netstack", "auto"),
           ("check_mode_runtime_changes", [{"interface": "all", "key": "arp_ignore", "after": 1}])]


@pytest.mark.parametrize("option, value", REMOVED, ids=[option for option, value in REMOVED])
def test_a_removed_option_is_refused_naming_it_and_runs_nothing(host, option, value):
    mock = host([])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], option: value}, AnsibleFailJson)
    mock.assert_done()
    assert "Unsupported parameters" in result["msg"] and option in result["msg"]


def test_the_options_are_those_a_standalone_user_sets():
    documented = set(yaml.safe_load(loopback_vip.DOCUMENTATION)["options"])  # device, scope, label: the fragment
    assert documented == {"addresses", "state", "require_arp_protection", "runtime"}


RETURN_KEYS = set(yaml.safe_load(loopback_vip.RETURN))
ALWAYS = set(k for k, v in yaml.safe_load(loopback_vip.RETURN).items() if v["returned"] == "always")


@pytest.mark.parametrize("calls, args, expect", [
    ([(SHOW, (0, ip_json(), "")), (ADD4, OK)], {"addresses": ["198.51.100.100"]}, AnsibleExitJson),
    ([(SHOW, (0, ip_json([VIP4]), ""))], {"addresses": ["198.51.100.100"], "runtime": "skip"}, AnsibleExitJson),
    ([(SHOW, (0, ip_json(), "")), (ADD4, (2, "", "RTNETLINK answers: File exists"))], {"addresses": ["198.51.100.100"]},
     AnsibleFailJson),
], ids=["added", "skipped", "ip-failed"])
def test_the_result_is_the_documented_return_and_nothing_else(host, calls, args, expect):
    host(calls)
    result = run_module(host.fake, args, expect)
    returned = set(result) - {"changed", "failed", "msg"}
    assert returned <= RETURN_KEYS, returned - RETURN_KEYS
    assert ALWAYS <= returned, ALWAYS - returned
    assert "ansible_facts" not in result and "boot_unit" not in result


def test_tunl0_needs_no_mode_the_device_says_tun(host):
    tunl0 = json.loads(ip_json()) + [{"ifindex": 3, "ifname": "tunl0", "flags": ["NOARP", "UP", "LOWER_UP"],
                                      "link_type": "ipip", "addr_info": []}]
    add = [IP, "-4", "addr", "replace", "198.51.100.100/32", "dev", "tunl0", "scope", "host", "label", "tunl0:lvs"]
    mock = host([(SHOW, (0, json.dumps(tunl0), "")), (add, OK)])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "device": "tunl0"})
    mock.assert_done()
    assert result["added"] == ["198.51.100.100/32"] and result["device"] == "tunl0"


def test_check_mode_judges_the_running_values(host):
    """Without the role's announced values, check mode judges /proc as it is, like the real run."""
    host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0, all_announce=0))
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "_ansible_check_mode": True}, AnsibleFailJson)
    assert result["guard"]["verdict"] == "fail"


# --------------------------------------------------------------------------
# explicit control flow and the host lock
# --------------------------------------------------------------------------

def test_main_returns_after_refusing_bad_input_even_where_fail_json_returns(host, monkeypatch):
    """main() does not rely on fail_json never returning: no exit_json, no ip call after the refusal."""
    mock = host([])
    calls = []
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", lambda self, **kw: calls.append(("fail", kw["msg"])))
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", lambda self, **kw: calls.append(("exit", kw)))
    with set_module_args({"addresses": ["198.51.100.100/24"]}):
        assert loopback_vip.main(host=host.fake) is None
    mock.assert_done()
    assert [call[0] for call in calls] == ["fail"] and "addresses[0]" in calls[0][1]


@pytest.mark.parametrize("calls, conf, msg", [
    ([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0, all_announce=0), "arp_ignore"),
    ([(SHOW, (0, ip_json(), "")), (ADD4, (2, "", "RTNETLINK answers: Operation not permitted"))], None,
     "adding 198.51.100.100/32 on lo failed"),
], ids=["guard-refuses", "ip-fails"])
def test_a_failed_step_is_the_only_exit_even_where_fail_json_returns(host, monkeypatch, calls, conf, msg):
    """After the guard's refusal or a failed ip command: no further ip command and no exit_json."""
    mock = host(calls, conf)
    outcome = []
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", lambda self, **kw: outcome.append(("fail", kw["msg"])))
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", lambda self, **kw: outcome.append(("exit", kw)))
    with set_module_args({"addresses": ["198.51.100.100", "198.51.100.101"]}):
        loopback_vip.main(host=host.fake)
    mock.assert_done()  # the second address was never tried
    assert [o[0] for o in outcome] == ["fail"] and msg in outcome[0][1]


@pytest.mark.parametrize("calls, expect", [
    ([(SHOW, (0, ip_json(), "")), (ADD4, OK)], AnsibleExitJson),
    ([(SHOW, (0, ip_json(), "")), (ADD4, (2, "", "RTNETLINK answers: Operation not permitted"))], AnsibleFailJson),
], ids=["success", "failure"])
def test_the_host_lock_is_released_on_success_and_on_failure(host, calls, expect):
    host(calls)
    run_module(host.fake, {"addresses": ["198.51.100.100"]}, expect)
    assert host.fake.held.taken == 1 and host.fake.held.fd is None


def test_check_mode_takes_no_lock(host):
    taken = []
    host([(SHOW, (0, ip_json(), ""))])
    host.fake.lock = lambda module: taken.append(module) or None
    run_module(host.fake, {"addresses": ["198.51.100.100"], "_ansible_check_mode": True})
    assert len(taken) == 1  # asked once: _step.host_lock gives None in check mode


# --------------------------------------------------------------------------
# runtime: auto on hosts that cannot take address changes
# --------------------------------------------------------------------------

UNPRIVILEGED = ["the module runs without CAP_NET_ADMIN (CapEff 00000000a80425fb), so addresses cannot be added"]


def test_auto_in_an_unprivileged_container_runs_no_ip_change_and_warns_once(host, monkeypatch):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    # the running values leak and no VIP is there: the guard must not refuse, nothing may be added
    mock = host([(SHOW, (0, ip_json(), ""))], proc(all_ignore=0, all_announce=0), reasons=UNPRIVILEGED)
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "runtime": "auto"})
    mock.assert_done()  # no ip addr call
    assert result["changed"] is False and result["added"] == [] and result["removed"] == []
    assert result["runtime"] == "skipped" and result["runtime_reasons"] == UNPRIVILEGED
    assert result["runtime_skipped"] == ["add 198.51.100.100/32"]
    assert result["guard"]["verdict"] == "skipped"
    assert len(warnings) == 1 and warnings[0].startswith("runtime skipped:")


def test_auto_check_mode_predicts_the_same(host):
    mock = host([(SHOW, (0, ip_json(), ""))], reasons=UNPRIVILEGED)
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "runtime": "auto", "_ansible_check_mode": True})
    mock.assert_done()
    assert result["runtime"] == "skipped" and result["runtime_skipped"] == ["add 198.51.100.100/32"]


def test_auto_on_a_capable_host_applies(host):
    """Negative control for the detector: nothing detected, the VIP is added."""
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, OK)])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "runtime": "auto"})
    mock.assert_done()
    assert result["runtime"] == "applied" and result["added"] == ["198.51.100.100/32"]


def test_apply_in_an_unprivileged_container_still_runs_ip_and_fails(host):
    """Negative control: runtime=apply does not ask the detector, the ip error included."""
    mock = host([(SHOW, (0, ip_json(), "")), (ADD4, (2, "", "RTNETLINK answers: Operation not permitted"))],
                reasons=UNPRIVILEGED)
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "runtime": "apply"}, AnsibleFailJson)
    mock.assert_done()
    assert "Operation not permitted" in result["msg"] and result["runtime"] == "applied"


def test_skip_runs_no_removal(host):
    mock = host([(SHOW, (0, ip_json([VIP4]), ""))])
    result = run_module(host.fake, {"addresses": ["198.51.100.100"], "state": "absent", "runtime": "skip"})
    mock.assert_done()
    assert result["changed"] is False and result["removed"] == []
    assert result["runtime_skipped"] == ["del 198.51.100.100/32"]


def test_skip_still_refuses_bad_input(host):
    result = run_module(host.fake, {"addresses": ["198.51.100.0/24"], "runtime": "skip"}, AnsibleFailJson)
    assert "198.51.100.0/24" in result["msg"] and result["changed"] is False
