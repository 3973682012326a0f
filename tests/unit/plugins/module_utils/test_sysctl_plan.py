# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_plan as planner
from ansible_collections.lvs.realserver.plugins.module_utils._sysctl_d import ConfigFile

PATH = planner.DEFAULT_PATH
PROTECT = {"all": {"arp_ignore": 1, "arp_announce": 2}}
RUNNING = {"all": {"arp_ignore": 0, "arp_announce": 0}, "default": {}, "lo": {}, "eth0": {"arp_ignore": 0}}


def cand(path, text):
    directory, name = os.path.split(path)
    return ConfigFile(directory, name, False, text)


def plan(state="present", conf=None, current=None, tree=(), sysctl_conf=None, running=None, force=False):
    return planner.plan(state, conf or PROTECT, PATH, current, list(tree), sysctl_conf,
                        RUNNING if running is None else running, force)


@pytest.mark.parametrize("conf, fragment", [
    ({}, "non-empty mapping"),
    ("all", "non-empty mapping"),
    ({"all": {"arp_ignore": 4}}, "conf.all.arp_ignore=4: arp_ignore 4 is reserved"),
    ({"all": {"arp_ignore": 9}}, "conf.all.arp_ignore=9: arp_ignore 9 is reserved"),
    ({"all": {"arp_announce": 3}}, "conf.all.arp_announce=3: arp_announce must be one of 0, 1, 2"),
    ({"all": {"rp_filter": "x"}}, "conf.all.rp_filter='x': rp_filter must be an integer"),
    ({"all": {"forwarding": 1}}, "conf.all.forwarding=1: unsupported key 'forwarding'"),
    ({"eth0;reboot": {"arp_ignore": 1}}, "conf: interface name 'eth0;reboot' may only contain"),
    ({"a" * 16: {"arp_ignore": 1}}, "16 characters"),
    ({"eth0/1": {"arp_ignore": 1}}, "may only contain"),
    ({"..": {"arp_ignore": 1}}, "not a valid interface name"),
    ({"eth0": {}}, "conf.eth0 must be a non-empty mapping"),
    ({"eth0": 1}, "conf.eth0 must be a non-empty mapping"),
])
def test_conf_errors_name_the_option_and_value(conf, fragment):
    errors = planner.conf_errors(conf)
    assert any(fragment in e for e in errors), errors


def test_conf_accepts_integer_strings_from_inventories():
    assert planner.conf_errors({"all": {"arp_ignore": "1"}, "eth0.100": {"rp_filter": 0}}) == []
    assert planner.normalized_conf({"all": {"arp_ignore": "1"}}) == {"all": {"arp_ignore": 1}}


@pytest.mark.parametrize("path, fragment", [
    ("/etc/sysctl.conf", "directly inside one of"),
    ("/etc/sysctl.d/sub/x.conf", "directly inside one of"),
    ("/tmp/x.conf", "directly inside one of"),
    ("/etc/sysctl.d/../passwd", "normalized"),
    ("etc/sysctl.d/x.conf", "absolute"),
    ("/etc/sysctl.d/x.cfg", "'*.conf'"),
    ("/etc/sysctl.d/.hidden.conf", "'*.conf'"),
])
def test_path_errors(path, fragment):
    assert fragment in planner.path_error(path)


@pytest.mark.parametrize("path", [PATH, "/run/sysctl.d/90-x.conf", "/usr/lib/sysctl.d/99-x.conf"])
def test_good_paths(path):
    assert planner.path_error(path) is None


def test_fresh_host_plan_writes_file_and_runtime():
    result = plan()
    assert result["error"] is None and result["conflicts"] == []
    assert result["new_text"].endswith("net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n")
    assert [(c["name"], c["before"], c["after"]) for c in result["runtime_changes"]] == [
        ("net.ipv4.conf.all.arp_ignore", 0, 1), ("net.ipv4.conf.all.arp_announce", 0, 2)]
    assert result["boot"]["net.ipv4.conf.all.arp_ignore"] == {"value": 1, "file": PATH, "line": 3}


def test_second_run_plans_nothing():
    first = plan()
    running = {"all": {"arp_ignore": 1, "arp_announce": 2}}
    second = plan(current=first["new_text"], tree=[cand(PATH, first["new_text"])], running=running)
    assert second["new_text"] == first["new_text"]
    assert second["runtime_changes"] == [] and second["conflicts"] == []


def test_foreign_file_is_never_overwritten_or_removed_without_force():
    for state in ("present", "absent"):
        result = plan(state=state, current="net.ipv4.conf.all.arp_ignore = 1\n")
        assert "was not written by lvs.realserver.arp_sysctl" in result["error"]
        assert "force=true" in result["error"]
    assert plan(current="x = 1\n", force=True)["error"] is None


def test_later_file_with_other_value_is_a_conflict_with_path_and_line():
    tree = [cand("/etc/sysctl.d/99-zzz-local.conf", "# local\nnet.ipv4.conf.all.arp_ignore = 0\n")]
    result = plan(tree=tree)
    assert result["conflicts"] == [{
        "key": "net.ipv4.conf.all.arp_ignore", "kind": "later_file", "ours": 1, "value": 0,
        "file": "/etc/sysctl.d/99-zzz-local.conf", "line": 2, "boot_tool": "systemd-sysctl"}]
    assert result["boot"]["net.ipv4.conf.all.arp_ignore"]["file"] == "/etc/sysctl.d/99-zzz-local.conf"


def test_later_file_with_the_same_value_is_not_a_conflict():
    tree = [cand("/etc/sysctl.d/99-zzz-local.conf", "net.ipv4.conf.all.arp_ignore = 1\n")]
    result = plan(tree=tree)
    assert result["conflicts"] == []
    assert result["boot"]["net.ipv4.conf.all.arp_ignore"]["file"] == "/etc/sysctl.d/99-zzz-local.conf"


def test_earlier_file_is_no_conflict_and_sysctl_conf_only_counts_for_procps():
    tree = [cand("/usr/lib/sysctl.d/50-x.conf", "net.ipv4.conf.all.arp_ignore = 0\n")]
    assert plan(tree=tree)["conflicts"] == []
    result = plan(sysctl_conf="net.ipv4.conf.all.arp_announce = 0\n")
    assert [(c["file"], c["boot_tool"]) for c in result["conflicts"]] == [("/etc/sysctl.conf", "sysctl --system")]


def test_interface_value_or_glob_beating_all_through_max_is_a_conflict():
    tree = [
        cand("/etc/sysctl.d/10-hardening.conf", "net.ipv4.conf.eth0.arp_ignore = 4\nnet.ipv4.conf.eth1.arp_ignore = 2\n"),
        cand("/usr/lib/sysctl.d/50-x.conf", "net.ipv4.conf.*.arp_announce = 1\n"),
    ]
    kinds = [(c["key"], c["kind"], c["value"]) for c in plan(tree=tree)["conflicts"]]
    # eth1=2 keeps the VIP hidden (max(1, 2) = 2), and announce 1 < 2 loses the max: neither is a conflict
    assert kinds == [("net.ipv4.conf.eth0.arp_ignore", "beats_all_via_max", 4)]
    tree.append(cand("/usr/lib/sysctl.d/60-y.conf", "net.ipv4.conf.*.arp_announce = 3\n"))
    assert ("net.ipv4.conf.*.arp_announce", "beats_all_via_max", 3) in [
        (c["key"], c["kind"], c["value"]) for c in plan(tree=tree)["conflicts"]]


def test_masked_path_is_an_error():
    result = planner.plan("present", PROTECT, "/usr/lib/sysctl.d/99-lvs.conf", None,
                          [cand("/etc/sysctl.d/99-lvs.conf", "")], None, RUNNING, False)
    assert "masked by /etc/sysctl.d/99-lvs.conf" in result["error"]


def test_missing_interface_is_pending_not_an_error():
    result = plan(conf={"all": {"arp_ignore": 1}, "eth0.100": {"arp_ignore": 1}, "eth0": {"arp_ignore": 1}})
    assert result["pending"] == ["net.ipv4.conf.eth0/100.arp_ignore"]
    assert [c["name"] for c in result["runtime_changes"]] == ["net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.eth0.arp_ignore"]
    assert "net.ipv4.conf.eth0/100.arp_ignore = 1" in result["new_text"]


def test_absent_restores_what_the_remaining_files_give_else_kernel_default():
    ours = sysctl_d.render_dropin({"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 0}},
                                  ("arp_ignore", "arp_announce", "rp_filter"))
    tree = [cand(PATH, ours), cand("/usr/lib/sysctl.d/50-default.conf", "net.ipv4.conf.all.rp_filter = 2\n")]
    running = {"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 0}}
    result = plan(state="absent", current=ours, tree=tree, running=running)
    assert result["error"] is None
    assert [(c["name"], c["before"], c["after"]) for c in result["runtime_changes"]] == [
        ("net.ipv4.conf.all.arp_ignore", 1, 0),
        ("net.ipv4.conf.all.arp_announce", 2, 0),
        ("net.ipv4.conf.all.rp_filter", 0, 2),
    ]
    assert result["boot"]["net.ipv4.conf.all.rp_filter"]["file"] == "/usr/lib/sysctl.d/50-default.conf"
    assert result["boot"]["net.ipv4.conf.all.arp_ignore"] == {"value": None, "file": None, "line": None}


def test_absent_without_a_file_changes_nothing():
    result = plan(state="absent", running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    assert result["runtime_changes"] == [] and result["error"] is None


def test_absent_unmasks_a_same_named_vendor_file():
    ours = sysctl_d.render_dropin(PROTECT, ("arp_ignore", "arp_announce"))
    vendor = cand("/usr/lib/sysctl.d/99-zz-lvs-realserver.conf", "net.ipv4.conf.all.arp_ignore = 2\n")
    result = plan(state="absent", current=ours, tree=[cand(PATH, ours), vendor],
                  running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    assert [(c["name"], c["after"]) for c in result["runtime_changes"]] == [
        ("net.ipv4.conf.all.arp_ignore", 2), ("net.ipv4.conf.all.arp_announce", 0)]


def test_managed_conf_round_trips_the_renderer():
    conf = {"all": {"arp_ignore": 1, "arp_announce": 2}, "eth0.100": {"rp_filter": 0}}
    assert planner.managed_conf(sysctl_d.render_dropin(conf, ("arp_ignore", "arp_announce", "rp_filter"))) == conf
