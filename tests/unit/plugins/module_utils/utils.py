# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fakes shared by the module_utils tests: what the injected edges return."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def addr_json(interfaces):
    """``ip -j -d addr show`` output for ``_iproute.Interface`` tuples (``_iproute.parse_addr_json`` inverted),
    for the ``capture`` edge of ``_vipctl.main`` and ``check_once``."""
    rows = []
    for i in interfaces:
        row = {"ifname": i.name,
               "flags": [flag for flag, on in (("LOOPBACK", i.loopback), ("NOARP", i.noarp), ("UP", i.up)) if on],
               "addr_info": [{"family": a.family, "local": a.local, "prefixlen": a.prefixlen, "scope": a.scope,
                              "label": a.label, "secondary": a.secondary,
                              "preferred_life_time": a.preferred_life_time} for a in i.addresses]}
        linkinfo = dict((k, v) for k, v in (("info_kind", i.link_kind), ("info_slave_kind", i.slave_kind)) if v)
        if linkinfo:
            row["linkinfo"] = linkinfo
        if i.master:
            row["master"] = i.master
        rows.append(row)
    return json.dumps(rows)
