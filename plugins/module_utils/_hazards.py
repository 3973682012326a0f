# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Configuration that can undo the protection later, other than a network stack owning lo (``_netstack_config``).

A VIP on an ARP-facing interface, ``rp_filter`` breaking LVS-TUN or dropping
DR clients' packets when the default route leaves through another interface,
``/etc/sysctl.conf`` read differently by procps, a sysctl.d value that is not
an integer. Pure functions; each hazard names the file, the line and a fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from collections import namedtuple

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model as boot_model
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _routes
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

Hazard = namedtuple("Hazard", "code severity file line interface message fix")


def hazard(code, message, fix, severity="warning", file=None, line=None, interface=None):
    return Hazard(code, severity, file, line, interface, message, fix)._asdict()


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
    boot_all = model.expected("all", "rp_filter").value
    all_entry = boot[sysctl_d.conf_name("all", "rp_filter")]
    if _breaks_tun(live_all, 0, tunl0) or _breaks_tun(boot_all, 0, tunl0):
        where = ("%s:%s sets it to %s for the next boot" % (all_entry["file"], all_entry["line"], boot_all)
                 if all_entry["file"] else "no sysctl.d file sets it")
        found.append(hazard(
            "all_rp_filter_breaks_tun",
            "net.ipv4.conf.all.rp_filter is %s now (%s); the kernel uses max(all, tunl0), so tunl0's own "
            "value cannot undo it and decapsulated packets are dropped" % (live_all, where),
            "set net.ipv4.conf.all.rp_filter = 0 in a sysctl.d file that sorts last (lvs.realserver.arp_sysctl)",
            severity="error", file=all_entry["file"], line=all_entry["line"], interface=rules.TUN_DEVICE))
    source = model.expected(rules.TUN_DEVICE, "rp_filter")
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


def _rp_filter_fix(name, numbered):
    key = sysctl_d.conf_name(name, "rp_filter")
    if numbered:
        return ("set %s = 2 (loose) in a sysctl.d file that sorts last, or net.ipv4.conf.all.rp_filter = 2 for "
                "every interface: the kernel uses max(all, %s), so a 2 on either side beats a 1, while 0 does not"
                % (key, name))
    return ("set %s = 0 and net.ipv4.conf.all.rp_filter = 0 (the kernel uses max(all, %s), and without an IPv4 "
            "address only 0 lets the packet in), or give %s an IPv4 address and use 2" % (key, name, name))


def dr_rp_filter_hazards(report, interfaces, default_routes, conf, model, after_boot):
    """DR: reverse-path filtering that drops clients' packets on an ARP-facing interface the default route avoids.

    The director forwards a client's packet to a VIP unchanged, so it arrives
    with the client's source on the interface facing the director. If the route
    back to the client (the default route) leaves through another interface,
    ``max(all, I).rp_filter`` == 1 drops it (any non-zero value when I has no
    IPv4 address). Which interfaces VIP traffic arrives on cannot be known, so
    every ARP-facing interface that carries no preferred default route is
    checked, now and with the boot values (``after_boot``: ``_boot_model.boot_conf``; and today's routes).
    """
    routes_out = _routes.preferred_default_interfaces(default_routes or [])
    if not routes_out:
        return []
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
            source = model.expected(blamed, "rp_filter")
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
        for key in boot_model.BOOT_KEYS:
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
