# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure assembly of ``ansible_facts['lvs_realserver']`` (the arp_facts module).

Everything here is a function of values the module has already read: the
``/proc`` values, the ``ip -j -d addr`` topology, the text of ``/proc/net/route``,
the sysctl.d tree, and the texts of the network managers' configuration files.
No I/O.

The verdict itself comes from the shared evaluator (``_arp_rules``), the
file and line deciding each key from the shared resolver (``_sysctl_d``),
the boot values from the boot model (``_boot_model``) and the hazards from
``_hazards`` and ``_netstack_config``; this file only assembles:

* ``boot``: the line that decides each key at the next boot, with its value;
* ``boot_prediction``: the boot model's answer per interface and key;
* ``drift``: keys whose running value is none of their possible boot values;
* ``at_boot``: the evaluator's verdict over the boot values (same VIPs and
  interfaces), i.e. "would this host leak after a reboot?";
* ``hazards``: configuration that can undo the protection later (a network
  manager owning ``lo``, ``rp_filter`` breaking TUN, or dropping DR clients'
  packets when the default route leaves through another interface, a VIP on
  an ARP-facing interface, ``/etc/sysctl.conf`` read differently by procps).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model as boot_model
from ansible_collections.lvs.realserver.plugins.module_utils import _hazards
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _unit_files as unit_files

FACTS_KEY = "lvs_realserver"
FACTS_VERSION = 1


def netstack_hazards(networkd=(), networkd_dropins=(), netplan=(), nm=(), ifupdown=(), vips=(), version=None,
                     watched=False):
    """``_netstack_config.hazards``, imported (compiled) only when a networkd unit takes lo or another stack has a file.

    Debian's systemd ships ``.network`` files for containers and VMs, none of which takes lo.
    """
    if unit_files.networkd_lo_unit(networkd, networkd_dropins) is None and not (netplan or nm or ifupdown):
        return []
    from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_config
    return _netstack_config.hazards(networkd, networkd_dropins, netplan, nm, ifupdown, vips, version, watched)


def unreadable_warning(path):
    """The warning for a file or directory that could not be read, naming what is then not known."""
    if any(path == d or path.startswith(d + "/") for d in sysctl_d.SEARCH_DIRS):
        return "%s: not readable, the boot values leave it out (systemd-sysctl reads it at boot)" % path
    return "%s: not readable, hazards there are not checked" % path


def assemble(conf, interfaces, mode="dr", expected_vips=None, judge=None, candidates=(),
             sysctl_conf_text=None, networkd=(), networkd_dropins=(), netplan=(), nm=(),
             unreadable=(), collected_at=None, default_routes=None, boot_interfaces=None, watched=False,
             systemd_version=None, ifupdown=()):
    """Build ``ansible_facts['lvs_realserver']``.

    ``conf``: ``_runtime.read_conf(rules.READ_KEYS)``; ``interfaces``:
    ``_iproute.parse_addr_json(...)``; ``candidates``:
    ``_sysctl_d.read_candidates()``; ``networkd``/``netplan``/``nm``/``ifupdown``:
    ``_sysctl_d.ConfigFile`` tuples; ``networkd_dropins``: ``_netstack_paths.DropIn`` tuples;
    ``unreadable``: paths that could not be read (reported, not fatal);
    ``boot_interfaces``: the topology ``at_boot`` judges, when it differs from
    now (the VIPs the boot unit adds on a host whose runtime was skipped);
    ``watched``: the boot unit's watch (``lvs-realserver-watch.service``) is running, so a stack that removes
    the VIPs from lo is no hazard (info); ``systemd_version``: of systemd-networkd (None: unknown).
    """
    report = rules.evaluate(conf, interfaces, mode, expected_vips, judge)
    systemd, model, after_boot = boot_model.next_boot(candidates, conf, report, interfaces, mode)
    names = boot_model.boot_names(report["arp_facing"], mode)
    boot = boot_model.boot_report(systemd, names)

    hazards = netstack_hazards(networkd, networkd_dropins, netplan, nm, ifupdown, report["vips"], systemd_version,
                               watched)
    hazards.extend(_hazards.vip_hazards(report, interfaces, expected_vips))
    if mode == "tun":
        hazards.extend(_hazards.tun_hazards(conf, interfaces, boot, model))
    else:
        hazards.extend(_hazards.dr_rp_filter_hazards(report, interfaces, default_routes, conf, model, after_boot))
    if sysctl_conf_text is not None:
        procps = sysctl_d.resolve(sysctl_d.boot_files(list(candidates), sysctl_conf_text))
        hazards.extend(_hazards.sysctl_conf_hazards(systemd, procps, names))
    hazards.extend(_hazards.bad_value_hazards(boot))

    warnings = list(report["warnings"])
    warnings.extend(
        "%s: not an ARP-facing interface here (absent, loopback, NOARP or a bridge/bond port), not judged" % name
        for name in (judge or []) if name not in report["arp_facing"])
    warnings.extend("%s:%d: ignored at boot: %s" % (p.path, p.line, p.reason) for p in systemd.problems)
    warnings.extend(unreadable_warning(path) for path in unreadable)
    boot_topology = interfaces if boot_interfaces is None else boot_interfaces
    verdict_at_boot = boot_model.at_boot(after_boot, boot_topology, mode, expected_vips, judge)
    warnings.extend(boot_model.order_warnings(conf, boot_topology, mode, expected_vips, judge, model, verdict_at_boot))

    return dict(
        report,
        facts_version=FACTS_VERSION,
        collected_at=collected_at,
        warnings=warnings,
        boot=boot,
        boot_tool="systemd-sysctl",
        boot_prediction=[boot_model.as_fact(p) for p in model.predictions],
        drift=boot_model.drift(conf, model, names),
        at_boot=verdict_at_boot,
        hazards=hazards,
        hazard_count=len([h for h in hazards if h["severity"] != "info"]),
    )
