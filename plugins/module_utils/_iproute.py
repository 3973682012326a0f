# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""``ip -j`` parsing, VIP and interface-name validation, and ``ip`` argv builders.

Pure functions only (standard library), shared by the modules and the boot guard.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re
from collections import namedtuple

Interface = namedtuple("Interface", "name up loopback noarp link_kind slave_kind master addresses")
Address = namedtuple("Address", "family local prefixlen scope label secondary preferred_life_time")

IFNAMSIZ = 16
LABEL_MAX = 15
# matched with fullmatch: '$' would also match before a final newline
_IFNAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_LABEL_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*")
_VIP_RE = re.compile(r"[0-9A-Fa-f:.]+(/[0-9]+)?")
FOREVER = 4294967295


def address(local, prefixlen, scope="global", label=None, family=None, secondary=False, preferred_life_time=FOREVER):
    """Build an ``Address``; the family follows from ``local`` when not given."""
    if family is None:
        family = "inet" if ipaddress.ip_address(local).version == 4 else "inet6"
    return Address(family, local, prefixlen, scope, label, secondary, preferred_life_time)


def parse_addr_json(text):
    """Parse ``ip -j [-d] addr show`` output into ``Interface`` tuples.

    Entries without ``local`` (iproute2 prints ``{}`` for addresses a filter
    dropped) are skipped.
    """
    interfaces = []
    for entry in json.loads(text or "[]"):
        if not entry.get("ifname"):
            continue
        flags = entry.get("flags", [])
        linkinfo = entry.get("linkinfo") or {}
        addresses = [
            Address(
                info.get("family"),
                info["local"],
                int(info.get("prefixlen", 0)),
                info.get("scope", "global"),
                info.get("label"),
                bool(info.get("secondary") or info.get("temporary")),
                info.get("preferred_life_time", FOREVER),
            )
            for info in entry.get("addr_info", [])
            if info.get("local") and info.get("family") in ("inet", "inet6")
        ]
        interfaces.append(Interface(
            name=entry["ifname"],
            up="UP" in flags,
            loopback="LOOPBACK" in flags,
            noarp="NOARP" in flags,
            link_kind=linkinfo.get("info_kind"),
            slave_kind=linkinfo.get("info_slave_kind"),
            master=entry.get("master"),
            addresses=addresses,
        ))
    return interfaces


def interface_name_error(name):
    """Why ``name`` cannot be a Linux interface name we write into a sysctl key, or None."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) >= IFNAMSIZ:
        return "is %d characters long; Linux interface names have at most %d" % (len(name), IFNAMSIZ - 1)
    if name in (".", ".."):
        return "is not a valid interface name"
    if not _IFNAME_RE.fullmatch(name):
        return "may only contain letters, digits, '_', '-' and '.' (no '/', ':', whitespace or shell characters)"
    return None


def label_error(label, device):
    """Why ``label`` cannot be an IPv4 address label on ``device``, or None."""
    if not isinstance(label, str) or not label:
        return "must be a non-empty string"
    if len(label) > LABEL_MAX:
        return "is %d characters long; the kernel allows at most %d" % (len(label), LABEL_MAX)
    if not _LABEL_RE.fullmatch(label):
        return "may only contain letters, digits, '_', '-', '.' and ':'"
    if not label.startswith(device):
        return "must start with the device name %r (older iproute2 and ifconfig require it)" % device
    return None


def parse_vip(text):
    """Parse a VIP given as ``address`` or ``address/prefix``.

    Returns ``(ip_address, prefixlen)`` or raises ValueError with a message
    that explains why the VIP is unsafe.
    """
    text = str(text).strip(" ")  # spaces around it (YAML) only: a newline or tab is refused below
    if "%" in text:
        raise ValueError("has a '%zone' suffix; a VIP is a global address on lo or tunl0 and takes no zone (scope id)")
    if not _VIP_RE.fullmatch(text):
        raise ValueError("is not an IPv4 or IPv6 address (only hex digits, '.', ':' and one '/prefix'; "
                         "no whitespace, newline or other characters)")
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError("is not an IPv4 or IPv6 address")
    ip = iface.ip
    host_bits = ip.max_prefixlen
    if "/" in text and iface.network.prefixlen != host_bits:
        raise ValueError(
            "has prefix length /%d; a VIP must be /%d: on lo any shorter prefix turns the whole "
            "subnet, gateway included, into local addresses" % (iface.network.prefixlen, host_bits))
    if ip.version == 6 and ip.ipv4_mapped is not None:
        raise ValueError("is an IPv4-mapped IPv6 address; give the IPv4 address %s instead" % ip.ipv4_mapped)
    for reason, bad in (
        ("is a loopback address", ip.is_loopback),
        ("is a multicast address", ip.is_multicast),
        ("is the unspecified address", ip.is_unspecified),
        ("is a link-local address", ip.is_link_local),
    ):
        if bad:
            raise ValueError(reason)
    if ip.version == 4 and (ip == ipaddress.IPv4Address("255.255.255.255") or ip.is_reserved):
        raise ValueError("is a broadcast or reserved address")
    return ip, host_bits


def addr_replace_argv(ip_bin, vip, device, scope, label):
    """argv adding ``vip`` (an ``ipaddress`` address) idempotently; IPv6 VIPs get preferred_lft 0."""
    if vip.version == 4:
        argv = [ip_bin, "-4", "addr", "replace", "%s/32" % vip, "dev", device, "scope", scope]
        return argv + (["label", label] if label else [])
    # deprecated (preferred_lft 0): never picked as a source address, still answers inbound traffic
    return [ip_bin, "-6", "addr", "replace", "%s/128" % vip, "dev", device, "preferred_lft", "0"]


def addr_del_argv(ip_bin, local, prefixlen, device):
    """argv removing exactly one address (never a flush: ``flush dev lo:N`` empties all of lo)."""
    family = "-4" if ipaddress.ip_address(local).version == 4 else "-6"
    return [ip_bin, family, "addr", "del", "%s/%d" % (local, prefixlen), "dev", device]


def addr_show_argv(ip_bin, device=None):
    argv = [ip_bin, "-j", "-d", "addr", "show"]
    return argv + (["dev", device] if device else [])
