# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The ARP rule evaluator: what the kernel will do with a given set of values.

One evaluator serves the fact module's verdict, the loopback_vip guard and
the boot guard, so the same inputs always give the same verdict. It encodes
the rules verified with real ARP traffic (kernel-semantics reference):

* ``arp_ignore``/``arp_announce``/``rp_filter``/``arp_notify``/``arp_accept``
  combine as ``max(all, iface)`` over the raw signed integers; ``arp_filter``,
  ``proxy_arp`` and ``accept_local`` as ``all or iface``;
* effective ``arp_ignore`` 1 and 2 hide a VIP on lo; 3 only hides scope-host
  addresses; 8 hides everything (the real server becomes unreachable);
  0, 4-7, >= 9 and negatives reply;
* effective ``arp_announce`` 2 is safe unless the egress NIC has no IPv4
  address and a VIP is not scope host (then the VIP is the fallback source);
  1 is safe only when no VIP lies in one of the NIC's subnets; anything else
  announces the VIP;
* ``tunl0`` without an IPv4 address needs ``max(all, tunl0).rp_filter == 0``;
  with one, anything but strict (1).

This file is also installed on real servers as the boot guard's library, so
it must stay standard-library only and free of Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

# key -> (combining rule, values accepted as input, kernel default)
KEY_RULES = {
    "arp_ignore": ("max", (0, 1, 2, 3, 8), 0),
    "arp_announce": ("max", (0, 1, 2), 0),
    "rp_filter": ("max", (0, 1, 2), 0),
    "arp_notify": ("max", (0, 1), 0),
    "arp_filter": ("or", (0, 1), 0),
    "accept_local": ("or", (0, 1), 0),
}
KEY_ORDER = ("arp_ignore", "arp_announce", "rp_filter", "arp_filter", "accept_local", "arp_notify")
# Values read for the report; the ones not in KEY_RULES are informational.
INFO_RULES = {"proxy_arp": "or", "arp_accept": "max", "forwarding": "iface"}
READ_KEYS = KEY_ORDER + tuple(sorted(INFO_RULES))

ARP_PROTECTION = {"all": {"arp_ignore": 1, "arp_announce": 2}}
NON_ARP_SLAVE_KINDS = ("bridge", "bond", "team")
MODES = ("dr", "tun")
TUN_DEVICE = "tunl0"

# Violation codes are part of the public API of arp_facts: never rename one.
ARP_CODES = (
    "arp_ignore_leak",
    "arp_ignore_scope",
    "arp_ignore_blackhole",
    "arp_announce_leak",
    "arp_announce_on_subnet",
    "arp_announce_fallback_source",
    "future_interfaces_leak",
)


def reserved_arp_ignore_message(value):
    return (
        "arp_ignore %d is reserved: the kernel treats 4-7 and values above 8 like 0 and "
        "answers ARP for every local address, VIPs included; use 1 (or 2)" % value
    )


def invalid_value_reason(key, value):
    """Why ``value`` is not acceptable for ``key``, or None when it is."""
    if key not in KEY_RULES:
        return "unsupported key %r: supported keys are %s" % (key, ", ".join(KEY_ORDER))
    if isinstance(value, bool) or not isinstance(value, int):
        return "%s must be an integer, got %r" % (key, value)
    allowed = KEY_RULES[key][1]
    if value in allowed:
        return None
    if key == "arp_ignore" and (4 <= value <= 7 or value > 8):
        return reserved_arp_ignore_message(value)
    return "%s must be one of %s, got %d" % (key, ", ".join(str(v) for v in allowed), value)


def combine(rule, all_value, iface_value):
    """Effective value the kernel uses: MAX or OR of the raw ``all`` and interface values."""
    all_value = all_value or 0
    iface_value = iface_value or 0
    if rule == "max":
        return max(all_value, iface_value)
    if rule == "or":
        return int(bool(all_value) or bool(iface_value))
    return iface_value


def arp_facing(interfaces, conf):
    """Names of the interfaces that answer and send ARP for local addresses.

    Interfaces with an IPv4 in_device, minus loopback, NOARP devices and
    bridge/bond ports (ARP is processed on the master). Down ones count: they
    can come up later.
    """
    return sorted(
        iface.name
        for iface in interfaces
        if iface.name in conf
        and not iface.loopback
        and not iface.noarp
        and iface.slave_kind not in NON_ARP_SLAVE_KINDS
    )


def vip_candidates(interfaces, mode):
    """Addresses on lo (and tunl0 in TUN mode) that are not the loopback ones."""
    devices = ("lo", TUN_DEVICE) if mode == "tun" else ("lo",)
    found = []
    for iface in interfaces:
        if iface.name not in devices:
            continue
        for address in iface.addresses:
            if not ipaddress.ip_address(address.local).is_loopback:
                found.append(dict(address._asdict(), device=iface.name))
    return found


def _ipv4_vips(vips):
    return [v for v in vips if ipaddress.ip_address(v["local"]).version == 4]


def judge_arp_ignore(effective, vips):
    """``(verdict, code, note)`` for an effective arp_ignore; verdict is ok, leak or broken."""
    if effective in (1, 2):
        note = "replies only to senders in the interface's own subnets" if effective == 2 else None
        return "ok", None, note
    if effective == 3:
        wide = [v["local"] for v in _ipv4_vips(vips) if v.get("scope") != "host"]
        if not wide:
            return "ok", None, "hides only scope-host addresses; every VIP is scope host"
        return "leak", "arp_ignore_scope", "3 hides only scope-host addresses; not scope host: %s" % ", ".join(wide)
    if effective == 8:
        return "broken", "arp_ignore_blackhole", "8 answers no ARP at all: the real server's own address is unreachable"
    return "leak", "arp_ignore_leak", "the kernel answers ARP for every local address, VIPs included"


def judge_arp_announce(effective, vips, iface_ipv4):
    """``(verdict, code, note)`` for an effective arp_announce on an interface with IPv4 addresses ``iface_ipv4``."""
    ipv4_vips = _ipv4_vips(vips)
    if effective == 2:
        wide = [v["local"] for v in ipv4_vips if v.get("scope") != "host"]
        if not iface_ipv4 and wide:
            return "leak", "arp_announce_fallback_source", (
                "the interface has no IPv4 address, so ARP requests fall back to a VIP as sender: %s" % ", ".join(wide))
        return "ok", None, None
    if effective == 1:
        inside = [
            v["local"] for v in ipv4_vips
            if any(ipaddress.ip_address(v["local"]) in network for network in iface_ipv4)
        ]
        if inside:
            return "leak", "arp_announce_on_subnet", (
                "1 keeps a VIP inside the interface's subnet as ARP sender: %s" % ", ".join(inside))
        return "ok", None, None
    return "leak", "arp_announce_leak", "ARP requests may carry a VIP as sender address"


def _networks(iface, primary_only=True):
    return [
        ipaddress.ip_interface("%s/%d" % (a.local, a.prefixlen)).network
        for a in iface.addresses
        if a.family == "inet" and not (primary_only and a.secondary)
    ]


def _key_report(rule, conf, name, key):
    all_value = conf.get("all", {}).get(key)
    iface_value = conf.get(name, {}).get(key)
    return {
        "all": all_value,
        "default": conf.get("default", {}).get(key),
        "interface": iface_value,
        "effective": combine(rule, all_value, iface_value),
        "rule": rule,
    }


def _violation(code, interface, key, expected, actual, fix, message, severity="error"):
    return {
        "code": code,
        "severity": severity,
        "interface": interface,
        "key": key,
        "expected": expected,
        "actual": actual,
        "fix": fix,
        "message": message,
    }


def _fix_for(key, interface, value, report):
    """The one-line fix: the interface value wins over ``all`` when it is higher (max rule)."""
    if report["interface"] is not None and report["interface"] > (report["all"] or 0):
        return "set net.ipv4.conf.%s.%s = %s: the interface value %d beats all (max rule)" % (
            interface.replace(".", "/"), key, value, report["interface"])
    return "set net.ipv4.conf.all.%s = %s" % (key, value)


def evaluate_interface(iface, conf, vips):
    """Report and violations for one ARP-facing interface."""
    report = {"up": iface.up}
    for key in READ_KEYS:
        rule = KEY_RULES[key][0] if key in KEY_RULES else INFO_RULES[key]
        report[key] = _key_report(rule, conf, iface.name, key)
    violations = []

    ignore = report["arp_ignore"]
    verdict, code, note = judge_arp_ignore(ignore["effective"], vips)
    ignore.update(verdict=verdict, note=note)
    if code:
        fix = ("make every VIP scope host, or " if code == "arp_ignore_scope" else "") + _fix_for(
            "arp_ignore", iface.name, 1, ignore)
        violations.append(_violation(code, iface.name, "arp_ignore", "1 or 2", ignore["effective"], fix, note))

    announce = report["arp_announce"]
    verdict, code, note = judge_arp_announce(announce["effective"], vips, _networks(iface))
    announce.update(verdict=verdict, note=note)
    if code:
        fix = {
            "arp_announce_fallback_source": "give %s an IPv4 address or make every VIP scope host" % iface.name,
        }.get(code) or _fix_for("arp_announce", iface.name, 2, announce)
        violations.append(_violation(code, iface.name, "arp_announce", 2, announce["effective"], fix, note))

    if ignore["verdict"] != "ok" and report["arp_filter"]["effective"]:
        report["arp_filter"]["note"] = "arp_filter does not hide VIPs on lo; it is no substitute for arp_ignore"
    return report, violations


def evaluate(conf, interfaces, mode="dr", expected_vips=None, judge=None):
    """Evaluate a host.

    ``conf``: interface name (plus ``all`` and ``default``) -> {key: raw int}.
    ``interfaces``: ``_iproute.Interface`` tuples (``ip -j -d addr``).
    ``expected_vips``: optional list of addresses that must be present.
    ``judge``: optional list of interface names to restrict the per-interface verdict to.
    Returns the report dict that arp_facts publishes.
    """
    if mode not in MODES:
        raise ValueError("mode must be one of %s, got %r" % (", ".join(MODES), mode))
    by_name = dict((iface.name, iface) for iface in interfaces)
    facing = arp_facing(interfaces, conf)
    if judge:
        facing = [name for name in facing if name in judge]
    vips = vip_candidates(interfaces, mode)
    violations = []
    warnings = []
    report_ifaces = {}
    for name in facing:
        report_ifaces[name], found = evaluate_interface(by_name[name], conf, vips)
        violations.extend(found)
        if report_ifaces[name]["proxy_arp"]["effective"] and report_ifaces[name]["forwarding"]["effective"]:
            warnings.append("%s: proxy_arp with forwarding on a real server answers ARP for other hosts" % name)

    violations.extend(_vip_violations(vips, interfaces, facing, expected_vips, mode))
    if mode == "tun":
        violations.extend(_tun_violations(by_name.get(TUN_DEVICE), conf))

    future = future_interfaces(conf)
    if not future["protected"] and not facing:
        # Nothing to judge yet (early boot, NIC driver not loaded): the first interface would leak.
        violations.append(_violation(
            "future_interfaces_leak", "default", "arp_ignore/arp_announce", "1 or 2 / 2", future["detail"],
            "set net.ipv4.conf.all.arp_ignore = 1 and net.ipv4.conf.all.arp_announce = 2",
            "no ARP-facing interface exists yet and interfaces created later would start with %s" % future["detail"]))
    elif not future["protected"]:
        warnings.append("interfaces created later (VLANs, bonds) would start with %s" % future["detail"])

    exposed = bool(_ipv4_vips(vips)) and any(v["code"] in ARP_CODES for v in violations)
    if exposed:
        violations.insert(0, _violation(
            "vip_exposed", None, None, "no ARP leak while a VIP exists",
            ", ".join(v["local"] for v in _ipv4_vips(vips)),
            "fix the ARP violations below, then have the director send a gratuitous ARP for each VIP",
            "VIP present while ARP would leak: neighbours may already map the VIP to this host",
            severity="critical"))
    state = "exposed" if exposed else ("non_compliant" if violations else "compliant")
    return {
        "mode": mode,
        "compliant": not violations,
        "state": state,
        "violations": violations,
        "warnings": warnings,
        "interfaces": report_ifaces,
        "arp_facing": facing,
        "vips": vips,
        "future_interfaces": future,
        "conf_all": dict((k, conf.get("all", {}).get(k)) for k in READ_KEYS),
        "conf_default": dict((k, conf.get("default", {}).get(k)) for k in READ_KEYS),
    }


def future_interfaces(conf):
    """How an interface created from now on starts: ``max(all, default)`` for the ARP keys."""
    ignore = combine("max", conf.get("all", {}).get("arp_ignore"), conf.get("default", {}).get("arp_ignore"))
    announce = combine("max", conf.get("all", {}).get("arp_announce"), conf.get("default", {}).get("arp_announce"))
    protected = judge_arp_ignore(ignore, [])[0] == "ok" and announce == 2
    return {
        "protected": protected,
        "arp_ignore": ignore,
        "arp_announce": announce,
        "detail": "arp_ignore %d and arp_announce %d" % (ignore, announce),
    }


def _vip_violations(vips, interfaces, facing, expected_vips, mode):
    violations = []
    allowed_devices = ("lo", TUN_DEVICE) if mode == "tun" else ("lo",)
    for vip in vips:
        host_bits = ipaddress.ip_address(vip["local"]).max_prefixlen
        if vip["prefixlen"] != host_bits:
            violations.append(_violation(
                "vip_prefix", vip["device"], None, "/%d" % host_bits, "/%d" % vip["prefixlen"],
                "replace %s/%d with %s/%d" % (vip["local"], vip["prefixlen"], vip["local"], host_bits),
                "a /%d on %s makes the whole subnet local, gateway included" % (vip["prefixlen"], vip["device"])))
    if expected_vips:
        present = dict((v["local"], v) for v in vips)
        elsewhere = dict(
            (a.local, iface.name)
            for iface in interfaces if iface.name in facing
            for a in iface.addresses
        )
        for wanted in expected_vips:
            address = str(ipaddress.ip_interface(wanted).ip)
            if address in elsewhere:
                violations.append(_violation(
                    "vip_on_arp_interface", elsewhere[address], None, "/".join(allowed_devices), elsewhere[address],
                    "move %s to lo" % address, "a VIP on an ARP-facing interface is announced by the kernel"))
            elif address not in present:
                violations.append(_violation(
                    "vip_missing", None, None, "present on %s" % "/".join(allowed_devices), "absent",
                    "add %s with lvs.realserver.loopback_vip" % address, "an expected VIP is not configured"))
    return violations


def has_ipv4(iface):
    return any(a.family == "inet" for a in iface.addresses)


def effective_rp_filter(conf, name):
    """``max(all, name).rp_filter``, the value the kernel's source validation uses."""
    return combine("max", conf.get("all", {}).get("rp_filter"), conf.get(name, {}).get("rp_filter"))


def rp_filter_drops_asymmetric(effective, numbered):
    """Whether source validation drops a packet whose route back leaves through another interface.

    Strict mode (exactly 1) always does; loose mode (any other non-zero value)
    does too on an interface without an IPv4 address (``__fib_validate_source``:
    ``no_addr`` goes to ``last_resort``, which fails for any non-zero value).
    That is why TUN needs 0 on an unnumbered tunl0 and DR must not be strict
    on an interface the default route avoids.
    """
    return effective == 1 or (not numbered and effective != 0)


def _tun_violations(tunl0, conf):
    if tunl0 is None:
        return [_violation("tun_device_missing", TUN_DEVICE, None, "present", "absent",
                           "load the ipip module (modules-load.d) so tunl0 exists",
                           "LVS-TUN needs tunl0 to decapsulate the director's IPIP packets")]
    violations = []
    if not tunl0.up:
        violations.append(_violation("tun_device_down", TUN_DEVICE, None, "up", "down", "ip link set tunl0 up",
                                     "tunl0 only receives IPIP packets while it is up"))
    effective = effective_rp_filter(conf, TUN_DEVICE)
    numbered = has_ipv4(tunl0)
    if rp_filter_drops_asymmetric(effective, numbered):
        expected = "not 1" if numbered else 0
        violations.append(_violation(
            "tun_rp_filter", TUN_DEVICE, "rp_filter", expected, effective,
            "set net.ipv4.conf.all.rp_filter = 0 and net.ipv4.conf.tunl0.rp_filter = 0",
            "reverse-path filtering drops the decapsulated packets (max(all, tunl0) = %d%s)" % (
                effective, "" if numbered else ", and tunl0 has no IPv4 address")))
    return violations


def with_vips(interfaces, device, addresses):
    """The interfaces as they will be once ``addresses`` (``_iproute.Address``) are on ``device``."""
    return [
        iface._replace(addresses=list(iface.addresses) + [a for a in addresses if a not in iface.addresses])
        if iface.name == device else iface
        for iface in interfaces
    ]


def guard_violations(report):
    """The violations that must stop an IPv4 VIP from being added (the ARP ones)."""
    return [v for v in report["violations"] if v["code"] in ARP_CODES]
