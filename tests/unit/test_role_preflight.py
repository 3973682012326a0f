# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The realserver role's preflight errors, rendered by ansible-core's own templar.

``__realserver_preflight_errors`` (roles/realserver/vars/main.yml) is what the
role's first task asserts to be empty. Each case sets role variables the way
``-e`` would, on top of the role's defaults and vars, and checks every error
names the variable and the value; valid combinations must give no error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

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
        return _trusted(yaml.safe_load(handle))


def preflight_errors(**role_vars):
    variables = _role_file("defaults", "main.yml")
    variables.update(_role_file("vars", "main.yml"))
    variables.update(role_vars)
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template("{{ __realserver_preflight_errors }}"))


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
], ids=["one-vip", "prefixes", "absent-empty", "tun-tunl0", "tun-later-on-lo", "label", "run-path", "conf"])
def test_valid_variables_give_no_error(role_vars):
    assert preflight_errors(**role_vars) == []


@pytest.mark.parametrize("role_vars, fragments", [
    (dict(realserver_vips=[]), [["realserver_vips is empty"]]),
    (dict(realserver_vips=["192.0.2.10/24", "192.0.2.11", "2001:db8::1/64", "192.0.2.12/0032", "x y"]),
     [["realserver_vips has entries", '"192.0.2.10/24", "2001:db8::1/64", "192.0.2.12/0032", "x y"']]),
    (dict(realserver_vips=VIP, realserver_vip_device="tunl0"), [["realserver_vip_device=tunl0 needs realserver_mode=tun (got dr)"]]),
    (dict(realserver_vips=["2001:db8::1"], realserver_mode="tun", realserver_vip_device="tunl0"),
     [["tunl0 takes IPv4 VIPs only", "got 2001:db8::1."]]),
    (dict(realserver_vips=VIP, realserver_mode="tun", realserver_vip_device="tunl0", realserver_tun_load_now=False),
     [["realserver_tun_load_now=false needs realserver_vip_device=lo"]]),
    (dict(realserver_vips=VIP, realserver_vip_label="lo"), [['realserver_vip_label="lo"', "differ from it"]]),
    (dict(realserver_vips=VIP, realserver_vip_label="lo:this-is-too-long"), [['realserver_vip_label="lo:this-is-too-long"']]),
    (dict(realserver_vips=VIP, realserver_vip_label="eth0:lvs"), [['realserver_vip_label="eth0:lvs"', "start with realserver_vip_device (lo)"]]),
    (dict(realserver_vips=VIP, realserver_vip_label="lo:a;b"), [['realserver_vip_label="lo:a;b"']]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"all": 3}), [['got {"all": 3}']]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"all": {}}), [['got {"all": {}}']]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"all": {"arp_ignore": "1"}}), [['got {"all": {"arp_ignore": "1"}}']]),
    (dict(realserver_vips=VIP, realserver_arp_conf={"all": {"arp_ignore": True}}), [['"arp_ignore": true']]),
    (dict(realserver_vips=VIP, realserver_sysctl_path="/etc/sysctl.conf"), [["realserver_sysctl_path=/etc/sysctl.conf must be"]]),
    (dict(realserver_vips=VIP, realserver_sysctl_path="/etc/sysctl.d/sub/x.conf"), [["realserver_sysctl_path=/etc/sysctl.d/sub/x.conf"]]),
    (dict(realserver_vips=["2001:db8::1/64"], realserver_vip_device="tunl0", realserver_vip_label="tunl0",
          realserver_sysctl_path="/tmp/x.conf"),
     [["realserver_vips has entries"], ["needs realserver_mode=tun"], ["takes IPv4 VIPs only"], ['realserver_vip_label="tunl0"'],
      ["realserver_sysctl_path=/tmp/x.conf"]]),
], ids=["empty", "prefixes", "tunl0-dr", "tunl0-ipv6", "tunl0-later", "label-bare", "label-long", "label-device",
        "label-chars", "conf-scalar", "conf-empty", "conf-string", "conf-bool", "path-sysctl-conf", "path-subdir", "all-at-once"])
def test_each_bad_variable_gets_one_error_naming_it_and_its_value(role_vars, fragments):
    errors = preflight_errors(**role_vars)
    assert len(errors) == len(fragments), errors
    for error, expected in zip(errors, fragments):
        for fragment in expected:
            assert fragment in error
