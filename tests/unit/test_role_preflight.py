# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The realserver role's input checks: its one task, rendered by ansible-core's templar, through the action's validation.

The role is one ``lvs.realserver.converge`` task. Its action plugin validates
the arguments on the controller (``option_errors``) with the modules' own
validators before anything reaches the host. Each case sets role variables
the way ``-e`` would, on top of the role's defaults, renders the task's
arguments as ansible-core does, and checks that every error names the role
variable and the value; valid combinations must give no error. The Jinja
preflight these tests used to render is gone: the drift it had (it refused
``arp_ignore: "1"``, which arp_sysctl accepts) cannot come back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.lvs.realserver.plugins.action import converge as action

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given

    def trust_as_template(value):
        return value

ROLE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "roles", "realserver"))


def _trusted(value):
    """Role files are trusted templates, as ansible-core treats them when it loads the role."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return dict((k, _trusted(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def _role_file(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def task_args(**role_vars):
    """The arguments the role's one task passes to lvs.realserver.converge, rendered."""
    variables = _role_file("defaults", "main.yml")
    variables.update(role_vars)
    (task,) = _role_file("tasks", "main.yml")
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(_trusted(task["lvs.realserver.converge"]))


def preflight_errors(**role_vars):
    return action.option_errors(task_args(**role_vars))


VIP = ["192.0.2.10"]


@pytest.mark.parametrize("role_vars", [
    dict(realserver_vips=VIP),
    dict(realserver_vips=["192.0.2.10/32", "192.0.2.11/032", "2001:db8::10", "2001:db8::11/128"]),
    dict(realserver_vips=[], realserver_state="absent"),
    dict(realserver_vips=VIP, realserver_mode="tun", realserver_vip_device="tunl0"),
    dict(realserver_vips=VIP + ["2001:db8::10"], realserver_mode="tun", realserver_tun_load_now=False),
    dict(realserver_vips=VIP, realserver_vip_label="lo:web-01"),
    dict(realserver_vips=VIP, realserver_sysctl_path="/run/sysctl.d/50-lvs.conf"),
    dict(realserver_vips=VIP, realserver_arp_conf={"all": {"arp_ignore": 2, "arp_announce": 2}, "eth0": {"arp_ignore": 1}}),
    # The drift of the old Jinja preflight: arp_sysctl accepts integer strings (YAML from inventories).
    dict(realserver_vips=VIP, realserver_arp_conf={"all": {"arp_ignore": "1", "arp_announce": "2"}}),
    # tun_conf is ignored in dr mode, as documented.
    dict(realserver_vips=VIP, realserver_tun_conf={"all": {"rp_filter": 7}}),
    # {} in tun mode adds no key (the real-boot tier's negative control; the old role accepted it too).
    dict(realserver_vips=VIP, realserver_mode="tun", realserver_tun_conf={}),
    dict(realserver_vips=VIP, realserver_metrics=True, realserver_metrics_interval=1,
         realserver_metrics_dir="/srv/node-exporter.d"),
    dict(realserver_vips=VIP, realserver_metrics=True, realserver_metrics_interval="86400"),
], ids=["one-vip", "prefixes", "absent-empty", "tun-tunl0", "tun-later-on-lo", "label", "run-path", "conf",
        "conf-string", "tun-conf-ignored-in-dr", "tun-conf-empty", "metrics", "metrics-interval-string"])
def test_valid_variables_give_no_error(role_vars):
    assert preflight_errors(**role_vars) == []


@pytest.mark.parametrize("role_vars, fragments", [
    (dict(realserver_vips=[]), [["realserver_vips: [] is empty", "realserver_state=absent"]]),
    (dict(realserver_vips=["192.0.2.10/24", "192.0.2.11", "2001:db8::1/64", "x y"]),
     [["realserver_vips[0]: '192.0.2.10/24'", "/32"], ["realserver_vips[2]: '2001:db8::1/64'", "/128"],
      ["realserver_vips[3]: 'x y'"]]),
    (dict(realserver_vips=VIP, realserver_vip_device="tunl0"), [["realserver_vip_device: 'tunl0' needs realserver_mode=tun (got 'dr')"]]),
    (dict(realserver_vips=["2001:db8::1"], realserver_mode="tun", realserver_vip_device="tunl0"),
     [["realserver_vips[0]: '2001:db8::1'", "IPv4 only"]]),
    (dict(realserver_vips=VIP, realserver_mode="tun", realserver_vip_device="tunl0", realserver_tun_load_now=False),
     [["realserver_tun_load_now: false needs realserver_vip_device=lo (got 'tunl0')"]]),
    (dict(realserver_vips=VIP, realserver_vip_label="lo"), [["realserver_vip_label: 'lo'", "own label"]]),
    (dict(realserver_vips=VIP, realserver_vip_label="lo:this-is-too-long"), [["realserver_vip_label: 'lo:this-is-too-long'", "at most 15"]]),
    (dict(realserver_vips=VIP, realserver_vip_label="eth0:lvs"), [["realserver_vip_label: 'eth0:lvs'", "must start with the device name 'lo'"]]),
    (dict(realserver_vips=VIP, realserver_vip_label="lo:a;b"), [["realserver_vip_label: 'lo:a;b'"]]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"all": 3}), [["realserver_arp_conf.all", "got 3"]]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"all": {}}), [["realserver_arp_conf.all", "got {}"]]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"all": {"arp_ignore": True}}), [["realserver_arp_conf.all.arp_ignore=True"]]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"all": {"arp_ignore": 5}}), [["realserver_arp_conf.all.arp_ignore=5"]]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"eth0;x": {"arp_ignore": 1}}), [["realserver_arp_conf: interface name 'eth0;x'"]]),
    (dict(realserver_vips=VIP, realserver_mode="tun", realserver_tun_conf={"tunl0": {"rp_filter": 7}}),
     [["realserver_tun_conf.tunl0.rp_filter=7"]]),
    (dict(realserver_vips=VIP, realserver_sysctl_path="/etc/sysctl.conf"), [["realserver_sysctl_path '/etc/sysctl.conf' must"]]),
    (dict(realserver_vips=VIP, realserver_sysctl_path="/etc/sysctl.d/sub/x.conf"), [["realserver_sysctl_path '/etc/sysctl.d/sub/x.conf'"]]),
    (dict(realserver_vips=VIP, realserver_mode="bad"), [["value of realserver_mode must be one of", "bad"]]),
    (dict(realserver_vips=VIP, realserver_boot_unit="maybe"), [["'realserver_boot_unit'", "'maybe'"]]),
    (dict(realserver_vips=VIP, realserver_metrics=True, realserver_boot_unit=False),
     [["realserver_metrics=true needs realserver_boot_unit=true (got realserver_boot_unit=False)"]]),
    (dict(realserver_vips=VIP, realserver_metrics_interval=0),
     [["realserver_metrics_interval: 0 must be a whole number of seconds from 1 to 86400"]]),
    (dict(realserver_vips=VIP, realserver_metrics_interval=86401), [["realserver_metrics_interval: 86401"]]),
    (dict(realserver_vips=VIP, realserver_metrics_dir="/var/lib/../tmp"),
     [["realserver_metrics_dir: '/var/lib/../tmp' must be a normalized absolute directory path"]]),
    (dict(realserver_vips=VIP, realserver_metrics_dir="relative/dir"), [["realserver_metrics_dir: 'relative/dir'"]]),
    (dict(realserver_vips=VIP, realserver_metrics_dir="/var/lib/node exporter"),
     [["realserver_metrics_dir: '/var/lib/node exporter'"]]),
    (dict(realserver_vips=["2001:db8::1/64"], realserver_vip_device="tunl0", realserver_vip_label="tunl0",
          realserver_sysctl_path="/tmp/x.conf"),
     [["realserver_vip_label: 'tunl0'"], ["realserver_vips[0]: '2001:db8::1/64'"], ["needs realserver_mode=tun"],
      ["realserver_sysctl_path '/tmp/x.conf'"]]),
], ids=["empty", "prefixes", "tunl0-dr", "tunl0-ipv6", "tunl0-later", "label-bare", "label-long", "label-device",
        "label-chars", "conf-scalar", "conf-empty", "conf-bool", "conf-reserved", "conf-interface", "tun-conf",
        "path-sysctl-conf", "path-subdir", "mode-choice", "bool-type", "metrics-no-unit", "metrics-interval-0",
        "metrics-interval-big", "metrics-dir-dotdot", "metrics-dir-relative", "metrics-dir-space", "all-at-once"])
def test_each_bad_variable_gets_one_error_naming_it_and_its_value(role_vars, fragments):
    errors = preflight_errors(**role_vars)
    assert len(errors) == len(fragments), errors
    for error, expected in zip(errors, fragments):
        for fragment in expected:
            assert fragment in error, (fragment, error)


def test_the_module_names_its_own_options_without_the_prefix():
    args = dict(task_args(realserver_vips=["192.0.2.10/24"]), variable_prefix="")
    (error,) = action.option_errors(args)
    assert error.startswith("vips[0]: '192.0.2.10/24'")


def run_action(args):
    """The action's run with the module execution recorded: (result, module calls)."""
    calls = []

    def execute(module_args):
        calls.append((action.MODULE, module_args))
        return {"changed": True, "verdict": "compliant"}
    return action.run_once(args, execute), calls


def test_bad_variables_fail_on_the_controller_without_running_the_module():
    result, calls = run_action(task_args(realserver_vips=["192.0.2.10/24"]))
    assert calls == []
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith("realserver_vips[0]: '192.0.2.10/24'")
    assert result["errors"] == [result["msg"]]


def test_good_variables_run_the_module_once_with_the_task_args():
    args = task_args(realserver_vips=VIP)
    result, calls = run_action(args)
    assert calls == [("lvs.realserver.converge", args)]
    assert result == {"changed": True, "verdict": "compliant"}
