# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Where each network stack keeps its configuration, in priority order (what the readers list; no parsing)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

# systemd.network(5): same-named files replace each other, /etc first, then
# /run, then the vendor directories; all surviving files sorted by name.
NETWORKD_DIRS = (
    "/etc/systemd/network",
    "/run/systemd/network",
    "/usr/local/lib/systemd/network",
    "/usr/lib/systemd/network",
    "/lib/systemd/network",
)
# netplan: /run beats /etc beats /lib for the same file name; merged in name order.
NETPLAN_DIRS = ("/run/netplan", "/etc/netplan", "/lib/netplan")
NM_DIRS = (
    "/etc/NetworkManager/system-connections",
    "/run/NetworkManager/system-connections",
    "/usr/lib/NetworkManager/system-connections",
)

IFUPDOWN_FILES = ("/etc/network/interfaces",)
IFUPDOWN_DIRS = ("/etc/network/interfaces.d",)

DropIn = namedtuple("DropIn", "unit directory name masked text")
"""``<directory>/<unit>.d/<name>`` for a networkd unit file named ``unit``."""
