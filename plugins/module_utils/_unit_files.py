# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""systemd unit-file syntax, and which systemd-networkd ``.network`` unit takes lo.

``parse_unit`` reads the ini-like syntax of systemd units, ``.network``
files and NetworkManager keyfiles; ``networkd_lo_unit`` merges each effective
``.network`` unit with its drop-ins and tests its ``[Match]`` against lo the
way systemd-networkd does. Pure functions over ``_sysctl_d.ConfigFile`` tuples;
``arp_facts`` always needs this (Debian's systemd ships ``.network`` files),
the hazards built on it (``_netstack_config``) only when a unit takes lo.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
from collections import namedtuple

from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_paths as paths
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

LoUnit = namedtuple("LoUnit", "unit entries line reason")
"""The ``.network`` unit (``ConfigFile``) that takes lo, its merged entries, and the line and reason of the match."""


def parse_unit(text):
    """systemd unit-file syntax: ``[(section, key, value, line)]`` with continuation lines joined."""
    entries = []
    section = None
    pending = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if pending is not None:
            start, key, value = pending
            if line.endswith("\\"):
                pending = (start, key, value + " " + line[:-1].strip())
                continue
            entries.append((section, key, (value + " " + line).strip(), start))
            pending = None
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            entries.append((section, None, None, number))
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if value.endswith("\\"):
            pending = (number, key, value[:-1].strip())
            continue
        entries.append((section, key, value, number))
    if pending is not None:
        entries.append((section, pending[1], pending[2], pending[0]))
    return entries


def _condition_test(patterns, value):
    """systemd's net_condition_test_strv(): each pattern may be negated with a leading '!'."""
    if not patterns:
        return True
    positive = False
    matched = False
    for pattern in patterns:
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:]
        else:
            positive = True
        if value is not None and fnmatch.fnmatchcase(value, pattern):
            if invert:
                return False
            matched = True
    return matched if positive else True


# What lo looks like to systemd-networkd's [Match]: its name, type "loopback",
# an all-zero MAC, and no driver, path, kind or permanent address.
_LO_MATCH_VALUES = {
    "Name": "lo",
    "Type": "loopback",
    "Driver": None,
    "Path": None,
    "Kind": None,
    "WLANInterfaceType": None,
    "SSID": None,
    "BSSID": None,
}
# Conditions on the host rather than the device: assumed to hold.
_HOST_CONDITIONS = ("Host", "Virtualization", "KernelCommandLine", "KernelVersion", "Credential",
                    "Architecture", "Firmware", "Property")


def network_matches_lo(entries):
    """``(matches, line, reason)`` for a merged list of unit entries."""
    conditions = {}
    lines = {}
    match_header = None
    for section, key, value, number in entries:
        if section != "Match":
            continue
        if key is None:
            match_header = match_header or number
            continue
        if value == "":
            conditions[key] = []  # an empty assignment resets the list
            continue
        conditions.setdefault(key, []).extend(value.split())
        lines.setdefault(key, number)
    known = dict((k, v) for k, v in conditions.items() if v)
    if not known:
        return True, match_header, "its [Match] section is empty or missing, so it matches every interface, lo included"
    for key, patterns in known.items():
        if key in _HOST_CONDITIONS:
            continue
        if key in ("MACAddress", "PermanentMACAddress"):
            addresses = [p.lower() for p in patterns]
            if key == "MACAddress" and "00:00:00:00:00:00" not in addresses:
                return False, None, None
            if key == "PermanentMACAddress":
                return False, None, None
            continue
        if key not in _LO_MATCH_VALUES:
            continue  # an unknown condition: assume it holds (report rather than miss)
        if not _condition_test(patterns, _LO_MATCH_VALUES[key]):
            return False, None, None
    if "Name" in known:
        return True, lines["Name"], "[Match] Name=%s matches lo" % " ".join(known["Name"])
    if "Type" in known:
        return True, lines["Type"], "[Match] Type=%s matches lo" % " ".join(known["Type"])
    return True, match_header, "no [Match] condition excludes lo"


def networkd_lo_unit(files, dropins, skip_dropin=None):
    """The ``LoUnit`` of the first effective ``.network`` unit whose ``[Match]`` (drop-ins merged) takes lo, or None.

    systemd-networkd applies the first matching file only. ``dropins``:
    ``_netstack_paths.DropIn`` tuples; ``skip_dropin``: a drop-in name left out of the merge.
    """
    for unit in sysctl_d.effective_files(files, paths.NETWORKD_DIRS, ".network"):
        entries = parse_unit(unit.text)
        extra = sysctl_d.effective_files(
            [sysctl_d.ConfigFile(d.directory, d.name, d.masked, d.text) for d in dropins
             if d.unit == unit.name and d.name != skip_dropin],
            tuple(os.path.join(x, unit.name + ".d") for x in paths.NETWORKD_DIRS), ".conf")
        for d in extra:
            entries.extend(parse_unit(d.text))
        matches, line, reason = network_matches_lo(entries)
        if matches:
            return LoUnit(unit, entries, line, reason)
    return None
