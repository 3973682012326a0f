# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The options of ``lvs.realserver.converge``: spec, validation and what the steps get. Pure functions.

Imported on the controller by the action plugin of the same name (which
validates before anything is sent to the host) and on the host by the module
itself, so both judge the input with the same code, and that code is the
validators of the single-purpose modules: ``_vip_plan.validate``
(``loopback_vip``, ``boot_unit``) and ``_sysctl_plan.conf_errors`` /
``path_error`` (``arp_sysctl``). Their messages name their own options
(``addresses``, ``conf``, ...); ``errors`` renames them after this module's
options, behind ``variable_prefix`` (the role passes ``realserver_``, so that
every message names the role variable and its value).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_plan
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan

TUN_CONF = {"all": {"rp_filter": 0}, "default": {"rp_filter": 0}, rules.TUN_DEVICE: {"rp_filter": 0}}

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    mode=dict(type="str", choices=list(rules.MODES), default="dr"),
    vips=dict(type="list", elements="str", default=[]),
    vip_device=dict(type="str", choices=list(_vip_plan.DEVICES), default="lo"),
    vip_scope=dict(type="str", choices=list(_vip_plan.SCOPES), default="host"),
    vip_label=dict(type="str"),
    arp_conf=dict(type="dict", default=rules.ARP_PROTECTION),
    tun_conf=dict(type="dict", default=TUN_CONF),
    sysctl_path=dict(type="path", default=_sysctl_plan.DEFAULT_PATH),
    sysctl_on_conflict=dict(type="str", choices=["fail", "warn"], default="fail"),
    sysctl_force=dict(type="bool", default=False),
    boot_unit=dict(type="bool", default=True),
    python=dict(type="str", default="/usr/bin/python3"),
    metrics=dict(type="bool", default=False),
    metrics_interval=dict(type="int", default=60),
    metrics_dir=dict(type="str", default=boot.METRICS_DIR),
    tun_load_now=dict(type="bool", default=True),
    compliance_check=dict(type="bool", default=True),
    runtime=dict(type="str", choices=list(_runtime_mode.CHOICES), default=_runtime_mode.AUTO),
    netstack=dict(type="str", choices=list(_netstack.CHOICES), default="auto"),
    variable_prefix=dict(type="str", default=""),
)

# The options of the single-purpose validators, by the names of this module's options.
RENAMES_VIP = {"addresses": "vips", "device": "vip_device", "label": "vip_label", "scope": "vip_scope"}
_LEADING_NAME = re.compile(r"^([a-z_]+)(?=[\s.:\[=])")


def renamed(errors, renames, prefix):
    """``errors`` with their leading option name renamed (``renames``) and prefixed."""
    def rename(match):
        return prefix + renames.get(match.group(1), match.group(1))
    return [_LEADING_NAME.sub(rename, error, count=1) for error in errors]


def vip_state(params):
    """What ``loopback_vip`` does: ``exact`` (present), ``absent`` of the listed VIPs, or ``exact`` of none (absent, no list)."""
    if params["state"] == "present":
        return "exact"
    return "absent" if params["vips"] else "exact"


def sysctl_conf(params):
    """The keys ``arp_sysctl`` owns: ``arp_conf``, plus ``tun_conf`` merged per interface in tun mode."""
    conf = dict((i, dict(keys)) for i, keys in _sysctl_plan.normalized_conf(params["arp_conf"]).items())
    if params["mode"] == "tun":
        for interface, keys in _sysctl_plan.normalized_conf(params["tun_conf"]).items():
            conf.setdefault(interface, {}).update(keys)
    return conf


def errors(params):
    """Every problem with the options, each naming the option (behind ``variable_prefix``) and the value.

    ``params`` are type-checked already (the argument spec). An empty list
    means ``desired(params)`` is safe to call.
    """
    p = params.get("variable_prefix") or ""
    found = renamed(_vip_plan.validate(params["vips"], params["vip_device"], vip_state(params),
                                       params["vip_label"], params["vip_scope"])[0], RENAMES_VIP, p)
    names = dict(addresses=p + "vips", device=p + "vip_device", mode=p + "mode")
    # the rules boot_unit shares (one validator): an empty list with state=present; tunl0 without mode=tun
    rules_found = _vip_plan.unit_errors(
        params["vips"], params["vip_device"], params["mode"], params["state"] == "present", names,
        " with %sstate=present, or use %sstate=absent to remove the configuration" % (p, p))
    found.extend(rules_found)
    if params["mode"] == "tun" and not params["tun_load_now"] and params["vip_device"] != "lo":
        found.append("%stun_load_now: false needs %svip_device=lo (got %r): VIPs cannot be added to a %s that does "
                     "not exist yet" % (p, p, params["vip_device"], rules.TUN_DEVICE))
    found.extend(renamed(_sysctl_plan.conf_errors(params["arp_conf"]), {"conf": "arp_conf"}, p))
    # {} adds no TUN key (the user leaves rp_filter to the host; the verdict's tun_rp_filter judges it)
    if params["mode"] == "tun" and params["tun_conf"] != {}:
        found.extend(renamed(_sysctl_plan.conf_errors(params["tun_conf"]), {"conf": "tun_conf"}, p))
    path_problem = _sysctl_plan.path_error(params["sysctl_path"])
    if path_problem:
        found.extend(renamed([path_problem], {"path": "sysctl_path"}, p))
    if params["metrics"] and not params["boot_unit"]:
        found.append("%smetrics=true needs %sboot_unit=true (got %sboot_unit=%r): the metrics timer runs the boot "
                     "unit's controller with its data file" % (p, p, p, params["boot_unit"]))
    # the validators of boot_unit's metrics options (the directory is used by state=absent too)
    found.extend(boot.metrics_errors(params["metrics_interval"], params["metrics_dir"], p))
    return found


def metrics(params):
    """What ``_boot_unit_apply.converge`` gets as ``metrics``: ``(interval, directory)``, or None (no timer)."""
    if params["metrics"]:
        return params["metrics_interval"], params["metrics_dir"]
    return None


def desired_vips(params):
    """``_vip_plan.validate``'s ``desired`` for valid ``params``."""
    return _vip_plan.validate(params["vips"], params["vip_device"], vip_state(params), params["vip_label"],
                              params["vip_scope"], params["mode"])[1]
