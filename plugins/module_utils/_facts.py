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
file and line deciding each key from the shared resolver (``_sysctl_d``) and
the boot values from the boot model (``_boot_model``); this file only adds:

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

import fnmatch
import ipaddress
import os
import re
from collections import namedtuple

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model as boot_model
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

FACTS_KEY = "lvs_realserver"
FACTS_VERSION = 1
BOOT_KEYS = ("arp_ignore", "arp_announce", "rp_filter")
SPECIAL = ("all", "default")

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

ConfigFile = namedtuple("ConfigFile", "directory name masked text")
"""A file found in a configuration directory; ``masked``: a symlink to /dev/null (or, for networkd, empty)."""

DropIn = namedtuple("DropIn", "unit directory name masked text")
"""``<directory>/<unit>.d/<name>`` for a networkd unit file named ``unit``."""

Hazard = namedtuple("Hazard", "code severity file line interface message fix")


def hazard(code, message, fix, severity="warning", file=None, line=None, interface=None):
    return Hazard(code, severity, file, line, interface, message, fix)._asdict()


# --------------------------------------------------------------------------
# boot values and drift
# --------------------------------------------------------------------------

def boot_names(report, mode):
    """Interfaces whose keys the boot report covers: all, default, every ARP-facing one, tunl0 in TUN mode."""
    names = list(SPECIAL) + [n for n in report["arp_facing"] if n not in SPECIAL]
    if mode == "tun" and rules.TUN_DEVICE not in names:
        names.append(rules.TUN_DEVICE)
    return names


def boot_report(resolution, names, keys=BOOT_KEYS):
    """``{dotted name: {value, file, line}}``; value, file and line are None where nothing sets the key.

    A winning line whose value is not an integer has ``value`` None but keeps
    its file and line (systemd-sysctl fails to write it).
    """
    return dict(
        (sysctl_d.dotted_key(sysctl_d.conf_key(name, key)), sysctl_d.boot_entry(resolution, sysctl_d.conf_key(name, key)))
        for name in names for key in keys)


def predict_boot(resolution, report, interfaces, mode):
    """``(predictions, model)``: the boot model's ``Prediction`` list and ``{name: {key: Prediction}}``.

    Covers ``boot_model.prediction_names`` (a superset of ``boot_names``).
    """
    present = [iface.name for iface in interfaces]
    found = boot_model.predictions(
        resolution, boot_model.prediction_names(report["arp_facing"], present, mode))
    return found, boot_model.by_interface(found)


def drift(conf, model, names):
    """Keys whose running value is none of the values they can get at the next boot (in ``names`` order).

    An order-dependent key (``boot_model.Prediction.order_dependent``) drifts
    only when the running value is neither its ``early`` nor its ``late``
    value; ``boot``, ``basis``, ``file`` and ``line`` describe the expected
    (``late``) value.
    """
    found = []
    for name in names:
        for key in BOOT_KEYS:
            live = conf.get(name, {}).get(key)
            prediction = model[name][key]
            if not prediction.drifts(live):
                continue
            source = prediction.expected
            found.append({
                "name": sysctl_d.dotted_key(sysctl_d.conf_key(name, key)),
                "interface": name,
                "key": key,
                "live": live,
                "boot": source.value,
                "basis": source.basis,
                "file": source.file,
                "line": source.line,
            })
    return found


def boot_conf(conf, model, early=False):
    """The ``/proc`` picture after a reboot (``_boot_model.boot_conf``, shared with the metrics controller)."""
    return boot_model.boot_conf(conf, model, early)


def order_warnings(conf, interfaces, mode, expected_vips, judge, model, verdict):
    """Violations the boot values would have only if interfaces already had an address when systemd-sysctl ran.

    ``verdict`` is the ``at_boot`` report (expected values). One warning per
    violation that the early picture adds, naming the order-dependent keys.
    """
    early = rules.evaluate(boot_conf(conf, model, early=True), interfaces, mode, expected_vips, judge)
    seen = set((v["code"], v["interface"], v["key"]) for v in verdict["violations"])
    found = []
    for v in early["violations"]:
        if (v["code"], v["interface"], v["key"]) in seen:
            continue
        prediction = model.get(v["interface"] or "", {}).get(v["key"] or "")
        if prediction is None or not prediction.order_dependent:
            continue
        found.append(
            "at_boot: %s %s is %s only by inheriting net.ipv4.conf.default.%s; if %s has an IPv4 address before "
            "systemd-sysctl runs (set up by the initramfs) it keeps %s and %s (%s); set net.ipv4.conf.all.%s or "
            "net.ipv4.conf.%s.%s in sysctl.d" % (
                v["interface"], v["key"], prediction.late.value, v["key"], v["interface"], prediction.early.value,
                v["code"], v["message"], v["key"], sysctl_d.dotted_key(v["interface"]), v["key"]))
    return found


def at_boot(conf, interfaces, mode, expected_vips, judge, model):
    """The evaluator's verdict over the boot values (same interfaces and VIPs as now)."""
    report = rules.evaluate(boot_conf(conf, model), interfaces, mode, expected_vips, judge)
    return {
        "compliant": report["compliant"],
        "state": report["state"],
        "violations": report["violations"],
        "future_interfaces": report["future_interfaces"],
    }


# --------------------------------------------------------------------------
# network managers that would remove VIPs from lo
# --------------------------------------------------------------------------

def effective_files(files, directories, suffix):
    """One entry per name (the highest-priority directory wins), masked ones dropped, in name order."""
    rank = dict((d, i) for i, d in enumerate(directories))
    chosen = {}
    for f in files:
        if not f.name.endswith(suffix):
            continue
        current = chosen.get(f.name)
        if current is None or rank.get(f.directory, len(rank)) < rank.get(current.directory, len(rank)):
            chosen[f.name] = f
    return [chosen[name] for name in sorted(chosen) if not chosen[name].masked]


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


def _network_matches_lo(entries):
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
    for unit in effective_files(files, NETWORKD_DIRS, ".network"):
        path = os.path.join(unit.directory, unit.name)
        entries = parse_unit(unit.text)
        extra = effective_files(
            [ConfigFile(d.directory, d.name, d.masked, d.text) for d in dropins if d.unit == unit.name],
            tuple(os.path.join(x, unit.name + ".d") for x in NETWORKD_DIRS), ".conf")
        for d in extra:
            entries.extend(parse_unit(d.text))
        matches, line, reason = _network_matches_lo(entries)
        if not matches:
            continue
        kept = _networkd_keeps_vips(entries, vips)
        if not kept and version is not None and version >= NETWORKD_KEEPS_LO_FROM:
            kept = "systemd %d never drops foreign addresses on loopback" % version
        if kept:
            return [hazard(
                "networkd_manages_lo",
                "systemd-networkd manages lo through %s (%s); VIPs survive because %s" % (path, reason, kept),
                "keep the VIPs declared there (or KeepConfiguration=static), or stop matching lo",
                severity="info", file=path, line=line, interface="lo")]
        return [hazard(
            "networkd_manages_lo",
            "systemd-networkd manages lo through %s (%s) and removes foreign addresses, the VIPs, "
            "when it starts, reloads or reconfigures" % (path, reason),
            "exclude lo from %s ([Match] Name=!lo or a narrower Name=), or declare every VIP there "
            "with Address=, or set KeepConfiguration=static" % path,
            file=path, line=line, interface="lo")]
    return []


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


def netplan_hazards(files, version=None):
    """A netplan YAML file that lists lo (``lo:`` or ``match: name: lo``).

    Rendered to NetworkManager, ``netplan apply`` flushes lo's addresses (netplan PR 159 and 408); rendered to
    systemd-networkd from ``NETWORKD_KEEPS_LO_FROM`` on (``version``) the VIPs stay (info).
    """
    found = []
    effective = effective_files(files, NETPLAN_DIRS, ".yaml")
    documents = [_load_yaml(f.text) for f in effective]
    default_renderer = _netplan_renderer([d for d in documents if d is not None])
    for f, document in zip(effective, documents):
        path = os.path.join(f.directory, f.name)
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
                found.append(hazard(
                    "netplan_lists_lo",
                    "netplan config %s takes lo (%s under %s), rendered to systemd-networkd %d, which never drops "
                    "foreign addresses on loopback: the VIPs stay" % (path, why, kind, version),
                    "nothing to do; with the NetworkManager renderer netplan apply would flush lo",
                    severity="info", file=path, line=line, interface="lo"))
                continue
            found.append(hazard(
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
    for f in effective_files(files, NM_DIRS, ".nmconnection"):
        path = os.path.join(f.directory, f.name)
        entries = parse_unit(f.text)
        values = dict(((s, k), (v, n)) for s, k, v, n in entries if k)
        if not nm_owns_lo(values):
            continue
        kind = values.get(("connection", "type"), ("", None))
        loopback_type = kind[0].strip().lower() == "loopback"
        line = kind[1] if loopback_type else values[("connection", "interface-name")][1]
        autoconnect = values.get(("connection", "autoconnect"), ("true", None))[0].lower()
        found.append(hazard(
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
        path = os.path.join(f.directory, f.name)
        for number, line in enumerate(f.text.splitlines(), start=1):
            words = line.split("#", 1)[0].split()
            if len(words) >= 4 and words[0] == "iface" and words[1] == "lo":
                return [hazard(
                    "ifupdown_manages_lo",
                    "ifupdown configures lo in %s (iface lo %s %s): ifdown lo and ifup lo remove its other "
                    "addresses, the VIPs" % (path, words[2], words[3]),
                    "install the boot unit's watch (boot_unit netstack: ifupdown or auto), or re-add the VIPs "
                    "after every ifup lo",
                    file=path, line=number, interface="lo")]
    return []


# --------------------------------------------------------------------------
# other hazards
# --------------------------------------------------------------------------

def vip_hazards(report, interfaces, expected_vips):
    """A VIP (found on lo/tunl0, or expected) that is also on an ARP-facing interface."""
    wanted = set(v["local"] for v in report["vips"])
    for text in expected_vips or []:
        wanted.add(str(ipaddress.ip_interface(text).ip))
    found = []
    for iface in interfaces:
        if iface.name not in report["arp_facing"]:
            continue
        for a in iface.addresses:
            if a.local in wanted:
                found.append(hazard(
                    "vip_on_arp_interface",
                    "VIP %s/%d is on %s, an ARP-facing interface: the kernel answers ARP for it and "
                    "announces it whatever arp_ignore says" % (a.local, a.prefixlen, iface.name),
                    "ip addr del %s/%d dev %s; keep VIPs on lo only" % (a.local, a.prefixlen, iface.name),
                    severity="error", interface=iface.name))
    return found


def _tunl0_stand_in(interfaces):
    """tunl0 as it is now, or (not loaded yet) as it comes up: UP, unnumbered."""
    for iface in interfaces:
        if iface.name == rules.TUN_DEVICE:
            return iface
    return _iproute.Interface(rules.TUN_DEVICE, True, False, True, "ipip", None, None, [])


def _breaks_tun(all_value, tunl0_value, tunl0):
    """Whether max(all, tunl0).rp_filter drops decapsulated packets (the evaluator's tun_rp_filter rule)."""
    return rules.rp_filter_drops_asymmetric(rules.combine("max", all_value, tunl0_value), rules.has_ipv4(tunl0))


def tun_hazards(conf, interfaces, boot, model):
    """``rp_filter`` that breaks LVS-TUN: ``all`` (max rule) now or at boot, and tunl0's boot value."""
    tunl0 = _tunl0_stand_in(interfaces)
    found = []
    live_all = conf.get("all", {}).get("rp_filter")
    boot_all = model["all"]["rp_filter"].expected.value
    all_entry = boot[sysctl_d.dotted_key(sysctl_d.conf_key("all", "rp_filter"))]
    if _breaks_tun(live_all, 0, tunl0) or _breaks_tun(boot_all, 0, tunl0):
        where = ("%s:%s sets it to %s for the next boot" % (all_entry["file"], all_entry["line"], boot_all)
                 if all_entry["file"] else "no sysctl.d file sets it")
        found.append(hazard(
            "all_rp_filter_breaks_tun",
            "net.ipv4.conf.all.rp_filter is %s now (%s); the kernel uses max(all, tunl0), so tunl0's own "
            "value cannot undo it and decapsulated packets are dropped" % (live_all, where),
            "set net.ipv4.conf.all.rp_filter = 0 in a sysctl.d file that sorts last (lvs.realserver.arp_sysctl)",
            severity="error", file=all_entry["file"], line=all_entry["line"], interface=rules.TUN_DEVICE))
    source = model[rules.TUN_DEVICE]["rp_filter"].expected
    tun_value, file, line = source.value, source.file, source.line
    if _breaks_tun(0, tun_value, tunl0):
        if source.basis == boot_model.DEFAULT:
            how = "inherited from net.ipv4.conf.default.rp_filter (%s:%s)" % (file, line)
        else:
            how = "set by %s:%s" % (file, line)
        found.append(hazard(
            "tunl0_rp_filter_at_boot",
            "tunl0 gets rp_filter %s at boot (%s), which drops the decapsulated packets" % (tun_value, how),
            "add an explicit net.ipv4.conf.tunl0.rp_filter = 0 (explicit keys beat globs such as *.rp_filter)",
            severity="error", file=file, line=line, interface=rules.TUN_DEVICE))
    return found


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


def _rp_filter_fix(name, numbered):
    key = sysctl_d.dotted_key(sysctl_d.conf_key(name, "rp_filter"))
    if numbered:
        return ("set %s = 2 (loose) in a sysctl.d file that sorts last, or net.ipv4.conf.all.rp_filter = 2 for "
                "every interface: the kernel uses max(all, %s), so a 2 on either side beats a 1, while 0 does not"
                % (key, name))
    return ("set %s = 0 and net.ipv4.conf.all.rp_filter = 0 (the kernel uses max(all, %s), and without an IPv4 "
            "address only 0 lets the packet in), or give %s an IPv4 address and use 2" % (key, name, name))


def dr_rp_filter_hazards(report, interfaces, default_routes, conf, model):
    """DR: reverse-path filtering that drops clients' packets on an ARP-facing interface the default route avoids.

    The director forwards a client's packet to a VIP unchanged, so it arrives
    with the client's source on the interface facing the director. If the route
    back to the client (the default route) leaves through another interface,
    ``max(all, I).rp_filter`` == 1 drops it (any non-zero value when I has no
    IPv4 address). Which interfaces VIP traffic arrives on cannot be known, so
    every ARP-facing interface that carries no preferred default route is
    checked, now and with the boot values (and today's routes).
    """
    routes_out = preferred_default_interfaces(default_routes or [])
    if not routes_out:
        return []
    after_boot = boot_conf(conf, model)
    by_name = dict((iface.name, iface) for iface in interfaces)
    found = []
    for name in report["arp_facing"]:
        if name in routes_out:
            continue
        numbered = rules.has_ipv4(by_name[name])
        now, at_next_boot = rules.effective_rp_filter(conf, name), rules.effective_rp_filter(after_boot, name)
        drops_at_boot = rules.rp_filter_drops_asymmetric(at_next_boot, numbered)
        if not (rules.rp_filter_drops_asymmetric(now, numbered) or drops_at_boot):
            continue
        file, line = None, None
        if drops_at_boot:
            blamed = "all" if after_boot["all"].get("rp_filter", 0) >= after_boot[name].get("rp_filter", 0) else name
            source = model[blamed]["rp_filter"].expected
            file, line = source.file, source.line
        filtering = "strict reverse-path filtering on %s" % name if numbered else (
            "reverse-path filtering on %s, which has no IPv4 address (so even loose mode drops)" % name)
        found.append(hazard(
            "dr_rp_filter_asymmetric",
            "%s: max(all, %s).rp_filter is %s now and %s after the next boot%s, while the default route leaves "
            "through %s, so a client's packet to a VIP that arrives on %s (as the director forwards it) is "
            "dropped: the route back to the client does not leave through %s" % (
                filtering, name, now, at_next_boot, " (%s:%s)" % (file, line) if file else "",
                " and ".join(routes_out), name, name),
            _rp_filter_fix(name, numbered),
            file=file, line=line, interface=name))
    return found


def sysctl_conf_hazards(systemd, procps, names):
    """Keys that procps ``sysctl --system`` resolves differently because it reads /etc/sysctl.conf last."""
    found = []
    for name in names:
        for key in BOOT_KEYS:
            slash = sysctl_d.conf_key(name, key)
            theirs = procps.winner(slash)
            ours = systemd.winner(slash)
            if theirs is None or theirs.path != sysctl_d.SYSCTL_CONF:
                continue
            if ours is not None and (ours.path, ours.line) == (theirs.path, theirs.line):
                continue
            if ours is not None and sysctl_d.int_value(ours.value) == sysctl_d.int_value(theirs.value):
                continue
            found.append(hazard(
                "sysctl_conf_overrides",
                "%s = %s in %s:%d wins with 'sysctl --system' (procps reads /etc/sysctl.conf last), but "
                "systemd-sysctl at boot gives %s" % (
                    sysctl_d.dotted_key(slash), theirs.value, theirs.path, theirs.line,
                    "%s from %s:%d" % (ours.value, ours.path, ours.line) if ours else "nothing"),
                "remove the line from /etc/sysctl.conf, or give it the same value",
                file=theirs.path, line=theirs.line))
    return found


def bad_value_hazards(boot):
    found = []
    for name in sorted(boot):
        entry = boot[name]
        if entry["file"] is not None and entry["value"] is None:
            found.append(hazard(
                "sysctl_bad_value",
                "%s is set to a value that is not an integer: systemd-sysctl fails on it and the key "
                "keeps its previous value" % name,
                "fix or remove the line",
                file=entry["file"], line=entry["line"]))
    return found


# --------------------------------------------------------------------------
# the whole report
# --------------------------------------------------------------------------

def assemble(conf, interfaces, mode="dr", expected_vips=None, judge=None, candidates=(),
             sysctl_conf_text=None, networkd=(), networkd_dropins=(), netplan=(), nm=(),
             unreadable=(), collected_at=None, default_routes=None, boot_interfaces=None, watched=False,
             systemd_version=None, ifupdown=()):
    """Build ``ansible_facts['lvs_realserver']``.

    ``conf``: ``_runtime.read_conf(rules.READ_KEYS)``; ``interfaces``:
    ``_iproute.parse_addr_json(...)``; ``candidates``:
    ``_sysctl_d.read_candidates()``; ``networkd``/``netplan``/``nm``:
    ``ConfigFile`` tuples; ``networkd_dropins``: ``DropIn`` tuples;
    ``unreadable``: paths that could not be read (reported, not fatal);
    ``boot_interfaces``: the topology ``at_boot`` judges, when it differs from
    now (the VIPs the boot unit adds on a host whose runtime was skipped);
    ``watched``: the boot unit's watch (``lvs-realserver-watch.service``) is running, so a stack that removes
    the VIPs from lo is no hazard (info); ``systemd_version``: of systemd-networkd (None: unknown).
    """
    report = rules.evaluate(conf, interfaces, mode, expected_vips, judge)
    for name, keys in report["interfaces"].items():
        for key, values in keys.items():
            if isinstance(values, dict) and "rule" in values:
                values["default"] = conf.get("default", {}).get(key)

    systemd = sysctl_d.resolve(sysctl_d.boot_files(list(candidates)))
    names = boot_names(report, mode)
    boot = boot_report(systemd, names)
    predictions, model = predict_boot(systemd, report, interfaces, mode)

    hazards = []
    hazards.extend(watched_hazard(networkd_hazards(list(networkd), list(networkd_dropins), report["vips"],
                                                   systemd_version), watched))
    hazards.extend(watched_hazard(netplan_hazards(list(netplan), systemd_version), watched))
    hazards.extend(watched_hazard(nm_hazards(list(nm)), watched))
    hazards.extend(watched_hazard(ifupdown_hazards(list(ifupdown)), watched))
    hazards.extend(vip_hazards(report, interfaces, expected_vips))
    if mode == "tun":
        hazards.extend(tun_hazards(conf, interfaces, boot, model))
    else:
        hazards.extend(dr_rp_filter_hazards(report, interfaces, default_routes, conf, model))
    if sysctl_conf_text is not None:
        procps = sysctl_d.resolve(sysctl_d.boot_files(list(candidates), sysctl_conf_text))
        hazards.extend(sysctl_conf_hazards(systemd, procps, names))
    hazards.extend(bad_value_hazards(boot))

    warnings = list(report["warnings"])
    warnings.extend(
        "%s: not an ARP-facing interface here (absent, loopback, NOARP or a bridge/bond port), not judged" % name
        for name in (judge or []) if name not in report["arp_facing"])
    warnings.extend("%s:%d: ignored at boot: %s" % (p.path, p.line, p.reason) for p in systemd.problems)
    warnings.extend("%s: not readable, hazards there are not checked" % path for path in unreadable)
    boot_topology = interfaces if boot_interfaces is None else boot_interfaces
    verdict_at_boot = at_boot(conf, boot_topology, mode, expected_vips, judge, model)
    warnings.extend(order_warnings(conf, boot_topology, mode, expected_vips, judge, model, verdict_at_boot))

    report.update(
        facts_version=FACTS_VERSION,
        collected_at=collected_at,
        warnings=warnings,
        boot=boot,
        boot_tool="systemd-sysctl",
        boot_prediction=[boot_model.as_fact(p) for p in predictions],
        drift=drift(conf, model, names),
        at_boot=verdict_at_boot,
        hazards=hazards,
        hazard_count=len([h for h in hazards if h["severity"] != "info"]),
    )
    return report
