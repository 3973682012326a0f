# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The options of the boot unit that mean the same in every module that installs it.

    Used by lvs.realserver.boot_unit and lvs.realserver.converge (same names,
    types and defaults).
    """

    DOCUMENTATION = r"""
options:
  python:
    description:
      - The interpreter the boot unit (C(lvs-realserver-vips.service)) runs its controller and guard with, as root,
        at every boot.
      - It must be an absolute path (letters, digits and C(_.+/-) only) to an existing executable that, like its
        directory, is owned by root and writable by nobody else; anything else is refused (checked on the host).
    type: str
    default: /usr/bin/python3
  metrics:
    description:
      - Also install C(lvs-realserver-metrics.timer) and C(lvs-realserver-metrics.service), which run the installed
        controller (the boot guard's code and its copy of the rules, no Ansible) every O(metrics_interval) seconds
        and write the compliance verdict for node_exporter's textfile collector to C(lvs_realserver.prom) in
        O(metrics_dir), atomically (a temporary file in the same directory, renamed).
      - "Series (all gauges): C(lvs_realserver_compliant) (1/0, the M(lvs.realserver.arp_facts) verdict),
        C(lvs_realserver_boot_compliant) (1/0, the verdict with the values of the next boot),
        C(lvs_realserver_violation{code,interface}) and C(lvs_realserver_boot_violation{code,interface}) (the number
        of violations with those labels), C(lvs_realserver_vip_present{vip}) (1/0 per VIP the boot unit adds),
        C(lvs_realserver_check_timestamp_seconds)."
      - The service runs once when the timer is installed or changed (so the file exists when the module returns).
      - V(false) stops, disables and removes the timer, the service and the C(.prom) file when present.
        O(state=absent) removes them too.
    type: bool
    default: false
  metrics_interval:
    description: Seconds between two runs of the metrics timer (also the delay of the first run after boot), 1 to 86400.
    type: int
    default: 60
  metrics_dir:
    description:
      - The directory of node_exporter's textfile collector (C(--collector.textfile.directory)); Debian's
        C(prometheus-node-exporter) reads C(/var/lib/prometheus/node-exporter). Created (0755) when missing.
      - With O(metrics=false) or O(state=absent), the directory whose C(lvs_realserver.prom) is removed (the
        directory the installed timer writes to is cleaned as well).
    type: str
    default: /var/lib/prometheus/node-exporter
"""
