# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Network stacks that would remove the VIPs from lo: their configuration files parsed, and the hazards found.

systemd-networkd ``.network`` units (with drop-ins), netplan YAML (with a line
heuristic when PyYAML is absent), NetworkManager keyfiles and ifupdown's
``/etc/network/interfaces``. Pure functions over ``_sysctl_d.ConfigFile``
tuples (the reader is ``_sysctl_d.read_config_files``; the directories are in
``_netstack_paths``; unit-file syntax and networkd's ``[Match]`` in
``_unit_files``). ``arp_facts`` imports this file only when a networkd unit
takes lo or a netplan, NetworkManager or ifupdown file exists.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

from ansible_collections.lvs.realserver.plugins.module_utils import _hazards as hazards_
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_paths as paths
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _unit_files as unit_files


def _networkd_keeps_vips(entries, vips):
    """Why networkd leaves the VIPs alone on a managed lo, or None."""
    keep = None
    declared = set()
    for section, key, value, _line in entries:
        if section == "Network" and key == "KeepConfiguration":
            keep = value.lower()
        if section in ("Network", "Address") and key == "Address" and value:
            declared.add(value.split("/")[0])
    if keep in ("static", "yes", "true", "1", "on"):
        return "KeepConfiguration=%s keeps foreign static addresses" % keep
    wanted = set(v["local"] for v in vips)
    if wanted and wanted <= declared:
        return "every VIP is declared with Address="
    return None


WATCHED = ("; lvs-realserver-watch.service is running and puts the VIPs back behind the ARP guard "
           "within a second (boot_unit netstack)")


def watched_hazard(found, watched):
    """A lo hazard downgraded to info while the watch runs: the VIPs come back at once, the ARP guard first."""
    if not watched:
        return found
    return [dict(h, severity="info", message=h["message"] + WATCHED) if h["severity"] != "info" else h
            for h in found]


# systemd-networkd skips loopback when it drops foreign configuration (link_drop_foreign_config:
# "ignore unmanaged, loopback, or critical interfaces"), since systemd PR 2024 (v229, the fix of the v228
# regression, systemd issue 2023); measured on Debian 12's 252 in the real-boot tier (networkctl reload,
# reconfigure lo and a restart with a .network matching lo kept the VIPs).
NETWORKD_KEEPS_LO_FROM = 229


def networkd_hazards(files, dropins, vips, version=None):
    """A systemd-networkd ``.network`` file that manages lo (only the first matching file applies).

    ``version``: systemd's version (None: unknown, judged as an old one).
    """
    found = unit_files.networkd_lo_unit(files, dropins)
    if found is None:
        return []
    path = sysctl_d.path_of(found.unit)
    kept = _networkd_keeps_vips(found.entries, vips)
    if not kept and version is not None and version >= NETWORKD_KEEPS_LO_FROM:
        kept = "systemd %d never drops foreign addresses on loopback" % version
    if kept:
        return [hazards_.hazard(
            "networkd_manages_lo",
            "systemd-networkd manages lo through %s (%s); VIPs survive because %s" % (path, found.reason, kept),
            "keep the VIPs declared there (or KeepConfiguration=static), or stop matching lo",
            severity="info", file=path, line=found.line, interface="lo")]
    return [hazards_.hazard(
        "networkd_manages_lo",
        "systemd-networkd manages lo through %s (%s) and removes foreign addresses, the VIPs, "
        "when it starts, reloads or reconfigures" % (path, found.reason),
        "exclude lo from %s ([Match] Name=!lo or a narrower Name=), or declare every VIP there "
        "with Address=, or set KeepConfiguration=static" % path,
        file=path, line=found.line, interface="lo")]


_NETPLAN_TYPES = ("ethernets", "wifis", "modems", "bonds", "bridges", "vlans", "tunnels", "vrfs",
                  "dummy-devices", "virtual-ethernets", "nm-devices")
_NETPLAN_MATCH_TYPES = ("ethernets", "wifis", "modems", "nm-devices")


def _load_yaml(text):
    try:
        import yaml  # netplan itself needs PyYAML; absent elsewhere
    except ImportError:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _line_of(text, regex):
    pattern = re.compile(regex)
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return None


def _netplan_lo_devices(document):
    """``[(type, id, why)]`` for the netplan definitions that take lo."""
    found = []
    network = document.get("network") if isinstance(document, dict) else None
    if not isinstance(network, dict):
        return found
    for kind in _NETPLAN_TYPES:
        devices = network.get(kind)
        if not isinstance(devices, dict):
            continue
        for device_id, config in devices.items():
            if device_id == "renderer":
                continue
            config = config if isinstance(config, dict) else {}
            renderer = config.get("renderer") or devices.get("renderer")
            match = config.get("match") if kind in _NETPLAN_MATCH_TYPES else None
            if isinstance(match, dict):
                name = match.get("name")
                if name is not None and fnmatch.fnmatchcase("lo", str(name)):
                    found.append((kind, str(device_id), "match: name: %s" % name, renderer))
                elif not match:
                    found.append((kind, str(device_id), "an empty match: matches every device", renderer))
            elif str(device_id) == "lo":
                found.append((kind, "lo", "%s: lo" % kind, renderer))
    return found


def _netplan_renderer(documents):
    """netplan's global renderer: the last ``network: renderer:`` in file order, else networkd."""
    renderer = "networkd"
    for document in documents:
        network = document.get("network") if isinstance(document, dict) else None
        if isinstance(network, dict) and network.get("renderer"):
            renderer = str(network["renderer"])
    return renderer


def netplan_hazards(files, version=None, load_yaml=None):
    """A netplan YAML file that lists lo (``lo:`` or ``match: name: lo``).

    Rendered to NetworkManager, ``netplan apply`` flushes lo's addresses (netplan PR 159 and 408); rendered to
    systemd-networkd from ``NETWORKD_KEEPS_LO_FROM`` on (``version``) the VIPs stay (info). ``load_yaml``: the YAML
    parser (PyYAML's when installed; one that returns None makes the line heuristics decide).
    """
    found = []
    effective = sysctl_d.effective_files(files, paths.NETPLAN_DIRS, ".yaml")
    documents = [(load_yaml or _load_yaml)(f.text) for f in effective]
    default_renderer = _netplan_renderer([d for d in documents if d is not None])
    for f, document in zip(effective, documents):
        path = sysctl_d.path_of(f)
        if document is not None:
            hits = _netplan_lo_devices(document)
        else:  # no PyYAML: line heuristics
            hits = []
            if _line_of(f.text, r"^\s+lo\s*:\s*(#.*)?$"):
                hits.append(("ethernets", "lo", "lo:", None))
            for number, line in enumerate(f.text.splitlines(), start=1):
                m = re.match(r"^\s+name\s*:\s*[\"']?([^\"'#\s]+)", line)
                if m and fnmatch.fnmatchcase("lo", m.group(1)):
                    hits.append(("ethernets", "?", "match: name: %s" % m.group(1), None))
        for kind, device_id, why, renderer in hits:
            renderer = renderer or default_renderer
            if why.startswith("match"):
                line = _line_of(f.text, r"^\s+name\s*:")
            else:
                line = _line_of(f.text, r"^\s+%s\s*:" % re.escape(device_id))
            if renderer == "networkd" and version is not None and version >= NETWORKD_KEEPS_LO_FROM:
                found.append(hazards_.hazard(
                    "netplan_lists_lo",
                    "netplan config %s takes lo (%s under %s), rendered to systemd-networkd %d, which never drops "
                    "foreign addresses on loopback: the VIPs stay" % (path, why, kind, version),
                    "nothing to do; with the NetworkManager renderer netplan apply would flush lo",
                    severity="info", file=path, line=line, interface="lo"))
                continue
            found.append(hazards_.hazard(
                "netplan_lists_lo",
                "netplan config %s takes lo (%s under %s, renderer %s); the renderer then manages lo and removes "
                "addresses netplan does not list, the VIPs" % (path, why, kind, renderer),
                "remove lo from %s, or list every VIP under its addresses" % path,
                file=path, line=line, interface="lo"))
    return found


def nm_owns_lo(values):
    """Whether a keyfile profile makes NetworkManager own lo's addresses: ``type=loopback``, or any type bound to
    ``interface-name=lo`` (netplan renders its ``lo`` as an ethernet profile), unless it is NetworkManager's own
    snapshot of a device configured outside it (``[.nmmeta] external=true``: it never changes addresses)."""
    def value(section, key, default=""):
        return values.get((section, key), (default, None))[0].strip().lower()
    if value(".nmmeta", "external") in ("true", "yes", "1"):
        return False
    return value("connection", "type") == "loopback" or value("connection", "interface-name") == "lo"


def nm_hazards(files):
    """A NetworkManager keyfile profile that owns lo (``nm_owns_lo``): activating it drops the VIPs."""
    found = []
    for f in sysctl_d.effective_files(files, paths.NM_DIRS, ".nmconnection"):
        path = sysctl_d.path_of(f)
        entries = unit_files.parse_unit(f.text)
        values = dict(((s, k), (v, n)) for s, k, v, n in entries if k)
        if not nm_owns_lo(values):
            continue
        kind = values.get(("connection", "type"), ("", None))
        loopback_type = kind[0].strip().lower() == "loopback"
        line = kind[1] if loopback_type else values[("connection", "interface-name")][1]
        autoconnect = values.get(("connection", "autoconnect"), ("true", None))[0].lower()
        found.append(hazards_.hazard(
            "networkmanager_loopback_profile",
            "NetworkManager profile %s %s%s: when active, NetworkManager owns lo's addresses and drops the VIPs" % (
                path, "has type=loopback" if loopback_type else "is bound to lo (interface-name=lo)",
                "" if autoconnect != "false" else " (autoconnect=false)"),
            "install the boot unit's watch (boot_unit netstack: networkmanager or auto), or delete the profile; "
            "never add the VIPs to it: NetworkManager would add them without the ARP guard",
            file=path, line=line, interface="lo"))
    return found


def ifupdown_hazards(files):
    """An ifupdown stanza for lo (``iface lo inet loopback``): ``ifdown lo``/``ifup lo`` remove the VIPs."""
    for f in files:
        path = sysctl_d.path_of(f)
        for number, line in enumerate(f.text.splitlines(), start=1):
            words = line.split("#", 1)[0].split()
            if len(words) >= 4 and words[0] == "iface" and words[1] == "lo":
                return [hazards_.hazard(
                    "ifupdown_manages_lo",
                    "ifupdown configures lo in %s (iface lo %s %s): ifdown lo and ifup lo remove its other "
                    "addresses, the VIPs" % (path, words[2], words[3]),
                    "install the boot unit's watch (boot_unit netstack: ifupdown or auto), or re-add the VIPs "
                    "after every ifup lo",
                    file=path, line=number, interface="lo")]
    return []


def hazards(networkd=(), networkd_dropins=(), netplan=(), nm=(), ifupdown=(), vips=(), version=None, watched=False):
    """Every network-stack hazard for lo, downgraded to info while the watch runs (``watched_hazard``)."""
    found = []
    found.extend(networkd_hazards(list(networkd), list(networkd_dropins), vips, version))
    found.extend(netplan_hazards(list(netplan), version))
    found.extend(nm_hazards(list(nm)))
    found.extend(ifupdown_hazards(list(ifupdown)))
    return watched_hazard(found, watched)
