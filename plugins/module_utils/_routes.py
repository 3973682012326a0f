# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The IPv4 default routes of the main table, from the text of ``/proc/net/route``. No I/O."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

PROC_NET_ROUTE = "/proc/net/route"

DefaultRoute = namedtuple("DefaultRoute", "interface metric")
"""An IPv4 default route of the main routing table."""


def parse_default_routes(text):
    """The default routes listed in ``/proc/net/route`` (the kernel lists the main table there).

    Columns: Iface, Destination, Gateway, Flags, RefCnt, Use, Metric (decimal),
    Mask, ...; a default route has Destination and Mask 00000000. The header and
    lines that do not parse are skipped, and so are routes without a device
    (Iface ``*``: unreachable, prohibit, blackhole), which send nothing back.
    Only the first nexthop of a multipath route is listed there.
    """
    routes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] == "*":
            continue
        try:
            destination, metric, mask = int(fields[1], 16), int(fields[6]), int(fields[7], 16)
        except ValueError:
            continue
        if destination == 0 and mask == 0:
            routes.append(DefaultRoute(fields[0], metric))
    return routes


def preferred_default_interfaces(routes):
    """Interfaces of the default routes a lookup picks (the lowest metric); empty without a default route."""
    if not routes:
        return []
    best = min(r.metric for r in routes)
    return sorted(set(r.interface for r in routes if r.metric == best))
